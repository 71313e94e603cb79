#!/usr/bin/env bash
# The scenario benchmark: every scenario in sim/scenarios/, N runs per node
# (reflex, none, threshold), each with its full report, then one markdown
# table of all scenarios (bench/sim/table.py) for docs/scenarios.md.
#
#   bench/sim/targets.sh [RUNS=20] [OUT=/tmp/reflex-sim-bench] [SCENARIO...]
#   NODES="none threshold" bench/sim/targets.sh 3      # without the daemon
#
# Runs are serial (two runs at once would share the CPUs and skew both).
# The host is shared: quote best-of-N where it matters and say so.
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-20}
out=${2:-/tmp/reflex-sim-bench}
shift $(( $# > 2 ? 2 : $# )) || true
nodes=${NODES:-reflex none threshold}
scenarios=("$@")
if ((${#scenarios[@]} == 0)); then  # the fleet scenarios run in virtual time: sim/fleet
  for s in sim/scenarios/*.yaml; do [[ $(basename "$s") == fleet-* ]] || scenarios+=("$s"); done
fi
sim=build/cmd/reflex-sim/reflex-sim
[[ -x $sim ]] || { echo "build first: scripts/build.sh" >&2; exit 1; }
mkdir -p "$out"
node_args=()
for n in $nodes; do node_args+=(--node "$n"); done
for s in "${scenarios[@]}"; do
  name=$(basename "$s" .yaml)
  echo "== $name: $runs run(s) per node ($nodes)"
  "$sim" run "$s" --runs "$runs" "${node_args[@]}" --quiet --report "$out/$name" | tail -n +1 | grep -E "^  (node|reflex|none|threshold|target) " || true
done
python3 bench/sim/table.py "$out" | tee "$out/table.md"
