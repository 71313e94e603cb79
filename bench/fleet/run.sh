#!/usr/bin/env bash
# The fleet benchmark: sim/scenarios/fleet-1000.yaml (1,000 nodes, 1 hour of
# virtual time, every node on reflexd's own Loop). Prints the wall time of
# each run and the delivered-attack ratio, cooperation on against off.
# Targets: < 60 s wall for a run on 2 cores; ratio <= 1/3.
#
#   bench/fleet/run.sh [BUILD_DIR] [RUNS]
# Best of RUNS (default 1): the host is shared, so its noise is one-sided.
# The anchor beside it: sim/scenarios/fleet-moving.yaml (25 nodes), same build.
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$here/build}
runs=${2:-1}
sim=$build/sim/fleet/reflex-sim-fleet
[[ -x $sim ]] || { echo "build reflex-sim-fleet first (cmake --build $build --target reflex-sim-fleet)" >&2; exit 2; }
out=$(mktemp -d /tmp/reflex-fleet-bench.XXXXXX)
trap 'rm -rf "$out"' EXIT

best() {  # scenario coop threads -> best wall seconds of the runs, and the last report
  local s=$1 coop=$2 threads=$3 best=
  for ((i = 0; i < runs; i++)); do
    "$sim" "$s" --coop "$coop" --threads "$threads" --report "$out/$coop" --quiet || true
    w=$(python3 -c "import json,sys; r=json.load(open('$out/$coop/report.json')); print(r['runs']['coop_$coop']['wall_s'])")
    best=$(python3 -c "print(min(float('$w'), float('${best:-inf}')))")
  done
  echo "$best"
}

echo "host: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
anchor=$(best "$here/sim/scenarios/fleet-moving.yaml" on 2)
echo "anchor fleet-moving (25 nodes x 20 min, coop on, 2 threads): ${anchor} s"
on=$(best "$here/sim/scenarios/fleet-1000.yaml" on 2)
echo "fleet-1000 coop on  (2 threads): ${on} s wall"
off=$(best "$here/sim/scenarios/fleet-1000.yaml" off 2)
echo "fleet-1000 coop off (2 threads): ${off} s wall"
python3 - "$out" <<'PY'
import json, sys
d = sys.argv[1]
on = json.load(open(d + "/on/report.json"))["runs"]["coop_on"]
off = json.load(open(d + "/off/report.json"))["runs"]["coop_off"]
for name, r in (("on", on), ("off", off)):
    print(f"coop {name}: {r['us_per_node_tick']:.1f} us/node-tick, moving attack delivered {r['moving_attack_delivered']:.0f}"
          f" of {r['moving_attack_packets']:.0f}, benign dropped {r['benign_dropped']:.0f}, actions {r['actions']},"
          f" verdicts sent {r['verdicts']['sent']} refused {r['verdicts']['refused']}")
ratio = on["moving_attack_delivered"] / off["moving_attack_delivered"] if off["moving_attack_delivered"] else float("nan")
print(f"delivered-attack ratio (moving floods), coop on / off: {ratio:.3f} (target <= 0.333)")
PY
