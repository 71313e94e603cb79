#!/usr/bin/env python3
"""What bench/api/run.sh reads from reflexd and from the load tools.

  probe.py metrics URL OUT           save one /metrics scrape
  probe.py window BEFORE AFTER       ticks, overruns and per-stage p50/p99 between two scrapes
                                     (from reflex_loop_stage_duration_seconds: log2 buckets,
                                     so each quantile is a bucket's upper bound)
  probe.py poll URL SECONDS OUT      every tick's stage timings, exact, read from
                                     /v1/state's last_tick twice a tick (JSON lines)
  probe.py ticks OUT                 p50/p99 per stage and of the whole tick from a poll file
  probe.py h2load LOG                p50/p90/p99/p99.9/max latency and non-200s of an h2load --log-file
  probe.py wrk OUT                   requests/s and non-2xx of a wrk run
  probe.py rss PID                   VmRSS and VmHWM of a process, in kB

Only the standard library: the benchmark runs on a bare host.
"""
import json
import math
import re
import sys
import time
import urllib.request

STAGES = ["monitor", "analyze", "review", "plan", "prepare", "commit", "apply", "record"]


def fetch(url, timeout=2.0):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read().decode()


def quantile(sorted_values, q):
    """Nearest-rank quantile of an ascending list (q in (0, 1])."""
    if not sorted_values:
        return float("nan")
    rank = max(1, math.ceil(q * len(sorted_values)))
    return sorted_values[rank - 1]


def parse_metrics(text):
    """{(name, frozenset(labels)): value} of a Prometheus text scrape."""
    out = {}
    line_re = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})?\s+(\S+)$')
    label_re = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = line_re.match(line)
        if not m:
            continue
        labels = frozenset(label_re.findall(m.group(3) or ""))
        out[(m.group(1), labels)] = float(m.group(4))
    return out


def scalar(metrics, name):
    return metrics.get((name, frozenset()), float("nan"))


def stage_buckets(metrics, stage):
    """[(le_seconds, cumulative_count)] ascending, +Inf last."""
    rows = []
    for (name, labels), v in metrics.items():
        if name != "reflex_loop_stage_duration_seconds_bucket":
            continue
        d = dict(labels)
        if d.get("stage") != stage:
            continue
        le = float("inf") if d["le"] == "+Inf" else float(d["le"])
        rows.append((le, v))
    return sorted(rows)


def bucket_quantile(rows, q):
    """Upper bound (us) of the bucket holding quantile q of a cumulative histogram."""
    total = rows[-1][1] if rows else 0
    if total <= 0:
        return float("nan")
    want = q * total
    for le, cum in rows:
        if cum >= want:
            return le * 1e6
    return float("inf")


def cmd_metrics(url, out):
    with open(out, "w") as f:
        f.write(fetch(url))


def cmd_window(before_path, after_path):
    b = parse_metrics(open(before_path).read())
    a = parse_metrics(open(after_path).read())
    ticks = scalar(a, "reflex_loop_ticks_total") - scalar(b, "reflex_loop_ticks_total")
    overruns = scalar(a, "reflex_loop_overruns_total") - scalar(b, "reflex_loop_overruns_total")
    print(f"ticks {ticks:.0f} overruns {overruns:.0f}")
    for s in STAGES:
        rb, ra = stage_buckets(b, s), stage_buckets(a, s)
        before = dict(rb)
        delta = [(le, cum - before.get(le, 0.0)) for le, cum in ra]
        print(f"  {s:8s} p50<={bucket_quantile(delta, 0.5):.0f}us p99<={bucket_quantile(delta, 0.99):.0f}us")


def cmd_poll(url, seconds, out):
    """Reads last_tick twice per tick interval; one line per tick seen."""
    seen = set()
    deadline = time.monotonic() + float(seconds)
    interval = None
    errors = 0
    with open(out, "w") as f:
        while time.monotonic() < deadline:
            try:
                state = json.loads(fetch(url))
            except Exception:  # a slow answer under load: the next poll catches up
                errors += 1
                time.sleep(0.01)
                continue
            tick = state.get("tick", {})
            if interval is None:
                interval = max(0.01, tick.get("interval_ms", 100) / 1000.0)
            last = tick.get("last") or state.get("last_tick")
            if last and last["seq"] not in seen:
                seen.add(last["seq"])
                f.write(json.dumps(last) + "\n")
            time.sleep(interval / 2)
    print(f"poll: {len(seen)} ticks seen, {errors} failed reads", file=sys.stderr)


def cmd_ticks(path):
    rows = [json.loads(l) for l in open(path) if l.strip()]
    if not rows:
        print("no ticks")
        return
    seqs = sorted(r["seq"] for r in rows)
    span = seqs[-1] - seqs[0] + 1
    print(f"ticks seen {len(rows)} of {span} (seq {seqs[0]}..{seqs[-1]}), overran {sum(bool(r['overran']) for r in rows)}")
    cols = [("tick", lambda r: r["duration_us"])] + [(s, (lambda s: lambda r: r["stages_us"][s])(s)) for s in STAGES]
    for name, get in cols:
        v = sorted(get(r) for r in rows)
        print(f"  {name:8s} p50 {quantile(v, 0.5):7d}us  p99 {quantile(v, 0.99):7d}us  max {v[-1]:7d}us")


def cmd_h2load(path):
    lat, bad = [], 0
    first = last = None
    for line in open(path):
        parts = line.split("\t")
        if len(parts) < 3:
            continue
        start, status, dur = int(parts[0]), int(parts[1]), int(parts[2])
        if status != 200:
            bad += 1
        lat.append(dur)
        first = start if first is None else min(first, start)
        last = start if last is None else max(last, start)
    lat.sort()
    secs = (last - first) / 1e6 if lat and last > first else float("nan")
    print(f"requests {len(lat)} over {secs:.1f}s ({len(lat) / secs:.0f}/s) non-200 {bad}  "
          f"p50 {quantile(lat, .5)}us p90 {quantile(lat, .9)}us p99 {quantile(lat, .99)}us "
          f"p99.9 {quantile(lat, .999)}us max {lat[-1] if lat else 'nan'}us")


def cmd_wrk(path):
    text = open(path).read()
    rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    errs = re.search(r"Socket errors:.*", text)
    print(f"{float(rps.group(1)) if rps else float('nan'):.0f} req/s"
          f" non-2xx {non2xx.group(1) if non2xx else 0}" + (f" ({errs.group(0)})" if errs else ""))


def cmd_rss(pid):
    fields = {}
    for line in open(f"/proc/{pid}/status"):
        k, _, v = line.partition(":")
        if k in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
            fields[k] = int(v.split()[0])
    print(" ".join(f"{k} {fields.get(k, 0)}" for k in ("VmRSS", "VmHWM", "RssAnon", "RssFile")))


def main(argv):
    cmds = {"metrics": cmd_metrics, "window": cmd_window, "poll": cmd_poll, "ticks": cmd_ticks,
            "h2load": cmd_h2load, "wrk": cmd_wrk, "rss": cmd_rss}
    if len(argv) < 2 or argv[1] not in cmds:
        print(__doc__, file=sys.stderr)
        return 2
    cmds[argv[1]](*argv[2:])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
