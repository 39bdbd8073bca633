# lit configuration for kiln. Substitutions:
#   %kiln, %kiln_opt, %kiln_onnx_import, %kiln_costmodel
#                                        kiln's tools from the build tree
#   %python                              the venv python (onnx, onnxruntime, numpy)
#   %kiln_src                            the repository root
#   %mlir_runner, %mlir_runner_libs      upstream mlir-runner and its support libraries
#   %runtime_include, %runtime_lib       the runtime's headers and build directory
#   %kiln_obj_root                       the build tree (test/install installs it)
#   %cmake, %cmake_generator             the CMake and generator of this build
#   %install_libdir                      lib (CMAKE_INSTALL_LIBDIR) under a prefix
# Features: `sanitizer` in a tree built with -DKILN_SANITIZER_FLAGS
# (scripts/sanitize-all.sh: ASan + UBSan).
import os
import lit.formats

config.name = "kiln"
config.test_format = lit.formats.ShTest(execute_external=True)
config.suffixes = [".mlir", ".test"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.kiln_obj_root, "test")
config.excludes = ["lit.cfg.py", "lit.site.cfg.py", "models", "unit", "Inputs"]

def tool(*parts):
    return os.path.join(config.kiln_tools_dir, *parts)

config.substitutions.append(("%kiln_opt", tool("kiln-opt", "kiln-opt")))
config.substitutions.append(("%kiln_costmodel", tool("kiln-costmodel", "kiln-costmodel")))
config.substitutions.append(("%kiln_onnx_import",
                             os.path.join(config.kiln_obj_root, "compiler", "onnx", "kiln-onnx-import")))
config.substitutions.append(("%kiln_src", config.kiln_src_root))
config.substitutions.append(("%kiln_obj_root", config.kiln_obj_root))
config.substitutions.append(("%kiln_test_plugin",
                             os.path.join(config.kiln_obj_root, "test", "Plugins", "KilnTestPlugin.so")))
config.substitutions.append(("%kiln", tool("kiln", "kiln")))
config.substitutions.append(("%python", config.python_executable))
libdir = os.path.join(os.path.dirname(config.llvm_tools_dir), "lib")
config.substitutions.append(("%mlir_runner_libs", ",".join(
    os.path.join(libdir, l) for l in ["libmlir_runner_utils.so", "libmlir_c_runner_utils.so"])))
# After %mlir_runner_libs: lit substitutes in order and one is a prefix.
config.substitutions.append(("%mlir_runner", os.path.join(config.llvm_tools_dir, "mlir-runner")))
config.substitutions.append(("%cmake_generator", config.cmake_generator))
config.substitutions.append(("%cmake", config.cmake_command))
config.substitutions.append(("%install_libdir", config.install_libdir))
config.substitutions.append(("%runtime_include", config.runtime_include_dir))
config.substitutions.append(("%runtime_lib", config.runtime_lib_dir))

# FileCheck, not, count from LLVM.
path = [config.llvm_tools_dir, config.environment.get("PATH", os.environ.get("PATH", ""))]
# In a sanitized tree the runtime libraries are instrumented: tests that
# build C programs against them with `cc`/`c++` (and `kiln compile -o x.so`,
# which links with `cc`) get wrappers that add the tree's sanitizer flags
# (test/CMakeLists.txt writes them).
if getattr(config, "sanitizer_bin_dir", ""):
    path.insert(0, config.sanitizer_bin_dir)
    config.available_features.add("sanitizer")
config.environment["PATH"] = os.pathsep.join(path)
# Host CPU features that tests running generated code need (x86 Linux).
try:
    with open("/proc/cpuinfo") as cpuinfo:
        flags = next((line.split(":", 1)[1].split() for line in cpuinfo
                      if line.startswith("flags")), [])
except OSError:
    flags = []
if "avx512_bf16" in flags:
    config.available_features.add("avx512bf16")
for var in ["HOME", "TMPDIR"]:
    if var in os.environ:
        config.environment[var] = os.environ[var]
