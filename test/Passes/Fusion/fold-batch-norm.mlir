// RUN: %kiln_opt %s --kiln-fold-batch-norm --split-input-file | FileCheck %s

// s = gamma / sqrt(var + eps): channel 0: 3 / sqrt(3 + 1) = 1.5, so
// W' = 2 * 1.5 = 3 and b' = (1 - 1) * 1.5 + 0.5 = 0.5; channel 1: s = 1,
// W' = -1, b' = (2 - 0) * 1 + 0 = 2.
// CHECK-LABEL: func.func @folded
// CHECK-DAG: %[[W:.*]] = kiln.constant dense<{{\[}}[{{\[}}[3.000000e+00]]], [{{\[}}[-1.000000e+00]]]]> : tensor<2x1x1x1xf32>
// CHECK-DAG: %[[B:.*]] = kiln.constant dense<[5.000000e-01, 2.000000e+00]> : tensor<2xf32>
// CHECK: %[[Y:.*]] = kiln.conv2d %arg0, %[[W]], %[[B]]
// CHECK-NOT: kiln.batch_norm
// CHECK: return %[[Y]]
func.func @folded(%x: tensor<1x1x4x4xf32>) -> tensor<1x2x4x4xf32> {
  %w = kiln.constant dense<[[[[2.0]]], [[[-1.0]]]]> : tensor<2x1x1x1xf32>
  %b = kiln.constant dense<[1.0, 2.0]> : tensor<2xf32>
  %gamma = kiln.constant dense<[3.0, 1.0]> : tensor<2xf32>
  %beta = kiln.constant dense<[0.5, 0.0]> : tensor<2xf32>
  %mean = kiln.constant dense<[1.0, 0.0]> : tensor<2xf32>
  %var = kiln.constant dense<[3.0, 0.0]> : tensor<2xf32>
  %c = kiln.conv2d %x, %w, %b {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 1 : i64} : tensor<1x1x4x4xf32>, tensor<2x1x1x1xf32>, tensor<2xf32> -> tensor<1x2x4x4xf32>
  %y = kiln.batch_norm %c, %gamma, %beta, %mean, %var {epsilon = 1.0 : f32} : tensor<1x2x4x4xf32>, tensor<2xf32>
  return %y : tensor<1x2x4x4xf32>
}

// -----

// The conv result is used twice (or its weights are not constants): both
// ops stay.
// CHECK-LABEL: func.func @kept
// CHECK: kiln.conv2d
// CHECK: kiln.batch_norm
// CHECK: kiln.conv2d
// CHECK: kiln.batch_norm
func.func @kept(%x: tensor<1x1x4x4xf32>, %wx: tensor<2x1x1x1xf32>) -> (tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>) {
  %w = kiln.constant dense<[[[[2.0]]], [[[-1.0]]]]> : tensor<2x1x1x1xf32>
  %s = kiln.constant dense<[1.0, 2.0]> : tensor<2xf32>
  %c = kiln.conv2d %x, %w, %s {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 1 : i64} : tensor<1x1x4x4xf32>, tensor<2x1x1x1xf32>, tensor<2xf32> -> tensor<1x2x4x4xf32>
  %y = kiln.batch_norm %c, %s, %s, %s, %s {epsilon = 1.0 : f32} : tensor<1x2x4x4xf32>, tensor<2xf32>
  %d = kiln.conv2d %x, %wx, %s {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 1 : i64} : tensor<1x1x4x4xf32>, tensor<2x1x1x1xf32>, tensor<2xf32> -> tensor<1x2x4x4xf32>
  %z = kiln.batch_norm %d, %s, %s, %s, %s {epsilon = 1.0 : f32} : tensor<1x2x4x4xf32>, tensor<2xf32>
  return %y, %c, %z : tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>
}
