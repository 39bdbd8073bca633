#!/usr/bin/env bash
# Sets up, builds kiln, compiles the bundled digit classifier
# (examples/mnist/mnist.onnx) to a native object + header, links the plain C
# app in examples/embed/ against it and the runtime, and runs it.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${KILN_BUILD_DIR:-$root/build}"
out="$build/quickstart"
"$root/scripts/setup.sh"
"$root/scripts/build.sh"
mkdir -p "$out"
echo "== kiln compile examples/mnist/mnist.onnx"
"$build/tools/kiln/kiln" compile "$root/examples/mnist/mnist.onnx" \
  -o "$out/mnist.o" --name mnist --timings
echo "== building examples/embed (plain C) against mnist.o + libkiln_runtime.a"
make -s -C "$root/examples/embed" MODEL_DIR="$out" \
  KILN_INCLUDE="$root/runtime/include" KILN_LIB="$build/runtime" \
  OUT="$out/embed"
echo "== running"
"$out/embed" "$root/examples/mnist/input.npy"
[ -f "$root/examples/mnist/expected.txt" ] && cat "$root/examples/mnist/expected.txt"
