//===- Calibrate.h - quantization statistics from samples --------*- C++ -*-===//
//
// Part of kiln. For `kiln compile --calibration DIR`: compiles the float
// model with the activation input of every matmul to be quantized as an
// extra output (kiln-calibration-instrument), runs it through the runtime
// on the samples in DIR, and hands what it saw to the quantizers: under
// --quantize=w8a8 the ranges (and, for --smoothquant, the per-channel
// maxima) for static activation scales; under the weight-only modes each
// input's Hessian, for GPTQ rounding.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_TOOLS_KILN_CALIBRATE_H
#define KILN_TOOLS_KILN_CALIBRATE_H

#include "compiler/Compiler.h"
#include "passes/Quantize/Calibration.h"
#include "passes/Quantize/InputHessian.h"
#include "passes/Quantize/W8A8Candidates.h"
#include "llvm/Support/raw_ostream.h"

#include <optional>
#include <string>

namespace kiln {

struct CalibrationOptions {
  /// DIR/<input>.npy (one sample) or DIR/<sample>/<input>.npy (one sample
  /// per subfolder, in name order), one file per model input.
  std::string dir;
  mlir::kiln::CalibrationMethod method = mlir::kiln::CalibrationMethod::MinMax;
  /// Of |x|, for CalibrationMethod::Percentile.
  double percentile = 99.99;
  /// SmoothQuant's alpha when set.
  std::optional<double> smoothQuantAlpha;
};

/// Calibrates `options.w8a8Quantize` (which must be set): fills its
/// activation-ranges and, with SmoothQuant, sets `options.smoothQuant`
/// (channel maxima from a first run; the ranges then come from a second
/// run of the smoothed float model, so they are those of the tensors the
/// kernels quantize). Prints one summary line to `log`. Returns false with
/// `error` set (or the compile's diagnostics already printed and `error`
/// empty) on failure.
bool calibrateW8A8(mlir::MLIRContext &context,
                   mlir::kiln::CompileOptions &options,
                   const CalibrationOptions &calibration,
                   llvm::raw_ostream &log, std::string &error);

/// For `--quantize=w8|w4|w2w4|auto --calibration DIR`: runs the float
/// model on the samples, writes the Hessian H = sum x x^T of every
/// quantized matmul's activation input to `hessianPath` and points
/// `options.weightQuantize` (which must be set) at it, for GPTQ. The file
/// must outlive the compile. Errors as calibrateW8A8's.
bool calibrateGPTQ(mlir::MLIRContext &context,
                   mlir::kiln::CompileOptions &options,
                   const CalibrationOptions &calibration,
                   const std::string &hessianPath, llvm::raw_ostream &log,
                   std::string &error);

} // namespace kiln

#endif // KILN_TOOLS_KILN_CALIBRATE_H
