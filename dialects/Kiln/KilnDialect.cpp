//===- KilnDialect.cpp - kiln dialect registration ------------------------===//
//
// Part of kiln.
//
//===----------------------------------------------------------------------===//

#include "dialects/Kiln/KilnDialect.h"
#include "dialects/Kiln/KilnAttrs.h"
#include "dialects/Kiln/KilnOps.h"

using namespace mlir;
using namespace mlir::kiln;

#include "dialects/Kiln/KilnDialect.cpp.inc"

void KilnDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "dialects/Kiln/KilnOps.cpp.inc"
      >();
  registerAttributes();
}

Operation *KilnDialect::materializeConstant(OpBuilder &builder, Attribute value,
                                            Type type, Location loc) {
  auto elements = dyn_cast<ElementsAttr>(value);
  if (!elements || elements.getType() != type)
    return nullptr;
  return ConstantOp::create(builder, loc, type, elements);
}
