//===- QuantizedMatmulKernel.cpp - group-quantized weight GEMM/GEMV -------===//
//
// Part of kiln. The kernel of kiln.quantized_matmul on buffers:
//
//   parallel over N panels of nr columns
//     for row tiles of mr rows
//       for each group g of K:  (acc, xs = 0)
//         per k (two at a time for 4-bit): one byte vector of the panel,
//           nibbles -> f32, mr broadcasts of A, FMAs into acc;
//           with zero points also xs += A[r, k]
//         y += acc * s[g]  (- xs * (zero[g] * s[g]) with zero points)
//
// Weights are packed at compile time into [panel][K / per byte][nr] bytes
// (4-bit values two per byte, k even in the low nibble, read as 16 times
// their value: the packed scale is s / 16), scales and zero terms zero * s
// into [panel][group][nr] f32, so the inner loop streams packed weights once
// and dequantizes in registers: the dequantized matrix never exists.
//
//===----------------------------------------------------------------------===//

#include "codegen/KilnToLinalg/Lowering.h"
#include "codegen/cpu/ContractionUtils.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "llvm/ADT/Twine.h"

#include <cstring>

using namespace mlir;
using namespace mlir::kiln;

namespace {

/// The matched operands and sizes of a quantized matmul generic.
struct QuantizedMatmul {
  linalg::GenericOp op;
  WeightQuantAttr quant;
  Value a, c;
  memref::GlobalOp weights, scales, zeros;
  bool unsignedValues = false;
  int64_t m = 0, n = 0, k = 0, groups = 0;
};

std::optional<QuantizedMatmul> match(linalg::GenericOp op) {
  auto quant = op->getAttrOfType<WeightQuantAttr>(lowering::kQuantizedMatmulAttr);
  if (!quant || !op.hasPureBufferSemantics() || op.getNumDpsInits() != 1)
    return std::nullopt;
  unsigned inputs = op.getNumDpsInputs();
  if (inputs != 3 && inputs != 4)
    return std::nullopt;
  QuantizedMatmul q;
  q.op = op;
  q.quant = quant;
  q.a = op.getDpsInputOperand(0)->get();
  q.c = op.getDpsInitOperand(0)->get();
  Value w = op.getDpsInputOperand(1)->get();
  q.weights = constantGlobalOf(w);
  q.scales = constantGlobalOf(op.getDpsInputOperand(2)->get());
  if (inputs == 4) {
    q.zeros = constantGlobalOf(op.getDpsInputOperand(3)->get());
    if (!q.zeros)
      return std::nullopt;
  }
  if (!q.weights || !q.scales || !isIdentityF32(q.a, 2) ||
      !isIdentityF32(q.c, 2))
    return std::nullopt;
  // The lowering's maps: A (m, k), W (k, n), C (m, n), whatever the loop
  // order (kiln-interchange-reductions may have moved n innermost).
  std::optional<unsigned> am = resultDim(op.getIndexingMapsArray()[0], 0),
                          ak = resultDim(op.getIndexingMapsArray()[0], 1),
                          wk = resultDim(op.getIndexingMapsArray()[1], 0),
                          wn = resultDim(op.getIndexingMapsArray()[1], 1);
  AffineMap cMap = op.getMatchingIndexingMap(op.getDpsInitOperand(0));
  if (!am || !ak || !wk || !wn || *ak != *wk ||
      resultDim(cMap, 0) != am || resultDim(cMap, 1) != wn)
    return std::nullopt;
  auto wType = cast<MemRefType>(w.getType());
  q.unsignedValues = wType.getElementType().isUnsignedInteger();
  ArrayRef<int64_t> aShape = cast<MemRefType>(q.a.getType()).getShape();
  q.m = aShape[0];
  q.k = aShape[1];
  q.n = wType.getShape()[1];
  q.groups = (q.k + quant.getGroup() - 1) / quant.getGroup();
  return q;
}

/// The packed constants of one quantized matmul.
struct Packed {
  memref::GlobalOp weights, scales, zeroTerms; // zeroTerms: with zero points
  bool nibbles = false;
  bool isSigned = false;
};

/// Packs weights, scales and zero terms for panels of `nr` columns, or
/// returns an empty Packed when a constant cannot be read.
Packed pack(QuantizedMatmul q, int64_t nr) {
  std::optional<std::vector<char>> w = readGlobalBytes(q.weights);
  std::optional<std::vector<float>> s = readF32Global(q.scales);
  std::optional<std::vector<char>> z;
  if (q.zeros)
    z = readGlobalBytes(q.zeros);
  if (!w || !s || (q.zeros && !z))
    return {};
  int64_t k = q.k, n = q.n, groups = q.groups, g = q.quant.getGroup();
  int64_t panels = (n + nr - 1) / nr;
  auto value = [&](int64_t r, int64_t c) {
    return q.unsignedValues ? int(uint8_t((*w)[r * n + c]))
                            : int(int8_t((*w)[r * n + c]));
  };
  // Nibbles when every value is a 4-bit integer and the groups split
  // into pairs of k.
  int lo = q.unsignedValues ? 0 : -8, hi = lo + 15;
  bool nibbles = q.quant.getBits() <= 4 && k % 2 == 0 && g % 2 == 0;
  for (int64_t i = 0; nibbles && i < k * n; ++i) {
    int v = value(i / n, i % n);
    nibbles = v >= lo && v <= hi;
  }
  int64_t perByte = nibbles ? 2 : 1, rows = k / perByte;
  std::vector<char> wp(panels * rows * nr, 0);
  for (int64_t p = 0; p < panels; ++p)
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < nr && p * nr + c < n; ++c) {
        int64_t col = p * nr + c;
        unsigned byte =
            nibbles ? (unsigned(value(2 * r, col)) & 15) |
                          (unsigned(value(2 * r + 1, col)) & 15) << 4
                    : unsigned(value(r, col)) & 255;
        wp[(p * rows + r) * nr + c] = char(byte);
      }
  std::vector<float> sp(panels * groups * nr, 0.0f),
      zp(panels * groups * nr, 0.0f);
  for (int64_t p = 0; p < panels; ++p)
    for (int64_t gi = 0; gi < groups; ++gi)
      for (int64_t c = 0; c < nr && p * nr + c < n; ++c) {
        int64_t col = p * nr + c;
        float scale = (*s)[gi * n + col];
        int zero = 0;
        if (z)
          zero = q.unsignedValues ? int(uint8_t((*z)[gi * n + col]))
                                  : int(int8_t((*z)[gi * n + col]));
        sp[(p * groups + gi) * nr + c] = nibbles ? scale / 16.0f : scale;
        zp[(p * groups + gi) * nr + c] = float(zero) * scale;
      }
  // SymbolTable makes the names unique.
  std::string base = q.weights.getSymName().str();
  Packed result;
  result.nibbles = nibbles;
  result.isSigned = !q.unsignedValues;
  MLIRContext *ctx = q.op.getContext();
  result.weights =
      createConstantGlobal(q.weights, base + "_packed", {panels, rows, nr},
                           IntegerType::get(ctx, 8), wp);
  result.scales =
      createConstantGlobal(q.weights, base + "_scales", {panels, groups, nr}, sp);
  if (z)
    result.zeroTerms = createConstantGlobal(
        q.weights, base + "_zero_terms", {panels, groups, nr}, zp);
  return result;
}

