//===- WinogradKernel.cpp - vector code for Winograd's transforms ---------===//
//
// Part of kiln. Replaces the two transform generics that
// codegen/KilnToLinalg/Winograd.cpp marks `kiln.winograd` with vector
// loops over 8 tiles of a tile row at a time (the tile index is V's and
// M's innermost dim, so the GEMM between them reads and writes whole
// vectors):
//
//   input:  per (n, c, th): the 4 input rows of the tile row, each read
//           as 18 contiguous columns and split into the tiles' columns
//           0..3 (even/odd lanes of two overlapping 16-wide loads), then
//           V = B^T d B with adds only; 16 stores into V[k, c, n, th, :].
//   output: per (n, f, th): 16 loads of M[k, f, n, th, :], Y = A^T M A
//           with adds only, each output row's two columns interleaved
//           into 16 contiguous outputs; the bias (the fill before it) and
//           the elementwise op after it (ReLU, residual add) are applied
//           on the way out, as the other kernels' epilogues are.
//
//===----------------------------------------------------------------------===//

#include "codegen/KilnToLinalg/Lowering.h"
#include "codegen/cpu/ContractionUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace mlir::kiln;

namespace {

constexpr int64_t kLanes = 8; // tiles per vector (the padding assumes 8)

struct Emitter {
  OpBuilder &b;
  Location loc;
  VectorType vec = VectorType::get({kLanes}, b.getF32Type());

