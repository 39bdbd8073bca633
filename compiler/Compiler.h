//===- Compiler.h - the C++ API the kiln tools call ---------------*- C++ -*-===//
//
// Part of kiln. One call compiles an ONNX file into an artifact: an object
// file or shared library plus its C header, or IR at an earlier stage.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_COMPILER_COMPILER_H
#define KILN_COMPILER_COMPILER_H

#include "codegen/cpu/ObjectEmitter.h"
#include "compiler/Pipeline.h"
#include "compiler/onnx/Importer.h"
#include "llvm/Support/raw_ostream.h"
#include <string>

namespace mlir {
class MLIRContext;
namespace kiln {

/// How far to go.
enum class EmitKind {
  ImportedMlir, // the kiln dialect straight from the importer
  Mlir,         // the kiln dialect after the graph passes (every decision)
  LoweredMlir,  // the LLVM dialect, before translation
  LLVM,         // optimized LLVM IR (.ll)
  Object,       // relocatable object (.o) + header
  SharedLibrary // shared library (.so) + header
};

struct CompileOptions {
  std::string inputPath;
  std::string outputPath;
  EmitKind emit = EmitKind::Object;
  /// Symbol prefix (a C identifier); default: the output file's stem.
  std::string name;
  onnx::ImportOptions import;
  CpuTargetOptions target;
  /// Plugin/extension hook called at every insertion point.
  PipelineHook hook;
  /// Weight-only quantization (kiln compile --quantize=w8|w4).
  std::optional<KilnWeightQuantizePassOptions> weightQuantize;
  /// Int8 weights and activations (kiln compile --quantize=w8a8).
  std::optional<KilnW8A8QuantizePassOptions> w8a8Quantize;
  /// Compiler-owned KV cache (kiln compile --max-seq-len=N).
  std::optional<KilnKVLayoutPassOptions> kvLayout;
  /// With kvLayout: a second (prefill) entry, the graph imported again with
  /// the symbolic dim `prefillDim` set to `prefillTokens` (kiln compile
  /// --prefill DIM=N); its weights are shared with the first entry's.
  std::string prefillDim;
  int64_t prefillTokens = 0;
  /// SmoothQuant before w8a8, with calibrated channel maxima (kiln compile
  /// --smoothquant, filled in by calibration).
  std::optional<KilnSmoothQuantPassOptions> smoothQuant;
  /// L-Mul: which products and in which format (kiln compile --lmul=...).
  std::optional<KilnLMulPassOptions> lmul;
  /// Winograd F(2x2)/F(4x4, 3x3) for eligible 3x3 convs (kiln compile
  /// --winograd).
  std::optional<KilnWinogradPassOptions> winograd;
  /// Print the energy estimate (fp32 vs L-Mul scopes) here when set.
  llvm::raw_ostream *energyReport = nullptr;
  /// Print per-stage times to this stream when set.
  llvm::raw_ostream *timings = nullptr;
  /// Work below which a parallel loop stays on one thread (unset: the
  /// codegen default; see kiln-outline-parallel).
  std::optional<int64_t> minParallelWork;
  /// Weight bytes from which a parallel loop is split anyway (unset: the
  /// codegen default; see kiln-outline-parallel).
  std::optional<int64_t> minParallelWeightBytes;
  /// Write the weights to `<output stem>.weights` next to the output
  /// instead of into it (kiln compile --weights=external).
  bool externalWeights = false;
  /// How kernel configurations are chosen (kiln compile --cost-model):
  /// "learned" (the model shipped for the target, else the hand-written
  /// choice), "analytic", "stub", a model file, or "" (hand-written).
  std::string costModel = "learned";
  /// A configuration forced on every kernel, "mr,nr,kc" (collect).
  std::string forceKernelConfig;
  /// Constant-weight matmuls and ungrouped convs in bf16 with f32
  /// accumulation (kiln compile --precision=bf16); the target must have
  /// AVX512_BF16.
  bool bf16 = false;
};

/// What a successful compile wrote.
struct CompileResult {
  std::vector<std::string> files;
  uint64_t workspaceBytes = 0;
};

/// Compiles `options.inputPath`. Errors are reported as MLIR diagnostics
/// (the caller installs a handler) and return failure; nothing aborts.
LogicalResult compileModel(MLIRContext &context, const CompileOptions &options,
                           CompileResult &result);

/// Longest accepted --name (the runtime loader looks up
/// `<name>_descriptor` in a fixed-size buffer).
constexpr size_t kMaxModelNameLength = 128;

/// Default symbol prefix for an output path: its stem as a C identifier.
std::string defaultModelName(StringRef outputPath);

} // namespace kiln
} // namespace mlir

#endif // KILN_COMPILER_COMPILER_H
