#!/usr/bin/env bash
# Builds the runtime alone (runtime/, as an app vendoring it would) with a
# sanitizer and runs its unit tests, among them several contexts used from
# several threads at once (test/unit/runtime/threads_test.cpp).
#
#   scripts/sanitize-runtime.sh [thread|address,undefined] [build-dir]
#
# Default: ThreadSanitizer in build-sanitize-runtime-thread/. Any report
# fails the run. ctest runs it as runtime_tsan (test/CMakeLists.txt).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
san="${1:-thread}"
build="${2:-$root/build-sanitize-runtime-${san//,/-}}"

case "$san" in
  thread|address|undefined|address,undefined|undefined,address) ;;
  *) echo "sanitize-runtime: unknown sanitizer '$san'" >&2; exit 2 ;;
esac

# -ffile-prefix-map and CCACHE_BASEDIR (below): ccache hits across clones
# (with -g and absolute paths it would key on the checkout's path).
flags="-fsanitize=$san -fno-omit-frame-pointer -fno-sanitize-recover=all -g -O1"
flags+=" -ffile-prefix-map=$root/=./"
args=(-S "$root/runtime" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo
      -DKILN_RUNTIME_BUILD_TESTS=ON -DKILN_RUNTIME_INSTALL=OFF
      "-DCMAKE_C_FLAGS=$flags" "-DCMAKE_CXX_FLAGS=$flags"
      "-DCMAKE_EXE_LINKER_FLAGS=-fsanitize=$san"
      "-DCMAKE_SHARED_LINKER_FLAGS=-fsanitize=$san"
      "-DCMAKE_MODULE_LINKER_FLAGS=-fsanitize=$san")
command -v ninja >/dev/null && args+=(-G Ninja)
if command -v ccache >/dev/null; then
  args+=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
if [ ! -f "$build/CMakeCache.txt" ]; then
  mkdir -p "$build"
  cmake "${args[@]}" > "$build/configure.log" 2>&1 ||
    { cat "$build/configure.log" >&2; exit 1; }
fi
CCACHE_BASEDIR="$root" cmake --build "$build" --target kiln_runtime_tests kiln_runtime_c_smoke

export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 ${TSAN_OPTIONS:-}"
export ASAN_OPTIONS="detect_leaks=1 ${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="print_stacktrace=1 halt_on_error=1 ${UBSAN_OPTIONS:-}"
tests="$build/test/unit/runtime"
echo "== $san: kiln_runtime_tests"
"$tests/kiln_runtime_tests" --gtest_brief=1
echo "== $san: kiln_runtime_c_smoke"
"$tests/kiln_runtime_c_smoke"
echo "sanitize-runtime: $san ok"
