//===- Emit.cpp - folding emission helpers of the ONNX importer -----------===//
//
// Part of kiln. The value-level helpers node handlers compose: each one
// evaluates its result in C++ when every operand's contents are known
// (shape arithmetic, small constants) and otherwise creates the kiln op
// after checking the operands.
//
//===----------------------------------------------------------------------===//

#include "compiler/onnx/ImporterInternal.h"

#include "dialects/Kiln/KilnOps.h"

#include "mlir/Dialect/Traits.h"
#include "mlir/IR/DialectResourceBlobManager.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace mlir::kiln;
using namespace mlir::kiln::onnx;

//===----------------------------------------------------------------------===//
// Utilities
//===----------------------------------------------------------------------===//

namespace {
int64_t numel(ArrayRef<int64_t> shape) {
  return checkedNumElements(shape).value_or(-1);
}

/// For every element of a tensor of shape `out`, the row-major index of the
/// element of a tensor of shape `in` (numpy-broadcast to `out`) it reads.
SmallVector<int64_t> broadcastIndices(ArrayRef<int64_t> in,
                                      ArrayRef<int64_t> out) {
  int64_t n = numel(out);
  SmallVector<int64_t> result(n);
  int64_t r = out.size(), ri = in.size();
  SmallVector<int64_t> strides(r, 0);
  int64_t s = 1;
  for (int64_t d = ri - 1; d >= 0; --d) {
    strides[d + (r - ri)] = in[d] == 1 ? 0 : s;
    s *= in[d];
  }
  SmallVector<int64_t> counter(r, 0);
  int64_t cur = 0;
  for (int64_t k = 0; k < n; ++k) {
    result[k] = cur;
    for (int64_t d = r - 1; d >= 0; --d) {
      ++counter[d];
      cur += strides[d];
      if (counter[d] < out[d])
        break;
      cur -= strides[d] * out[d];
      counter[d] = 0;
    }
  }
  return result;
}

bool isFloatType(Type t) { return isa<FloatType>(t); }

std::string typeText(Type t) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << t;
  return s;
}

int64_t wrapAdd(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) +
                              static_cast<uint64_t>(b));
}
int64_t wrapSub(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) -
                              static_cast<uint64_t>(b));
}
int64_t wrapMul(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) *
                              static_cast<uint64_t>(b));
}

/// Float to integer conversion as ONNX Cast does it (truncation), saturating
/// instead of overflowing and mapping NaN to 0.
int64_t floatToInt(double v) {
  if (std::isnan(v))
    return 0;
  if (v >= 9.2233720368547758e18)
    return std::numeric_limits<int64_t>::max();
  if (v <= -9.2233720368547758e18)
    return std::numeric_limits<int64_t>::min();
  return static_cast<int64_t>(v);
}
} // namespace

//===----------------------------------------------------------------------===//
// Constants
//===----------------------------------------------------------------------===//

TV GraphImporter::fromValue(Value v) {
  TV tv;
  tv.type = cast<RankedTensorType>(v.getType());
  tv.value = v;
  return tv;
}

TV GraphImporter::makeConst(RankedTensorType type, Contents data) {
  TV tv;
  tv.type = type;
  tv.data = std::make_shared<Contents>(std::move(data));
  return tv;
}

TV GraphImporter::makeSplat(RankedTensorType type, double value) {
  Type elt = type.getElementType();
  int64_t n = type.getNumElements();
  Contents one;
  if (isFloatType(elt))
    one.floats.push_back(roundToFloatType(elt, value));
  else
    one.ints.push_back(wrapToIntType(elt, floatToInt(value)));
  if (canFoldElements(elt, n)) {
    Contents c;
    if (isFloatType(elt))
      c.floats.assign(n, one.floats[0]);
    else
      c.ints.assign(n, one.ints[0]);
    return makeConst(type, std::move(c));
  }
  TV tv;
  tv.type = type;
  tv.attr = contentsToAttr(RankedTensorType::get({}, elt), one, "splat");
  tv.attr =
      cast<ElementsAttr>(cast<DenseElementsAttr>(tv.attr).resizeSplat(type));
  return tv;
}

FailureOr<Value> GraphImporter::materialize(TV &v, StringRef nameHint) {
  if (v.value)
    return v.value;
  if (!v.attr) {
    if (!v.data)
      return error() << "internal error: a value has neither an SSA value "
                        "nor contents";
    std::string name = nameHint.empty() ? nodeName + "_const" : nameHint.str();
    v.attr = contentsToAttr(v.type, *v.data, name);
  }
  v.value = ConstantOp::create(builder, loc, v.attr).getResult();
  return v.value;
}

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

