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
#include <type_traits>

using namespace mlir;
using namespace mlir::kiln;

namespace {

/// The elements of a kiln.constant of element type `element` (dense or
/// resource blob) as `T`s, or nullopt.
template <typename T>
std::optional<std::vector<T>> constantValues(Value v, Type element) {
  auto constant = v.getDefiningOp<kiln::ConstantOp>();
  if (!constant)
    return std::nullopt;
  auto attr = dyn_cast<ElementsAttr>(constant.getValue());
  if (!attr || attr.getElementType() != element)
    return std::nullopt;
  int64_t count = attr.getNumElements();
  std::vector<T> values(count);
  if (auto dense = dyn_cast<DenseElementsAttr>(attr)) {
    int64_t i = 0;
    if constexpr (std::is_floating_point_v<T>)
      for (float x : dense.getValues<float>())
        values[i++] = x;
    else
      for (const APInt &x : dense.getValues<APInt>())
        values[i++] = T(x.getSExtValue());
    return values;
  }
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(attr)) {
    AsmResourceBlob *blob = resource.getRawHandle().getBlob();
    if (!blob || int64_t(blob->getData().size()) != count * int64_t(sizeof(T)))
      return std::nullopt;
    std::memcpy(values.data(), blob->getData().data(), count * sizeof(T));
    return values;
  }
  return std::nullopt;
}

} // namespace

std::optional<std::vector<float>> mlir::kiln::constantF32Values(Value v) {
  return constantValues<float>(v, Float32Type::get(v.getContext()));
}

std::optional<std::vector<int8_t>> mlir::kiln::constantI8Values(Value v) {
  return constantValues<int8_t>(v, IntegerType::get(v.getContext(), 8));
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
