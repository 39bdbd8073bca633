// RUN: %kiln_opt %s --kiln-fold-qdq | FileCheck %s
// kiln-fold-qdq: a float matmul between DequantizeLinear outputs (8-bit
// activations, constant int8 weights) becomes the integer product,
// f32(integer_matmul) * (s_x * s_w).

// Weights already folded to f32 at import, exactly int8 x one scale per
// column: re-encoded (the int8 values come back), the activation zero point
// 128 becomes the op's, the scales multiply in f32 (0.02 x s_w[n]).
// CHECK-LABEL: func.func @folded_weights
// CHECK-DAG:   %[[ZP:.*]] = kiln.constant dense<128> : tensor<ui8>
// CHECK-DAG:   %[[WQ:.*]] = kiln.constant dense<{{\[\[}}127, -128, 127, -127], [-82, 77, 94, 21], [-118, -104, -43, -18], [31, -6, -61, -88], [49, 60, -120, -99], [-13, -28, 99, 4], [-21, -18, 42, 22], [-84, 60, 65, 116]]> : tensor<8x4xi8>
// CHECK:       %[[P:.*]] = kiln.integer_matmul %arg0, %[[WQ]] zero_point %[[ZP]] : tensor<2x3x8xui8>, tensor<8x4xi8>, tensor<ui8>
// CHECK:       %[[F:.*]] = kiln.cast %[[P]] : tensor<2x3x4xi32> -> tensor<2x3x4xf32>
// CHECK:       %[[S:.*]] = kiln.constant dense<{{\[}}2.000000e-03, 4.25999984E-4, 0.00999999977, 6.33999953E-5]> : tensor<4xf32>
// CHECK:       %[[Y:.*]] = kiln.mul %[[F]], %[[S]] : tensor<2x3x4xf32>, tensor<4xf32>
// CHECK:       return %[[Y]]
func.func @folded_weights(%q: tensor<2x3x8xui8>) -> tensor<2x3x4xf32> {
  %zp = kiln.constant dense<128.0> : tensor<f32>
  %s = kiln.constant dense<0.02> : tensor<f32>
  %w = kiln.constant dense<[[12.6999998, -2.7263999, 63.5, -0.402589977], [-8.19999981, 1.64009988, 47.0, 0.0665699989], [-11.8000002, -2.21519995, -21.5, -0.0570599996], [3.10000014, -0.127799988, -30.5, -0.27895999], [4.9000001, 1.278, -60.0, -0.313829988], [-1.30000007, -0.596399963, 49.5, 0.0126799997], [-2.10000014, -0.383399993, 21.0, 0.0697399974], [-8.40000057, 1.278, 32.5, 0.367719978]]> : tensor<8x4xf32>
  %f = kiln.cast %q : tensor<2x3x8xui8> -> tensor<2x3x8xf32>
  %c = kiln.sub %f, %zp : tensor<2x3x8xf32>, tensor<f32>
  %x = kiln.mul %c, %s : tensor<2x3x8xf32>, tensor<f32>
  %y = kiln.matmul %x, %w : tensor<2x3x8xf32>, tensor<8x4xf32>
  return %y : tensor<2x3x4xf32>
}

// Weights still dequantized by ops ((f32(W_q) - 0) * s_w per column), signed
// activations without a zero point: no zero point operand.
// CHECK-LABEL: func.func @dequantized_weights
// CHECK:       kiln.integer_matmul %arg0, %{{.*}} : tensor<4x8xi8>, tensor<8x4xi8>
// CHECK-NOT:   kiln.matmul
func.func @dequantized_weights(%q: tensor<4x8xi8>) -> tensor<4x4xf32> {
  %s = kiln.constant dense<0.05> : tensor<f32>
  %wq = kiln.constant dense<[[127, -128, 127, -127], [-82, 77, 94, 21], [-118, -104, -43, -18], [31, -6, -61, -88], [49, 60, -120, -99], [-13, -28, 99, 4], [-21, -18, 42, 22], [-84, 60, 65, 116]]> : tensor<8x4xi8>
  %sw = kiln.constant dense<[0.100000001, 0.0212999992, 0.5, 0.00316999992]> : tensor<4xf32>
  %zero = kiln.constant dense<0.0> : tensor<f32>
  %f = kiln.cast %q : tensor<4x8xi8> -> tensor<4x8xf32>
  %x = kiln.mul %f, %s : tensor<4x8xf32>, tensor<f32>
  %wf = kiln.cast %wq : tensor<8x4xi8> -> tensor<8x4xf32>
  %wc = kiln.sub %wf, %zero : tensor<8x4xf32>, tensor<f32>
  %w = kiln.mul %wc, %sw : tensor<8x4xf32>, tensor<4xf32>
  %y = kiln.matmul %x, %w : tensor<4x8xf32>, tensor<8x4xf32>
  return %y : tensor<4x4xf32>
}

