#!/usr/bin/env bash
# Sets up (idempotently), builds and runs kiln's whole test suite (ctest in
# build/): lit (dialect, importer, lowering, e2e vs ONNX Runtime, conformance),
# GoogleTest, and the tests that build trees of their own: the runtime under
# TSan and ASan+UBSan, the whole project under ASan+UBSan
# (scripts/sanitize-all.sh, label `sanitizer`) and the importer fuzzer for
# 120 s (scripts/fuzz.sh, label `fuzz`). `ctest -LE 'sanitizer|fuzz'` in
# build/ runs the rest alone.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${KILN_BUILD_DIR:-$root/build}"
"$root/scripts/setup.sh"
"$root/scripts/build.sh"
cd "$build"
ctest --output-on-failure -j "$(nproc)"
