//===- SmallFloats.cpp - 8- and 4-bit float conversions -------------------===//
//
// Part of kiln. LLVM has no arithmetic for the OCP 8-bit floats (E4M3FN,
// E5M2 and their FNUZ variants) or E2M1, so kiln converts them to and from
// f32 with integer arithmetic on their bit patterns, inside the linalg
// bodies:
//
//  - decode: value = significand * 2^(exponent - bias - mantissa bits), the
//    significand with its implicit bit unless the exponent field is 0
//    (subnormals); then the sign and the type's NaN / infinity codes. Exact.
//  - encode: with e = max(floor(log2 |x|), emin), q = roundeven(|x| * 2^(m -
//    e)) is the significand rounded to nearest even, and q + ((e + bias - 1)
//    << m) is the magnitude code (subnormals, and the carry into the next
//    binade, fall out of the same formula). Codes above the largest finite
//    one overflow: to the largest finite value when saturating, else to
//    infinity (E5M2) or NaN. |x| is clamped first so no intermediate
//    overflows.
//
// Results match ml_dtypes (ONNX's reference) for every f32 input; FNUZ
// types have no negative zero and one NaN (0x80); NaN becomes -0 in E2M1,
// which has no NaN.
//
//===----------------------------------------------------------------------===//

#include "codegen/KilnToLinalg/Lowering.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"

#include <limits>

using namespace mlir;
using namespace mlir::kiln;
using namespace mlir::kiln::lowering;

namespace {

enum class NanStyle {
  /// E5M2: IEEE-like, all-ones exponent is infinity (mantissa 0) or NaN.
  Ieee,
  /// E4M3FN: no infinity; all-ones exponent and mantissa is NaN.
  AllOnes,
  /// FNUZ: no infinity, no negative zero; the negative-zero code is NaN.
  NegativeZero,
  /// E2M1: no infinity, no NaN.
  None
};

struct SmallFloatFormat {
  unsigned width;
  unsigned mantissa;
  int bias;
  NanStyle nan;
  uint32_t maxCode;  // largest finite magnitude
  uint32_t nanCode;  // canonical NaN (sign bit clear)
  uint32_t infCode;  // +inf (Ieee only)
};

std::optional<SmallFloatFormat> formatOf(Type type) {
  if (isa<Float8E4M3FNType>(type))
    return SmallFloatFormat{8, 3, 7, NanStyle::AllOnes, 0x7E, 0x7F, 0};
  if (isa<Float8E5M2Type>(type))
    return SmallFloatFormat{8, 2, 15, NanStyle::Ieee, 0x7B, 0x7E, 0x7C};
  if (isa<Float8E4M3FNUZType>(type))
    return SmallFloatFormat{8, 3, 8, NanStyle::NegativeZero, 0x7F, 0x80, 0};
  if (isa<Float8E5M2FNUZType>(type))
    return SmallFloatFormat{8, 2, 16, NanStyle::NegativeZero, 0x7F, 0x80, 0};
  if (isa<Float4E2M1FNType>(type))
    return SmallFloatFormat{4, 1, 1, NanStyle::None, 0x7, 0, 0};
  return std::nullopt;
}

Value i32Const(OpBuilder &b, Location loc, int64_t v) {
  return arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(v));
}

/// 2^exp as f32, exp an i32 in [-126, 127].
Value powerOfTwo(OpBuilder &b, Location loc, Value exp) {
  Value biased = arith::AddIOp::create(b, loc, exp, i32Const(b, loc, 127));
  Value bits = arith::ShLIOp::create(b, loc, biased, i32Const(b, loc, 23));
  return arith::BitcastOp::create(b, loc, b.getF32Type(), bits);
}

Value eq(OpBuilder &b, Location loc, Value x, int64_t v) {
  return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, x,
                               i32Const(b, loc, v));
}

} // namespace

bool mlir::kiln::lowering::isSmallFloat(Type type) {
  return formatOf(type).has_value() || isa<Float8E8M0FNUType>(type);
}