/// Emits the kernel; `rowsPerTile` is mr.
class Emitter {
public:
  Emitter(QuantizedMatmul q, const Packed &packed, int64_t nr,
          int64_t mr, TileFusion &fusion)
      : q(q), packed(packed), nr(nr), mr(mr), fusion(fusion) {}

  void emit() {
    OpBuilder b(q.op);
    Location loc = q.op.getLoc();
    auto get = [&](memref::GlobalOp g) -> Value {
      return memref::GetGlobalOp::create(b, loc, g.getType(), g.getSymName());
    };
    wp = get(packed.weights);
    sp = get(packed.scales);
    if (packed.zeroTerms)
      zp = get(packed.zeroTerms);
    int64_t panels = (q.n + nr - 1) / nr;
    scf::ParallelOp::create(
        b, loc, ValueRange{cst(b, loc, 0)}, ValueRange{cst(b, loc, panels)},
        ValueRange{cst(b, loc, 1)},
        [&](OpBuilder &pb, Location l, ValueRange ivs) {
          panel = ivs[0];
          nStart = arith::MulIOp::create(pb, l, panel, cst(pb, l, nr));
          mask = Value();
          if (q.n % nr) {
            Value left = arith::SubIOp::create(pb, l, cst(pb, l, q.n), nStart);
            Value valid = arith::MinSIOp::create(pb, l, left, cst(pb, l, nr));
            mask = vector::CreateMaskOp::create(
                pb, l, VectorType::get({nr}, pb.getI1Type()),
                ArrayRef<OpFoldResult>{valid});
          }
          int64_t full = (q.m / mr) * mr;
          if (full > 0)
            scf::ForOp::create(
                pb, l, cst(pb, l, 0), cst(pb, l, full), cst(pb, l, mr),
                ValueRange{},
                [&](OpBuilder &rb, Location rl, Value row, ValueRange) {
                  emitTile(rb, rl, row, mr);
                  scf::YieldOp::create(rb, rl);
                });
          if (q.m > full)
            emitTile(pb, l, cst(pb, l, full), q.m - full);
        });
  }

private:
  QuantizedMatmul q;
  const Packed &packed;
  int64_t nr, mr;
  TileFusion &fusion;
  Value wp, sp, zp, panel, nStart, mask;

