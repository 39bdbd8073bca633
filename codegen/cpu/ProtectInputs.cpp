//===- ProtectInputs.cpp - entry inputs are read-only ---------------------===//
//
// Part of kiln.
//
//===----------------------------------------------------------------------===//

#include "codegen/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Matchers.h"
#include "llvm/ADT/SmallPtrSet.h"

namespace mlir::kiln {
#define GEN_PASS_DEF_KILNPROTECTINPUTSPASS
#include "codegen/Passes.h.inc"
} // namespace mlir::kiln

using namespace mlir;

namespace {
struct KilnProtectInputsPass
    : kiln::impl::KilnProtectInputsPassBase<KilnProtectInputsPass> {
  void runOnOperation() override {
    BoolAttr readOnly = BoolAttr::get(&getContext(), false);
    for (auto func : getOperation().getOps<func::FuncOp>()) {
      if (!func->hasAttr("kiln.entry") || func.isExternal())
        continue;
      // A KV cache (`kiln.state`, see kiln-kv-layout) is written in place.
      for (unsigned i = 0, e = func.getNumArguments(); i < e; ++i)
        if (isa<TensorType>(func.getArgument(i).getType()) &&
            !func.getArgAttr(i, "kiln.state"))
          func.setArgAttr(i, "bufferization.writable", readOnly);
      func.walk([](func::ReturnOp ret) { giveOutputsTheirOwnBuffers(ret); });
    }
  }

  /// Every output is written into the caller's buffer for it, so each
  /// returned value must be a tensor computed for that output alone: an
  /// input, a constant or a value returned twice gets a copy.
  static void giveOutputsTheirOwnBuffers(func::ReturnOp ret) {
    llvm::SmallPtrSet<Value, 8> seen;
    OpBuilder builder(ret);
    for (OpOperand &operand : ret->getOpOperands()) {
      Value value = operand.get();
      auto type = dyn_cast<RankedTensorType>(value.getType());
      bool shared = isa<BlockArgument>(value) ||
                    matchPattern(value, m_Constant()) ||
                    !seen.insert(value).second;
      if (!type || !shared)
        continue;
      Value empty = tensor::EmptyOp::create(builder, ret.getLoc(),
                                            type.getShape(),
                                            type.getElementType());
      operand.set(linalg::CopyOp::create(builder, ret.getLoc(), value, empty)
                      .getResult(0));
    }
  }
};
} // namespace
