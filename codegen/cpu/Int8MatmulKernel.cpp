//===- Int8MatmulKernel.cpp - int8 x int8 GEMM (w8a8) ---------------------===//
//
// Part of kiln. The kernel of kiln.dynamic_quantized_matmul on buffers. It
// replaces the marked i32 contraction of the reference form
// (KilnToLinalg/Int8MatMul.cpp), the fill before it and the rescale after
// it (with whatever elementwise ops were fused into the rescale):
//
//   parallel over rows m:                       (activations, once)
//     xw[m, k / 4] = 4 bytes of u8(q(x[m, k], s_x[m]) + 128)
//   parallel over N panels of nr = 16 * nv columns x row tiles of mr rows
//     acc[r][v] = -128 * colsum(w)[v]         (i32, mr x nv vectors)
//     per k quad: nv packed weight vectors, mr broadcast activation
//       words, mr x nv dot4(acc, a_u8, w_s8)
//     y = rescale epilogue(acc) (f32(acc) * s_x * w_s, bias, ...)
//
// dot4 is vpdpbusd (llvm.x86.avx512.vpdpbusd.512) when the target has
// AVX-512 VNNI: it multiplies unsigned bytes by signed bytes and adds each
// group of four products to an i32 lane, hence the +128 bias on the
// activations, removed exactly by the precomputed column sums. Weights are
// packed at compile time into [panel][K / 4][nr][4] bytes (groups of four
// consecutive k per 32-bit lane, zero padded), so the inner loop streams
// them contiguously.
//
// Without VNNI, on x86, each lane holds a pair of k instead: activation
// words are two i16 (the same u8 values), the weights [panel][K / 2][nr][2]
// bytes, sign-extended to i16 as they are loaded, and pmaddwd (SSE2, AVX2
// or AVX-512BW, the widest the target has) multiplies the pairs and adds
// them into i32 lanes. Unlike pmaddubsw (u8 x s8 pairs summed in i16),
// nothing saturates. Elsewhere the quad layout is widened to i16 and
// summed with plain vector ops. All sums are exact, so the result equals
// the reference form's up to the order of the f32 rescale (the same here).
//
// kiln.integer_matmul (ONNX MatMulInteger, QLinearMatMul) brings its
// activations as 8-bit integers with a zero point zp: the first pass
// copies them (signed ones +128 by flipping the top bit) instead of
// quantizing, the accumulators start at -(zp [+128]) * colsum(w), and the
// epilogue is whatever elementwise op reads the i32 result (the cast and
// the scale multiply that dequantize it, a bias, an activation).
//
//===----------------------------------------------------------------------===//

#include "codegen/KilnToLinalg/Lowering.h"
#include "codegen/cpu/ContractionUtils.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "llvm/ADT/SmallPtrSet.h"
#include "llvm/ADT/Twine.h"

#include <cmath>

using namespace mlir;
using namespace mlir::kiln;