FailureOr<TV> GraphImporter::emitUnary(UnaryKind kind, TV &x) {
  Type elt = x.elementType();
  bool isFloat = isFloatType(elt);
  if (kind == UnaryKind::Not && !elt.isInteger(1))
    return error() << "Not needs a bool tensor, got " << x.type;
  bool foldable =
      x.hasData() &&
      (isFloat || kind == UnaryKind::Neg || kind == UnaryKind::Abs ||
       kind == UnaryKind::Relu || kind == UnaryKind::Not);
  if (foldable) {
    Contents c;
    if (isFloat) {
      c.floats.reserve(x.data->floats.size());
      for (double v : x.data->floats) {
        double r = v;
        switch (kind) {
        case UnaryKind::Neg:
          r = -v;
          break;
        case UnaryKind::Abs:
          r = std::fabs(v);
          break;
        case UnaryKind::Sqrt:
          r = std::sqrt(v);
          break;
        case UnaryKind::Exp:
          r = std::exp(v);
          break;
        case UnaryKind::Log:
          r = std::log(v);
          break;
        case UnaryKind::Erf:
          r = std::erf(v);
          break;
        case UnaryKind::Tanh:
          r = std::tanh(v);
          break;
        case UnaryKind::Sigmoid:
          r = 1.0 / (1.0 + std::exp(-v));
          break;
        case UnaryKind::Relu:
          r = v > 0 ? v : 0.0;
          break;
        case UnaryKind::Reciprocal:
          r = 1.0 / v;
          break;
        case UnaryKind::Not:
          break;
        }
        c.floats.push_back(roundToFloatType(elt, r));
      }
    } else {
      c.ints.reserve(x.data->ints.size());
      for (int64_t v : x.data->ints) {
        int64_t r = v;
        switch (kind) {
        case UnaryKind::Neg:
          r = wrapSub(0, v);
          break;
        case UnaryKind::Abs:
          r = v < 0 ? wrapSub(0, v) : v;
          break;
        case UnaryKind::Relu:
          r = v > 0 ? v : 0;
          break;
        case UnaryKind::Not:
          r = !v;
          break;
        default:
          break;
        }
        c.ints.push_back(wrapToIntType(elt, r));
      }
    }
    return makeConst(x.type, std::move(c));
  }
  FailureOr<Value> v = materialize(x);
  if (failed(v))
    return failure();
  FailureOr<Value> r;
  switch (kind) {
  case UnaryKind::Neg:
    r = create<NegOp>(x.type, *v);
    break;
  case UnaryKind::Abs:
    r = create<AbsOp>(x.type, *v);
    break;
  case UnaryKind::Sqrt:
    r = create<SqrtOp>(x.type, *v);
    break;
  case UnaryKind::Exp:
    r = create<ExpOp>(x.type, *v);
    break;
  case UnaryKind::Log:
    r = create<LogOp>(x.type, *v);
    break;
  case UnaryKind::Erf:
    r = create<ErfOp>(x.type, *v);
    break;
  case UnaryKind::Tanh:
    r = create<TanhOp>(x.type, *v);
    break;
  case UnaryKind::Sigmoid:
    r = create<SigmoidOp>(x.type, *v);
    break;
  case UnaryKind::Relu:
    r = create<ReluOp>(x.type, *v);
    break;
  case UnaryKind::Reciprocal:
    r = create<ReciprocalOp>(x.type, *v);
    break;
  case UnaryKind::Not:
    r = create<NotOp>(x.type, *v);
    break;
  }
  if (failed(r))
    return failure();
  return fromValue(*r);
}

