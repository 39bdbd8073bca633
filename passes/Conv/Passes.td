//===- Passes.td - convolution algorithm passes -------------*- tablegen -*-===//
//
// Part of kiln.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_PASSES_CONV
#define KILN_PASSES_CONV

include "mlir/Pass/PassBase.td"

def KilnWinogradPass : Pass<"kiln-winograd"> {
  let summary = "Marks the 3x3 convolutions that run as Winograd F(2x2, 3x3).";
  let description = [{
    Sets the `winograd` attribute on every `kiln.conv2d` that is 3x3, stride
    1, dilation 1, one group, f32, without `lmul`, with constant weights and
    at least `min-channels` input and output channels. The lowering then
    transforms the weights at compile time (U = G g G^T, 16 values per
    filter and channel), each 4x4 input tile at run time (V = B^T d B), runs
    16 batched matmuls M = U V (kiln's GEMM kernel) and maps each M tile to
    its 2x2 outputs (Y = A^T M A): 2.25x fewer multiplications for maps
    whose sides are even. Opt in (`kiln compile --winograd`): the
    transforms round differently from a direct convolution (the report of
    `bench/perf/winograd.py` states the error on the bench models).
  }];
  let options = [
    Option<"minChannels", "min-channels", "int64_t", "16",
           "Convolutions with fewer input or output channels stay direct "
           "(their transforms cost more than the products they save)">,
    Option<"minPixels", "min-pixels", "int64_t", "196",
           "Convolutions whose output maps have fewer pixels (per image) "
           "stay direct: their GEMMs have few tiles per transformed "
           "weight, and in a model, where the weights come from memory, "
           "measured slower than the direct kernel">,
  ];
}

#endif // KILN_PASSES_CONV