namespace {

/// Activations are quantized (or copied) kLanes at a time.
constexpr int64_t kLanes = 16;

/// How the dot product pairs activations with packed weights.
struct DotLayout {
  enum Kind { Vnni, Pmaddwd, Portable } kind = Portable;
  int64_t lanes = kLanes; // i32 lanes of one accumulator vector
  int64_t kPerWord = 4;   // k per activation word and per weight lane
};

/// The matched operands and sizes of an int8 contraction generic.
struct Int8Matmul {
  linalg::GenericOp op;
  Value x, sx, c; // f32 [M, K], f32 [M] (null: static scale), i32 [M, N]
  memref::GlobalOp weights;
  int64_t m = 0, n = 0, k = 0;
  /// A calibrated scale (input_scale), folded into the contraction's body
  /// as the divisor constant once its fill was canonicalized away.
  std::optional<float> staticScale;
  /// kiln.integer_matmul: x holds 8-bit integers already (unsigned or
  /// signed), with the 0-d zero point `zp` (null: 0); there is no scale.
  bool integerInput = false, unsignedInput = false;
  Value zp;
  int32_t zpConstant = 0; // the zero point when `zp` is null
};

bool isStaticIdentity(Value v, int64_t rank, Type element) {
  auto t = dyn_cast<MemRefType>(v.getType());
  return t && t.hasStaticShape() && t.getRank() == rank &&
         t.getLayout().isIdentity() && t.getElementType() == element;
}

/// The positive finite constant x is divided by in the body of a
/// contraction whose scale operand was folded away (static input_scale).
std::optional<float> bodyScale(linalg::GenericOp op) {
  Value x = op.getRegion().front().getArgument(0);
  for (Operation *user : x.getUsers()) {
    auto div = dyn_cast<arith::DivFOp>(user);
    FloatAttr attr;
    if (!div || div.getLhs() != x ||
        !matchPattern(div.getRhs(), m_Constant(&attr)) ||
        !attr.getType().isF32())
      continue;
    float s = attr.getValue().convertToFloat();
    if (s > 0.0f && std::isfinite(s))
      return s;
  }
  return std::nullopt;
}

/// The contraction of a kiln.integer_matmul: x (m, k) 8-bit, the optional
/// 0-d zero point, w (k, n) constant i8, C (m, n) i32.
std::optional<Int8Matmul> matchInteger(linalg::GenericOp op) {
  auto sign = op->getAttrOfType<StringAttr>(lowering::kIntegerMatmulAttr);
  unsigned inputs = op.getNumDpsInputs();
  if (!sign || !op.hasPureBufferSemantics() || (inputs != 2 && inputs != 3) ||
      op.getNumDpsInits() != 1)
    return std::nullopt;
  Int8Matmul q;
  q.op = op;
  q.integerInput = true;
  q.unsignedInput = sign.getValue() == "unsigned";
  q.x = op.getDpsInputOperand(0)->get();
  // Two operands: the zero point is the attribute's constant (none: 0).
  auto zpConstant =
      op->getAttrOfType<IntegerAttr>(lowering::kIntegerMatmulZeroPointAttr);
  if (inputs == 3)
    q.zp = op.getDpsInputOperand(1)->get();
  else if (zpConstant)
    q.zpConstant = int32_t(zpConstant.getInt());
  else
    return std::nullopt;
  Value w = op.getDpsInputOperand(inputs - 1)->get();
  q.c = op.getDpsInitOperand(0)->get();
  q.weights = constantGlobalOf(w);
  auto xType = dyn_cast<MemRefType>(q.x.getType());
  auto zpType = q.zp ? dyn_cast<MemRefType>(q.zp.getType()) : MemRefType();
  auto wType = cast<MemRefType>(w.getType());
  if (!q.weights || !xType || !xType.hasStaticShape() ||
      xType.getRank() != 2 || !xType.getLayout().isIdentity() ||
      !xType.getElementType().isInteger(8) ||
      !isStaticIdentity(q.c, 2, IntegerType::get(op.getContext(), 32)) ||
      (q.zp && (!zpType || zpType.getRank() != 0 ||
                zpType.getElementType() != xType.getElementType())) ||
      !wType.getElementType().isInteger(8))
    return std::nullopt;
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  std::optional<unsigned> xm = resultDim(maps[0], 0),
                          xk = resultDim(maps[0], 1),
                          wk = resultDim(maps[inputs - 1], 0),
                          wn = resultDim(maps[inputs - 1], 1);
  AffineMap cMap = op.getMatchingIndexingMap(op.getDpsInitOperand(0));
  if (!xm || !xk || !wk || !wn || *xk != *wk ||
      (q.zp && maps[1].getNumResults() != 0) || resultDim(cMap, 0) != xm ||
      resultDim(cMap, 1) != wn)
    return std::nullopt;
  q.m = xType.getShape()[0];
  q.k = xType.getShape()[1];
  q.n = wType.getShape()[1];
  if (wType.getShape()[0] != q.k)
    return std::nullopt;
  return q;
}

std::optional<Int8Matmul> match(linalg::GenericOp op) {
  if (op->hasAttr(lowering::kIntegerMatmulAttr))
    return matchInteger(op);
  unsigned inputs = op.getNumDpsInputs();
  if (!op->hasAttr(lowering::kInt8MatmulAttr) || !op.hasPureBufferSemantics() ||
      (inputs != 2 && inputs != 3) || op.getNumDpsInits() != 1)
    return std::nullopt;
  Int8Matmul q;
  q.op = op;
  q.x = op.getDpsInputOperand(0)->get();
  if (inputs == 3)
    q.sx = op.getDpsInputOperand(1)->get();
  else if (!(q.staticScale = bodyScale(op)))
    return std::nullopt;
  Value w = op.getDpsInputOperand(inputs - 1)->get();
  q.c = op.getDpsInitOperand(0)->get();
  q.weights = constantGlobalOf(w);
  MLIRContext *ctx = op.getContext();
  auto f32 = Float32Type::get(ctx);
  if (!q.weights || !isIdentityF32(q.x, 2) ||
      !isStaticIdentity(q.c, 2, IntegerType::get(ctx, 32)))
    return std::nullopt;
  auto sxType = q.sx ? dyn_cast<MemRefType>(q.sx.getType()) : MemRefType();
  auto wType = cast<MemRefType>(w.getType());
  if ((q.sx && (!sxType || !sxType.hasStaticShape() ||
                sxType.getRank() != 1 || sxType.getElementType() != f32)) ||
      !wType.getElementType().isInteger(8))
    return std::nullopt;
  // The lowering's maps: x (m, k), s_x (m) unless static, w (k, n),
  // C (m, n), whatever the loop order.
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  std::optional<unsigned> xm = resultDim(maps[0], 0),
                          xk = resultDim(maps[0], 1),
                          sm = q.sx ? resultDim(maps[1], 0) : xm,
                          wk = resultDim(maps[inputs - 1], 0),
                          wn = resultDim(maps[inputs - 1], 1);
  AffineMap cMap = op.getMatchingIndexingMap(op.getDpsInitOperand(0));
  if (!xm || !xk || !sm || !wk || !wn || *xk != *wk || *sm != *xm ||
      resultDim(cMap, 0) != xm || resultDim(cMap, 1) != wn)
    return std::nullopt;
  ArrayRef<int64_t> xShape = cast<MemRefType>(q.x.getType()).getShape();
  q.m = xShape[0];
  q.k = xShape[1];
  q.n = wType.getShape()[1];
  if ((sxType && sxType.getShape()[0] != q.m) || wType.getShape()[0] != q.k)
    return std::nullopt;
  return q;
}

/// The rescale generic after the contraction, as an epilogue of C: an
/// all-parallel elementwise generic over C's shape reading C (identity)
/// and writing a buffer of whole bytes (f32; u8 when it requantizes).
/// Fills `f`'s epilogue fields; false when the next op is not one.
bool findRescale(const Int8Matmul &q, TileFusion &f) {
  // Steps over what has no memory effects, allocations, and up to a few
  // generics that neither touch C nor write what the contraction reads:
  // the kernel is emitted at the rescale, so the contraction moves past
  // them (Q, K and V projections of one input come as three contractions,
  // then their three rescales).
  Value cBase = baseBuffer(q.c);
  SmallVector<Value> contractionReads = {baseBuffer(q.x)};
  if (q.sx)
    contractionReads.push_back(baseBuffer(q.sx));
  if (q.zp)
    contractionReads.push_back(baseBuffer(q.zp));
  auto touchesC = [&](Operation *op) {
    return llvm::any_of(op->getOperands(), [&](Value v) {
      return isa<MemRefType>(v.getType()) && baseBuffer(v) == cBase;
    });
  };
  Operation *next = q.op->getNextNode();
  for (int passed = 0; next; next = next->getNextNode()) {
    if (isMemoryEffectFree(next) || isa<memref::AllocOp>(next))
      continue;
    auto g = dyn_cast<linalg::GenericOp>(next);
    auto copy = dyn_cast<memref::CopyOp>(next);
    if ((!g || !g.hasPureBufferSemantics()) && !copy)
      return false;
    if (touchesC(next))
      break;
    if (++passed > 8)
      return false;
    SmallVector<Value> written;
    if (copy)
      written.push_back(copy.getTarget());
    else
      written.append(g.getDpsInits().begin(), g.getDpsInits().end());
    for (Value v : written)
      if (llvm::is_contained(contractionReads, baseBuffer(v)))
        return false;
  }
  if (isa_and_nonnull<memref::CopyOp>(next))
    return false;
  auto epilogue = dyn_cast_or_null<linalg::GenericOp>(next);
  if (!epilogue || !epilogue.hasPureBufferSemantics() ||
      epilogue.getNumDpsInits() != 1 || epilogue.getNumReductionLoops() != 0 ||
      !hasVectorizableBody(epilogue))
    return false;
  Value out = epilogue.getDpsInitOperand(0)->get();
  auto outType = dyn_cast<MemRefType>(out.getType());
  auto cType = cast<MemRefType>(q.c.getType());
  if (!outType || !outType.getLayout().isIdentity() ||
      outType.getShape() != cType.getShape() ||
      !outType.getElementType().isIntOrFloat() ||
      outType.getElementType().getIntOrFloatBitWidth() % 8 != 0 ||
      !epilogue.getMatchingIndexingMap(epilogue.getDpsInitOperand(0))
           .isIdentity())
    return false;
  SmallVector<TileFusion::Operand> operands;
  int readsOfC = 0;
  for (OpOperand *input : epilogue.getDpsInputOperands()) {
    Value v = input->get();
    AffineMap map = epilogue.getMatchingIndexingMap(input);
    // Another view of C would be read before the kernel stored it.
    if (v != q.c && isa<MemRefType>(v.getType()) &&
        baseBuffer(v) == baseBuffer(q.c))
      return false;
    // The output is written tile by tile: only same-index reads of it.
    if (v == out && !map.isIdentity())
      return false;
    std::optional<TileFusion::Operand::Kind> kind =
        classifyTileOperand(v, map, q.c, f);
    if (!kind)
      return false;
    readsOfC += *kind == TileFusion::Operand::Accumulator;
    operands.push_back({v, map, *kind});
  }
  Value outBase = baseBuffer(out);
  if (readsOfC < 1 || outBase == baseBuffer(q.x) ||
      (q.sx && outBase == baseBuffer(q.sx)) || outBase == baseBuffer(q.c))
    return false;
  f.epilogue = epilogue;
  f.epilogueOperands = std::move(operands);
  f.epilogueOut = out;
  f.storeY = !isa_and_nonnull<memref::AllocOp>(q.c.getDefiningOp());
  for (Operation *user : q.c.getUsers())
    if (user != q.op && user != f.prologue && user != f.epilogue)
      f.storeY = true;
  return true;
}

/// The row scales' producers: amax = 0 (fill), amax[m] = max_k |x[m, k]|
/// (reduction), s_x = amax == 0 ? 1 : amax / 127 (elementwise), as the
/// reference form (KilnToLinalg/Int8MatMul.cpp) writes them. The kernel
/// then computes s_x in its quantization pass, from the row it quantizes
/// (in L1 by then), with independent maxima (max is exact in any order),
/// and stores it for the rescale.
struct RowScale {
  linalg::GenericOp fill, reduce, scale;
  Value amax; // may be s_x's buffer (computed in place)
};

template <typename... Ops> bool bodyIs(linalg::GenericOp op) {
  Block &body = op.getRegion().front();
  auto it = body.begin();
  bool ok = ((it != body.end() && isa<Ops>(*it++)) && ...);
  return ok && it != body.end() && isa<linalg::YieldOp>(*it) &&
         std::next(it) == body.end();
}

bool isF32Constant(Value v, double value) {
  auto c = v.getDefiningOp<arith::ConstantOp>();
  auto f = c ? dyn_cast<FloatAttr>(c.getValue()) : FloatAttr();
  return f && f.getValueAsDouble() == value && f.getType().isF32();
}

/// `at`: where the kernel is emitted (the contraction, or its rescale).
std::optional<RowScale> matchRowScale(Int8Matmul q, Operation *at) {
  auto sxAlloc = q.sx.getDefiningOp<memref::AllocOp>();
  if (!sxAlloc)
    return std::nullopt;
  Block *block = q.op->getBlock();
  RowScale rs;
  // The scale writes s_x; the fill and the reduction may write it too
  // (amax computed in place in s_x's buffer), checked below.
  int writers = 0;
  llvm::SmallPtrSet<Operation *, 8> seen;
  for (Operation *user : q.sx.getUsers()) {
    if (!seen.insert(user).second)
      continue;
    auto g = dyn_cast<linalg::GenericOp>(user);
    if (g && g.getNumDpsInits() == 1 &&
        g.getDpsInitOperand(0)->get() == q.sx) {
      ++writers;
      if (!bodyIs<arith::CmpFOp, arith::DivFOp, arith::SelectOp>(g))
        continue;
      if (rs.scale)
        return std::nullopt;
      rs.scale = g;
      continue;
    }
    // Every other reader of s_x (another matmul's, when CSE shared the
    // scales of one input) comes after the kernel, which now computes it.
    if (!isa<memref::DeallocOp>(user) && user != q.op &&
        (user->getBlock() != block || user->isBeforeInBlock(at)))
      return std::nullopt;
  }
  if (!rs.scale || rs.scale->getBlock() != block ||
      !rs.scale.hasPureBufferSemantics() || rs.scale.getNumDpsInputs() != 1 ||
      rs.scale.getNumReductionLoops() != 0 ||
      !bodyIs<arith::CmpFOp, arith::DivFOp, arith::SelectOp>(rs.scale))
    return std::nullopt;
  for (AffineMap map : rs.scale.getIndexingMapsArray())
    if (!map.isIdentity())
      return std::nullopt;
  {
    Block &body = rs.scale.getRegion().front();
    Value in = body.getArgument(0);
    auto ops = body.without_terminator().begin();
    auto cmp = cast<arith::CmpFOp>(*ops++);
    auto div = cast<arith::DivFOp>(*ops++);
    auto sel = cast<arith::SelectOp>(*ops);
    if (cmp.getPredicate() != arith::CmpFPredicate::OEQ ||
        cmp.getLhs() != in || !isF32Constant(cmp.getRhs(), 0) ||
        div.getLhs() != in || !isF32Constant(div.getRhs(), 127) ||
        sel.getCondition() != cmp || !isF32Constant(sel.getTrueValue(), 1) ||
        sel.getFalseValue() != div ||
        body.getTerminator()->getOperand(0) != sel.getResult())
      return std::nullopt;
  }
  rs.amax = rs.scale.getDpsInputOperand(0)->get();
  bool inPlace = rs.amax == q.sx;
  if (writers != (inPlace ? 3 : 1))
    return std::nullopt;
  auto amaxType = dyn_cast<MemRefType>(rs.amax.getType());
  if (!rs.amax.getDefiningOp<memref::AllocOp>() || !amaxType ||
      amaxType.getShape() != ArrayRef<int64_t>{q.m})
    return std::nullopt;
  seen.clear();
  for (Operation *user : rs.amax.getUsers()) {
    if (!seen.insert(user).second)
      continue;
    if (user == rs.scale || isa<memref::DeallocOp>(user))
      continue;
    // In place: s_x's readers from the matmul on (checked above).
    if (inPlace && user->getBlock() == block && !user->isBeforeInBlock(q.op))
      continue;
    auto g = dyn_cast<linalg::GenericOp>(user);
    if (!g || g->getBlock() != block || !g.hasPureBufferSemantics() ||
        g.getNumDpsInits() != 1 || g.getDpsInitOperand(0)->get() != rs.amax)
      return std::nullopt;
    if (g.getNumReductionLoops() == 0) {
      // amax = 0.
      if (rs.fill || g.getNumDpsInputs() != 1 ||
          !isF32Constant(g.getDpsInputOperand(0)->get(), 0) ||
          !bodyIs<>(g) ||
          g.getRegion().front().getTerminator()->getOperand(0) !=
              g.getRegion().front().getArgument(0))
        return std::nullopt;
      rs.fill = g;
      continue;
    }
    // amax = max(amax, |x|) over k.
    if (rs.reduce || g.getNumDpsInputs() != 1 ||
        g.getDpsInputOperand(0)->get() != q.x ||
        g.getNumReductionLoops() != 1 || g.getNumLoops() != 2 ||
        !bodyIs<math::AbsFOp, arith::MaximumFOp>(g))
      return std::nullopt;
    SmallVector<AffineMap> maps = g.getIndexingMapsArray();
    if (!maps[0].isIdentity() || resultDim(maps[1], 0) != 0u ||
        maps[1].getNumResults() != 1 ||
        g.getIteratorTypesArray()[1] != utils::IteratorType::reduction)
      return std::nullopt;
    Block &body = g.getRegion().front();
    auto ops = body.without_terminator().begin();
    auto abs = cast<math::AbsFOp>(*ops++);
    auto max = cast<arith::MaximumFOp>(*ops);
    Value in = body.getArgument(0), out = body.getArgument(1);
    if (abs.getOperand() != in ||
        !((max.getLhs() == out && max.getRhs() == abs) ||
          (max.getRhs() == out && max.getLhs() == abs)) ||
        body.getTerminator()->getOperand(0) != max.getResult())
      return std::nullopt;
    rs.reduce = g;
  }
  if (!rs.fill || !rs.reduce || !rs.fill->isBeforeInBlock(rs.reduce) ||
      !rs.reduce->isBeforeInBlock(rs.scale) ||
      !rs.scale->isBeforeInBlock(q.op))
    return std::nullopt;
  // Nothing between the reduction and the matmul may write x.
  Value xBase = baseBuffer(q.x);
  for (Operation *o = rs.reduce->getNextNode(); o != q.op;
       o = o->getNextNode()) {
    if (isMemoryEffectFree(o) || isa<memref::AllocOp>(o) || o == rs.scale)
      continue;
    auto g = dyn_cast<linalg::GenericOp>(o);
    if (!g || !g.hasPureBufferSemantics())
      return std::nullopt;
    for (OpOperand &init : g.getDpsInitsMutable())
      if (baseBuffer(init.get()) == xBase)
        return std::nullopt;
  }
  return rs;
}

/// The packed constants of one int8 matmul.
struct Packed {
  memref::GlobalOp weights; // i8 [panels][K / kPerWord][nr * kPerWord]
  memref::GlobalOp bias;    // i32 [panels][nr]: -128 * column sums (the
                            // column sums for integer activations)
};

Packed pack(Int8Matmul q, int64_t nr, int64_t kPerWord) {
  std::optional<std::vector<char>> w = readGlobalBytes(q.weights);
  if (!w || int64_t(w->size()) != q.k * q.n)
    return {};
  int64_t k = q.k, n = q.n, words = (k + kPerWord - 1) / kPerWord,
          panels = (n + nr - 1) / nr;
  std::vector<char> wp(panels * words * nr * kPerWord, 0);
  std::vector<int32_t> bias(panels * nr, 0);
  for (int64_t p = 0; p < panels; ++p)
    for (int64_t c = 0; c < nr && p * nr + c < n; ++c) {
      int64_t col = p * nr + c;
      int32_t sum = 0;
      for (int64_t kk = 0; kk < k; ++kk) {
        char v = (*w)[kk * n + col];
        sum += int8_t(v);
        wp[((p * words + kk / kPerWord) * nr + c) * kPerWord + kk % kPerWord] =
            v;
      }
      bias[p * nr + c] = q.integerInput ? sum : -128 * sum;
    }
  MLIRContext *ctx = q.op.getContext();
  std::string base = q.weights.getSymName().str();
  Packed result;
  result.weights =
      createConstantGlobal(q.weights,
                           base + (kPerWord == 4 ? "_vnni" : "_pairs"),
                           {panels, words, nr * kPerWord},
                           IntegerType::get(ctx, 8), wp);
  result.bias = createConstantGlobal(
      q.weights, base + "_colsum", {panels, nr}, IntegerType::get(ctx, 32),
      ArrayRef<char>(reinterpret_cast<const char *>(bias.data()),
                     bias.size() * sizeof(int32_t)));
  return result;
}

class Emitter {
public:
  Emitter(Int8Matmul q, Packed packed, DotLayout layout, int64_t nv,
          int64_t mr, bool fastDivide, bool computeScale, TileFusion &fusion)
      : q(q), packed(packed), layout(layout), nv(nv), nr(nv * layout.lanes),
        mr(mr), fastDivide(fastDivide), computeScale(computeScale),
        fusion(fusion) {}

