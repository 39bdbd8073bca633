//===- kiln-opt.cpp - MlirOptMain with every kiln dialect and pass ---------===//
//
// Part of kiln. The driver lit tests use to run single passes.
//
//===----------------------------------------------------------------------===//

#include "compiler/Registration.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  mlir::kiln::registerAllDialects(registry);
  mlir::kiln::registerAllPasses();
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "kiln optimizer driver\n", registry));
}
