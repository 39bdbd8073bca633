//===- LowerContractions.cpp - register-tiled f32 contractions ------------===//
//
// Part of kiln. Replaces f32 matmul-like linalg.generic ops on buffers with a
// register-tiled, vectorized loop nest:
//
//   parallel over (batch.., N panels of nr columns)
//     for K blocks of kc
//       for row tiles of mr rows
//         mr x nr accumulators (vectors) in registers;
//         per k: one B vector (nr wide), mr A broadcasts, mr FMAs
//
// B operands that are constants are packed at compile time into panels
// [N/nr][K][nr] (zero-padded), so the inner loop reads B contiguously. Other
// B operands are read in place when their columns are contiguous, or packed
// per (panel, K block) into a stack buffer otherwise (e.g. K^T in
// attention). Tile sizes come from chooseContractionConfig.
//
// With bf16 (kiln compile --precision=bf16, AVX512_BF16) a matmul with a
// constant B multiplies bf16 pairs instead: B packed at compile time as
// [N/nr][K/2][nr] words of two bf16 (k even low, k odd high), A repacked
// the same way per row tile, and per pair of k one vdpbf16ps per 16
// columns adds both products into the f32 accumulators.
//
//===----------------------------------------------------------------------===//

#include "codegen/Passes.h"
#include "codegen/KilnToLinalg/Lowering.h"
#include "codegen/cpu/ContractionUtils.h"
#include "codegen/cpu/KernelConfig.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Utils/Utils.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/Hashing.h"
#include "llvm/Support/xxhash.h"

#include <cstring>

namespace mlir::kiln {
#define GEN_PASS_DEF_KILNLOWERCONTRACTIONSPASS
#include "codegen/Passes.h.inc"
} // namespace mlir::kiln

using namespace mlir;
using namespace mlir::kiln;

namespace {

/// A matched C[batch.., m, n] += A[.., m, k] * B[.., k, n] on buffers.
struct Matmul {
  linalg::GenericOp op;
  Value a, b, c;
  AffineMap mapA, mapB, mapC;
  SmallVector<unsigned> batchDims;
  unsigned mDim = 0, nDim = 0, kDim = 0;
  SmallVector<int64_t> ranges;
  int64_t m() const { return ranges[mDim]; }
  int64_t n() const { return ranges[nDim]; }
  int64_t k() const { return ranges[kDim]; }
};

/// A vector of a panel's columns at `idx`: masked (zeros past N) when
/// `mask` is set, the ragged last panel.
Value loadColumns(OpBuilder &b, Location loc, VectorType type, Value base,
                  ValueRange idx, Value mask, Value zeros) {
  if (mask)
    return vector::MaskedLoadOp::create(b, loc, type, base, idx, mask, zeros);
  return vector::LoadOp::create(b, loc, type, base, idx);
}

bool usesDim(AffineMap map, unsigned dim) {
  for (AffineExpr e : map.getResults())
    if (auto d = dyn_cast<AffineDimExpr>(e); d && d.getPosition() == dim)
      return true;
  return false;
}

/// Each result is a loop dim or the constant 0 (a broadcast batch dim).
bool isDimsOrZero(AffineMap map) {
  for (AffineExpr e : map.getResults()) {
    if (isa<AffineDimExpr>(e))
      continue;
    auto c = dyn_cast<AffineConstantExpr>(e);
    if (!c || c.getValue() != 0)
      return false;
  }
  return true;
}

bool hasUnitInnerStride(Value memref) {
  auto type = dyn_cast<MemRefType>(memref.getType());
  if (!type || !type.hasStaticShape())
    return false;
  if (type.getLayout().isIdentity())
    return true;
  SmallVector<int64_t> strides;
  int64_t offset;
  if (failed(type.getStridesAndOffset(strides, offset)))
    return false;
  return strides.empty() || strides.back() == 1;
}


std::optional<Matmul> matchMatmul(linalg::GenericOp op) {
  if (!op.hasPureBufferSemantics() || op.getNumDpsInputs() != 2 ||
      op.getNumDpsInits() != 1 || op.getNumReductionLoops() != 1)
    return std::nullopt;
  Matmul mm;
  mm.op = op;
  mm.a = op.getDpsInputOperand(0)->get();
  mm.b = op.getDpsInputOperand(1)->get();
  mm.c = op.getDpsInitOperand(0)->get();
  for (Value v : {mm.a, mm.b, mm.c}) {
    auto t = dyn_cast<MemRefType>(v.getType());
    if (!t || !t.hasStaticShape() || !t.getElementType().isF32())
      return std::nullopt;
  }
  if (!isMultiplyAccumulate(op))
    return std::nullopt;
  mm.mapA = op.getMatchingIndexingMap(op.getDpsInputOperand(0));
  mm.mapB = op.getMatchingIndexingMap(op.getDpsInputOperand(1));
  mm.mapC = op.getMatchingIndexingMap(op.getDpsInitOperand(0));
  if (!isDimsOrZero(mm.mapA) || !isDimsOrZero(mm.mapB) ||
      !mm.mapC.isProjectedPermutation() ||
      mm.mapC.getNumResults() != op.getNumParallelLoops())
    return std::nullopt;
  std::optional<unsigned> m, n, k;
  auto iterators = op.getIteratorTypesArray();
  for (unsigned d = 0, e = op.getNumLoops(); d < e; ++d) {
    bool inA = usesDim(mm.mapA, d), inB = usesDim(mm.mapB, d),
         inC = usesDim(mm.mapC, d);
    if (linalg::isReductionIterator(iterators[d])) {
      if (!inA || !inB || inC)
        return std::nullopt;
      k = d;
    } else if (inA && inB && inC) {
      mm.batchDims.push_back(d);
    } else if (inA && !inB && inC && !m) {
      m = d;
    } else if (!inA && inB && inC && !n) {
      n = d;
    } else {
      return std::nullopt;
    }
  }
  if (!m || !n || !k)
    return std::nullopt;
  mm.mDim = *m;
  mm.nDim = *n;
  mm.kDim = *k;
  // The output's contiguous dim must be n (vectors are rows of C).
  auto last = dyn_cast<AffineDimExpr>(mm.mapC.getResults().back());
  if (!last || last.getPosition() != mm.nDim || !hasUnitInnerStride(mm.c))
    return std::nullopt;
  mm.ranges = op.getStaticLoopRanges();
  for (int64_t r : mm.ranges)
    if (ShapedType::isDynamic(r) || r <= 0)
      return std::nullopt;
  return mm;
}

/// Index values for `map` given a value per loop dim.
SmallVector<Value> indicesFor(OpBuilder &b, Location loc, AffineMap map,
                              ArrayRef<Value> loopValues) {
  SmallVector<Value> indices;
  for (AffineExpr e : map.getResults()) {
    if (auto d = dyn_cast<AffineDimExpr>(e))
      indices.push_back(loopValues[d.getPosition()]);
    else
      indices.push_back(arith::ConstantIndexOp::create(b, loc, 0));
  }
  return indices;
}


struct KilnLowerContractionsPass
    : kiln::impl::KilnLowerContractionsPassBase<KilnLowerContractionsPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    target.vectorBits = vectorBits;
    target.vectorRegisters = vectorRegisters;
    target.l1Bytes = l1Bytes;
    target.l2Bytes = l2Bytes;
    target.hasVnni = vnni;
    target.pmaddwdBits = pmaddwdBits;
    std::shared_ptr<const CostModel> model;
    if (!costModel.empty()) {
      std::string error;
      model = createCostModel(costModel, vectorBits, error);
      if (!model && !error.empty()) {
        module.emitError("kiln-lower-contractions: ") << error;
        return signalPassFailure();
      }
      choice.model = model.get(); // null: the hand-written choice
    }
    if (!forceConfig.empty()) {
      choice.forced = parseContractionConfig(forceConfig);
      if (!choice.forced) {
        module.emitError("kiln-lower-contractions: force-config '")
            << forceConfig << "' is not mr,nr,kc";
        return signalPassFailure();
      }
    }
    choice.bf16 = bf16;
    SmallVector<Matmul> matches;
    // Conv candidates: only ops with reduction loops. Each kernel erases
    // the fill and epilogue ops it absorbs, which are all-parallel, so an
    // op kept here is never erased by an earlier kernel's lowering (an
    // all-parallel op kept here could be, and then be read after free).
    SmallVector<linalg::GenericOp> others;
    module.walk([&](linalg::GenericOp op) {
      if (std::optional<Matmul> mm = matchMatmul(op))
        matches.push_back(*mm);
      else if (op.getNumReductionLoops() != 0)
        others.push_back(op);
    });
    SmallVector<memref::GlobalOp> packedSources;
    SmallVector<Attribute> formed;
    auto note = [&](const std::string &text) {
      formed.push_back(StringAttr::get(&getContext(), text));
    };
    decideSharedWidths(matches);
    for (Matmul &mm : matches)
      note(lower(mm, packedSources));
    // The int8 kernels first, last first: one is emitted at its rescale,
    // which may come after later contractions (Q, K, V, then their
    // rescales); those must still be generics it can step over, not
    // emitted kernels. They erase ops of `others` (row-scale reductions),
    // so the rest is collected again after them.
    SmallVector<linalg::GenericOp> int8;
    for (linalg::GenericOp op : others)
      if (op->hasAttr(lowering::kInt8MatmulAttr) ||
          op->hasAttr(lowering::kIntegerMatmulAttr))
        int8.push_back(op);
    SmallVector<Attribute> int8Formed;
    for (linalg::GenericOp op : llvm::reverse(int8)) {
      std::string text;
      if (lowerInt8Matmul(op, target, packedSources, &text))
        int8Formed.push_back(StringAttr::get(&getContext(), text));
    }
    formed.append(int8Formed.rbegin(), int8Formed.rend());
    others.clear();
    module.walk([&](linalg::GenericOp op) {
      if (op.getNumReductionLoops() != 0)
        others.push_back(op);
    });
    for (linalg::GenericOp op : others) {
      std::string text;
      if (lowerQuantizedMatmul(op, target, packedSources, &text) ||
          lowerConv2D(op, target, choice, packedSources, &text) ||
          lowerDepthwiseConv(op, target, &text) ||
          lowerWinogradTransform(op, &text))
        note(text);
    }
    // Pooling windows first: they absorb the fill before them and the
    // elementwise op after (all-parallel ops, not in this list).
    SmallVector<linalg::GenericOp> reducing;
    module.walk([&](linalg::GenericOp op) {
      if (op.getNumReductionLoops() != 0)
        reducing.push_back(op);
    });
    int64_t loops = 0, reductions = 0, windows = 0;
    for (linalg::GenericOp op : reducing)
      if (vectorizeWindowReduction(op, target))
        ++windows;
    // What is left elementwise (not absorbed by a kernel) becomes vector
    // loops.
    SmallVector<linalg::GenericOp> elementwise;
    module.walk([&](linalg::GenericOp op) { elementwise.push_back(op); });
    for (linalg::GenericOp op : elementwise) {
      // vectorizeReduction last: it may replace `op` (a full reduction
      // flattened to one dim) and still decline the result.
      if (vectorizeTransposedElementwise(op, target) ||
          vectorizeElementwise(op, target))
        ++loops;
      else if (vectorizeReduction(op, target))
        ++reductions;
    }
    note(("vector loops: " + Twine(loops) + " elementwise, " +
          Twine(reductions) + " last-dim reductions, " + Twine(windows) +
          " pooling windows, " +
          Twine(elementwise.size() - loops - reductions) +
          " other ops left to the generic loop lowering")
             .str());
    // Read (and removed) by the driver for `kiln compile --report`.
    module->setAttr("kiln.kernels", ArrayAttr::get(&getContext(), formed));
    // Globals whose every use now reads the packed copy.
    // Several kernels may read one global (a recurrent model's weights at
    // every step): erase each once.
    llvm::SmallPtrSet<Operation *, 16> seen;
    for (memref::GlobalOp global : packedSources)
      if (global && seen.insert(global).second &&
          SymbolTable::symbolKnownUseEmpty(global, module))
        global.erase();
  }

