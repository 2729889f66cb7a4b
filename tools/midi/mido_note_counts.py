#!/usr/bin/env python3
"""Independent reading of MIDI files with mido, for tests/test_midi_corpus.c.

For each file it records what any correct reader must agree on:
  note_ons       note-on messages with velocity > 0 (one per note in the score)
  length         seconds to the last event of the song (mido's MidiFile.length)
  onset_sum      sum over those note-ons of their start time in seconds
                 (checks the merged tempo map on every note, not just the end)
  tempo_changes  set_tempo meta messages

Some simutrans files carry key signatures mido refuses (mode 255); mido is
patched to read those as C major instead of failing, as melodiff warns and
ignores them. Usage:
  tools/midi/mido_note_counts.py /usr/share/games/simutrans/music/*.mid \
      > tests/fixtures/midi/simutrans_note_counts.json
  tools/midi/mido_note_counts.py /usr/share/games/dink/dink/Sound/*.mid \
      /usr/share/doc/pianobooster/courses/*/*.mid \
      > tests/fixtures/midi/debian_midi_note_counts.json
"""
import json
import os
import sys

import mido
import mido.midifiles.meta as meta


def _lenient_key_signature():
    spec = meta.MetaSpec_key_signature
    original = spec.decode

    def decode(self, message, data):
        try:
            original(self, message, data)
        except meta.KeySignatureError:
            message.key = "C"

    spec.decode = decode


def describe(path):
    mf = mido.MidiFile(path)
    t = 0.0
    note_ons = 0
    onset_sum = 0.0
    tempo_changes = 0
    for msg in mf:  # merged tracks, delta times in seconds
        t += msg.time
        if msg.type == "note_on" and msg.velocity > 0:
            note_ons += 1
            onset_sum += t
        elif msg.type == "set_tempo":
            tempo_changes += 1
    return {
        "file": os.path.basename(path),
        "path": os.path.abspath(path),
        "format": mf.type,
        "tracks": len(mf.tracks),
        "note_ons": note_ons,
        "length": round(mf.length, 9),
        "onset_sum": round(onset_sum, 6),
        "tempo_changes": tempo_changes,
    }


def main(paths):
    _lenient_key_signature()
    files = [describe(p) for p in sorted(paths)]
    json.dump({"generator": "tools/midi/mido_note_counts.py", "files": files}, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main(sys.argv[1:])
