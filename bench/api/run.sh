#!/usr/bin/env bash
# reflexd's measured figures (docs/daemon.md "Measured"), on loopback, while
# the daemon's loop runs at a 100 ms tick guarding a veth in a namespace this
# script makes. Everything it makes (namespaces, veths, pins, processes,
# files) goes on the way out, also on failure or Ctrl-C (trap).
#
#   bench/api/run.sh [ROUNDS=5] [OUT=/tmp/reflex-api-bench]
#   PARTS="rps latency" bench/api/run.sh 3        # only some parts
#
# Parts (PARTS, default all, in this order):
#   rps      most requests/s (wrk, 1 thread, $CONNS connections, $DUR s) on
#            GET /v1/state and GET /healthz, beside two anchors on loopback:
#            a minimal Beast server and reflex's api::Server with a static
#            route (http_anchor); interleaved, best of ROUNDS each.
#   latency  GET /v1/state at a constant $RATE req/s (h2load --h1 --rps, 10
#            connections) for $LAT_DUR s, ROUNDS times: latency p50..max, and
#            the loop's ticks and overruns from /metrics before and after;
#            the same load on the Beast anchor beside it.
#   ticks    tick and stage p50/p99 at idle, from every tick's timings
#            (/v1/state's last tick, polled twice a tick) and from the
#            /metrics histograms; under load the latency part reads them too.
#   rss      VmRSS/VmHWM of reflexd before and after 100k drop rules
#            installed the way an operator does (reflex-guard replace --file
#            on the pinned guard; the daemon adopts them on its next read-back).
#   caps     reflexd started with only CAP_BPF+CAP_NET_ADMIN+CAP_PERFMON, and
#            with CAP_SYS_ADMIN too (root's uid with noroot securebits and a
#            reduced bounding set, as the systemd unit runs it), guarding the
#            veth in its namespace and one in the host's: what fails without.
#
# The host is shared: numbers are best of ROUNDS, anchors measured in the
# same run, interleaved; quote ratios.
set -euo pipefail
cd "$(dirname "$0")/../.."
src=$PWD
rounds=${1:-5}
out=${2:-/tmp/reflex-api-bench}
parts=${PARTS:-rps latency ticks rss caps}
conns=${CONNS:-32}
dur=${DUR:-5}
rate=${RATE:-5000}
lat_dur=${LAT_DUR:-20}
idle_s=${IDLE_S:-30}
# monitor.run_time_every: the guard's run time is measured on one tick in N
# (the daemon's default is 0: never turns BPF run-time stats on).
run_time_every=${RUN_TIME_EVERY:-0}
build=${BUILD:-build}
reflexd=$build/cmd/reflexd/reflexd
guard=$build/cmd/reflex-guard/reflex-guard
anchor=$build/bench/api/http_anchor
probe=(python3 "$src/bench/api/probe.py")

((EUID == 0)) || { echo "run as root (namespaces, XDP, bpffs)" >&2; exit 1; }
for b in "$reflexd" "$guard" "$anchor"; do
  [[ -x $b ]] || { echo "build first: cmake --build $build --target reflexd reflex-guard http_anchor" >&2; exit 1; }
done
for t in wrk h2load setpriv ip curl; do
  command -v "$t" >/dev/null || { echo "missing $t: scripts/install-deps.sh" >&2; exit 1; }
done

# Names in sim::unique_name's shape and pins under a reflex-test-<pid> root,
# so scripts/cleanup-test-leftovers.sh removes them if this script is killed -9.
id=$(($$ % 100000))
node_ns=rfxbn${id}x0 peer_ns=rfxbp${id}x1
node_if=rfxbv${id}x2 peer_if=rfxbw${id}x3
host_if=rfxbh${id}x4 hpeer_if=rfxbg${id}x5
pins=/sys/fs/bpf/reflex-test-$$
key=$node_if@$node_ns
work=$(mktemp -d /tmp/reflex-api-bench.XXXXXX)
mkdir -p "$out" "$pins"
pids=()

