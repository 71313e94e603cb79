#!/usr/bin/env python3
"""Coordinate descent over detector settings with nab-lab (development tool).

  nab_tune.py ROUNDS [key=v ...] [~key=v ...] [--half=k|--only=P|--skip=P]

key=v holds a setting fixed; ~key=v sets a free setting's starting value; the
--options pass through to nab-lab (hold-out subsets). Prints each improvement
and finally `FINAL {json}`. Environment: NAB_LAB (the nab-lab binary, default
build/tests/nab/nab-lab), NAB_DATA (default tests/data/nab-dev).
"""
import json, os, re, subprocess, sys

LAB = os.environ.get('NAB_LAB', 'build/tests/nab/nab-lab')
DATA = os.environ.get('NAB_DATA', 'tests/data/nab-dev')
SPACE = {
    'w_range': [1, 2, 2.5, 3, 3.5, 4, 5],
    'w_point': [0, 0.1, 0.25, 0.5, 0.75, 1],
    'w_short': [0.5, 0.75, 1, 1.25, 1.5],
    'w_var': [0.5, 0.75, 1, 1.25, 1.5],
    'w_seas': [1, 1.25, 1.5, 1.75, 2],
    'alpha_long': [0.0001, 0.0002, 0.0003, 0.0005, 0.001],
    'alpha_short': [0.02, 0.03, 0.05, 0.08, 0.12],
    'alpha_var': [0.01, 0.02, 0.03, 0.05],
    'suppress_rows': [40, 60, 80, 100, 130, 160],
    'suppress_factor': [0.1, 0.2, 0.3, 0.4, 0.5],
    'suppress_min': [0.2, 0.3, 0.4, 0.6, 0.8],
    'warmup': [150, 200, 250, 300, 400],
    'len_pow': [0.8, 0.9, 1, 1.1, 1.2],
    'alpha_season': [0.05, 0.1, 0.15, 0.2],
    'clip_z': [5, 7, 10, 15],
    'w_mid': [0, 0.75, 1, 1.25],
    'alpha_mid': [0.003, 0.005, 0.007, 0.01],
    'range_warmup': [150, 300, 450],
}


def standard_score(settings, extra):
    out = subprocess.run([LAB, DATA] + [f'{k}={v}' for k, v in settings.items()] + extra,
                         capture_output=True, text=True, check=True).stdout
    return float(re.search(r'std=([\d.]+)', out).group(1))


def main():
    rounds = int(sys.argv[1])
    args = sys.argv[2:]
    extra = [a for a in args if a.startswith('--')]
    fixed = dict(a.split('=', 1) for a in args if '=' in a and a[0] not in '-~')
    cur = dict(fixed)
    cur.update(dict(a[1:].split('=', 1) for a in args if a.startswith('~')))
    best = standard_score(cur, extra)
    print('start', best, flush=True)
    for r in range(rounds):
        improved = False
        for key, values in SPACE.items():
            if key in fixed:
                continue
            for v in values:
                trial = dict(cur, **{key: v})
                s = standard_score(trial, extra)
                if s > best + 0.01:
                    best, cur, improved = s, trial, True
                    print(f'  {key}={v} -> {s:.2f}', flush=True)
        print('round', r, best, flush=True)
        if not improved:
            break
    print('FINAL', json.dumps(cur))


if __name__ == '__main__':
    main()
