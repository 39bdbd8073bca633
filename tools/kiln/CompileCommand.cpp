//===- CompileCommand.cpp - kiln compile ----------------------------------===//
//
// Part of kiln.
//
//===----------------------------------------------------------------------===//

#include "tools/kiln/Commands.h"
#include "tools/kiln/Calibrate.h"
#include "tools/kiln/LMulLatency.h"
#include "tools/kiln/TempDir.h"

#include "compiler/Compiler.h"
#include "compiler/Plugins.h"
#include "compiler/Registration.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

using namespace llvm;
using namespace mlir::kiln;

cl::SubCommand kiln::compileCommand(
    "compile", "Compile an ONNX model into a native object or shared library "
               "plus a C header");

namespace {
cl::OptionCategory category("kiln compile options");

cl::opt<std::string> input(cl::Positional, cl::Required,
                           cl::desc("<model.onnx>"),
                           cl::sub(kiln::compileCommand), cl::cat(category));
cl::opt<std::string> output(
    "o", cl::Required,
    cl::desc("Output path: .o (object + .h), .so (shared library + .h), "
             ".mlir or .ll"),
    cl::value_desc("path"), cl::sub(kiln::compileCommand), cl::cat(category));

enum class Emit { Auto, Import, Mlir, Lowered, LLVM, Obj, So };
cl::opt<Emit> emit(
    "emit", cl::desc("Stage to stop at (default: from the output's extension)"),
    cl::values(
        clEnumValN(Emit::Import, "mlir-import", "kiln dialect as imported"),
        clEnumValN(Emit::Mlir, "mlir",
                   "kiln dialect after graph passes (every decision made)"),
        clEnumValN(Emit::Lowered, "mlir-llvm", "LLVM dialect after codegen"),
        clEnumValN(Emit::LLVM, "llvm", "optimized LLVM IR"),
        clEnumValN(Emit::Obj, "obj", "relocatable object + C header"),
        clEnumValN(Emit::So, "so", "shared library + C header")),
    cl::init(Emit::Auto), cl::sub(kiln::compileCommand), cl::cat(category));

cl::opt<std::string>
    name("name",
         cl::desc("Symbol prefix of the generated API (<name>_run, "
                  "<name>_descriptor); default: the output file's stem"),
         cl::sub(kiln::compileCommand), cl::cat(category));

cl::list<std::string> shapes(
    "shape",
    cl::desc("Fix symbolic dims: --shape INPUT=1x128 (an input's whole shape) "
             "or --shape DIM_PARAM=4; repeatable"),
    cl::value_desc("NAME=DIMS"), cl::sub(kiln::compileCommand),
    cl::cat(category));

cl::opt<std::string> targetTriple(
    "target-triple", cl::desc("Target triple (default: the host's)"),
    cl::sub(kiln::compileCommand), cl::cat(category));
cl::opt<std::string> targetCpu(
    "target-cpu",
    cl::desc("Target CPU, e.g. skylake-avx512, znver3, generic (default: the "
             "host's)"),
    cl::sub(kiln::compileCommand), cl::cat(category));
cl::opt<std::string> targetFeatures(
    "target-features",
    cl::desc("Target features, e.g. +avx2,+fma,-avx512f (default: the host's)"),
    cl::sub(kiln::compileCommand), cl::cat(category));
cl::opt<unsigned> optLevel("O", cl::desc("LLVM optimization level 0-3"),
                           cl::init(3), cl::Prefix,
                           cl::sub(kiln::compileCommand), cl::cat(category));
cl::list<std::string> passPlugins(
    "load-pass-plugin",
    cl::desc("Load a pass plugin (MLIR's plugin ABI) whose passes "
             "--plugin-pipeline can name; repeatable"),
    cl::value_desc("lib.so"), cl::sub(kiln::compileCommand), cl::cat(category));
cl::list<std::string> pluginPipelines(
    "plugin-pipeline",
    cl::desc("Run passes at an insertion point: POINT:PIPELINE, e.g. "
             "'after-fusion:my-pass{opt=1}'. Points: after-import, "
             "before-quantize, after-fusion, before-lowering, before-llvm; "
             "repeatable"),
    cl::value_desc("POINT:PIPELINE"), cl::sub(kiln::compileCommand),
    cl::cat(category));
cl::opt<long long> parallelMinWork(
    "parallel-min-work",
    cl::desc("Estimated ops (iterations x body ops) below which a parallel "
             "loop runs on one thread; 0 splits every parallel loop over the "
             "context's threads (default: 131072)"),
    cl::init(-1), cl::value_desc("N"), cl::sub(kiln::compileCommand),
    cl::cat(category));
cl::opt<long long> parallelMinWeightBytes(
    "parallel-min-weight-bytes",
    cl::desc("Bytes of weights a parallel loop reads from which it is split "
             "even below --parallel-min-work (a small GEMV streams its "
             "weights, and each thread then streams its share; the loop "
             "keeps its serial form for 1-thread contexts); 0 turns it off "
             "(default: 131072)"),
    cl::init(-1), cl::value_desc("N"), cl::sub(kiln::compileCommand),
    cl::cat(category));
cl::opt<bool> winograd(
    "winograd",
    cl::desc("Offer Winograd F(2x2, 3x3) and F(4x4, 3x3) for eligible 3x3 "
             "convolutions (stride 1, one group, f32, at least "
             "--winograd-min-channels channels and --winograd-min-pixels "
             "output pixels): a latency estimate picks, per convolution, "
             "the direct kernel or a tile (listed by --report). 2.25x or 4x "
             "fewer multiplications, rounding differently from a direct "
             "convolution"),
    cl::sub(kiln::compileCommand), cl::cat(category));
cl::opt<long long> winogradTile(
    "winograd-tile",
    cl::desc("With --winograd: every eligible convolution takes the output "
             "tile m of F(m x m, 3x3), 2 or 4, instead of the estimate's "
             "pick (default 0: the estimate's)"),
    cl::init(0), cl::value_desc("M"), cl::sub(kiln::compileCommand),
    cl::cat(category));
cl::opt<long long> winogradMinChannels(
    "winograd-min-channels",
    cl::desc("With --winograd: convolutions with fewer input or output "
             "channels stay direct (default 16)"),
    cl::init(16), cl::value_desc("N"), cl::sub(kiln::compileCommand),
    cl::cat(category));
cl::opt<long long> winogradMinPixels(
    "winograd-min-pixels",
    cl::desc("With --winograd: convolutions whose output maps have fewer "
             "pixels stay direct (default 1)"),
    cl::init(1), cl::value_desc("N"), cl::sub(kiln::compileCommand),
    cl::cat(category));
enum class Precision { F32, BF16 };
cl::opt<Precision> precision(
    "precision",
    cl::desc("Arithmetic of matmuls and convolutions with constant weights "
             "(default: fp32)"),
    cl::values(clEnumValN(Precision::F32, "fp32", "f32 FMAs, as the model"),
               clEnumValN(Precision::BF16, "bf16",
                          "weights and activations rounded to bf16, "
                          "multiplied with vdpbf16ps and accumulated in f32 "
                          "(needs AVX512_BF16); attention's activation "
                          "products and grouped convolutions stay f32")),
    cl::init(Precision::F32), cl::sub(kiln::compileCommand),
    cl::cat(category));
enum class Weights { Embedded, External };
cl::opt<Weights> weights(
    "weights", cl::desc("Where the weights go (default: embedded)"),
    cl::values(clEnumValN(Weights::Embedded, "embedded",
                          "inside the object or library"),
               clEnumValN(Weights::External, "external",
                          "in <output stem>.weights next to it, with its "
                          "size and checksum recorded in the artifact and "
                          "verified when the runtime loads it")),
    cl::init(Weights::Embedded), cl::sub(kiln::compileCommand),
    cl::cat(category));
cl::opt<uint64_t> maxEmbeddedWeights(
    "max-embedded-weights",
    cl::desc("Refuse to embed more than this many bytes of weights (default "
             "1.5 GiB, what x86-64's default code model can address)"),
    cl::value_desc("bytes"), cl::Hidden, cl::sub(kiln::compileCommand),
    cl::cat(category));
cl::opt<bool> timings("timings", cl::desc("Print the time of each stage"),
                      cl::sub(kiln::compileCommand), cl::cat(category));

cl::opt<int64_t> maxSeqLen(
    "max-seq-len",
    cl::desc("Decoders with past/present key-value inputs and outputs: keep "
             "the cache inside the model (appended in place, up to this "
             "many tokens) and expose a stateful decode (one new token) or "
             "prefill entry instead; models without that pattern are "
             "unaffected"),
    cl::value_desc("tokens"), cl::init(0), cl::sub(kiln::compileCommand),
    cl::cat(category));

cl::opt<std::string> kvCache(
    "kv",
    cl::desc("With --max-seq-len: the cache's layout, f32 (default), int8 "
             "(per token and head, with an f32 scale per row: about a "
             "quarter of the f32 bytes) or qjl (keys as sign bits of a "
             "Gaussian projection plus a norm, the most recent keys kept "
             "whole; int8 values), think (keys older than the recent "
             "window pruned to their most useful channels, ThinK) or auto "
             "(the most faithful that fits --kv-budget)"),
    cl::value_desc("f32|int8|qjl|think|auto"), cl::init("f32"),
    cl::sub(kiln::compileCommand), cl::cat(category));
cl::opt<int64_t> qjlSketch(
    "kv-qjl-sketch",
    cl::desc("With --kv qjl: sign bits per key and head (projections), a "
             "multiple of 8 (default 256)"),
    cl::value_desc("m"), cl::init(256), cl::sub(kiln::compileCommand),
    cl::cat(category));
cl::opt<int64_t> kvValueBits(
    "kv-value-bits",
    cl::desc("With --kv int8, qjl or think: bits per cached value, 8 (the "
             "default of int8 and qjl; an f32 scale per row) or 4 / 2 "
             "(asymmetric, an f32 scale and min per group of 32 channels); "
             "think keeps f32 values unless this is given"),
    cl::value_desc("8|4|2"), cl::init(8), cl::sub(kiln::compileCommand),
    cl::cat(category));
cl::opt<int64_t> kvValueGroup(
    "kv-value-group",
    cl::desc("With --kv-value-bits 4 or 2: channels per group (default 32; "
             "the whole row when it does not divide the head dim)"),
    cl::value_desc("channels"), cl::init(32), cl::sub(kiln::compileCommand),
    cl::cat(category));
cl::opt<int64_t> kvBlock(
    "kv-block",
    cl::desc("With --max-seq-len: page the cache in blocks of this many "
             "tokens (a multiple of 16 dividing --max-seq-len; --kv f32 or "
             "int8): a pool of blocks that many sequences share through "
             "kiln_kv_pool (kiln/state.h), each with its own block table"),
    cl::value_desc("tokens"), cl::init(0), cl::sub(kiln::compileCommand),
    cl::cat(category));
cl::opt<int64_t> kvPoolBlocks(
    "kv-pool-blocks",
    cl::desc("With --kv-block: blocks in the pool (default max-seq-len / "
             "kv-block, one sequence at full length)"),
    cl::value_desc("blocks"), cl::init(0), cl::sub(kiln::compileCommand),
    cl::cat(category));
cl::opt<uint64_t> kvBudget(
    "kv-budget",
    cl::desc("With --kv auto: the bytes the whole KV cache may take "
             "(max-seq-len tokens); the report lists the candidates"),
    cl::value_desc("bytes"), cl::init(0), cl::sub(kiln::compileCommand),
    cl::cat(category));
cl::opt<int64_t> qjlRecent(
    "kv-qjl-recent",
    cl::desc("With --kv qjl: the most recent keys kept whole (default 32)"),
    cl::value_desc("tokens"), cl::init(32), cl::sub(kiln::compileCommand),
    cl::cat(category));
cl::opt<int64_t> qjlOutliers(
    "kv-qjl-outliers",
    cl::desc("With --kv qjl: per group of 32 keys, this many channels of "
             "largest norm sketched apart with their own projection (QJL's "
             "outlier split; default 0, none; needs --kv-qjl-recent >= 32)"),
    cl::value_desc("channels"), cl::init(0), cl::sub(kiln::compileCommand),
    cl::cat(category));
cl::opt<int64_t> qjlOutlierSketch(
    "kv-qjl-outlier-sketch",
    cl::desc("With --kv-qjl-outliers: sign bits per key and head for the "
             "outlier part, a multiple of 8 (default: --kv-qjl-sketch)"),
    cl::value_desc("m"), cl::init(0), cl::sub(kiln::compileCommand),
    cl::cat(category));
cl::opt<double> thinkRatio(
    "kv-think-ratio",
    cl::desc("With --kv think: the fraction of key channels pruned, in "
             "[0, 1) (default 0.4; floor(ratio * head_dim) channels)"),
    cl::value_desc("fraction"), cl::init(0.4), cl::sub(kiln::compileCommand),
    cl::cat(category));
cl::opt<int64_t> thinkRecent(
    "kv-think-recent",
    cl::desc("With --kv think: the most recent keys kept whole (default 32)"),
    cl::value_desc("tokens"), cl::init(32), cl::sub(kiln::compileCommand),
    cl::cat(category));
cl::opt<int64_t> thinkWindow(
    "kv-think-window",
    cl::desc("With --kv think: the queries (the last before the first "
             "decode step) whose squares score the key channels (default "
             "32)"),
    cl::value_desc("tokens"), cl::init(32), cl::sub(kiln::compileCommand),
    cl::cat(category));
cl::opt<std::string> prefill(
    "prefill",
    cl::desc("With --max-seq-len: also a prefill entry that appends N tokens "
             "per call, the symbolic dim DIM set to N (e.g. --shape seq=1 "
             "--prefill seq=32: a decode entry and a 32-token prefill entry "
             "sharing the cache and the weights)"),
    cl::value_desc("DIM=N"), cl::sub(kiln::compileCommand), cl::cat(category));

cl::opt<std::string> quantize(
    "quantize",
    cl::desc("Weight-only quantization of matmul weights: w8 (8-bit), w4 "
             "(4-bit) or w2w4 (2-bit with the widest-range blocks at 4 bits, "
             "asymmetric), group-wise along the reduction dim, dequantized "
             "in the kernel's inner loop, activations float; auto chooses "
             "per matmul within --accuracy-budget. w8a8: int8 weights (per "
             "output column) and int8 activations (per row, at run time, or per tensor with "
             "static scales from --calibration), int32 accumulation"),
    cl::value_desc("w8|w4|w2w4|auto|w8a8"), cl::sub(kiln::compileCommand),
    cl::cat(category));
cl::opt<int64_t> quantGroupSize(
    "quant-group-size",
    cl::desc("Weights per scale along the reduction dim (default: 32 for "
             "w4, 64 for w2w4, 128 for w8)"),
    cl::init(0), cl::sub(kiln::compileCommand), cl::cat(category));
cl::opt<bool> quantAsymmetric(
    "quant-asymmetric",
    cl::desc("Asymmetric quantization (a zero point per group) instead of "
             "symmetric"),
    cl::sub(kiln::compileCommand), cl::cat(category));
cl::opt<std::string> quantClipping(
    "quant-clipping",
    cl::desc("Range of each weight group: mse (shrunk to the least squared "
             "error, default) or none (the full range)"),
    cl::init("mse"), cl::value_desc("mse|none"), cl::sub(kiln::compileCommand),
    cl::cat(category));
cl::opt<double> accuracyBudget(
    "accuracy-budget",
    cl::desc("--quantize=auto: the largest relative weight error "
             "||W - Wq|| / ||W|| allowed per matmul (default 0.05); each "
             "gets the fewest bits within it that the cost model estimates "
             "faster than fp32, else stays float (--report lists why)"),
    cl::init(0.05), cl::sub(kiln::compileCommand), cl::cat(category));
cl::opt<double> quantWideFraction(
    "quant-wide-fraction",
    cl::desc("w2w4: fraction of weight blocks kept at 4 bits (default 0.25)"),
    cl::init(0.25), cl::sub(kiln::compileCommand), cl::cat(category));
cl::opt<int64_t> quantMinWeights(
    "quant-min-weights",
    cl::desc("Matrices with fewer weights stay float (default 4096)"),
    cl::init(4096), cl::sub(kiln::compileCommand), cl::cat(category));

cl::opt<std::string> checkpointDir(
    "checkpoint",
    cl::desc("Load a GPTQ or AWQ checkpoint (DIR: config.json with its "
             "quantization_config, *.safetensors): each quantized layer P "
             "replaces the linear layers of the model that read the float "
             "initializer 'P.weight' [N, K] (Gemm transB=1, or Transpose "
             "into MatMul), computed by kiln's int4 (GPTQ also 2/8-bit) "
             "kernels; the checkpoint's other tensors replace the "
             "initializers of the same name"),
    cl::value_desc("DIR"), cl::sub(kiln::compileCommand), cl::cat(category));

cl::opt<std::string> calibrationDir(
    "calibration",
    cl::desc("Run the float model on the samples in DIR at compile time. "
             "With --quantize=w8a8: static activation scales, one per "
             "tensor (range / 127) instead of per-row scales computed at "
             "run time. With --quantize=w8|w4|w2w4|auto: GPTQ rounding of "
             "the weights, from each quantized matmul's input Hessian "
             "(auto then measures each mode by its output error on the "
             "samples). DIR holds one .npy per model input named "
             "<input>.npy (one sample), or one subfolder per sample holding "
             "those (e.g. DIR/sample_0/<input>.npy); each array must have "
             "the input's exact dtype and shape"),
    cl::value_desc("DIR"), cl::sub(kiln::compileCommand), cl::cat(category));
cl::opt<double> gptqDamp(
    "gptq-damp",
    cl::desc("GPTQ (weight-only --quantize with --calibration): damping "
             "added to the Hessian's diagonal, as a fraction of its mean "
             "(default 0.1; GPTQ's own 0.01 suits calibration sets of many "
             "thousands of rows)"),
    cl::init(0.1), cl::sub(kiln::compileCommand), cl::cat(category));
cl::opt<bool> gptqActOrder(
    "gptq-act-order",
    cl::desc("GPTQ: round the rows by decreasing Hessian diagonal (GPTQ's "
             "act order, with each group's scale fitted on the float "
             "weights first; default on, =false rounds rows in order, each "
             "group fitted on the weights as updated so far)"),
    cl::init(true), cl::sub(kiln::compileCommand), cl::cat(category));
cl::opt<std::string> calibrationMethod(
    "calibration-method",
    cl::desc("Activation range from the calibration samples: minmax (max "
             "|x|, the default) or percentile (--calibration-percentile of "
             "|x|; larger values saturate at +-127)"),
    cl::init("minmax"), cl::value_desc("minmax|percentile"),
    cl::sub(kiln::compileCommand), cl::cat(category));
cl::opt<double> calibrationPercentile(
    "calibration-percentile",
    cl::desc("Percentile of |x| for --calibration-method=percentile, in "
             "(0, 100] (default 99.99)"),
    cl::init(99.99), cl::sub(kiln::compileCommand), cl::cat(category));
cl::opt<std::string> smoothQuant(
    "smoothquant",
    cl::desc("With --quantize=w8a8 --calibration: SmoothQuant, per input "
             "channel j s_j = max|X_j|^ALPHA / max|W_j|^(1-ALPHA) (ALPHA in "
             "[0, 1], default 0.5); activations divided by s_j (in the "
             "LayerNorm before them when it feeds only those matmuls), "
             "weight rows multiplied by it"),
    cl::ValueOptional, cl::value_desc("ALPHA"), cl::sub(kiln::compileCommand),
    cl::cat(category));

cl::opt<std::string> lmulScope(
    "lmul",
    cl::desc("L-Mul: compute float products as integer adds (Luo & Sun "
             "2024) in this scope: attention (Q*K^T and softmax*V), matmul "
             "(every matmul/conv) or all (also elementwise Mul)"),
    cl::value_desc("scope"), cl::sub(kiln::compileCommand), cl::cat(category));
cl::opt<std::string> lmulFormat(
    "lmul-format",
    cl::desc("L-Mul operand format: fp32, bf16, fp16, e4m3, e5m2 (default "
             "fp32)"),
    cl::init("fp32"), cl::sub(kiln::compileCommand), cl::cat(category));
cl::opt<unsigned> lmulMantissa(
    "lmul-mantissa",
    cl::desc("L-Mul operand mantissa bits, rounded to nearest even (default: "
             "the format's own)"),
    cl::init(0), cl::sub(kiln::compileCommand), cl::cat(category));
cl::opt<std::string> objective(
    "objective",
    cl::desc("Let the cost model place L-Mul: latency (only where it costs "
             "no time on the target CPU, i.e. memory-bound ops) or energy "
             "(wherever it lowers the arithmetic energy); within --lmul's "
             "scope, or among all candidates without --lmul"),
    cl::value_desc("latency|energy"), cl::sub(kiln::compileCommand),
    cl::cat(category));
cl::opt<std::string> costModel(
    "cost-model",
    cl::desc("How kernel tile configurations are chosen: learned (the model "
             "shipped for the target CPU; without one, the hand-written "
             "choice), analytic (roofline), heuristic (hand-written), or an "
             "XGBoost model file from kiln-costmodel train (default: "
             "learned)"),
    cl::init("learned"), cl::value_desc("learned|analytic|heuristic|FILE"),
    cl::sub(kiln::compileCommand), cl::cat(category));
cl::opt<std::string> forceKernelConfig(
    "force-kernel-config",
    cl::desc("Use this register tile and K block, mr,nr,kc, for every matmul "
             "and conv kernel (for experiments and kiln-costmodel)"),
    cl::value_desc("mr,nr,kc"), cl::Hidden, cl::sub(kiln::compileCommand),
    cl::cat(category));
cl::opt<bool> report(
    "report",
    cl::desc("Print the estimated arithmetic energy per inference, fp32 vs "
             "each L-Mul scope and this compile (45 nm op-energy table), the "
             "CPU kernels formed (with what each absorbed), and the latency "
             "of an fp32 and an L-Mul build measured here (--report-runs)"),
    cl::sub(kiln::compileCommand), cl::cat(category));
cl::opt<int> reportRuns(
    "report-runs",
    cl::desc("With --report: timed runs of the fp32 and the L-Mul build on "
             "this machine (each compiled once more, into a temporary "
             "folder); 0 skips the measurement (default: 10)"),
    cl::init(10), cl::value_desc("N"), cl::sub(kiln::compileCommand),
    cl::cat(category));
cl::opt<std::string> lmulRounding(
    "lmul-rounding",
    cl::desc("L-Mul operand rounding: nearest (default) or truncate"),
    cl::init("nearest"), cl::sub(kiln::compileCommand), cl::cat(category));

/// The options of the weight-only modes (w8, w4, w2w4, auto).
constexpr const char *kWeightQuantFlags =
    "--quant-group-size, --quant-asymmetric, --quant-clipping, "
    "--quant-wide-fraction and --accuracy-budget";
bool weightQuantFlagsGiven() {
  return quantGroupSize.getNumOccurrences() ||
         quantAsymmetric.getNumOccurrences() ||
         quantClipping.getNumOccurrences() ||
         quantWideFraction.getNumOccurrences() ||
         accuracyBudget.getNumOccurrences();
}

EmitKind emitKind() {
  switch (emit) {
  case Emit::Import: return EmitKind::ImportedMlir;
  case Emit::Mlir: return EmitKind::Mlir;
  case Emit::Lowered: return EmitKind::LoweredMlir;
  case Emit::LLVM: return EmitKind::LLVM;
  case Emit::Obj: return EmitKind::Object;
  case Emit::So: return EmitKind::SharedLibrary;
  case Emit::Auto: break;
  }
  StringRef ext = sys::path::extension(output);
  if (ext == ".so")
    return EmitKind::SharedLibrary;
  if (ext == ".mlir")
    return EmitKind::Mlir;
  if (ext == ".ll")
    return EmitKind::LLVM;
  return EmitKind::Object;
}

/// Prints "kiln compile: error: <message>" (and notes) for every
/// diagnostic, with the node or file location when there is one.
void printDiagnostic(mlir::Diagnostic &diag) {
  std::string loc;
  llvm::raw_string_ostream os(loc);
  if (!isa<mlir::UnknownLoc>(diag.getLocation()))
    os << " [at " << diag.getLocation() << "]";
  const char *severity = diag.getSeverity() == mlir::DiagnosticSeverity::Error
                             ? "error"
                         : diag.getSeverity() == mlir::DiagnosticSeverity::Warning
                             ? "warning"
                             : "note";
  errs() << "kiln compile: " << severity << ": " << diag.str() << loc << "\n";
  for (mlir::Diagnostic &note : diag.getNotes())
    errs() << "kiln compile: note: " << note.str() << "\n";
}
} // namespace

