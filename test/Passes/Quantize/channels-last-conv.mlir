// RUN: %kiln_opt %s --kiln-channels-last-conv | FileCheck %s
// kiln-channels-last-conv: a chain of integer convs runs in NHWC. The
// elementwise ops between them (the dequantize / quantize steps of a QDQ
// model, a batch norm, a per-channel scale, a residual add of two conv
// results) move into NHWC with them; transposes remain only after the
// input and before the pool.

// CHECK-LABEL: func.func @chain
// CHECK:       %[[IN:.*]] = kiln.transpose %arg0 {perm = array<i64: 0, 2, 3, 1>} : tensor<1x4x6x6xui8> -> tensor<1x6x6x4xui8>
// CHECK:       %[[C1:.*]] = kiln.integer_conv2d %[[IN]], %{{.*}} {channels_last, {{.*}}} : tensor<1x6x6x4xui8>, tensor<36x8xi8> -> tensor<1x6x6x8xi32>
// CHECK:       kiln.cast %[[C1]] : tensor<1x6x6x8xi32> -> tensor<1x6x6x8xf32>
// CHECK:       kiln.mul %{{.*}}, %{{.*}} : tensor<1x6x6x8xf32>, tensor<8xf32>
// The batch norm as ((x - mean) / sqrt(var + eps)) * scale + bias:
// CHECK:       kiln.sub %{{.*}}, %{{.*}} : tensor<1x6x6x8xf32>, tensor<8xf32>
// CHECK:       kiln.sqrt
// CHECK:       kiln.div %{{.*}}, %{{.*}} : tensor<1x6x6x8xf32>, tensor<8xf32>
// CHECK:       kiln.cast %{{.*}} : tensor<1x6x6x8xf32> -> tensor<1x6x6x8xui8>
// CHECK-NOT:   kiln.transpose
// CHECK:       %[[C2:.*]] = kiln.integer_conv2d %{{.*}}, %{{.*}} {channels_last, {{.*}}} : tensor<1x6x6x8xui8>, tensor<8x8xi8> -> tensor<1x6x6x8xi32>
// CHECK:       %[[C3:.*]] = kiln.integer_conv2d %{{.*}}, %{{.*}} {channels_last, {{.*}}} : tensor<1x6x6x8xui8>, tensor<8x8xi8> -> tensor<1x6x6x8xi32>
// CHECK:       kiln.add %{{.*}}, %{{.*}} : tensor<1x6x6x8xf32>, tensor<1x6x6x8xf32>
// CHECK:       %[[OUT:.*]] = kiln.transpose %{{.*}} {perm = array<i64: 0, 3, 1, 2>} : tensor<1x6x6x8xf32> -> tensor<1x8x6x6xf32>
// CHECK:       kiln.max_pool2d %[[OUT]]
func.func @chain(%x: tensor<1x4x6x6xui8>, %w1: tensor<36x8xi8>, %w2: tensor<8x8xi8>, %w3: tensor<8x8xi8>) -> tensor<1x8x3x3xf32> {
  %s = kiln.constant dense<[[[0.5]], [[0.25]], [[0.5]], [[0.25]], [[0.5]], [[0.25]], [[0.5]], [[0.25]]]> : tensor<8x1x1xf32>
  %m = kiln.constant dense<[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]> : tensor<8xf32>
  %v = kiln.constant dense<[1.0, 1.0, 2.0, 2.0, 3.0, 3.0, 4.0, 4.0]> : tensor<8xf32>
  %q = kiln.constant dense<0.1> : tensor<f32>
  %c1 = kiln.integer_conv2d %x, %w1 {kernel = array<i64: 3, 3>, strides = array<i64: 1, 1>,
          padding = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>}
        : tensor<1x4x6x6xui8>, tensor<36x8xi8> -> tensor<1x8x6x6xi32>
  %f1 = kiln.cast %c1 : tensor<1x8x6x6xi32> -> tensor<1x8x6x6xf32>
  %y1 = kiln.mul %f1, %s : tensor<1x8x6x6xf32>, tensor<8x1x1xf32>
  %bn = kiln.batch_norm %y1, %m, %v, %m, %v {epsilon = 1.0e-05 : f32} : tensor<1x8x6x6xf32>, tensor<8xf32>
  %d = kiln.div %bn, %q : tensor<1x8x6x6xf32>, tensor<f32>
  %r = kiln.round %d : tensor<1x8x6x6xf32>
  %u = kiln.cast %r : tensor<1x8x6x6xf32> -> tensor<1x8x6x6xui8>
  %c2 = kiln.integer_conv2d %u, %w2 {kernel = array<i64: 1, 1>, strides = array<i64: 1, 1>,
          padding = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>}
        : tensor<1x8x6x6xui8>, tensor<8x8xi8> -> tensor<1x8x6x6xi32>
  %c3 = kiln.integer_conv2d %u, %w3 {kernel = array<i64: 1, 1>, strides = array<i64: 1, 1>,
          padding = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>}
        : tensor<1x8x6x6xui8>, tensor<8x8xi8> -> tensor<1x8x6x6xi32>
  %f2 = kiln.cast %c2 : tensor<1x8x6x6xi32> -> tensor<1x8x6x6xf32>
  %f3 = kiln.cast %c3 : tensor<1x8x6x6xi32> -> tensor<1x8x6x6xf32>
  %sum = kiln.add %f2, %f3 : tensor<1x8x6x6xf32>, tensor<1x8x6x6xf32>
  %p = kiln.max_pool2d %sum {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>,
         padding = array<i64: 0, 0, 0, 0>} : tensor<1x8x6x6xf32> -> tensor<1x8x3x3xf32>
  return %p : tensor<1x8x3x3xf32>
}

