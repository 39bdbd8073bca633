//===- KilnOpsAttention.cpp - attention and KV-cache ops ------------------===//
//
// Part of kiln. Type inference and verifiers of kiln.attention,
// kiln.kv_append, kiln.kv_append_quantized, kiln.kv_append_qjl,
// kiln.kv_append_grouped, kiln.kv_think_observe and kiln.kv_think_prune.
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

/// QJL's ring of whole keys `rt` (f32 [b, h, W, d], W > 0, operand `name`)
/// and its position tags `tt` (i64 [W]).
LogicalResult verifyRing(Operation *op, RankedTensorType rt,
                         RankedTensorType tt, int64_t b, int64_t h, int64_t d,
                         StringRef name) {
  if (rt.getRank() != 4 || !rt.getElementType().isF32() ||
      rt.getShape()[0] != b || rt.getShape()[1] != h ||
      rt.getShape()[3] != d || rt.getShape()[2] <= 0)
    return op->emitOpError(name)
           << " must be f32 [" << b << ", " << h << ", W, " << d << "], got "
           << rt;
  if (tt.getRank() != 1 || !tt.getElementType().isInteger(64) ||
      tt.getShape()[0] != rt.getShape()[2])
    return op->emitOpError("recent_positions must be i64 [")
           << rt.getShape()[2] << "], got " << tt;
  return success();
}

/// QJL's outlier parts: sign bits `obt` (i8 [b, h, l, m_out / 8]) of the
/// projection `qt` (f32 [d, m_out]), scales `ost` (f32 [b, h, l]) and the
/// channels `ct` (i8 [b, h, ceil(l / group), k], 0 < k < d).
LogicalResult verifyOutliers(Operation *op, RankedTensorType obt,
                             RankedTensorType ost, RankedTensorType ct,
                             RankedTensorType qt, int64_t b, int64_t h,
                             int64_t l, int64_t d, int64_t group) {
  if (qt.getRank() != 2 || !qt.getElementType().isF32() ||
      qt.getShape()[0] != d || qt.getShape()[1] <= 0 ||
      qt.getShape()[1] % 8 != 0)
    return op->emitOpError("outlier_sketch must be f32 [")
           << d << ", m_out] with m_out a multiple of 8, got " << qt;
  int64_t bytes = qt.getShape()[1] / 8;
  if (obt.getRank() != 4 || !obt.getElementType().isSignlessInteger(8) ||
      obt.getShape() != ArrayRef<int64_t>{b, h, l, bytes})
    return op->emitOpError("outlier_bits must be i8 [")
           << b << ", " << h << ", " << l << ", " << bytes << "], got " << obt;
  if (!ost.getElementType().isF32() ||
      ost.getShape() != ArrayRef<int64_t>{b, h, l})
    return op->emitOpError("outlier_scales must be f32 [")
           << b << ", " << h << ", " << l << "], got " << ost;
  if (group <= 0 || ct.getRank() != 4 ||
      !ct.getElementType().isSignlessInteger(8) || ct.getShape()[0] != b ||
      ct.getShape()[1] != h || ct.getShape()[2] != (l + group - 1) / group ||
      ct.getShape()[3] <= 0 || ct.getShape()[3] >= d || d > 256)
    return op->emitOpError("outlier channels must be i8 [")
           << b << ", " << h << ", " << (group > 0 ? (l + group - 1) / group : 0)
           << ", k] with 0 < k < D = " << d << " (D <= 256; groups of " << group
           << " keys), got " << ct;
  return success();
}

