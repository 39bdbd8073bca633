//===- EmptyTensorBoundary.cpp - zero-element entry tensors ---------------===//
//
// Part of kiln.
//
//===----------------------------------------------------------------------===//

#include "codegen/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinOps.h"

namespace mlir::kiln {
#define GEN_PASS_DEF_KILNEMPTYTENSORBOUNDARYPASS
#include "codegen/Passes.h.inc"
} // namespace mlir::kiln

using namespace mlir;

namespace {
bool isZeroElementNd(Type type) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  return tensor && tensor.hasStaticShape() && tensor.getNumElements() == 0 &&
         tensor.getRank() != 1;
}

RankedTensorType flatType(Type type) {
  return RankedTensorType::get({0},
                               cast<RankedTensorType>(type).getElementType());
}

struct KilnEmptyTensorBoundaryPass
    : kiln::impl::KilnEmptyTensorBoundaryPassBase<KilnEmptyTensorBoundaryPass> {
  void runOnOperation() override {
    for (auto func : getOperation().getOps<func::FuncOp>()) {
      if (!func->hasAttr("kiln.entry") || func.isExternal())
        continue;
      FunctionType type = func.getFunctionType();
      SmallVector<Type> inputs(type.getInputs()), results(type.getResults());
      bool changed = false;
      Block &entry = func.getBody().front();
      OpBuilder builder(&entry, entry.begin());
      for (unsigned i = 0; i < inputs.size(); ++i) {
        if (!isZeroElementNd(inputs[i]))
          continue;
        // Nothing is ever read from it: its uses see an empty tensor.
        auto original = cast<RankedTensorType>(inputs[i]);
        Value empty = tensor::EmptyOp::create(builder, func.getLoc(),
                                              original.getShape(),
                                              original.getElementType());
        BlockArgument arg = entry.getArgument(i);
        arg.replaceAllUsesWith(empty);
        inputs[i] = flatType(original);
        arg.setType(inputs[i]);
        changed = true;
      }
      for (unsigned i = 0; i < results.size(); ++i) {
        if (!isZeroElementNd(results[i]))
          continue;
        results[i] = flatType(results[i]);
        changed = true;
      }
      if (!changed)
        continue;
      func.walk([&](func::ReturnOp ret) {
        OpBuilder b(ret);
        for (OpOperand &operand : ret->getOpOperands())
          if (isZeroElementNd(operand.get().getType()))
            operand.set(tensor::EmptyOp::create(
                b, ret.getLoc(), ArrayRef<int64_t>{0},
                cast<RankedTensorType>(operand.get().getType())
                    .getElementType()));
      });
      func.setType(FunctionType::get(&getContext(), inputs, results));
    }
  }
};
} // namespace
