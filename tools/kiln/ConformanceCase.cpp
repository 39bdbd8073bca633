//===- ConformanceCase.cpp - compile, run and check one test case ---------===//
//
// Part of kiln. The child side of `kiln conformance`: one ONNX backend test
// case, in this process.
//
//===----------------------------------------------------------------------===//

#include "tools/kiln/Conformance.h"

#include "tools/kiln/ModelRunner.h"
#include "tools/kiln/Npy.h"

#include "compiler/Compiler.h"
#include "compiler/Registration.h"
#include "compiler/onnx/HalfFloat.h"
#include "compiler/onnx/TensorFile.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/ADT/APFloat.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Regex.h"

#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <map>
#include <thread>

using namespace llvm;
using namespace kiln;
using namespace kiln::conformance;
namespace konnx = mlir::kiln::onnx;

namespace {

/// Longest message kept in a result (compiler diagnostics can be long).
constexpr size_t kMaxMessage = 2000;

std::string clip(std::string s) {
  if (s.size() > kMaxMessage)
    s = s.substr(0, kMaxMessage) + "...";
  return s;
}

bool tracing = false;

void phase(const Twine &what) {
  if (!tracing)
    return;
  errs() << "kiln conformance: " << what << "\n";
  errs().flush();
}

double secondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
      .count();
}

/// kiln_dtype of an ONNX data type, KILN_DTYPE_INVALID when kiln has none.
int32_t kilnDtypeOf(int32_t onnxType) {
  switch (onnxType) {
  case 1:
    return KILN_DTYPE_F32; // FLOAT
  case 2:
    return KILN_DTYPE_U8; // UINT8
  case 3:
    return KILN_DTYPE_I8; // INT8
  case 4:
    return KILN_DTYPE_U16; // UINT16
  case 5:
    return KILN_DTYPE_I16; // INT16
  case 6:
    return KILN_DTYPE_I32; // INT32
  case 7:
    return KILN_DTYPE_I64; // INT64
  case 9:
    return KILN_DTYPE_BOOL; // BOOL
  case 10:
    return KILN_DTYPE_F16; // FLOAT16
  case 11:
    return KILN_DTYPE_F64; // DOUBLE
  case 12:
    return KILN_DTYPE_U32; // UINT32
  case 13:
    return KILN_DTYPE_U64; // UINT64
  case 16:
    return KILN_DTYPE_BF16; // BFLOAT16
  case 17:
    return KILN_DTYPE_F8E4M3FN; // FLOAT8E4M3FN
  case 18:
    return KILN_DTYPE_F8E4M3FNUZ; // FLOAT8E4M3FNUZ
  case 19:
    return KILN_DTYPE_F8E5M2; // FLOAT8E5M2
  case 20:
    return KILN_DTYPE_F8E5M2FNUZ; // FLOAT8E5M2FNUZ
  case 21:
    return KILN_DTYPE_U4; // UINT4
  case 22:
    return KILN_DTYPE_I4; // INT4
  case 23:
    return KILN_DTYPE_F4E2M1; // FLOAT4E2M1
  case 24:
    return KILN_DTYPE_F8E8M0; // FLOAT8E8M0
  case 25:
    return KILN_DTYPE_U2; // UINT2
  case 26:
    return KILN_DTYPE_I2; // INT2
  default:
    return KILN_DTYPE_INVALID;
  }
}

/// "float32[2x3]" (kiln's dtype names; ONNX's for types kiln lacks).
std::string describeTensor(const konnx::TensorData &t) {
  int32_t dtype = kilnDtypeOf(t.dataType);
  std::string name = dtype != KILN_DTYPE_INVALID
                         ? std::string(kiln_dtype_name(dtype))
                         : konnx::tensorDataTypeName(t.dataType);
  return name + "[" + shapeToString(t.shape) + "]";
}

