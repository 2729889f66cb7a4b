#!/usr/bin/env python3
"""Procedural MIDI generator: fills what the real corpus lacks.

Writes N type-1 Standard MIDI Files. Together they cover every General MIDI
program (0..127) and the drum kit: file i's lead part uses "voice" i mod 129
(voice 128 = drums on channel 10), so any N >= 129 covers all of them, and
every file adds one to three accompanying parts. Each part plays figures drawn
from scales, arpeggios, chords, repeated notes and random melodies, inside the
plausible range of its instrument family, at varied velocities, note lengths,
tempi and rhythms.

Everything is derived from (seed, file index) with Python's `random.Random`,
so `gen_midi.py -n 200 --seed 1` writes byte-identical files on every run and
every machine, and file k does not depend on how many files were asked for.

usage: gen_midi.py -n 200 -o data/gen_midi [--seed 1] [--seconds 20]
"""
import argparse
import os
import random
import sys

import mido

TICKS = 480  # ticks per quarter note

# Plausible MIDI-key ranges per GM program (lo, hi). Families share a range
# unless a member is clearly different (piccolo, tuba, timpani, ...).
_FAMILY_RANGE = [
    (21, 108),  # 0-7 piano
    (60, 96),   # 8-15 chromatic percussion (refined below)
    (36, 96),   # 16-23 organ
    (40, 86),   # 24-31 guitar
    (28, 67),   # 32-39 bass
    (36, 96),   # 40-47 strings (refined below)
    (36, 96),   # 48-55 ensemble
    (40, 84),   # 56-63 brass (refined below)
    (44, 86),   # 64-71 reed (refined below)
    (60, 96),   # 72-79 pipe
    (36, 96),   # 80-87 synth lead
    (36, 91),   # 88-95 synth pad
    (36, 91),   # 96-103 synth effects
    (48, 84),   # 104-111 ethnic
    (48, 84),   # 112-119 percussive
    (40, 80),   # 120-127 sound effects
]
_PROGRAM_RANGE = {
    8: (60, 108), 9: (72, 108), 10: (60, 96), 11: (53, 89), 12: (45, 96),
    13: (65, 108), 14: (60, 77), 15: (48, 96),
    40: (55, 103), 41: (48, 91), 42: (36, 76), 43: (28, 60), 46: (23, 103), 47: (40, 55),
    55: (48, 72),
    56: (52, 84), 57: (40, 72), 58: (28, 58), 59: (52, 82), 60: (41, 77),
    64: (56, 87), 65: (49, 81), 66: (44, 76), 67: (36, 69), 68: (58, 91),
    69: (52, 81), 70: (34, 72), 71: (50, 94),
    72: (74, 108), 73: (60, 96),
    112: (72, 96), 114: (52, 76), 116: (36, 60), 117: (40, 70), 118: (40, 70),
}
DRUMS = 128  # the voice index that means "GM drum kit on channel 10"

# GM drum keys grouped by role, for rhythm patterns.
_KICKS = [35, 36]
_SNARES = [38, 40, 37, 39]
_HATS = [42, 44, 46]
_CYMBALS = [49, 51, 52, 55, 57, 59]
_TOMS = [41, 43, 45, 47, 48, 50]
_LATIN = [54, 56, 58, 60, 61, 62, 63, 64, 65, 66, 67, 68, 69, 70, 73, 74, 75, 76, 77, 78, 79, 80, 81]

_SCALES = {
    "major": [0, 2, 4, 5, 7, 9, 11],
    "minor": [0, 2, 3, 5, 7, 8, 10],
    "dorian": [0, 2, 3, 5, 7, 9, 10],
    "pentatonic": [0, 2, 4, 7, 9],
    "blues": [0, 3, 5, 6, 7, 10],
    "chromatic": list(range(12)),
    "wholetone": [0, 2, 4, 6, 8, 10],
}
_CHORDS = [[0, 4, 7], [0, 3, 7], [0, 4, 7, 11], [0, 3, 7, 10], [0, 4, 7, 10], [0, 5, 7], [0, 7], [0, 3, 6]]


