//===- Lowering.h - shared helpers of the kiln -> linalg lowering -*- C++
//-*-===//
//
// Part of kiln. Internal to codegen/KilnToLinalg: the helpers every op
// family uses (broadcasting maps, scalar constants, reshapes, empty and
// filled tensors) and the functions that add each family's patterns.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_CODEGEN_KILNTOLINALG_LOWERING_H
#define KILN_CODEGEN_KILNTOLINALG_LOWERING_H

#include "dialects/Kiln/KilnAttrs.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Utils/StructuredOpsUtils.h"
#include "mlir/IR/AffineMap.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/Transforms/DialectConversion.h"
#include "llvm/ADT/STLFunctionalExtras.h"

#include <optional>
#include <vector>

namespace mlir::kiln::lowering {

/// Body callback of an elementwise generic: receives the scalar operands
/// (one per input, in order) and returns the scalar result.
using ScalarFn = llvm::function_ref<Value(OpBuilder &, Location, ValueRange)>;

/// The indexing map that reads an operand of shape `operand` inside a loop
/// nest over `result` with numpy broadcasting: dims are right-aligned and a
/// size-1 operand dim that broadcasts against a larger result dim maps to
/// the constant 0.
AffineMap broadcastMap(ArrayRef<int64_t> operand, ArrayRef<int64_t> result,
                       MLIRContext *context);

/// `n` parallel iterators.
SmallVector<utils::IteratorType> parallelIterators(unsigned n);

/// A scalar constant of `type` (float or integer, unsigned ones through
/// fromSignless) holding `value`.
Value scalarConstant(OpBuilder &b, Location loc, Type type, double value);

/// The signless integer type of `type`'s width for unsigned integer types
/// (arith ops want signless operands), else `type`.
Type signlessType(Type type);

/// Reinterprets a scalar of unsigned integer type as its signless type (an
/// unrealized_conversion_cast that the LLVM lowering folds away, as both
/// become the same LLVM integer); other values are returned unchanged.
Value toSignless(OpBuilder &b, Location loc, Value value);

/// The inverse of toSignless: reinterprets `value` as type `to` (no-op when
/// the types match).
Value fromSignless(OpBuilder &b, Location loc, Value value, Type to);

/// The identity of max: -inf for floats, the signed minimum for integers
/// (false for i1, 0 for unsigned integers).
Value lowestValue(OpBuilder &b, Location loc, Type type);

/// Type reductions and contractions accumulate in: f32 for floats narrower
/// than 32 bits, the element type otherwise.
Type accumulatorType(Type element);

/// Converts a scalar between element types with kiln.cast semantics
/// (ext/trunc for floats, sitofp/fptosi, extsi/trunci, i1 -> uitofp/extui,
/// anything -> i1 as `!= 0`; unsigned integers use uitofp/fptoui/extui;
/// 8- and 4-bit floats go through f32, saturating when converted to unless
/// `saturate` is false; `roundMode` is kiln.cast's, for f8E8M0FNU).
Value convertScalar(OpBuilder &b, Location loc, Value value, Type to,
                    bool saturate = true, StringRef roundMode = "up");

/// Whether `type` is a float LLVM cannot compute in (f8E4M3FN, f8E5M2,
/// f8E4M3FNUZ, f8E5M2FNUZ, f8E8M0FNU, f4E2M1FN); SmallFloats.cpp.
bool isSmallFloat(Type type);
/// The (exact) f32 value of a small-float scalar.
Value smallFloatToF32(OpBuilder &b, Location loc, Value value);
/// An f32 scalar rounded to nearest even into small-float type `to`; out of
/// range it becomes the largest finite value with `saturate`, else infinity
/// (E5M2) or NaN (E2M1 always saturates). f8E8M0FNU rounds the exponent of
/// |x| up, down or to nearest as `roundMode` says.
Value f32ToSmallFloat(OpBuilder &b, Location loc, Value value, Type to,
                      bool saturate, StringRef roundMode = "up");

/// `tensor.empty` of a static shape.
Value emptyTensor(OpBuilder &b, Location loc, ArrayRef<int64_t> shape,
                  Type element);

/// `linalg.fill` of a fresh tensor with `value`.
Value filledTensor(OpBuilder &b, Location loc, ArrayRef<int64_t> shape,
                   Value value);

/// One `linalg.generic` over `resultType`'s shape reading `inputs` with
/// broadcasting maps and computing each element with `body`.
Value buildElementwise(OpBuilder &b, Location loc, RankedTensorType resultType,
                       ValueRange inputs, ScalarFn body);

/// Reshapes `value` (row-major) to `target`: one collapse_shape or
/// expand_shape when a reassociation exists, else collapse to 1-D and
/// expand to the target.
Value reshapeTo(OpBuilder &b, Location loc, Value value,
                RankedTensorType target);

/// Combiner of a reduction: receives the scalar inputs (one per input, in
/// order) and the accumulator, returns the new accumulator.
using CombineFn =
    llvm::function_ref<Value(OpBuilder &, Location, ValueRange, Value)>;

/// The map from a loop nest of `rank` dims to the dims not in `axes`
/// (sorted): the indexing map of a reduced tensor without kept unit dims.
AffineMap keptDimsMap(unsigned rank, ArrayRef<int64_t> axes,
                      MLIRContext *context);

/// Shape of `shape` without the dims in `axes` (sorted).
SmallVector<int64_t> dropAxes(ArrayRef<int64_t> shape, ArrayRef<int64_t> axes);

/// A linalg.generic reducing over `axes` (sorted, non-empty). `inputs[0]`
/// has the full shape and is read with the identity map; the other inputs
/// have the reduced shape and are read with keptDimsMap. The result has the
/// reduced shape (no unit dims) and starts at the scalar `init`, whose type
/// is the result element type.
Value buildReduction(OpBuilder &b, Location loc, ValueRange inputs,
                     ArrayRef<int64_t> axes, Value init, CombineFn combine);

/// `tensor.pad` with a constant padding value; `low`/`high` per dim.
Value padTensor(OpBuilder &b, Location loc, Value value, ArrayRef<int64_t> low,
                ArrayRef<int64_t> high, Value padValue);

/// The L-Mul product of two float scalars in `mode` (any float type, read
/// as f32), as arith ops on i32 (LMul.cpp); the result is f32. With
/// `prepared`, both operands come from prepareLMulOperand.
Value buildLMulProduct(OpBuilder &b, Location loc, Value x, Value y,
                       LMulAttr mode, bool prepared = false);

/// An f32 tensor of `tensor`'s elements rounded, saturated and flushed as
/// `mode` says (sign kept, NaN/Inf unchanged): L-Mul's operand step done
/// once per element rather than once per product of a contraction.
Value prepareLMulOperand(OpBuilder &b, Location loc, Value tensor,
                         LMulAttr mode);

/// The index value of a 0-d integer tensor (a run-time position or
/// length).
Value scalarIndex(OpBuilder &b, Location loc, Value tensor);

/// A ring's position tags (i64 [ring]) after rows [first, rows) of a call
/// at `position` land in it: tags[t % ring] = t, t = position + r (QJL's
/// recent keys, ThinK's observed queries).
Value tagRingSlots(OpBuilder &b, Location loc, Value tags, Value position,
                   int64_t first, int64_t rows, int64_t ring);

/// A vector<width> of f32 zeros with lane t = vec[indices[prefix..., t]]
/// for t < count (width >= count; `indices` an i64 tensor): ThinK's kept
/// channels of a query or a key row.
Value gatherLanes(OpBuilder &b, Location loc, Value vec, Value indices,
                  ValueRange prefix, int64_t count, int64_t width);

/// The attribute marking Winograd's transform generics for their CPU
/// kernels, and its two values.
constexpr llvm::StringLiteral kWinogradAttr = "kiln.winograd";
constexpr llvm::StringLiteral kWinogradInput = "input";
constexpr llvm::StringLiteral kWinogradOutput = "output";

/// Winograd F(m x m, 3x3): an alpha x alpha input tile (alpha = m + 2)
/// gives an m x m output tile. Lavin & Gray's matrices, row-major:
/// BT [alpha][alpha], G [alpha][3], AT [m][alpha]. Tile sizes 2 and 4.
struct WinogradMatrices {
  int64_t m, alpha;
  const double *bt, *g, *at;
  double btAt(int64_t r, int64_t c) const { return bt[r * alpha + c]; }
  double gAt(int64_t r, int64_t c) const { return g[r * 3 + c]; }
  double atAt(int64_t r, int64_t c) const { return at[r * alpha + c]; }
};
/// The matrices of F(m x m, 3x3); nullopt unless m is 2 or 4.
std::optional<WinogradMatrices> winogradMatrices(int64_t m);

/// U = G g G^T of constant 3x3 weights `weights` [F, C, 3, 3] as
/// [alpha^2, F, C], or nullopt when they are not readable f32 constants.
std::optional<std::vector<float>> winogradWeights(Attribute weights, int64_t f,
                                                  int64_t c,
                                                  const WinogradMatrices &wm);

/// A 3x3 stride-1 convolution of `input` [N, C, H, W] (padding [top, left,
/// bottom, right]) as Winograd F(m x m, 3x3) with transformed weights `u`
/// (winogradWeights), accumulated onto `init` [N, F, OH, OW] (the bias).
Value winogradConv2D(OpBuilder &b, Location loc, Value input, ArrayRef<float> u,
                     Value init, ArrayRef<int64_t> padding,
                     const WinogradMatrices &wm);

void populateElementwisePatterns(RewritePatternSet &patterns);
/// `columnPhases`: strided KxK convs read their input split into column
/// phases (see Conv2DLowering).
void populateMatMulConvPatterns(RewritePatternSet &patterns,
                                bool columnPhases = true);
/// kiln.attention (as kiln ops) and kiln.kv_append; Attention.cpp.
void populateAttentionPatterns(RewritePatternSet &patterns);
void populateQuantizedMatMulPatterns(RewritePatternSet &patterns);
/// KVThink.cpp: kiln.kv_think_observe and kiln.kv_think_prune.
void populateKVThinkPatterns(RewritePatternSet &patterns);

/// Discardable attribute (a #kiln.weight_quant) marking the linalg.generic
/// a kiln.quantized_matmul became (QuantizedMatMul.cpp).
inline constexpr llvm::StringLiteral kQuantizedMatmulAttr =
    "kiln.weight_quant";
/// Int8MatMul.cpp: kiln.dynamic_quantized_matmul and kiln.integer_matmul.
void populateInt8MatMulPatterns(RewritePatternSet &patterns);
/// Discardable unit attribute marking the i32 contraction generic a
/// kiln.dynamic_quantized_matmul became (Int8MatMul.cpp).
inline constexpr llvm::StringLiteral kInt8MatmulAttr = "kiln.int8_matmul";
/// Discardable attribute marking the i32 contraction generic a
/// kiln.integer_matmul became (Int8MatMul.cpp); its value, "unsigned" or
/// "signed", is the signedness of the 8-bit activations (the generic's
/// operands are signless).
inline constexpr llvm::StringLiteral kIntegerMatmulAttr =
    "kiln.integer_matmul";
/// Discardable i32 attribute beside kIntegerMatmulAttr: the activations'
/// zero point when it is a compile-time constant (subtracted as a constant
/// in the body, so no constant operand is left for elementwise fusion to
/// fold, which would drop both attributes).
inline constexpr llvm::StringLiteral kIntegerMatmulZeroPointAttr =
    "kiln.integer_matmul_zero_point";
/// The activations' zero point of an integer contraction: a splat
/// kiln.constant is folded into `constant`; anything else stays a 0-d
/// run-time operand (`runtime`, the converted value). None: 0.
struct IntegerZeroPoint {
  Value runtime;
  int64_t constant = 0;
};
IntegerZeroPoint integerZeroPoint(Value original, Value converted);
/// Inside a generic's body: the zero point as i32 (`runtimeArg`, the
/// block argument of zp.runtime, widened; or the constant), null when it
/// is 0 (nothing to subtract).
Value zeroPointI32(OpBuilder &b, Location loc, const IntegerZeroPoint &zp,
                   Value runtimeArg);
/// The i32 contraction y[m, n] = sum_k (x[m, k] - zp) * w[k, n] of 8-bit
/// activations x [M, K] (ui8 or i8) and i8 weights w [K, N], marked
/// kIntegerMatmulAttr for the CPU's int8 GEMM (Int8MatMul.cpp).
Value integerContraction(OpBuilder &b, Location loc, Value x, Value w,
                         IntegerZeroPoint zp);
/// Int8Conv.cpp: kiln.integer_conv2d as im2col rows times the weights.
void populateInt8ConvPatterns(RewritePatternSet &patterns);
void populatePoolingPatterns(RewritePatternSet &patterns);
void populateNormalizationPatterns(RewritePatternSet &patterns);
void populateReductionPatterns(RewritePatternSet &patterns);
void populateDataMovementPatterns(RewritePatternSet &patterns);
/// Math.cpp: float functions, sign, mod, bit_shift, xor.
void populateMathPatterns(RewritePatternSet &patterns);
/// IndexReductions.cpp: arg_max, arg_min, top_k.
void populateIndexReductionPatterns(RewritePatternSet &patterns);
/// Window.cpp: N-D conv, max_pool, avg_pool.
void populateWindowPatterns(RewritePatternSet &patterns);
/// Scatter.cpp: scatter_nd, cumulative.
void populateScatterPatterns(RewritePatternSet &patterns);
/// Sampling.cpp: grid_sample.
void populateSamplingPatterns(RewritePatternSet &patterns);

} // namespace mlir::kiln::lowering

#endif // KILN_CODEGEN_KILNTOLINALG_LOWERING_H
