#!/usr/bin/env python3
"""Neighbourhood score of a detector setting (development tool).

  nab_robust.py N [key=v ...] [@key=v ...] [--half=k]

Runs nab-lab N times with fifteen settings multiplied by seeded random factors
in [0.8, 1.25] (log-uniform; the same draws on every call) around the current
defaults (@key=v moves the centre of a perturbed setting), plus the given
key=v held fixed, and prints the mean, spread and
range of the standard score. A structural change should lift this mean, not
only the tuned point. Environment: NAB_LAB, NAB_DATA as for nab_tune.py.
"""
import math, os, random, re, subprocess, sys

LAB = os.environ.get('NAB_LAB', 'build/tests/nab/nab-lab')
DATA = os.environ.get('NAB_DATA', 'tests/data/nab-dev')
# The defaults of DetectorParams for the perturbed settings (keep in step).
BASE = {'alpha_long': 0.0002, 'alpha_short': 0.05, 'w_short': 0.5, 'w_seas': 1.5, 'w_var': 1.0,
        'w_point': 0.25, 'suppress_rows': 80, 'suppress_factor': 0.2, 'clip_z': 10,
        'alpha_var': 0.02, 'w_range': 3, 'alpha_season': 0.1, 'w_mid': 1, 'alpha_mid': 0.005,
        'suppress_min': 0.3}


def main():
    n = int(sys.argv[1])
    base = dict(BASE)
    for a in sys.argv[2:]:
        if a.startswith('@'):
            k, v = a[1:].split('=', 1)
            base[k] = float(v)
    given = [a for a in sys.argv[2:] if not a.startswith('@')]
    fixed = {a.split('=', 1)[0] for a in given if '=' in a and not a.startswith('--')}
    rng = random.Random(7)
    scores = []
    for _ in range(n):
        args = []
        for k, v in base.items():
            f = math.exp(rng.uniform(math.log(0.8), math.log(1.25)))
            if k not in fixed:
                args.append(f'{k}={int(round(v * f)) if k == "suppress_rows" else v * f}')
        out = subprocess.run([LAB, DATA] + args + given, capture_output=True, text=True, check=True).stdout
        scores.append(float(re.search(r'std=([\d.]+)', out).group(1)))
    mean = sum(scores) / n
    sd = (sum((s - mean) ** 2 for s in scores) / n) ** 0.5
    print(f"{' '.join(given)}: mean {mean:.2f} sd {sd:.2f} min {min(scores):.2f} max {max(scores):.2f}")


if __name__ == '__main__':
    main()
