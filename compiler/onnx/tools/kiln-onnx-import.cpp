//===- kiln-onnx-import.cpp - print the kiln IR of an ONNX model ----------===//
//
// Part of kiln. Development tool for the importer (lit tests in test/onnx
// use it as %kiln_onnx_import):
//
//   kiln-onnx-import model.onnx [--shape X=1x8]... [--function-name=f]
//   kiln-onnx-import model.onnx --inspect [--json]
//
// Prints the imported module (or the inspect summary) to stdout; exits 1
// with diagnostics on stderr when the model cannot be imported.
//
//===----------------------------------------------------------------------===//

#include "compiler/onnx/Importer.h"

#include "dialects/Kiln/KilnDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;

namespace cl = llvm::cl;

static cl::opt<std::string> inputPath(cl::Positional, cl::desc("<model.onnx>"),
                                      cl::Required);
static cl::list<std::string>
    shapes("shape",
           cl::desc("Fix an input's shape (x=1x128) or a symbolic dim "
                    "(batch=4); repeatable"),
           cl::value_desc("NAME=DIMS"));
static cl::opt<std::string> functionName("function-name",
                                         cl::desc("Entry function name"),
                                         cl::init("main"));
static cl::opt<bool> inspect("inspect",
                             cl::desc("Print the model summary instead"));
static cl::opt<bool> json("json", cl::desc("With --inspect: JSON output"));
static cl::opt<bool>
    elideWeights("elide-weights",
                 cl::desc("Do not print the weight blobs (dialect_resources)"));

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  registerAsmPrinterCLOptions(); // --mlir-print-debuginfo, ...
  registerMLIRContextCLOptions();
  cl::ParseCommandLineOptions(argc, argv, "kiln ONNX importer test tool\n");

  MLIRContext ctx;
  ctx.loadDialect<kiln::KilnDialect, func::FuncDialect>();
  llvm::SourceMgr sourceMgr;
  SourceMgrDiagnosticHandler diagHandler(sourceMgr, &ctx, llvm::errs());

  if (inspect)
    return failed(
               kiln::onnx::inspectOnnxFile(ctx, inputPath, llvm::outs(), json))
               ? 1
               : 0;

  kiln::onnx::ImportOptions options;
  options.functionName = functionName;
  for (const std::string &s : shapes) {
    std::string error;
    if (!kiln::onnx::parseShapeOption(s, options, error)) {
      llvm::errs() << "error: --shape: " << error << "\n";
      return 1;
    }
  }
  auto module = kiln::onnx::importOnnxFile(ctx, inputPath, options);
  if (failed(module))
    return 1;
  OpPrintingFlags flags;
  if (elideWeights)
    flags.elideLargeResourceString(0);
  (*module)->print(llvm::outs(), flags);
  llvm::outs() << "\n";
  return 0;
}