/// ThinK's kept channels and pruned-row count `ct` (i64 [b, h, T + 1],
/// 0 < T <= d).
LogicalResult verifyChannels(Operation *op, RankedTensorType ct, int64_t b,
                             int64_t h, int64_t d) {
  if (ct.getRank() != 3 || !ct.getElementType().isInteger(64) ||
      ct.getShape()[0] != b || ct.getShape()[1] != h ||
      ct.getShape()[2] < 2 || ct.getShape()[2] > d + 1)
    return op->emitOpError("channels must be i64 [")
           << b << ", " << h << ", T + 1] with 0 < T <= " << d << ", got "
           << ct;
  return success();
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
  // Packed low-bit values hold 8 / bits channels per byte. (The parser
  // infers before the attribute reaches the properties: read the
  // dictionary too.)
  int64_t dv = vt.getShape()[3], bits = 0;
  if (std::optional<uint64_t> b = adaptor.getValueBits())
    bits = int64_t(*b);
  else if (DictionaryAttr attrs = adaptor.getAttributes())
    if (auto b = attrs.getAs<IntegerAttr>("value_bits"))
      bits = b.getInt();
  if (bits > 0 && bits < 8)
    dv = dv * 8 / bits;
  inferred.push_back(
      RankedTensorType::get({q[0], q[1], q[2], dv}, qt.getElementType()));
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
  if (failed(checkOperand(kt, getKeyScales(), "key")))
    return failure();
  if (std::optional<uint64_t> bits = getValueBits()) {
    // Packed codes with a scale and a min per group of channels.
    if (*bits != 2 && *bits != 4)
      return emitOpError("value_bits must be 2 or 4, got ") << *bits;
    if (!vt.getElementType().isSignlessInteger(8) || !getValueScales() ||
        !getValueMins() || !getKvLength())
      return emitOpError("low-bit values need i8 codes, value_scales, "
                         "value_mins and kv_length");
    auto st = cast<RankedTensorType>(getValueScales().getType());
    int64_t dv = vt.getShape()[3] * 8 / int64_t(*bits);
    ArrayRef<int64_t> sv = st.getShape();
    if (st.getRank() != 4 || !st.getElementType().isF32() ||
        sv.take_front(3) != vt.getShape().take_front(3) || sv[3] <= 0 ||
        dv % sv[3] != 0 || getValueMins().getType() != st)
      return emitOpError("value_scales and value_mins must be f32 [")
             << vt.getShape()[0] << ", " << vt.getShape()[1] << ", "
             << vt.getShape()[2] << ", G] with G dividing " << dv << ", got "
             << st << " and " << getValueMins().getType();
  } else if (getValueMins()) {
    return emitOpError("value_mins go with value_bits");
  } else if (failed(checkOperand(vt, getValueScales(), "value"))) {
    return failure();
  }
  // Rows of one sequence: a paged cache's come from its block table.
  int64_t rows = k[2];
  if (Value table = getBlockTable()) {
    auto tt = cast<RankedTensorType>(table.getType());
    if (tt.getRank() != 1 || !tt.getElementType().isInteger(32))
      return emitOpError("block_table must be i32 [blocks], got ") << tt;
    if (!getKvLength() || q[0] != 1 || k[2] % 16 != 0 || getKeySketch() ||
        getRecentKeys() || getKeyChannels() || getValueBits())
      return emitOpError("a paged cache needs kv_length, batch 1, blocks of "
                         "a multiple of 16 rows and f32 or i8 keys and "
                         "values (not QJL, ThinK or low-bit values), got ")
             << kt << " and " << vt;
    if (v[0] != k[0])
      return emitOpError("key and value pools differ in blocks: ")
             << k[0] << " and " << v[0];
    rows = k[2] * tt.getShape()[0];
  } else if (k[0] != q[0] || v[0] != q[0]) {
    return emitOpError("batch sizes differ: ")
           << q[0] << ", " << k[0] << ", " << v[0];
  }
  if (v[1] != k[1] || v[2] != k[2])
    return emitOpError("key and value need the same heads and length, got ")
           << kt << " and " << vt;
  if (k[1] <= 0 || q[1] % k[1] != 0)
    return emitOpError("query heads ")
           << q[1] << " are not a multiple of key/value heads " << k[1];
  if (Value sketch = getKeySketch()) {
    // QJL: the key rows are m / 8 bytes of signs of k . P, P [D, m].
    auto pt = cast<RankedTensorType>(sketch.getType());
    if (pt.getRank() != 2 || !pt.getElementType().isF32() ||
        pt.getShape()[0] != q[3] || pt.getShape()[1] % 8 != 0)
      return emitOpError("key_sketch must be f32 [")
             << q[3] << ", m] with m a multiple of 8, got " << pt;
    if (!kt.getElementType().isSignlessInteger(8) ||
        k[3] * 8 != pt.getShape()[1])
      return emitOpError("a sketched key must be i8 sign bits [..., ")
             << pt.getShape()[1] / 8 << "], got " << kt;
  } else if (k[3] != q[3]) {
    return emitOpError("key head size ")
           << k[3] << " differs from the query's " << q[3];
  }
  if (Value recent = getRecentKeys()) {
    auto rt = cast<RankedTensorType>(recent.getType());
    auto tt = cast<RankedTensorType>(getRecentPositions().getType());
    if (!getKeySketch())
      return emitOpError("recent_keys go with a key_sketch");
    if (failed(verifyRing(*this, rt, tt, q[0], k[1], q[3], "recent_keys")))
      return failure();
    if (std::optional<uint64_t> w = getRecentWindow();
        w && (*w == 0 || int64_t(*w) > rt.getShape()[2]))
      return emitOpError("recent_window must be in [1, ")
             << rt.getShape()[2] << "], got " << *w;
  } else if (getRecentWindow()) {
    return emitOpError("recent_window goes with recent_keys");
  }
  if (Value bits = getOutlierBits()) {
    if (!getKeySketch() || !getRecentKeys() || !getOutlierGroup())
      return emitOpError("outliers go with a key_sketch, recent_keys and "
                         "outlier_group");
    if (failed(verifyOutliers(
            *this, cast<RankedTensorType>(bits.getType()),
            cast<RankedTensorType>(getOutlierScales().getType()),
            cast<RankedTensorType>(getOutlierChannels().getType()),
            cast<RankedTensorType>(getOutlierSketch().getType()), q[0], k[1],
            k[2], q[3], int64_t(*getOutlierGroup()))))
      return failure();
  } else if (getOutlierGroup()) {
    return emitOpError("outlier_group goes with outliers");
  }
  if (Value channels = getKeyChannels()) {
    if (!getKvLength() || !kt.getElementType().isF32() || getKeySketch() ||
        getKeyTiled())
      return emitOpError("key_channels need kv_length and untiled f32 keys");
    if (failed(verifyChannels(*this,
                              cast<RankedTensorType>(channels.getType()),
                              q[0], k[1], q[3])))
      return failure();
  }
  if (getKeyTiled() &&
      (!getKvLength() || getKeySketch() || k[2] % 16 != 0 || k[3] % 16 != 0))
    return emitOpError("key_tiled needs kv_length, f32 or i8 keys and rows "
                       "and head size multiples of 16, got ")
           << kt;
  if (getKvLength()) {
    if (!isI64Scalar(getKvLength().getType()))
      return emitOpError("kv_length must be a 0-d i64 tensor, got ")
             << getKvLength().getType();
    if (q[2] > rows)
      return emitOpError("a cache of ")
             << rows << " rows cannot hold " << q[2] << " queries";
  } else if (getCausal() && k[2] < q[2]) {
    return emitOpError("causal attention of ")
           << q[2] << " queries over " << k[2]
           << " keys would leave rows without any key";
  }
  return success();
}

