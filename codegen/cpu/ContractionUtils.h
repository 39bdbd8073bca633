//===- ContractionUtils.h - shared pieces of the CPU kernels ------*- C++ -*-===//
//
// Part of kiln. Matching and constant-packing helpers shared by the matmul
// (LowerContractions.cpp) and convolution (ConvKernel.cpp) kernels.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_CODEGEN_CPU_CONTRACTIONUTILS_H
#define KILN_CODEGEN_CPU_CONTRACTIONUTILS_H

#include "codegen/cpu/KernelConfig.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

#include <optional>
#include <string>
#include <vector>

namespace mlir::kiln {

/// The body is `out + in0 * in1` in f32 (either operand order).
bool isMultiplyAccumulate(linalg::GenericOp op);

/// The f32 values of a constant global, or nullopt.
std::optional<std::vector<float>> readF32Global(memref::GlobalOp global);

/// The raw bytes (row-major) of a constant global whose elements are whole
/// bytes wide, or nullopt.
std::optional<std::vector<char>> readGlobalBytes(memref::GlobalOp global);

/// The stored bytes of a dense or dense-resource constant (a splat's one
/// element), without copying; nullopt for other attributes.
std::optional<ArrayRef<char>> constantRawBytes(Attribute value);

/// The constant global `value` reads (through memref.get_global and
/// reshapes of it), or null.
memref::GlobalOp constantGlobalOf(Value value);

/// (stride, dilation) when `e` is exactly `outer * stride + inner *
/// dilation` over loop dims `outer` and `inner` of a `numDims`-loop map.
std::optional<std::pair<int64_t, int64_t>>
stridedWindowCoefficients(AffineExpr e, unsigned outer, unsigned inner,
                          unsigned numDims);

/// The loop dim of `map`'s result `result`, if it is a plain dim.
std::optional<unsigned> resultDim(AffineMap map, unsigned result);

/// A static, identity-layout f32 memref of rank `rank`.
bool isIdentityF32(Value v, int64_t rank);

/// `lanes` elements of `base` from `idx` along the last dim, `stride`
/// apart; only the first `valid` are real (the rest read as 0 and nothing
/// past the last real element is touched). Stride 1 is a (masked) load,
/// stride 2 one masked wide load and a lane shuffle, larger strides a
/// masked gather.
Value loadStridedColumns(OpBuilder &b, Location loc, Value base,
                         ValueRange idx, int64_t lanes, int64_t stride,
                         int64_t valid);

/// Stores `value` into `base` at `idx`: masked by `mask` when it is set
/// (a ragged last tile), else a plain store.
void storeVector(OpBuilder &b, Location loc, Value value, Value base,
                 ValueRange idx, Value mask);

/// Emits `body` for the tiles of `size` of [0, extent): the full ones in an
/// scf.for (body gets the tile's start and `size`), then the remainder
/// once with its own static size.
void emitTiles(OpBuilder &b, Location loc, int64_t extent, int64_t size,
               llvm::function_ref<void(OpBuilder &, Value, int64_t)> body);

/// Emits `body` for block `block` (a run-time index) of the blocks of
/// `size` of [0, extent), with that block's static size: `size`, or the
/// ragged last block's (an scf.if on `block` when both occur).
void emitRaggedBlock(OpBuilder &b, Location loc, Value block, int64_t extent,
                     int64_t size,
                     llvm::function_ref<void(OpBuilder &, int64_t)> body);

/// Runs `then` or `otherwise` depending on `cond` (an scf.if whose
/// branches yield nothing).
void emitIfElse(OpBuilder &b, Location loc, Value cond,
                llvm::function_ref<void(OpBuilder &)> then,
                llvm::function_ref<void(OpBuilder &)> otherwise);

/// An scf.if yielding `types`: the values `then` builds when `cond` holds,
/// else the ones `otherwise` builds.
SmallVector<Value>
emitSelect(OpBuilder &b, Location loc, Value cond, TypeRange types,
           llvm::function_ref<SmallVector<Value>(OpBuilder &)> then,
           llvm::function_ref<SmallVector<Value>(OpBuilder &)> otherwise);

/// The bf16 bits of `v`, rounded to nearest even (as vcvtne2ps2bf16).
uint16_t bf16Bits(float v);

/// How far ahead a kernel prefetches the packed weights it streams. In a
/// model the weights come from memory (ResNet-50's 100 MB do not stay in
/// L3 between runs) and the hardware prefetchers, which stop at page
/// boundaries, leave the first pass over them latency-bound. Measured on
/// Zen 5, ResNet-50 1 thread: 35.5 ms without, 34.5 / 33.8 / 33.0 / 33.3
/// ms at 2 / 4 / 8 / 16 KiB.
constexpr int64_t kWeightPrefetchBytes = 8192;

/// Prefetches, one per 64-byte line, the `bytes` of `buffer` from
/// `indices` along its (contiguous) last dim, for reading or (`isWrite`)
/// for writing. A prefetch never faults: past the buffer's end it is a
/// no-op.
void prefetchLines(OpBuilder &b, Location loc, Value buffer,
                   ArrayRef<Value> indices, int64_t bytes, bool isWrite);

/// prefetchLines for reading, with `indices[stepDim]` moved
/// kWeightPrefetchBytes ahead in a stream that reads `bytesPerStep` bytes
/// per step of that dim.
void prefetchAhead(OpBuilder &b, Location loc, Value buffer,
                   ArrayRef<Value> indices, unsigned stepDim,
                   int64_t bytesPerStep, int64_t bytes);

/// bf16 pair kernels (AVX512_BF16, 512-bit): vector<32xbf16> `lo` and
/// `hi`'s 16 floats each rounded to bf16, lo in lanes 0-15, hi in 16-31
/// (vcvtne2ps2bf16).
Value emitBf16Convert(OpBuilder &b, Location loc, Value lo, Value hi);
/// acc (vector<16xf32>) + the pair products of two vector<32xbf16>
/// (vdpbf16ps: lane i adds a[2i] * b[2i] + a[2i+1] * b[2i+1]).
Value emitBf16Dot(OpBuilder &b, Location loc, Value acc, Value a, Value b2);
/// An i32 word of two bf16 broadcast to vector<32xbf16>.
Value broadcastBf16Pair(OpBuilder &b, Location loc, Value word);
/// Each of `rows` (vector<N x f32>) as N / 16 vector<16xf32> slices, row
/// by row; joinSlices reassembles `rows.size()` vectors shaped like
/// `like` from such slices.
SmallVector<Value> splitSlices(OpBuilder &b, Location loc, ValueRange rows);
SmallVector<Value> joinSlices(OpBuilder &b, Location loc, ValueRange slices,
                              ValueRange like);

/// A new private constant f32 global next to `near`, 64-byte aligned,
/// holding `data` (row-major, `shape`); the name is made unique.
memref::GlobalOp createConstantGlobal(memref::GlobalOp near, StringRef name,
                                      ArrayRef<int64_t> shape,
                                      ArrayRef<float> data);
/// The same for any element type, from raw row-major bytes.
memref::GlobalOp createConstantGlobal(memref::GlobalOp near, StringRef name,
                                      ArrayRef<int64_t> shape, Type element,
                                      ArrayRef<char> bytes);

/// Elementwise neighbours of a contraction writing Y that its kernel
/// absorbs (TileFusion.cpp): the op before it that fills Y from per-row
/// scalars (zeros, a broadcast bias) and the op after it that reads Y
/// elementwise (bias, activation, residual add). Loop dims of both are Y's
/// dims; `vectorDims` are the Y dims a kernel vector spans (the last one,
/// or the last two for a flattened 1x1 conv).
struct TileFusion {
  struct Operand {
    /// Strided: the (single) vector dim indexes a dim of the operand
    /// other than its last, so lanes are gathered at a fixed stride (an
    /// elementwise op reading a transposed tensor).
    enum Kind { Scalar, Vector, Accumulator, Strided };
    Value value;
    AffineMap map;
    Kind kind;
  };
  linalg::GenericOp prologue, epilogue;
  SmallVector<Operand> prologueOperands, epilogueOperands;
  Value epilogueOut;
  bool storeY = true; // Y is still read after the epilogue
  unsigned rank = 0;
  SmallVector<int64_t> yShape;
  SmallVector<unsigned> vectorDims;
};

TileFusion findTileFusion(linalg::GenericOp contraction, Value y,
                          ArrayRef<unsigned> vectorDims);

/// The prologue's value for the tile starting at Y index `yIndex`.
Value emitPrologue(OpBuilder &b, Location loc, const TileFusion &f,
                   ArrayRef<Value> yIndex, VectorType vecType);

/// The epilogue applied to accumulator `acc` of the tile at `yIndex`.
Value emitEpilogue(OpBuilder &b, Location loc, const TileFusion &f,
                   ArrayRef<Value> yIndex, Value acc, Value mask);

/// " + fill + epilogue(addf, maximumf)": what a kernel absorbed, for
/// `kiln compile --report`.
std::string describeFusion(const TileFusion &f);

/// Erases the absorbed ops (after the kernel is emitted).
void eraseFused(TileFusion &f);

/// Erases a lowered contraction `op`, the ops its kernel absorbed, and the
/// memref.get_global ops of its operands that nothing else reads now.
void eraseLowered(Operation *op, TileFusion &f);

// Building blocks of TileFusion, shared with the elementwise vectorizer.
/// The generic's body is scalar arith/math computing from its inputs only.
bool hasVectorizableBody(linalg::GenericOp op);
/// How an operand is read per tile (nullopt: not per tile-able); an operand
/// equal to `y` with the identity map is the Accumulator.
std::optional<TileFusion::Operand::Kind>
classifyTileOperand(Value operand, AffineMap map, Value y,
                    const TileFusion &f);
/// The allocation or argument a memref view chain starts from.
Value baseBuffer(Value v);
/// The operand's value for the tile at Y index `yIndex` (a splat scalar or
/// a vector, masked when `mask` is set); `acc` for the Accumulator.
Value readTileOperand(OpBuilder &b, Location loc, const TileFusion &f,
                      const TileFusion::Operand &o, ArrayRef<Value> yIndex,
                      VectorType vecType, Value mask, Value acc);
/// `op`'s body applied lane-wise to vector operands.
Value vectorizeBody(OpBuilder &b, Location loc, linalg::GenericOp op,
                    ArrayRef<Value> inputs, int64_t lanes);

/// The body applied to several independent sets of operand vectors, op by
/// op interleaved so that their dependency chains overlap in the core.
SmallVector<Value> vectorizeBodies(OpBuilder &b, Location loc,
                                   linalg::GenericOp op,
                                   ArrayRef<SmallVector<Value>> inputs,
                                   int64_t lanes);

/// Rewrites an all-parallel elementwise generic on buffers whose operands
/// are contiguous (or constant) along the last dim into vector loops;
/// false when it does not apply.
bool vectorizeElementwise(linalg::GenericOp op, const CpuTarget &target);

/// The output type of an all-parallel generic on buffers with one
/// identity-mapped, static, identity-layout output and a body the
/// vectorizers handle; null otherwise.
MemRefType elementwiseOutputType(linalg::GenericOp op);

/// The same for an elementwise op that reads one operand transposed (its
/// last dim is an outer output dim, the output's last dim one of its outer
/// dims): blocks of it are loaded along its last dim and transposed in
/// registers (VectorizeTranspose.cpp); false when it does not apply.
bool vectorizeTransposedElementwise(linalg::GenericOp op,
                                    const CpuTarget &target);

/// Rewrites an f32 generic reducing its last loop with add/max/min
/// (softmax, norms) into vector partial reductions; false when it does not
/// apply.
bool vectorizeReduction(linalg::GenericOp op, const CpuTarget &target);

/// Rewrites a pooling generic (an f32 arith body folding windows of its
/// first input, read 1 or 2 columns apart, into an output whose last dim
/// is the innermost loop) into vector loops over the output's columns;
/// false when it does not apply.
bool vectorizeWindowReduction(linalg::GenericOp op, const CpuTarget &target);

/// Lowers an f32 NCHW 2-D convolution generic (constant weights, group 1)
/// to a register-tiled vector kernel; returns false (IR untouched) when
/// `op` is not one. Erases `op` on success; `packedSources` collects the
/// weight globals that may now be dead.
bool lowerConv2D(linalg::GenericOp op, const CpuTarget &target,
                 const KernelChoiceOptions &choice,
                 SmallVectorImpl<memref::GlobalOp> &packedSources,
                 std::string *description = nullptr);

/// Lowers the linalg.generic of a kiln.quantized_matmul (marked with
/// kQuantizedMatmulAttr) with constant weights, scales and zero points to
/// a vector kernel over weights packed at compile time (two 4-bit values
/// per byte); false (IR untouched) when it does not apply.
bool lowerQuantizedMatmul(linalg::GenericOp op, const CpuTarget &target,
                          SmallVectorImpl<memref::GlobalOp> &packedSources,
                          std::string *description = nullptr);

/// Lowers the i32 contraction generic of a kiln.dynamic_quantized_matmul
/// (marked with kInt8MatmulAttr, constant int8 weights) and the rescale
/// after it to an int8 GEMM (Int8MatmulKernel.cpp): activations quantized
/// once per row, weights packed at compile time for vpdpbusd (or its
/// widening emulation without VNNI); false (IR untouched) when it does not
/// apply. The contraction of a kiln.integer_matmul (kIntegerMatmulAttr:
/// activations already 8-bit, with a zero point) takes the same kernel,
/// with whatever elementwise op reads its result as the epilogue.
bool lowerInt8Matmul(linalg::GenericOp op, const CpuTarget &target,
                     SmallVectorImpl<memref::GlobalOp> &packedSources,
                     std::string *description = nullptr);

/// Winograd's input or output transform (a generic marked kiln.winograd by
/// the lowering) as vector code; false when `op` is not one.
bool lowerWinogradTransform(linalg::GenericOp op, std::string *description);

/// Lowers an f32 depthwise convolution generic (grouped conv with one
/// input and one output channel per group, constant weights) to a vector
/// kernel over rows x columns of each channel; false when `op` is not one.
/// A zero-padded input copy is read from its source instead.
bool lowerDepthwiseConv(linalg::GenericOp op, const CpuTarget &target,
                        std::string *description = nullptr);

/// A buffer that is zero except for an interior copied from `source`
/// (FillPadBorders' form of a zero tensor.pad), read by one op.
struct ZeroPaddedCopy {
  Value source;                 ///< identity layout, the interior's shape
  SmallVector<int64_t> offsets; ///< of the interior (the low padding)
  memref::AllocOp alloc;        ///< the padded buffer
  SmallVector<Operation *> ops; ///< its fills, the copy and their subviews
};

/// The padded copy `reader` reads as `padded`, when the padded buffer has no
/// other use and `source` is not written between the copy and `reader`.
std::optional<ZeroPaddedCopy> matchZeroPaddedCopy(Value padded,
                                                  Operation *reader);

/// Erases the fills, the copy and the buffer once the reader reads the
/// source instead (and is gone).
void eraseZeroPaddedCopy(ZeroPaddedCopy &p);

} // namespace mlir::kiln

#endif // KILN_CODEGEN_CPU_CONTRACTIONUTILS_H
