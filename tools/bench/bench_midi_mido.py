#!/usr/bin/env python3
"""Peer of benchmarks/bench_midi_parse.c: mido parsing the same MIDI corpus.

  tools/bench/bench_midi_mido.py [passes]     (default 3)

Same files (same globs), read into memory first, then timed passes of
mido.MidiFile(file=BytesIO(data)) — mido's full parse into message objects.
Key signatures mido refuses (two simutrans files) are read as C major, as in
tools/midi/mido_note_counts.py, so every file parses. Prints MB/s and
files/s like the C benchmark.
"""
import glob
import io
import sys
import time

import mido
import mido.midifiles.meta as meta

PATTERNS = [
    "/usr/share/games/simutrans/music/*.mid",
    "/usr/share/games/dink/dink/Sound/*.mid",
    "/usr/share/doc/pianobooster/courses/*/*.mid",
]


def lenient_key_signature():
    spec = meta.MetaSpec_key_signature
    original = spec.decode

    def decode(self, message, data):
        try:
            original(self, message, data)
        except meta.KeySignatureError:
            message.key = "C"

    spec.decode = decode


def main():
    passes = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    lenient_key_signature()
    paths = [p for pat in PATTERNS for p in sorted(glob.glob(pat))]
    blobs = [open(p, "rb").read() for p in paths]
    total = sum(len(b) for b in blobs)
    failed = 0
    notes = 0
    t0 = time.perf_counter()
    for _ in range(passes):
        for b in blobs:
            try:
                mf = mido.MidiFile(file=io.BytesIO(b))
                notes += sum(1 for t in mf.tracks for m in t if m.type == "note_on" and m.velocity > 0)
            except Exception:
                failed += 1
    dt = time.perf_counter() - t0
    print(f"corpus: {len(blobs)} files, {total} bytes, {passes} passes, {notes // passes} note-ons per pass, "
          f"{failed} failures")
    print(f"mido parse:     {total * passes / 1e6 / dt:8.2f} MB/s  {len(blobs) * passes / dt:9.1f} files/s  ({dt:.3f} s)")


if __name__ == "__main__":
    main()
