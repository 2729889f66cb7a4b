#!/usr/bin/env python3
"""Counts the stem segments the score gate closes (src/render/gate.c) in
whole songs, from `melodiff midi --json` and the generated release table,
with the render defaults (256-frame segments overlapping by 32, margin
0.25 s). No model runs: it tells how much sampling the gate saves.

    python3 tools/gate/closed_segments.py FILE.mid...    (run from the repository root)
"""
import json, subprocess, sys, re
src=open('src/render/gate_release.c').read()
tabs=re.findall(r'\{([^}]*)\}', src)
prog=[float(x.strip().rstrip('f')) for x in tabs[0].split(',') if x.strip()]
drum=[float(x.strip().rstrip('f')) for x in tabs[1].split(',') if x.strip()]
fps = 44100/512; seg=256; stride=224; lead=0.1; fade=0.25; margin=0.25
tot=skip=0
for f in sys.argv[1:]:
    sc=json.loads(subprocess.run(['build/melodiff','midi',f,'--json'],capture_output=True,text=True).stdout)
    L=max(n['end'] for s in sc['stems'] for n in s['notes'])
    nframes=int((L+1)*fps); ft=fs=0
    for s in sc['stems']:
        if not s['notes']: continue
        drums = s.get('drums', False) or s.get('is_drum', False) or s.get('instrument')==128
        nseg = 1 if nframes<=seg else 1+(nframes-seg+stride-1)//stride
        for i in range(nseg):
            a=i*stride/fps; b=(i*stride+seg-1)/fps
            busy=False
            for n in s['notes']:
                ring=(drum[n['pitch']] if drums else prog[s['instrument'] if 0<=s.get('instrument',0)<128 else 0])+margin
                if n['start']-lead-fade < b and n['end']+ring+fade > a: busy=True; break
            ft+=1; fs+=(not busy)
    print(f"{f.split('/')[-1]:30s} {ft:5d} segments, {fs:5d} closed ({100*fs/ft:.0f}%)")
    tot+=ft; skip+=fs
print('all', tot, skip, f'{100*skip/tot:.0f}%')