/// Element `i` of a float buffer of kiln dtype `dtype` as double.
/// The value of an 8- or 4-bit float (one element per byte, low bits).
double smallFloatAt(int32_t dtype, uint8_t bits) {
  const fltSemantics *sem = nullptr;
  unsigned width = 8;
  switch (dtype) {
  case KILN_DTYPE_F8E4M3FN:
    sem = &APFloat::Float8E4M3FN();
    break;
  case KILN_DTYPE_F8E4M3FNUZ:
    sem = &APFloat::Float8E4M3FNUZ();
    break;
  case KILN_DTYPE_F8E5M2:
    sem = &APFloat::Float8E5M2();
    break;
  case KILN_DTYPE_F8E5M2FNUZ:
    sem = &APFloat::Float8E5M2FNUZ();
    break;
  case KILN_DTYPE_F8E8M0:
    sem = &APFloat::Float8E8M0FNU();
    break;
  default:
    sem = &APFloat::Float4E2M1FN();
    width = 4;
    bits &= 0xf;
    break;
  }
  APFloat f(*sem, APInt(width, bits));
  bool lost;
  f.convert(APFloat::IEEEdouble(), APFloat::rmNearestTiesToEven, &lost);
  return f.convertToDouble();
}

double floatAt(int32_t dtype, const char *data, int64_t i) {
  switch (dtype) {
  case KILN_DTYPE_F8E4M3FN:
  case KILN_DTYPE_F8E4M3FNUZ:
  case KILN_DTYPE_F8E5M2:
  case KILN_DTYPE_F8E5M2FNUZ:
  case KILN_DTYPE_F8E8M0:
  case KILN_DTYPE_F4E2M1:
    return smallFloatAt(dtype, uint8_t(data[i]));
  case KILN_DTYPE_F32: {
    float f;
    std::memcpy(&f, data + 4 * i, 4);
    return f;
  }
  case KILN_DTYPE_F64: {
    double d;
    std::memcpy(&d, data + 8 * i, 8);
    return d;
  }
  default: {
    uint16_t u;
    std::memcpy(&u, data + 2 * i, 2);
    return dtype == KILN_DTYPE_F16 ? konnx::halfToFloat(u)
                                   : konnx::bf16ToFloat(u);
  }
  }
}

/// Element `i` of an integer or bool buffer as int64.
int64_t intAt(int32_t dtype, const char *data, int64_t i) {
  switch (dtype) {
  case KILN_DTYPE_I8:
    return int8_t(data[i]);
  case KILN_DTYPE_U8:
    return uint8_t(data[i]);
  case KILN_DTYPE_BOOL:
    return data[i] != 0;
  case KILN_DTYPE_I4:
  case KILN_DTYPE_I2: {
    // One element per byte, in the low bits; the high bits are unspecified.
    unsigned bits = dtype == KILN_DTYPE_I4 ? 4 : 2;
    int64_t v = uint8_t(data[i]) & ((1u << bits) - 1);
    return v >= (int64_t(1) << (bits - 1)) ? v - (int64_t(1) << bits) : v;
  }
  case KILN_DTYPE_U4:
    return uint8_t(data[i]) & 0xf;
  case KILN_DTYPE_U2:
    return uint8_t(data[i]) & 0x3;
  case KILN_DTYPE_I16: {
    int16_t v;
    std::memcpy(&v, data + 2 * i, 2);
    return v;
  }
  case KILN_DTYPE_U16: {
    uint16_t v;
    std::memcpy(&v, data + 2 * i, 2);
    return v;
  }
  case KILN_DTYPE_I32: {
    int32_t v;
    std::memcpy(&v, data + 4 * i, 4);
    return v;
  }
  case KILN_DTYPE_U32: {
    uint32_t v;
    std::memcpy(&v, data + 4 * i, 4);
    return v;
  }
  default: {
    int64_t v;
    std::memcpy(&v, data + 8 * i, 8);
    return v;
  }
  }
}

