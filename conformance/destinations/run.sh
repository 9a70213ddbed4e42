#!/usr/bin/env bash
# The differential harness in one command: Segment's published destination code vs cdpctl.
#
#   conformance/destinations/run.sh [--seed N] [--no-vectors]
#
# Installs the pinned npm packages (npm ci), generates the seeded corpus, runs every case
# through Segment's code (runner.js) and through cdpctl (harness/adapter.py) with the same
# scripted replies, compares, prints the per-action table and the summary line, and writes
# the vectors to tests/vectors/destinations/. Results land in conformance/destinations/out/.
# Exit status 1 when a difference is not covered by a decision of decisions.yaml.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
python="${PYTHON:-$root/.venv/bin/python}"
seed=11
vectors=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seed) seed="$2"; shift 2 ;;
    --no-vectors) vectors=(--no-vectors); shift ;;
    *) echo "usage: $0 [--seed N] [--no-vectors]" >&2; exit 2 ;;
  esac
done
cd "$here"
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
mkdir -p out
"$python" -m harness.driver corpus out/corpus.json --seed "$seed"
node runner.js out/corpus.json out/segment.json
"$python" -m harness.driver compare out "${vectors[@]}"