namespace {
/// E8M0: the byte is a biased exponent, 2^(b - 127); 0xFF is NaN. 2^-127 is
/// an f32 subnormal.
Value e8m0ToF32(OpBuilder &b, Location loc, Value value) {
  Value raw = arith::BitcastOp::create(b, loc, b.getI8Type(), value);
  Value e = arith::ExtUIOp::create(b, loc, b.getI32Type(), raw);
  Value bits = arith::ShLIOp::create(b, loc, e, i32Const(b, loc, 23));
  bits = arith::SelectOp::create(b, loc, eq(b, loc, e, 0),
                                 i32Const(b, loc, 0x00400000), bits);
  bits = arith::SelectOp::create(b, loc, eq(b, loc, e, 0xFF),
                                 i32Const(b, loc, 0x7FC00000), bits);
  return arith::BitcastOp::create(b, loc, b.getF32Type(), bits);
}

/// E8M0 from f32, as onnx.numpy_helper.to_float8e8m0: the f32 exponent
/// field, rounded up when any mantissa bit is set ("up"), never ("down"),
/// or by the guard/round/sticky bits ("nearest"); NaN and infinities give
/// 0xFF; with `saturate` the largest exponent does not round up into 0xFF.
/// The sign is ignored.
Value f32ToE8M0(OpBuilder &b, Location loc, Value value, bool saturate,
                StringRef roundMode) {
  auto c32 = [&](int64_t v) { return i32Const(b, loc, v); };
  Value bits = arith::BitcastOp::create(b, loc, b.getI32Type(), value);
  Value exp = arith::AndIOp::create(
      b, loc, arith::ShRUIOp::create(b, loc, bits, c32(23)), c32(0xFF));
  Value special = eq(b, loc, exp, 0xFF);
  auto nonZero = [&](int64_t mask) {
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne,
                                 arith::AndIOp::create(b, loc, bits, c32(mask)),
                                 c32(0));
  };
  Value roundUp;
  if (roundMode == "up") {
    roundUp = nonZero(0x7FFFFF);
  } else if (roundMode == "nearest") {
    Value guard = nonZero(0x400000);
    Value rest = arith::OrIOp::create(
        b, loc, nonZero(0x3FFFFF),
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, exp, c32(0)));
    roundUp = arith::AndIOp::create(b, loc, guard, rest);
  }
  Value code = exp;
  if (roundUp) {
    if (saturate)
      roundUp = arith::AndIOp::create(
          b, loc, roundUp,
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, exp,
                                c32(0xFE)));
    code = arith::AddIOp::create(
        b, loc, exp, arith::ExtUIOp::create(b, loc, b.getI32Type(), roundUp));
  }
  code = arith::SelectOp::create(b, loc, special, c32(0xFF), code);
  Value narrow = arith::TruncIOp::create(b, loc, b.getI8Type(), code);
  return arith::BitcastOp::create(b, loc, b.getType<Float8E8M0FNUType>(),
                                  narrow);
}
} // namespace

Value mlir::kiln::lowering::smallFloatToF32(OpBuilder &b, Location loc,
                                            Value value) {
  if (isa<Float8E8M0FNUType>(value.getType()))
    return e8m0ToF32(b, loc, value);
  SmallFloatFormat f = *formatOf(value.getType());
  Type f32 = b.getF32Type();
  unsigned expBits = f.width - 1 - f.mantissa;
  Value raw = arith::BitcastOp::create(b, loc, b.getIntegerType(f.width),
                                       value);
  Value bits = arith::ExtUIOp::create(b, loc, b.getI32Type(), raw);
  Value sign = arith::ShRUIOp::create(b, loc, bits,
                                      i32Const(b, loc, f.width - 1));
  Value magnitude = arith::AndIOp::create(
      b, loc, bits, i32Const(b, loc, (1 << (f.width - 1)) - 1));
  Value exp = arith::ShRUIOp::create(b, loc, magnitude,
                                     i32Const(b, loc, f.mantissa));
  Value man = arith::AndIOp::create(b, loc, magnitude,
                                    i32Const(b, loc, (1 << f.mantissa) - 1));
  // The implicit bit unless subnormal; subnormals use exponent 1.
  Value isSubnormal = eq(b, loc, exp, 0);
  Value significand = arith::SelectOp::create(
      b, loc, isSubnormal, man,
      arith::OrIOp::create(b, loc, man, i32Const(b, loc, 1 << f.mantissa)));
  Value normExp = arith::MaxUIOp::create(b, loc, exp, i32Const(b, loc, 1));
  Value scaleExp = arith::SubIOp::create(
      b, loc, normExp, i32Const(b, loc, f.bias + f.mantissa));
  // One op built per statement: the order of a call's arguments is
  // unspecified (GCC and clang build them in opposite orders), and so would
  // be the order of the ops in the output.
  Value scale = powerOfTwo(b, loc, scaleExp);
  Value r = arith::MulFOp::create(
      b, loc, arith::UIToFPOp::create(b, loc, f32, significand), scale);
  Value negative = eq(b, loc, sign, 1);
  r = arith::SelectOp::create(b, loc, negative,
                              arith::NegFOp::create(b, loc, r), r);
  Value nan = arith::ConstantOp::create(
      b, loc, b.getF32FloatAttr(std::numeric_limits<float>::quiet_NaN()));
  switch (f.nan) {
  case NanStyle::Ieee: {
    Value allOnes = eq(b, loc, exp, (1 << expBits) - 1);
    Value inf = arith::SelectOp::create(
        b, loc, negative,
        arith::ConstantOp::create(
            b, loc, b.getF32FloatAttr(-std::numeric_limits<float>::infinity())),
        arith::ConstantOp::create(
            b, loc, b.getF32FloatAttr(std::numeric_limits<float>::infinity())));
    Value special = arith::SelectOp::create(b, loc, eq(b, loc, man, 0), inf,
                                            nan);
    return arith::SelectOp::create(b, loc, allOnes, special, r);
  }
  case NanStyle::AllOnes:
    return arith::SelectOp::create(
        b, loc, eq(b, loc, magnitude, (1 << (f.width - 1)) - 1), nan, r);
  case NanStyle::NegativeZero:
    return arith::SelectOp::create(b, loc, eq(b, loc, bits, f.nanCode), nan,
                                   r);
  case NanStyle::None:
    return r;
  }
  return r;
}

