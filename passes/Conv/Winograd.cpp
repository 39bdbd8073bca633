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
      // Measured on Zen 5 (1 thread), chains of 8 equal convs as in a
      // model (bench/perf/conv_shapes.py --chain 8), Winograd / direct:
      // 64 channels at 56x56 0.83, 128 at 28x28 0.58, 256 at 14x14 1.12,
      // 512 at 7x7 2.28 (alone, with hot weights, every one is faster).
      auto y = cast<RankedTensorType>(conv.getType());
      if (y.getDimSize(2) * y.getDimSize(3) < minPixels)
        return;
      conv.setWinograd(true);
    });
  }
};

} // namespace
