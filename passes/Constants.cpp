//===- Constants.cpp - reading and making kiln.constant values ------------===//
//
// Part of kiln.
//
//===----------------------------------------------------------------------===//

#include "passes/Constants.h"

#include "dialects/Kiln/KilnOps.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"

#include <cstring>

using namespace mlir;
using namespace mlir::kiln;

std::optional<std::vector<float>> mlir::kiln::constantF32Values(Value v) {
  auto constant = v.getDefiningOp<kiln::ConstantOp>();
  if (!constant)
    return std::nullopt;
  auto attr = dyn_cast<ElementsAttr>(constant.getValue());
  if (!attr || !attr.getElementType().isF32())
    return std::nullopt;
  int64_t count = attr.getNumElements();
  std::vector<float> values(count);
  if (auto dense = dyn_cast<DenseElementsAttr>(attr)) {
    auto it = dense.getValues<float>().begin();
    for (int64_t i = 0; i < count; ++i, ++it)
      values[i] = *it;
    return values;
  }
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(attr)) {
    AsmResourceBlob *blob = resource.getRawHandle().getBlob();
    if (!blob || int64_t(blob->getData().size()) != count * 4)
      return std::nullopt;
    std::memcpy(values.data(), blob->getData().data(), count * 4);
    return values;
  }
  return std::nullopt;
}

Value mlir::kiln::createConstant(OpBuilder &b, Location loc,
                                 RankedTensorType type, ArrayRef<char> bytes,
                                 StringRef name) {
  Attribute attr;
  if (type.getNumElements() <= 64) {
    bool detectedSplat = false;
    if (DenseElementsAttr::isValidRawBuffer(type, bytes, detectedSplat))
      attr = DenseElementsAttr::getFromRawBuffer(type, bytes);
  }
  if (!attr)
    attr = DenseResourceElementsAttr::get(
        type, name, HeapAsmResourceBlob::allocateAndCopyInferAlign(bytes));
  return kiln::ConstantOp::create(b, loc, cast<ElementsAttr>(attr)).getResult();
}
