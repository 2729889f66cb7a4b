# Shared by the cli_*.sh tests (sourced; named so that the cli_*.sh glob of
# tests/CMakeLists.txt does not run it as a test): a failure counter and `expect`,
# which checks that a command fails the documented way.
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# expect CODE DESCRIPTION OUT -- command...
# The command exits CODE with exactly one line on stderr (lines matching the
# extended regex $EXPECT_NOISE, other libraries' chatter, not counted), and
# OUT, a file or a directory, is not written (an empty directory is allowed;
# "" skips the check).
expect() {
    local code=$1 what=$2 out=$3
    shift 4
    "$@" >stdout.txt 2>stderr.txt
    local rc=$?
    [ -n "${EXPECT_NOISE:-}" ] && grep -vE "$EXPECT_NOISE" stderr.txt >said.txt || cp stderr.txt said.txt
    local lines
    lines=$(wc -l <said.txt)
    if [ "$rc" != "$code" ]; then fail "$what: exit $rc, expected $code"; cat stderr.txt
    elif [ "$lines" != 1 ]; then fail "$what: $lines lines on stderr"; cat stderr.txt
    elif [ -n "$out" ] && { [ -f "$out" ] || [ -n "$(ls -A "$out" 2>/dev/null)" ]; }; then fail "$what: $out was written"
    else echo "ok: $what (exit $rc): $(head -c 200 said.txt)"; fi
}

# The last line of a test: the count, and the exit status.
finish() {
    echo "$fails failed"
    [ "$fails" = 0 ]
}
