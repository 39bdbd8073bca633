//===- Winograd.cpp - choose Winograd F(m x m, 3x3) for convolutions -----===//
//
// Part of kiln. The transforms themselves are in the lowering
// (codegen/KilnToLinalg/Winograd.cpp) and its kernels
// (codegen/cpu/WinogradKernel.cpp).
//
//===----------------------------------------------------------------------===//

#include "passes/Conv/Passes.h"

#include "costmodel/ConvAlgorithmCost.h"
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
    if (tile != 0 && tile != 2 && tile != 4) {
      getOperation()->emitError("kiln-winograd: tile must be 0, 2 or 4, not ")
          << int64_t(tile);
      return signalPassFailure();
    }
    CpuThroughput cpu = CpuThroughput::forVector(vectorBits, l2Bytes);
    getOperation()->walk([&](Conv2DOp conv) {
      auto w = cast<RankedTensorType>(conv.getWeight().getType());
      if (w.getDimSize(2) != 3 || w.getDimSize(3) != 3 ||
          !allOnes(conv.getStrides()) || !allOnes(conv.getDilations()) ||
          conv.getGroup() != 1 || !w.getElementType().isF32() ||
          conv.getLmul() || !conv.getWeight().getDefiningOp<ConstantOp>() ||
          w.getDimSize(0) < minChannels || w.getDimSize(1) < minChannels)
        return;
      auto y = cast<RankedTensorType>(conv.getType());
      if (y.getDimSize(2) * y.getDimSize(3) < minPixels)
        return;
      if (tile != 0) {
        conv.setWinograd(tile);
        return;
      }
      Conv3x3Shape shape{y.getDimSize(0), w.getDimSize(1), w.getDimSize(0),
                         y.getDimSize(2), y.getDimSize(3), bf16};
      std::vector<ConvAlgorithmEstimate> estimates =
          estimateConvAlgorithms(shape, cpu);
      const ConvAlgorithmEstimate &best = fastestConvAlgorithm(estimates);
      if (best.winogradTile)
        conv.setWinograd(best.winogradTile);
      conv->setAttr(
          "kiln.winograd_choice",
          StringAttr::get(conv.getContext(),
                          "3x3 conv " + std::to_string(shape.channels) +
                              " -> " + std::to_string(shape.filters) + " at " +
                              std::to_string(shape.outH) + "x" +
                              std::to_string(shape.outW) + ": " +
                              convAlgorithmName(best.winogradTile) + " (" +
                              describeConvAlgorithms(estimates) + ")"));
    });
  }
};

} // namespace
