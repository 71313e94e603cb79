#!/usr/bin/env python3
"""One markdown table of every scenario report under a folder: per scenario
and node, the median (and p99 over runs where there are several) of the
figures docs/scenarios.md explains."""
import json, pathlib, sys

root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/reflex-sim-bench")
cols = [("attack_offered_pps", "attack reached kpps", False), ("onset_to_drop_ms", "onset→drop ms p50 / p99", True), ("recovered_ms", "goodput ≥95% after ms", False),
        ("benign_goodput_during", "benign goodput during", False), ("attack_delivered_ratio", "attack delivered", False),
        ("false_blocks", "false blocks", False), ("rules_max", "rules (max)", False), ("rules_left", "rules left", False),
        ("rules_gone_lag_ms", "rule gone vs TTL ms", False), ("rtt_p99_during_ms", "RTT p99 under load ms", False),
        ("rtt_p99_late_ms", "RTT p99 2nd half of load ms", False)]


def fmt(v, ratio=False):
    if v is None:
        return "–"
    if ratio:
        return f"{v * 100:.0f}%"
    return f"{v:.0f}" if abs(v) >= 10 or v == int(v) else f"{v:.2f}"


print("| scenario | node | runs | " + " | ".join(c[1] for c in cols) + " |")
print("|---|---|---|" + "---|" * len(cols))
for rep in sorted(root.glob("*/report.json")):
    r = json.loads(rep.read_text())
    for node, c in r["compare"].items():
        p = c["percentiles"]
        n = max(v.get("n", 0) for v in p.values())
        cells = []
        for key, _, both in cols:
            q = p.get(key, {})
            ratio = key in ("benign_goodput_during", "attack_delivered_ratio")
            if key == "attack_offered_pps" and q.get("n"):
                cells.append(f"{q['p50'] / 1000:.0f}")
            elif not q.get("n"):
                cells.append("never" if key in ("onset_to_drop_ms", "recovered_ms") else "–")
            elif both and n > 1:
                cells.append(f"{fmt(q['p50'])} / {fmt(q['p99'])}")
            else:
                cells.append(fmt(q["p50"], ratio))
        print(f"| {r['scenario']} | {node} | {n} | " + " | ".join(cells) + " |")