  static Value cst(OpBuilder &b, Location loc, int64_t v) {
    return arith::ConstantIndexOp::create(b, loc, v);
  }
  VectorType vecType(OpBuilder &b) const {
    return VectorType::get({nr}, b.getF32Type());
  }

  /// `rows` rows from `row`: y starts as C's init (or the fused fill),
  /// collects every group, then is stored (through the fused epilogue).
  void emitTile(OpBuilder &b, Location loc, Value row, int64_t rows) {
    VectorType vt = vecType(b);
    SmallVector<Value> rowValues;
    for (int64_t r = 0; r < rows; ++r)
      rowValues.push_back(arith::AddIOp::create(b, loc, row, cst(b, loc, r)));
    SmallVector<Value> init;
    for (int64_t r = 0; r < rows; ++r) {
      SmallVector<Value> idx = {rowValues[r], nStart};
      if (fusion.prologue)
        init.push_back(emitPrologue(b, loc, fusion, idx, vt));
      else if (mask)
        init.push_back(vector::MaskedLoadOp::create(
            b, loc, vt, q.c, idx, mask,
            arith::ConstantOp::create(b, loc, vt,
                                      DenseElementsAttr::get(vt, 0.0f))));
      else
        init.push_back(vector::LoadOp::create(b, loc, vt, q.c, idx));
    }
    auto groups = scf::ForOp::create(
        b, loc, cst(b, loc, 0), cst(b, loc, q.groups), cst(b, loc, 1), init,
        [&](OpBuilder &gb, Location gl, Value g, ValueRange y) {
          scf::YieldOp::create(gb, gl, emitGroup(gb, gl, rowValues, g, y));
        });
    for (int64_t r = 0; r < rows; ++r) {
      SmallVector<Value> idx = {rowValues[r], nStart};
      Value y = groups.getResult(r);
      auto store = [&](Value v, Value base) {
        if (mask)
          vector::MaskedStoreOp::create(b, loc, base, idx, mask, v);
        else
          vector::StoreOp::create(b, loc, v, base, idx);
      };
      if (!fusion.epilogue || fusion.storeY)
        store(y, q.c);
      if (fusion.epilogue)
        store(emitEpilogue(b, loc, fusion, idx, y, mask), fusion.epilogueOut);
    }
  }

  /// One group: the integer-weighted sums (and, with zero points, the
  /// sums of A), then y + acc * s (- xs * zeroTerm).
  SmallVector<Value> emitGroup(OpBuilder &b, Location loc,
                               ArrayRef<Value> rowValues, Value g,
                               ValueRange y) {
    VectorType vt = vecType(b);
    int64_t rows = rowValues.size(), gs = q.quant.getGroup();
    bool sums = static_cast<bool>(zp);
    Value k0 = arith::MulIOp::create(b, loc, g, cst(b, loc, gs));
    Value kEnd = arith::MinSIOp::create(
        b, loc, arith::AddIOp::create(b, loc, k0, cst(b, loc, gs)),
        cst(b, loc, q.k));
    Value zeroVec = arith::ConstantOp::create(
        b, loc, vt, DenseElementsAttr::get(vt, 0.0f));
    SmallVector<Value> init(rows, zeroVec);
    if (sums)
      init.append(rows, arith::ConstantOp::create(b, loc,
                                                  b.getF32FloatAttr(0.0f)));
    int64_t step = packed.nibbles ? 2 : 1;
    auto loop = scf::ForOp::create(
        b, loc, k0, kEnd, cst(b, loc, step), init,
        [&](OpBuilder &kb, Location kl, Value kk, ValueRange carried) {
          SmallVector<Value> columns = loadColumns(kb, kl, kk);
          SmallVector<Value> next(carried.begin(), carried.end());
          for (int64_t r = 0; r < rows; ++r) {
            for (auto [j, column] : llvm::enumerate(columns)) {
              Value kj = j ? arith::AddIOp::create(kb, kl, kk, cst(kb, kl, j))
                                 .getResult()
                           : kk;
              Value a = memref::LoadOp::create(kb, kl, q.a,
                                               ValueRange{rowValues[r], kj});
              Value splat = vector::BroadcastOp::create(kb, kl, vt, a);
              next[r] = vector::FMAOp::create(kb, kl, splat, column, next[r]);
              if (sums)
                next[rows + r] =
                    arith::AddFOp::create(kb, kl, next[rows + r], a);
            }
          }
          scf::YieldOp::create(kb, kl, next);
        });
    Value scale = vector::LoadOp::create(b, loc, vt, sp,
                                         ValueRange{panel, g, cst(b, loc, 0)});
    Value zeroTerm;
    if (sums)
      zeroTerm = vector::LoadOp::create(b, loc, vt, zp,
                                        ValueRange{panel, g, cst(b, loc, 0)});
    SmallVector<Value> result;
    for (int64_t r = 0; r < rows; ++r) {
      Value acc = vector::FMAOp::create(b, loc, loop.getResult(r), scale, y[r]);
      if (sums) {
        Value negSum = vector::BroadcastOp::create(
            b, loc, vt,
            arith::NegFOp::create(b, loc, loop.getResult(rows + r)));
        acc = vector::FMAOp::create(b, loc, negSum, zeroTerm, acc);
      }
      result.push_back(acc);
    }
    return result;
  }