/// The checks both appends share: 4-D rows that fit the cache (a pool of
/// blocks with `table`), a 0-d i64 position.
static LogicalResult verifyAppend(Operation *op, RankedTensorType ct,
                                  RankedTensorType ut, Type position,
                                  Value table) {
  if (ct.getRank() != 4 || ut.getRank() != 4)
    return op->emitOpError("cache and update must be 4-D, got ")
           << ct << " and " << ut;
  ArrayRef<int64_t> c = ct.getShape(), u = ut.getShape();
  int64_t batch = c[0], rows = c[2];
  if (table) {
    auto tt = cast<RankedTensorType>(table.getType());
    if (tt.getRank() != 1 || !tt.getElementType().isInteger(32))
      return op->emitOpError("block_table must be i32 [blocks], got ") << tt;
    batch = 1;
    rows = c[2] * tt.getShape()[0];
  }
  if (batch != u[0] || c[1] != u[1] || c[3] != u[3] || u[2] > rows)
    return op->emitOpError("update ")
           << ut << " does not fit the cache " << ct
           << " (same dims 0, 1, 3; at most as many rows)";
  if (!isI64Scalar(position))
    return op->emitOpError("position must be a 0-d i64 tensor, got ")
           << position;
  if (op->hasAttr("tiled") && (c[2] % 16 != 0 || c[3] % 16 != 0))
    return op->emitOpError("a tiled cache needs rows and row size multiples "
                           "of 16, got ")
           << ct;
  return success();
}