// 7-bit weights (ORT's reduce_range: scale = max |W| / 64), per tensor:
// max / 127 and max / 128 of the matrix do not encode column 0, max / 64
// does; column 1 (max 0.8 too) takes its own max / 128, codes doubled.
// CHECK-LABEL: func.func @reduced_range_weights
// CHECK:       kiln.constant dense<{{\[\[}}64, -6], [10, -128], [5, 14], [-20, 66]]> : tensor<4x2xi8>
// CHECK:       kiln.integer_matmul
// CHECK:       kiln.constant dense<[1.250000e-02, 6.250000e-03]> : tensor<2xf32>
func.func @reduced_range_weights(%q: tensor<2x4xui8>) -> tensor<2x2xf32> {
  %zp = kiln.constant dense<128.0> : tensor<f32>
  %s = kiln.constant dense<1.0> : tensor<f32>
  %w = kiln.constant dense<[[0.800000011920929, -0.03750000149011612], [0.125, -0.800000011920929], [0.0625, 0.08749999850988388], [-0.25, 0.4124999940395355]]> : tensor<4x2xf32>
  %f = kiln.cast %q : tensor<2x4xui8> -> tensor<2x4xf32>
  %c = kiln.sub %f, %zp : tensor<2x4xf32>, tensor<f32>
  %x = kiln.mul %c, %s : tensor<2x4xf32>, tensor<f32>
  %y = kiln.matmul %x, %w : tensor<2x4xf32>, tensor<4x2xf32>
  return %y : tensor<2x2xf32>
}

// One weight 1 ulp off int8 x scale: not exactly int8, stays float.
// CHECK-LABEL: func.func @not_int8_weights
// CHECK-NOT:   kiln.integer_matmul
// CHECK:       kiln.matmul
func.func @not_int8_weights(%q: tensor<2x8xui8>) -> tensor<2x4xf32> {
  %zp = kiln.constant dense<128.0> : tensor<f32>
  %s = kiln.constant dense<0.02> : tensor<f32>
  %w = kiln.constant dense<[[12.6999998, -2.7263999, 63.5, -0.402589977], [-8.19999981, 1.64009988, 47.0, 0.0665699989], [-11.8000002, -2.21519995, -21.5, -0.0570599996], [3.10000014, -0.127799973, -30.5, -0.27895999], [4.9000001, 1.278, -60.0, -0.313829988], [-1.30000007, -0.596399963, 49.5, 0.0126799997], [-2.10000014, -0.383399993, 21.0, 0.0697399974], [-8.40000057, 1.278, 32.5, 0.367719978]]> : tensor<8x4xf32>
  %f = kiln.cast %q : tensor<2x8xui8> -> tensor<2x8xf32>
  %c = kiln.sub %f, %zp : tensor<2x8xf32>, tensor<f32>
  %x = kiln.mul %c, %s : tensor<2x8xf32>, tensor<f32>
  %y = kiln.matmul %x, %w : tensor<2x8xf32>, tensor<8x4xf32>
  return %y : tensor<2x4xf32>
}