  /// The weights of k (and k + 1 when two share a byte) for the panel's
  /// columns, as f32 vectors.
  SmallVector<Value> loadColumns(OpBuilder &b, Location loc, Value kk) {
    VectorType vt = vecType(b);
    VectorType byteType = VectorType::get({nr}, b.getI8Type());
    Value byteRow = packed.nibbles
                        ? arith::DivUIOp::create(b, loc, kk, cst(b, loc, 2))
                        : kk;
    Value bytes = vector::LoadOp::create(
        b, loc, byteType, wp, ValueRange{panel, byteRow, cst(b, loc, 0)});
    auto toFloat = [&](Value v) -> Value {
      if (packed.isSigned)
        return arith::SIToFPOp::create(b, loc, vt, v);
      return arith::UIToFPOp::create(b, loc, vt, v);
    };
    if (!packed.nibbles)
      return {toFloat(bytes)};
    auto splat = [&](int64_t v) -> Value {
      return arith::ConstantOp::create(
          b, loc, byteType,
          DenseElementsAttr::get(byteType, b.getI8IntegerAttr(v)));
    };
    // Each nibble times 16, without shifting right (x86 has no byte
    // shifts): the low one shifted up, the high one masked in place. The
    // packed scales carry the 1/16 (exact).
    Value low = arith::ShLIOp::create(b, loc, bytes, splat(4));
    Value high = arith::AndIOp::create(b, loc, bytes, splat(0xF0));
    return {toFloat(low), toFloat(high)};
  }
};

} // namespace

bool mlir::kiln::lowerQuantizedMatmul(
    linalg::GenericOp op, const CpuTarget &target,
    SmallVectorImpl<memref::GlobalOp> &packedSources,
    std::string *description) {
  std::optional<QuantizedMatmul> q = match(op);
  if (!q)
    return false;
  // Two vectors of columns per panel; row tiles sized so the group and
  // running accumulators (2 x mr x 2 vectors) leave registers for the
  // dequantized columns.
  int64_t lanes = std::max<int64_t>(target.vectorBits / 32, 4);
  int64_t nr = 2 * lanes;
  int64_t mr = std::min<int64_t>(q->m, target.vectorRegisters >= 32 ? 4 : 2);
  Packed packed = pack(*q, nr);
  if (!packed.weights)
    return false;
  TileFusion fusion = findTileFusion(op, q->c, {1});
  Emitter(*q, packed, nr, mr, fusion).emit();
  if (description)
    *description =
        (Twine("quantized matmul M ") + Twine(q->m) + " N " + Twine(q->n) +
         " K " + Twine(q->k) + ", w" + Twine(q->quant.getBits()) + " group " +
         Twine(q->quant.getGroup()) + (q->zeros ? " asymmetric" : "") +
         ", weights packed " + (packed.nibbles ? "2 per byte" : "1 per byte") +
         ", tile " + Twine(mr) + "x" + Twine(nr) + describeFusion(fusion))
            .str();
  packedSources.push_back(q->weights);
  packedSources.push_back(q->scales);
  if (q->zeros)
    packedSources.push_back(q->zeros);
  SmallVector<Value> operands(op.getDpsInputs());
  eraseFused(fusion);
  op.erase();
  for (Value v : operands)
    if (auto get = v.getDefiningOp<memref::GetGlobalOp>(); get && get->use_empty())
      get.erase();
  return true;
}