/// Whether a compiled model's `kilnDtype` buffer holds ONNX `onnxType`
/// elements.
bool sameElementType(int32_t onnxType, int32_t kilnDtype) {
  return kilnDtype != KILN_DTYPE_INVALID && kilnDtypeOf(onnxType) == kilnDtype;
}

bool isFloatDtype(int32_t d) {
  return d == KILN_DTYPE_F32 || d == KILN_DTYPE_F64 || d == KILN_DTYPE_F16 ||
         d == KILN_DTYPE_BF16 || d == KILN_DTYPE_F8E4M3FN ||
         d == KILN_DTYPE_F8E4M3FNUZ || d == KILN_DTYPE_F8E5M2 ||
         d == KILN_DTYPE_F8E5M2FNUZ || d == KILN_DTYPE_F4E2M1 ||
         d == KILN_DTYPE_F8E8M0;
}

/// "[1, 0, 2]" for flat index `i` of `shape`.
std::string indexText(ArrayRef<int64_t> shape, int64_t i) {
  SmallVector<int64_t> idx(shape.size());
  for (int64_t d = int64_t(shape.size()) - 1; d >= 0; --d) {
    idx[d] = shape[d] ? i % shape[d] : 0;
    i = shape[d] ? i / shape[d] : 0;
  }
  std::string s = "[";
  for (auto [k, v] : llvm::enumerate(idx))
    s += (k ? ", " : "") + std::to_string(v);
  return s + "]";
}

struct ErrorStats {
  double maxAbs = 0, maxRel = 0;
  bool any = false;
};

/// The range of a 2- or 4-bit integer kiln dtype; nullopt for others.
std::optional<std::pair<double, double>> narrowIntRange(int32_t dtype) {
  switch (dtype) {
  case KILN_DTYPE_I4:
    return std::make_pair(-8.0, 7.0);
  case KILN_DTYPE_U4:
    return std::make_pair(0.0, 15.0);
  case KILN_DTYPE_I2:
    return std::make_pair(-2.0, 1.0);
  case KILN_DTYPE_U2:
    return std::make_pair(0.0, 3.0);
  default:
    return std::nullopt;
  }
}

/// The output elements whose expected value ONNX leaves undefined, for a
/// model that only casts (Cast, CastLike) a float input to a 2- or 4-bit
/// integer output: the spec says float to fixed point is "undefined if
/// OOR", and the generated expectations for those elements change with the
/// ml_dtypes the generator ran on (0.7 gives 0, earlier releases wrapped
/// around). Empty when every element is defined.
std::vector<bool> undefinedCastElements(const konnx::ModelInfo &model,
                                        const konnx::TensorData &input,
                                        const kiln_tensor_info &output) {
  auto range = narrowIntRange(output.dtype);
  int32_t inType = kilnDtypeOf(input.dataType);
  bool onlyCasts = !model.nodes.empty() &&
                   llvm::all_of(model.nodes, [](const konnx::NodeInfo &n) {
                     return n.domain.empty() &&
                            (n.opType == "Cast" || n.opType == "CastLike");
                   });
  int64_t n = input.numElements(), outputElements = 1;
  for (int32_t d = 0; d < output.rank; ++d)
    outputElements *= output.dims[d];
  if (!range || !onlyCasts || !isFloatDtype(inType) || outputElements != n)
    return {};
  std::vector<bool> undefined(n);
  for (int64_t i = 0; i < n; ++i) {
    double v = floatAt(inType, input.bytes.data(), i);
    undefined[i] = !(v >= range->first && v <= range->second);
  }
  return undefined;
}

