//===- Passes.td - graph fusion passes ----------------------*- tablegen -*-===//
//
// Part of kiln.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_PASSES_FUSION
#define KILN_PASSES_FUSION

include "mlir/Pass/PassBase.td"

def KilnFoldBatchNormPass : Pass<"kiln-fold-batch-norm"> {
  let summary = "Folds inference batch norms into the convolution before them.";
  let description = [{
    `kiln.batch_norm(kiln.conv2d(x, W, b), gamma, beta, mean, var)` with
    constant f32 W, b and statistics, the conv having no other use, becomes
    `kiln.conv2d(x, W', b')` with s = gamma / sqrt(var + eps),
    W'[f] = W[f] * s[f] and b' = (b - mean) * s + beta, computed in double
    and rounded once. This removes one pass over every conv output (ONNX
    Runtime does the same at its basic graph-optimization level). Convs
    marked for L-Mul are left alone: their products must see the original
    weights.
  }];
}

#endif // KILN_PASSES_FUSION
