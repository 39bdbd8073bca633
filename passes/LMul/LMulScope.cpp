//===- LMulScope.cpp - which products an L-Mul scope covers ---------------===//
//
// Part of kiln.
//
//===----------------------------------------------------------------------===//

#include "passes/LMul/LMulScope.h"

#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::kiln;

namespace {
bool isFloatTensor(Value v) {
  auto t = dyn_cast<RankedTensorType>(v.getType());
  return t && isa<FloatType>(t.getElementType());
}

/// Ops between Q*K^T and its softmax in the exporters' attention: scaling,
/// mask add / where, and the layout ops.
bool isScoreOp(Operation *op) {
  return isa<MulOp, DivOp, AddOp, SubOp, WhereOp, ReshapeOp, TransposeOp,
             CastOp, ExpandOp>(op);
}

/// Ops between a softmax and the matmul with V: layout only.
bool isLayoutOp(Operation *op) {
  return isa<ReshapeOp, TransposeOp, CastOp, ExpandOp>(op);
}

constexpr unsigned kMaxDepth = 8;

/// Whether `value` reaches a softmax input through score ops.
bool feedsSoftmax(Value value, unsigned depth = 0) {
  if (depth > kMaxDepth)
    return false;
  for (Operation *user : value.getUsers()) {
    if (isa<SoftmaxOp>(user))
      return true;
    if (isScoreOp(user) && user->getNumResults() == 1 &&
        feedsSoftmax(user->getResult(0), depth + 1))
      return true;
  }
  return false;
}

/// Whether `value` is a softmax's result, up to layout ops.
bool comesFromSoftmax(Value value, unsigned depth = 0) {
  Operation *def = value.getDefiningOp();
  if (!def || depth > kMaxDepth)
    return false;
  if (isa<SoftmaxOp>(def))
    return true;
  return isLayoutOp(def) && def->getNumOperands() == 1 &&
         comesFromSoftmax(def->getOperand(0), depth + 1);
}
} // namespace

std::optional<LMulScope> mlir::kiln::parseLMulScope(StringRef name) {
  if (name == "attention")
    return LMulScope::Attention;
  if (name == "matmul")
    return LMulScope::MatMul;
  if (name == "all")
    return LMulScope::All;
  return std::nullopt;
}

bool mlir::kiln::isAttentionMatMul(MatMulOp op) {
  return feedsSoftmax(op.getResult()) || comesFromSoftmax(op.getLhs()) ||
         comesFromSoftmax(op.getRhs());
}

bool mlir::kiln::inLMulScope(Operation *op, LMulScope scope) {
  return llvm::TypeSwitch<Operation *, bool>(op)
      .Case([&](MatMulOp mm) {
        return isFloatTensor(mm.getLhs()) &&
               (scope != LMulScope::Attention || isAttentionMatMul(mm));
      })
      .Case([&](Conv2DOp) { return scope != LMulScope::Attention; })
      .Case([&](MulOp mul) {
        return scope == LMulScope::All && isFloatTensor(mul.getLhs());
      })
      .Default([](Operation *) { return false; });
}
