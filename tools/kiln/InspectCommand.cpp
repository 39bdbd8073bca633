//===- InspectCommand.cpp - kiln inspect ----------------------------------===//
//
// Part of kiln.
//
//===----------------------------------------------------------------------===//

#include "tools/kiln/Commands.h"

#include "compiler/Registration.h"
#include "compiler/onnx/Importer.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/raw_ostream.h"

using namespace llvm;

cl::SubCommand kiln::inspectCommand(
    "inspect", "Summarize an ONNX model: ops with counts, opset, parameters, "
               "inputs/outputs, ops kiln does not support");

namespace {
cl::OptionCategory category("kiln inspect options");
cl::opt<std::string> model(cl::Positional, cl::Required,
                           cl::desc("<model.onnx>"),
                           cl::sub(kiln::inspectCommand), cl::cat(category));
cl::opt<bool> json("json", cl::desc("Print JSON"),
                   cl::sub(kiln::inspectCommand), cl::cat(category));
} // namespace

int kiln::inspectMain() {
  mlir::MLIRContext context;
  bool failed = false;
  mlir::ScopedDiagnosticHandler handler(&context, [&](mlir::Diagnostic &diag) {
    errs() << "kiln inspect: error: " << diag.str() << "\n";
    failed = true;
    return mlir::success();
  });
  if (mlir::failed(mlir::kiln::onnx::inspectOnnxFile(context, model, outs(),
                                                     json)) ||
      failed)
    return 1;
  return 0;
}
