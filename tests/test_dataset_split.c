/* The dataset builder's by-file split agrees with tools/train/corpus.py
 * (expected keys, hashes and splits below were printed by corpus.py). */
#include <string.h>

#include "dataset/split.h"
#include "test_util.h"

static void check_key(const char *path, const char *want)
{
    char key[256];
    md_dataset_split_key(path, key, sizeof key);
    CHECK_MSG(!strcmp(key, want), "%s: key '%s', want '%s'", path, key, want);
}

int main(void)
{
    /* FNV-1a 64 published test vectors. */
    CHECK(md_fnv1a64("", 0) == 0xCBF29CE484222325ull);
    CHECK(md_fnv1a64("a", 1) == 0xAF63DC4C8601EC8Cull);
    CHECK(md_fnv1a64("foobar", 6) == 0x85944171F73967E8ull);

    check_key("/usr/share/games/simutrans/music/11-Stucked-Convoi.mid", "stuckedconvoi");
    check_key("/x/04-ClairDeLaLune.mid", "clairdelalune");
    check_key("/usr/share/games/dink/dink/Sound/1003.mid", "1003");
    check_key("data/gen_midi/gen_001_00042.mid", "gen00100042");
    check_key("a.b.MID", "ab");
    check_key("/d/\xc3\x9c" "n\xc3\xaf" "code-\xc3\x9f 7.mid", "ncode7");
    check_key("noext", "noext");

    CHECK(md_fnv1a64("stuckedconvoi", 13) == 0x87a5c5a05486970cull);
    CHECK(md_fnv1a64("1003", 4) == 0x0d826cf0f88e4f3dull);

    /* Splits at 0.1 and 0.5, as corpus.split_of. */
    CHECK(md_dataset_is_val("/usr/share/games/simutrans/music/11-Stucked-Convoi.mid", 0.1));
    CHECK(!md_dataset_is_val("/x/04-ClairDeLaLune.mid", 0.1));
    CHECK(!md_dataset_is_val("/usr/share/games/dink/dink/Sound/1003.mid", 0.1));
    CHECK(md_dataset_is_val("/usr/share/games/dink/dink/Sound/1003.mid", 0.5));
    CHECK(md_dataset_is_val("data/gen_midi/gen_001_00042.mid", 0.1));
    CHECK(md_dataset_is_val("/usr/share/planetblupi/music/music008.mid", 0.1));
    CHECK(!md_dataset_is_val("a.b.MID", 0.5));

    /* Same piece, different track number and directory: same split. */
    CHECK(md_dataset_is_val("/a/04-Song.mid", 0.3) == md_dataset_is_val("/b/01-song.MID", 0.3));
    /* Fraction 0 puts nothing in val, 1 everything. */
    CHECK(!md_dataset_is_val("/usr/share/games/simutrans/music/11-Stucked-Convoi.mid", 0.0));
    CHECK(md_dataset_is_val("/x/04-ClairDeLaLune.mid", 1.0));
    return md_test_finish();
}
