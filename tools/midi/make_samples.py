#!/usr/bin/env python3
"""Writes samples/demo.mid: a short original piece written for melodiff.

"Lantern Road" — 12 bars in D minor, about 28 seconds, four stems:
  Piano    (GM 0)  arpeggiated chords under the sustain pedal
  Bass     (GM 33) electric bass, roots and fifths
  Lead     (GM 73) flute melody
  Drums    (ch 10) kick, snare, hi-hats, a crash at each section
Format 1, 480 ticks per quarter, a conductor track with the title, 4/4,
100 bpm for bars 1-8 and 108 bpm for bars 9-12 (a tempo change), and a
final held chord. Usage: tools/midi/make_samples.py [samples/demo.mid]
"""
import sys

import mido

PPQ = 480
BAR = 4 * PPQ

# One chord per bar: (root MIDI key for the bass, chord keys for the piano).
CHORDS = [
    (38, [50, 53, 57, 62]),   # Dm
    (34, [46, 50, 53, 58]),   # Bb
    (41, [48, 53, 57, 60]),   # F
    (36, [48, 52, 55, 60]),   # C
    (38, [50, 53, 57, 62]),   # Dm
    (34, [46, 50, 53, 58]),   # Bb
    (43, [50, 55, 58, 62]),   # Gm
    (45, [49, 52, 57, 61]),   # A
    (43, [50, 55, 58, 62]),   # Gm
    (34, [46, 50, 53, 58]),   # Bb
    (36, [48, 52, 55, 60]),   # C
    (38, [50, 53, 57, 62]),   # Dm (held)
]

# Melody: (start in eighths from the song start, length in eighths, key).
MELODY_BARS = [
    [(0, 3, 69), (3, 1, 67), (4, 2, 65), (6, 2, 62)],
    [(0, 4, 65), (4, 2, 67), (6, 2, 69)],
    [(0, 2, 72), (2, 2, 69), (4, 3, 65), (7, 1, 67)],
    [(0, 6, 67), (6, 2, 64)],
    [(0, 3, 69), (3, 1, 70), (4, 2, 72), (6, 2, 74)],
    [(0, 4, 74), (4, 2, 72), (6, 2, 70)],
    [(0, 2, 70), (2, 2, 69), (4, 2, 67), (6, 2, 70)],
    [(0, 6, 69), (6, 2, 73)],
    [(0, 2, 74), (2, 1, 72), (3, 1, 70), (4, 4, 67)],
    [(0, 2, 65), (2, 2, 70), (4, 2, 74), (6, 2, 77)],
    [(0, 3, 76), (3, 1, 74), (4, 4, 72)],
    [(0, 8, 74)],
]

KICK, SNARE, HAT, OPEN_HAT, CRASH = 36, 38, 42, 46, 49