  void emit(Operation *at) {
    OpBuilder b(at);
    Location loc = q.op.getLoc();
    i8 = b.getI8Type();
    i32 = b.getI32Type();
    f32 = b.getF32Type();
    v16i32 = VectorType::get({kLanes}, i32);
    v16f32 = VectorType::get({kLanes}, f32);
    accType = VectorType::get({layout.lanes}, i32);
    weightType = VectorType::get({layout.lanes * layout.kPerWord}, i8);
    words = (q.k + layout.kPerWord - 1) / layout.kPerWord;
    xw = memref::AllocOp::create(b, loc, MemRefType::get({q.m, words}, i32),
                                 b.getI64IntegerAttr(64));
    if (q.integerInput)
      emitCopyIntegers(b, loc);
    else
      emitQuantize(b, loc);
    wp = memref::GetGlobalOp::create(b, loc, packed.weights.getType(),
                                     packed.weights.getSymName());
    colBias = memref::GetGlobalOp::create(b, loc, packed.bias.getType(),
                                          packed.bias.getSymName());
    // Parallel over (panel, row tile): a conv with few output channels
    // (MobileNet's 16-64) has one or two panels, which ran on one thread.
    // Outlining splits the tiles too only when panels are few.
    int64_t panels = (q.n + nr - 1) / nr;
    int64_t tiles = (q.m + mr - 1) / mr;
    scf::ParallelOp::create(
        b, loc, ValueRange{cst(b, loc, 0), cst(b, loc, 0)},
        ValueRange{cst(b, loc, panels), cst(b, loc, tiles)},
        ValueRange{cst(b, loc, 1), cst(b, loc, 1)},
        [&](OpBuilder &pb, Location l, ValueRange ivs) {
          panel = ivs[0];
          nStart = arith::MulIOp::create(pb, l, panel, cst(pb, l, nr));
          columns.clear();
          for (int64_t v = 0; v < nv; ++v)
            columns.push_back(arith::AddIOp::create(
                pb, l, nStart, cst(pb, l, v * layout.lanes)));
          Value row = arith::MulIOp::create(pb, l, ivs[1], cst(pb, l, mr));
          // Masks only in the ragged last panel (the columns it has of
          // each vector), so full panels load and store C unmasked.
          emitRaggedBlock(
              pb, l, panel, q.n, nr, [&](OpBuilder &ob, int64_t width) {
                masks.assign(nv, Value());
                for (int64_t v = 0; v < nv && width < nr; ++v)
                  masks[v] = vector::CreateMaskOp::create(
                      ob, l, VectorType::get({layout.lanes}, ob.getI1Type()),
                      ArrayRef<OpFoldResult>{
                          ob.getIndexAttr(std::clamp<int64_t>(
                              width - v * layout.lanes, 0, layout.lanes))});
                emitRaggedBlock(ob, l, ivs[1], q.m, mr,
                                [&](OpBuilder &tb, int64_t rows) {
                                  emitTile(tb, l, row, rows);
                                });
              });
        });
  }

private:
  Int8Matmul q;
  Packed packed;
  DotLayout layout;
  int64_t nv, nr, mr;
  bool fastDivide, computeScale;
  TileFusion &fusion;
  Type i8, i32, f32;
  VectorType v16i32, v16f32, accType, weightType;
  int64_t words = 0;
  Value xw, wp, colBias, panel, nStart;
  SmallVector<Value> masks, columns;

