//===- Passes.td - convolution algorithm passes -------------*- tablegen -*-===//
//
// Part of kiln.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_PASSES_CONV
#define KILN_PASSES_CONV

include "mlir/Pass/PassBase.td"

def KilnWinogradPass : Pass<"kiln-winograd"> {
  let summary = "Chooses Winograd F(2x2, 3x3) or F(4x4, 3x3) for 3x3 convolutions.";
  let description = [{
    Considers every `kiln.conv2d` that is 3x3, stride 1, dilation 1, one
    group, f32, without `lmul`, with constant weights, at least
    `min-channels` input and output channels and `min-pixels` output
    pixels. With `tile` 0 the latency estimate of
    costmodel/ConvAlgorithmCost.h picks, per convolution, the direct
    kernel, F(2x2, 3x3) or F(4x4, 3x3), and records the candidates and
    their estimates in `kiln.winograd_choice` (printed by `kiln compile
    --report`); with `tile` 2 or 4 every such convolution takes that tile.
    A chosen convolution gets `winograd = m`. The lowering then transforms
    the weights at compile time (U = G g G^T, (m + 2)^2 values per filter
    and channel), each (m + 2)^2 input tile at run time (V = B^T d B), runs
    (m + 2)^2 batched matmuls M = U V (kiln's GEMM kernel) and maps each M
    tile to its m x m outputs (Y = A^T M A): 2.25x (F(2x2)) or 4x (F(4x4))
    fewer multiplications. Opt in (`kiln compile --winograd`): the
    transforms round differently from a direct convolution, F(4x4) more
    (the `resnet50_winograd` row of bench/perf/run.sh states the error).
  }];
  let options = [
    Option<"minChannels", "min-channels", "int64_t", "16",
           "Convolutions with fewer input or output channels stay direct "
           "(their transforms cost more than the products they save)">,
    Option<"minPixels", "min-pixels", "int64_t", "1",
           "Convolutions whose output maps have fewer pixels (per image) "
           "stay direct">,
    Option<"tile", "tile", "int64_t", "0",
           "Output tile m of F(m x m, 3x3) for every eligible convolution, "
           "2 or 4; 0: chosen per convolution by the latency estimate">,
    Option<"bf16", "bf16", "bool", /*default=*/"false",
           "The direct kernel multiplies bf16 pairs (--precision=bf16), "
           "for the latency estimate">,
    Option<"vectorBits", "vector-bits", "unsigned", /*default=*/"512",
           "Target vector register width, for the latency estimate">,
    Option<"l2Bytes", "l2-bytes", "uint64_t", /*default=*/"1048576",
           "Target L2 cache size, for the latency estimate">,
  ];
}

#endif // KILN_PASSES_CONV
