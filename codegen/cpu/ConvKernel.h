//===- ConvKernel.h - the two f32 NCHW convolution kernels -------*- C++ -*-===//
//
// Part of kiln. A matched f32 NCHW 2-D convolution (ConvKernel.cpp) and its
// two kernels: vectors over output columns (ConvKernel.cpp) and vectors over
// output channels (ConvChannelKernel.cpp). lowerConv2D picks one.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_CODEGEN_CPU_CONVKERNEL_H
#define KILN_CODEGEN_CPU_CONVKERNEL_H

#include "codegen/cpu/ContractionUtils.h"

namespace mlir::kiln {

/// A conv generic Y[n, f, oh, ow] += X[n, c, oh*s + kh*d, ow*s + kw*d] *
/// W[f, c, kh, kw] on buffers, X already padded.
struct Conv {
  Value x, w, y;
  unsigned n, f, oh, ow, c, kh, kw; // loop dims
  int64_t batch, channelsOut, rows, cols, channelsIn, kernelH, kernelW;
  int64_t strideH, strideW, dilationH, dilationW;
  bool flattened = false; // 1x1, stride 1, unpadded: rows folded into cols
  // x split into column phases ([N, C, H, S, W / S], strideW = S): tap kw
  // reads phase (kw * dilationW) % S from column (kw * dilationW) / S on.
  bool phased = false;
};

std::optional<Conv> matchConv(linalg::GenericOp op);

/// "conv2d FxCxKHxKW stride S -> NxFxOHxOW", for `kiln compile --report`.
std::string describeConvShape(const Conv &cv);

/// W[f][c][kh][kw] packed at compile time as [F/tile][C][KH][KW][tile]
/// (zero-padded: the `tile` output channels of one kernel tile are
/// contiguous per tap), read through a memref.get_global built at `b`; the
/// unpacked global goes to `sources`. Null when W cannot be read. With
/// `pairs`: [F/tile][ceil(C/2)][KH][KW][tile] i32 words of two bf16, input
/// channels 2c (low half) and 2c + 1 (high half), for vdpbf16ps.
Value packedConvWeights(OpBuilder &b, Location loc, const Conv &cv,
                        int64_t tile,
                        SmallVectorImpl<memref::GlobalOp> &sources,
                        bool pairs = false);

/// The kernel with vectors over output channels (an implicit GEMM: pixels
/// x channels x taps); erases `op` on success. With `pairs` (512-bit
/// AVX512_BF16) it multiplies bf16 pairs of input channels with vdpbf16ps.
bool lowerConvChannelVectors(linalg::GenericOp op, const Conv &cv,
                             const CpuTarget &target, bool pairs,
                             SmallVectorImpl<memref::GlobalOp> &sources,
                             std::string *description);

} // namespace mlir::kiln

#endif // KILN_CODEGEN_CPU_CONVKERNEL_H
