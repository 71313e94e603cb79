#!/usr/bin/env bash
# Installs the Debian 12 packages reflex needs, only those missing (idempotent),
# and mounts bpffs if it is not mounted. Run as root.
set -euo pipefail

pkgs=(
  build-essential cmake ninja-build pkg-config git
  clang llvm libclang-rt-14-dev          # BPF objects, libFuzzer
  libbpf-dev libelf-dev zlib1g-dev bpftool linux-libc-dev
  xdp-tools                               # xdp-filter, the benchmark's reference
  prometheus systemd wrk nghttp2-client   # the API's scrape and unit tests; wrk and h2load for its bench
  libboost1.81-dev libboost-json1.81-dev libboost-system1.81-dev
  libyaml-cpp-dev libeigen3-dev libspdlog-dev libfmt-dev libcli11-dev libsqlite3-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libnl-3-dev libnl-route-3-dev            # qdiscs and classes for TC shaping
  iproute2 iputils-ping
  libnats-dev libssl-dev nats-server     # the fleet: NATS C client, and the server its tests start
  libjemalloc-dev                        # the fleet simulator's allocator (a thousand nodes' small objects)
  prometheus                             # promtool: the fleet's federation example is checked in ctest
  libcairo2-dev fonts-dejavu-core         # reflex-sim's timeline picture (SVG and PNG)
  chromium                                # the test that opens reflex-sim's report page
)

missing=()
for p in "${pkgs[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done

if ((${#missing[@]})); then
  if [[ $EUID -ne 0 ]]; then
    echo "install-deps: need root to install: ${missing[*]}" >&2
    exit 1
  fi
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [[ $EUID -eq 0 ]] && ! mountpoint -q /sys/fs/bpf; then
  mount -t bpf bpf /sys/fs/bpf
fi