def to_track(events, name, channel=None, program=None):
    """events: (tick, order, mido.Message); returns a MidiTrack with deltas."""
    track = mido.MidiTrack()
    track.append(mido.MetaMessage("track_name", name=name, time=0))
    if program is not None:
        track.append(mido.Message("program_change", channel=channel, program=program, time=0))
    now = 0
    for tick, _, msg in sorted(events, key=lambda e: (e[0], e[1])):
        track.append(msg.copy(time=tick - now))
        now = tick
    track.append(mido.MetaMessage("end_of_track", time=BAR // 2))
    return track


def note(events, channel, key, vel, start, length):
    # note-offs sort before note-ons at the same tick (order 0 < 1)
    events.append((start, 1, mido.Message("note_on", channel=channel, note=key, velocity=vel)))
    events.append((start + length, 0, mido.Message("note_off", channel=channel, note=key, velocity=0)))


def conductor():
    t = mido.MidiTrack()
    t.append(mido.MetaMessage("track_name", name="Lantern Road", time=0))
    t.append(mido.MetaMessage("copyright", text="written for melodiff, CC0", time=0))
    t.append(mido.MetaMessage("time_signature", numerator=4, denominator=4, time=0))
    t.append(mido.MetaMessage("key_signature", key="Dm", time=0))
    t.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(100), time=0))
    t.append(mido.MetaMessage("marker", text="B", time=8 * BAR))
    t.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(108), time=0))
    t.append(mido.MetaMessage("end_of_track", time=4 * BAR + BAR // 2))
    return t


def piano():
    ev = []
    pattern = [0, 1, 2, 3, 2, 1, 2, 3]
    for bar, (_, keys) in enumerate(CHORDS):
        b0 = bar * BAR
        # pedal: change at each bar (up just before, down just after the downbeat)
        if bar > 0:
            ev.append((b0 - 10, 0, mido.Message("control_change", channel=0, control=64, value=0)))
        ev.append((b0 + 10, 2, mido.Message("control_change", channel=0, control=64, value=127)))
        if bar == len(CHORDS) - 1:
            for k in keys:
                note(ev, 0, k, 70, b0, BAR + PPQ)
            ev.append((b0 + BAR + PPQ, 0, mido.Message("control_change", channel=0, control=64, value=0)))
            continue
        for i, idx in enumerate(pattern):
            note(ev, 0, keys[idx], 62 + (8 if i % 4 == 0 else 0), b0 + i * PPQ // 2, PPQ // 2 - 20)
    return to_track(ev, "Piano", 0, 0)


def bass():
    ev = [(0, 2, mido.Message("control_change", channel=1, control=7, value=110))]
    for bar, (root, _) in enumerate(CHORDS):
        b0 = bar * BAR
        if bar == len(CHORDS) - 1:
            note(ev, 1, root, 96, b0, BAR + PPQ)
            continue
        note(ev, 1, root, 96, b0, PPQ + PPQ // 2 - 30)
        note(ev, 1, root, 80, b0 + PPQ + PPQ // 2, PPQ // 2 - 30)
        note(ev, 1, root + 7, 88, b0 + 2 * PPQ, PPQ - 30)
        note(ev, 1, root + 12 if bar % 2 else root + 10, 80, b0 + 3 * PPQ, PPQ - 30)
    return to_track(ev, "Bass", 1, 33)


def lead():
    ev = [(0, 2, mido.Message("control_change", channel=2, control=11, value=100))]
    eighth = PPQ // 2
    for bar, notes in enumerate(MELODY_BARS):
        if bar < 2:
            continue  # the flute enters in bar 3
        for start, length, key in notes:
            s = bar * BAR + start * eighth
            vel = 84 if start % 4 == 0 else 72
            note(ev, 2, key, vel, s, length * eighth - 24)
    # a gentle bend into the last note
    last = (len(MELODY_BARS) - 1) * BAR
    ev.append((last, 2, mido.Message("pitchwheel", channel=2, pitch=-1024)))
    ev.append((last + PPQ // 4, 2, mido.Message("pitchwheel", channel=2, pitch=0)))
    return to_track(ev, "Lead", 2, 73)


def drums():
    ev = []
    eighth = PPQ // 2
    for bar in range(len(CHORDS)):
        b0 = bar * BAR
        if bar in (0, 8, 11):
            note(ev, 9, CRASH, 100, b0, PPQ)
        if bar == len(CHORDS) - 1:
            note(ev, 9, KICK, 110, b0, eighth)
            continue
        if bar < 2:  # intro: hats only
            for i in range(8):
                note(ev, 9, HAT, 60 + (15 if i % 2 == 0 else 0), b0 + i * eighth, eighth // 2)
            continue
        for beat in range(4):
            note(ev, 9, KICK if beat % 2 == 0 else SNARE, 105 if beat % 2 == 0 else 95, b0 + beat * PPQ, eighth)
        for i in range(8):
            key = OPEN_HAT if (i == 7 and bar % 4 == 3) else HAT
            note(ev, 9, key, 70 + (14 if i % 2 == 0 else 0), b0 + i * eighth, eighth // 2)
        if bar % 4 == 3:  # fill: extra kick on the "and" of 4
            note(ev, 9, KICK, 90, b0 + 3 * PPQ + eighth, eighth)
    return to_track(ev, "Drums", 9, 0)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "samples/demo.mid"
    mf = mido.MidiFile(type=1, ticks_per_beat=PPQ)
    mf.tracks.extend([conductor(), piano(), bass(), lead(), drums()])
    mf.save(out)
    print(f"{out}: {len(mf.tracks)} tracks, {mf.length:.2f} s")


if __name__ == "__main__":
    main()
