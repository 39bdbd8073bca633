//===- Passes.td - quantization graph passes ----------------*- tablegen -*-===//
//
// Part of kiln.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_PASSES_QUANTIZE
#define KILN_PASSES_QUANTIZE

include "mlir/Pass/PassBase.td"

def KilnWeightQuantizePass : Pass<"kiln-weight-quantize"> {
  let summary = "Quantizes constant matmul weights group-wise (w8, w4).";
  let description = [{
    Weight-only quantization: every float `kiln.matmul` whose right operand
    is a constant f32 [K, N] matrix with at least `min-weights` elements
    becomes a `kiln.quantized_matmul` with integer weights of `bits` bits,
    one scale per `group-size` consecutive weights along K of a column
    (round to nearest, ties to even; the arithmetic is f32):

    - symmetric: s = max|w| / (2^(b-1) - 1), q = clamp(rint(w / s),
      -2^(b-1), 2^(b-1) - 1), no zero points (signed i8 container);
    - asymmetric: lo = min(min w, 0), hi = max(max w, 0),
      s = (hi - lo) / (2^b - 1), z = clamp(rint(-lo / s), 0, 2^b - 1),
      q = clamp(rint(w / s) + z, 0, 2^b - 1) (unsigned ui8 container).

    A group of zeros gets s = 1. Activations stay float; the CPU kernel
    dequantizes inside the GEMM/GEMV inner loop.

    ```mlir
    // kiln-opt --kiln-weight-quantize="bits=4 group-size=32"
    %y = kiln.quantized_matmul %x, %q scales %s
           {quant = #kiln.weight_quant<bits = 4, group = 32>} : ...
    ```
  }];
  let options = [
    Option<"bits", "bits", "unsigned", /*default=*/"4",
           "Weight bits: 2 to 8">,
    Option<"groupSize", "group-size", "int64_t", /*default=*/"32",
           "Weights per scale along the reduction dim">,
    Option<"symmetric", "symmetric", "bool", /*default=*/"true",
           "Symmetric (no zero points) or asymmetric (zero points)">,
    Option<"minWeights", "min-weights", "int64_t", /*default=*/"4096",
           "Matrices with fewer weights stay float">,
  ];
  let statistics = [
    Statistic<"numQuantized", "num-quantized", "Matmuls quantized">,
  ];
}

def KilnW8A8QuantizePass : Pass<"kiln-w8a8-quantize"> {
  let summary = "Int8 weights and int8 activations for constant matmuls (w8a8).";
  let description = [{
    Every f32 `kiln.matmul` whose right operand is a constant f32 [K, N]
    matrix with at least `min-weights` elements becomes a
    `kiln.dynamic_quantized_matmul`: the weights are quantized per output
    column, symmetric (f32 arithmetic, round half to even),

      s_w[n] = max_k |w[k, n]| / 127   (1 for an all-zero column)
      q[k, n] = clamp(rint(w[k, n] / s_w[n]), -127, 127)

    and the activations are quantized per row at run time (see the op).
    Matmuls with an L-Mul mode, batched weights or non-constant weights
    stay float.

    ```mlir
    // kiln-opt --kiln-w8a8-quantize
    %y = kiln.dynamic_quantized_matmul %x, %q scales %s
         : tensor<8x4096xf32>, tensor<4096x1024xi8>, tensor<1024xf32>
    ```
  }];
  let options = [
    Option<"minWeights", "min-weights", "int64_t", /*default=*/"4096",
           "Matrices with fewer weights stay float">,
  ];
  let statistics = [
    Statistic<"numQuantized", "num-quantized", "Matmuls quantized">,
  ];
}

#endif // KILN_PASSES_QUANTIZE
