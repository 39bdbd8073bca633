//===- Winograd.cpp - mark convolutions for Winograd F(2x2, 3x3) ---------===//
//
// Part of kiln. The transforms themselves are in the lowering
// (codegen/KilnToLinalg/Winograd.cpp) and its kernels
// (codegen/cpu/WinogradKernel.cpp).
//
//===----------------------------------------------------------------------===//

#include "passes/Conv/Passes.h"

#include "dialects/Kiln/KilnOps.h"

namespace mlir::kiln {
#define GEN_PASS_DEF_KILNWINOGRADPASS
#include "passes/Conv/Passes.h.inc"
} // namespace mlir::kiln

using namespace mlir;
using namespace mlir::kiln;

namespace {

bool allOnes(ArrayRef<int64_t> values) {
  return llvm::all_of(values, [](int64_t v) { return v == 1; });
}

struct KilnWinogradPass : kiln::impl::KilnWinogradPassBase<KilnWinogradPass> {
  using Base::Base;
  void runOnOperation() override {
    getOperation()->walk([&](Conv2DOp conv) {
      auto w = cast<RankedTensorType>(conv.getWeight().getType());
      if (w.getDimSize(2) != 3 || w.getDimSize(3) != 3 ||
          !allOnes(conv.getStrides()) || !allOnes(conv.getDilations()) ||
          conv.getGroup() != 1 || !w.getElementType().isF32() ||
          conv.getLmul() || !conv.getWeight().getDefiningOp<ConstantOp>() ||
          w.getDimSize(0) < minChannels || w.getDimSize(1) < minChannels)
        return;
      conv.setWinograd(true);
    });
  }
};

} // namespace
