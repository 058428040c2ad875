#!/usr/bin/env bash
# The GPU benchmark on an earlier tree and on this one, on the same GPU in one call, then
# a profile of this tree's batched forwards: what issue 23 asks a session with a GPU to
# run. BEFORE is a folder holding the earlier tree, made here and carried, e.g.
#   mkdir .before && git archive 0b7dcc0 | tar -x -C .before   # .before is git-ignored
# then, on the GPU machine (carry: [".before"]):
#   bash benchmarks/gpu/before_after.sh .before "$OUT"
# About 6 minutes on an H200 with the defaults below. BUDGET (seconds, default 100) is
# each tree's share of timed runs; PROFILE (rounds, default 3) the profiled rounds.
set -uo pipefail
cd "$(dirname "$0")/../.."
BEFORE=$(cd "${1:?usage: before_after.sh BEFORE_TREE [OUT_DIR]}" && pwd)
OUT_DIR=$(mkdir -p "${2:-${OUT:-.}}" && cd "${2:-${OUT:-.}}" && pwd)
BUDGET=${BUDGET:-100}
PROFILE=${PROFILE:-3}

echo "## before: $BEFORE"
(cd "$BEFORE" && LIMIT=$((BUDGET + 120)) bash benchmarks/gpu/run.sh --tail 0 \
  --budget "$BUDGET" --out "$OUT_DIR/before.json") || echo "## before: exit $?"
echo "## after: $(pwd)"
LIMIT=$((BUDGET + 240)) bash benchmarks/gpu/run.sh --tail 0 --budget "$BUDGET" \
  --profile "$PROFILE" --out "$OUT_DIR/after.json" || echo "## after: exit $?"