FailureOr<TV> GraphImporter::emitBinary(BinaryKind kind, TV &a, TV &bIn) {
  TV *b = &bIn;
  TV castB;
  Type elt = a.elementType();
  if (kind == BinaryKind::Pow && b->elementType() != elt) {
    // ONNX Pow allows another exponent type; kiln.pow wants one type.
    FailureOr<TV> c = emitCast(bIn, elt);
    if (failed(c))
      return failure();
    castB = std::move(*c);
    b = &castB;
  }
  if (b->elementType() != elt)
    return error() << "operand element types differ: " << a.type << " and "
                   << b->type;
  if ((kind == BinaryKind::And || kind == BinaryKind::Or) && !elt.isInteger(1))
    return error() << "logical ops need bool tensors, got " << a.type;
  SmallVector<int64_t> shape;
  if (!OpTrait::util::getBroadcastedShape(a.shape(), b->shape(), shape))
    return error() << "shapes " << shapeText(a.shape()) << " and "
                   << shapeText(b->shape()) << " do not broadcast";
  bool isCompare = kind == BinaryKind::Equal || kind == BinaryKind::Less ||
                   kind == BinaryKind::Greater;
  Type resultElt = isCompare ? builder.getI1Type() : elt;
  auto resultType = RankedTensorType::get(shape, resultElt);
  int64_t n = numel(shape);

  if (a.hasData() && b->hasData() && canFoldElements(resultElt, n)) {
    SmallVector<int64_t> ia = broadcastIndices(a.shape(), shape);
    SmallVector<int64_t> ib = broadcastIndices(b->shape(), shape);
    Contents c;
    if (isFloatType(elt)) {
      const auto &x = a.data->floats, &y = b->data->floats;
      for (int64_t k = 0; k < n; ++k) {
        double p = x[ia[k]], q = y[ib[k]], r = 0;
        switch (kind) {
        case BinaryKind::Add:
          r = p + q;
          break;
        case BinaryKind::Sub:
          r = p - q;
          break;
        case BinaryKind::Mul:
          r = p * q;
          break;
        case BinaryKind::Div:
          r = p / q;
          break;
        case BinaryKind::Pow:
          r = std::pow(p, q);
          break;
        case BinaryKind::Max:
          r = (std::isnan(p) || p > q) ? p : q;
          break;
        case BinaryKind::Min:
          r = (std::isnan(p) || p < q) ? p : q;
          break;
        case BinaryKind::Equal:
          r = p == q;
          break;
        case BinaryKind::Less:
          r = p < q;
          break;
        case BinaryKind::Greater:
          r = p > q;
          break;
        case BinaryKind::FMod:
          r = std::fmod(p, q);
          break;
        case BinaryKind::Mod:
          r = std::fmod(p, q);
          if (r != 0 && ((r < 0) != (q < 0)))
            r += q;
          else if (r == 0)
            r = std::copysign(0.0, q);
          break;
        case BinaryKind::And:
        case BinaryKind::Or:
          break;
        }
        if (isCompare)
          c.ints.push_back(r != 0);
        else
          c.floats.push_back(roundToFloatType(elt, r));
      }
    } else {
      const auto &x = a.data->ints, &y = b->data->ints;
      bool isUnsigned = elt.isUnsignedInteger();
      for (int64_t k = 0; k < n; ++k) {
        int64_t p = x[ia[k]], q = y[ib[k]], r = 0;
        switch (kind) {
        case BinaryKind::Add:
          r = wrapAdd(p, q);
          break;
        case BinaryKind::Sub:
          r = wrapSub(p, q);
          break;
        case BinaryKind::Mul:
          r = wrapMul(p, q);
          break;
        case BinaryKind::Div:
          if (q == 0)
            return error() << "integer division by zero in constant data";
          if (isUnsigned)
            r = static_cast<int64_t>(static_cast<uint64_t>(p) /
                                     static_cast<uint64_t>(q));
          else
            r = (p == std::numeric_limits<int64_t>::min() && q == -1) ? p
                                                                      : p / q;
          break;
        case BinaryKind::Pow: {
          if (q < 0) {
            r = (p == 1) ? 1 : (p == -1 ? ((q & 1) ? -1 : 1) : 0);
            break;
          }
          int64_t base = p, e = q;
          r = 1;
          while (e > 0) {
            if (e & 1)
              r = wrapMul(r, base);
            base = wrapMul(base, base);
            e >>= 1;
          }
          break;
        }
        case BinaryKind::Max:
          r = std::max(p, q);
          break;
        case BinaryKind::Min:
          r = std::min(p, q);
          break;
        case BinaryKind::And:
          r = p && q;
          break;
        case BinaryKind::Or:
          r = p || q;
          break;
        case BinaryKind::Equal:
          r = p == q;
          break;
        case BinaryKind::Less:
          r = isUnsigned ? uint64_t(p) < uint64_t(q) : p < q;
          break;
        case BinaryKind::Greater:
          r = isUnsigned ? uint64_t(p) > uint64_t(q) : p > q;
          break;
        case BinaryKind::Mod:
        case BinaryKind::FMod:
          if (q == 0)
            return error() << "integer division by zero in constant data";
          if (isUnsigned) {
            r = static_cast<int64_t>(static_cast<uint64_t>(p) %
                                     static_cast<uint64_t>(q));
            break;
          }
          r = q == -1 ? 0 : p % q;
          if (kind == BinaryKind::Mod && r != 0 && ((r < 0) != (q < 0)))
            r += q;
          break;
        }
        c.ints.push_back(wrapToIntType(resultElt, r));
      }
    }
    return makeConst(resultType, std::move(c));
  }

  FailureOr<Value> va = materialize(a);
  if (failed(va))
    return failure();
  FailureOr<Value> vb = materialize(*b);
  if (failed(vb))
    return failure();
  FailureOr<Value> r;
  switch (kind) {
  case BinaryKind::Add:
    r = create<AddOp>(Type(), *va, *vb);
    break;
  case BinaryKind::Sub:
    r = create<SubOp>(Type(), *va, *vb);
    break;
  case BinaryKind::Mul:
    r = create<MulOp>(Type(), *va, *vb, LMulAttr());
    break;
  case BinaryKind::Div:
    r = create<DivOp>(Type(), *va, *vb);
    break;
  case BinaryKind::Pow:
    r = create<PowOp>(Type(), *va, *vb);
    break;
  case BinaryKind::Max:
    r = create<MaxOp>(Type(), *va, *vb);
    break;
  case BinaryKind::Min:
    r = create<MinOp>(Type(), *va, *vb);
    break;
  case BinaryKind::And:
    r = create<AndOp>(Type(), *va, *vb);
    break;
  case BinaryKind::Or:
    r = create<OrOp>(Type(), *va, *vb);
    break;
  case BinaryKind::Equal:
    r = create<EqualOp>(Type(), *va, *vb);
    break;
  case BinaryKind::Less:
    r = create<LessOp>(Type(), *va, *vb);
    break;
  case BinaryKind::Greater:
    r = create<GreaterOp>(Type(), *va, *vb);
    break;
  case BinaryKind::Mod:
  case BinaryKind::FMod:
    r = create<ModOp>(Type(), *va, *vb,
                      builder.getBoolAttr(kind == BinaryKind::FMod));
    break;
  }
  if (failed(r))
    return failure();
  return fromValue(*r);
}

