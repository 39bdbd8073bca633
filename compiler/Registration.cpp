//===- Registration.cpp - register kiln dialects and passes ---------------===//
//
// Part of kiln.
//
//===----------------------------------------------------------------------===//

#include "compiler/Registration.h"

#include "codegen/Passes.h"
#include "dialects/Kiln/KilnDialect.h"
#include "passes/Conv/Passes.h"
#include "passes/Fusion/Passes.h"
#include "passes/KVLayout/Passes.h"
#include "passes/LMul/Passes.h"
#include "passes/Quantize/Passes.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"

void mlir::kiln::registerAllDialects(DialectRegistry &registry) {
  registry.insert<KilnDialect>();
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  mlir::registerBuiltinDialectTranslation(registry);
  mlir::registerLLVMDialectTranslation(registry);
}

void mlir::kiln::registerAllPasses() {
  mlir::registerAllPasses();
  registerCodegenPasses();
  registerKilnLMulPasses();
  registerKilnConvPasses();
  registerKilnFusionPasses();
  registerKilnQuantizePasses();
  registerKilnKVLayoutPasses();
}
