// kiln-weight-quantize: constant f32 [K, N] matmul weights become integers
// with one scale per group of K (formulas in passes/Quantize/Passes.td).
// RUN: %kiln_opt %s --kiln-weight-quantize="bits=4 group-size=2 min-weights=0 clipping=none" | FileCheck %s --check-prefix=SYM
// RUN: %kiln_opt %s --kiln-weight-quantize="bits=4 group-size=2 symmetric=false min-weights=0 clipping=none" | FileCheck %s --check-prefix=ASYM
// RUN: %kiln_opt %s --kiln-weight-quantize="bits=4 group-size=2" | FileCheck %s --check-prefix=SMALL
// RUN: %kiln_opt %s --kiln-weight-quantize="bits=2 wide-fraction=0.5 tile-columns=1 group-size=2 min-weights=0 clipping=none" | FileCheck %s --check-prefix=MIXED
// RUN: not %kiln_opt %s --kiln-weight-quantize="bits=9" 2>&1 | FileCheck %s --check-prefix=BAD

// Symmetric 4-bit: s = max|w| / 7 per (group, column), q = rint(w / s).
// Column 0: group {1, -7} -> s 1, q {1, -7}; group {0.5, 3.5} -> s 0.5,
// q {1, 7}. Column 1: {-1.75, 0.5} -> s 0.25, q {-7, 2}; {2, -3.5} ->
// s 0.5, q {4, -7}.
// SYM-LABEL: func.func @weights
// SYM-DAG:   %[[Q:.*]] = kiln.constant dense<{{\[}}[1, -7], [-7, 2], [1, 4], [7, -7]]> : tensor<4x2xi8>
// SYM-DAG:   %[[S:.*]] = kiln.constant dense<{{\[}}[1.000000e+00, 2.500000e-01], [5.000000e-01, 5.000000e-01]]> : tensor<2x2xf32>
// SYM:       kiln.quantized_matmul %arg0, %[[Q]] scales %[[S]] {quant = #kiln.weight_quant<bits = 4, group = 2>} : tensor<3x4xf32>, tensor<4x2xi8>, tensor<2x2xf32>
// SYM-NOT:   kiln.matmul

// Asymmetric: lo = min(w, 0), hi = max(w, 0), s = (hi - lo) / 15,
// z = rint(-lo / s). Column 0, group {1, -7}: s = 8/15, z = rint(13.125) =
// 13, q = {rint(1.875) + 13, rint(-13.125) + 13} = {15, 0}.
// ASYM-LABEL: func.func @weights
// ASYM-DAG:   %[[Q:.*]] = kiln.constant dense<{{\[}}[15, {{[0-9]+}}], [0, {{[0-9]+}}], {{.*}}> : tensor<4x2xui8>
// ASYM-DAG:   %[[Z:.*]] = kiln.constant dense<{{\[}}[13, {{[0-9]+}}], {{.*}}> : tensor<2x2xui8>
// ASYM:       kiln.quantized_matmul %arg0, %[[Q]] scales %{{.*}} zero_points %[[Z]] {quant = #kiln.weight_quant<bits = 4, group = 2>} : tensor<3x4xf32>, tensor<4x2xui8>, tensor<2x2xf32>, tensor<2x2xui8>

// Mixed 2/4-bit with one-column blocks: block ranges (max - min, 0
// included) are 8 and 3.5 (column 0), 2.25 and 5.5 (column 1); the wider
// half, column 0 group 0 and column 1 group 1, get 4 bits, the others 2.
// Column 1, group 0 at 2 bits: s = 2.25 / 3 = 0.75, z = rint(2.33) = 2,
// q = {0, 3}. Column 0, group 0 at 4 bits: z = 13, q = {15, 0}.
// MIXED-LABEL: func.func @weights
// MIXED-DAG:   %[[Q:.*]] = kiln.constant dense<{{\[}}[15, 0], [0, 3], {{.*}}> : tensor<4x2xui8>
// MIXED-DAG:   kiln.constant dense<{{\[}}[{{.*}}, 7.500000e-01], {{.*}}> : tensor<2x2xf32>
// MIXED:       kiln.quantized_matmul %arg0, %[[Q]] scales %{{.*}} zero_points %{{.*}} {quant = #kiln.weight_quant<bits = 4, group = 2>}

// Below min-weights (default 4096) matrices stay float.
// SMALL-LABEL: func.func @weights
// SMALL:       kiln.matmul
// SMALL-NOT:   kiln.quantized_matmul
func.func @weights(%x: tensor<3x4xf32>) -> tensor<3x2xf32> {
  %w = kiln.constant dense<[[1.0, -1.75], [-7.0, 0.5], [0.5, 2.0], [3.5, -3.5]]> : tensor<4x2xf32>
  %y = kiln.matmul %x, %w : tensor<3x4xf32>, tensor<4x2xf32>
  return %y : tensor<3x2xf32>
}

// Weights that are not constants, batched weights and L-Mul matmuls stay.
// SYM-LABEL: func.func @not_candidates
// SYM-COUNT-3: kiln.matmul
// SYM-NOT:   kiln.quantized_matmul
func.func @not_candidates(%x: tensor<3x4xf32>, %w: tensor<4x2xf32>) -> (tensor<3x2xf32>, tensor<2x3x2xf32>, tensor<3x2xf32>) {
  %y = kiln.matmul %x, %w : tensor<3x4xf32>, tensor<4x2xf32>
  %b = kiln.constant dense<1.0> : tensor<2x4x2xf32>
  %z = kiln.matmul %x, %b : tensor<3x4xf32>, tensor<2x4x2xf32>
  %c = kiln.constant dense<1.0> : tensor<4x2xf32>
  %l = kiln.matmul %x, %c {lmul = #kiln.lmul<format = "fp32", mantissa = 23, rounding = "nearest">} : tensor<3x4xf32>, tensor<4x2xf32>
  return %y, %z, %l : tensor<3x2xf32>, tensor<2x3x2xf32>, tensor<3x2xf32>
}

// BAD: kiln-weight-quantize: bits must be 2..8
