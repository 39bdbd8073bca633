//===- VectorizeWindow.cpp - pooling windows as vector loops --------------===//
//
// Part of kiln. A pooling generic (max or sum over (kh, kw) windows) has
// its output's last dim innermost after kiln-interchange-reductions, but
// its input and output are views of one workspace, so LLVM keeps it
// scalar (MaxPool was 14% of the digit CNN's time). Here it becomes
//
//   parallel over the output's outer dims
//     for blocks of `lanes` output columns (masked tail)
//       acc = the output's block (or the fill before the op, absorbed)
//       for each window position: acc = body(input columns, acc)
//       store acc (or the elementwise op after it, absorbed)
//
// with the input's columns `stride` apart read by loadStridedColumns. A max
// or min window of at most kMaxTreeWindow positions is unrolled and folded
// as a tree (the order does not change the result), so that the chain of
// dependent ops is log2(window) long instead of window long.
//
//===----------------------------------------------------------------------===//

#include "codegen/cpu/ContractionUtils.h"

#include "mlir/Dialect/Affine/Utils.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Utils/Utils.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace mlir::kiln;

namespace {

/// Arith ops on f32 scalars only (max, add, ...): what vectorizeBody
/// turns into the same ops on vectors.
bool isScalarArithBody(linalg::GenericOp op) {
  for (Operation &inner : op.getRegion().front().without_terminator()) {
    if (inner.getDialect()->getNamespace() != "arith" ||
        inner.getNumRegions() != 0)
      return false;
    for (Type t : inner.getResultTypes())
      if (!t.isF32())
        return false;
  }
  return true;
}

/// Window positions up to which a max/min window is folded as a tree.
constexpr int64_t kMaxTreeWindow = 16;

/// The body is one max or min of the input and the output: folding the
/// window in any order gives the same result.
bool isOrderFreeBody(linalg::GenericOp op) {
  Block &body = op.getRegion().front();
  if (!llvm::hasSingleElement(body.without_terminator()))
    return false;
  Operation &inner = body.front();
  if (!isa<arith::MaximumFOp, arith::MinimumFOp, arith::MaxNumFOp,
           arith::MinNumFOp>(inner))
    return false;
  Value in = body.getArgument(0), out = body.getArguments().back();
  return (inner.getOperand(0) == in && inner.getOperand(1) == out) ||
         (inner.getOperand(0) == out && inner.getOperand(1) == in);
}

} // namespace