def program_range(program):
    """(lo, hi) MIDI keys an instrument plausibly plays."""
    if program in _PROGRAM_RANGE:
        return _PROGRAM_RANGE[program]
    return _FAMILY_RANGE[program // 8]


def scale_notes(rng, lo, hi):
    """All keys of a random scale/root inside [lo, hi]."""
    root = rng.randrange(12)
    steps = _SCALES[rng.choice(sorted(_SCALES))]
    return [k for k in range(lo, hi + 1) if (k - root) % 12 in steps]


class Part:
    """Collects (tick, key, velocity, duration) notes for one channel."""

    def __init__(self, program, channel):
        self.program = program
        self.channel = channel
        self.notes = []

    def add(self, tick, key, vel, dur):
        if 0 <= key <= 127 and dur > 0:
            self.notes.append((int(tick), int(key), max(1, min(127, int(vel))), int(dur)))


def _pick_len(rng):
    """A note-length grid in ticks: 16ths up to whole notes, plus triplets."""
    return rng.choice([TICKS // 4, TICKS // 2, TICKS // 3, TICKS, TICKS * 2, TICKS * 4])


def _legato(rng):
    """Fraction of the grid step a note sounds: staccato to tied."""
    return rng.choice([0.25, 0.5, 0.8, 0.95, 1.0])


def fig_scale_run(rng, part, t0, t_end, keys):
    step, leg = _pick_len(rng), _legato(rng)
    i = rng.randrange(len(keys))
    direction = rng.choice([-1, 1])
    vel = rng.randint(30, 120)
    t = t0
    while t < t_end:
        part.add(t, keys[i], vel + rng.randint(-8, 8), step * leg)
        i += direction
        if i < 0 or i >= len(keys):
            direction = -direction
            i += 2 * direction
            i = max(0, min(len(keys) - 1, i))
        t += step


def fig_arpeggio(rng, part, t0, t_end, lo, hi):
    step, leg = rng.choice([TICKS // 4, TICKS // 3, TICKS // 2]), _legato(rng)
    vel = rng.randint(40, 115)
    t = t0
    while t < t_end:
        root = rng.randint(lo, max(lo, hi - 19))
        chord = [root + iv + 12 * o for o in range(2) for iv in rng.choice(_CHORDS)]
        chord = [k for k in chord if k <= hi] or [root]
        if rng.random() < 0.5:
            chord = chord + chord[-2:0:-1]  # up and down
        for k in chord:
            if t >= t_end:
                break
            part.add(t, k, vel + rng.randint(-10, 10), step * leg)
            t += step


def fig_chords(rng, part, t0, t_end, lo, hi):
    step, leg = rng.choice([TICKS, TICKS * 2, TICKS * 4, TICKS // 2]), _legato(rng)
    vel = rng.randint(25, 110)
    t = t0
    while t < t_end:
        root = rng.randint(lo, max(lo, hi - 12))
        for iv in rng.choice(_CHORDS):
            part.add(t, root + iv, vel + rng.randint(-6, 6), step * leg)
        t += step


def fig_repeated(rng, part, t0, t_end, lo, hi):
    step, leg = rng.choice([TICKS // 4, TICKS // 2, TICKS]), _legato(rng)
    key = rng.randint(lo, hi)
    t = t0
    while t < t_end:
        # Velocity ramps exercise dynamics on one pitch.
        frac = (t - t0) / max(1, t_end - t0)
        part.add(t, key, 20 + 100 * (frac if rng.random() < 0.9 else 1 - frac), step * leg)
        t += step


def fig_melody(rng, part, t0, t_end, keys):
    i = rng.randrange(len(keys))
    t = t0
    while t < t_end:
        step = _pick_len(rng)
        if rng.random() < 0.15:  # a rest
            t += step
            continue
        part.add(t, keys[i], rng.randint(30, 127), step * _legato(rng))
        i = max(0, min(len(keys) - 1, i + rng.choice([-3, -2, -1, -1, 1, 1, 2, 3, 5, -5])))
        t += step


def fig_long_tones(rng, part, t0, t_end, lo, hi):
    t = t0
    while t < t_end:
        dur = rng.choice([TICKS * 2, TICKS * 4, TICKS * 8])
        part.add(t, rng.randint(lo, hi), rng.randint(20, 127), dur)
        t += dur + rng.choice([0, TICKS // 2, TICKS])


def fill_melodic(rng, part, t0, t_end):
    """Fill [t0, t_end) with a sequence of figures for a pitched instrument."""
    lo, hi = program_range(part.program)
    t = t0
    while t < t_end:
        seg_end = min(t_end, t + TICKS * 4 * rng.choice([1, 2, 2, 4]))
        fig = rng.randrange(6)
        keys = scale_notes(rng, lo, hi) or list(range(lo, hi + 1))
        if fig == 0:
            fig_scale_run(rng, part, t, seg_end, keys)
        elif fig == 1:
            fig_arpeggio(rng, part, t, seg_end, lo, hi)
        elif fig == 2:
            fig_chords(rng, part, t, seg_end, lo, hi)
        elif fig == 3:
            fig_repeated(rng, part, t, seg_end, lo, hi)
        elif fig == 4:
            fig_melody(rng, part, t, seg_end, keys)
        else:
            fig_long_tones(rng, part, t, seg_end, lo, hi)
        t = seg_end


def fill_drums(rng, part, t0, t_end):
    """Bars of kick/snare/hat grooves with fills, cymbals and latin hits."""
    bar = TICKS * 4
    sub = rng.choice([TICKS // 2, TICKS // 4, TICKS // 3])
    kick, snare, hat = rng.choice(_KICKS), rng.choice(_SNARES), rng.choice(_HATS)
    t = t0
    while t < t_end:
        fill = rng.random() < 0.25
        steps = bar // sub
        for s in range(steps):
            tt = t + s * sub
            if tt >= t_end:
                break
            beat_pos = (s * sub) % TICKS == 0
            if fill:
                part.add(tt, rng.choice(_TOMS + _SNARES), rng.randint(50, 127), sub // 2)
                continue
            part.add(tt, hat, rng.randint(40, 100), sub // 2)
            if beat_pos and ((s * sub) // TICKS) % 2 == 0:
                part.add(tt, kick, rng.randint(70, 127), sub)
            if beat_pos and ((s * sub) // TICKS) % 2 == 1:
                part.add(tt, snare, rng.randint(60, 127), sub)
            if rng.random() < 0.08:
                part.add(tt, rng.choice(_LATIN), rng.randint(30, 110), sub)
        if rng.random() < 0.3:
            part.add(t, rng.choice(_CYMBALS), rng.randint(60, 120), TICKS)
        t += bar


def make_song(seed, index, seconds):
    """Build the parts of file `index`; returns (tempo_us, parts)."""
    rng = random.Random(f"melodiff-gen-midi/{seed}/{index}")
    bpm = rng.randint(60, 180)
    tempo = mido.bpm2tempo(bpm)
    total = int(seconds * bpm / 60 * TICKS)
    voices = [index % 129] + [rng.randrange(129) for _ in range(rng.randint(1, 3))]
    parts = []
    channels = [c for c in range(16) if c != 9]
    for n, voice in enumerate(voices):
        if voice == DRUMS:
            if any(p.channel == 9 for p in parts):
                continue
            part = Part(0, 9)
            fill_drums(rng, part, 0, total)
        else:
            part = Part(voice, channels[n])
            # Not every part plays all the time: entries and exits vary.
            start = 0 if n == 0 else rng.choice([0, 0, TICKS * 4, TICKS * 8])
            fill_melodic(rng, part, start, total)
        parts.append(part)
    return tempo, parts


def part_track(part, name):
    """Absolute-time notes -> a mido track with delta times."""
    events = []
    for tick, key, vel, dur in part.notes:
        events.append((tick, 1, mido.Message("note_on", channel=part.channel, note=key, velocity=vel)))
        events.append((tick + dur, 0, mido.Message("note_off", channel=part.channel, note=key, velocity=0)))
    # note_off before note_on at the same tick, so repeated keys re-strike.
    events.sort(key=lambda e: (e[0], e[1], e[2].note))
    track = mido.MidiTrack()
    track.append(mido.MetaMessage("track_name", name=name, time=0))
    if part.channel != 9:
        track.append(mido.Message("program_change", channel=part.channel, program=part.program, time=0))
    track.append(mido.Message("control_change", channel=part.channel, control=7, value=100, time=0))
    now = 0
    for tick, _, msg in events:
        track.append(msg.copy(time=tick - now))
        now = tick
    track.append(mido.MetaMessage("end_of_track", time=0))
    return track


def write_song(path, seed, index, seconds):
    tempo, parts = make_song(seed, index, seconds)
    mf = mido.MidiFile(type=1, ticks_per_beat=TICKS)
    meta = mido.MidiTrack()
    meta.append(mido.MetaMessage("set_tempo", tempo=tempo, time=0))
    meta.append(mido.MetaMessage("time_signature", numerator=4, denominator=4, time=0))
    meta.append(mido.MetaMessage("end_of_track", time=0))
    mf.tracks.append(meta)
    for part in parts:
        name = "drums" if part.channel == 9 else f"program {part.program}"
        mf.tracks.append(part_track(part, name))
    tmp = path + ".tmp"
    mf.save(tmp)
    os.replace(tmp, path)
    return parts


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", type=int, default=129, help="number of files (>= 129 covers every voice)")
    ap.add_argument("-o", "--out", required=True, help="output directory")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--seconds", type=float, default=20.0, help="approximate length of each file")
    args = ap.parse_args(argv)
    if args.n < 1 or args.seconds <= 0:
        ap.error("-n and --seconds must be positive")
    os.makedirs(args.out, exist_ok=True)
    covered = set()
    for i in range(args.n):
        path = os.path.join(args.out, f"gen_{args.seed:03d}_{i:05d}.mid")
        for part in write_song(path, args.seed, i, args.seconds):
            covered.add(DRUMS if part.channel == 9 else part.program)
    print(f"wrote {args.n} files to {args.out}; voices covered: {len(covered)}/129", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