LogicalResult KVAppendOp::verify() {
  auto ct = cast<RankedTensorType>(getCache().getType());
  auto ut = cast<RankedTensorType>(getUpdate().getType());
  if (ct.getElementType() != ut.getElementType())
    return emitOpError("cache and update element types differ");
  return verifyAppend(*this, ct, ut, getPosition().getType(),
                      getBlockTable());
}

LogicalResult KVAppendQuantizedOp::verify() {
  auto ct = cast<RankedTensorType>(getCache().getType());
  auto st = cast<RankedTensorType>(getScales().getType());
  auto ut = cast<RankedTensorType>(getUpdate().getType());
  if (!ct.getElementType().isSignlessInteger(8) || ct.getRank() != 4)
    return emitOpError("cache must be a 4-D i8 tensor, got ") << ct;
  if (!ut.getElementType().isF32() || ut.getRank() != 4)
    return emitOpError("update must be a 4-D f32 tensor, got ") << ut;
  if (failed(verifyAppend(*this, ct, ut, getPosition().getType(),
                          getBlockTable())))
    return failure();
  ArrayRef<int64_t> c = ct.getShape();
  if (!st.getElementType().isF32() || st.getShape() != c.drop_back())
    return emitOpError("scales must be f32 [")
           << c[0] << ", " << c[1] << ", " << c[2] << "], got " << st;
  return success();
}

LogicalResult KVAppendQJLOp::verify() {
  auto bt = cast<RankedTensorType>(getBits().getType());
  auto st = cast<RankedTensorType>(getScales().getType());
  auto rt = cast<RankedTensorType>(getRecent().getType());
  auto tt = cast<RankedTensorType>(getRecentPositions().getType());
  auto ut = cast<RankedTensorType>(getUpdate().getType());
  auto pt = cast<RankedTensorType>(getSketch().getType());
  if (!ut.getElementType().isF32() || ut.getRank() != 4)
    return emitOpError("update must be a 4-D f32 tensor, got ") << ut;
  ArrayRef<int64_t> u = ut.getShape();
  if (pt.getRank() != 2 || !pt.getElementType().isF32() ||
      pt.getShape()[0] != u[3] || pt.getShape()[1] % 8 != 0)
    return emitOpError("sketch must be f32 [")
           << u[3] << ", m] with m a multiple of 8, got " << pt;
  int64_t m = pt.getShape()[1];
  if (!bt.getElementType().isSignlessInteger(8) || bt.getRank() != 4 ||
      bt.getShape()[0] != u[0] || bt.getShape()[1] != u[1] ||
      bt.getShape()[3] != m / 8 || bt.getShape()[2] < u[2])
    return emitOpError("bits must be i8 [")
           << u[0] << ", " << u[1] << ", M >= " << u[2] << ", " << m / 8
           << "], got " << bt;
  ArrayRef<int64_t> c = bt.getShape();
  if (!st.getElementType().isF32() || st.getShape() != c.drop_back())
    return emitOpError("scales must be f32 [")
           << c[0] << ", " << c[1] << ", " << c[2] << "], got " << st;
  if (failed(verifyRing(*this, rt, tt, u[0], u[1], u[3], "recent")))
    return failure();
  if (!isI64Scalar(getPosition().getType()))
    return emitOpError("position must be a 0-d i64 tensor, got ")
           << getPosition().getType();
  return success();
}

