#!/usr/bin/env bash
# kiln vs ONNX Runtime vs machine limits, one command (see bench/perf/README.md).
#   bench/perf/run.sh [--quick] [--models a,b] [--threads 1,2] [--out DIR] [--list]
# Uses the repo's .venv (numpy, onnx, onnxruntime) and the kiln binary from
# $KILN, else $KILN_BUILD_DIR/tools/kiln/kiln, else build/tools/kiln/kiln.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
py="${KILN_PYTHON:-$root/.venv/bin/python}"
if [ ! -x "$py" ]; then
  echo "bench/perf: no Python venv at $root/.venv (run scripts/setup.sh, or set KILN_PYTHON)" >&2
  exit 1
fi
export PYTHONDONTWRITEBYTECODE=1
exec "$py" "$root/bench/perf/perf.py" "$@"
