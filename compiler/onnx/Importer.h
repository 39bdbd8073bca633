//===- Importer.h - ONNX model importer ---------------------------*- C++
//-*-===//
//
// Part of kiln. Reads an ONNX model (protobuf, with external data files next
// to it) and produces a module holding one `func.func` of kiln ops with
// static shapes. Shape arithmetic the exporters emit (Shape -> Gather ->
// Unsqueeze -> Concat -> Reshape) is evaluated at import time, so it leaves
// no ops behind.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_COMPILER_ONNX_IMPORTER_H
#define KILN_COMPILER_ONNX_IMPORTER_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "mlir/Support/LLVM.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdint>
#include <string>

namespace mlir {
class MLIRContext;
namespace kiln::onnx {

struct ImportOptions {
  /// From `--shape NAME=1x128`: NAME is a graph input (its full shape) or a
  /// dim_param (a single value) that fixes that symbolic dim everywhere.
  llvm::StringMap<llvm::SmallVector<int64_t>> shapes;
  /// Name of the generated entry function.
  std::string functionName = "main";
  /// From `--checkpoint DIR`: a GPTQ or AWQ checkpoint whose weights replace
  /// the model's (see applyQuantizedCheckpoint).
  std::string checkpointDir;
  /// Warn about checkpoint tensors that match no initializer. Off for the
  /// extra imports of one compile (prefill entry, report and calibration
  /// variants), so the warning comes once.
  bool warnUnusedCheckpointTensors = true;
};

/// Parses `path` (external data files are resolved next to it) and returns a
/// module with one `func.func @<functionName>` marked `kiln.entry`. On error
/// emits MLIR diagnostics (mlir::emitError) and returns failure; never aborts
/// on a bad model. Loads the kiln and func dialects into `ctx`.
FailureOr<OwningOpRef<ModuleOp>> importOnnxFile(MLIRContext &ctx,
                                                llvm::StringRef path,
                                                const ImportOptions &options);

/// Summarizes the model for `kiln inspect`: opsets, op types with counts,
/// parameter count and bytes, inputs/outputs with dtypes and shapes
/// (symbolic dims by name), initializer count and the op types the importer
/// does not support. Text, or JSON when `json` is set. Returns failure with a
/// diagnostic on an unreadable or malformed file.
LogicalResult inspectOnnxFile(MLIRContext &ctx, llvm::StringRef path,
                              llvm::raw_ostream &os, bool json);

/// Parses a `--shape` value: "NAME=1x128" (also "NAME=1,128"; "NAME=" or
/// "NAME=scalar" gives a 0-d shape) into `options.shapes`. Returns false and
/// sets `error` on a malformed value. Provided for the driver's option
/// parsing.
bool parseShapeOption(llvm::StringRef value, ImportOptions &options,
                      std::string &error);

} // namespace kiln::onnx
} // namespace mlir

#endif // KILN_COMPILER_ONNX_IMPORTER_H