/// Compares one output; returns "" when it matches, else what differs.
/// Elements marked in `undefined` are not compared.
std::string compareOutput(const konnx::TensorData &expected,
                          const kiln_tensor_info &info, const void *actualPtr,
                          Tolerance tol, ErrorStats &stats,
                          const std::vector<bool> &undefined = {}) {
  std::string name = info.name;
  int32_t dtype = info.dtype;
  ArrayRef<int64_t> shape(info.dims, info.rank);
  if (!sameElementType(expected.dataType, dtype) ||
      shape != ArrayRef<int64_t>(expected.shape))
    return "output '" + name + "' is " + describe(info) + ", expected " +
           describeTensor(expected);
  const char *actual = static_cast<const char *>(actualPtr);
  const char *want = expected.bytes.data();
  int64_t n = expected.numElements();
  int64_t mismatches = 0, first = -1;
  std::string firstText;
  if (isFloatDtype(dtype)) {
    // The ONNX runner allows two bfloat16 ULPs.
    double rtol =
        dtype == KILN_DTYPE_BF16 ? std::max(tol.rtol, 1.0 / 64) : tol.rtol;
    for (int64_t i = 0; i < n; ++i) {
      double a = floatAt(dtype, actual, i), e = floatAt(dtype, want, i);
      bool ok;
      if (std::isnan(e) || std::isnan(a)) {
        ok = std::isnan(e) && std::isnan(a);
      } else if (std::isinf(e) || std::isinf(a)) {
        ok = a == e;
      } else {
        double abs = std::fabs(a - e);
        double rel = e != 0 ? abs / std::fabs(e) : (abs != 0 ? INFINITY : 0);
        ok = abs <= tol.atol + rtol * std::fabs(e);
        if (!ok) {
          stats.any = true;
          stats.maxAbs = std::max(stats.maxAbs, abs);
          stats.maxRel = std::max(stats.maxRel, rel);
        }
      }
      if (!ok && mismatches++ == 0) {
        first = i;
        firstText =
            llvm::formatv("got {0}, expected {1}", llvm::format("%.9g", a),
                          llvm::format("%.9g", e))
                .str();
      }
    }
  } else {
    for (int64_t i = 0; i < n; ++i) {
      if (!undefined.empty() && undefined[i])
        continue;
      int64_t a = intAt(dtype, actual, i), e = intAt(dtype, want, i);
      if (a != e && mismatches++ == 0) {
        first = i;
        firstText =
            "got " + std::to_string(a) + ", expected " + std::to_string(e);
      }
    }
  }
  if (!mismatches)
    return "";
  return "output '" + name + "': " + std::to_string(mismatches) + " of " +
         std::to_string(n) + " elements differ; first at " +
         indexText(shape, first) + ": " + firstText;
}

/// Data sets of a case, in numeric order.
std::vector<std::string> dataSets(StringRef caseDir) {
  std::vector<std::pair<int, std::string>> sets;
  std::error_code ec;
  for (sys::fs::directory_iterator it(caseDir, ec), end; it != end && !ec;
       it.increment(ec)) {
    StringRef base = sys::path::filename(it->path());
    int n;
    if (base.consume_front("test_data_set_") && !base.getAsInteger(10, n))
      sets.emplace_back(n, it->path());
  }
  llvm::sort(sets);
  std::vector<std::string> out;
  for (auto &s : sets)
    out.push_back(s.second);
  return out;
}

/// `prefix_<i>.pb` files of a data set, i = 0, 1, ... while they exist.
std::vector<std::string> numberedFiles(StringRef dir, StringRef prefix) {
  std::vector<std::string> files;
  for (int i = 0;; ++i) {
    SmallString<256> p(dir);
    sys::path::append(p, prefix + "_" + Twine(i) + ".pb");
    if (!sys::fs::exists(p))
      break;
    files.push_back(p.str().str());
  }
  return files;
}

Tolerance readTolerance(StringRef caseDir) {
  Tolerance tol;
  SmallString<256> p(caseDir);
  sys::path::append(p, "data.json");
  auto buffer = MemoryBuffer::getFile(p);
  if (!buffer)
    return tol;
  nlohmann::json j =
      nlohmann::json::parse((*buffer)->getBuffer().str(), nullptr, false);
  if (j.is_object()) {
    if (j.contains("rtol") && j["rtol"].is_number())
      tol.rtol = j["rtol"].get<double>();
    if (j.contains("atol") && j["atol"].is_number())
      tol.atol = j["atol"].get<double>();
  }
  return tol;
}