  Value cst(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }
  Value add(Value x, Value y) { return arith::AddFOp::create(b, loc, x, y); }
  Value sub(Value x, Value y) { return arith::SubFOp::create(b, loc, x, y); }
  Value mask(int64_t valid) {
    return vector::ConstantMaskOp::create(
        b, loc, VectorType::get({kLanes}, b.getI1Type()),
        ArrayRef<int64_t>{valid});
  }
  Value zeros() {
    return arith::ConstantOp::create(b, loc,
                                     DenseElementsAttr::get(vec, 0.0f));
  }
  Value load(Value base, ValueRange idx, int64_t valid) {
    if (valid == kLanes)
      return vector::LoadOp::create(b, loc, vec, base, idx);
    return vector::MaskedLoadOp::create(b, loc, vec, base, idx, mask(valid),
                                        zeros());
  }
  void store(Value value, Value base, ValueRange idx, int64_t valid) {
    if (valid == kLanes)
      vector::StoreOp::create(b, loc, value, base, idx);
    else if (valid > 0)
      vector::MaskedStoreOp::create(b, loc, base, idx, mask(valid), value);
  }
  /// Lanes `first`, `first` + 2, ... of a 16-wide vector.
  Value everyOther(Value wide, int64_t first) {
    SmallVector<int64_t> lanes;
    for (int64_t l = 0; l < kLanes; ++l)
      lanes.push_back(first + 2 * l);
    return vector::ShuffleOp::create(b, loc, wide, wide, lanes);
  }
};

/// A fill of all of `buffer` (linalg.fill, or the all-parallel generic
/// that yields its one scalar input) before `op` that nothing but `op`
/// reads: V's zeros, which the input kernel overwrites. `emitted` is the
/// kernel that replaces `op`.
Operation *deadFill(linalg::GenericOp op, Operation *emitted, Value buffer) {
  auto isFill = [&](Operation *user) {
    if (auto fill = dyn_cast<linalg::FillOp>(user))
      return fill.getDpsInitOperand(0)->get() == buffer;
    auto generic = dyn_cast<linalg::GenericOp>(user);
    if (!generic || generic.getNumDpsInputs() != 1 ||
        generic.getNumDpsInits() != 1 ||
        generic.getDpsInitOperand(0)->get() != buffer ||
        generic.getNumReductionLoops() != 0 ||
        generic.getMatchingIndexingMap(generic.getDpsInputOperand(0))
                .getNumResults() != 0)
      return false;
    auto yield = cast<linalg::YieldOp>(generic.getBody()->getTerminator());
    return yield.getNumOperands() == 1 &&
           yield.getOperand(0) == generic.getBody()->getArgument(0);
  };
  Operation *fill = nullptr;
  for (Operation *user : buffer.getUsers()) {
    if (user == op.getOperation() || emitted->isAncestor(user) ||
        isa<memref::CollapseShapeOp, memref::ExpandShapeOp>(user))
      continue;
    if (!isFill(user) || fill || user->getBlock() != op->getBlock() ||
        !user->isBeforeInBlock(op))
      return nullptr;
    fill = user;
  }
  return fill;
}

bool lowerInputTransform(linalg::GenericOp op, std::string *description) {
  Value x = op.getDpsInputOperand(0)->get();
  Value v = op.getDpsInitOperand(0)->get();
  if (!isIdentityF32(x, 4) || !isIdentityF32(v, 5))
    return false;
  ArrayRef<int64_t> xs = cast<MemRefType>(x.getType()).getShape(),
                    vs = cast<MemRefType>(v.getType()).getShape();
  int64_t c = vs[1], n = vs[2], th = vs[3], tw = vs[4];
  // The lowering pads so that every block's 18 columns are inside a row.
  if (vs[0] != 16 || xs[0] != n || xs[1] != c || xs[2] < 2 * th + 2 ||
      xs[3] < 16 * ((tw + kLanes - 1) / kLanes) + 2)
    return false;
  OpBuilder builder(op);
  Location loc = op.getLoc();
  Emitter e{builder, loc};
  Value zero = e.cst(0), one = e.cst(1);
  auto loops = scf::ParallelOp::create(
      builder, loc, ValueRange{zero, zero, zero},
      ValueRange{e.cst(n), e.cst(c), e.cst(th)}, ValueRange{one, one, one},
      [&](OpBuilder &pb, Location, ValueRange ivs) {
        Emitter p{pb, loc};
        Value ni = ivs[0], ci = ivs[1], ti = ivs[2];
        auto wide = VectorType::get({2 * kLanes}, pb.getF32Type());
        for (int64_t t0 = 0; t0 < tw; t0 += kLanes) {
          int64_t valid = std::min(kLanes, tw - t0);
          Value d[4][4];
          for (int64_t i = 0; i < 4; ++i) {
            Value row = arith::AddIOp::create(
                pb, loc, arith::MulIOp::create(pb, loc, ti, p.cst(2)),
                p.cst(i));
            Value lo = vector::LoadOp::create(pb, loc, wide, x,
                                              ValueRange{ni, ci, row,
                                                         p.cst(2 * t0)});
            Value hi = vector::LoadOp::create(
                pb, loc, wide, x, ValueRange{ni, ci, row, p.cst(2 * t0 + 2)});
            d[i][0] = p.everyOther(lo, 0);
            d[i][1] = p.everyOther(lo, 1);
            d[i][2] = p.everyOther(hi, 0);
            d[i][3] = p.everyOther(hi, 1);
          }
          // Rows of B^T: [1 0 -1 0], [0 1 1 0], [0 -1 1 0], [0 1 0 -1].
          auto bt = [&](Value a0, Value a1, Value a2, Value a3, int64_t r) {
            switch (r) {
            case 0:
              return p.sub(a0, a2);
            case 1:
              return p.add(a1, a2);
            case 2:
              return p.sub(a2, a1);
            default:
              return p.sub(a1, a3);
            }
          };
          Value t[4][4]; // t[i][nu] = sum_j BT[nu][j] d[i][j]
          for (int64_t i = 0; i < 4; ++i)
            for (int64_t nu = 0; nu < 4; ++nu)
              t[i][nu] = bt(d[i][0], d[i][1], d[i][2], d[i][3], nu);
          for (int64_t xi = 0; xi < 4; ++xi)
            for (int64_t nu = 0; nu < 4; ++nu)
              p.store(bt(t[0][nu], t[1][nu], t[2][nu], t[3][nu], xi), v,
                      ValueRange{p.cst(xi * 4 + nu), ci, ni, ti, p.cst(t0)},
                      valid);
        }
      });
  if (Operation *fill = deadFill(op, loops, v))
    fill->erase();
  if (description)
    *description = ("winograd input transform " + Twine(c) + "x" +
                    Twine(xs[2]) + "x" + Twine(xs[3]) + " -> 16x" + Twine(c) +
                    "x" + Twine(n * th * tw) + " tiles")
                       .str();
  op.erase();
  return true;
}

bool lowerOutputTransform(linalg::GenericOp op, std::string *description) {
  Value m = op.getDpsInputOperand(0)->get();
  Value y = op.getDpsInitOperand(0)->get();
  if (!isIdentityF32(y, 4) || !isIdentityF32(m, 5))
    return false;
  ArrayRef<int64_t> ms = cast<MemRefType>(m.getType()).getShape(),
                    ys = cast<MemRefType>(y.getType()).getShape();
  int64_t f = ms[1], n = ms[2], th = ms[3], tw = ms[4], oh = ys[2],
          ow = ys[3];
  if (ms[0] != 16 || ys[0] != n || ys[1] != f || th != (oh + 1) / 2 ||
      tw != (ow + 1) / 2)
    return false;
  TileFusion fusion = findTileFusion(op, y, {3});
  Value z = fusion.epilogueOut;
  OpBuilder builder(op);
  Location loc = op.getLoc();
  Emitter e{builder, loc};
  Value zero = e.cst(0), one = e.cst(1);
  scf::ParallelOp::create(
      builder, loc, ValueRange{zero, zero, zero},
      ValueRange{e.cst(n), e.cst(f), e.cst(th)}, ValueRange{one, one, one},
      [&](OpBuilder &pb, Location, ValueRange ivs) {
        Emitter p{pb, loc};
        Value ni = ivs[0], fi = ivs[1], ti = ivs[2];
        for (int64_t t0 = 0; t0 < tw; t0 += kLanes) {
          int64_t valid = std::min(kLanes, tw - t0);
          Value mv[4][4];
          for (int64_t xi = 0; xi < 4; ++xi)
            for (int64_t nu = 0; nu < 4; ++nu)
              mv[xi][nu] = p.load(
                  m, ValueRange{p.cst(xi * 4 + nu), fi, ni, ti, p.cst(t0)},
                  valid);
          // Rows of A^T: [1 1 1 0], [0 1 -1 -1].
          auto at = [](Emitter &q, Value a0, Value a1, Value a2, Value a3,
                       int64_t r) {
            return r == 0 ? q.add(q.add(a0, a1), a2)
                          : q.sub(q.sub(a1, a2), a3);
          };
          Value s[4][2];
          for (int64_t xi = 0; xi < 4; ++xi)
            for (int64_t bb = 0; bb < 2; ++bb)
              s[xi][bb] = at(p, mv[xi][0], mv[xi][1], mv[xi][2], mv[xi][3], bb);
          // Output columns 2 t0 .. 2 t0 + 15 as two vectors; the lanes
          // inside the output's width.
          int64_t col0 = 2 * t0;
          int64_t lanes[2] = {std::clamp<int64_t>(ow - col0, 0, kLanes),
                              std::clamp<int64_t>(ow - col0 - kLanes, 0,
                                                  kLanes)};
          auto emitRow = [&](OpBuilder &rb, int64_t a) {
            Emitter r{rb, loc};
            Value ya[2];
            for (int64_t bb = 0; bb < 2; ++bb)
              ya[bb] = at(r, s[0][bb], s[1][bb], s[2][bb], s[3][bb], a);
            SmallVector<int64_t> interleave;
            for (int64_t l = 0; l < kLanes; ++l)
              interleave.append({l, kLanes + l});
            Value both = vector::ShuffleOp::create(rb, loc, ya[0], ya[1],
                                                   interleave);
            Value row = arith::AddIOp::create(
                rb, loc, arith::MulIOp::create(rb, loc, ti, r.cst(2)),
                r.cst(a));
            for (int64_t half = 0; half < 2; ++half) {
              int64_t valid = lanes[half];
              if (valid == 0)
                continue;
              Value out = vector::ExtractStridedSliceOp::create(
                  rb, loc, both, ArrayRef<int64_t>{half * kLanes},
                  ArrayRef<int64_t>{kLanes}, ArrayRef<int64_t>{1});
              SmallVector<Value> idx = {ni, fi, row,
                                        r.cst(col0 + half * kLanes)};
              Value mask = valid < kLanes ? r.mask(valid) : Value();
              Value init = fusion.prologue
                               ? emitPrologue(rb, loc, fusion, idx, r.vec)
                               : r.load(y, idx, valid);
              Value acc = r.add(init, out);
              if (fusion.storeY)
                r.store(acc, y, idx, valid);
              if (fusion.epilogue)
                r.store(emitEpilogue(rb, loc, fusion, idx, acc, mask), z, idx,
                        valid);
            }
          };
          emitRow(pb, 0);
          if (oh % 2 == 0) {
            emitRow(pb, 1);
            continue;
          }
          // An odd height: the last tile row has one output row.
          Value inside = arith::CmpIOp::create(pb, loc,
                                               arith::CmpIPredicate::slt, ti,
                                               p.cst(th - 1));
          scf::IfOp::create(pb, loc, inside, [&](OpBuilder &tb, Location) {
            emitRow(tb, 1);
            scf::YieldOp::create(tb, loc);
          });
        }
      });
  if (description)
    *description = ("winograd output transform 16x" + Twine(f) + "x" +
                    Twine(n * th * tw) + " tiles -> " + Twine(n) + "x" +
                    Twine(f) + "x" + Twine(oh) + "x" + Twine(ow) +
                    describeFusion(fusion))
                       .str();
  eraseFused(fusion);
  op.erase();
  return true;
}

} // namespace

bool mlir::kiln::lowerWinogradTransform(linalg::GenericOp op,
                                        std::string *description) {
  auto kind = op->getAttrOfType<StringAttr>(lowering::kWinogradAttr);
  if (!kind || !op.hasPureBufferSemantics() || op.getNumDpsInits() != 1)
    return false;
  if (kind.getValue() == lowering::kWinogradInput)
    return lowerInputTransform(op, description);
  if (kind.getValue() == lowering::kWinogradOutput)
    return lowerOutputTransform(op, description);
  return false;
}
