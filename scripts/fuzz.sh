#!/usr/bin/env bash
# Fuzzes the ONNX importer for a bounded time: builds test/fuzz's libFuzzer
# target with clang (ASan + UBSan) in its own tree, replays the kept crash
# inputs (test/fuzz/regressions/), then fuzzes a corpus seeded with kiln's
# test models. Exits non-zero on any finding; the input that caused it is
# left in <build>/fuzz-artifacts/ (copy it to test/fuzz/regressions/ with
# the fix).
#
#   scripts/fuzz.sh [SECONDS]       default 60
#
# Environment: KILN_FUZZ_BUILD_DIR (default build-fuzz), KILN_FUZZ_CC and
# KILN_FUZZ_CXX (default clang-22/clang++-22, else clang/clang++),
# KILN_FUZZ_JOBS (parallel fuzzing processes, default 1).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
seconds="${1:-60}"
build="${KILN_FUZZ_BUILD_DIR:-$root/build-fuzz}"
jobs="${KILN_FUZZ_JOBS:-1}"
python="$root/.venv/bin/python"

cc="${KILN_FUZZ_CC:-}"
cxx="${KILN_FUZZ_CXX:-}"
if [ -z "$cxx" ]; then
  for v in clang++-22 clang++; do
    if command -v "$v" >/dev/null; then cxx="$v"; break; fi
  done
  cc="${cxx/clang++/clang}"
fi
if [ -z "$cxx" ] || ! echo 'extern "C" int LLVMFuzzerTestOneInput(const char *, unsigned long) { return 0; }' |
     "$cxx" -x c++ -fsanitize=fuzzer -o /dev/null - 2>/dev/null; then
  echo "fuzz: no clang with libFuzzer found (scripts/setup.sh installs clang-22 and libclang-rt-22-dev)" >&2
  exit 1
fi

# -gline-tables-only: file:line in reports at a fraction of -g's build
# cost. -ffile-prefix-map: objects independent of the checkout's path, so
# ccache (the top-level CMakeLists.txt sets it as the compiler launcher)
# hits across clones; with -g and no prefix map ccache hashes the working
# directory and a fresh clone rebuilds everything. (ccache keys on paths
# relative to the checkout: a tree hits the entries of trees at the same
# place in other clones, build/test/fuzz-build for ctest and CI.)
flags="-gline-tables-only -ffile-prefix-map=$root/=./ -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize=vptr -fno-sanitize-recover=undefined"
# A tree configured with other flags (an older version of this script) is
# configured afresh.
if [ -f "$build/CMakeCache.txt" ] &&
   [ "$(cat "$build/kiln-fuzz-flags" 2>/dev/null)" != "$cc $cxx $flags" ]; then
  rm -f "$build/CMakeCache.txt"
fi
if [ ! -f "$build/CMakeCache.txt" ]; then
  mkdir -p "$build"
  args=(-S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo
        "-DCMAKE_C_COMPILER=$cc" "-DCMAKE_CXX_COMPILER=$cxx"
        "-DCMAKE_C_FLAGS=$flags" "-DCMAKE_CXX_FLAGS=$flags"
        "-DCMAKE_C_FLAGS_RELWITHDEBINFO=-O1 -DNDEBUG"
        "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -DNDEBUG"
        "-DCMAKE_EXE_LINKER_FLAGS=-fsanitize=address,undefined"
        "-DCMAKE_SHARED_LINKER_FLAGS=-fsanitize=address,undefined"
        -DKILN_BUILD_FUZZERS=ON "-DKILN_PYTHON=$python")
  command -v ninja >/dev/null && args+=(-G Ninja)
  cmake "${args[@]}" > "$build/configure.log" 2>&1 ||
    { cat "$build/configure.log" >&2; exit 1; }
  echo "$cc $cxx $flags" > "$build/kiln-fuzz-flags"
fi
start=$SECONDS
cmake --build "$build" --target kiln-onnx-fuzz
echo "== fuzz: fuzzer built in $((SECONDS - start)) s"
fuzzer="$build/test/fuzz/kiln-onnx-fuzz"

# Seeds: small committed models, the importer's test models and the kept
# regressions. The corpus grows across runs in the build tree.
seeds="$build/fuzz-seeds"
corpus="$build/fuzz-corpus"
artifacts="$build/fuzz-artifacts"
rm -rf "$seeds"
mkdir -p "$seeds" "$corpus" "$artifacts"
cp "$root/examples/mnist/mnist.onnx" "$seeds/"
if "$python" -c "import onnx" 2>/dev/null; then
  for name in $("$python" "$root/test/onnx/models/gen.py" --list | awk '{print $1}'); do
    "$python" "$root/test/onnx/models/gen.py" "$name" "$seeds/$name.onnx" >/dev/null 2>&1 || true
  done
  find "$seeds" -type f ! -name '*.onnx' -delete
fi
# A dictionary of the op types and attribute names the importer handles,
# taken from its sources, so mutations reach the op handlers.
dict="$build/onnx.dict"
{
  grep -ohE 'map\["[A-Za-z]+"\]' "$root"/compiler/onnx/*.cpp |
    sed -E 's/map\["([A-Za-z]+)"\]/\1/'
  grep -ohE '(getAttr|attr[A-Za-z]*|[a-z]+Attr[A-Za-z]*)\("[a-z_]+"' "$root"/compiler/onnx/*.cpp |
    sed -E 's/.*\("([a-z_]+)"/\1/'
} | sort -u | sed 's/.*/"&"/' > "$dict"

regressions="$root/test/fuzz/regressions"
# allow_user_poisoning=0: LLVM's inline BumpPtrAllocator poisons slabs from
# instrumented code that uninstrumented libMLIR then hands out without
# unpoisoning (a false use-after-poison; scripts/sanitize-all.sh explains).
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:allow_user_poisoning=0:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}"

dirs=("$corpus" "$seeds")
if compgen -G "$regressions/*" >/dev/null; then
  echo "== fuzz: replaying $(ls "$regressions" | wc -l) kept inputs"
  "$fuzzer" "$regressions"/* > "$build/fuzz-replay.log" 2>&1 ||
    { tail -n 60 "$build/fuzz-replay.log" >&2; echo "fuzz: a kept input fails again" >&2; exit 1; }
  dirs+=("$regressions")
fi

echo "== fuzz: $seconds s on $(ls "$seeds" | wc -l) seeds ($cxx)"
parallel=()
[ "$jobs" -gt 1 ] && parallel=(-jobs="$jobs" -workers="$jobs")
set +e
"$fuzzer" "${dirs[@]}" -dict="$dict" -max_total_time="$seconds" -timeout=20 \
  -rss_limit_mb=4096 -max_len=131072 -print_final_stats=1 \
  -artifact_prefix="$artifacts/" "${parallel[@]}" > "$build/fuzz.log" 2>&1
status=$?
set -e
grep -E '^#[0-9]+.*(INITED|DONE)' "$build/fuzz.log" | tail -n 2 || true
grep -E '^stat::' "$build/fuzz.log" || true
if [ "$status" -ne 0 ]; then
  tail -n 80 "$build/fuzz.log" >&2
  echo "fuzz: FINDING (exit $status); the input is in $artifacts:" >&2
  ls -la "$artifacts" >&2
  exit 1
fi
echo "fuzz: ok, no findings in $seconds s (log: $build/fuzz.log)"