/// Compiles `model` to the shared library `so`; on failure returns false
/// with the compiler's error diagnostics in `diagnostics`.
bool compileToSharedLibrary(StringRef model, StringRef so, unsigned optLevel,
                            std::string &diagnostics) {
  mlir::kiln::CompileOptions compile;
  compile.inputPath = model.str();
  compile.outputPath = so.str();
  compile.emit = mlir::kiln::EmitKind::SharedLibrary;
  compile.name = "model";
  compile.target.optLevel = std::min(3u, optLevel);
  mlir::DialectRegistry registry;
  mlir::kiln::registerAllDialects(registry);
  // One case per process and many processes: no thread pool here.
  mlir::MLIRContext context(registry, mlir::MLIRContext::Threading::DISABLED);
  context.loadAllAvailableDialects();
  context.printOpOnDiagnostic(false);
  mlir::ScopedDiagnosticHandler handler(&context, [&](mlir::Diagnostic &diag) {
    if (diag.getSeverity() != mlir::DiagnosticSeverity::Error)
      return mlir::success();
    if (!diagnostics.empty())
      diagnostics += "\n";
    diagnostics += diag.str();
    for (mlir::Diagnostic &note : diag.getNotes())
      diagnostics += "\n  note: " + note.str();
    return mlir::success();
  });
  mlir::kiln::CompileResult compiled;
  if (mlir::succeeded(mlir::kiln::compileModel(context, compile, compiled)))
    return true;
  if (diagnostics.empty())
    diagnostics = "compile failed";
  return false;
}

/// Graph inputs that the diagnostics say must be compile-time constants
/// ("the axes input ('axes') must be a compile-time constant") and that are
/// not bound yet.
std::vector<std::string>
inputsNeededAsConstants(StringRef diagnostics, const konnx::ModelInfo &info,
                        const std::vector<konnx::TensorData> &bound) {
  std::vector<std::string> names;
  // "('NAME') must be a compile-time constant", optionally followed by
  // "(it is computed from graph input(s) 'A', 'B')" when NAME is derived.
  static const Regex pattern("\\('([^']+)'\\) must be a compile-time constant");
  static const Regex derived("computed from graph inputs? ('[^)]*)\\)");
  SmallVector<StringRef> lines;
  diagnostics.split(lines, '\n');
  auto add = [&](StringRef nameRef) {
    std::string name = nameRef.str();
    bool isInput = llvm::is_contained(info.inputs, name);
    bool isBound = llvm::any_of(
        bound, [&](const konnx::TensorData &t) { return t.name == name; });
    if (isInput && !isBound && !llvm::is_contained(names, name))
      names.push_back(name);
  };
  for (StringRef line : lines) {
    SmallVector<StringRef, 2> match;
    if (!pattern.match(line, &match))
      continue;
    add(match[1]);
    SmallVector<StringRef, 2> from;
    if (!derived.match(line, &from))
      continue;
    SmallVector<StringRef> quoted;
    from[1].split(quoted, ", ");
    for (StringRef q : quoted)
      add(q.trim("'"));
  }
  return names;
}

} // namespace

