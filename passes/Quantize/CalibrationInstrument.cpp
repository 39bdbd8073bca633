//===- CalibrationInstrument.cpp - kiln-calibration-instrument ------------===//
//
// Part of kiln. Makes the activation input of every matmul that
// kiln-w8a8-quantize would take an extra result of its function, so that
// a float build run on calibration samples returns them (see Passes.td).
//
//===----------------------------------------------------------------------===//

#include "passes/Quantize/W8A8Candidates.h"
#include "passes/Quantize/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

namespace mlir::kiln {
#define GEN_PASS_DEF_KILNCALIBRATIONINSTRUMENTPASS
#include "passes/Quantize/Passes.h.inc"
} // namespace mlir::kiln

using namespace mlir;
using namespace mlir::kiln;

namespace {

struct KilnCalibrationInstrumentPass
    : kiln::impl::KilnCalibrationInstrumentPassBase<
          KilnCalibrationInstrumentPass> {
  using KilnCalibrationInstrumentPassBase::KilnCalibrationInstrumentPassBase;

  void runOnOperation() override {
    // Numbered over the whole operation, as kiln-w8a8-quantize indexes its
    // activation-ranges.
    int64_t index = 0;
    for (MatMulOp op : w8a8Candidates(getOperation(), minWeights)) {
      auto func = op->getParentOfType<func::FuncOp>();
      if (!func || !func.getBody().hasOneBlock()) {
        op.emitError("kiln-calibration-instrument: the matmul must be in a "
                     "func.func with one block");
        return signalPassFailure();
      }
      auto ret = cast<func::ReturnOp>(func.getBody().front().getTerminator());
      Value x = op.getLhs();
      ret.getOperandsMutable().append(x);
      unsigned at = func.getNumResults();
      auto name = NamedAttribute(
          StringAttr::get(&getContext(), "kiln.name"),
          StringAttr::get(&getContext(), calibrationOutputName(index++)));
      if (failed(func.insertResult(at, x.getType(),
                                   DictionaryAttr::get(&getContext(), name))))
        return signalPassFailure();
    }
  }
};

} // namespace