  static Value cst(OpBuilder &b, Location loc, int64_t v) {
    return arith::ConstantIndexOp::create(b, loc, v);
  }
  Value splat(OpBuilder &b, Location loc, VectorType t, Attribute scalar) {
    return arith::ConstantOp::create(b, loc, t,
                                     DenseElementsAttr::get(t, scalar));
  }

  /// x / s rounded to nearest, as the division gives it, without the
  /// divider: q0 = x * r with r = RN(1 / s), then two corrections
  /// q' = q + r * (x - s * q) (fused, the residual exact). The first brings
  /// q0 (within 1.5 ulp) within 1 ulp, after which the second gives the
  /// correctly rounded quotient (Markstein's theorem), provided nothing
  /// under- or overflows: the caller takes this path only for rows with
  /// 2^-60 <= s <= 2^60, where that holds whenever |x / s| lies in
  /// [2^-2, 2^8]; outside that range only the rounded, clamped value
  /// counts, and both give 0 or +-127 there. An infinite x makes the
  /// residual NaN, where q0 (the division's infinity) is kept.
  Value quotient(OpBuilder &b, Location loc, Value x, Value scale,
                 Value recip) {
    if (!recip)
      return arith::DivFOp::create(b, loc, x, scale);
    Value q0 = arith::MulFOp::create(b, loc, x, recip);
    Value q = q0;
    for (int step = 0; step < 2; ++step) {
      Value e = math::FmaOp::create(b, loc, arith::NegFOp::create(b, loc, q),
                                    scale, x);
      q = math::FmaOp::create(b, loc, e, recip, q);
    }
    Value nan =
        arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UNO, q, q);
    return arith::SelectOp::create(b, loc, nan, q0, q);
  }

