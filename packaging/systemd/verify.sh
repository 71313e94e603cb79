#!/usr/bin/env bash
# Checks reflexd.service the way systemd reads it, without a running systemd:
# `systemd-analyze verify` must say nothing at all (it exits 0 on unknown keys
# and bad values, so any output fails), and `systemd-analyze security` must
# rate the unit's exposure at most MAX_EXPOSURE. The unit names /usr/sbin/reflexd;
# a copy pointing at the built binary is what gets verified.
# Usage: verify.sh UNIT REFLEXD_BINARY [MAX_EXPOSURE]
set -euo pipefail
unit=$1 reflexd=$2 max=${3:-3.0}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

check() {  # check FILE: verify says nothing
  local out rc=0
  out=$(systemd-analyze verify --man=no "$1" 2>&1) || rc=$?
  if ((rc != 0)) || [[ -n "$out" ]]; then
    echo "systemd-analyze verify $(basename "$1") (exit $rc):"
    echo "$out"
    return 1
  fi
}

sed "s|/usr/sbin/reflexd|$reflexd|g" "$unit" > "$work/reflexd.service"
check "$work/reflexd.service"

# The check itself must catch a mistake: a misspelt key and a bad value.
mkdir "$work/broken"
sed 's/^NoNewPrivileges=yes/NoNewPrivileges=yes\nNoNewPrivilege=yes\nProtectSystem=sometimes/' \
  "$work/reflexd.service" > "$work/broken/reflexd.service"
if check "$work/broken/reflexd.service" >/dev/null; then
  echo "verify.sh: a unit with an unknown key and a bad value passed; the check is broken"
  exit 1
fi

exposure=$(systemd-analyze security --offline=yes --no-pager "$work/reflexd.service" 2>&1 |
  sed -n 's/.*Overall exposure level for reflexd.service: \([0-9.]*\).*/\1/p')
if [[ -z "$exposure" ]]; then
  echo "systemd-analyze security gave no exposure level"
  exit 1
fi
echo "reflexd.service: verify clean; exposure $exposure (at most $max)"
awk -v e="$exposure" -v m="$max" 'BEGIN { exit !(e <= m) }' || {
  echo "the unit's exposure $exposure is above $max: see systemd-analyze security for what it lost"
  exit 1
}
