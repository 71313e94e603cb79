#!/usr/bin/env bash
# Removes what kernel tests leave behind only when a test process died
# before its RAII guards ran (a crash, a kill): network namespaces named
# rfx<letters><pid>x<n> (sim::unique_name) and pin roots
# /sys/fs/bpf/reflex-test-<pid> and reflex-sim-<pid> (reflex-sim's own) whose
# process is gone. ctest runs it as the
# cleanup of the "kernel" fixture. Anything a live process owns is left alone,
# so two test runs on one host (two build trees) do not break each other.
set -u

# unique_name keeps pid % 100000; a live pid with that residue may own the name.
pid_max=$(cat /proc/sys/kernel/pid_max 2>/dev/null || echo 4194304)
residue_alive() {
  local r=$1 p
  for ((p = r; p <= pid_max; p += 100000)); do
    ((p > 0)) && kill -0 "$p" 2>/dev/null && return 0
  done
  return 1
}

for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep '^rfx'); do
  if [[ "$ns" =~ ^rfx[a-z]*([0-9]+)x[0-9]+$ ]]; then
    residue_alive "$((10#${BASH_REMATCH[1]}))" && continue
  fi
  echo "cleanup: deleting leftover network namespace $ns"
  ip netns del "$ns" || true
done
for dir in /sys/fs/bpf/reflex-test-* /sys/fs/bpf/reflex-sim-*; do
  [[ -d "$dir" ]] || continue
  pid=${dir##*-}
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "cleanup: removing leftover pins $dir"
    for link in "$dir"/*/link "$dir"/*/link_new "$dir"/*/*/link "$dir"/*/*/link_new; do
      [[ -e "$link" ]] && bpftool link detach pinned "$link" 2>/dev/null
    done
    rm -rf "$dir"
  fi
done
exit 0
