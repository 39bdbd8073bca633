//===- ProtectInputs.cpp - entry inputs are read-only ---------------------===//
//
// Part of kiln.
//
//===----------------------------------------------------------------------===//

#include "codegen/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"

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
      for (unsigned i = 0, e = func.getNumArguments(); i < e; ++i)
        if (isa<TensorType>(func.getArgument(i).getType()))
          func.setArgAttr(i, "bufferization.writable", readOnly);
    }
  }
};
} // namespace