FailureOr<TV> GraphImporter::emitWhere(TV &cond, TV &a, TV &b) {
  if (!cond.elementType().isInteger(1))
    return error() << "the condition must be a bool tensor, got " << cond.type;
  if (a.elementType() != b.elementType())
    return error() << "operand element types differ: " << a.type << " and "
                   << b.type;
  SmallVector<int64_t> ab, shape;
  if (!OpTrait::util::getBroadcastedShape(a.shape(), b.shape(), ab) ||
      !OpTrait::util::getBroadcastedShape(cond.shape(), ab, shape))
    return error() << "shapes " << shapeText(cond.shape()) << ", "
                   << shapeText(a.shape()) << " and " << shapeText(b.shape())
                   << " do not broadcast";
  auto resultType = RankedTensorType::get(shape, a.elementType());
  int64_t n = numel(shape);
  if (cond.hasData() && a.hasData() && b.hasData() &&
      canFoldElements(a.elementType(), n)) {
    SmallVector<int64_t> ic = broadcastIndices(cond.shape(), shape);
    SmallVector<int64_t> ia = broadcastIndices(a.shape(), shape);
    SmallVector<int64_t> ib = broadcastIndices(b.shape(), shape);
    Contents c;
    bool isFloat = isFloatType(a.elementType());
    for (int64_t k = 0; k < n; ++k) {
      bool pick = cond.data->ints[ic[k]] != 0;
      if (isFloat)
        c.floats.push_back(pick ? a.data->floats[ia[k]]
                                : b.data->floats[ib[k]]);
      else
        c.ints.push_back(pick ? a.data->ints[ia[k]] : b.data->ints[ib[k]]);
    }
    return makeConst(resultType, std::move(c));
  }
  FailureOr<Value> vc = materialize(cond);
  if (failed(vc))
    return failure();
  FailureOr<Value> va = materialize(a);
  if (failed(va))
    return failure();
  FailureOr<Value> vb = materialize(b);
  if (failed(vb))
    return failure();
  FailureOr<Value> r = create<WhereOp>(Type(), *vc, *va, *vb);
  if (failed(r))
    return failure();
  return fromValue(*r);
}

