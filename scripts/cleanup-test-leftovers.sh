#!/usr/bin/env bash
# Removes what kernel tests leave behind only when a test process died
# before its RAII guards ran (a crash, a kill): network namespaces named
# rfx* and pin roots /sys/fs/bpf/reflex-test-<pid> of processes that are gone.
# ctest runs it as the cleanup of the "kernel" fixture, after every test that
# uses namespaces or pins has finished.
set -u
for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep '^rfx'); do
  echo "cleanup: deleting leftover network namespace $ns"
  ip netns del "$ns" || true
done
for dir in /sys/fs/bpf/reflex-test-*; do
  [[ -d "$dir" ]] || continue
  pid=${dir##*-}
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "cleanup: removing leftover pins $dir"
    for link in "$dir"/*/link "$dir"/*/link_new; do
      [[ -e "$link" ]] && bpftool link detach pinned "$link" 2>/dev/null
    done
    rm -rf "$dir"
  fi
done
exit 0