// A zero point outside ui8's range, and float activations: left alone.
// CHECK-LABEL: func.func @not_dequantized
// CHECK-NOT:   kiln.integer_matmul
// CHECK-COUNT-2: kiln.matmul
func.func @not_dequantized(%q: tensor<2x8xui8>, %x2: tensor<2x8xf32>) -> (tensor<2x4xf32>, tensor<2x4xf32>) {
  %zp = kiln.constant dense<300.0> : tensor<f32>
  %s = kiln.constant dense<0.02> : tensor<f32>
  %w = kiln.constant dense<[[12.6999998, -2.7263999, 63.5, -0.402589977], [-8.19999981, 1.64009988, 47.0, 0.0665699989], [-11.8000002, -2.21519995, -21.5, -0.0570599996], [3.10000014, -0.127799988, -30.5, -0.27895999], [4.9000001, 1.278, -60.0, -0.313829988], [-1.30000007, -0.596399963, 49.5, 0.0126799997], [-2.10000014, -0.383399993, 21.0, 0.0697399974], [-8.40000057, 1.278, 32.5, 0.367719978]]> : tensor<8x4xf32>
  %f = kiln.cast %q : tensor<2x8xui8> -> tensor<2x8xf32>
  %c = kiln.sub %f, %zp : tensor<2x8xf32>, tensor<f32>
  %x = kiln.mul %c, %s : tensor<2x8xf32>, tensor<f32>
  %y = kiln.matmul %x, %w : tensor<2x8xf32>, tensor<8x4xf32>
  %y2 = kiln.matmul %x2, %w : tensor<2x8xf32>, tensor<8x4xf32>
  return %y, %y2 : tensor<2x4xf32>, tensor<2x4xf32>
}

// An 8-bit embedding table dequantized by ops, then gathered: the rows are
// gathered in ui8 and only they are dequantized.
// CHECK-LABEL: func.func @gather_first
// CHECK:       %[[T:.*]] = kiln.constant dense<{{.*}}> : tensor<4x3xui8>
// CHECK:       %[[G:.*]] = kiln.gather %[[T]], %arg0 {axis = 0 : i64} : tensor<4x3xui8>, tensor<1x2xi64> -> tensor<1x2x3xui8>
// CHECK:       %[[F:.*]] = kiln.cast %[[G]] : tensor<1x2x3xui8> -> tensor<1x2x3xf32>
// CHECK:       %[[C:.*]] = kiln.sub %[[F]], %{{.*}} : tensor<1x2x3xf32>, tensor<f32>
// CHECK:       %[[Y:.*]] = kiln.mul %[[C]], %{{.*}} : tensor<1x2x3xf32>, tensor<f32>
// CHECK:       return %[[Y]]
func.func @gather_first(%ids: tensor<1x2xi64>) -> tensor<1x2x3xf32> {
  %t = kiln.constant dense<[[1, 2, 3], [4, 5, 6], [7, 8, 9], [10, 11, 12]]> : tensor<4x3xui8>
  %zp = kiln.constant dense<128.0> : tensor<f32>
  %s = kiln.constant dense<0.02> : tensor<f32>
  %f = kiln.cast %t : tensor<4x3xui8> -> tensor<4x3xf32>
  %c = kiln.sub %f, %zp : tensor<4x3xf32>, tensor<f32>
  %w = kiln.mul %c, %s : tensor<4x3xf32>, tensor<f32>
  %y = kiln.gather %w, %ids {axis = 0 : i64} : tensor<4x3xf32>, tensor<1x2xi64> -> tensor<1x2x3xf32>
  return %y : tensor<1x2x3xf32>
}