FailureOr<TV> GraphImporter::emitCast(TV &x, Type elt, bool saturate,
                                      StringRef roundMode) {
  if (x.elementType() == elt)
    return x;
  if (roundMode != "up" && roundMode != "down" && roundMode != "nearest")
    return error() << "round_mode must be \"up\", \"down\" or \"nearest\", "
                      "got \""
                   << roundMode << "\"";
  auto resultType = RankedTensorType::get(x.shape(), elt);
  // E8M0's rounding modes are not folded.
  if (x.hasData() && canFoldElements(elt, x.type.getNumElements()) &&
      !isa<Float8E8M0FNUType>(elt)) {
    Contents c;
    bool fromFloat = isFloatType(x.elementType());
    bool toFloat = isFloatType(elt);
    bool fromUnsigned = x.elementType().isUnsignedInteger();
    // Saturating casts to 8- and 4-bit floats clamp to the largest finite
    // value first (rounding alone overflows to infinity or NaN).
    double largest = std::numeric_limits<double>::infinity();
    if (auto ft = dyn_cast<FloatType>(elt);
        ft && ft.getWidth() <= 8 && (saturate || ft.getWidth() < 8)) {
      llvm::APFloat l = llvm::APFloat::getLargest(ft.getFloatSemantics());
      bool lost;
      l.convert(llvm::APFloat::IEEEdouble(), llvm::APFloat::rmNearestTiesToEven,
                &lost);
      largest = l.convertToDouble();
    }
    int64_t n = x.type.getNumElements();
    for (int64_t k = 0; k < n; ++k) {
      if (fromFloat) {
        double v = x.data->floats[k];
        if (!std::isnan(v))
          v = std::min(std::max(v, -largest), largest);
        if (toFloat)
          c.floats.push_back(roundToFloatType(elt, v));
        else if (elt.isInteger(1))
          c.ints.push_back(v != 0);
        else
          c.ints.push_back(wrapToIntType(elt, floatToInt(v)));
      } else {
        int64_t v = x.data->ints[k];
        if (toFloat)
          c.floats.push_back(roundToFloatType(
              elt, fromUnsigned ? double(uint64_t(v)) : double(v)));
        else
          c.ints.push_back(wrapToIntType(elt, v));
      }
    }
    return makeConst(resultType, std::move(c));
  }
  FailureOr<Value> v = materialize(x);
  if (failed(v))
    return failure();
  FailureOr<Value> r = create<CastOp>(resultType, *v, saturate, roundMode);
  if (failed(r))
    return failure();
  return fromValue(*r);
}

//===----------------------------------------------------------------------===//
// Data movement
//===----------------------------------------------------------------------===//

FailureOr<TV> GraphImporter::emitReshape(TV &x, ArrayRef<int64_t> shape) {
  std::optional<int64_t> n = checkedNumElements(shape);
  if (!n || *n != x.type.getNumElements())
    return error() << "cannot reshape " << shapeText(x.shape()) << " ("
                   << x.type.getNumElements() << " elements) to "
                   << shapeText(shape);
  if (x.shape() == shape)
    return x;
  auto resultType = RankedTensorType::get(shape, x.elementType());
  if (x.hasData()) {
    TV r = x;
    r.type = resultType;
    r.value = nullptr;
    r.attr = nullptr;
    return r;
  }
  if (x.attr && !x.value) {
    // Constants reshape for free: same bytes, new type.
    TV r;
    r.type = resultType;
    if (auto res = dyn_cast<DenseResourceElementsAttr>(x.attr)) {
      r.attr = DenseResourceElementsAttr::get(resultType, res.getRawHandle());
      return r;
    }
    if (auto dense = dyn_cast<DenseElementsAttr>(x.attr)) {
      r.attr = cast<ElementsAttr>(dense.reshape(resultType));
      return r;
    }
  }
  FailureOr<Value> v = materialize(x);
  if (failed(v))
    return failure();
  FailureOr<Value> r = create<ReshapeOp>(resultType, *v);
  if (failed(r))
    return failure();
  return fromValue(*r);
}