CaseResult kiln::conformance::runCase(StringRef caseDir,
                                      const CaseOptions &options) {
  auto start = std::chrono::steady_clock::now();
  tracing = options.tracePhases;
  CaseResult r;
  r.name =
      sys::path::filename(sys::path::remove_leading_dotslash(caseDir)).str();
  auto finish = [&](Outcome outcome, std::string message = {}) {
    r.outcome = outcome;
    r.message = clip(std::move(message));
    r.seconds = secondsSince(start);
    return r;
  };

  SmallString<256> modelPath(caseDir);
  sys::path::append(modelPath, "model.onnx");
  konnx::ModelInfo info;
  std::string error;
  if (!konnx::readModelInfo(modelPath, info, error))
    return finish(Outcome::CompileError, error);
  r.ops = distinctOps(info);
  std::string excluded = trainingExclusion(info);
  if (!excluded.empty())
    return finish(Outcome::Excluded, excluded);
  std::vector<konnx::UnsupportedOp> unsupported =
      konnx::findUnsupportedOps(info);
  if (!unsupported.empty()) {
    std::string message = "unsupported op";
    message += unsupported.size() > 1 ? "s: " : ": ";
    for (auto [i, u] : llvm::enumerate(unsupported)) {
      r.unsupportedOps.push_back(u.op);
      message += (i ? ", " : "") + u.op + " (node '" + u.firstNode + "')";
    }
    return finish(Outcome::UnsupportedOp, message);
  }

  // Compile to a shared library. When the compiler needs a graph input's
  // value at compile time (a Reshape's shape, a reduction's axes), bind it
  // to the first data set's value and compile again.
  if (std::error_code ec = sys::fs::create_directories(options.workDir))
    return finish(Outcome::CompileError,
                  "cannot create '" + options.workDir + "': " + ec.message());
  SmallString<256> soPath(options.workDir), boundPath(options.workDir);
  sys::path::append(soPath, "model.so");
  sys::path::append(boundPath, "model.bound.onnx");
  std::vector<std::string> sets = dataSets(caseDir);
  std::vector<konnx::TensorData> bound;
  auto compileStart = std::chrono::steady_clock::now();
  for (;;) {
    StringRef source = bound.empty() ? modelPath.str() : boundPath.str();
    phase("compile " + source);
    std::string diagnostics;
    if (compileToSharedLibrary(source, soPath, options.optLevel, diagnostics))
      break;
    std::vector<std::string> names =
        options.bindConstantInputs
            ? inputsNeededAsConstants(diagnostics, info, bound)
            : std::vector<std::string>();
    if (names.empty() || sets.empty()) {
      r.compileSeconds = secondsSince(compileStart);
      return finish(Outcome::CompileError, diagnostics);
    }
    for (const std::string &name : names) {
      size_t j = llvm::find(info.allInputs, name) - info.allInputs.begin();
      SmallString<256> file(sets.front());
      sys::path::append(file, "input_" + Twine(j) + ".pb");
      konnx::TensorData t;
      if (!konnx::readTensorFile(file, t, error))
        return finish(Outcome::RuntimeError, error);
      t.name = name;
      bound.push_back(std::move(t));
      r.constantInputs.push_back(name);
    }
    if (!konnx::writeModelWithConstantInputs(modelPath, boundPath, bound,
                                             error))
      return finish(Outcome::CompileError, error);
  }
  r.compileSeconds = secondsSince(compileStart);

  // Test hook (test/conformance/runner.test): a child that crashes or hangs.
  if (const char *hook = std::getenv("KILN_CONFORMANCE_TEST_HOOK")) {
    StringRef h(hook);
    if (h == "crash:" + r.name) {
      phase("load " + soPath);
      std::raise(SIGSEGV);
    }
    if (h == "hang:" + r.name) {
      phase("load " + soPath);
      for (;;)
        std::this_thread::sleep_for(std::chrono::seconds(1));
    }
  }

  // Load, feed every data set, compare.
  phase("load " + soPath);
  ModelRunner runner;
  if (!runner.load(soPath, /*threads=*/1, error))
    return finish(Outcome::RuntimeError, "load: " + error);
  const kiln_entry_desc &entry = runner.entry();
  Tolerance tol = readTolerance(caseDir);
  if (sets.empty())
    return finish(Outcome::RuntimeError, "the case has no test_data_set_*");
  ErrorStats stats;
  std::string mismatch;
  auto runStart = std::chrono::steady_clock::now();
  for (const std::string &set : sets) {
    StringRef setName = sys::path::filename(set);
    std::vector<std::string> inputs = numberedFiles(set, "input");
    std::vector<bool> fed(entry.num_inputs, false);
    std::optional<konnx::TensorData> firstInput;
    for (auto [j, file] : llvm::enumerate(inputs)) {
      konnx::TensorData t;
      if (!konnx::readTensorFile(file, t, error))
        return finish(Outcome::RuntimeError, error);
      if (j == 0)
        firstInput = t;
      std::string name = j < info.allInputs.size() ? info.allInputs[j] : t.name;
      auto boundIt = llvm::find_if(
          bound, [&](const konnx::TensorData &b) { return b.name == name; });
      if (boundIt != bound.end()) {
        if (boundIt->bytes != t.bytes || boundIt->shape != t.shape)
          return finish(Outcome::CompileError,
                        "input '" + name +
                            "' must be a compile-time "
                            "constant, and " +
                            setName.str() + " gives it another value than " +
                            sys::path::filename(sets.front()).str());
        continue;
      }
      int32_t index;
      if (kiln_model_find_input(&runner.descriptor(), name.c_str(), &index) !=
          KILN_OK)
        continue; // an input the compiled model dropped (unused)
      const kiln_tensor_info &in = entry.inputs[index];
      if (!sameElementType(t.dataType, in.dtype) ||
          ArrayRef<int64_t>(in.dims, in.rank) != ArrayRef<int64_t>(t.shape))
        return finish(Outcome::WrongResult,
                      std::string("input '") + in.name +
                          "': the compiled model takes " + describe(in) +
                          ", the test data is " + describeTensor(t));
      // memcpy's pointers must not be null even for 0 bytes, and an empty
      // tensor's are (CastLike's zero-element "like" input).
      if (!t.bytes.empty())
        std::memcpy(runner.input(index), t.bytes.data(), t.bytes.size());
      fed[index] = true;
    }
    for (int32_t i = 0; i < entry.num_inputs; ++i)
      if (!fed[i])
        return finish(Outcome::WrongResult,
                      std::string("the compiled model has input '") +
                          entry.inputs[i].name +
                          "' that the test data does not give");
    phase("run " + set);
    if (!runner.run(error))
      return finish(Outcome::RuntimeError, "run: " + error);
    std::vector<std::string> outputs = numberedFiles(set, "output");
    for (auto [j, file] : llvm::enumerate(outputs)) {
      konnx::TensorData t;
      if (!konnx::readTensorFile(file, t, error))
        return finish(Outcome::RuntimeError, error);
      std::string name = j < info.outputs.size() ? info.outputs[j] : t.name;
      int32_t index;
      if (kiln_model_find_output(&runner.descriptor(), name.c_str(), &index) !=
          KILN_OK)
        return finish(Outcome::WrongResult,
                      "the compiled model has no output '" + name + "'");
      std::vector<bool> undefined;
      if (firstInput)
        undefined =
            undefinedCastElements(info, *firstInput, entry.outputs[index]);
      std::string diff = compareOutput(
          t, entry.outputs[index], runner.output(index), tol, stats, undefined);
      if (!diff.empty() && mismatch.empty())
        mismatch = (sets.size() > 1 ? setName.str() + ": " : "") + diff;
    }
  }
  r.runSeconds = secondsSince(runStart);
  if (stats.any) {
    r.maxAbsError = stats.maxAbs;
    r.maxRelError = stats.maxRel;
  }
  if (!mismatch.empty()) {
    if (stats.any)
      mismatch += llvm::formatv(" (max abs err {0}, max rel err {1}; rtol "
                                "{2}, atol {3})",
                                llvm::format("%.3g", stats.maxAbs),
                                llvm::format("%.3g", stats.maxRel),
                                llvm::format("%g", tol.rtol),
                                llvm::format("%g", tol.atol))
                      .str();
    return finish(Outcome::WrongResult, mismatch);
  }
  return finish(Outcome::Pass);
}