LogicalResult KVQJLOutliersOp::verify() {
  auto bt = cast<RankedTensorType>(getBits().getType());
  auto pt = cast<RankedTensorType>(getSketch().getType());
  auto rt = cast<RankedTensorType>(getRecent().getType());
  if (bt.getRank() != 4 || !bt.getElementType().isSignlessInteger(8) ||
      pt.getRank() != 2 || bt.getShape()[3] * 8 != pt.getShape()[1])
    return emitOpError("bits must be i8 [B, H, L, m / 8] for the sketch "
                       "[D, m], got ")
           << bt << " and " << pt;
  ArrayRef<int64_t> c = bt.getShape();
  auto st = cast<RankedTensorType>(getScales().getType());
  if (!st.getElementType().isF32() || st.getShape() != c.drop_back())
    return emitOpError("scales must be f32 [")
           << c[0] << ", " << c[1] << ", " << c[2] << "], got " << st;
  int64_t d = pt.getShape()[0];
  if (failed(verifyRing(*this, rt,
                        cast<RankedTensorType>(getRecentPositions().getType()),
                        c[0], c[1], d, "recent")))
    return failure();
  if (getTokens() <= 0 || getOutliers() <= 0 ||
      getOutliers() != cast<RankedTensorType>(getChannels().getType())
                           .getShape()
                           .back() ||
      rt.getShape()[2] < getGroup())
    return emitOpError("tokens must be positive and outliers the channels' "
                       "last dim, and the ring must hold a group of ")
           << getGroup() << " keys, got " << rt;
  if (!isI64Scalar(getPosition().getType()))
    return emitOpError("position must be a 0-d i64 tensor, got ")
           << getPosition().getType();
  return verifyOutliers(
      *this, cast<RankedTensorType>(getOutlierBits().getType()),
      cast<RankedTensorType>(getOutlierScales().getType()),
      cast<RankedTensorType>(getChannels().getType()),
      cast<RankedTensorType>(getOutlierSketch().getType()), c[0], c[1], c[2],
      d, getGroup());
}

LogicalResult KVAppendGroupedOp::verify() {
  auto ct = cast<RankedTensorType>(getCache().getType());
  auto st = cast<RankedTensorType>(getScales().getType());
  auto ut = cast<RankedTensorType>(getUpdate().getType());
  int64_t bits = getBits();
  if (bits != 2 && bits != 4)
    return emitOpError("bits must be 2 or 4, got ") << bits;
  if (!ut.getElementType().isF32() || ut.getRank() != 4)
    return emitOpError("update must be a 4-D f32 tensor, got ") << ut;
  ArrayRef<int64_t> u = ut.getShape();
  int64_t perByte = 8 / bits;
  if (u[3] % perByte != 0)
    return emitOpError("a row of ")
           << u[3] << " channels does not fill whole bytes at " << bits
           << " bits";
  if (!ct.getElementType().isSignlessInteger(8) || ct.getRank() != 4 ||
      ct.getShape()[0] != u[0] || ct.getShape()[1] != u[1] ||
      ct.getShape()[3] != u[3] / perByte || ct.getShape()[2] < u[2])
    return emitOpError("cache must be i8 [")
           << u[0] << ", " << u[1] << ", M >= " << u[2] << ", "
           << u[3] / perByte << "], got " << ct;
  ArrayRef<int64_t> c = ct.getShape(), sv = st.getShape();
  if (st.getRank() != 4 || !st.getElementType().isF32() ||
      sv.take_front(3) != c.take_front(3) || sv[3] <= 0 || u[3] % sv[3] != 0 ||
      getMins().getType() != st)
    return emitOpError("scales and mins must be f32 [")
           << c[0] << ", " << c[1] << ", " << c[2] << ", G] with G dividing "
           << u[3] << ", got " << st << " and " << getMins().getType();
  if (!isI64Scalar(getPosition().getType()))
    return emitOpError("position must be a 0-d i64 tensor, got ")
           << getPosition().getType();
  return success();
}