Value mlir::kiln::lowering::f32ToSmallFloat(OpBuilder &b, Location loc,
                                            Value value, Type to,
                                            bool saturate,
                                            StringRef roundMode) {
  if (isa<Float8E8M0FNUType>(to))
    return f32ToE8M0(b, loc, value, saturate, roundMode);
  SmallFloatFormat f = *formatOf(to);
  Type i32 = b.getI32Type();
  auto c32 = [&](int64_t v) { return i32Const(b, loc, v); };
  int emin = 1 - f.bias;
  // The largest finite value, and twice it: every |x| at or above the
  // latter overflows, so clamping there keeps the arithmetic in range.
  APFloat largest = APFloat::getLargest(cast<FloatType>(to).getFloatSemantics());
  bool lost;
  largest.convert(APFloat::IEEEsingle(), APFloat::rmNearestTiesToEven, &lost);
  float limit = 2.0f * largest.convertToFloat();

  Value bits = arith::BitcastOp::create(b, loc, i32, value);
  Value sign = arith::ShRUIOp::create(b, loc, bits, c32(31));
  Value isNan =
      arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UNO, value, value);
  Value a = math::AbsFOp::create(b, loc, value);
  a = arith::SelectOp::create(
      b, loc, isNan, arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0)),
      a);
  a = arith::MinimumFOp::create(
      b, loc, a, arith::ConstantOp::create(b, loc, b.getF32FloatAttr(limit)));
  Value aBits = arith::BitcastOp::create(b, loc, i32, a);
  Value e = arith::SubIOp::create(
      b, loc, arith::ShRUIOp::create(b, loc, aBits, c32(23)), c32(127));
  e = arith::MaxSIOp::create(b, loc, e, c32(emin));
  Value scale = powerOfTwo(
      b, loc, arith::SubIOp::create(b, loc, c32(f.mantissa), e));
  Value q = math::RoundEvenOp::create(
      b, loc, arith::MulFOp::create(b, loc, a, scale));
  Value code = arith::AddIOp::create(
      b, loc, arith::FPToUIOp::create(b, loc, i32, q),
      arith::ShLIOp::create(
          b, loc, arith::AddIOp::create(b, loc, e, c32(f.bias - 1)),
          c32(f.mantissa)));
  Value overflow = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ugt,
                                         code, c32(f.maxCode));
  uint32_t overflowCode = f.maxCode;
  if (!saturate && f.nan == NanStyle::Ieee)
    overflowCode = f.infCode;
  else if (!saturate && f.nan != NanStyle::None)
    overflowCode = f.nanCode;
  code = arith::SelectOp::create(b, loc, overflow, c32(overflowCode), code);
  if (f.nan != NanStyle::None)
    code = arith::SelectOp::create(b, loc, isNan, c32(f.nanCode), code);
  // The sign bit, except on FNUZ's zero and NaN (there is no negative zero;
  // the one NaN has the sign bit set already).
  Value signBit = arith::ShLIOp::create(b, loc, sign, c32(f.width - 1));
  if (f.nan == NanStyle::NegativeZero) {
    Value keep = arith::AndIOp::create(
        b, loc,
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, code, c32(0)),
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, code,
                              c32(f.nanCode)));
    signBit = arith::SelectOp::create(b, loc, keep, signBit, c32(0));
  }
  code = arith::OrIOp::create(b, loc, code, signBit);
  // E2M1 has no NaN: ml_dtypes (and ONNX's tests) give negative zero.
  if (f.nan == NanStyle::None)
    code = arith::SelectOp::create(b, loc, isNan, c32(1 << (f.width - 1)),
                                   code);
  Value narrow =
      arith::TruncIOp::create(b, loc, b.getIntegerType(f.width), code);
  return arith::BitcastOp::create(b, loc, to, narrow);
}
