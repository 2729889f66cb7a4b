#!/usr/bin/env python3
"""The MIDI corpus: which files exist, and which of them are validation.

Real MIDI files come from Debian packages (installed with apt, located with
`dpkg -L`); generated files (tools/gen_midi) fill what they lack. The split is
deterministic and BY FILE: a file's split depends only on its *split key*, a
normalised form of its name, so it never changes when files are added, and the
C dataset builder (`melodiff dataset --val-fraction`, src/dataset/split.c)
computes exactly the same thing:

    key  = file name without directory and extension, lower-cased, keeping
           only [a-z0-9], then with leading digits removed (track numbers);
           if that leaves nothing, the digits are kept ("1003.mid" -> "1003")
    h    = FNV-1a 64-bit hash of the key's bytes
    val  = (h % 1000000) < round(val_fraction * 1000000)

Two copies of one piece under different paths or track numbers
("04-ClairDeLaLune.mid", "01-ClairDeLaLune.mid") share a key and so a split.

usage: corpus.py [--gen DIR] [--val-fraction 0.1] [--list] [--markdown]
"""
import argparse
import hashlib
import os
import subprocess
import sys

PACKAGES = [
    "simutrans-data",
    "freedink-data",
    "pianobooster",
    "openttd-openmsx",
    "planetblupi-music-midi",
    "mma",
]
MIDI_EXT = (".mid", ".midi", ".kar")
DEFAULT_VAL_FRACTION = 0.1

FNV_OFFSET = 0xCBF29CE484222325
FNV_PRIME = 0x100000001B3


def split_key(path):
    stem = os.path.splitext(os.path.basename(path))[0]
    # ASCII-only lower-casing, byte for byte as the C side (str.lower() would
    # also fold some non-ASCII letters into ASCII ones).
    low = "".join(chr(ord(ch) + 32) if "A" <= ch <= "Z" else ch for ch in stem)
    alnum = "".join(ch for ch in low if ("a" <= ch <= "z") or ("0" <= ch <= "9"))
    key = alnum.lstrip("0123456789")
    return key if key else alnum


def fnv1a64(data):
    h = FNV_OFFSET
    for b in data:
        h ^= b
        h = (h * FNV_PRIME) & 0xFFFFFFFFFFFFFFFF
    return h


def split_of(path, val_fraction=DEFAULT_VAL_FRACTION):
    threshold = int(round(val_fraction * 1000000))
    return "val" if fnv1a64(split_key(path).encode()) % 1000000 < threshold else "train"


def package_files(pkg):
    """MIDI files a Debian package installed ([] if it is not installed)."""
    try:
        out = subprocess.run(["dpkg", "-L", pkg], capture_output=True, text=True, check=False).stdout
    except FileNotFoundError:
        return []
    return sorted({p for p in out.splitlines() if p.lower().endswith(MIDI_EXT) and os.path.isfile(p)})


def gen_files(gen_dir):
    if not gen_dir or not os.path.isdir(gen_dir):
        return []
    return sorted(os.path.join(gen_dir, f) for f in os.listdir(gen_dir) if f.lower().endswith(MIDI_EXT))


def corpus(gen_dir=None, val_fraction=DEFAULT_VAL_FRACTION):
    """[(path, source, split)], identical files (by content) listed once."""
    seen = set()
    rows = []
    sources = [(pkg, package_files(pkg)) for pkg in PACKAGES] + [("generated", gen_files(gen_dir))]
    for source, paths in sources:
        for p in paths:
            with open(p, "rb") as f:
                digest = hashlib.sha256(f.read()).hexdigest()
            if digest in seen:
                continue
            seen.add(digest)
            rows.append((p, source, split_of(p, val_fraction)))
    return rows


def markdown(rows):
    lines = ["| source | files | train | val |", "|---|---:|---:|---:|"]
    for source in PACKAGES + ["generated"]:
        sel = [r for r in rows if r[1] == source]
        if sel:
            nval = sum(r[2] == "val" for r in sel)
            lines.append(f"| {source} | {len(sel)} | {len(sel) - nval} | {nval} |")
    lines.append("")
    lines.append("Validation files (real corpus):")
    lines.append("")
    for p, source, split in rows:
        if split == "val" and source != "generated":
            lines.append(f"- `{p}` ({source})")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description="List the MIDI corpus and its train/val split.")
    ap.add_argument("--gen", help="directory of generated MIDI files to include")
    ap.add_argument("--val-fraction", type=float, default=DEFAULT_VAL_FRACTION)
    ap.add_argument("--split", choices=["train", "val", "all"], default="all",
                    help="with --list: print only this split's paths")
    ap.add_argument("--list", action="store_true", help="print paths, one per line")
    ap.add_argument("--markdown", action="store_true", help="print the table for docs/dataset.md")
    args = ap.parse_args(argv)
    rows = corpus(args.gen, args.val_fraction)
    if args.markdown:
        print(markdown(rows))
    elif args.list:
        for p, _, split in rows:
            if args.split in ("all", split):
                print(p)
    else:
        for p, source, split in rows:
            print(f"{split}\t{source}\t{p}")
    print(f"{len(rows)} files, {sum(r[2] == 'val' for r in rows)} validation", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