cleanup() {
  set +e
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
  for k in "$key" "$host_if"; do "$guard" --pin-root "$pins" unload "$k" >/dev/null 2>&1; done
  ip link del "$host_if" 2>/dev/null
  ip netns del "$node_ns" 2>/dev/null
  ip netns del "$peer_ns" 2>/dev/null
  rm -rf "$pins" "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ip netns add "$node_ns"
ip netns add "$peer_ns"
ip link add "$node_if" netns "$node_ns" type veth peer name "$peer_if" netns "$peer_ns"
ip -n "$node_ns" addr add 10.94.0.1/24 dev "$node_if"
ip -n "$peer_ns" addr add 10.94.0.2/24 dev "$peer_if"
for ns in "$node_ns" "$peer_ns"; do ip -n "$ns" link set lo up; done
ip -n "$node_ns" link set "$node_if" up
ip -n "$peer_ns" link set "$peer_if" up

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

port=$(free_port)
base=http://127.0.0.1:$port
daemon_pid=

# start_reflexd IFACE LOG [PREFIX...]: reflexd on IFACE, PREFIX (e.g. setpriv ...) before it.
start_reflexd() {
  local iface=$1 log=$2
  shift 2
  printf 'monitor:\n  run_time_every: %s\n' "$run_time_every" >"$work/reflexd.yaml"
  "$@" "$src/$reflexd" --log-level info run --config "$work/reflexd.yaml" --iface "$iface" --tick-ms 100 --listen "127.0.0.1:$port" \
    --unix-socket off --store "$work/store.db" --token-file "$work/token" --policies "$src/policies" \
    --pin-root "$pins" >"$log" 2>&1 &
  daemon_pid=$!
  pids+=("$daemon_pid")
}

# wait_ready [WANT=200] [SECONDS=30]: until /readyz answers WANT; 1 if the daemon died or time ran out.
wait_ready() {
  local want=${1:-200} t=${2:-30} i code
  for ((i = 0; i < t * 20; i++)); do
    kill -0 "$daemon_pid" 2>/dev/null || return 1
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$base/readyz" || true)
    [[ $code == "$want" ]] && return 0
    sleep 0.05  # polling a child's readiness: nothing to wait on
  done
  return 1
}

stop_reflexd() {
  [[ -n $daemon_pid ]] || return 0
  kill "$daemon_pid" 2>/dev/null || true
  wait "$daemon_pid" 2>/dev/null || true
  daemon_pid=
}

start_anchor() {  # start_anchor KIND -> sets anchor_port
  local fifo=$work/anchor-$1.out
  "$src/$anchor" "$1" >"$fifo" 2>&1 &
  pids+=($!)
  local i
  for ((i = 0; i < 100; i++)); do
    anchor_port=$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$fifo")
    [[ -n $anchor_port ]] && return 0
    sleep 0.05
  done
  echo "http_anchor $1 did not start: $(cat "$fifo")" >&2
  return 1
}

host_info() {
  echo "host: $(nproc) vCPU $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1), $(uname -r)," \
    "srso: $(cat /sys/devices/system/cpu/vulnerabilities/spec_rstack_overflow 2>/dev/null || echo n/a)," \
    "load avg $(cut -d' ' -f1-3 /proc/loadavg)"
}

metrics() { "${probe[@]}" metrics "$base/metrics" "$1"; }

part_rps() {
  echo "== rps: wrk -t1 -c$conns -d${dur}s, best of $rounds, interleaved"
  start_anchor beast; local beast=$anchor_port
  start_anchor reflex; local rfx=$anchor_port
  metrics "$out/m-rps-0"
  local r name url
  declare -A urls=([anchor_beast]="http://127.0.0.1:$beast/healthz" [anchor_reflex_server]="http://127.0.0.1:$rfx/healthz"
                   [reflexd_healthz]="$base/healthz" [reflexd_v1_state]="$base/v1/state")
  for ((r = 1; r <= rounds; r++)); do
    for name in anchor_beast anchor_reflex_server reflexd_healthz reflexd_v1_state; do
      wrk -t1 -c"$conns" -d"${dur}s" "${urls[$name]}" >"$out/wrk-$name-$r.txt" 2>&1
      echo "  round $r $name: $("${probe[@]}" wrk "$out/wrk-$name-$r.txt")"
    done
  done
  metrics "$out/m-rps-1"
  echo "  loop during the rps part: $("${probe[@]}" window "$out/m-rps-0" "$out/m-rps-1" | sed -n 1p)"
  for name in anchor_beast anchor_reflex_server reflexd_healthz reflexd_v1_state; do
    echo "  best $name: $(for f in "$out"/wrk-"$name"-*.txt; do "${probe[@]}" wrk "$f"; done | sort -n | tail -1)"
  done
  echo "  /v1/state response: $(curl -s "$base/v1/state" | wc -c) bytes"
}

part_latency() {
  local clients=10 r
  echo "== latency: GET /v1/state at $rate req/s (h2load --h1 -c$clients --rps $((rate / clients))) for ${lat_dur}s, $rounds rounds"
  start_anchor beast; local beast=$anchor_port
  for ((r = 1; r <= rounds; r++)); do
    metrics "$out/m-lat-$r-0"
    "${probe[@]}" poll "$base/v1/state" "$lat_dur" "$out/ticks-load-$r.jsonl" 2>"$work/poll.err" &
    local poller=$!
    h2load --h1 -t1 -c"$clients" --rps "$((rate / clients))" -D "$lat_dur" --log-file "$out/h2load-state-$r.log" \
      "$base/v1/state" >"$out/h2load-state-$r.txt" 2>&1 || true
    wait "$poller"
    metrics "$out/m-lat-$r-1"
    echo "  round $r reflexd /v1/state: $("${probe[@]}" h2load "$out/h2load-state-$r.log")"
    echo "    $(cat "$work/poll.err"); loop: $("${probe[@]}" window "$out/m-lat-$r-0" "$out/m-lat-$r-1" | sed -n 1p)"
    h2load --h1 -t1 -c"$clients" --rps "$((rate / clients))" -D "$lat_dur" --log-file "$out/h2load-anchor-$r.log" \
      "http://127.0.0.1:$beast/healthz" >"$out/h2load-anchor-$r.txt" 2>&1 || true
    echo "  round $r anchor_beast:      $("${probe[@]}" h2load "$out/h2load-anchor-$r.log")"
  done
  echo "  ticks under load, round 1 (exact, every tick seen):"
  "${probe[@]}" ticks "$out/ticks-load-1.jsonl" | sed 's/^/    /'
  echo "  ticks under load, round 1 (/metrics histogram window):"
  "${probe[@]}" window "$out/m-lat-1-0" "$out/m-lat-1-1" | sed 's/^/    /'
}

part_ticks() {
  echo "== ticks at idle: ${idle_s}s, every tick's timings (polled twice a tick)"
  metrics "$out/m-idle-0"
  "${probe[@]}" poll "$base/v1/state" "$idle_s" "$out/ticks-idle.jsonl" 2>"$work/poll.err"
  metrics "$out/m-idle-1"
  echo "  $(cat "$work/poll.err")"
  "${probe[@]}" ticks "$out/ticks-idle.jsonl" | sed 's/^/    /'
  echo "  (/metrics histogram window)"
  "${probe[@]}" window "$out/m-idle-0" "$out/m-idle-1" | sed 's/^/    /'
}

rules_entries() {  # rules in force on the guard, as the daemon's /metrics sees the guard's maps
  curl -s "$base/metrics" | awk '/^reflex_map_entries\{map="[^"]*rule/ {n += $2} END {print n + 0}'
}

part_rss() {
  local n=${RULES:-100000}
  echo "== rss with $n rules (reflex-guard replace --file on the pinned guard, the daemon running)"
  echo "  before: $("${probe[@]}" rss "$daemon_pid")"
  python3 - "$n" >"$work/rules.txt" <<'EOF'
import sys
n = int(sys.argv[1])
base = (198 << 24) | (18 << 16)   # 198.18.0.0/15, the benchmarking range: 131072 addresses
for i in range(n):
    a = base + i
    print(f"{a >> 24}.{(a >> 16) & 255}.{(a >> 8) & 255}.{a & 255}/32 drop")
EOF
  "$guard" --pin-root "$pins" --netns "$node_ns" replace --file "$work/rules.txt" --iface "$node_if" | sed 's/^/  /'
  # The daemon notices the rule set's version moved and reads the rules back
  # on its next converge or reconcile (every 10 ticks); give it 3 reconciles.
  metrics "$out/m-rss-0"
  "${probe[@]}" poll "$base/v1/state" 3.5 "$out/ticks-rules.jsonl" 2>"$work/poll.err"
  metrics "$out/m-rss-1"
  echo "  after:  $("${probe[@]}" rss "$daemon_pid")"
  echo "  the daemon sees: $(curl -s "$base/metrics" | grep -E '^reflex_map_entries' | tr '\n' ' ')"
  echo "  ticks with $n rules (the read-back tick included):"
  "${probe[@]}" ticks "$out/ticks-rules.jsonl" | sed 's/^/    /'
  echo "  /v1/state with $n rules: $(curl -s "$base/v1/state" | wc -c) bytes"
  curl -s "$base/metrics" >"$out/metrics-rules.txt"
  cp "/proc/$daemon_pid/smaps_rollup" "$out/smaps-rules.txt" 2>/dev/null || true
  # The same load as the latency part, with the rules in force.
  h2load --h1 -t1 -c10 --rps "$((rate / 10))" -D 10 --log-file "$out/h2load-rules.log" "$base/v1/state" \
    >"$out/h2load-rules.txt" 2>&1 || true
  echo "  /v1/state at $rate req/s with $n rules: $("${probe[@]}" h2load "$out/h2load-rules.log")"
  echo "  after load: $("${probe[@]}" rss "$daemon_pid")"
  # Which mappings hold it (the heap, threads' arenas, the guard's mmapped maps).
  cp "/proc/$daemon_pid/smaps" "$out/smaps-after-load.txt" 2>/dev/null || true
}

# try_caps LABEL IFACE CAPS: reflexd as root with noroot securebits and only CAPS.
try_caps() {
  local label=$1 iface=$2 caps=$3 log=$out/caps-$1.log status
  rm -f "$work/store.db"*
  start_reflexd "$iface" "$log" setpriv --securebits=+noroot,+noroot_locked,+keep_caps_locked \
    --bounding-set="-all,$caps" --inh-caps="-all,$caps" --ambient-caps="-all,$caps"
  if wait_ready 200 15; then status="ready"; else status="NOT ready"; fi
  local capeff
  capeff=$(awk '/^CapEff/ {print $2}' "/proc/$daemon_pid/status" 2>/dev/null || echo gone)
  : >"$out/caps-$label.metrics"
  if kill -0 "$daemon_pid" 2>/dev/null; then
    # A probe is listed as degraded in the tick it failed in (the run-time
    # window opens one tick in 10): read every tick for 25 ticks, a reconcile included.
    local i
    for ((i = 0; i < 50; i++)); do
      curl -s "$base/metrics" | grep -E '^reflex_probe_degraded' >>"$out/caps-$label.metrics" || true
      sleep 0.05
    done
    curl -s "$base/readyz" >"$out/caps-$label.readyz"
  fi
  stop_reflexd
  echo "  $label: $status (CapEff $capeff $(capsh --decode="$capeff" 2>/dev/null | cut -d= -f2))"
  sort -u "$out/caps-$label.metrics" | sed 's/^/    degraded: /'
  grep -iE 'error|warn|denied|not permitted|fail' "$log" | sed 's/^/    log: /' | head -8 || true
}

part_caps() {
  echo "== caps (root uid, securebits noroot, bounding/inheritable/ambient = the set)"
  stop_reflexd
  # An interface in the host's namespace too, so setns is not the only thing tested.
  ip link add "$host_if" type veth peer name "$hpeer_if" netns "$peer_ns"
  ip addr add 10.95.0.1/24 dev "$host_if"
  ip -n "$peer_ns" addr add 10.95.0.2/24 dev "$hpeer_if"
  ip link set "$host_if" up
  ip -n "$peer_ns" link set "$hpeer_if" up
  local base3="+bpf,+net_admin,+perfmon"
  for iface in "$host_if" "$key"; do
    local where=host
    [[ $iface == *@* ]] && where=netns
    "$guard" --pin-root "$pins" unload "$iface" >/dev/null 2>&1 || true
    try_caps "$where-bpf-netadmin" "$iface" "+bpf,+net_admin"
    "$guard" --pin-root "$pins" unload "$iface" >/dev/null 2>&1 || true
    try_caps "$where-bpf-netadmin-perfmon" "$iface" "$base3"
    "$guard" --pin-root "$pins" unload "$iface" >/dev/null 2>&1 || true
    try_caps "$where-plus-sysadmin" "$iface" "$base3,+sys_admin"
    # Adopting a guard pinned by an earlier run (the restart path), without CAP_SYS_ADMIN.
    try_caps "$where-adopt-bpf-netadmin-perfmon" "$iface" "$base3"
  done
}

host_info | tee "$out/host.txt"
if [[ " $parts " =~ \ (rps|latency|ticks|rss)\  ]]; then
  start_reflexd "$key" "$out/reflexd.log"
  wait_ready 200 30 || { echo "reflexd did not become ready:" >&2; cat "$out/reflexd.log" >&2; exit 1; }
  echo "reflexd pid $daemon_pid guarding $key, tick 100 ms, monitor.run_time_every $run_time_every, API $base"
fi
for p in $parts; do "part_$p" > >(tee "$out/$p.txt") 2>&1; done
echo "figures and raw outputs in $out"
