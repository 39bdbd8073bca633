//===- SmoothQuant.cpp - kiln-smooth-quant --------------------------------===//
//
// Part of kiln. SmoothQuant for the matmuls w8a8 quantizes: per input
// channel, divide the activation by s_j and multiply the weight row by it
// (formula in Passes.td), so that the per-tensor int8 scale of the
// activation is not set by a few outlier channels.
//
//===----------------------------------------------------------------------===//

#include "passes/Constants.h"
#include "passes/Quantize/Calibration.h"
#include "passes/Quantize/W8A8Candidates.h"
#include "passes/Quantize/Passes.h"

#include "llvm/ADT/MapVector.h"

#include <algorithm>
#include <cmath>

namespace mlir::kiln {
#define GEN_PASS_DEF_KILNSMOOTHQUANTPASS
#include "passes/Quantize/Passes.h.inc"
} // namespace mlir::kiln

using namespace mlir;
using namespace mlir::kiln;

namespace {

struct KilnSmoothQuantPass
    : kiln::impl::KilnSmoothQuantPassBase<KilnSmoothQuantPass> {
  using KilnSmoothQuantPassBase::KilnSmoothQuantPassBase;

  void runOnOperation() override {
    Operation *root = getOperation();
    if (!(alpha >= 0.0 && alpha <= 1.0)) {
      root->emitError() << "kiln-smooth-quant: alpha must be in [0, 1], got "
                        << alpha;
      return signalPassFailure();
    }
    SmallVector<MatMulOp> candidates = w8a8Candidates(root, minWeights);
    size_t total = 0;
    for (MatMulOp op : candidates)
      total += cast<RankedTensorType>(op.getRhs().getType()).getDimSize(0);
    if (channelMaxima.size() != total) {
      root->emitError()
          << "kiln-smooth-quant: channel-maxima has " << channelMaxima.size()
          << " values but the " << candidates.size()
          << " matmuls to quantize have " << total
          << " input channels in all; calibrate the same module with the "
             "same min-weights";
      return signalPassFailure();
    }
    // Candidates reading the same activation share its factors.
    llvm::MapVector<Value, SmallVector<std::pair<MatMulOp, size_t>>> groups;
    size_t offset = 0;
    for (MatMulOp op : candidates) {
      groups[op.getLhs()].push_back({op, offset});
      offset += cast<RankedTensorType>(op.getRhs().getType()).getDimSize(0);
    }
    for (auto &[x, members] : groups)
      if (failed(smooth(x, members)))
        return signalPassFailure();
  }

  LogicalResult smooth(Value x,
                       MutableArrayRef<std::pair<MatMulOp, size_t>> members) {
    int64_t k = cast<RankedTensorType>(members.front().first.getRhs().getType())
                    .getDimSize(0);
    std::vector<float> xMax(k, 0.0f), wMax(k, 0.0f);
    SmallVector<std::vector<float>> weights;
    for (auto &[op, offset] : members) {
      for (int64_t j = 0; j < k; ++j)
        xMax[j] = std::max(xMax[j], float(channelMaxima[offset + j]));
      std::optional<std::vector<float>> w = constantF32Values(op.getRhs());
      if (!w)
        return op.emitError("kiln-smooth-quant: cannot read the matmul's "
                            "constant weights");
      int64_t n = cast<RankedTensorType>(op.getRhs().getType()).getDimSize(1);
      for (int64_t j = 0; j < k; ++j)
        for (int64_t c = 0; c < n; ++c)
          wMax[j] = std::max(wMax[j], std::fabs((*w)[j * n + c]));
      weights.push_back(std::move(*w));
    }
    std::vector<float> s = smoothingFactors(xMax, wMax, alpha);

    // Weights: row j times s_j.
    for (auto [i, member] : llvm::enumerate(members)) {
      MatMulOp op = member.first;
      auto rt = cast<RankedTensorType>(op.getRhs().getType());
      int64_t n = rt.getDimSize(1);
      std::vector<float> &w = weights[i];
      for (int64_t j = 0; j < k; ++j)
        for (int64_t c = 0; c < n; ++c)
          w[j * n + c] *= s[j];
      OpBuilder b(op);
      op.getRhsMutable().assign(
          createConstant(b, op.getLoc(), rt, w, "smoothquant_weights"));
      ++numSmoothed;
    }

    // Activations: channel j divided by s_j, in the LayerNorm when it only
    // feeds this group, else by a multiply the group reads.
    auto isMember = [&](OpOperand &use) {
      return use.getOperandNumber() == 0 && llvm::any_of(members, [&](auto &m) {
               return m.first == use.getOwner();
             });
    };
    auto norm = x.getDefiningOp<LayerNormOp>();
    if (norm && norm.getAxis() == norm.getInput().getType().getRank() - 1 &&
        llvm::all_of(x.getUses(), isMember)) {
      std::optional<std::vector<float>> gamma =
          constantF32Values(norm.getScale());
      std::optional<std::vector<float>> beta =
          constantF32Values(norm.getBias());
      if (gamma && beta && int64_t(gamma->size()) == k &&
          int64_t(beta->size()) == k) {
        for (int64_t j = 0; j < k; ++j) {
          (*gamma)[j] /= s[j];
          (*beta)[j] /= s[j];
        }
        OpBuilder b(norm);
        auto type = cast<RankedTensorType>(norm.getScale().getType());
        norm.getScaleMutable().assign(createConstant(
            b, norm.getLoc(), type, *gamma, "smoothquant_gamma"));
        norm.getBiasMutable().assign(
            createConstant(b, norm.getLoc(), type, *beta, "smoothquant_beta"));
        ++numFolded;
        return success();
      }
    }
    std::vector<float> inverse(k);
    for (int64_t j = 0; j < k; ++j)
      inverse[j] = 1.0f / s[j];
    OpBuilder b(&getContext());
    if (Operation *def = x.getDefiningOp())
      b.setInsertionPointAfter(def);
    else
      b.setInsertionPointToStart(x.getParentBlock());
    Location loc = members.front().first.getLoc();
    Value factors =
        createConstant(b, loc, RankedTensorType::get({k}, b.getF32Type()),
                       inverse, "smoothquant_inverse");
    Value smoothed = MulOp::create(b, loc, x, factors).getResult();
    for (auto &[op, offset] : members)
      op.getLhsMutable().assign(smoothed);
    return success();
  }
};

} // namespace