bool mlir::kiln::vectorizeWindowReduction(linalg::GenericOp op,
                                          const CpuTarget &target) {
  if (!op.hasPureBufferSemantics() || op.getNumDpsInits() != 1 ||
      op.getNumDpsInputs() < 1 || op.getNumReductionLoops() == 0 ||
      !isScalarArithBody(op))
    return false;
  unsigned loops = op.getNumLoops();
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  if (!linalg::isParallelIterator(iterators[loops - 1]))
    return false;
  Value out = op.getDpsInitOperand(0)->get();
  auto outType = dyn_cast<MemRefType>(out.getType());
  if (!outType || outType.getRank() == 0 ||
      !isIdentityF32(out, outType.getRank()))
    return false;
  int64_t rank = outType.getRank();
  // The output is indexed by plain parallel dims, the innermost loop last.
  AffineMap outMap = op.getMatchingIndexingMap(op.getDpsInitOperand(0));
  SmallVector<unsigned> outDims;
  for (unsigned r = 0; r < outMap.getNumResults(); ++r) {
    std::optional<unsigned> d = resultDim(outMap, r);
    if (!d || !linalg::isParallelIterator(iterators[*d]))
      return false;
    outDims.push_back(*d);
  }
  if (outDims.back() != loops - 1)
    return false;
  unsigned column = loops - 1;

  // The first input is the one read; any other only gives the window loops
  // their extent (its value is unused).
  Block &body = op.getRegion().front();
  for (unsigned i = 1; i < op.getNumDpsInputs(); ++i)
    if (!body.getArgument(i).use_empty())
      return false;
  OpOperand *input = op.getDpsInputOperand(0);
  Value x = input->get();
  auto xType = dyn_cast<MemRefType>(x.getType());
  if (!xType || !isIdentityF32(x, xType.getRank()) ||
      baseBuffer(x) == baseBuffer(out))
    return false;
  AffineMap xMap = op.getMatchingIndexingMap(input);
  // The column dim only in x's last index, as column * stride + a window
  // dim.
  for (unsigned r = 0; r + 1 < xMap.getNumResults(); ++r)
    if (xMap.getResult(r).isFunctionOfDim(column))
      return false;
  AffineExpr last = xMap.getResults().back();
  int64_t stride = 0;
  for (unsigned d = 0; d < loops && !stride; ++d)
    if (linalg::isReductionIterator(iterators[d]))
      if (auto c = stridedWindowCoefficients(last, column, d, loops);
          c && c->second == 1)
        stride = c->first;
  if (stride != 1 && stride != 2)
    return false;

  int64_t lanes = target.vectorBits / 32;
  int64_t width = outType.getShape().back();
  if (width < lanes / 2)
    return false; // mostly masked lanes: the scalar loop is as good
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  SmallVector<unsigned> windowDims;
  for (unsigned d = 0; d < loops; ++d)
    if (linalg::isReductionIterator(iterators[d]))
      windowDims.push_back(d);

  int64_t windowSize = 1;
  for (unsigned d : windowDims)
    windowSize *= ranges[d];
  bool tree = isOrderFreeBody(op) && windowSize <= kMaxTreeWindow;
  TileFusion fusion = findTileFusion(op, out, {unsigned(rank - 1)});

  OpBuilder b(op);
  Location loc = op.getLoc();
  auto cst = [&](OpBuilder &ob, int64_t v) -> Value {
    return arith::ConstantIndexOp::create(ob, loc, v);
  };
  auto maskType = VectorType::get({lanes}, b.getI1Type());
  auto vecType = VectorType::get({lanes}, b.getF32Type());
  // One output block: acc from the output, the window folded in, stored.
  auto emitBlock = [&](OpBuilder &bb, SmallVector<Value> loopValues,
                       Value col, int64_t valid) {
    loopValues[column] = col;
    SmallVector<Value> outIdx;
    for (unsigned d : outDims)
      outIdx.push_back(loopValues[d]);
    Value mask;
    if (valid < lanes)
      mask = vector::ConstantMaskOp::create(bb, loc, maskType,
                                            ArrayRef<int64_t>{valid});
    Value acc = fusion.prologue
                    ? emitPrologue(bb, loc, fusion, outIdx, vecType)
                    : loadStridedColumns(bb, loc, out, outIdx, lanes, 1, valid);
    // The input columns at the window position now in loopValues.
    auto columns = [&](OpBuilder &wb) {
      SmallVector<Value> xIdx;
      for (AffineExpr e : xMap.getResults())
        xIdx.push_back(affine::expandAffineExpr(wb, loc, e, loopValues, {}));
      return loadStridedColumns(wb, loc, x, xIdx, lanes, stride, valid);
    };
    auto fold = [&](OpBuilder &wb, Value in, Value carried) {
      SmallVector<Value> args(op.getNumDpsInputs(), in);
      args.push_back(carried);
      return vectorizeBody(wb, loc, op, args, lanes);
    };
    if (tree) {
      // Every position's columns, then pairwise folds.
      SmallVector<Value> values;
      for (int64_t p = 0; p < windowSize; ++p) {
        int64_t rest = p;
        for (unsigned d : llvm::reverse(windowDims)) {
          loopValues[d] = cst(bb, rest % ranges[d]);
          rest /= ranges[d];
        }
        values.push_back(columns(bb));
      }
      while (values.size() > 1) {
        SmallVector<Value> next;
        for (size_t i = 0; i + 1 < values.size(); i += 2)
          next.push_back(fold(bb, values[i], values[i + 1]));
        if (values.size() % 2)
          next.push_back(values.back());
        values = std::move(next);
      }
      acc = fold(bb, values[0], acc);
    } else {
      // The window loops, nested, carrying acc.
      std::function<Value(OpBuilder &, unsigned, Value)> window =
          [&](OpBuilder &wb, unsigned level, Value carried) -> Value {
        if (level == windowDims.size())
          return fold(wb, columns(wb), carried);
        unsigned d = windowDims[level];
        auto loop = scf::ForOp::create(
            wb, loc, cst(wb, 0), cst(wb, ranges[d]), cst(wb, 1),
            ValueRange{carried},
            [&](OpBuilder &lb, Location, Value iv, ValueRange args) {
              loopValues[d] = iv;
              scf::YieldOp::create(lb, loc, window(lb, level + 1, args[0]));
            });
        return loop.getResult(0);
      };
      acc = window(bb, 0, acc);
    }
    auto store = [&](Value value, Value base) {
      storeVector(bb, loc, value, base, outIdx, mask);
    };
    if (fusion.storeY)
      store(acc, out);
    if (fusion.epilogue)
      store(emitEpilogue(bb, loc, fusion, outIdx, acc, mask),
            fusion.epilogueOut);
  };

  auto emitRow = [&](OpBuilder &rb, ValueRange ivs) {
    SmallVector<Value> loopValues(loops, Value());
    for (auto [r, iv] : llvm::enumerate(ivs))
      loopValues[outDims[r]] = iv;
    emitTiles(rb, loc, width, lanes,
              [&](OpBuilder &tb, Value col, int64_t size) {
                emitBlock(tb, loopValues, col, size);
              });
  };
  if (rank == 1) {
    emitRow(b, {});
  } else {
    SmallVector<Value> lbs, ubs, steps;
    for (int64_t r = 0; r + 1 < rank; ++r) {
      lbs.push_back(cst(b, 0));
      ubs.push_back(cst(b, outType.getShape()[r]));
      steps.push_back(cst(b, 1));
    }
    scf::ParallelOp::create(b, loc, lbs, ubs, steps,
                            [&](OpBuilder &pb, Location, ValueRange ivs) {
                              emitRow(pb, ivs);
                            });
  }
  eraseFused(fusion);
  op.erase();
  return true;
}
