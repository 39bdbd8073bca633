// kiln-w8a8-quantize: constant f32 [K, N] matmul weights become int8 with
// one scale per output column (formulas in passes/Quantize/Passes.td).
// RUN: %kiln_opt %s --kiln-w8a8-quantize="min-weights=0" | FileCheck %s
// RUN: %kiln_opt %s --kiln-w8a8-quantize | FileCheck %s --check-prefix=SMALL

// s_w[n] = max_k |w[k, n]| / 127, q = clamp(rint(w / s_w), -127, 127).
// Column 0: max 127 -> s 1, q {1, -127, 2, 64} (63.5 and 2.5 round to even:
// 64, 2). Column 1: max 2.54 -> s 0.02, q {-127, 25, 0, 64} (0.5 / 0.02 =
// 25, 1.28 / 0.02 = 64). Column 2 is all zeros -> s 1, q 0.
// CHECK-LABEL: func.func @weights
// CHECK-DAG:   %[[Q:.*]] = kiln.constant dense<{{\[}}[1, -127, 0], [-127, 25, 0], [2, 0, 0], [64, 64, 0]]> : tensor<4x3xi8>
// CHECK-DAG:   %[[S:.*]] = kiln.constant dense<[1.000000e+00, 2.000000e-02, 1.000000e+00]> : tensor<3xf32>
// CHECK:       %[[Y:.*]] = kiln.dynamic_quantized_matmul %arg0, %[[Q]] scales %[[S]] : tensor<2x4xf32>, tensor<4x3xi8>, tensor<3xf32>
// CHECK:       return %[[Y]]
// CHECK-NOT:   kiln.matmul

// Below min-weights (default 4096) matrices stay float.
// SMALL-LABEL: func.func @weights
// SMALL:       kiln.matmul
// SMALL-NOT:   kiln.dynamic_quantized_matmul
func.func @weights(%x: tensor<2x4xf32>) -> tensor<2x3xf32> {
  %w = kiln.constant dense<[[1.0, -2.54, 0.0], [-127.0, 0.5, 0.0], [2.5, 0.0, 0.0], [63.5, 1.28, 0.0]]> : tensor<4x3xf32>
  %y = kiln.matmul %x, %w : tensor<2x4xf32>, tensor<4x3xf32>
  return %y : tensor<2x3xf32>
}

// A 3-D input keeps its leading dims.
// CHECK-LABEL: func.func @batched
// CHECK:       kiln.dynamic_quantized_matmul %arg0, %{{.*}} : tensor<2x3x4xf32>, tensor<4x3xi8>, tensor<3xf32>
func.func @batched(%x: tensor<2x3x4xf32>) -> tensor<2x3x3xf32> {
  %w = kiln.constant dense<1.0> : tensor<4x3xf32>
  %y = kiln.matmul %x, %w : tensor<2x3x4xf32>, tensor<4x3xf32>
  return %y : tensor<2x3x3xf32>
}

// Weights that are not constants, batched weights and L-Mul matmuls stay.
// CHECK-LABEL: func.func @not_candidates
// CHECK-COUNT-3: kiln.matmul
// CHECK-NOT:   kiln.dynamic_quantized_matmul
func.func @not_candidates(%x: tensor<3x4xf32>, %w: tensor<4x2xf32>) -> (tensor<3x2xf32>, tensor<2x3x2xf32>, tensor<3x2xf32>) {
  %y = kiln.matmul %x, %w : tensor<3x4xf32>, tensor<4x2xf32>
  %b = kiln.constant dense<1.0> : tensor<2x4x2xf32>
  %z = kiln.matmul %x, %b : tensor<3x4xf32>, tensor<2x4x2xf32>
  %c = kiln.constant dense<1.0> : tensor<4x2xf32>
  %l = kiln.matmul %x, %c {lmul = #kiln.lmul<format = "fp32", mantissa = 23, rounding = "nearest">} : tensor<3x4xf32>, tensor<4x2xf32>
  return %y, %z, %l : tensor<3x2xf32>, tensor<2x3x2xf32>, tensor<3x2xf32>
}
