#!/usr/bin/env bash
# Sets up (idempotently), builds and runs kiln's whole test suite:
# lit (dialect, importer, lowering, e2e vs ONNX Runtime) and GoogleTest.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${KILN_BUILD_DIR:-$root/build}"
"$root/scripts/setup.sh"
"$root/scripts/build.sh"
cd "$build"
# The importer fuzzer builds a second (clang + ASan) tree; it runs on its own
# with `scripts/fuzz.sh 600` or `ctest -L fuzz`, not in every test run.
ctest --output-on-failure -j "$(nproc)" -LE fuzz