FailureOr<TV> GraphImporter::emitTranspose(TV &x, ArrayRef<int64_t> perm) {
  int64_t rank = x.rank();
  if (static_cast<int64_t>(perm.size()) != rank)
    return error() << "perm has " << perm.size() << " entries for rank "
                   << rank;
  SmallVector<bool> seen(rank, false);
  SmallVector<int64_t> shape;
  bool identity = true;
  for (auto [i, p] : llvm::enumerate(perm)) {
    if (p < 0 || p >= rank || seen[p])
      return error() << "perm is not a permutation of 0.." << rank - 1;
    seen[p] = true;
    shape.push_back(x.shape()[p]);
    identity &= static_cast<int64_t>(i) == p;
  }
  if (identity)
    return x;
  auto resultType = RankedTensorType::get(shape, x.elementType());
  if (x.hasData()) {
    int64_t n = x.type.getNumElements();
    SmallVector<int64_t> inStrides(rank, 1);
    for (int64_t d = rank - 2; d >= 0; --d)
      inStrides[d] = inStrides[d + 1] * x.shape()[d + 1];
    Contents c;
    bool isFloat = isFloatType(x.elementType());
    SmallVector<int64_t> counter(rank, 0);
    for (int64_t k = 0; k < n; ++k) {
      int64_t src = 0;
      for (int64_t d = 0; d < rank; ++d)
        src += counter[d] * inStrides[perm[d]];
      if (isFloat)
        c.floats.push_back(x.data->floats[src]);
      else
        c.ints.push_back(x.data->ints[src]);
      for (int64_t d = rank - 1; d >= 0; --d) {
        if (++counter[d] < shape[d])
          break;
        counter[d] = 0;
      }
    }
    return makeConst(resultType, std::move(c));
  }
  FailureOr<Value> v = materialize(x);
  if (failed(v))
    return failure();
  FailureOr<Value> r =
      create<TransposeOp>(Type(), *v, builder.getDenseI64ArrayAttr(perm));
  if (failed(r))
    return failure();
  return fromValue(*r);
}

FailureOr<TV> GraphImporter::emitExpand(TV &x, ArrayRef<int64_t> target) {
  SmallVector<int64_t> shape;
  if (llvm::any_of(target, [](int64_t d) { return d < 0; }) ||
      !OpTrait::util::getBroadcastedShape(x.shape(), target, shape))
    return error() << "cannot expand " << shapeText(x.shape()) << " to "
                   << shapeText(target);
  if (ArrayRef<int64_t>(shape) == x.shape())
    return x;
  int64_t n = numel(shape);
  if (n < 0)
    return error() << "expanded shape " << shapeText(shape) << " is too large";
  auto resultType = RankedTensorType::get(shape, x.elementType());
  if (x.hasData() && canFoldElements(x.elementType(), n)) {
    SmallVector<int64_t> idx = broadcastIndices(x.shape(), shape);
    Contents c;
    bool isFloat = isFloatType(x.elementType());
    for (int64_t k = 0; k < n; ++k) {
      if (isFloat)
        c.floats.push_back(x.data->floats[idx[k]]);
      else
        c.ints.push_back(x.data->ints[idx[k]]);
    }
    return makeConst(resultType, std::move(c));
  }
  if (x.attr && !x.value)
    if (auto dense = dyn_cast<DenseElementsAttr>(x.attr))
      if (dense.isSplat()) {
        TV r;
        r.type = resultType;
        r.attr = cast<ElementsAttr>(dense.resizeSplat(resultType));
        return r;
      }
  FailureOr<Value> v = materialize(x);
  if (failed(v))
    return failure();
  FailureOr<Value> r = create<ExpandOp>(resultType, *v);
  if (failed(r))
    return failure();
  return fromValue(*r);
}

FailureOr<TV> GraphImporter::emitSlice(TV &x, ArrayRef<int64_t> starts,
                                       ArrayRef<int64_t> sizes,
                                       ArrayRef<int64_t> steps) {
  int64_t rank = x.rank();
  bool identity = true;
  for (int64_t d = 0; d < rank; ++d) {
    int64_t dim = x.shape()[d];
    if (steps[d] == 0 || sizes[d] < 0)
      return error() << "invalid slice of dim " << d;
    if (sizes[d] > 0) {
      int64_t last = starts[d] + (sizes[d] - 1) * steps[d];
      if (starts[d] < 0 || starts[d] >= dim || last < 0 || last >= dim)
        return error() << "slice of dim " << d << " goes out of bounds";
    }
    identity &= starts[d] == 0 && sizes[d] == dim && steps[d] == 1;
  }
  if (identity)
    return x;
  auto resultType = RankedTensorType::get(sizes, x.elementType());
  if (x.hasData()) {
    SmallVector<int64_t> inStrides(rank, 1);
    for (int64_t d = rank - 2; d >= 0; --d)
      inStrides[d] = inStrides[d + 1] * x.shape()[d + 1];
    int64_t n = resultType.getNumElements();
    Contents c;
    bool isFloat = isFloatType(x.elementType());
    SmallVector<int64_t> counter(rank, 0);
    for (int64_t k = 0; k < n; ++k) {
      int64_t src = 0;
      for (int64_t d = 0; d < rank; ++d)
        src += (starts[d] + counter[d] * steps[d]) * inStrides[d];
      if (isFloat)
        c.floats.push_back(x.data->floats[src]);
      else
        c.ints.push_back(x.data->ints[src]);
      for (int64_t d = rank - 1; d >= 0; --d) {
        if (++counter[d] < sizes[d])
          break;
        counter[d] = 0;
      }
    }
    return makeConst(resultType, std::move(c));
  }
  // kiln.slice wants in-range starts even for empty dims.
  SmallVector<int64_t> safeStarts(starts);
  for (int64_t d = 0; d < rank; ++d)
    if (sizes[d] == 0)
      safeStarts[d] = 0;
  FailureOr<Value> v = materialize(x);
  if (failed(v))
    return failure();
  FailureOr<Value> r = create<SliceOp>(
      Type(), *v, builder.getDenseI64ArrayAttr(safeStarts),
      builder.getDenseI64ArrayAttr(sizes), builder.getDenseI64ArrayAttr(steps));
  if (failed(r))
    return failure();
  return fromValue(*r);
}