  /// kLanes u8 values (in i32 lanes) -> the words xw holds: 4 bytes, or
  /// 2 i16, per word.
  Value packWords(OpBuilder &b, Location loc, Value u8InI32) {
    int64_t bits = 32 / layout.kPerWord;
    Value narrow = arith::TruncIOp::create(
        b, loc, VectorType::get({kLanes}, b.getIntegerType(bits)), u8InI32);
    return vector::BitCastOp::create(
        b, loc, VectorType::get({kLanes / layout.kPerWord}, i32), narrow);
  }

  /// The mask of the words that hold the first `tail` of kLanes values.
  Value wordMask(OpBuilder &b, Location loc, int64_t tail) {
    return vector::ConstantMaskOp::create(
        b, loc, VectorType::get({kLanes / layout.kPerWord}, b.getI1Type()),
        ArrayRef<int64_t>{(tail + layout.kPerWord - 1) / layout.kPerWord});
  }

  Value wordIndex(OpBuilder &b, Location loc, Value k) {
    return arith::DivUIOp::create(b, loc, k, cst(b, loc, layout.kPerWord));
  }

  /// 16 activations -> 16 values u8(q + 128) -> packed words.
  Value quantizeWords(OpBuilder &b, Location loc, Value x, Value scale,
                      Value recip) {
    Value v = quotient(b, loc, x, scale, recip);
    v = math::RoundEvenOp::create(b, loc, v);
    v = arith::MaximumFOp::create(
        b, loc, v, splat(b, loc, v16f32, b.getF32FloatAttr(-127)));
    v = arith::MinimumFOp::create(
        b, loc, v, splat(b, loc, v16f32, b.getF32FloatAttr(127)));
    Value i = arith::FPToSIOp::create(b, loc, v16i32, v);
    i = arith::AddIOp::create(b, loc, i,
                              splat(b, loc, v16i32, b.getI32IntegerAttr(128)));
    return packWords(b, loc, i);
  }

  /// xw[row, :] from x[row, :] and its scale (`recip`: its reciprocal, for
  /// the division-free quotient, or null).
  void emitQuantizeRow(OpBuilder &pb, Location l, Value row, Value scale,
                       Value recip) {
    int64_t full = (q.k / kLanes) * kLanes, tail = q.k - full;
    if (full > 0)
      scf::ForOp::create(
          pb, l, cst(pb, l, 0), cst(pb, l, full), cst(pb, l, kLanes),
          ValueRange{}, [&](OpBuilder &kb, Location kl, Value kk, ValueRange) {
            Value x = vector::LoadOp::create(kb, kl, v16f32, q.x,
                                             ValueRange{row, kk});
            vector::StoreOp::create(kb, kl,
                                    quantizeWords(kb, kl, x, scale, recip), xw,
                                    ValueRange{row, wordIndex(kb, kl, kk)});
            scf::YieldOp::create(kb, kl);
          });
    if (tail > 0) {
      Value xMask = vector::ConstantMaskOp::create(
          pb, l, VectorType::get({kLanes}, pb.getI1Type()),
          ArrayRef<int64_t>{tail});
      Value x = vector::MaskedLoadOp::create(
          pb, l, v16f32, q.x, ValueRange{row, cst(pb, l, full)}, xMask,
          splat(pb, l, v16f32, pb.getF32FloatAttr(0)));
      vector::MaskedStoreOp::create(
          pb, l, xw, ValueRange{row, cst(pb, l, full / layout.kPerWord)},
          wordMask(pb, l, tail), quantizeWords(pb, l, x, scale, recip));
    }
  }

