#!/usr/bin/env bash
# The whole benchmark in one command, from a clean checkout:
#
#   bench/run.sh [N ...]        # default: 100000 1000000
#
# Sets up bench/.venv (cdpctl installed from this checkout, not editable) and Segment's npm
# packages in bench/node, generates seeded event files into bench/data, then measures and
# writes bench/RESULTS.md and bench/PROFILE.md. BENCH_REPEAT (default 3) sets runs per figure.
set -euo pipefail

BENCH="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="$BENCH/.venv"
if (($# == 0)); then
  set -- 100000 1000000
fi

echo "== Python: $VENV"
[[ -x "$VENV/bin/python" ]] || "${PYTHON:-python3}" -m venv "$VENV"
(cd "$BENCH" && "$VENV/bin/pip" install --quiet --disable-pip-version-check ..)

echo "== Node: Segment's packages into $BENCH/node"
"$BENCH/node/setup.sh"

echo "== events into $BENCH/data"
mkdir -p "$BENCH/data"
for n in "$@"; do
  file="$BENCH/data/events-$n.ndjson"
  if [[ ! -s "$file" || "$BENCH/generate.py" -nt "$file" ]]; then
    echo "generating $n events"
    "$VENV/bin/python" "$BENCH/generate.py" "$n" "$file.partial"
    mv "$file.partial" "$file"
  fi
done

echo "== measuring"
"$VENV/bin/python" "$BENCH/suite.py" "$@"

echo "== diff against a dry-run replay"
"$VENV/bin/python" "$BENCH/diff.py" --events "$1"
