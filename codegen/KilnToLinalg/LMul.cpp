//===- LMul.cpp - L-Mul products as integer arith ---------------*- C++ -*-===//
//
// Part of kiln. The scalar body of an L-Mul product (`#kiln.lmul`): the
// steps of dialects/Kiln/LMulNumerics.h spelled as arith ops on i32
// (bitcast, and/or/xor, shifts, addi/subi, unsigned compares, select). No
// calls and no branches, so inside a linalg.generic the loop vectorizes to
// integer SIMD like any other elementwise code, and it is correct with any
// thread count (it has no state).
//
//===----------------------------------------------------------------------===//

#include "codegen/KilnToLinalg/Lowering.h"
#include "dialects/Kiln/LMulNumerics.h"
#include "mlir/Dialect/Arith/IR/Arith.h"

using namespace mlir;
using namespace mlir::kiln;

namespace {
/// Builds the i32 arithmetic of one L-Mul.
class LMulBuilder {
public:
  LMulBuilder(OpBuilder &b, Location loc, const lmul::Params &p)
      : b(b), loc(loc), p(p), i32(b.getI32Type()) {}

  /// The product; `prepared`: both operands already went through
  /// `preparedOperand` (step 1 is then the identity and is skipped).
  Value product(Value x, Value y, bool prepared) {
    Value ux = bitcast(x), uy = bitcast(y);
    Value sign = andi(xori(ux, uy), c(lmul::kSignMask));
    Value ax = andi(ux, c(lmul::kAbsMask)), ay = andi(uy, c(lmul::kAbsMask));
    Value a = prepared ? ax : prepare(ax), bb = prepared ? ay : prepare(ay);
    Value zero = c(0);

    // The single integer add (the offset subtracted afterwards so that the
    // range checks see the unsigned sum); the carry into the exponent stays.
    Value t = arith::AddIOp::create(b, loc, a, bb);
    Value r = arith::SubIOp::create(b, loc, t, c(p.offset));
    Value anyZero =
        cmp(arith::CmpIPredicate::eq, arith::MinUIOp::create(b, loc, a, bb),
            zero);
    Value under = ori(anyZero, cmp(arith::CmpIPredicate::ult, t,
                                   c(p.offset + p.minNormal)));
    Value over =
        cmp(arith::CmpIPredicate::ugt, t, c(p.offset + p.maxFinite));
    Value magnitude = select(under, zero, select(over, c(p.maxFinite), r));

    // NaN and Inf operands (the larger magnitude tells): NaN * y and
    // Inf * 0 (after flushing) -> NaN; Inf * y -> Inf.
    Value inf = c(lmul::kInfBits);
    Value hi = arith::MaxUIOp::create(b, loc, ax, ay);
    Value hiInf = cmp(arith::CmpIPredicate::eq, hi, inf);
    Value nan = ori(cmp(arith::CmpIPredicate::ugt, hi, inf),
                    andi(hiInf, anyZero));
    magnitude = select(hiInf, inf, magnitude);
    magnitude = select(nan, c(lmul::kNaNBits), magnitude);
    Value bits = ori(magnitude, sign);
    return arith::BitcastOp::create(b, loc, b.getF32Type(), bits);
  }

  /// Step 1 on one operand with its sign kept, NaN and Inf passed through
  /// unchanged: an f32 that `product(.., prepared = true)` accepts. Step 1
  /// is idempotent, so preparing once per tensor element instead of once
  /// per product gives the same bits.
  Value preparedOperand(Value x) {
    Value ux = bitcast(x);
    Value ax = andi(ux, c(lmul::kAbsMask));
    Value special = cmp(arith::CmpIPredicate::uge, ax, c(lmul::kInfBits));
    Value bits = ori(prepare(ax), andi(ux, c(lmul::kSignMask)));
    return arith::BitcastOp::create(b, loc, b.getF32Type(),
                                    select(special, ux, bits));
  }

private:
  /// Rounds a magnitude to k mantissa bits, saturates, flushes to zero.
  Value prepare(Value a) {
    if (p.mantissa < 23) {
      unsigned shift = 23 - p.mantissa;
      if (p.rounding == lmul::Rounding::Nearest) {
        // Ties to even: add 0x7f..f plus the lowest kept bit.
        Value lsb = andi(arith::ShRUIOp::create(b, loc, a, c(shift)), c(1));
        a = arith::AddIOp::create(
            b, loc, a,
            arith::AddIOp::create(b, loc, c((uint32_t(1) << (shift - 1)) - 1),
                                  lsb));
      }
      a = andi(a, c(~p.dropMask()));
    }
    a = arith::MinUIOp::create(b, loc, a, c(p.maxFinite));
    return select(cmp(arith::CmpIPredicate::ult, a, c(p.minNormal)), c(0), a);
  }

  Value bitcast(Value x) {
    if (x.getType() != b.getF32Type())
      x = lowering::convertScalar(b, loc, x, b.getF32Type());
    return arith::BitcastOp::create(b, loc, i32, x);
  }
  Value c(uint32_t v) {
    return arith::ConstantOp::create(b, loc,
                                     b.getIntegerAttr(i32, int32_t(v)));
  }
  Value andi(Value x, Value y) { return arith::AndIOp::create(b, loc, x, y); }
  Value ori(Value x, Value y) { return arith::OrIOp::create(b, loc, x, y); }
  Value xori(Value x, Value y) { return arith::XOrIOp::create(b, loc, x, y); }
  Value cmp(arith::CmpIPredicate pred, Value x, Value y) {
    return arith::CmpIOp::create(b, loc, pred, x, y);
  }
  Value select(Value cond, Value x, Value y) {
    return arith::SelectOp::create(b, loc, cond, x, y);
  }

  OpBuilder &b;
  Location loc;
  const lmul::Params &p;
  Type i32;
};
} // namespace

Value mlir::kiln::lowering::buildLMulProduct(OpBuilder &b, Location loc,
                                             Value x, Value y, LMulAttr mode,
                                             bool prepared) {
  lmul::Params params = mode.getParams();
  return LMulBuilder(b, loc, params).product(x, y, prepared);
}

Value mlir::kiln::lowering::prepareLMulOperand(OpBuilder &b, Location loc,
                                               Value tensor, LMulAttr mode) {
  lmul::Params params = mode.getParams();
  auto type = cast<RankedTensorType>(tensor.getType());
  return buildElementwise(
      b, loc, RankedTensorType::get(type.getShape(), b.getF32Type()), tensor,
      [&](OpBuilder &nb, Location nloc, ValueRange x) {
        return LMulBuilder(nb, nloc, params).preparedOperand(x[0]);
      });
}
