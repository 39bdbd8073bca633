//===- PlanMemory.cpp - static workspace planning -------------------------===//
//
// Part of kiln. (being written)
//
//===----------------------------------------------------------------------===//

#include "codegen/Passes.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

namespace mlir::kiln {
#define GEN_PASS_DEF_KILNPLANMEMORYPASS
#include "codegen/Passes.h.inc"
} // namespace mlir::kiln

using namespace mlir;

namespace {
struct KilnPlanMemoryPass
    : kiln::impl::KilnPlanMemoryPassBase<KilnPlanMemoryPass> {
  void runOnOperation() override {}
};
} // namespace