// A conv between dequantized u8 activations and int8 weights dequantized
// per output channel ([F, 1, 1, 1] scales): kiln.integer_conv2d with the
// weights as the [KH * KW * C, F] matrix, rows in (kh, kw, c) order, then
// s_x * s_w[f] per channel and the bias.
// CHECK-LABEL: func.func @conv
// CHECK-DAG:   %[[ZP:.*]] = kiln.constant dense<10> : tensor<ui8>
// CHECK-DAG:   %[[WQ:.*]] = kiln.constant dense<{{\[\[}}1, -1], [5, -5], [2, -2], [6, -6], [3, -3], [7, -7], [4, -4], [8, -8]]> : tensor<8x2xi8>
// CHECK:       %[[P:.*]] = kiln.integer_conv2d %arg0, %[[WQ]] zero_point %[[ZP]] {dilations = array<i64: 1, 1>, kernel = array<i64: 2, 2>, padding = array<i64: 1, 0, 0, 1>, strides = array<i64: 1, 1>} : tensor<1x2x4x4xui8>, tensor<8x2xi8>, tensor<ui8> -> tensor<1x2x4x4xi32>
// CHECK:       %[[F:.*]] = kiln.cast %[[P]] : tensor<1x2x4x4xi32> -> tensor<1x2x4x4xf32>
// CHECK:       %[[S:.*]] = kiln.constant dense<{{\[\[\[}}1.250000e-01]], {{\[\[}}6.250000e-02]]]> : tensor<2x1x1xf32>
// CHECK:       %[[M:.*]] = kiln.mul %[[F]], %[[S]]
// CHECK:       %[[B:.*]] = kiln.constant dense<{{\[\[\[}}1.000000e+00]], {{\[\[}}0.000000e+00]]]> : tensor<2x1x1xf32>
// CHECK:       %[[Y:.*]] = kiln.add %[[M]], %[[B]]
// CHECK:       return %[[Y]]
// CHECK-NOT:   kiln.conv2d
func.func @conv(%q: tensor<1x2x4x4xui8>) -> tensor<1x2x4x4xf32> {
  %zp = kiln.constant dense<10.0> : tensor<f32>
  %s = kiln.constant dense<0.5> : tensor<f32>
  %wq = kiln.constant dense<[[[[1, 2], [3, 4]], [[5, 6], [7, 8]]], [[[-1, -2], [-3, -4]], [[-5, -6], [-7, -8]]]]> : tensor<2x2x2x2xi8>
  %sw = kiln.constant dense<[[[[0.25]]], [[[0.125]]]]> : tensor<2x1x1x1xf32>
  %b = kiln.constant dense<[1.0, 0.0]> : tensor<2xf32>
  %f = kiln.cast %q : tensor<1x2x4x4xui8> -> tensor<1x2x4x4xf32>
  %c = kiln.sub %f, %zp : tensor<1x2x4x4xf32>, tensor<f32>
  %x = kiln.mul %c, %s : tensor<1x2x4x4xf32>, tensor<f32>
  %wf = kiln.cast %wq : tensor<2x2x2x2xi8> -> tensor<2x2x2x2xf32>
  %w = kiln.mul %wf, %sw : tensor<2x2x2x2xf32>, tensor<2x1x1x1xf32>
  %y = kiln.conv2d %x, %w, %b {strides = array<i64: 1, 1>,
         padding = array<i64: 1, 0, 0, 1>, dilations = array<i64: 1, 1>,
         group = 1 : i64}
       : tensor<1x2x4x4xf32>, tensor<2x2x2x2xf32>, tensor<2xf32> -> tensor<1x2x4x4xf32>
  return %y : tensor<1x2x4x4xf32>
}

