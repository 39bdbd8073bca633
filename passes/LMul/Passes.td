//===- Passes.td - L-Mul graph passes -----------------------*- tablegen -*-===//
//
// Part of kiln.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_PASSES_LMUL
#define KILN_PASSES_LMUL

include "mlir/Pass/PassBase.td"

def KilnLMulPass : Pass<"kiln-lmul"> {
  let summary = "Marks multiplications to run as L-Mul (`#kiln.lmul`).";
  let description = [{
    L-Mul (Luo & Sun 2024) replaces a float product by one integer add of
    the operands' exponent|mantissa bits minus a constant. This pass decides
    which products: it sets the `lmul` attribute of the float `kiln.matmul`,
    `kiln.conv2d` and `kiln.mul` ops in `scope`, and the kiln -> linalg
    lowering then emits the integer-add body (accumulation stays f32).

    Scopes:
    - `attention`: only the two attention products, found structurally: a
      matmul whose result reaches a `kiln.softmax` through score ops
      (scale, mask add/where, reshape, transpose), i.e. Q*K^T, and a matmul
      with an operand that comes from a softmax (through reshape, transpose,
      cast), i.e. softmax(..)*V;
    - `matmul`: every float matmul and conv2d;
    - `all`: those and every float elementwise `kiln.mul`.

    `format` (fp32, bf16, fp16, e4m3, e5m2) and `mantissa` (operand mantissa
    bits, 0 = the format's own) choose the operand rounding (`rounding`:
    nearest-even or truncate) and the offset 2^-l(mantissa). Ops that
    already carry an `lmul` attribute keep it.

    With `objective` set, the cost model (costmodel/LMulCost.h) decides op
    by op within the scope: `latency` marks only ops where L-Mul costs no
    time on the target core (`vector-bits`, `l2-bytes`: memory-bound ops),
    `energy` every op where it lowers the arithmetic energy. Without it,
    every op in the scope is marked.

    ```mlir
    // kiln-opt --kiln-lmul="scope=matmul format=e4m3"
    %c = kiln.matmul %a, %b {lmul = #kiln.lmul<format = "e4m3", mantissa = 3,
                                               rounding = "nearest">} : ...
    ```
  }];
  let options = [
    Option<"scope", "scope", "std::string", /*default=*/"\"attention\"",
           "Which products: attention, matmul or all">,
    Option<"format", "format", "std::string", /*default=*/"\"fp32\"",
           "Operand format: fp32, bf16, fp16, e4m3, e5m2">,
    Option<"mantissa", "mantissa", "unsigned", /*default=*/"0",
           "Operand mantissa bits (0: the format's own)">,
    Option<"rounding", "rounding", "std::string", /*default=*/"\"nearest\"",
           "Operand rounding: nearest (ties to even) or truncate">,
    Option<"objective", "objective", "std::string", /*default=*/"\"\"",
           "Let the cost model choose within the scope: latency or energy "
           "(empty: mark the whole scope)">,
    Option<"vectorBits", "vector-bits", "unsigned", /*default=*/"256",
           "Target vector register width, for the latency estimate">,
    Option<"l2Bytes", "l2-bytes", "uint64_t", /*default=*/"1048576",
           "Target L2 cache size, for the latency estimate">,
  ];
  let statistics = [
    Statistic<"numMarked", "num-marked", "Ops given an lmul attribute">,
  ];
}

#endif // KILN_PASSES_LMUL
