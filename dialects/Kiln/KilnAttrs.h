//===- KilnAttrs.h - kiln dialect attributes ----------------------*- C++ -*-===//
//
// Part of kiln.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_DIALECTS_KILN_KILNATTRS_H
#define KILN_DIALECTS_KILN_KILNATTRS_H

#include "dialects/Kiln/LMulNumerics.h"
#include "mlir/IR/Attributes.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectImplementation.h"

#define GET_ATTRDEF_CLASSES
#include "dialects/Kiln/KilnAttrs.h.inc"

#endif // KILN_DIALECTS_KILN_KILNATTRS_H
