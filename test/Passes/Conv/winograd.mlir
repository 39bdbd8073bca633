// RUN: %kiln_opt %s --kiln-winograd="min-channels=2 min-pixels=25 tile=2" --split-input-file | FileCheck %s
// RUN: %kiln_opt %s --kiln-winograd="min-channels=2 min-pixels=25 tile=4" --split-input-file | FileCheck %s --check-prefix=TILE4
// RUN: %kiln_opt %s --kiln-winograd --split-input-file | FileCheck %s --check-prefix=CHOICE
// RUN: %kiln_opt %s --kiln-winograd="bf16=1 l2-bytes=2097152" --split-input-file | FileCheck %s --check-prefix=BF16
// RUN: not %kiln_opt %s --kiln-winograd="tile=3" --split-input-file 2>&1 | FileCheck %s --check-prefix=BADTILE
// BADTILE: kiln-winograd: tile must be 0, 2 or 4, not 3

// Eligible: 3x3, stride 1, dilation 1, one group, constant f32 weights,
// at least 2 input and output channels, at least 25 output pixels.
// CHECK-LABEL: func.func @marked
// CHECK: kiln.conv2d {{.*}}winograd = 2 : i64
// TILE4-LABEL: func.func @marked
// TILE4: kiln.conv2d {{.*}}winograd = 4 : i64
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

// -----

// With no tile given, the latency estimate (costmodel/ConvAlgorithmCost.h,
// AVX-512, 1 MB L2) picks per convolution, as measured on chains of
// ResNet-50's convs: F(4x4) at 56x56 (its GEMM has many tiles per
// transformed weight), F(2x2) at 14x14, direct at 7x7 (U would stream 16/9
// or 4x the direct kernel's weights for 16 or 4 tiles). Each considered
// conv records the candidates, cheapest first.
// CHOICE-LABEL: func.func @chosen
// CHOICE: kiln.conv2d {{.*}}kiln.winograd_choice = "3x3 conv 64 -> 64 at 56x56: F(4x4) (F(4x4) {{.*}} Mcycles, F(2x2) {{.*}}, direct {{.*}})", {{.*}}winograd = 4 : i64
// CHOICE: kiln.conv2d {{.*}}kiln.winograd_choice = "3x3 conv 256 -> 256 at 14x14: F(2x2) (F(2x2) {{.*}}, direct {{.*}}, F(4x4) {{.*}})", {{.*}}winograd = 2 : i64
// CHOICE: kiln.conv2d {{.*}}kiln.winograd_choice = "3x3 conv 512 -> 512 at 7x7: direct (direct
// CHOICE-NOT: winograd =
// CHOICE: return
// With a bf16 direct kernel (twice the products per cycle) Winograd's f32
// GEMM pays only at 56x56 (with a 2 MB L2, where its V and M stay).
// BF16-LABEL: func.func @chosen
// BF16: kiln.conv2d {{.*}}"3x3 conv 64 -> 64 at 56x56: F(4x4) (F(4x4) {{.*}}, direct {{.*}}, F(2x2) {{.*}})", {{.*}}winograd = 4 : i64
// BF16: kiln.conv2d {{.*}}"3x3 conv 256 -> 256 at 14x14: direct
// BF16-NOT: winograd =
// BF16: return
func.func @chosen(%x56: tensor<1x64x56x56xf32>, %x14: tensor<1x256x14x14xf32>, %x7: tensor<1x512x7x7xf32>) -> (tensor<1x64x56x56xf32>, tensor<1x256x14x14xf32>, tensor<1x512x7x7xf32>) {
  %w56 = kiln.constant dense<1.0> : tensor<64x64x3x3xf32>
  %b56 = kiln.constant dense<0.0> : tensor<64xf32>
  %w14 = kiln.constant dense<1.0> : tensor<256x256x3x3xf32>
  %b14 = kiln.constant dense<0.0> : tensor<256xf32>
  %w7 = kiln.constant dense<1.0> : tensor<512x512x3x3xf32>
  %b7 = kiln.constant dense<0.0> : tensor<512xf32>
  %y56 = kiln.conv2d %x56, %w56, %b56 {strides = array<i64: 1, 1>, padding = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, group = 1 : i64} : tensor<1x64x56x56xf32>, tensor<64x64x3x3xf32>, tensor<64xf32> -> tensor<1x64x56x56xf32>
  %y14 = kiln.conv2d %x14, %w14, %b14 {strides = array<i64: 1, 1>, padding = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, group = 1 : i64} : tensor<1x256x14x14xf32>, tensor<256x256x3x3xf32>, tensor<256xf32> -> tensor<1x256x14x14xf32>
  %y7 = kiln.conv2d %x7, %w7, %b7 {strides = array<i64: 1, 1>, padding = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, group = 1 : i64} : tensor<1x512x7x7xf32>, tensor<512x512x3x3xf32>, tensor<512xf32> -> tensor<1x512x7x7xf32>
  return %y56, %y14, %y7 : tensor<1x64x56x56xf32>, tensor<1x256x14x14xf32>, tensor<1x512x7x7xf32>
}
