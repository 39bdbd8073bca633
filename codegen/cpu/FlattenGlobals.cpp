//===- FlattenGlobals.cpp - 1-D constant globals --------------------------===//
//
// Part of kiln.
//
//===----------------------------------------------------------------------===//

#include "codegen/Passes.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/BuiltinDialect.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/StringMap.h"

namespace mlir::kiln {
#define GEN_PASS_DEF_KILNFLATTENGLOBALSPASS
#include "codegen/Passes.h.inc"
} // namespace mlir::kiln

using namespace mlir;

namespace {
/// The same elements with a 1-D type, or null if not expressible.
ElementsAttr flatten(ElementsAttr value, RankedTensorType flat) {
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(value))
    return DenseResourceElementsAttr::get(flat, resource.getRawHandle());
  if (auto dense = dyn_cast<DenseElementsAttr>(value))
    return dense.reshape(flat);
  return {};
}

struct KilnFlattenGlobalsPass
    : kiln::impl::KilnFlattenGlobalsPassBase<KilnFlattenGlobalsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    llvm::StringMap<MemRefType> original;
    for (auto global : module.getOps<memref::GlobalOp>()) {
      MemRefType type = global.getType();
      auto value = dyn_cast_if_present<ElementsAttr>(global.getInitialValueAttr());
      if (!global.getConstant() || type.getRank() < 2 ||
          !type.hasStaticShape() || !type.getLayout().isIdentity() || !value)
        continue;
      auto flatType = MemRefType::get({type.getNumElements()},
                                      type.getElementType(), AffineMap(),
                                      type.getMemorySpace());
      ElementsAttr flat = flatten(
          value, RankedTensorType::get({type.getNumElements()},
                                       type.getElementType()));
      if (!flat)
        continue;
      global.setType(flatType);
      global.setInitialValueAttr(flat);
      original[global.getSymName()] = type;
    }
    module.walk([&](memref::GetGlobalOp get) {
      auto it = original.find(get.getName());
      if (it == original.end())
        return;
      MemRefType type = it->second;
      OpBuilder builder(get);
      builder.setInsertionPointAfter(get);
      get.getResult().setType(MemRefType::get({type.getNumElements()},
                                              type.getElementType(),
                                              AffineMap(),
                                              type.getMemorySpace()));
      ReassociationIndices all;
      for (int64_t i = 0; i < type.getRank(); ++i)
        all.push_back(i);
      auto expand = memref::ExpandShapeOp::create(builder, get.getLoc(), type,
                                                  get.getResult(),
                                                  ArrayRef<ReassociationIndices>{all});
      get.getResult().replaceAllUsesExcept(expand.getResult(), expand);
    });
  }
};
} // namespace
