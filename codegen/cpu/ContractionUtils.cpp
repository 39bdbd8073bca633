//===- ContractionUtils.cpp - shared pieces of the CPU kernels ------------===//
//
// Part of kiln.
//
//===----------------------------------------------------------------------===//

#include "codegen/cpu/ContractionUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/SymbolTable.h"

#include <cstring>

using namespace mlir;

namespace mlir::kiln {

/// The body is `out + in0 * in1` in f32 (either operand order).
bool isMultiplyAccumulate(linalg::GenericOp op) {
  Block &body = op.getRegion().front();
  if (body.getNumArguments() != 3 || body.getOperations().size() != 3)
    return false;
  auto yield = cast<linalg::YieldOp>(body.getTerminator());
  auto add = yield.getOperand(0).getDefiningOp<arith::AddFOp>();
  if (!add)
    return false;
  Value acc = body.getArgument(2);
  Value product = add.getLhs() == acc ? add.getRhs() : add.getLhs();
  if (add.getLhs() != acc && add.getRhs() != acc)
    return false;
  auto mul = product.getDefiningOp<arith::MulFOp>();
  if (!mul)
    return false;
  Value x = body.getArgument(0), y = body.getArgument(1);
  return (mul.getLhs() == x && mul.getRhs() == y) ||
         (mul.getLhs() == y && mul.getRhs() == x);
}

/// The f32 values of a constant global, or nullopt.
std::optional<std::vector<float>> readF32Global(memref::GlobalOp global) {
  if (!global || !global.getConstant() || !global.getInitialValue())
    return std::nullopt;
  Attribute init = *global.getInitialValue();
  auto type = cast<MemRefType>(global.getType());
  int64_t count = type.getNumElements();
  std::vector<float> values(count);
  if (auto dense = dyn_cast<DenseElementsAttr>(init)) {
    if (!dense.getElementType().isF32())
      return std::nullopt;
    if (dense.isSplat()) {
      std::fill(values.begin(), values.end(), dense.getSplatValue<float>());
      return values;
    }
    auto it = dense.getValues<float>().begin();
    for (int64_t i = 0; i < count; ++i, ++it)
      values[i] = *it;
    return values;
  }
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(init)) {
    AsmResourceBlob *blob = resource.getRawHandle().getBlob();
    if (!blob || !resource.getElementType().isF32())
      return std::nullopt;
    ArrayRef<char> data = blob->getData();
    if (int64_t(data.size()) != count * 4)
      return std::nullopt;
    std::memcpy(values.data(), data.data(), data.size());
    return values;
  }
  return std::nullopt;
}

memref::GlobalOp constantGlobalOf(Value value) {
  // Reshapes of a global keep its row-major data.
  while (true) {
    if (auto e = value.getDefiningOp<memref::ExpandShapeOp>())
      value = e.getSrc();
    else if (auto c = value.getDefiningOp<memref::CollapseShapeOp>())
      value = c.getSrc();
    else
      break;
  }
  auto get = value.getDefiningOp<memref::GetGlobalOp>();
  if (!get)
    return {};
  auto global = SymbolTable::lookupNearestSymbolFrom<memref::GlobalOp>(
      get, get.getNameAttr());
  if (!global || !global.getConstant())
    return {};
  return global;
}

memref::GlobalOp createConstantGlobal(memref::GlobalOp near, StringRef name,
                                      ArrayRef<int64_t> shape,
                                      ArrayRef<float> data) {
  OpBuilder b(near.getContext());
  b.setInsertionPointAfter(near);
  auto type = MemRefType::get(shape, b.getF32Type());
  auto tensorType = RankedTensorType::get(shape, b.getF32Type());
  auto attr = DenseResourceElementsAttr::get(
      tensorType, name, HeapAsmResourceBlob::allocateAndCopyInferAlign(data));
  auto result = memref::GlobalOp::create(
      b, near.getLoc(), b.getStringAttr(name), b.getStringAttr("private"),
      TypeAttr::get(type), attr, b.getUnitAttr(), b.getI64IntegerAttr(64));
  // Already in the module: the table only renames it if the name is taken.
  SymbolTable(near->getParentOfType<ModuleOp>()).insert(result);
  return result;
}

} // namespace mlir::kiln