// A depthwise conv (group = C = F, one channel per filter): weights
// [F, 1, KH, KW] become the [KH * KW, F] matrix, one row per tap.
// CHECK-LABEL: func.func @depthwise_conv
// CHECK:       %[[WQ:.*]] = kiln.constant dense<{{\[\[}}1, 5], [2, 6], [3, 7], [4, 8]]> : tensor<4x2xi8>
// CHECK:       kiln.integer_conv2d %arg0, %[[WQ]] {{{.*}}group = 2 : i64{{.*}}} : tensor<1x2x4x4xui8>, tensor<4x2xi8> -> tensor<1x2x3x3xi32>
// CHECK-NOT:   kiln.conv2d
func.func @depthwise_conv(%q: tensor<1x2x4x4xui8>) -> tensor<1x2x3x3xf32> {
  %s = kiln.constant dense<0.5> : tensor<f32>
  %wq = kiln.constant dense<[[[[1, 2], [3, 4]]], [[[5, 6], [7, 8]]]]> : tensor<2x1x2x2xi8>
  %sw = kiln.constant dense<0.25> : tensor<f32>
  %b = kiln.constant dense<0.0> : tensor<2xf32>
  %f = kiln.cast %q : tensor<1x2x4x4xui8> -> tensor<1x2x4x4xf32>
  %x = kiln.mul %f, %s : tensor<1x2x4x4xf32>, tensor<f32>
  %wf = kiln.cast %wq : tensor<2x1x2x2xi8> -> tensor<2x1x2x2xf32>
  %w = kiln.mul %wf, %sw : tensor<2x1x2x2xf32>, tensor<f32>
  %y = kiln.conv2d %x, %w, %b {strides = array<i64: 1, 1>,
         padding = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>,
         group = 2 : i64}
       : tensor<1x2x4x4xf32>, tensor<2x1x2x2xf32>, tensor<2xf32> -> tensor<1x2x3x3xf32>
  return %y : tensor<1x2x3x3xf32>
}

// Other grouped convs (here 2 groups of 2 channels) stay in float.
// CHECK-LABEL: func.func @grouped_conv
// CHECK:       kiln.conv2d
// CHECK-NOT:   kiln.integer_conv2d
func.func @grouped_conv(%q: tensor<1x4x4x4xui8>) -> tensor<1x4x3x3xf32> {
  %s = kiln.constant dense<0.5> : tensor<f32>
  %wq = kiln.constant dense<1> : tensor<4x2x2x2xi8>
  %sw = kiln.constant dense<0.25> : tensor<f32>
  %b = kiln.constant dense<0.0> : tensor<4xf32>
  %f = kiln.cast %q : tensor<1x4x4x4xui8> -> tensor<1x4x4x4xf32>
  %x = kiln.mul %f, %s : tensor<1x4x4x4xf32>, tensor<f32>
  %wf = kiln.cast %wq : tensor<4x2x2x2xi8> -> tensor<4x2x2x2xf32>
  %w = kiln.mul %wf, %sw : tensor<4x2x2x2xf32>, tensor<f32>
  %y = kiln.conv2d %x, %w, %b {strides = array<i64: 1, 1>,
         padding = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>,
         group = 2 : i64}
       : tensor<1x4x4x4xf32>, tensor<4x2x2x2xf32>, tensor<4xf32> -> tensor<1x4x3x3xf32>
  return %y : tensor<1x4x3x3xf32>
}

// A Gemm with transB: the dequantized [N, K] weights, per row, read
// through a transpose.
// CHECK-LABEL: func.func @transposed_weights
// CHECK:       %[[WQ:.*]] = kiln.constant dense<{{\[\[}}1, -1, 3], [2, -2, 4]]> : tensor<2x3xi8>
// CHECK:       kiln.integer_matmul %arg0, %[[WQ]] : tensor<1x2xi8>, tensor<2x3xi8>
// CHECK-NOT:   kiln.matmul
func.func @transposed_weights(%q: tensor<1x2xi8>) -> tensor<1x3xf32> {
  %s = kiln.constant dense<0.5> : tensor<f32>
  %wq = kiln.constant dense<[[1, 2], [-1, -2], [3, 4]]> : tensor<3x2xi8>
  %sw = kiln.constant dense<[[0.25], [0.5], [1.0]]> : tensor<3x1xf32>
  %f = kiln.cast %q : tensor<1x2xi8> -> tensor<1x2xf32>
  %x = kiln.mul %f, %s : tensor<1x2xf32>, tensor<f32>
  %wf = kiln.cast %wq : tensor<3x2xi8> -> tensor<3x2xf32>
  %w = kiln.mul %wf, %sw : tensor<3x2xf32>, tensor<3x1xf32>
  %wt = kiln.transpose %w {perm = array<i64: 1, 0>} : tensor<3x2xf32> -> tensor<2x3xf32>
  %y = kiln.matmul %x, %wt : tensor<1x2xf32>, tensor<2x3xf32>
  return %y : tensor<1x3xf32>
}