FailureOr<TV> GraphImporter::emitConcat(ArrayRef<TV *> xs, int64_t axis) {
  if (xs.empty())
    return error() << "needs at least one input";
  TV &first = *xs.front();
  int64_t rank = first.rank();
  if (axis < 0 || axis >= rank)
    return error() << "axis " << axis << " is out of range for rank " << rank;
  SmallVector<int64_t> shape(first.shape());
  shape[axis] = 0;
  bool allData = true;
  for (TV *x : xs) {
    if (x->rank() != rank || x->elementType() != first.elementType())
      return error() << "inputs differ in rank or element type: " << first.type
                     << " and " << x->type;
    for (int64_t d = 0; d < rank; ++d)
      if (d != axis && x->shape()[d] != first.shape()[d])
        return error() << "inputs differ in dim " << d << ": "
                       << shapeText(first.shape()) << " and "
                       << shapeText(x->shape());
    shape[axis] += x->shape()[axis];
    allData &= x->hasData();
  }
  if (xs.size() == 1)
    return first;
  auto resultType = RankedTensorType::get(shape, first.elementType());
  int64_t n = numel(shape);
  if (allData && canFoldElements(first.elementType(), n)) {
    int64_t outer = numel(ArrayRef<int64_t>(shape).take_front(axis));
    int64_t inner = numel(ArrayRef<int64_t>(shape).drop_front(axis + 1));
    bool isFloat = isFloatType(first.elementType());
    Contents c;
    for (int64_t o = 0; o < outer; ++o)
      for (TV *x : xs) {
        int64_t chunk = x->shape()[axis] * inner;
        int64_t base = o * chunk;
        for (int64_t k = 0; k < chunk; ++k) {
          if (isFloat)
            c.floats.push_back(x->data->floats[base + k]);
          else
            c.ints.push_back(x->data->ints[base + k]);
        }
      }
    return makeConst(resultType, std::move(c));
  }
  SmallVector<Value> operands;
  for (TV *x : xs) {
    if (x->type.getNumElements() == 0)
      continue; // Empty pieces contribute nothing.
    FailureOr<Value> v = materialize(*x);
    if (failed(v))
      return failure();
    operands.push_back(*v);
  }
  if (operands.empty())
    return makeConst(resultType, Contents());
  if (operands.size() == 1)
    return fromValue(operands.front());
  FailureOr<Value> r = create<ConcatOp>(Type(), ValueRange(operands),
                                        builder.getI64IntegerAttr(axis));
  if (failed(r))
    return failure();
  return fromValue(*r);
}

FailureOr<TV> GraphImporter::emitGather(TV &data, TV &indices, int64_t axis) {
  Type it = indices.elementType();
  if (!it.isSignlessInteger(32) && !it.isSignlessInteger(64))
    return error() << "indices must be int32 or int64, got " << indices.type;
  int64_t rank = data.rank();
  if (axis < 0 || axis >= rank)
    return error() << "axis " << axis << " is out of range for rank " << rank;
  int64_t dim = data.shape()[axis];
  SmallVector<int64_t> shape(data.shape().take_front(axis));
  llvm::append_range(shape, indices.shape());
  llvm::append_range(shape, data.shape().drop_front(axis + 1));
  auto resultType = RankedTensorType::get(shape, data.elementType());
  if (indices.hasData()) {
    for (int64_t i : indices.data->ints)
      if (i < -dim || i >= dim)
        return error() << "index " << i << " is out of range for dim " << axis
                       << " of size " << dim;
  }
  int64_t n = numel(shape);
  if (data.hasData() && indices.hasData() &&
      canFoldElements(data.elementType(), n)) {
    int64_t outer = numel(data.shape().take_front(axis));
    int64_t inner = numel(data.shape().drop_front(axis + 1));
    bool isFloat = isFloatType(data.elementType());
    Contents c;
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i : indices.data->ints) {
        int64_t row = i < 0 ? i + dim : i;
        int64_t base = (o * dim + row) * inner;
        for (int64_t k = 0; k < inner; ++k) {
          if (isFloat)
            c.floats.push_back(data.data->floats[base + k]);
          else
            c.ints.push_back(data.data->ints[base + k]);
        }
      }
    return makeConst(resultType, std::move(c));
  }
  FailureOr<Value> vd = materialize(data);
  if (failed(vd))
    return failure();
  FailureOr<Value> vi = materialize(indices);
  if (failed(vi))
    return failure();
  FailureOr<Value> r =
      create<GatherOp>(Type(), *vd, *vi, builder.getI64IntegerAttr(axis));
  if (failed(r))
    return failure();
  return fromValue(*r);
}

