//===- KilnOpsNN.h - helpers of the kiln N-D window ops -----------*- C++ -*-===//
//
// Part of kiln. Shape arithmetic shared by the N-D window ops' type
// inference (KilnOpsNN.cpp), their lowering and the ONNX importer, and the
// integer conv's weight layout (importer and FoldQDQ).
//
//===----------------------------------------------------------------------===//

#ifndef KILN_DIALECTS_KILN_KILNOPSNN_H
#define KILN_DIALECTS_KILN_KILNOPSNN_H

#include <cstdint>

namespace mlir::kiln {

/// Output length of one spatial dim of a window op: floor((in + padBegin +
/// padEnd - effective) / stride) + 1 with effective = (kernel - 1) *
/// dilation + 1. With `ceilMode` the division rounds up, unless the last
/// window would then start past the input and its begin padding (ONNX's
/// rule). Returns <= 0 when the window does not fit.
int64_t windowOutputSize(int64_t in, int64_t padBegin, int64_t padEnd,
                         int64_t kernel, int64_t stride, int64_t dilation,
                         bool ceilMode);

/// Row of kiln.integer_conv2d's weight matrix [KH * KW * C, F] that holds
/// input channel `channel` of kernel tap `tap` (kh * KW + kw): taps outer,
/// channels inner, the order a channels-last im2col row reads.
inline int64_t integerConvWeightRow(int64_t tap, int64_t channel,
                                    int64_t channels) {
  return tap * channels + channel;
}

} // namespace mlir::kiln

#endif // KILN_DIALECTS_KILN_KILNOPSNN_H
