#!/usr/bin/env python3
"""Per-stem figures of a finished render: where does the mix's error come from?

    tools/eval/stems.py --melodiff build/melodiff --midi song.mid --render out/r \
        [--seconds 10] [--work out/stems-eval] [--json per_stem.json]

For each stem of the render (OUT/render.json), it writes a MIDI file holding
only that stem's events (every meta event kept, so tempo is exact),
renders it with `melodiff reference`, and compares it with the render's stem
file. Per stem it prints:

  level   the stem's level error in dB relative to the mix's, i.e.
          (render stem - reference stem) - (render mix - reference mix), RMS
          over the compared span. Positive: the stem is too loud in the mix.
  lsd     the stem's LSD (metrics.lsd_db) after scaling it by the mix's
          level-match gain, as it sits in the mix
  lsd_own the same after matching the stem's own level: the timbre error alone

Stems the score gate silenced throughout the span are listed with their
reference level only. Used to decide what to improve next; the figures of
record stay eval.py's.
"""
import argparse
import json
import os
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import metrics  # noqa: E402


def stem_midi(src, stem, path):
    """The source file with only the stem's channel messages: those of the
    (track, channel) pairs its notes come from (track counts from 0 and
    channel from 1, as `melodiff midi --json` writes them), and of their
    notes only those played while the channel's program is the stem's (a
    track that changes program mid-song is several stems). Dropped messages
    pass their delta time on, so timing is unchanged."""
    import mido
    pairs = {(n["track"], n["channel"] - 1) for n in stem["notes"]}
    m = mido.MidiFile(src)
    out = mido.MidiFile(type=m.type, ticks_per_beat=m.ticks_per_beat)
    for ti, tr in enumerate(m.tracks):
        nt = mido.MidiTrack()
        carry, program, sounding = 0, {}, set()
        for msg in tr:
            ch = getattr(msg, "channel", -1)
            if msg.type == "program_change":
                program[ch] = msg.program
            keep = msg.is_meta or msg.type == "sysex" or (ti, ch) in pairs
            if keep and msg.type in ("note_on", "note_off") and not stem["drums"]:
                on = msg.type == "note_on" and msg.velocity > 0
                if on:
                    keep = program.get(ch, 0) == stem["program"]
                    if keep:
                        sounding.add((ch, msg.note))
                else:
                    keep = (ch, msg.note) in sounding
                    sounding.discard((ch, msg.note))
            if keep:
                nt.append(msg.copy(time=msg.time + carry))
                carry = 0
            else:
                carry += msg.time
        out.tracks.append(nt)
    out.save(path)


def rms_db(y):
    r = float(np.sqrt(np.mean(y.astype(np.float64) ** 2)))
    return 20 * np.log10(r) if r > 0 else -np.inf


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--melodiff", default="build/melodiff")
    ap.add_argument("--midi", required=True)
    ap.add_argument("--render", required=True, help="a render's output folder (holds render.json)")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--work", default="out/stems-eval")
    ap.add_argument("--json")
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    M = args.melodiff
    manifest = json.load(open(os.path.join(args.render, "render.json")))
    score = json.loads(subprocess.run([M, "midi", args.midi, "--json"], check=True, capture_output=True,
                                      text=True).stdout)
    ref_mix_path = os.path.join(args.work, "reference.wav")
    subprocess.run([M, "reference", args.midi, "-o", ref_mix_path, "--seconds", str(args.seconds), "--force", "-q"],
                   check=True)
    ref_mix = metrics.load(ref_mix_path)
    mix = metrics.load(os.path.join(args.render, "mix.wav"))
    ref_mix, mix = metrics._common(ref_mix, mix)
    mix_gain_db = rms_db(ref_mix) - rms_db(mix)  # what level_match applies to the mix
    g = 10 ** (mix_gain_db / 20)
    rows = []
    for st in manifest["stems"]:
        sc = score["stems"][st["index"] - 1]
        mid = os.path.join(args.work, f"stem{st['index']:02d}.mid")
        wav = os.path.join(args.work, f"stem{st['index']:02d}.wav")
        stem_midi(args.midi, sc, mid)
        subprocess.run([M, "reference", mid, "-o", wav, "--seconds", str(args.seconds), "--force", "-q"], check=True)
        ref = metrics.load(wav)
        y = metrics.load(os.path.join(args.render, st["file"]))
        ref, y = metrics._common(ref, y)
        row = {"stem": st["index"], "name": st["name"], "instrument": st["instrument"],
               "ref_db": rms_db(ref), "render_db": rms_db(y * g)}
        if np.isfinite(row["ref_db"]) and np.isfinite(row["render_db"]) and row["render_db"] > -100:
            row["level_db"] = row["render_db"] - row["ref_db"]
            row["lsd_db"] = metrics.lsd_db(ref, y * g)
            row["lsd_own_db"] = metrics.lsd_db(ref, metrics.level_match(ref, y))
        rows.append(row)
    print(f"{'stem':4s} {'name':16s} {'prog':>4s} {'ref dB':>7s} {'level':>6s} {'lsd':>6s} {'lsd_own':>7s}")
    for r in rows:
        lv = f"{r['level_db']:+6.1f}" if "level_db" in r else "   -  "
        ls = f"{r['lsd_db']:6.2f}" if "lsd_db" in r else "   -  "
        lo = f"{r['lsd_own_db']:7.2f}" if "lsd_own_db" in r else "    -  "
        print(f"{r['stem']:4d} {r['name'][:16]:16s} {r['instrument']:4d} {r['ref_db']:7.1f} {lv} {ls} {lo}")
    print(f"mix LSD {metrics.lsd_db(ref_mix, mix * g):.2f} dB (level-matched gain {mix_gain_db:+.1f} dB)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