  /// s_x[row] = amax == 0 ? 1 : amax / 127, amax = max_k |x[row, k]| with
  /// four independent running maxima; stored for the rescale and returned.
  Value emitRowScale(OpBuilder &b, Location loc, Value row) {
    constexpr int64_t ways = 4;
    int64_t step = ways * kLanes, wide = (q.k / step) * step,
            full = (q.k / kLanes) * kLanes, tail = q.k - full;
    Value zero = splat(b, loc, v16f32, b.getF32FloatAttr(0));
    auto absAt = [&](OpBuilder &ob, Location ol, Value k) -> Value {
      return math::AbsFOp::create(
          ob, ol,
          vector::LoadOp::create(ob, ol, v16f32, q.x, ValueRange{row, k}));
    };
    SmallVector<Value> maxima(ways, zero);
    if (wide > 0) {
      auto loop = scf::ForOp::create(
          b, loc, cst(b, loc, 0), cst(b, loc, wide), cst(b, loc, step), maxima,
          [&](OpBuilder &kb, Location kl, Value k, ValueRange acc) {
            SmallVector<Value> next;
            for (int64_t w = 0; w < ways; ++w)
              next.push_back(arith::MaximumFOp::create(
                  kb, kl, acc[w],
                  absAt(kb, kl,
                        arith::AddIOp::create(kb, kl, k,
                                              cst(kb, kl, w * kLanes)))));
            scf::YieldOp::create(kb, kl, next);
          });
      maxima.assign(loop.getResults().begin(), loop.getResults().end());
    }
    for (int64_t k = wide, w = 0; k < full; k += kLanes, ++w)
      maxima[w] = arith::MaximumFOp::create(b, loc, maxima[w],
                                            absAt(b, loc, cst(b, loc, k)));
    if (tail > 0) {
      Value mask = vector::ConstantMaskOp::create(
          b, loc, VectorType::get({kLanes}, b.getI1Type()),
          ArrayRef<int64_t>{tail});
      Value x = vector::MaskedLoadOp::create(
          b, loc, v16f32, q.x, ValueRange{row, cst(b, loc, full)}, mask, zero);
      maxima[ways - 1] = arith::MaximumFOp::create(
          b, loc, maxima[ways - 1], math::AbsFOp::create(b, loc, x));
    }
    Value m = arith::MaximumFOp::create(
        b, loc, arith::MaximumFOp::create(b, loc, maxima[0], maxima[1]),
        arith::MaximumFOp::create(b, loc, maxima[2], maxima[3]));
    Value amax = vector::ReductionOp::create(
        b, loc, vector::CombiningKind::MAXIMUMF, m);
    auto f32c = [&](double v) {
      return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(v));
    };
    Value isZero = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ,
                                         amax, f32c(0));
    Value s = arith::SelectOp::create(
        b, loc, isZero, f32c(1), arith::DivFOp::create(b, loc, amax, f32c(127)));
    memref::StoreOp::create(b, loc, s, q.sx, ValueRange{row});
    return s;
  }

  /// xw[m, :] for every row, in parallel; padding bytes hold 128 (x_q 0).
  /// With FMA (AVX-512), rows whose scale is in [2^-60, 2^60] divide by
  /// multiplying (see quotient), the others by the divider.
  void emitQuantize(OpBuilder &b, Location loc) {
    scf::ParallelOp::create(
        b, loc, ValueRange{cst(b, loc, 0)}, ValueRange{cst(b, loc, q.m)},
        ValueRange{cst(b, loc, 1)},
        [&](OpBuilder &pb, Location l, ValueRange ivs) {
          Value row = ivs[0];
          Value s =
              q.staticScale
                  ? arith::ConstantOp::create(
                        pb, l, pb.getF32FloatAttr(*q.staticScale))
                        .getResult()
              : computeScale
                  ? emitRowScale(pb, l, row)
                  : memref::LoadOp::create(pb, l, q.sx, ValueRange{row})
                        .getResult();
          Value scale = vector::BroadcastOp::create(pb, l, v16f32, s);
          if (!fastDivide) {
            emitQuantizeRow(pb, l, row, scale, Value());
            return;
          }
          auto f32c = [&](double v) {
            return arith::ConstantOp::create(pb, l, pb.getF32FloatAttr(v));
          };
          Value safe = arith::AndIOp::create(
              pb, l,
              arith::CmpFOp::create(pb, l, arith::CmpFPredicate::OGE, s,
                                    f32c(std::ldexp(1.0, -60))),
              arith::CmpFOp::create(pb, l, arith::CmpFPredicate::OLE, s,
                                    f32c(std::ldexp(1.0, 60))));
          scf::IfOp::create(
              pb, l, safe,
              [&](OpBuilder &tb, Location tl) {
                Value r = arith::DivFOp::create(tb, tl, f32c(1.0), s);
                emitQuantizeRow(tb, tl, row, scale,
                                vector::BroadcastOp::create(tb, tl, v16f32, r));
                scf::YieldOp::create(tb, tl);
              },
              [&](OpBuilder &eb, Location el) {
                emitQuantizeRow(eb, el, row, scale, Value());
                scf::YieldOp::create(eb, el);
              });
        });
  }

  /// Reinterprets an 8-bit value (scalar or vector) of x's or the zero
  /// point's type as signless (the buffers of unsigned tensors stay ui8).
  Value signless(OpBuilder &b, Location loc, Value v) {
    Type t = v.getType();
    auto vt = dyn_cast<VectorType>(t);
    Type element = vt ? vt.getElementType() : t;
    if (element.isSignlessInteger())
      return v;
    Type to = vt ? Type(VectorType::get(vt.getShape(), i8)) : Type(i8);
    return UnrealizedConversionCastOp::create(b, loc, to, v).getResult(0);
  }

  /// 16 integer activations (signless bytes) -> the u8 the dot product
  /// reads (signed ones +128, by flipping the top bit) -> packed words.
  Value integerWords(OpBuilder &b, Location loc, Value bytes) {
    if (!q.unsignedInput)
      bytes = arith::XOrIOp::create(
          b, loc, bytes,
          splat(b, loc, VectorType::get({kLanes}, i8),
                b.getI8IntegerAttr(-128)));
    return packWords(b, loc, arith::ExtUIOp::create(b, loc, v16i32, bytes));
  }

  /// xw[m, :] from integer activations: copied (u8) or shifted by +128
  /// (i8), 16 at a time; the K tail reads its bytes one by one (the rest
  /// of the word is 0, times zero-padded weights).
  void emitCopyIntegers(OpBuilder &b, Location loc) {
    Type xElement = cast<MemRefType>(q.x.getType()).getElementType();
    auto v16x = VectorType::get({kLanes}, xElement);
    int64_t full = (q.k / kLanes) * kLanes, tail = q.k - full;
    scf::ParallelOp::create(
        b, loc, ValueRange{cst(b, loc, 0)}, ValueRange{cst(b, loc, q.m)},
        ValueRange{cst(b, loc, 1)},
        [&](OpBuilder &pb, Location l, ValueRange ivs) {
          Value row = ivs[0];
          if (full > 0)
            scf::ForOp::create(
                pb, l, cst(pb, l, 0), cst(pb, l, full), cst(pb, l, kLanes),
                ValueRange{},
                [&](OpBuilder &kb, Location kl, Value kk, ValueRange) {
                  Value bytes = signless(
                      kb, kl,
                      vector::LoadOp::create(kb, kl, v16x, q.x,
                                             ValueRange{row, kk}));
                  vector::StoreOp::create(kb, kl, integerWords(kb, kl, bytes),
                                          xw,
                                          ValueRange{row, wordIndex(kb, kl, kk)});
                  scf::YieldOp::create(kb, kl);
                });
          if (tail > 0) {
            Value bytes = splat(pb, l, VectorType::get({kLanes}, i8),
                                pb.getI8IntegerAttr(q.unsignedInput ? 0 : -128));
            for (int64_t t = 0; t < tail; ++t) {
              Value v = signless(
                  pb, l,
                  memref::LoadOp::create(pb, l, q.x,
                                         ValueRange{row, cst(pb, l, full + t)}));
              bytes = vector::InsertOp::create(pb, l, v, bytes, t);
            }
            vector::MaskedStoreOp::create(
                pb, l, xw,
                ValueRange{row, cst(pb, l, full / layout.kPerWord)},
                wordMask(pb, l, tail), integerWords(pb, l, bytes));
          }
        });
  }

  /// The accumulators' start for integer activations: -(zp) * column sums,
  /// with zp + 128 for signed activations (stored +128); a splat of
  /// -(that offset) for `colsum * it`, or null when the offset is 0.
  Value negatedOffset(OpBuilder &b, Location loc) {
    Value off;
    if (q.zp) {
      Value z = signless(b, loc, memref::LoadOp::create(b, loc, q.zp));
      off = q.unsignedInput ? arith::ExtUIOp::create(b, loc, i32, z).getResult()
                            : arith::ExtSIOp::create(b, loc, i32, z).getResult();
      if (!q.unsignedInput)
        off = arith::AddIOp::create(
            b, loc, off, arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(128)));
    } else {
      int32_t offset = q.zpConstant + (q.unsignedInput ? 0 : 128);
      if (offset == 0)
        return Value();
      off = arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(offset));
    }
    Value neg = arith::SubIOp::create(
        b, loc, arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(0)), off);
    return vector::BroadcastOp::create(b, loc, accType, neg);
  }

  /// acc + the sums of the kPerWord products of each lane; `word` is the
  /// activation word broadcast to every lane, `w` the packed weight bytes.
  Value dot(OpBuilder &b, Location loc, Value acc, Value word, Value w) {
    if (layout.kind == DotLayout::Vnni)
      return LLVM::CallIntrinsicOp::create(
                 b, loc, accType,
                 b.getStringAttr("llvm.x86.avx512.vpdpbusd.512"),
                 ValueRange{acc, vector::BitCastOp::create(b, loc, weightType,
                                                           word),
                            w})
          .getResult(0);
    if (layout.kind == DotLayout::Pmaddwd) {
      auto pairs = VectorType::get({2 * layout.lanes}, b.getI16Type());
      const char *name = layout.lanes == 16 ? "llvm.x86.avx512.pmaddw.d.512"
                         : layout.lanes == 8 ? "llvm.x86.avx2.pmadd.wd"
                                             : "llvm.x86.sse2.pmadd.wd";
      Value products =
          LLVM::CallIntrinsicOp::create(
              b, loc, accType, b.getStringAttr(name),
              ValueRange{vector::BitCastOp::create(b, loc, pairs, word),
                         arith::ExtSIOp::create(b, loc, pairs, w)})
              .getResult(0);
      return arith::AddIOp::create(b, loc, acc, products);
    }
    return dot4Portable(b, loc, acc,
                        vector::BitCastOp::create(b, loc, weightType, word),
                        w);
  }

  /// acc + the sums of the four u8 x s8 products of each lane: widened to
  /// i16, pairs multiplied and added in i32, then the pairs of pairs.
  Value dot4Portable(OpBuilder &b, Location loc, Value acc, Value a,
                     Value w) {
    auto v64i16 = VectorType::get({4 * kLanes}, b.getI16Type());
    auto v32i32 = VectorType::get({2 * kLanes}, i32);
    Value a16 = arith::ExtUIOp::create(b, loc, v64i16, a);
    Value w16 = arith::ExtSIOp::create(b, loc, v64i16, w);
    SmallVector<int64_t> even, odd;
    for (int64_t i = 0; i < 2 * kLanes; ++i) {
      even.push_back(2 * i);
      odd.push_back(2 * i + 1);
    }
    auto half = [&](Value v, ArrayRef<int64_t> idx, VectorType wide) -> Value {
      Value s = vector::ShuffleOp::create(b, loc, v, v, idx);
      return arith::ExtSIOp::create(b, loc, wide, s);
    };
    Value pairs = arith::AddIOp::create(
        b, loc,
        arith::MulIOp::create(b, loc, half(a16, even, v32i32),
                              half(w16, even, v32i32)),
        arith::MulIOp::create(b, loc, half(a16, odd, v32i32),
                              half(w16, odd, v32i32)));
    ArrayRef<int64_t> evenQ(even.data(), kLanes), oddQ(odd.data(), kLanes);
    Value quads4 = arith::AddIOp::create(
        b, loc, vector::ShuffleOp::create(b, loc, pairs, pairs, evenQ),
        vector::ShuffleOp::create(b, loc, pairs, pairs, oddQ));
    return arith::AddIOp::create(b, loc, acc, quads4);
  }

  /// `rows` rows from `row` times the panel's columns, over all of K.
  void emitTile(OpBuilder &b, Location loc, Value row, int64_t rows) {
    SmallVector<Value> rowValues;
    for (int64_t r = 0; r < rows; ++r)
      rowValues.push_back(arith::AddIOp::create(b, loc, row, cst(b, loc, r)));
    SmallVector<Value> init, bias;
    Value negOffset = q.integerInput ? negatedOffset(b, loc) : Value();
    for (int64_t v = 0; v < nv; ++v) {
      Value sums = vector::LoadOp::create(
          b, loc, accType, colBias,
          ValueRange{panel, cst(b, loc, v * layout.lanes)});
      if (q.integerInput)
        sums = negOffset ? arith::MulIOp::create(b, loc, sums, negOffset)
                               .getResult()
                         : splat(b, loc, accType, b.getI32IntegerAttr(0));
      bias.push_back(sums);
    }
    // Accumulators start at C's initial value (the fused fill, or C) minus
    // the +128 bias of the activations (integer activations: minus their
    // zero point, and the +128 of signed ones).
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t v = 0; v < nv; ++v) {
        SmallVector<Value> idx = {rowValues[r], columns[v]};
        Value c0;
        if (fusion.prologue)
          c0 = emitPrologue(b, loc, fusion, idx, accType);
        else if (masks[v])
          c0 = vector::MaskedLoadOp::create(
              b, loc, accType, q.c, idx, masks[v],
              splat(b, loc, accType, b.getI32IntegerAttr(0)));
        else
          c0 = vector::LoadOp::create(b, loc, accType, q.c, idx);
        init.push_back(arith::AddIOp::create(b, loc, c0, bias[v]));
      }
    auto loop = scf::ForOp::create(
        b, loc, cst(b, loc, 0), cst(b, loc, words), cst(b, loc, 1), init,
        [&](OpBuilder &kb, Location kl, Value kw, ValueRange acc) {
          SmallVector<Value> w;
          for (int64_t v = 0; v < nv; ++v)
            w.push_back(vector::LoadOp::create(
                kb, kl, weightType, wp,
                ValueRange{panel, kw,
                           cst(kb, kl, v * layout.kPerWord * layout.lanes)}));
          int64_t stepBytes = nv * layout.kPerWord * layout.lanes;
          prefetchAhead(kb, kl, wp, {panel, kw, cst(kb, kl, 0)}, 1, stepBytes,
                        stepBytes);
          SmallVector<Value> next;
          for (int64_t r = 0; r < rows; ++r) {
            Value word = vector::BroadcastOp::create(
                kb, kl, accType,
                memref::LoadOp::create(kb, kl, xw,
                                       ValueRange{rowValues[r], kw}));
            for (int64_t v = 0; v < nv; ++v)
              next.push_back(dot(kb, kl, acc[r * nv + v], word, w[v]));
          }
          scf::YieldOp::create(kb, kl, next);
        });
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t v = 0; v < nv; ++v) {
        SmallVector<Value> idx = {rowValues[r], columns[v]};
        Value acc = loop.getResult(r * nv + v);
        if (!fusion.epilogue || fusion.storeY)
          storeVector(b, loc, acc, q.c, idx, masks[v]);
        if (fusion.epilogue)
          storeVector(b, loc,
                      emitEpilogue(b, loc, fusion, idx, acc, masks[v]),
                      fusion.epilogueOut, idx, masks[v]);
      }
  }
};

} // namespace

