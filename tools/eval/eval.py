#!/usr/bin/env python3
"""Evaluate renders of MIDI files against their dry FluidSynth references,
beside the baselines DESIGN.md asks for.

    tools/eval/eval.py --melodiff build/melodiff --midi a.mid b.mid \
        [--render-cmd 'build/melodiff render {midi} -o {out} --force'] \
        [--seconds 30] [--work out/eval] [--json results.json] [--systems render]

For each MIDI file it makes (with the melodiff binary):
  reference   melodiff reference (FluidR3_GM, reverb/chorus off, 44.1 kHz)
  gl_floor    the reference through analyze + invert: the floor for a perfect mel generator
  piano       the MIDI with every program forced to 0 (right notes, wrong timbre)
  sine        sine synthesis of the MIDI notes (from `melodiff midi --json`)
  render      the system under test, when --render-cmd is given ({out}/mix.wav)
and prints LSD, MR-STFT, chroma and note F1 of each against the reference.
--systems limits which are made and scored (the baselines do not depend on
the model, so a model's re-evaluation may skip them: `--systems render`).
"""
import argparse
import json
import os
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import metrics  # noqa: E402


def run(cmd):
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)


def midi_notes(melodiff, midi):
    out = subprocess.run([melodiff, "midi", midi, "--json"], check=True, capture_output=True, text=True).stdout
    score = json.loads(out)
    notes = []
    for stem in score["stems"]:
        drum = stem.get("drums", False) or stem.get("is_drum", False)
        for n in stem["notes"]:
            notes.append((n["start"], n["end"], n["pitch"], n["velocity"], drum))
    return notes


def sine_render(notes, seconds, path):
    import soundfile as sf
    sr = metrics.SR
    n = int(seconds * sr)
    y = np.zeros(n, np.float32)
    for start, end, pitch, vel, drum in notes:
        if drum:
            continue
        a, b = int(start * sr), min(n, int(end * sr))
        if a >= b:
            continue
        t = np.arange(b - a) / sr
        f = 440.0 * 2 ** ((pitch - 69) / 12)
        env = np.minimum(1.0, np.minimum(t / 0.01, (t[-1] - t + 1e-9) / 0.02))
        y[a:b] += (vel / 127.0) * 0.2 * env * np.sin(2 * np.pi * f * t)
    peak = np.abs(y).max()
    if peak > 0.99:
        y *= 0.99 / peak
    sf.write(path, y, sr, subtype="PCM_24")


def force_piano(midi, path):
    import mido
    m = mido.MidiFile(midi)
    for tr in m.tracks:
        for msg in tr:
            if msg.type == "program_change" and msg.channel != 9:
                msg.program = 0
    # Files with no program change already default to piano.
    m.save(path)


def figures(ref, test_path, ref_notes):
    y = metrics.level_match(ref, metrics.load(test_path))
    fig = {"lsd_db": metrics.lsd_db(ref, y), "mrstft": metrics.mrstft(ref, y), "chroma": metrics.chroma(ref, y)}
    est = metrics.transcribe(test_path)
    fig["note_f1"] = None if est is None else metrics.note_f1(est, ref_notes)
    return fig


def silent(y, floor=1e-4):
    """A reference with no sound in the window (a song whose first note comes
    later): every metric would compare silence with silence, so the file is
    left out of the means instead of counting as a perfect 0 dB."""
    return y.size == 0 or float(np.max(np.abs(y))) < floor


def evaluate(args, midi):
    name = os.path.splitext(os.path.basename(midi))[0]
    work = os.path.join(args.work, name)
    os.makedirs(work, exist_ok=True)
    M, sec = args.melodiff, str(args.seconds)
    ref_wav = os.path.join(work, "reference.wav")
    run([M, "reference", midi, "-o", ref_wav, "--rate", "44100", "--seconds", sec, "--force"])
    ref = metrics.load(ref_wav)
    if silent(ref):
        print(f"eval.py: {name}: the reference is silent in the first {sec} s; left out", file=sys.stderr)
        return name, None
    run([M, "analyze", ref_wav, "-o", os.path.join(work, "reference"), "--force"])
    want = set(args.systems.split(","))
    systems = {}
    if "gl_floor" in want:
        systems["gl_floor"] = os.path.join(work, "gl_floor.wav")
        run([M, "invert", os.path.join(work, "reference.mel.safetensors"), "-o", systems["gl_floor"],
             "--rate", "44100", "--force", "--quiet"])
    if "piano" in want:
        piano_mid = os.path.join(work, "piano.mid")
        force_piano(midi, piano_mid)
        systems["piano"] = os.path.join(work, "piano.wav")
        run([M, "reference", piano_mid, "-o", systems["piano"], "--rate", "44100", "--seconds", sec, "--force"])
    notes = [n for n in midi_notes(M, midi) if n[0] < args.seconds]
    if "sine" in want:
        systems["sine"] = os.path.join(work, "sine.wav")
        sine_render(notes, args.seconds, systems["sine"])
    if args.render_cmd and "render" in want:
        out = os.path.join(work, "render")
        subprocess.run(args.render_cmd.format(midi=midi, out=out), shell=True, check=True)
        systems["render"] = os.path.join(out, "mix.wav")
    ref_notes = [(s, p) for s, _, p, _, d in notes if not d]
    est_ref = metrics.transcribe(ref_wav)
    result = {"reference_note_f1": None if est_ref is None else metrics.note_f1(est_ref, ref_notes)}
    for k, path in systems.items():
        result[k] = figures(ref, path, ref_notes)
    return name, result


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--melodiff", default="build/melodiff")
    ap.add_argument("--midi", nargs="+", required=True)
    ap.add_argument("--render-cmd")
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--work", default="out/eval")
    ap.add_argument("--json")
    ap.add_argument("--systems", default="gl_floor,piano,sine,render",
                    help="comma list of the systems to make and score")
    args = ap.parse_args()
    results = {n: r for n, r in (evaluate(args, m) for m in args.midi) if r is not None}
    if not results:
        sys.exit("eval.py: every reference was silent; nothing to score")
    keys = sorted({k for r in results.values() for k in r if k != "reference_note_f1"})
    print(f"{'file':24s} {'system':10s} {'LSD dB':>8s} {'MR-STFT':>8s} {'chroma':>7s} {'noteF1':>7s}")
    for name, r in results.items():
        for k in keys:
            f = r[k]
            nf = "n/a" if f["note_f1"] is None else f"{f['note_f1']:.3f}"
            print(f"{name[:24]:24s} {k:10s} {f['lsd_db']:8.2f} {f['mrstft']:8.3f} {f['chroma']:7.3f} {nf:>7s}")
        rf = r["reference_note_f1"]
        print(f"{name[:24]:24s} {'reference':10s} {'':8s} {'':8s} {'':7s} {'n/a' if rf is None else f'{rf:.3f}':>7s}")
    summary = {k: {m: float(np.mean([r[k][m] for r in results.values()])) for m in ("lsd_db", "mrstft", "chroma")}
               for k in keys}
    for k in keys:  # note F1 where a transcription ran, and the reference's for scale
        f1 = [r[k]["note_f1"] for r in results.values() if r[k]["note_f1"] is not None]
        summary[k]["note_f1"] = float(np.mean(f1)) if f1 else None
    ref_f1 = [r["reference_note_f1"] for r in results.values() if r["reference_note_f1"] is not None]
    summary["reference"] = {"note_f1": float(np.mean(ref_f1)) if ref_f1 else None, "files": len(results)}
    print("mean:", json.dumps(summary))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"files": results, "mean": summary}, f, indent=1)


if __name__ == "__main__":
    main()