// An elementwise op mixing a conv result with an NCHW tensor that is not
// a broadcast constant keeps its transpose.
// CHECK-LABEL: func.func @mixed
// CHECK:       kiln.integer_conv2d {{.*}}channels_last
// CHECK:       %[[T:.*]] = kiln.transpose %{{.*}} {perm = array<i64: 0, 3, 1, 2>}
// CHECK:       kiln.add %[[T]], %arg1 : tensor<1x8x6x6xf32>, tensor<1x8x6x6xf32>
func.func @mixed(%x: tensor<1x4x6x6xui8>, %other: tensor<1x8x6x6xf32>, %w: tensor<36x8xi8>) -> tensor<1x8x6x6xf32> {
  %c = kiln.integer_conv2d %x, %w {kernel = array<i64: 3, 3>, strides = array<i64: 1, 1>,
         padding = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>}
       : tensor<1x4x6x6xui8>, tensor<36x8xi8> -> tensor<1x8x6x6xi32>
  %f = kiln.cast %c : tensor<1x8x6x6xi32> -> tensor<1x8x6x6xf32>
  %y = kiln.add %f, %other : tensor<1x8x6x6xf32>, tensor<1x8x6x6xf32>
  return %y : tensor<1x8x6x6xf32>
}

// A depthwise conv keeps its group in NHWC.
// CHECK-LABEL: func.func @depthwise
// CHECK:       %[[T:.*]] = kiln.transpose %arg0 {perm = array<i64: 0, 2, 3, 1>} : tensor<1x8x6x6xui8> -> tensor<1x6x6x8xui8>
// CHECK:       %[[C:.*]] = kiln.integer_conv2d %[[T]], %arg1 {channels_last, {{.*}}group = 8 : i64{{.*}}} : tensor<1x6x6x8xui8>, tensor<9x8xi8> -> tensor<1x6x6x8xi32>
// CHECK:       kiln.transpose %[[C]] {perm = array<i64: 0, 3, 1, 2>} : tensor<1x6x6x8xi32> -> tensor<1x8x6x6xi32>
func.func @depthwise(%x: tensor<1x8x6x6xui8>, %w: tensor<9x8xi8>) -> tensor<1x8x6x6xi32> {
  %c = kiln.integer_conv2d %x, %w {kernel = array<i64: 3, 3>, strides = array<i64: 1, 1>,
         padding = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, group = 8}
       : tensor<1x8x6x6xui8>, tensor<9x8xi8> -> tensor<1x8x6x6xi32>
  return %c : tensor<1x8x6x6xi32>
}
