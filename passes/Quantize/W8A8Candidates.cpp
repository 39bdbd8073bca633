//===- W8A8Candidates.cpp - the matmuls w8a8 quantizes --------------------===//
//
// Part of kiln.
//
//===----------------------------------------------------------------------===//

#include "passes/Quantize/W8A8Candidates.h"

using namespace mlir;
using namespace mlir::kiln;

bool mlir::kiln::isW8A8Candidate(MatMulOp op, int64_t minWeights) {
  auto lt = dyn_cast<RankedTensorType>(op.getLhs().getType());
  auto rt = dyn_cast<RankedTensorType>(op.getRhs().getType());
  if (!lt || !rt || op.getLmulAttr() || lt.getRank() < 2 || rt.getRank() != 2 ||
      !lt.getElementType().isF32() || !rt.getElementType().isF32() ||
      !rt.hasStaticShape() || rt.getNumElements() < minWeights)
    return false;
  auto constant = op.getRhs().getDefiningOp<kiln::ConstantOp>();
  return constant && isa<ElementsAttr>(constant.getValue());
}

SmallVector<MatMulOp> mlir::kiln::w8a8Candidates(Operation *root,
                                                 int64_t minWeights) {
  SmallVector<MatMulOp> candidates;
  root->walk([&](MatMulOp op) {
    if (isW8A8Candidate(op, minWeights))
      candidates.push_back(op);
  });
  return candidates;
}

std::string mlir::kiln::calibrationOutputName(int64_t index) {
  return "kiln_calibration_" + std::to_string(index);
}
