//===- WinogradKernel.cpp - vector code for Winograd's transforms ---------===//
//
// Part of kiln. Replaces the two transform generics that
// codegen/KilnToLinalg/Winograd.cpp marks `kiln.winograd` with vector
// loops over 8 tiles of a tile row at a time (the tile index is V's and
// M's innermost dim, so the GEMM between them reads and writes whole
// vectors). For F(m x m, 3x3), alpha = m + 2:
//
//   input:  per (n, c, th): the alpha input rows of the tile row, each
//           read as two 8m-wide vectors (from the block's first column and
//           from m past it) and split into the tiles' columns 0..alpha-1
//           (lanes j, j + m, ...), then V = B^T d B as adds, subtracts and
//           multiply-adds by B^T's constants; alpha^2 stores into
//           V[k, c, n, th, :].
//   output: per (n, f, th): alpha^2 loads of M[k, f, n, th, :], Y = A^T M A
//           the same way, each output row's m columns interleaved into 8m
//           contiguous outputs; the bias (the fill before it) and the
//           elementwise op after it (ReLU, residual add) are applied on the
//           way out, as the other kernels' epilogues are.
//
//===----------------------------------------------------------------------===//

#include "codegen/KilnToLinalg/Lowering.h"
#include "codegen/cpu/ContractionUtils.h"
#include "costmodel/ConvAlgorithmCost.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <numeric>

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
  /// Lanes `first`, `first` + `step`, ... (kLanes of them) of `wide`.
  Value strided(Value wide, int64_t first, int64_t step) {
    SmallVector<int64_t> lanes;
    for (int64_t l = 0; l < kLanes; ++l)
      lanes.push_back(first + step * l);
    return vector::ShuffleOp::create(b, loc, wide, wide, lanes);
  }
  /// sum_j coefficient(j) * values[j] over the nonzero coefficients, as
  /// adds and subtracts for +-1 and multiply-adds otherwise (a +1 term
  /// first when there is one, so F(2x2)'s rows are adds only).
  Value combine(ArrayRef<Value> values,
                llvm::function_ref<double(int64_t)> coefficient) {
    SmallVector<int64_t> order, rest;
    for (int64_t j = 0, e = values.size(); j < e; ++j) {
      double cj = coefficient(j);
      if (cj == 1)
        order.push_back(j);
      else if (cj != 0)
        rest.push_back(j);
    }
    order.append(rest);
    Value acc;
    for (int64_t j : order) {
      double cj = coefficient(j);
      Value term = values[j];
      if (!acc) {
        acc = cj == 1 ? term
              : cj == -1
                  ? arith::NegFOp::create(b, loc, term).getResult()
                  : arith::MulFOp::create(b, loc, splat(cj), term).getResult();
      } else if (cj == 1) {
        acc = add(acc, term);
      } else if (cj == -1) {
        acc = sub(acc, term);
      } else {
        acc = vector::FMAOp::create(b, loc, splat(cj), term, acc);
      }
    }
    return acc ? acc : zeros();
  }
  /// Row m * ti + i of the map: row i of tile row ti.
  Value tileRow(Value ti, int64_t m, int64_t i) {
    return arith::AddIOp::create(
        b, loc, arith::MulIOp::create(b, loc, ti, cst(m)), cst(i));
  }
  /// The vectors of `parts` (a power of two of them, one width) end to end.
  Value concat(SmallVector<Value> parts) {
    while (parts.size() > 1) {
      SmallVector<Value> joined;
      for (size_t i = 0; i < parts.size(); i += 2) {
        SmallVector<int64_t> both(
            2 * cast<VectorType>(parts[i].getType()).getDimSize(0));
        std::iota(both.begin(), both.end(), 0);
        joined.push_back(
            vector::ShuffleOp::create(b, loc, parts[i], parts[i + 1], both));
      }
      parts = std::move(joined);
    }
    return parts.front();
  }
  Value splat(double v) {
    return arith::ConstantOp::create(b, loc,
                                     DenseElementsAttr::get(vec, float(v)));
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

/// The transform of a V or M buffer whose leading dim is alpha^2.
std::optional<lowering::WinogradMatrices> matricesFor(int64_t points) {
  for (int64_t m : {2, 4})
    if ((m + 2) * (m + 2) == points)
      return lowering::winogradMatrices(m);
  return std::nullopt;
}

bool lowerInputTransform(linalg::GenericOp op, std::string *description) {
  Value x = op.getDpsInputOperand(0)->get();
  Value v = op.getDpsInitOperand(0)->get();
  if (!isIdentityF32(x, 4) || !isIdentityF32(v, 5))
    return false;
  ArrayRef<int64_t> xs = cast<MemRefType>(x.getType()).getShape(),
                    vs = cast<MemRefType>(v.getType()).getShape();
  std::optional<lowering::WinogradMatrices> wm = matricesFor(vs[0]);
  if (!wm)
    return false;
  int64_t m = wm->m, alpha = wm->alpha;
  int64_t c = vs[1], n = vs[2], th = vs[3], tw = vs[4];
  // The lowering pads so that every block's reads are inside a row.
  if (xs[0] != n || xs[1] != c || xs[2] < m * th + 2 ||
      xs[3] < kLanes * m * ((tw + kLanes - 1) / kLanes) + m)
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
        auto wide = VectorType::get({m * kLanes}, pb.getF32Type());
        for (int64_t t0 = 0; t0 < tw; t0 += kLanes) {
          int64_t valid = std::min(kLanes, tw - t0);
          // d[i][j]: lane l holds x[m ti + i, m (t0 + l) + j].
          SmallVector<SmallVector<Value>> d(alpha);
          for (int64_t i = 0; i < alpha; ++i) {
            Value row = p.tileRow(ti, m, i);
            Value lo = vector::LoadOp::create(
                pb, loc, wide, x, ValueRange{ni, ci, row, p.cst(m * t0)});
            Value hi = vector::LoadOp::create(
                pb, loc, wide, x, ValueRange{ni, ci, row, p.cst(m * t0 + m)});
            for (int64_t j = 0; j < alpha; ++j)
              d[i].push_back(j < m ? p.strided(lo, j, m)
                                   : p.strided(hi, j - m, m));
          }
          // t[i][nu] = sum_j BT[nu][j] d[i][j]
          SmallVector<SmallVector<Value>> t(alpha);
          for (int64_t i = 0; i < alpha; ++i)
            for (int64_t nu = 0; nu < alpha; ++nu)
              t[i].push_back(
                  p.combine(d[i], [&](int64_t j) { return wm->btAt(nu, j); }));
          for (int64_t xi = 0; xi < alpha; ++xi)
            for (int64_t nu = 0; nu < alpha; ++nu) {
              SmallVector<Value> column;
              for (int64_t i = 0; i < alpha; ++i)
                column.push_back(t[i][nu]);
              p.store(
                  p.combine(column, [&](int64_t i) { return wm->btAt(xi, i); }),
                  v, ValueRange{p.cst(xi * alpha + nu), ci, ni, ti, p.cst(t0)},
                  valid);
            }
        }
      });
  if (Operation *fill = deadFill(op, loops, v))
    fill->erase();
  if (description)
    *description =
        ("winograd " + convAlgorithmName(m) + " input transform " + Twine(c) +
         "x" + Twine(xs[2]) + "x" + Twine(xs[3]) + " -> " + Twine(vs[0]) + "x" +
         Twine(c) + "x" + Twine(n * th * tw) + " tiles")
            .str();
  op.erase();
  return true;
}