bool mlir::kiln::lowerInt8Matmul(
    linalg::GenericOp op, const CpuTarget &target,
    SmallVectorImpl<memref::GlobalOp> &packedSources,
    std::string *description) {
  std::optional<Int8Matmul> q = match(op);
  if (!q)
    return false;
  // VNNI: 4 vectors of 16 columns by 6 rows = 24 accumulators, 4 weight
  // vectors and a broadcast in 32 registers. pmaddwd: also a register for
  // each product before it is added; 6 x 2 fills AVX2's 16. The portable
  // widening path needs registers for its temporaries.
  DotLayout layout;
  int64_t nv = 2, mr = target.vectorRegisters >= 32 ? 4 : 2;
  if (target.hasVnni && target.vectorBits >= 512) {
    layout = {DotLayout::Vnni, 16, 4};
    nv = 4;
    mr = 6;
  } else if (target.pmaddwdBits >= 128) {
    layout = {DotLayout::Pmaddwd, target.pmaddwdBits / 32, 2};
    nv = target.vectorRegisters >= 32 ? 4 : 2;
    mr = 6;
  }
  mr = std::min(mr, q->m);
  Packed packed = pack(*q, nv * layout.lanes, layout.kPerWord);
  if (!packed.weights)
    return false;
  // The fill of C (prologue); the rescale (an f32 epilogue, which
  // findTileFusion does not take as C is i32) unless an i32 epilogue was
  // found.
  TileFusion fusion = findTileFusion(op, q->c, {1});
  bool rescale = !fusion.epilogue && findRescale(*q, fusion);
  Operation *at = rescale ? fusion.epilogue.getOperation() : op.getOperation();
  // One pass over K per tile: blocking K to fit L1 (64-128 quads, the
  // accumulators stored and reloaded between blocks) measured 4-6% slower
  // on the AVX-512 host at 1024^3 (the panel streams from L2 fast enough).
  // AVX-512 has FMA, which the division-free quantization needs.
  bool fastDivide = target.vectorBits >= 512;
  std::optional<RowScale> rowScale =
      q->sx && !q->integerInput ? matchRowScale(*q, at) : std::nullopt;
  Emitter(*q, packed, layout, nv, mr, fastDivide, rowScale.has_value(),
          fusion)
      .emit(at);
  if (rowScale) {
    rowScale->scale.erase();
    rowScale->reduce.erase();
    rowScale->fill.erase();
    if (rowScale->amax != q->sx) {
      auto alloc = rowScale->amax.getDefiningOp<memref::AllocOp>();
      for (Operation *u : llvm::make_early_inc_range(alloc->getUsers()))
        u->erase(); // deallocs
      alloc.erase();
    }
  }
  if (description)
    *description =
        (Twine("int8 matmul M ") + Twine(q->m) + " N " + Twine(q->n) + " K " +
         Twine(q->k) + ", " +
         (layout.kind == DotLayout::Vnni      ? "vpdpbusd"
          : layout.kind == DotLayout::Pmaddwd ? "pmaddwd on i16 pairs"
                                              : "widening i8 dot") +
         (q->integerInput
              ? (q->unsignedInput ? ", u8 activations" : ", i8 activations") +
                    (q->zp ? Twine(" with a run-time zero point")
                     : q->zpConstant
                         ? " with zero point " + Twine(q->zpConstant)
                         : Twine(""))
          : q->staticScale ? ", activations quantized with a static scale"
                           : ", activations quantized per row") +
         ", weights packed " + Twine(layout.kPerWord) +
         " k per lane, tile " + Twine(mr) + "x" + Twine(nv * layout.lanes) +
         (rowScale ? ", row scales computed in the quantization pass" : "") +
         describeFusion(fusion))
            .str();
  packedSources.push_back(q->weights);
  Value c = q->c;
  eraseLowered(op, fusion);
  if (auto alloc = c.getDefiningOp<memref::AllocOp>()) {
    SmallVector<Operation *> users(alloc->getUsers());
    bool onlyDeallocs = llvm::all_of(
        users, [](Operation *u) { return isa<memref::DeallocOp>(u); });
    if (onlyDeallocs) {
      for (Operation *u : users)
        u->erase();
      alloc.erase();
    }
  }
  return true;
}
