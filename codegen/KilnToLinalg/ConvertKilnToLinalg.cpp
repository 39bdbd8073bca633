//===- ConvertKilnToLinalg.cpp - kiln -> linalg on tensors ----------------===//
//
// Part of kiln. (being written)
//
//===----------------------------------------------------------------------===//

#include "codegen/Passes.h"
#include "dialects/Kiln/KilnOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

namespace mlir::kiln {
#define GEN_PASS_DEF_CONVERTKILNTOLINALGPASS
#include "codegen/Passes.h.inc"
} // namespace mlir::kiln

using namespace mlir;

namespace {
struct ConvertKilnToLinalgPass
    : kiln::impl::ConvertKilnToLinalgPassBase<ConvertKilnToLinalgPass> {
  void runOnOperation() override {}
};
} // namespace