bool lowerOutputTransform(linalg::GenericOp op, std::string *description) {
  Value mBuffer = op.getDpsInputOperand(0)->get();
  Value y = op.getDpsInitOperand(0)->get();
  if (!isIdentityF32(y, 4) || !isIdentityF32(mBuffer, 5))
    return false;
  ArrayRef<int64_t> ms = cast<MemRefType>(mBuffer.getType()).getShape(),
                    ys = cast<MemRefType>(y.getType()).getShape();
  std::optional<lowering::WinogradMatrices> wm = matricesFor(ms[0]);
  if (!wm)
    return false;
  int64_t m = wm->m, alpha = wm->alpha;
  int64_t f = ms[1], n = ms[2], th = ms[3], tw = ms[4], oh = ys[2],
          ow = ys[3];
  if (ys[0] != n || ys[1] != f || th != (oh + m - 1) / m ||
      tw != (ow + m - 1) / m)
    return false;
  TileFusion fusion = findTileFusion(op, y, {3});
  Value z = fusion.epilogueOut;
  OpBuilder builder(op);
  Location loc = op.getLoc();
  Emitter e{builder, loc};
  Value zero = e.cst(0), one = e.cst(1);
  // Output rows of the last tile row inside the map; rows past them are
  // guarded.
  int64_t lastRows = oh - m * (th - 1);
  // Lane q of an output row's 8m columns is tile q / m's column q % m.
  SmallVector<int64_t> interleave;
  for (int64_t q = 0; q < m * kLanes; ++q)
    interleave.push_back((q % m) * kLanes + q / m);
  scf::ParallelOp::create(
      builder, loc, ValueRange{zero, zero, zero},
      ValueRange{e.cst(n), e.cst(f), e.cst(th)}, ValueRange{one, one, one},
      [&](OpBuilder &pb, Location, ValueRange ivs) {
        Emitter p{pb, loc};
        Value ni = ivs[0], fi = ivs[1], ti = ivs[2];
        for (int64_t t0 = 0; t0 < tw; t0 += kLanes) {
          int64_t valid = std::min(kLanes, tw - t0);
          // s[xi][bb] = sum_nu AT[bb][nu] M[xi][nu]
          SmallVector<SmallVector<Value>> s(alpha);
          for (int64_t xi = 0; xi < alpha; ++xi) {
            SmallVector<Value> row;
            for (int64_t nu = 0; nu < alpha; ++nu)
              row.push_back(p.load(
                  mBuffer,
                  ValueRange{p.cst(xi * alpha + nu), fi, ni, ti, p.cst(t0)},
                  valid));
            for (int64_t bb = 0; bb < m; ++bb)
              s[xi].push_back(
                  p.combine(row, [&](int64_t nu) { return wm->atAt(bb, nu); }));
          }
          int64_t col0 = m * t0;
          auto emitRow = [&](OpBuilder &rb, int64_t a) {
            Emitter r{rb, loc};
            // The row's m column vectors, concatenated, then interleaved.
            SmallVector<Value> parts;
            for (int64_t bb = 0; bb < m; ++bb) {
              SmallVector<Value> column;
              for (int64_t xi = 0; xi < alpha; ++xi)
                column.push_back(s[xi][bb]);
              parts.push_back(r.combine(
                  column, [&](int64_t xi) { return wm->atAt(a, xi); }));
            }
            Value joined = r.concat(parts);
            Value all =
                vector::ShuffleOp::create(rb, loc, joined, joined, interleave);
            Value row = r.tileRow(ti, m, a);
            for (int64_t piece = 0; piece < m; ++piece) {
              int64_t lanes =
                  std::clamp<int64_t>(ow - col0 - piece * kLanes, 0, kLanes);
              if (lanes == 0)
                continue;
              Value out = vector::ExtractStridedSliceOp::create(
                  rb, loc, all, ArrayRef<int64_t>{piece * kLanes},
                  ArrayRef<int64_t>{kLanes}, ArrayRef<int64_t>{1});
              SmallVector<Value> idx = {ni, fi, row,
                                        r.cst(col0 + piece * kLanes)};
              Value mask = lanes < kLanes ? r.mask(lanes) : Value();
              Value init = fusion.prologue
                               ? emitPrologue(rb, loc, fusion, idx, r.vec)
                               : r.load(y, idx, lanes);
              Value acc = r.add(init, out);
              if (fusion.storeY)
                r.store(acc, y, idx, lanes);
              if (fusion.epilogue)
                r.store(emitEpilogue(rb, loc, fusion, idx, acc, mask), z, idx,
                        lanes);
            }
          };
          for (int64_t a = 0; a < m; ++a) {
            if (a < lastRows) {
              emitRow(pb, a);
              continue;
            }
            // Past the map's last row in the last tile row.
            Value inside = arith::CmpIOp::create(
                pb, loc, arith::CmpIPredicate::slt, ti, p.cst(th - 1));
            scf::IfOp::create(pb, loc, inside, [&](OpBuilder &tb, Location) {
              emitRow(tb, a);
              scf::YieldOp::create(tb, loc);
            });
          }
        }
      });
  if (description)
    *description = ("winograd " + convAlgorithmName(m) + " output transform " +
                    Twine(ms[0]) + "x" + Twine(f) + "x" + Twine(n * th * tw) +
                    " tiles -> " + Twine(n) + "x" + Twine(f) + "x" + Twine(oh) +
                    "x" + Twine(ow) + describeFusion(fusion))
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