LogicalResult KVThinkObserveOp::verify() {
  auto ot = cast<RankedTensorType>(getObserved().getType());
  auto tt = cast<RankedTensorType>(getPositions().getType());
  auto qt = cast<RankedTensorType>(getQuery().getType());
  if (!qt.getElementType().isF32() || qt.getRank() != 4)
    return emitOpError("query must be a 4-D f32 tensor, got ") << qt;
  ArrayRef<int64_t> q = qt.getShape();
  if (ot.getRank() != 4 || !ot.getElementType().isF32() ||
      ot.getShape()[0] != q[0] || ot.getShape()[1] <= 0 ||
      q[1] % ot.getShape()[1] != 0 || ot.getShape()[3] != q[3] ||
      ot.getShape()[2] <= 0)
    return emitOpError("observed must be f32 [")
           << q[0] << ", H, R, " << q[3] << "] with H dividing " << q[1]
           << ", got " << ot;
  if (tt.getRank() != 1 || !tt.getElementType().isInteger(64) ||
      tt.getShape()[0] != ot.getShape()[2])
    return emitOpError("positions must be i64 [")
           << ot.getShape()[2] << "], got " << tt;
  if (!isI64Scalar(getPosition().getType()))
    return emitOpError("position must be a 0-d i64 tensor, got ")
           << getPosition().getType();
  return success();
}

LogicalResult KVThinkPruneOp::verify() {
  auto ct = cast<RankedTensorType>(getCache().getType());
  auto ot = cast<RankedTensorType>(getObserved().getType());
  auto tt = cast<RankedTensorType>(getObservedPositions().getType());
  if (ct.getRank() != 4 || !ct.getElementType().isF32())
    return emitOpError("cache must be a 4-D f32 tensor, got ") << ct;
  ArrayRef<int64_t> c = ct.getShape();
  if (failed(verifyChannels(*this,
                            cast<RankedTensorType>(getChannels().getType()),
                            c[0], c[1], c[3])))
    return failure();
  if (ot.getRank() != 4 || !ot.getElementType().isF32() ||
      ot.getShape()[0] != c[0] || ot.getShape()[1] != c[1] ||
      ot.getShape()[3] != c[3] || ot.getShape()[2] <= 0)
    return emitOpError("observed must be f32 [")
           << c[0] << ", " << c[1] << ", R, " << c[3] << "], got " << ot;
  if (tt.getRank() != 1 || !tt.getElementType().isInteger(64) ||
      tt.getShape()[0] != ot.getShape()[2])
    return emitOpError("observed_positions must be i64 [")
           << ot.getShape()[2] << "], got " << tt;
  int64_t window = int64_t(getWindow()), recent = int64_t(getRecent());
  if (window <= 0 || window > ot.getShape()[2])
    return emitOpError("window must be in [1, ")
           << ot.getShape()[2] << "], got " << window;
  if (recent < 0)
    return emitOpError("recent must be >= 0, got ") << recent;
  if (!isI64Scalar(getPosition().getType()))
    return emitOpError("position must be a 0-d i64 tensor, got ")
           << getPosition().getType();
  return success();
}
