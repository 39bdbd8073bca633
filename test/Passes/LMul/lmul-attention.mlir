// RUN: %kiln_opt %s --kiln-lmul=scope=attention --split-input-file | FileCheck %s
// RUN: %kiln_opt %s --kiln-lmul --split-input-file | FileCheck %s

// BERT self-attention: only Q*K^T (feeds the softmax through scale and mask
// add) and probs*V (lhs from the softmax); the projections stay plain.
// CHECK-LABEL: func.func @bert_attention
// CHECK:       kiln.matmul %arg0, %arg1 :
// CHECK:       kiln.matmul %{{.*}}, %{{.*}} {lmul = #kiln.lmul<format = "fp32", mantissa = 23, rounding = "nearest">} : tensor<1x4x16x16xf32>, tensor<1x4x16x16xf32>
// CHECK:       kiln.softmax
// CHECK:       kiln.matmul %{{.*}}, %{{.*}} {lmul = #kiln.lmul<format = "fp32", mantissa = 23, rounding = "nearest">} : tensor<1x4x16x16xf32>, tensor<1x4x16x16xf32>
// CHECK:       kiln.mul %{{.*}}, %{{.*}} : tensor<1x4x16x16xf32>, tensor<f32>
func.func @bert_attention(%x: tensor<16x64xf32>, %wq: tensor<64x64xf32>,
                          %q: tensor<1x4x16x16xf32>, %kt: tensor<1x4x16x16xf32>,
                          %v: tensor<1x4x16x16xf32>, %mask: tensor<1x1x1x16xf32>)
    -> (tensor<16x64xf32>, tensor<1x4x16x16xf32>) {
  %proj = kiln.matmul %x, %wq : tensor<16x64xf32>, tensor<64x64xf32>
  %s = kiln.matmul %q, %kt : tensor<1x4x16x16xf32>, tensor<1x4x16x16xf32>
  %c = kiln.constant dense<4.0> : tensor<f32>
  %d = kiln.div %s, %c : tensor<1x4x16x16xf32>, tensor<f32>
  %m = kiln.add %d, %mask : tensor<1x4x16x16xf32>, tensor<1x1x1x16xf32>
  %p = kiln.softmax %m {axis = 3 : i64} : tensor<1x4x16x16xf32>
  %ctx = kiln.matmul %p, %v : tensor<1x4x16x16xf32>, tensor<1x4x16x16xf32>
  %h = kiln.mul %ctx, %c : tensor<1x4x16x16xf32>, tensor<f32>
  return %proj, %h : tensor<16x64xf32>, tensor<1x4x16x16xf32>
}

// -----

// GPT-2: causal mask through kiln.where, probs reshaped before the matmul.
// CHECK-LABEL: func.func @gpt2_attention
// CHECK:       kiln.matmul %arg0, %arg1 {lmul = #kiln.lmul
// CHECK:       kiln.softmax
// CHECK:       kiln.matmul %{{.*}}, %arg3 {lmul = #kiln.lmul
func.func @gpt2_attention(%q: tensor<4x16x16xf32>, %kt: tensor<4x16x16xf32>,
                          %causal: tensor<16x16xi1>, %v: tensor<4x16x16xf32>)
    -> tensor<4x16x16xf32> {
  %s = kiln.matmul %q, %kt : tensor<4x16x16xf32>, tensor<4x16x16xf32>
  %fill = kiln.constant dense<-1.0e4> : tensor<f32>
  %w = kiln.where %causal, %s, %fill : tensor<16x16xi1>, tensor<4x16x16xf32>, tensor<f32>
  %r = kiln.reshape %w : tensor<4x16x16xf32> -> tensor<1x4x16x16xf32>
  %p = kiln.softmax %r {axis = 3 : i64} : tensor<1x4x16x16xf32>
  %p3 = kiln.reshape %p : tensor<1x4x16x16xf32> -> tensor<4x16x16xf32>
  %ctx = kiln.matmul %p3, %v : tensor<4x16x16xf32>, tensor<4x16x16xf32>
  return %ctx : tensor<4x16x16xf32>
}

// -----

// V^T * P^T: the softmax output is the rhs (through a transpose).
// CHECK-LABEL: func.func @probs_as_rhs
// CHECK:       kiln.matmul %arg1, %{{.*}} {lmul = #kiln.lmul
func.func @probs_as_rhs(%s: tensor<16x16xf32>, %vt: tensor<8x16xf32>) -> tensor<8x16xf32> {
  %p = kiln.softmax %s {axis = 1 : i64} : tensor<16x16xf32>
  %pt = kiln.transpose %p {perm = array<i64: 1, 0>} : tensor<16x16xf32> -> tensor<16x16xf32>
  %ctx = kiln.matmul %vt, %pt : tensor<8x16xf32>, tensor<16x16xf32>
  return %ctx : tensor<8x16xf32>
}

// -----

// Not attention: a nonlinearity between the matmul and the softmax (a
// classifier head), convolutions and elementwise products stay plain.
// CHECK-LABEL: func.func @not_attention
// CHECK-NOT:   lmul
func.func @not_attention(%x: tensor<4x64xf32>, %w: tensor<64x10xf32>,
                         %img: tensor<1x3x8x8xf32>, %k: tensor<4x3x3x3xf32>,
                         %b: tensor<4xf32>) -> (tensor<4x10xf32>, tensor<1x4x6x6xf32>) {
  %h = kiln.matmul %x, %w : tensor<4x64xf32>, tensor<64x10xf32>
  %t = kiln.tanh %h : tensor<4x10xf32>
  %p = kiln.softmax %t {axis = 1 : i64} : tensor<4x10xf32>
  %c = kiln.conv2d %img, %k, %b {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 1 : i64}
       : tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>, tensor<4xf32> -> tensor<1x4x6x6xf32>
  %sq = kiln.mul %c, %c : tensor<1x4x6x6xf32>, tensor<1x4x6x6xf32>
  return %p, %sq : tensor<4x10xf32>, tensor<1x4x6x6xf32>
}

// -----

// A decision already made (by hand or an earlier pass) is kept.
// CHECK-LABEL: func.func @keeps_existing
// CHECK:       kiln.matmul %arg0, %arg1 {lmul = #kiln.lmul<format = "e5m2", mantissa = 2, rounding = "truncate">}
func.func @keeps_existing(%q: tensor<16x16xf32>, %kt: tensor<16x16xf32>) -> tensor<16x16xf32> {
  %s = kiln.matmul %q, %kt {lmul = #kiln.lmul<format = "e5m2", mantissa = 2, rounding = "truncate">} : tensor<16x16xf32>, tensor<16x16xf32>
  %p = kiln.softmax %s {axis = 1 : i64} : tensor<16x16xf32>
  return %p : tensor<16x16xf32>
}
