// RUN: %kiln_opt %s --kiln-winograd="min-channels=2 min-pixels=25" --split-input-file | FileCheck %s

// Eligible: 3x3, stride 1, dilation 1, one group, constant f32 weights,
// at least 2 input and output channels, at least 25 output pixels.
// CHECK-LABEL: func.func @marked
// CHECK: kiln.conv2d {{.*}}winograd
func.func @marked(%x: tensor<1x2x5x5xf32>) -> tensor<1x2x5x5xf32> {
  %w = kiln.constant dense<1.0> : tensor<2x2x3x3xf32>
  %b = kiln.constant dense<0.0> : tensor<2xf32>
  %y = kiln.conv2d %x, %w, %b {strides = array<i64: 1, 1>, padding = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, group = 1 : i64} : tensor<1x2x5x5xf32>, tensor<2x2x3x3xf32>, tensor<2xf32> -> tensor<1x2x5x5xf32>
  return %y : tensor<1x2x5x5xf32>
}

// -----

// Left direct: stride 2, a 1x1 kernel, too few channels, run-time weights.
// CHECK-LABEL: func.func @kept
// CHECK-NOT: winograd
// CHECK: return
func.func @kept(%x: tensor<1x2x5x5xf32>, %rw: tensor<2x2x3x3xf32>) -> (tensor<1x2x3x3xf32>, tensor<1x2x5x5xf32>, tensor<1x2x5x5xf32>, tensor<1x1x5x5xf32>) {
  %w = kiln.constant dense<1.0> : tensor<2x2x3x3xf32>
  %w1 = kiln.constant dense<1.0> : tensor<2x2x1x1xf32>
  %wn = kiln.constant dense<1.0> : tensor<1x2x3x3xf32>
  %b = kiln.constant dense<0.0> : tensor<2xf32>
  %b1 = kiln.constant dense<0.0> : tensor<1xf32>
  %s2 = kiln.conv2d %x, %w, %b {strides = array<i64: 2, 2>, padding = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, group = 1 : i64} : tensor<1x2x5x5xf32>, tensor<2x2x3x3xf32>, tensor<2xf32> -> tensor<1x2x3x3xf32>
  %k1 = kiln.conv2d %x, %w1, %b {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 1 : i64} : tensor<1x2x5x5xf32>, tensor<2x2x1x1xf32>, tensor<2xf32> -> tensor<1x2x5x5xf32>
  %rt = kiln.conv2d %x, %rw, %b {strides = array<i64: 1, 1>, padding = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, group = 1 : i64} : tensor<1x2x5x5xf32>, tensor<2x2x3x3xf32>, tensor<2xf32> -> tensor<1x2x5x5xf32>
  %few = kiln.conv2d %x, %wn, %b1 {strides = array<i64: 1, 1>, padding = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, group = 1 : i64} : tensor<1x2x5x5xf32>, tensor<1x2x3x3xf32>, tensor<1xf32> -> tensor<1x1x5x5xf32>
  return %s2, %k1, %rt, %few : tensor<1x2x3x3xf32>, tensor<1x2x5x5xf32>, tensor<1x2x5x5xf32>, tensor<1x1x5x5xf32>
}

// -----

// Left direct: a 4x5 output map has fewer than 25 pixels.
// CHECK-LABEL: func.func @small_map
// CHECK-NOT: winograd
// CHECK: return
func.func @small_map(%x: tensor<1x2x4x5xf32>) -> tensor<1x2x4x5xf32> {
  %w = kiln.constant dense<1.0> : tensor<2x2x3x3xf32>
  %b = kiln.constant dense<0.0> : tensor<2xf32>
  %y = kiln.conv2d %x, %w, %b {strides = array<i64: 1, 1>, padding = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, group = 1 : i64} : tensor<1x2x4x5xf32>, tensor<2x2x3x3xf32>, tensor<2xf32> -> tensor<1x2x4x5xf32>
  return %y : tensor<1x2x4x5xf32>
}