//===----------------------------------------------------------------------===//
// Linear algebra and reductions
//===----------------------------------------------------------------------===//

FailureOr<TV> GraphImporter::emitMatMul(TV &a, TV &b) {
  if (a.rank() < 1 || b.rank() < 1)
    return error() << "MatMul operands must have rank >= 1, got " << a.type
                   << " and " << b.type;
  if (a.elementType() != b.elementType())
    return error() << "operand element types differ: " << a.type << " and "
                   << b.type;
  // numpy.matmul: a 1-D lhs gets a leading 1, a 1-D rhs a trailing 1, and
  // those dims are dropped from the result.
  TV lhs = a, rhs = b;
  if (a.rank() == 1) {
    FailureOr<TV> r = emitReshape(lhs, {1, a.shape()[0]});
    if (failed(r))
      return failure();
    lhs = *r;
  }
  if (b.rank() == 1) {
    FailureOr<TV> r = emitReshape(rhs, {b.shape()[0], 1});
    if (failed(r))
      return failure();
    rhs = *r;
  }
  int64_t k1 = lhs.shape().back(), k2 = rhs.shape()[rhs.rank() - 2];
  if (k1 != k2)
    return error() << "contraction dims differ: " << shapeText(a.shape())
                   << " x " << shapeText(b.shape());
  SmallVector<int64_t> batch;
  if (!OpTrait::util::getBroadcastedShape(lhs.shape().drop_back(2),
                                          rhs.shape().drop_back(2), batch))
    return error() << "batch dims of " << shapeText(a.shape()) << " and "
                   << shapeText(b.shape()) << " do not broadcast";
  FailureOr<Value> va = materialize(lhs);
  if (failed(va))
    return failure();
  FailureOr<Value> vb = materialize(rhs);
  if (failed(vb))
    return failure();
  // Keep the cached constants of the caller's values.
  if (a.rank() > 1 && !a.value)
    a.value = *va;
  if (b.rank() > 1 && !b.value)
    b.value = *vb;
  FailureOr<Value> r = create<MatMulOp>(Type(), *va, *vb, LMulAttr());
  if (failed(r))
    return failure();
  TV result = fromValue(*r);
  if (a.rank() > 1 && b.rank() > 1)
    return result;
  SmallVector<int64_t> shape(batch);
  if (a.rank() > 1)
    shape.push_back(a.shape()[a.rank() - 2]);
  if (b.rank() > 1)
    shape.push_back(b.shape().back());
  return emitReshape(result, shape);
}

FailureOr<TV> GraphImporter::emitReduce(ReduceKind kind, TV &x,
                                        ArrayRef<int64_t> axes, bool keepdims) {
  if (!isFloatType(x.elementType()) && kind == ReduceKind::Mean)
    return error() << "ReduceMean needs a float tensor, got " << x.type;
  FailureOr<Value> v = materialize(x);
  if (failed(v))
    return failure();
  auto axesAttr = builder.getDenseI64ArrayAttr(axes);
  auto keep = builder.getBoolAttr(keepdims);
  FailureOr<Value> r;
  switch (kind) {
  case ReduceKind::Sum:
    r = create<ReduceSumOp>(Type(), *v, axesAttr, keep);
    break;
  case ReduceKind::Mean:
    r = create<ReduceMeanOp>(Type(), *v, axesAttr, keep);
    break;
  case ReduceKind::Max:
    r = create<ReduceMaxOp>(Type(), *v, axesAttr, keep);
    break;
  }
  if (failed(r))
    return failure();
  return fromValue(*r);
}
