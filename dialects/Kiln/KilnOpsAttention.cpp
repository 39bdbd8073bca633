//===- KilnOpsAttention.cpp - attention and KV-cache ops ------------------===//
//
// Part of kiln. Type inference and verifiers of kiln.attention,
// kiln.kv_append and kiln.kv_append_quantized.
//
//===----------------------------------------------------------------------===//

#include "dialects/Kiln/KilnOps.h"

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Diagnostics.h"

using namespace mlir;
using namespace mlir::kiln;

namespace {
/// A 0-d i64 tensor (a run-time position or length).
bool isI64Scalar(Type type) {
  auto t = dyn_cast<RankedTensorType>(type);
  return t && t.getRank() == 0 && t.getElementType().isInteger(64);
}
} // namespace

LogicalResult AttentionOp::inferReturnTypes(MLIRContext *,
                                            std::optional<Location> loc,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &inferred) {
  auto qt = dyn_cast<RankedTensorType>(adaptor.getQuery().getType());
  auto vt = dyn_cast<RankedTensorType>(adaptor.getValue().getType());
  if (!qt || !vt || qt.getRank() != 4 || vt.getRank() != 4) {
    if (loc)
      return mlir::emitError(*loc, "attention needs 4-D query and value "
                                   "([batch, heads, seq, head_dim])");
    return failure();
  }
  ArrayRef<int64_t> q = qt.getShape();
  inferred.push_back(RankedTensorType::get({q[0], q[1], q[2], vt.getShape()[3]},
                                           qt.getElementType()));
  return success();
}

LogicalResult AttentionOp::verify() {
  auto qt = cast<RankedTensorType>(getQuery().getType());
  auto kt = cast<RankedTensorType>(getKey().getType());
  auto vt = cast<RankedTensorType>(getValue().getType());
  if (kt.getRank() != 4)
    return emitOpError("key must be 4-D, got ") << kt;
  ArrayRef<int64_t> q = qt.getShape(), k = kt.getShape(), v = vt.getShape();
  // Key and value: the query's float type, or i8 with per-row scales.
  auto checkOperand = [&](RankedTensorType t, Value scales,
                          StringRef what) -> LogicalResult {
    if (t.getElementType().isSignlessInteger(8)) {
      if (!scales)
        return emitOpError("an i8 ") << what << " needs " << what << "_scales";
      if (!getKvLength())
        return emitOpError("an i8 ") << what << " needs kv_length";
      auto st = cast<RankedTensorType>(scales.getType());
      if (!st.getElementType().isF32() ||
          st.getShape() != ArrayRef<int64_t>(t.getShape()).drop_back())
        return emitOpError(what) << "_scales must be f32 ["
                                 << t.getShape()[0] << ", " << t.getShape()[1]
                                 << ", " << t.getShape()[2] << "], got " << st;
      return success();
    }
    if (scales)
      return emitOpError(what) << "_scales apply to an i8 " << what;
    if (t.getElementType() != qt.getElementType())
      return emitOpError("query, key and value must have one element type "
                         "(or i8 key/value with scales)");
    return success();
  };
  if (failed(checkOperand(kt, getKeyScales(), "key")) ||
      failed(checkOperand(vt, getValueScales(), "value")))
    return failure();
  if (k[0] != q[0] || v[0] != q[0])
    return emitOpError("batch sizes differ: ")
           << q[0] << ", " << k[0] << ", " << v[0];
  if (v[1] != k[1] || v[2] != k[2])
    return emitOpError("key and value need the same heads and length, got ")
           << kt << " and " << vt;
  if (k[1] <= 0 || q[1] % k[1] != 0)
    return emitOpError("query heads ")
           << q[1] << " are not a multiple of key/value heads " << k[1];
  if (k[3] != q[3])
    return emitOpError("key head size ")
           << k[3] << " differs from the query's " << q[3];
  if (getKvLength()) {
    if (!isI64Scalar(getKvLength().getType()))
      return emitOpError("kv_length must be a 0-d i64 tensor, got ")
             << getKvLength().getType();
    if (q[2] > k[2])
      return emitOpError("a cache of ")
             << k[2] << " rows cannot hold " << q[2] << " queries";
  } else if (getCausal() && k[2] < q[2]) {
    return emitOpError("causal attention of ")
           << q[2] << " queries over " << k[2]
           << " keys would leave rows without any key";
  }
  return success();
}

/// The checks both appends share: 4-D rows that fit the cache, a 0-d i64
/// position.
static LogicalResult verifyAppend(Operation *op, RankedTensorType ct,
                           RankedTensorType ut, Type position) {
  if (ct.getRank() != 4 || ut.getRank() != 4)
    return op->emitOpError("cache and update must be 4-D, got ")
           << ct << " and " << ut;
  ArrayRef<int64_t> c = ct.getShape(), u = ut.getShape();
  if (c[0] != u[0] || c[1] != u[1] || c[3] != u[3] || u[2] > c[2])
    return op->emitOpError("update ")
           << ut << " does not fit the cache " << ct
           << " (same dims 0, 1, 3; at most as many rows)";
  if (!isI64Scalar(position))
    return op->emitOpError("position must be a 0-d i64 tensor, got ")
           << position;
  return success();
}

LogicalResult KVAppendOp::verify() {
  auto ct = cast<RankedTensorType>(getCache().getType());
  auto ut = cast<RankedTensorType>(getUpdate().getType());
  if (ct.getElementType() != ut.getElementType())
    return emitOpError("cache and update element types differ");
  return verifyAppend(*this, ct, ut, getPosition().getType());
}

LogicalResult KVAppendQuantizedOp::verify() {
  auto ct = cast<RankedTensorType>(getCache().getType());
  auto st = cast<RankedTensorType>(getScales().getType());
  auto ut = cast<RankedTensorType>(getUpdate().getType());
  if (!ct.getElementType().isSignlessInteger(8) || ct.getRank() != 4)
    return emitOpError("cache must be a 4-D i8 tensor, got ") << ct;
  if (!ut.getElementType().isF32() || ut.getRank() != 4)
    return emitOpError("update must be a 4-D f32 tensor, got ") << ut;
  if (failed(verifyAppend(*this, ct, ut, getPosition().getType())))
    return failure();
  ArrayRef<int64_t> c = ct.getShape();
  if (!st.getElementType().isF32() || st.getShape() != c.drop_back())
    return emitOpError("scales must be f32 [")
           << c[0] << ", " << c[1] << ", " << c[2] << "], got " << st;
  return success();
}
