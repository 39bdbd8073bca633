// kiln-smooth-quant: s_j = max|X_j|^alpha / max|W_j|^(1 - alpha) per
// input channel (formula in passes/Quantize/Passes.td), weight rows times
// s_j, activations divided by s_j.
// RUN: %kiln_opt %s -split-input-file --kiln-smooth-quant="min-weights=0 alpha=0.5 channel-maxima=4,1,4,1" | FileCheck %s --check-prefix=LN
// RUN: %kiln_opt %s -split-input-file --kiln-smooth-quant="min-weights=0 channel-maxima=9,0,9,0" | FileCheck %s --check-prefix=MUL
// RUN: not %kiln_opt %s -split-input-file --kiln-smooth-quant="min-weights=0 channel-maxima=1,2,3" 2>&1 | FileCheck %s --check-prefix=COUNT
// RUN: not %kiln_opt %s -split-input-file --kiln-smooth-quant="min-weights=0 alpha=1.5 channel-maxima=4,1,4,1" 2>&1 | FileCheck %s --check-prefix=ALPHA

// COUNT: error: kiln-smooth-quant: channel-maxima has 3 values but the 2 matmuls to quantize have 4 input channels in all; calibrate the same module with the same min-weights
// ALPHA: error: kiln-smooth-quant: alpha must be in [0, 1], got 1.5

// A LayerNorm feeding only the two matmuls: one group (the same
// activation), max|X| = [4, 1], max|W_j| over both weights = [1, 1], so
// s = [2, 1]. gamma [1, 1] / s = [0.5, 1], beta [0.2, 0.4] / s =
// [0.1, 0.4]; W1 [[1, 1], [0.25, 0.25]] -> [[2, 2], [0.25, 0.25]],
// W2 [[0.5, 0], [1, 0]] -> [[1, 0], [1, 0]].
// LN-LABEL: func.func @layer_norm
// LN:       %[[G:.*]] = kiln.constant dense<[5.000000e-01, 1.000000e+00]> : tensor<2xf32>
// LN:       %[[B:.*]] = kiln.constant dense<[1.000000e-01, 4.000000e-01]> : tensor<2xf32>
// LN:       %[[N:.*]] = kiln.layer_norm %arg0, %[[G]], %[[B]] {axis
// LN-NOT:   kiln.mul
// LN:       %[[W1:.*]] = kiln.constant dense<{{\[}}[2.000000e+00, 2.000000e+00], [2.500000e-01, 2.500000e-01]]> : tensor<2x2xf32>
// LN:       kiln.matmul %[[N]], %[[W1]]
// LN:       %[[W2:.*]] = kiln.constant dense<{{\[}}[1.000000e+00, 0.000000e+00], [1.000000e+00, 0.000000e+00]]> : tensor<2x2xf32>
// LN:       kiln.matmul %[[N]], %[[W2]]
// LN-LABEL: func.func @shared_norm
func.func @layer_norm(%x: tensor<3x2xf32>) -> (tensor<3x2xf32>, tensor<3x2xf32>) {
  %g = kiln.constant dense<[1.0, 1.0]> : tensor<2xf32>
  %b = kiln.constant dense<[0.2, 0.4]> : tensor<2xf32>
  %n = kiln.layer_norm %x, %g, %b {axis = 1 : i64, epsilon = 1.0e-05 : f32} : tensor<3x2xf32>, tensor<2xf32>
  %w1 = kiln.constant dense<[[1.0, 1.0], [0.25, 0.25]]> : tensor<2x2xf32>
  %w2 = kiln.constant dense<[[0.5, 0.0], [1.0, 0.0]]> : tensor<2x2xf32>
  %y1 = kiln.matmul %n, %w1 : tensor<3x2xf32>, tensor<2x2xf32>
  %y2 = kiln.matmul %n, %w2 : tensor<3x2xf32>, tensor<2x2xf32>
  return %y1, %y2 : tensor<3x2xf32>, tensor<3x2xf32>
}

// -----

// The LayerNorm also feeds a residual add: it stays, and a multiply by
// 1 / s goes before the matmuls. Channel 1 never saw a value (max 0):
// s_1 = 1. max|X| = [9, 0], max|W_j| = [1, 4] -> s = [3, 1]:
// W1 -> [[3, 3], [4, 1]], W2 -> [[3, 0], [0, 4]].
// MUL-LABEL: func.func @shared_norm
// MUL:       %[[N:.*]] = kiln.layer_norm %arg0, %{{.*}}, %{{.*}} {axis
// MUL:       %[[INV:.*]] = kiln.constant dense<[0.333333343, 1.000000e+00]> : tensor<2xf32>
// MUL:       %[[S:.*]] = kiln.mul %[[N]], %[[INV]]
// MUL:       %[[W1:.*]] = kiln.constant dense<{{\[}}[3.000000e+00, 3.000000e+00], [4.000000e+00, 1.000000e+00]]> : tensor<2x2xf32>
// MUL:       kiln.matmul %[[S]], %[[W1]]
// MUL:       %[[W2:.*]] = kiln.constant dense<{{\[}}[3.000000e+00, 0.000000e+00], [0.000000e+00, 4.000000e+00]]> : tensor<2x2xf32>
// MUL:       kiln.matmul %[[S]], %[[W2]]
// MUL:       kiln.add %[[N]], %arg0
func.func @shared_norm(%x: tensor<3x2xf32>) -> (tensor<3x2xf32>, tensor<3x2xf32>, tensor<3x2xf32>) {
  %g = kiln.constant dense<[1.0, 1.0]> : tensor<2xf32>
  %b = kiln.constant dense<[0.2, 0.4]> : tensor<2xf32>
  %n = kiln.layer_norm %x, %g, %b {axis = 1 : i64, epsilon = 1.0e-05 : f32} : tensor<3x2xf32>, tensor<2xf32>
  %w1 = kiln.constant dense<[[1.0, 1.0], [4.0, 1.0]]> : tensor<2x2xf32>
  %w2 = kiln.constant dense<[[1.0, 0.0], [0.0, 4.0]]> : tensor<2x2xf32>
  %y1 = kiln.matmul %n, %w1 : tensor<3x2xf32>, tensor<2x2xf32>
  %y2 = kiln.matmul %n, %w2 : tensor<3x2xf32>, tensor<2x2xf32>
  %r = kiln.add %n, %x : tensor<3x2xf32>, tensor<3x2xf32>
  return %y1, %y2, %r : tensor<3x2xf32>, tensor<3x2xf32>, tensor<3x2xf32>
}
