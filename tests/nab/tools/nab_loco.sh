#!/bin/sh
# Leave-one-category-out hold-out (development tool):
#   tests/nab/tools/nab_loco.sh [key=v | ~key=v ...]      (from the repository root)
# For each category of the dev subset: coordinate descent (nab_tune.py, same
# arguments) on the other categories, then reflex-detect on the held-out one
# with the settings found; finally the pooled held-out outputs are scored as
# one corpus by reflex-nab-score. Takes ~10 minutes on one core.
set -e
BUILD=${BUILD:-build}
DATA=${NAB_DATA:-tests/data/nab-dev}
OUT=${OUT:-$BUILD/nab-loco}
HERE=$(dirname "$0")
rm -rf "$OUT"
for cat in $(cd "$DATA" && ls -d */ | tr -d /); do
  settings=$(python3 "$HERE/nab_tune.py" 3 "$@" "--skip=$cat" | sed -n 's/^FINAL //p')
  echo "$cat: $settings"
  sets=$(echo "$settings" | python3 -c 'import json, sys; print(" ".join("--set %s=%s" % kv for kv in json.load(sys.stdin).items()))')
  # shellcheck disable=SC2086
  "$BUILD/cmd/reflex-detect/reflex-detect" --input-dir "$DATA/$cat" --output-dir "$OUT/$cat" $sets > /dev/null
done
"$BUILD/cmd/reflex-nab-score/reflex-nab-score" --results "$OUT" --data "$DATA"