int kiln::compileMain() {
  if (reportRuns < 0)
    return fail("compile", "--report-runs must be >= 0");
  CompileOptions options;
  options.inputPath = input;
  options.outputPath = output;
  options.emit = emitKind();
  options.name = name;
  options.target.triple = targetTriple;
  options.target.cpu = targetCpu;
  options.target.features = targetFeatures;
  options.target.optLevel = std::min(3u, optLevel.getValue());
  if (parallelMinWork >= 0)
    options.minParallelWork = parallelMinWork;
  if (parallelMinWeightBytes >= 0)
    options.minParallelWeightBytes = parallelMinWeightBytes;
  if (timings)
    options.timings = &errs();
  options.externalWeights = weights == Weights::External;
  if (winogradTile != 0 && winogradTile != 2 && winogradTile != 4)
    return fail("compile", "--winograd-tile must be 2 or 4 (0: the latency "
                           "estimate picks per convolution), got " +
                               std::to_string(winogradTile));
  if (!winograd && (winogradTile.getNumOccurrences() ||
                    winogradMinChannels.getNumOccurrences() ||
                    winogradMinPixels.getNumOccurrences()))
    return fail("compile", "--winograd-tile, --winograd-min-channels and "
                           "--winograd-min-pixels need --winograd");
  if (winograd) {
    KilnWinogradPassOptions w;
    w.minChannels = winogradMinChannels;
    w.minPixels = winogradMinPixels;
    w.tile = winogradTile;
    options.winograd = w;
  }
  options.costModel = costModel == "heuristic" ? "" : costModel.getValue();
  options.forceKernelConfig = forceKernelConfig;
  options.bf16 = precision == Precision::BF16;
  if (maxEmbeddedWeights.getNumOccurrences())
    options.target.maxEmbeddedWeightBytes = maxEmbeddedWeights;
  if (report)
    options.energyReport = &outs();
  if (maxSeqLen.getNumOccurrences()) {
    if (maxSeqLen <= 0)
      return fail("compile", "--max-seq-len must be positive");
    KilnKVLayoutPassOptions kv;
    kv.maxSeqLen = maxSeqLen;
    if (kvCache != "f32" && kvCache != "int8" && kvCache != "qjl" &&
        kvCache != "think" && kvCache != "auto")
      return fail("compile", "--kv: expected f32, int8, qjl, think or auto, "
                             "got '" + kvCache + "'");
    if ((thinkRatio.getNumOccurrences() || thinkRecent.getNumOccurrences() ||
         thinkWindow.getNumOccurrences()) &&
        kvCache != "think")
      return fail("compile", "--kv-think-* need --kv think");
    if (!(thinkRatio >= 0.0 && thinkRatio < 1.0))
      return fail("compile", "--kv-think-ratio must be in [0, 1), got " +
                                 std::to_string(thinkRatio));
    if (thinkRecent < 0 || thinkWindow <= 0)
      return fail("compile", "--kv-think-recent must be >= 0 and "
                             "--kv-think-window positive");
    kv.thinkRatio = thinkRatio;
    kv.thinkRecent = thinkRecent;
    kv.thinkWindow = thinkWindow;
    if ((kvCache == "auto") != (kvBudget.getNumOccurrences() > 0))
      return fail("compile", "--kv auto and --kv-budget go together");
    if (kvCache == "auto" && kvBudget == 0)
      return fail("compile", "--kv-budget must be positive");
    if (qjlSketch.getNumOccurrences() && kvCache != "qjl")
      return fail("compile", "--kv-qjl-sketch needs --kv qjl");
    if (qjlRecent.getNumOccurrences() && kvCache != "qjl" && kvCache != "auto")
      return fail("compile", "--kv-qjl-recent needs --kv qjl or auto");
    if (qjlSketch <= 0 || qjlSketch % 8 != 0)
      return fail("compile", "--kv-qjl-sketch must be a positive multiple "
                             "of 8, got " + std::to_string(qjlSketch));
    if (qjlRecent <= 0)
      return fail("compile", "--kv-qjl-recent must be positive, got " +
                                 std::to_string(qjlRecent));
    if ((qjlOutliers.getNumOccurrences() ||
         qjlOutlierSketch.getNumOccurrences()) &&
        kvCache != "qjl")
      return fail("compile", "--kv-qjl-outliers and --kv-qjl-outlier-sketch "
                             "need --kv qjl");
    if (qjlOutlierSketch.getNumOccurrences() && qjlOutliers <= 0)
      return fail("compile", "--kv-qjl-outlier-sketch needs "
                             "--kv-qjl-outliers");
    if (qjlOutliers < 0 || (qjlOutliers > 0 && qjlRecent < 32))
      return fail("compile", "--kv-qjl-outliers must be >= 0 and needs "
                             "--kv-qjl-recent >= 32 (a group's keys stay "
                             "whole until the group is complete)");
    if (qjlOutlierSketch < 0 || qjlOutlierSketch % 8 != 0)
      return fail("compile", "--kv-qjl-outlier-sketch must be a positive "
                             "multiple of 8, got " +
                                 std::to_string(qjlOutlierSketch));
    kv.qjlOutliers = qjlOutliers;
    kv.qjlOutlierSketch = qjlOutlierSketch;
    kv.kvDtype = kvCache;
    kv.qjlSketch = qjlSketch;
    kv.qjlRecent = qjlRecent;
    kv.kvBudget = kvBudget;
    if (kvValueBits != 8 && kvValueBits != 4 && kvValueBits != 2)
      return fail("compile", "--kv-value-bits: expected 8, 4 or 2, got " +
                                 std::to_string(kvValueBits));
    if (kvValueBits.getNumOccurrences() && kvCache != "int8" &&
        kvCache != "qjl" && kvCache != "think")
      return fail("compile", "--kv-value-bits needs --kv int8, qjl or think");
    // Not given: the layout's own (int8 under int8 and qjl, f32 under
    // think).
    kv.valueBits = kvValueBits.getNumOccurrences() ? int64_t(kvValueBits) : 0;
    if (kvValueGroup.getNumOccurrences() && kvValueBits == 8 &&
        kvCache != "auto")
      return fail("compile", "--kv-value-group needs --kv-value-bits 4 or 2 "
                             "(or --kv auto)");
    if (kvValueGroup <= 0)
      return fail("compile", "--kv-value-group must be positive");
    kv.valueGroup = kvValueGroup;
    if (kvPoolBlocks.getNumOccurrences() && !kvBlock.getNumOccurrences())
      return fail("compile", "--kv-pool-blocks needs --kv-block");
    if (kvBlock.getNumOccurrences()) {
      if (kvBlock <= 0 || kvBlock % 16 != 0 || maxSeqLen % kvBlock != 0)
        return fail("compile", "--kv-block must be a positive multiple of 16 "
                               "dividing --max-seq-len " +
                                   std::to_string(maxSeqLen) + ", got " +
                                   std::to_string(kvBlock));
      if (kvCache != "f32" && kvCache != "int8")
        return fail("compile", "--kv-block pages f32 and int8 caches, not "
                               "--kv " + kvCache);
      if (kvValueBits.getNumOccurrences() && kvValueBits != 8)
        return fail("compile", "--kv-block needs 8-bit values (not "
                               "--kv-value-bits " +
                                   std::to_string(kvValueBits) + ")");
      if (kvPoolBlocks.getNumOccurrences() && kvPoolBlocks <= 0)
        return fail("compile", "--kv-pool-blocks must be positive");
      kv.kvBlock = kvBlock;
      kv.kvPoolBlocks = kvPoolBlocks;
    }
    options.kvLayout = kv;
  } else if (kvCache.getNumOccurrences() || kvBudget.getNumOccurrences() ||
             kvValueBits.getNumOccurrences() ||
             kvValueGroup.getNumOccurrences() ||
             qjlSketch.getNumOccurrences() || qjlRecent.getNumOccurrences() ||
             qjlOutliers.getNumOccurrences() ||
             qjlOutlierSketch.getNumOccurrences() ||
             thinkRatio.getNumOccurrences() ||
             thinkRecent.getNumOccurrences() ||
             thinkWindow.getNumOccurrences() || kvBlock.getNumOccurrences() ||
             kvPoolBlocks.getNumOccurrences()) {
    return fail("compile", "--kv, --kv-budget, --kv-block, --kv-qjl-* and --kv-think-* "
                           "need --max-seq-len");
  }
  if (!prefill.empty()) {
    auto [dim, count] = StringRef(prefill).split('=');
    if (dim.empty() || count.getAsInteger(10, options.prefillTokens) ||
        options.prefillTokens < 2)
      return fail("compile", "--prefill: expected DIM=N with N >= 2, got '" +
                                 prefill + "'");
    if (!options.kvLayout)
      return fail("compile", "--prefill needs --max-seq-len");
    options.prefillDim = dim.str();
  }
  if (quantize == "w8a8") {
    if (weightQuantFlagsGiven())
      return fail("compile", std::string(kWeightQuantFlags) +
                                 " do not apply to --quantize=w8a8 "
                                 "(per-column symmetric weights)");
    KilnW8A8QuantizePassOptions q;
    q.minWeights = quantMinWeights;
    options.w8a8Quantize = q;
  } else if (!quantize.empty()) {
    KilnWeightQuantizePassOptions q;
    if (quantize == "w8") {
      q.bits = 8;
    } else if (quantize == "w4") {
      q.bits = 4;
    } else if (quantize == "auto") {
      if (!(accuracyBudget > 0))
        return fail("compile", "--accuracy-budget must be positive");
      q.accuracyBudget = accuracyBudget;
    } else if (quantize == "w2w4") {
      q.bits = 2;
      q.wideFraction = quantWideFraction;
      if (q.wideFraction < 0 || q.wideFraction > 1)
        return fail("compile", "--quant-wide-fraction must be in [0, 1]");
    } else {
      return fail("compile", "--quantize: unknown mode '" + quantize +
                                 "' (expected w8, w4, w2w4, auto or w8a8)");
    }
    if (quantGroupSize < 0)
      return fail("compile", "--quant-group-size must be positive");
    q.groupSize = quantGroupSize ? quantGroupSize.getValue()
                  : q.bits == 8  ? 128
                  : q.bits == 2  ? 64
                                 : 32;
    q.symmetric = !quantAsymmetric && q.bits != 2;
    q.minWeights = quantMinWeights;
    if (quantClipping != "mse" && quantClipping != "none")
      return fail("compile", "--quant-clipping: expected mse or none, got '" +
                                 quantClipping + "'");
    q.clipping = quantClipping;
    options.weightQuantize = q;
  } else if (weightQuantFlagsGiven()) {
    return fail("compile", std::string(kWeightQuantFlags) + " need --quantize");
  }
  if (calibrationDir.getNumOccurrences() && !options.w8a8Quantize &&
      !options.weightQuantize)
    return fail("compile", "--calibration needs --quantize (w8a8: static "
                           "int8 activation scales; w8, w4, w2w4, auto: GPTQ "
                           "rounding)");
  if ((gptqDamp.getNumOccurrences() || gptqActOrder.getNumOccurrences()) &&
      !(calibrationDir.getNumOccurrences() && options.weightQuantize))
    return fail("compile", "--gptq-damp and --gptq-act-order need "
                           "--quantize=w8|w4|w2w4|auto --calibration DIR");
  if (!(gptqDamp > 0))
    return fail("compile", "--gptq-damp must be positive");
  if (options.weightQuantize) {
    options.weightQuantize->gptqDamp = gptqDamp;
    options.weightQuantize->gptqActOrder = gptqActOrder;
  }
  std::optional<CalibrationOptions> calibration;
  if (calibrationDir.getNumOccurrences()) {
    calibration.emplace();
    calibration->dir = calibrationDir;
    if (calibrationMethod == "minmax") {
      calibration->method = CalibrationMethod::MinMax;
    } else if (calibrationMethod == "percentile") {
      calibration->method = CalibrationMethod::Percentile;
    } else {
      return fail("compile", "--calibration-method: expected minmax or "
                             "percentile, got '" +
                                 calibrationMethod + "'");
    }
    if (!(calibrationPercentile > 0 && calibrationPercentile <= 100))
      return fail("compile", "--calibration-percentile must be in (0, 100]");
    if (calibrationPercentile.getNumOccurrences() &&
        calibration->method != CalibrationMethod::Percentile)
      return fail("compile", "--calibration-percentile needs "
                             "--calibration-method=percentile");
    calibration->percentile = calibrationPercentile;
    if (smoothQuant.getNumOccurrences()) {
      double alpha = 0.5;
      if (!smoothQuant.empty() &&
          (StringRef(smoothQuant).getAsDouble(alpha) || !(alpha >= 0) ||
           !(alpha <= 1)))
        return fail("compile", "--smoothquant=ALPHA: expected a number in "
                               "[0, 1], got '" +
                                   smoothQuant + "'");
      calibration->smoothQuantAlpha = alpha;
    }
  }
  if ((!calibration || !options.w8a8Quantize) &&
      (calibrationMethod.getNumOccurrences() ||
       calibrationPercentile.getNumOccurrences() ||
       smoothQuant.getNumOccurrences())) {
    return fail("compile", "--calibration-method, --calibration-percentile "
                           "and --smoothquant need --quantize=w8a8 "
                           "--calibration DIR");
  }
  if (!lmulScope.empty() || !objective.empty()) {
    KilnLMulPassOptions lmul;
    lmul.scope = lmulScope.empty() ? "all" : lmulScope.getValue();
    lmul.objective = objective;
    lmul.format = lmulFormat;
    lmul.mantissa = lmulMantissa;
    lmul.rounding = lmulRounding;
    std::string error;
    if (!validateLMulOptions(lmul, error))
      return fail("compile", (lmulScope.empty() ? "--objective: " : "--lmul: ") +
                                 error);
    options.lmul = lmul;
  } else if (lmulFormat.getNumOccurrences() ||
             lmulMantissa.getNumOccurrences() ||
             lmulRounding.getNumOccurrences()) {
    return fail("compile", "--lmul-format, --lmul-mantissa and "
                           "--lmul-rounding need --lmul=attention|matmul|all "
                           "or --objective");
  }
  {
    std::string error;
    if (!pluginPipelines.empty())
      registerAllPasses(); // so pipelines can also name kiln's own passes
    if (!loadPassPlugins(passPlugins, error) ||
        !parsePluginPipelines(pluginPipelines, options.hook, error))
      return fail("compile", error);
  }
  for (const std::string &shape : shapes) {
    std::string error;
    if (!onnx::parseShapeOption(shape, options.import, error))
      return fail("compile", error);
  }
  options.import.checkpointDir = checkpointDir;
  std::string outDir = sys::path::parent_path(output).str();
  if (!outDir.empty() && !sys::fs::is_directory(outDir))
    if (std::error_code ec = sys::fs::create_directories(outDir))
      return fail("compile", "cannot create '" + outDir + "': " + ec.message());

  mlir::DialectRegistry registry;
  registerAllDialects(registry);
  mlir::MLIRContext context(registry);
  context.loadAllAvailableDialects();
  context.printOpOnDiagnostic(false);
  mlir::ScopedDiagnosticHandler handler(&context, [](mlir::Diagnostic &diag) {
    printDiagnostic(diag);
    return mlir::success();
  });

  // GPTQ's Hessians go through a file that the compile reads; it lives
  // until this command returns.
  std::optional<::kiln::TempDir> hessianDir;
  if (calibration) {
    std::string error;
    if (options.w8a8Quantize) {
      if (!calibrateW8A8(context, options, *calibration, outs(), error))
        return error.empty() ? 1 : fail("compile", error);
    } else {
      hessianDir.emplace("kiln-gptq", error);
      if (hessianDir->path().empty() ||
          !calibrateGPTQ(context, options, *calibration,
                         (hessianDir->path() + "/hessians.bin").str(),
                         outs(), error))
        return error.empty() ? 1 : fail("compile", error);
    }
  }
  CompileResult result;
  if (mlir::failed(compileModel(context, options, result)))
    return 1;
  if (report && reportRuns > 0) {
    std::string error;
    if (!reportLMulLatency(context, options, reportRuns, outs(), error))
      return error.empty() ? 1 : fail("compile", "--report: " + error);
  }
  for (const std::string &file : result.files)
    outs() << "kiln: wrote " << file << "\n";
  if (options.emit == EmitKind::Object ||
      options.emit == EmitKind::SharedLibrary)
    outs() << "kiln: workspace " << result.workspaceBytes << " bytes\n";
  return 0;
}