private:
  CpuTarget target;
  KernelChoiceOptions choice;
  Value aPacked;          // the current op's repacked A, if any
  bool aWeights = false;  // aPacked is a constant global (weights)
  const TileFusion *fusion = nullptr; // the current op's fused neighbours
  int64_t kcBlock = 0;                // the current op's K block
  int64_t packedRows = 1; // its row-tile height (mr)
  int64_t tileRows = 1;   // the current op's register tile height (mr)
  bool prefetchC = false; // its C is too large to stay in cache
  bool pairMode = false;  // the current op multiplies bf16 pairs

  /// A constant A (Winograd's transformed weights) laid out as packA lays
  /// it out, at compile time; null when A is not a constant global whose
  /// map names every batch dim, M and K as plain dims.
  memref::GlobalOp packConstantA(Matmul &mm, int64_t mr,
                                 SmallVectorImpl<memref::GlobalOp> &sources) {
    memref::GlobalOp global = constantGlobalOf(mm.a);
    if (!global)
      return {};
    auto aType = cast<MemRefType>(mm.a.getType());
    if (!aType.getLayout().isIdentity() ||
        mm.mapA.getNumResults() != aType.getRank())
      return {};
    // Which loop dim each of A's dims is.
    SmallVector<unsigned> dimOf;
    for (unsigned r = 0; r < mm.mapA.getNumResults(); ++r) {
      auto d = dyn_cast<AffineDimExpr>(mm.mapA.getResult(r));
      if (!d)
        return {};
      dimOf.push_back(d.getPosition());
    }
    for (unsigned d : mm.batchDims)
      if (!llvm::is_contained(dimOf, d))
        return {};
    std::optional<std::vector<float>> values = readF32Global(global);
    if (!values)
      return {};
    ArrayRef<int64_t> shape = aType.getShape();
    SmallVector<int64_t> strides(shape.size(), 1);
    for (int64_t i = int64_t(shape.size()) - 2; i >= 0; --i)
      strides[i] = strides[i + 1] * shape[i + 1];
    int64_t m = mm.m(), k = mm.k(), tiles = (m + mr - 1) / mr, batches = 1;
    SmallVector<int64_t> packedShape;
    for (unsigned d : mm.batchDims) {
      packedShape.push_back(mm.ranges[d]);
      batches *= mm.ranges[d];
    }
    packedShape.append({tiles, k, mr});
    std::vector<float> data(batches * tiles * k * mr, 0.0f);
    SmallVector<int64_t> at(mm.ranges.size(), 0);
    for (int64_t bi = 0; bi < batches; ++bi) {
      int64_t rest = bi;
      for (unsigned i = mm.batchDims.size(); i-- > 0;) {
        at[mm.batchDims[i]] = rest % mm.ranges[mm.batchDims[i]];
        rest /= mm.ranges[mm.batchDims[i]];
      }
      for (int64_t row = 0; row < m; ++row)
        for (int64_t kk = 0; kk < k; ++kk) {
          at[mm.mDim] = row;
          at[mm.kDim] = kk;
          int64_t offset = 0;
          for (auto [r, d] : llvm::enumerate(dimOf))
            offset += at[d] * strides[r];
          data[((bi * tiles + row / mr) * k + kk) * mr + row % mr] =
              (*values)[offset];
        }
    }
    sources.push_back(global);
    return createConstantGlobal(
        global,
        (global.getSymName() + "_packed_a" + Twine(packedCount++)).str(),
        packedShape, data);
  }

  /// One row r of a row tile being packed into `buffer`: A's loop values
  /// (batch dims set), the row clamped into [0, M) and whether it lies
  /// inside M.
  struct PackedRow {
    Value buffer;
    SmallVector<Value> values;
    Value safe, inside;
    SmallVector<Value> tile; // the buffer's indices before (slot, r)
    Value r;
    /// The buffer's indices of (slot, r).
    SmallVector<Value> at(Value slot) const {
      SmallVector<Value> idx = tile;
      idx.append({slot, r});
      return idx;
    }
  };

  /// A new buffer [batch.., ceil(M/mr), slots, mr] of `element`, filled by
  /// a parallel loop over (batch.., row tiles) that calls `fill` with the
  /// tile's mr rows.
  Value packRowTiles(
      OpBuilder &b, Location loc, Matmul &mm, int64_t mr, int64_t slots,
      Type element,
      llvm::function_ref<void(OpBuilder &, Location, ArrayRef<PackedRow>)>
          fill) {
    auto cst = [&](OpBuilder &ob, int64_t v) -> Value {
      return arith::ConstantIndexOp::create(ob, loc, v);
    };
    int64_t m = mm.m(), tiles = (m + mr - 1) / mr;
    SmallVector<int64_t> shape;
    SmallVector<Value> lbs, ubs, steps;
    for (unsigned d : mm.batchDims) {
      shape.push_back(mm.ranges[d]);
      ubs.push_back(cst(b, mm.ranges[d]));
    }
    shape.append({tiles, slots, mr});
    ubs.push_back(cst(b, tiles));
    lbs.assign(ubs.size(), cst(b, 0));
    steps.assign(ubs.size(), cst(b, 1));
    Value buffer = memref::AllocOp::create(
        b, loc, MemRefType::get(shape, element), b.getI64IntegerAttr(64));
    unsigned loops = mm.ranges.size();
    scf::ParallelOp::create(
        b, loc, lbs, ubs, steps,
        [&](OpBuilder &pb, Location l, ValueRange ivs) {
          PackedRow row;
          row.buffer = buffer;
          row.tile.assign(ivs.begin(), ivs.end());
          row.values.assign(loops, Value());
          for (auto [i, d] : llvm::enumerate(mm.batchDims))
            row.values[d] = ivs[i];
          SmallVector<PackedRow> rows;
          for (int64_t r = 0; r < mr; ++r) {
            Value index = arith::AddIOp::create(
                pb, l, arith::MulIOp::create(pb, l, ivs.back(), cst(pb, mr)),
                cst(pb, r));
            row.inside = arith::CmpIOp::create(pb, l, arith::CmpIPredicate::slt,
                                               index, cst(pb, m));
            row.safe =
                arith::SelectOp::create(pb, l, row.inside, index, cst(pb, 0));
            row.r = cst(pb, r);
            rows.push_back(row);
          }
          fill(pb, l, rows);
        });
    packedRows = mr;
    return buffer;
  }

  /// Copies A into a new buffer [batch.., ceil(M/mr), K, mr], rows past M
  /// zero; a parallel loop over (batch.., row tiles). With K A's unit-stride
  /// dim, in 16-float chunks interleaved in registers (packAChunk);
  /// otherwise one float at a time.
  Value packA(OpBuilder &b, Location loc, Matmul &mm, int64_t mr) {
    auto cst = [&](OpBuilder &ob, int64_t v) -> Value {
      return arith::ConstantIndexOp::create(ob, loc, v);
    };
    auto lastA = dyn_cast<AffineDimExpr>(mm.mapA.getResults().back());
    if (lastA && lastA.getPosition() == mm.kDim && hasUnitInnerStride(mm.a) &&
        mr <= 16) {
      const int64_t k = mm.k(), full = k / 16 * 16;
      return packRowTiles(
          b, loc, mm, mr, k, b.getF32Type(),
          [&](OpBuilder &pb, Location l, ArrayRef<PackedRow> rows) {
            // The tile's [K][mr] floats as one run.
            auto bufferType = cast<MemRefType>(rows[0].buffer.getType());
            SmallVector<ReassociationIndices> groups;
            for (int64_t d = 0; d + 2 < bufferType.getRank(); ++d)
              groups.push_back({d});
            groups.push_back(
                {bufferType.getRank() - 2, bufferType.getRank() - 1});
            Value flat =
                memref::CollapseShapeOp::create(pb, l, rows[0].buffer, groups);
            if (full > 0)
              scf::ForOp::create(
                  pb, l, cst(pb, 0), cst(pb, full), cst(pb, 16), ValueRange{},
                  [&](OpBuilder &kb, Location kl, Value k0, ValueRange) {
                    packAChunk(kb, kl, mm, rows, flat, k0, 16);
                    scf::YieldOp::create(kb, kl);
                  });
            if (full < k)
              packAChunk(pb, l, mm, rows, flat, cst(pb, full), k - full);
          });
    }
    Value zeroF = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0.0f));
    return packRowTiles(
        b, loc, mm, mr, mm.k(), b.getF32Type(),
        [&](OpBuilder &pb, Location l, ArrayRef<PackedRow> rows) {
          for (const PackedRow &row : rows)
            scf::ForOp::create(
                pb, l, cst(pb, 0), cst(pb, mm.k()), cst(pb, 1), ValueRange{},
                [&](OpBuilder &kb, Location kl, Value kk, ValueRange) {
                  SmallVector<Value> at = row.values;
                  at[mm.mDim] = row.safe;
                  at[mm.kDim] = kk;
                  Value v = memref::LoadOp::create(
                      kb, kl, mm.a, indicesFor(kb, kl, mm.mapA, at));
                  v = arith::SelectOp::create(kb, kl, row.inside, v, zeroF);
                  memref::StoreOp::create(kb, kl, v, row.buffer, row.at(kk));
                  scf::YieldOp::create(kb, kl);
                });
        });
  }

  /// Packs `count` (<= 16) k's from `k0` of a row tile: each row's floats
  /// as one vector, interleaved by shuffles into the [k][r] order of
  /// `flat` (the tile's packed floats as one dim) and stored as whole
  /// vectors. Output vector j holds flat elements 16j.., element i being
  /// row i % mr at k0 + i / mr: each is built from the rows it draws on,
  /// one two-source shuffle per row (vpermt2ps), where storing each float
  /// alone made LLVM emit scatters.
  void packAChunk(OpBuilder &b, Location l, Matmul &mm,
                  ArrayRef<PackedRow> rows, Value flat, Value k0,
                  int64_t count) {
    auto cst = [&](int64_t v) -> Value {
      return arith::ConstantIndexOp::create(b, l, v);
    };
    const int64_t mr = rows.size();
    auto vecType = VectorType::get({16}, b.getF32Type());
    auto maskType = VectorType::get({16}, b.getI1Type());
    Value zeros = arith::ConstantOp::create(
        b, l, vecType, DenseElementsAttr::get(vecType, 0.0f));
    SmallVector<Value> values;
    for (const PackedRow &row : rows) {
      SmallVector<Value> at = row.values;
      at[mm.mDim] = row.safe;
      at[mm.kDim] = k0;
      SmallVector<Value> idx = indicesFor(b, l, mm.mapA, at);
      Value v;
      if (count == 16) {
        v = vector::LoadOp::create(b, l, vecType, mm.a, idx);
      } else {
        Value mask = vector::CreateMaskOp::create(
            b, l, maskType, ArrayRef<OpFoldResult>{b.getIndexAttr(count)});
        v = vector::MaskedLoadOp::create(b, l, vecType, mm.a, idx, mask, zeros);
      }
      values.push_back(arith::SelectOp::create(b, l, row.inside, v, zeros));
    }
    SmallVector<Value> base(rows[0].tile.begin(), rows[0].tile.end());
    Value start = arith::MulIOp::create(b, l, k0, cst(mr));
    const int64_t total = count * mr;
    for (int64_t j = 0; j * 16 < total; ++j) {
      const int64_t lanes = std::min<int64_t>(16, total - 16 * j);
      // The vector's lanes cycle through the rows from (16j) % mr.
      Value acc;
      for (int64_t s = 0; s < std::min(mr, lanes); ++s) {
        int64_t r = (16 * j + s) % mr;
        // Lanes of row r take its k's; lanes already filled keep theirs.
        SmallVector<int64_t> mask(16);
        for (int64_t t = 0; t < 16; ++t) {
          int64_t i = 16 * j + t;
          bool fromR = i < total && i % mr == r;
          mask[t] = fromR ? 16 + i / mr : (acc ? t : 0);
        }
        acc = vector::ShuffleOp::create(b, l, acc ? acc : values[r], values[r],
                                        mask);
      }
      SmallVector<Value> idx = base;
      idx.push_back(arith::AddIOp::create(b, l, start, cst(16 * j)));
      if (lanes == 16) {
        vector::StoreOp::create(b, l, acc, flat, idx);
      } else {
        Value mask = vector::CreateMaskOp::create(
            b, l, maskType, ArrayRef<OpFoldResult>{b.getIndexAttr(lanes)});
        vector::MaskedStoreOp::create(b, l, flat, idx, mask, acc);
      }
    }
  }

  /// A for the bf16 kernel: [batch.., ceil(M/mr), K2, mr] i32 words, each
  /// the bf16 pair (A(row, 2j) low, A(row, 2j+1) high) as packConstantB
  /// pairs B; K2 is ceil(K/2) rounded up to 16 (words past it are not
  /// read), rows past M and k past K are zero. Per row, 32 floats become
  /// 16 words with one vcvtne2ps2bf16. A's rows are read 16 floats at a
  /// time along K, so A must be K-major.
  Value packAPairs(OpBuilder &b, Location loc, Matmul &mm, int64_t mr) {
    auto cst = [&](OpBuilder &ob, int64_t v) -> Value {
      return arith::ConstantIndexOp::create(ob, loc, v);
    };
    int64_t k = mm.k(), chunks = (k + 31) / 32;
    auto f32v = VectorType::get({16}, b.getF32Type());
    auto maskType = VectorType::get({16}, b.getI1Type());
    auto i32v = VectorType::get({16}, b.getI32Type());
    Value zeroVec = arith::ConstantOp::create(
        b, loc, f32v, DenseElementsAttr::get(f32v, 0.0f));
    return packRowTiles(
        b, loc, mm, mr, chunks * 16, b.getI32Type(),
        [&](OpBuilder &pb, Location l, ArrayRef<PackedRow> rows) {
          for (const PackedRow &row : rows) {
            // Lanes to read: 0 for a row past M, else up to K.
            Value rowLimit = arith::SelectOp::create(pb, l, row.inside,
                                                     cst(pb, k), cst(pb, 0));
            scf::ForOp::create(
                pb, l, cst(pb, 0), cst(pb, chunks), cst(pb, 1), ValueRange{},
                [&](OpBuilder &kb, Location kl, Value chunk, ValueRange) {
                  Value k0 = arith::MulIOp::create(kb, kl, chunk, cst(kb, 32));
                  Value halves[2];
                  for (int64_t h = 0; h < 2; ++h) {
                    Value start =
                        arith::AddIOp::create(kb, kl, k0, cst(kb, 16 * h));
                    Value left = arith::MaxSIOp::create(
                        kb, kl, cst(kb, 0),
                        arith::SubIOp::create(kb, kl, rowLimit, start));
                    Value mask = vector::CreateMaskOp::create(
                        kb, kl, maskType, ArrayRef<OpFoldResult>{left});
                    // Past K the address is clamped (masked lanes are not
                    // read, but the base index must stay in bounds).
                    SmallVector<Value> at = row.values;
                    at[mm.mDim] = row.safe;
                    at[mm.kDim] =
                        arith::MinSIOp::create(kb, kl, start, cst(kb, k - 1));
                    halves[h] = vector::MaskedLoadOp::create(
                        kb, kl, f32v, mm.a, indicesFor(kb, kl, mm.mapA, at),
                        mask, zeroVec);
                  }
                  Value words = vector::BitCastOp::create(
                      kb, kl, i32v,
                      emitBf16Convert(kb, kl, halves[0], halves[1]));
                  Value j0 = arith::MulIOp::create(kb, kl, chunk, cst(kb, 16));
                  for (int64_t w = 0; w < 16; ++w)
                    memref::StoreOp::create(
                        kb, kl, vector::ExtractOp::create(kb, kl, words, w),
                        row.buffer,
                        row.at(arith::AddIOp::create(kb, kl, j0, cst(kb, w))));
                  scf::YieldOp::create(kb, kl);
                });
          }
        });
  }
  llvm::DenseMap<std::pair<Operation *, int64_t>, memref::GlobalOp> packed;
  /// The panel width fixed for kernels whose constant B other kernels
  /// also read (decideSharedWidths), by kernel.
  llvm::DenseMap<Operation *, int64_t> sharedWidths;
  unsigned packedCount = 0;

  /// The key of `mm`'s B for the caches above, without the width: its
  /// global and whether it is read as (k, n) (1) or (n, k) (2); null
  /// global when B is not a constant packed at compile time.
  std::pair<Operation *, int64_t> bKey(Matmul &mm) {
    memref::GlobalOp global = constantGlobalOf(mm.b);
    if (!global)
      return {nullptr, 0};
    for (unsigned d : mm.batchDims)
      if (usesDim(mm.mapB, d))
        return {nullptr, 0};
    // The same global read as (k, n) and as (n, k) packs differently.
    int64_t kFirst = 0;
    for (AffineExpr e : mm.mapB.getResults()) {
      if (auto d = dyn_cast<AffineDimExpr>(e)) {
        kFirst = d.getPosition() == mm.kDim ? 1 : 2;
        break;
      }
    }
    return {global.getOperation(), kFirst};
  }

  /// The B constant packed as [N/nr][K][nr], or with `pairs` as
  /// [N/nr][ceil(K/2)][nr] i32 words holding bf16 (round to nearest even)
  /// of B(2j, col) in the low half and B(2j+1, col) in the high half; null
  /// when B is not a constant global readable here (or has batch dims).
  memref::GlobalOp packConstantB(Matmul &mm, int64_t nr,
                                 SmallVectorImpl<memref::GlobalOp> &sources,
                                 bool pairs = false) {
    auto [op, kFirst] = bKey(mm);
    if (!op)
      return {};
    auto global = cast<memref::GlobalOp>(op);
    auto key = std::make_pair(op, (nr * 4 + kFirst) * 2 + int64_t(pairs));
    if (auto it = packed.find(key); it != packed.end())
      return it->second;
    std::optional<std::vector<float>> values = readF32Global(global);
    if (!values)
      return {};
    int64_t n = mm.n(), k = mm.k(), panels = (n + nr - 1) / nr;
    auto bType = cast<MemRefType>(mm.b.getType());
    ArrayRef<int64_t> shape = bType.getShape();
    SmallVector<int64_t> strides(shape.size(), 1);
    for (int64_t i = int64_t(shape.size()) - 2; i >= 0; --i)
      strides[i] = strides[i + 1] * shape[i + 1];
    int64_t kStride = 0, nStride = 0;
    for (auto [i, e] : llvm::enumerate(mm.mapB.getResults())) {
      auto d = dyn_cast<AffineDimExpr>(e);
      if (!d)
        continue;
      if (d.getPosition() == mm.kDim)
        kStride = strides[i];
      if (d.getPosition() == mm.nDim)
        nStride = strides[i];
    }
    auto at = [&](int64_t kk, int64_t col) {
      return (*values)[kk * kStride + col * nStride];
    };
    std::string name =
        (global.getSymName() + "_packed" + Twine(packedCount++)).str();
    memref::GlobalOp result;
    if (pairs) {
      int64_t kPairs = (k + 1) / 2;
      std::vector<uint32_t> words(panels * kPairs * nr, 0);
      for (int64_t j = 0; j < panels; ++j)
        for (int64_t kk = 0; kk < k; ++kk)
          for (int64_t c = 0; c < nr && j * nr + c < n; ++c)
            words[(j * kPairs + kk / 2) * nr + c] |=
                uint32_t(bf16Bits(at(kk, j * nr + c))) << (16 * (kk % 2));
      result = createConstantGlobal(
          global, name, {panels, kPairs, nr},
          IntegerType::get(global.getContext(), 32),
          ArrayRef<char>(reinterpret_cast<const char *>(words.data()),
                         words.size() * 4));
    } else {
      std::vector<float> data(panels * k * nr, 0.0f);
      for (int64_t j = 0; j < panels; ++j)
        for (int64_t kk = 0; kk < k; ++kk)
          for (int64_t c = 0; c < nr && j * nr + c < n; ++c)
            data[(j * k + kk) * nr + c] = at(kk, j * nr + c);
      result = createConstantGlobal(global, name, {panels, k, nr}, data);
    }
    packed[key] = result;
    sources.push_back(global);
    return result;
  }

  static ContractionShape shapeOf(Matmul &mm) {
    ContractionShape shape;
    for (unsigned d : mm.batchDims)
      shape.batch *= mm.ranges[d];
    shape.m = mm.m();
    shape.n = mm.n();
    shape.k = mm.k();
    return shape;
  }

  static KernelKind kindOf(Matmul &mm) {
    return shapeOf(mm).batch > 1  ? KernelKind::BatchMatMul
           : constantGlobalOf(mm.b) ? KernelKind::MatMul
                                    : KernelKind::MatMulRuntimeB;
  }

  /// A weight read by several kernels (a decoder's prefill and decode
  /// entries each hold a copy until DedupeGlobals merges them) is packed
  /// once, for the panel width that the kernel with the most rows (the
  /// most work) prefers; the others rank only candidates of that width.
  /// Copies are found by value: their type, operand layout and a hash of
  /// their bytes (a collision would only narrow one kernel's candidates).
  void decideSharedWidths(MutableArrayRef<Matmul> matches) {
    llvm::MapVector<std::pair<uint64_t, int64_t>, SmallVector<Matmul *>>
        users;
    for (Matmul &mm : matches) {
      auto [op, kFirst] = bKey(mm);
      if (!op)
        continue;
      auto global = cast<memref::GlobalOp>(op);
      std::optional<ArrayRef<char>> bytes =
          constantRawBytes(global.getInitialValueAttr());
      if (!bytes)
        continue;
      uint64_t hash = llvm::xxh3_64bits(ArrayRef<uint8_t>(
          reinterpret_cast<const uint8_t *>(bytes->data()), bytes->size()));
      users[{uint64_t(llvm::hash_combine(
                 hash, global.getType().getAsOpaquePointer())),
             kFirst}]
          .push_back(&mm);
    }
    for (auto &[key, list] : users) {
      if (list.size() < 2)
        continue;
      Matmul *largest = *llvm::max_element(
          list, [](Matmul *a, Matmul *b) { return a->m() < b->m(); });
      int64_t nr =
          chooseContraction(shapeOf(*largest), kindOf(*largest), target, choice)
              .config.nr;
      for (Matmul *mm : list)
        sharedWidths[mm->op.getOperation()] = nr;
    }
  }

  /// Emits the kernel for `mm` and returns its one-line description.
  std::string lower(Matmul &mm, SmallVectorImpl<memref::GlobalOp> &sources) {
    ContractionShape shape = shapeOf(mm);
    KernelKind kind = kindOf(mm);
    // A constant B shared with other kernels keeps one panel width.
    KernelChoiceOptions options = choice;
    if (auto it = sharedWidths.find(mm.op.getOperation());
        it != sharedWidths.end())
      options.nr = it->second;
    ContractionChoice chosen = chooseContraction(shape, kind, target, options);
    ContractionConfig config = chosen.config;
    config.mr = std::min(config.mr, shape.m);
    config.kc = std::min(config.kc, shape.k);
    // bf16 pairs: a constant B, A read along K, whole 16-lane vectors and
    // K blocks of whole pairs.
    auto lastA = dyn_cast<AffineDimExpr>(mm.mapA.getResults().back());
    pairMode = choice.bf16 && target.vectorBits >= 512 &&
               kind == KernelKind::MatMul && config.nr % 16 == 0 && lastA &&
               lastA.getPosition() == mm.kDim && hasUnitInnerStride(mm.a);
    if (pairMode && config.kc % 2 && config.kc < shape.k)
      ++config.kc;
    int64_t nr = config.nr, kc = config.kc;
    int64_t n = mm.n(), k = mm.k();
    int64_t panels = (n + nr - 1) / nr;

    memref::GlobalOp packedB;
    if (pairMode)
      packedB = packConstantB(mm, nr, sources, /*pairs=*/true);
    pairMode = pairMode && packedB;
    if (!packedB)
      packedB = packConstantB(mm, nr, sources);
    bool direct = false;
    if (!packedB) {
      auto last = dyn_cast<AffineDimExpr>(mm.mapB.getResults().back());
      direct = last && last.getPosition() == mm.nDim &&
               hasUnitInnerStride(mm.b);
    }

    OpBuilder b(mm.op);
    Location loc = mm.op.getLoc();
    auto f32 = b.getF32Type();
    auto vecType = VectorType::get({nr}, f32);
    auto maskType = VectorType::get({nr}, b.getI1Type());
    auto cst = [&](int64_t v) -> Value {
      return arith::ConstantIndexOp::create(b, loc, v);
    };
    Value zero = cst(0), one = cst(1);
    Value bPacked;
    if (packedB)
      bPacked = memref::GetGlobalOp::create(b, loc, packedB.getType(),
                                            packedB.getSymName());

    // The neighbours are found before A's packing loop lands between the
    // prologue (C's fill) and the contraction.
    unsigned cRank = cast<MemRefType>(mm.c.getType()).getRank();
    TileFusion fused = findTileFusion(mm.op, mm.c, {cRank - 1});
    // A is repacked as [batch.., M/mr][K][mr]: a tile's broadcasts become
    // one contiguous stream instead of mr rows K apart (with K a multiple
    // of 1024 those rows all fall in one L1 set and evict each other).
    aPacked = Value();
    aWeights = false;
    if (pairMode) {
      aPacked = packAPairs(b, loc, mm, config.mr);
    } else if (mm.m() > 1) {
      if (memref::GlobalOp global =
              packConstantA(mm, config.mr, sources)) {
        aPacked = memref::GetGlobalOp::create(b, loc, global.getType(),
                                              global.getSymName());
        packedRows = config.mr;
        aWeights = true;
      } else {
        aPacked = packA(b, loc, mm, config.mr);
      }
    }
    // The neighbours' loops are C's dims, and cIndices lists C's indices.
    fusion = &fused;
    kcBlock = config.kc;
    tileRows = config.mr;
    // A C several times L2 comes from memory, and every tile's first touch
    // of its mr rows (a line each, a row apart) waits for the line: the
    // prefetchers do not follow a panel down C's rows. 4096x4096x64 at 1
    // thread on Zen 3: 27.1 -> 23.7 ms; C in cache: unchanged or 1-2%
    // slower, hence the bound.
    auto cType = cast<MemRefType>(mm.c.getType());
    prefetchC = cType.hasStaticShape() &&
                cType.getNumElements() * cType.getElementTypeBitWidth() / 8 >=
                    8 * int64_t(target.l2Bytes);

    SmallVector<Value> lbs, ubs, steps;
    for (unsigned d : mm.batchDims) {
      lbs.push_back(zero);
      ubs.push_back(cst(mm.ranges[d]));
      steps.push_back(one);
    }
    lbs.push_back(zero);
    ubs.push_back(cst(panels));
    steps.push_back(one);

    unsigned loops = mm.ranges.size();
    scf::ParallelOp::create(
        b, loc, lbs, ubs, steps,
        [&](OpBuilder &pb, Location l, ValueRange ivs) {
          SmallVector<Value> loopValues(loops, Value());
          for (auto [i, d] : llvm::enumerate(mm.batchDims))
            loopValues[d] = ivs[i];
          Value panel = ivs.back();
          Value nStart = arith::MulIOp::create(
              pb, l, panel, arith::ConstantIndexOp::create(pb, l, nr));
          Value zeroVec = arith::ConstantOp::create(
              pb, l, vecType, DenseElementsAttr::get(vecType, 0.0f));
          // Only the ragged last panel is masked: masked loads and stores
          // of C on every panel cost the 128x768x50257 logits matmul ~6%
          // of its samples (vmaskmovps stores, AVX2).
          emitRaggedBlock(
              pb, l, panel, n, nr, [&](OpBuilder &sb, int64_t columns) {
                Value mask;
                if (columns < nr)
                  mask = vector::CreateMaskOp::create(
                      sb, l, maskType,
                      ArrayRef<OpFoldResult>{sb.getIndexAttr(columns)});
                if (packedB || direct) {
                  emitPanel(sb, l, mm, config, loopValues, panel, nStart, mask,
                            zeroVec, bPacked, direct, Value());
                  return;
                }
                // Runtime packing needs a per-thread stack buffer, released
                // at the end of each iteration (memref.alloca_scope would not
                // survive scf-to-cf, which runs before memref-to-llvm).
                Value saved = LLVM::StackSaveOp::create(
                    sb, l, LLVM::LLVMPointerType::get(sb.getContext()));
                Value stack = memref::AllocaOp::create(
                    sb, l, MemRefType::get({std::min(kc, k), nr}, f32),
                    sb.getI64IntegerAttr(64));
                emitPanel(sb, l, mm, config, loopValues, panel, nStart, mask,
                          zeroVec, bPacked, direct, stack);
                LLVM::StackRestoreOp::create(sb, l, saved);
              });
        });
    std::string text =
        (Twine("matmul batch ") + Twine(shape.batch) + " M " + Twine(mm.m()) +
         " N " + Twine(mm.n()) + " K " + Twine(mm.k()) + ", tile " +
         Twine(config.mr) + "x" + Twine(nr) + " kc " + Twine(kc) +
         (pairMode ? ", bf16 pairs (vdpbf16ps)" : "") + ", B " +
         (packedB  ? "packed at compile time"
          : direct ? "read in place"
                   : "packed per K block") +
         (aWeights  ? ", A packed at compile time"
          : aPacked ? ", A repacked"
                    : "") +
         describeFusion(fused) +
         (chosen.summary.empty() || chosen.summary == "forced"
              ? ""
              : " [" + chosen.summary + "]"))
            .str();
    eraseLowered(mm.op, fused);
    return text;
  }

  /// One N panel: K blocks, row tiles, register tiles.
  void emitPanel(OpBuilder &b, Location loc, Matmul &mm,
                 const ContractionConfig &config,
                 SmallVector<Value> loopValues, Value panel, Value nStart,
                 Value mask, Value zeroVec, Value bPacked, bool direct,
                 Value stack) {
    int64_t mr = config.mr, nr = config.nr, kc = config.kc;
    int64_t m = mm.m(), n = mm.n(), k = mm.k();
    auto cst = [&](OpBuilder &ob, int64_t v) -> Value {
      return arith::ConstantIndexOp::create(ob, loc, v);
    };
    auto f32 = b.getF32Type();
    auto vecType = VectorType::get({nr}, f32);
    scf::ForOp::create(
        b, loc, cst(b, 0), cst(b, k), cst(b, kc), ValueRange{},
        [&](OpBuilder &kb, Location l, Value p, ValueRange) {
          Value kEnd = arith::MinSIOp::create(
              kb, l, arith::AddIOp::create(kb, l, p, cst(kb, kc)),
              cst(kb, k));
          if (stack)
            emitRuntimePack(kb, l, mm, loopValues, p, kEnd, nStart, nr,
                            stack);
          auto tile = [&](OpBuilder &tb, Value row, int64_t rows) {
            emitTile(tb, l, mm, loopValues, row, rows, p, kEnd, panel,
                     nStart, mask, zeroVec, bPacked, direct, stack, vecType);
          };
          emitTiles(kb, l, m, mr, tile);
          scf::YieldOp::create(kb, l);
        });
    (void)n;
  }

  /// stack[kk - p][c] = B(k = kk, n = nStart + c), zero past N.
  void emitRuntimePack(OpBuilder &b, Location loc, Matmul &mm,
                       SmallVector<Value> loopValues, Value p, Value kEnd,
                       Value nStart, int64_t nr, Value stack) {
    auto cst = [&](OpBuilder &ob, int64_t v) -> Value {
      return arith::ConstantIndexOp::create(ob, loc, v);
    };
    Value nLimit = cst(b, mm.n());
    Value zeroF = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0.0f));
    scf::ForOp::create(
        b, loc, cst(b, 0), cst(b, nr), cst(b, 1), ValueRange{},
        [&](OpBuilder &cb, Location l, Value c, ValueRange) {
          Value col = arith::AddIOp::create(cb, l, nStart, c);
          Value inside = arith::CmpIOp::create(
              cb, l, arith::CmpIPredicate::slt, col, nLimit);
          // Past N the column is clamped (a valid address) and zeroed.
          Value safe = arith::SelectOp::create(cb, l, inside, col,
                                               cst(cb, 0));
          scf::ForOp::create(
              cb, l, p, kEnd, cst(cb, 1), ValueRange{},
              [&](OpBuilder &ib, Location il, Value kk, ValueRange) {
                SmallVector<Value> values = loopValues;
                values[mm.kDim] = kk;
                values[mm.nDim] = safe;
                Value v = memref::LoadOp::create(
                    ib, il, mm.b, indicesFor(ib, il, mm.mapB, values));
                v = arith::SelectOp::create(ib, il, inside, v, zeroF);
                Value rowIndex = arith::SubIOp::create(ib, il, kk, p);
                memref::StoreOp::create(ib, il, v, stack,
                                        ValueRange{rowIndex, c});
                scf::YieldOp::create(ib, il);
              });
          scf::YieldOp::create(cb, l);
        });
  }

  /// `rows` x nr accumulators over k in [p, kEnd).
  void emitTile(OpBuilder &b, Location loc, Matmul &mm,
                SmallVector<Value> loopValues, Value row, int64_t rows,
                Value p, Value kEnd, Value panel, Value nStart, Value mask,
                Value zeroVec, Value bPacked, bool direct, Value stack,
                VectorType vecType) {
    auto cst = [&](OpBuilder &ob, int64_t v) -> Value {
      return arith::ConstantIndexOp::create(ob, loc, v);
    };
    Value rowTile;
    if (aPacked)
      rowTile = arith::DivUIOp::create(b, loc, row, cst(b, packedRows));
    SmallVector<Value> rowValues;
    for (int64_t r = 0; r < rows; ++r)
      rowValues.push_back(
          r == 0 ? row : arith::AddIOp::create(b, loc, row, cst(b, r)));
    auto cIndices = [&](OpBuilder &ob, int64_t r) {
      SmallVector<Value> values = loopValues;
      values[mm.mDim] = rowValues[r];
      values[mm.nDim] = nStart;
      return indicesFor(ob, loc, mm.mapC, values);
    };
    auto loadVec = [&](OpBuilder &ob, Value base, SmallVector<Value> idx) {
      return loadColumns(ob, loc, vecType, base, idx, mask, zeroVec);
    };
    // The first K block starts from the fused prologue's value (zeros, a
    // bias), later ones from the partial sums in C.
    auto loadInit = [&](OpBuilder &ob) {
      SmallVector<Value> values;
      for (int64_t r = 0; r < rows; ++r)
        values.push_back(loadVec(ob, mm.c, cIndices(ob, r)));
      return values;
    };
    auto prologueInit = [&](OpBuilder &ob) {
      SmallVector<Value> values;
      for (int64_t r = 0; r < rows; ++r)
        values.push_back(
            emitPrologue(ob, loc, *fusion, cIndices(ob, r), vecType));
      return values;
    };
    SmallVector<Value> init;
    if (!fusion->prologue) {
      init = loadInit(b);
    } else if (mm.k() <= kcBlock) {
      init = prologueInit(b);
    } else {
      Value first = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                                          p, cst(b, 0));
      init = emitSelect(b, loc, first, SmallVector<Type>(rows, vecType),
                        prologueInit, loadInit);
    }
    if (prefetchC && rows == tileRows) // a shorter tile is the last
      prefetchNextTile(b, loc, mm, loopValues, row, nStart, vecType);
    SmallVector<Value> sums =
        pairMode ? emitPairLoop(b, loc, mm, loopValues, rowTile, rows, p,
                                kEnd, panel, bPacked, init, vecType)
                 : emitF32Loop(b, loc, mm, loopValues, rowTile, rowValues,
                               p, kEnd, panel, nStart, mask, zeroVec,
                               bPacked, direct, stack, init, vecType);
    auto store = [&](OpBuilder &ob, Value value, Value base,
                     ArrayRef<Value> idx) {
      storeVector(ob, loc, value, base, idx, mask);
    };
    auto storePartial = [&](OpBuilder &ob) {
      for (int64_t r = 0; r < rows; ++r)
        store(ob, sums[r], mm.c, cIndices(ob, r));
    };
    // After the last K block the fused epilogue runs on the registers.
    auto storeFinal = [&](OpBuilder &ob) {
      for (int64_t r = 0; r < rows; ++r) {
        SmallVector<Value> idx = cIndices(ob, r);
        if (fusion->storeY)
          store(ob, sums[r], mm.c, idx);
        store(ob,
              emitEpilogue(ob, loc, *fusion, idx, sums[r], mask),
              fusion->epilogueOut, idx);
      }
    };
    if (!fusion->epilogue) {
      storePartial(b);
    } else if (mm.k() <= kcBlock) {
      storeFinal(b);
    } else {
      Value last = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                                         kEnd, cst(b, mm.k()));
      emitIfElse(b, loc, last, storeFinal, storePartial);
    }
  }

  /// Prefetches, for writing, the C lines the next row tile of this panel
  /// will store (its rows past M are no-ops).
  void prefetchNextTile(OpBuilder &b, Location loc, Matmul &mm,
                        SmallVector<Value> loopValues, Value row, Value nStart,
                        VectorType vecType) {
    Value out =
        fusion->epilogue && !fusion->storeY ? fusion->epilogueOut : mm.c;
    loopValues[mm.nDim] = nStart;
    for (int64_t r = 0; r < tileRows; ++r) {
      loopValues[mm.mDim] = arith::AddIOp::create(
          b, loc, row, arith::ConstantIndexOp::create(b, loc, tileRows + r));
      prefetchLines(b, loc, out, indicesFor(b, loc, mm.mapC, loopValues),
                    vecType.getNumElements() * 4, /*isWrite=*/true);
    }
  }

  /// The f32 inner loop: per k, one B vector and one FMA per row.
  SmallVector<Value> emitF32Loop(OpBuilder &b, Location loc, Matmul &mm,
                                 SmallVector<Value> loopValues, Value rowTile,
                                 ArrayRef<Value> rowValues, Value p,
                                 Value kEnd, Value panel, Value nStart,
                                 Value mask, Value zeroVec, Value bPacked,
                                 bool direct, Value stack, ValueRange init,
                                 VectorType vecType) {
    auto cst = [&](OpBuilder &ob, int64_t v) -> Value {
      return arith::ConstantIndexOp::create(ob, loc, v);
    };
    int64_t rows = rowValues.size();
    auto loadVec = [&](OpBuilder &ob, Value base, SmallVector<Value> idx) {
      return loadColumns(ob, loc, vecType, base, idx, mask, zeroVec);
    };
    auto loop = scf::ForOp::create(
        b, loc, p, kEnd, cst(b, 1), init,
        [&](OpBuilder &kb, Location l, Value kk, ValueRange acc) {
          Value bVec;
          if (bPacked) {
            SmallVector<Value> at = {panel, kk, cst(kb, 0)};
            bVec = vector::LoadOp::create(kb, l, vecType, bPacked, at);
            // Past the panel's end: the next panel.
            int64_t bytes = vecType.getNumElements() * 4;
            prefetchAhead(kb, l, bPacked, at, 1, bytes, bytes);
          } else if (direct) {
            SmallVector<Value> values = loopValues;
            values[mm.kDim] = kk;
            values[mm.nDim] = nStart;
            bVec = loadVec(kb, mm.b, indicesFor(kb, l, mm.mapB, values));
          } else {
            Value local = arith::SubIOp::create(kb, l, kk, p);
            bVec = vector::LoadOp::create(kb, l, vecType, stack,
                                          ValueRange{local, cst(kb, 0)});
          }
          SmallVector<Value> next;
          for (int64_t r = 0; r < rows; ++r) {
            SmallVector<Value> values = loopValues;
            values[mm.mDim] = rowValues[r];
            values[mm.kDim] = kk;
            Value a;
            if (aPacked) {
              SmallVector<Value> idx;
              for (unsigned d : mm.batchDims)
                idx.push_back(loopValues[d]);
              idx.append({rowTile, kk, cst(kb, r)});
              a = memref::LoadOp::create(kb, l, aPacked, idx);
              // Weights read as broadcasts stream from memory like a
              // packed B (Winograd's U [pos][F][C] times the tiles).
              if (aWeights && r == 0)
                prefetchAhead(kb, l, aPacked, idx, idx.size() - 2, rows * 4,
                              rows * 4);
            } else {
              a = memref::LoadOp::create(
                  kb, l, mm.a, indicesFor(kb, l, mm.mapA, values));
            }
            Value splat = vector::BroadcastOp::create(kb, l, vecType, a);
            next.push_back(vector::FMAOp::create(kb, l, splat, bVec, acc[r]));
          }
          scf::YieldOp::create(kb, l, next);
        });
    return SmallVector<Value>(loop.getResults());
  }

  /// The bf16 inner loop over the pairs of k in [p, kEnd) (p even): per
  /// pair, nr/16 B vectors of 32 bf16, one broadcast A pair per row and
  /// one vdpbf16ps per row and vector.
  SmallVector<Value> emitPairLoop(OpBuilder &b, Location loc, Matmul &mm,
                                  SmallVector<Value> loopValues, Value rowTile,
                                  int64_t rows, Value p, Value kEnd,
                                  Value panel, Value bPacked, ValueRange init,
                                  VectorType vecType) {
    auto cst = [&](OpBuilder &ob, int64_t v) -> Value {
      return arith::ConstantIndexOp::create(ob, loc, v);
    };
    int64_t nr = vecType.getShape()[0], vectors = nr / 16;
    auto i32v = VectorType::get({16}, b.getI32Type());
    auto bf16v = VectorType::get({32}, b.getBF16Type());
    SmallVector<Value> acc = splitSlices(b, loc, init);
    Value two = cst(b, 2);
    Value first = arith::DivUIOp::create(b, loc, p, two);
    Value end = arith::DivUIOp::create(
        b, loc, arith::AddIOp::create(b, loc, kEnd, cst(b, 1)), two);
    auto loop = scf::ForOp::create(
        b, loc, first, end, cst(b, 1), acc,
        [&](OpBuilder &kb, Location l, Value j, ValueRange sums) {
          SmallVector<Value> bVecs;
          for (int64_t v = 0; v < vectors; ++v)
            bVecs.push_back(vector::BitCastOp::create(
                kb, l, bf16v,
                vector::LoadOp::create(kb, l, i32v, bPacked,
                                       ValueRange{panel, j, cst(kb, 16 * v)})));
          prefetchAhead(kb, l, bPacked, {panel, j, cst(kb, 0)}, 1, nr * 4,
                        nr * 4);
          SmallVector<Value> next;
          for (int64_t r = 0; r < rows; ++r) {
            SmallVector<Value> idx;
            for (unsigned d : mm.batchDims)
              idx.push_back(loopValues[d]);
            idx.append({rowTile, j, cst(kb, r)});
            Value pair = broadcastBf16Pair(
                kb, l, memref::LoadOp::create(kb, l, aPacked, idx));
            for (int64_t v = 0; v < vectors; ++v)
              next.push_back(
                  emitBf16Dot(kb, l, sums[r * vectors + v], pair, bVecs[v]));
          }
          scf::YieldOp::create(kb, l, next);
        });
    return joinSlices(b, loc, loop.getResults(), init);
  }
};

} // namespace
