//===- KilnAttrs.cpp - kiln dialect attributes ----------------------------===//
//
// Part of kiln.
//
//===----------------------------------------------------------------------===//

#include "dialects/Kiln/KilnAttrs.h"

#include "dialects/Kiln/KilnDialect.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Diagnostics.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::kiln;

#define GET_ATTRDEF_CLASSES
#include "dialects/Kiln/KilnAttrs.cpp.inc"

void KilnDialect::registerAttributes() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "dialects/Kiln/KilnAttrs.cpp.inc"
      >();
}

//===----------------------------------------------------------------------===//
// LMulAttr
//===----------------------------------------------------------------------===//

LogicalResult LMulAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                               StringRef format, unsigned mantissa,
                               StringRef rounding) {
  std::optional<lmul::Format> f =
      lmul::lookupFormat(std::string_view(format.data(), format.size()));
  if (!f)
    return emitError() << "unknown L-Mul format \"" << format
                       << "\" (expected one of "
                       << StringRef(lmul::kFormatList.data(),
                                    lmul::kFormatList.size())
                       << ")";
  if (mantissa < 1 || mantissa > f->mantissaBits)
    return emitError() << "L-Mul mantissa " << mantissa << " out of range 1.."
                       << f->mantissaBits << " for format \"" << format
                       << "\"";
  if (!lmul::parseRounding(std::string_view(rounding.data(), rounding.size())))
    return emitError() << "unknown L-Mul rounding \"" << rounding
                       << "\" (expected \"nearest\" or \"truncate\")";
  return success();
}

lmul::Params LMulAttr::getParams() const {
  StringRef format = getFormat(), rounding = getRounding();
  std::optional<lmul::Format> f =
      lmul::lookupFormat(std::string_view(format.data(), format.size()));
  std::optional<lmul::Rounding> r =
      lmul::parseRounding(std::string_view(rounding.data(), rounding.size()));
  std::optional<lmul::Params> p = lmul::makeParams(
      f.value_or(lmul::kFormats[0]), getMantissa(),
      r.value_or(lmul::Rounding::Nearest));
  return p.value_or(lmul::Params());
}

LogicalResult
WeightQuantAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                        unsigned bits, int64_t groupSize) {
  if (bits < 2 || bits > 8)
    return emitError() << "weight bits " << bits << " out of range 2..8";
  if (groupSize < 1)
    return emitError() << "group size " << groupSize << " must be positive";
  return success();
}
