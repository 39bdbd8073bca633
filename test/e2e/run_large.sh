#!/usr/bin/env bash
# Compile, run and check the large models (not lit tests: minutes, ~0.5 GB of
# generated models) and print kiln's and ONNX Runtime's times side by side.
#
# usage: test/e2e/run_large.sh PATH/TO/kiln [WORKDIR]
#   WORKDIR       default ${TMPDIR:-/tmp}/kiln-e2e-large (models cached there)
#   MODELS=...    default "resnet50 bert_base_float" (bert_base adds embeddings)
#   RTOL / ATOL   default 1e-3 / 1e-4: deep models accumulate in a different
#                 order than ORT (ORT itself moves ~4e-6 between optimization
#                 levels on bert_base_float)
#   ORT_THREADS   ORT intra-op threads (default: ORT's own choice)
#   PYTHON        default <repo>/.venv/bin/python
# Extra arguments after WORKDIR go to run_e2e.py (e.g. --compile-arg=--threads=2).
# Exit status: 0 when every model passes.
set -u
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
kiln="${1:?usage: run_large.sh PATH/TO/kiln [WORKDIR] [run_e2e.py args...]}"
work="${2:-${TMPDIR:-/tmp}/kiln-e2e-large}"
shift $(( $# >= 2 ? 2 : 1 ))
py="${PYTHON:-$root/.venv/bin/python}"
models="${MODELS:-resnet50 bert_base_float}"
mkdir -p "$work"

status=0
summary=()
for m in $models; do
  echo "=== $m"
  log="$work/$m.log"
  start=$(date +%s)
  "$py" "$root/test/e2e/run_e2e.py" --model "$m" --kiln "$kiln" --work "$work/$m" \
    --rtol "${RTOL:-1e-3}" --atol "${ATOL:-1e-4}" --ort-repeat 5 \
    --ort-threads "${ORT_THREADS:-0}" "$@" 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  [ "$rc" -eq 0 ] || status=1
  result="$(grep '^RESULT:' "$log" | tail -1)"
  times="$(grep '^times:' "$log" | tail -1)"
  summary+=("$m: ${result:-RESULT: ERROR (exit $rc)} | ${times:-no times} | wall $(( $(date +%s) - start )) s")
done

echo
echo "=== summary (logs in $work)"
printf '%s\n' "${summary[@]}"
exit $status
