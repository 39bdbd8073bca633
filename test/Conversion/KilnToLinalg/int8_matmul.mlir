// RUN: %kiln_opt %s --convert-kiln-to-linalg | FileCheck %s

// kiln.dynamic_quantized_matmul's reference form: leading dims fold into M
// (6 rows); the row max |x| (a max reduction from 0), the row scale
// (1 for an all-zero row, else max / 127), the i32 contraction that
// quantizes inline (divide, round half to even, clamp to +-127) and is
// marked for the CPU kernel, then the f32 rescale f32(acc) * s_x * w_s.
// CHECK-LABEL: func.func @int8
// CHECK:       %[[X:.*]] = tensor.collapse_shape %arg0 {{\[}}[0, 1], [2]] : tensor<2x3x5xf32> into tensor<6x5xf32>
// CHECK:       %[[AMAX:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]} ins(%[[X]] : tensor<6x5xf32>)
// CHECK:         math.absf
// CHECK:         arith.maximumf
// CHECK:       %[[SX:.*]] = linalg.generic {{.*}} ins(%[[AMAX]] : tensor<6xf32>)
// CHECK:         %[[ZERO:.*]] = arith.cmpf oeq
// CHECK:         %[[DIV:.*]] = arith.divf %{{.*}}, %{{.*}} : f32
// CHECK:         arith.select %[[ZERO]], %{{.*}}, %[[DIV]]
// CHECK:       %[[ACC0:.*]] = linalg.fill ins(%{{.*}} : i32) outs(%{{.*}} : tensor<6x7xi32>)
// CHECK:       %[[ACC:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]} ins(%[[X]], %[[SX]], %arg1 : tensor<6x5xf32>, tensor<6xf32>, tensor<5x7xi8>) outs(%[[ACC0]] : tensor<6x7xi32>) attrs = {kiln.int8_matmul}
// CHECK:         arith.divf
// CHECK:         math.roundeven
// CHECK-NEXT:    arith.constant -1.270000e+02 : f32
// CHECK-NEXT:    arith.maximumf
// CHECK-NEXT:    arith.constant 1.270000e+02 : f32
// CHECK-NEXT:    arith.minimumf
// CHECK:         arith.fptosi %{{.*}} : f32 to i32
// CHECK:         arith.extsi %{{.*}} : i8 to i32
// CHECK:         arith.muli
// CHECK:         arith.addi
// CHECK:       %[[Y:.*]] = linalg.generic {{.*}} ins(%[[ACC]], %[[SX]], %arg2 : tensor<6x7xi32>, tensor<6xf32>, tensor<7xf32>)
// CHECK:         %[[F:.*]] = arith.sitofp %{{.*}} : i32 to f32
// CHECK:         %[[FS:.*]] = arith.mulf %[[F]], %{{.*}} : f32
// CHECK:         arith.mulf %[[FS]], %{{.*}} : f32
// CHECK:       tensor.expand_shape %[[Y]] {{\[}}[0, 1], [2]] output_shape [2, 3, 7]
func.func @int8(%x: tensor<2x3x5xf32>, %w: tensor<5x7xi8>, %s: tensor<7xf32>) -> tensor<2x3x7xf32> {
  %0 = kiln.dynamic_quantized_matmul %x, %w scales %s : tensor<2x3x5xf32>, tensor<5x7xi8>, tensor<7xf32>
  return %0 : tensor<2x3x7xf32>
}

// A static input_scale: s_x is a fill of the constant (no reduction, no
// per-row scale), then the same contraction (clamping to +-127: values past
// the calibrated range saturate) and rescale.
// CHECK-LABEL: func.func @int8_static
// CHECK-NOT:   iterator_types = ["parallel", "reduction"]
// CHECK:       %[[S:.*]] = arith.constant 1.250000e-01 : f32
// CHECK:       %[[SX:.*]] = linalg.fill ins(%[[S]] : f32) outs(%{{.*}} : tensor<4xf32>)
// CHECK:       %[[ACC:.*]] = linalg.generic {{.*}} ins(%arg0, %[[SX]], %arg1 : tensor<4x5xf32>, tensor<4xf32>, tensor<5x7xi8>) {{.*}} attrs = {kiln.int8_matmul}
// CHECK:         arith.divf
// CHECK:         math.roundeven
// CHECK:         arith.maximumf
// CHECK:         arith.minimumf
// CHECK:       linalg.generic {{.*}} ins(%[[ACC]], %[[SX]], %arg2 : tensor<4x7xi32>, tensor<4xf32>, tensor<7xf32>)
func.func @int8_static(%x: tensor<4x5xf32>, %w: tensor<5x7xi8>, %s: tensor<7xf32>) -> tensor<4x7xf32> {
  %0 = kiln.dynamic_quantized_matmul %x, %w scales %s {input_scale = 0.125 : f32} : tensor<4x5xf32>, tensor<5x7xi8>, tensor<7xf32>
  return %0 : tensor<4x7xf32>
}

// kiln.integer_matmul's reference form: rows fold into M, then one i32
// contraction of (a - zp) * w, marked for the CPU kernel with the
// activations' signedness. A run-time zero point is a 0-d operand
// (unsigned values widened with extui)...
// CHECK-LABEL: func.func @integer_runtime_zp
// CHECK:       %[[X:.*]] = tensor.collapse_shape %arg0 {{\[}}[0, 1], [2]] : tensor<2x3x5xui8> into tensor<6x5xui8>
// CHECK:       %[[ACC0:.*]] = linalg.fill ins(%{{.*}} : i32) outs(%{{.*}} : tensor<6x7xi32>)
// CHECK:       %[[ACC:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]} ins(%[[X]], %arg2, %arg1 : tensor<6x5xui8>, tensor<ui8>, tensor<5x7xi8>) outs(%[[ACC0]] : tensor<6x7xi32>) attrs = {kiln.integer_matmul = "unsigned"}
// CHECK:         arith.extui %{{.*}} : i8 to i32
// CHECK:         arith.extui %{{.*}} : i8 to i32
// CHECK:         arith.subi
// CHECK:         arith.extsi %{{.*}} : i8 to i32
// CHECK:         arith.muli
// CHECK:         arith.addi
// CHECK:       tensor.expand_shape %[[ACC]] {{\[}}[0, 1], [2]] output_shape [2, 3, 7]
func.func @integer_runtime_zp(%x: tensor<2x3x5xui8>, %w: tensor<5x7xi8>, %zp: tensor<ui8>) -> tensor<2x3x7xi32> {
  %0 = kiln.integer_matmul %x, %w zero_point %zp : tensor<2x3x5xui8>, tensor<5x7xi8>, tensor<ui8>
  return %0 : tensor<2x3x7xi32>
}

// ... a constant one is subtracted as a constant and recorded beside the
// marker (sign-extended for signed activations), so that no constant
// operand is left to fold.
// CHECK-LABEL: func.func @integer_constant_zp
// CHECK:       linalg.generic {{.*}} ins(%arg0, %arg1 : tensor<4x5xi8>, tensor<5x7xi8>) {{.*}} attrs = {kiln.integer_matmul = "signed", kiln.integer_matmul_zero_point = -3 : i32}
// CHECK:         %[[A:.*]] = arith.extsi %{{.*}} : i8 to i32
// CHECK:         %[[Z:.*]] = arith.constant -3 : i32
// CHECK:         arith.subi %[[A]], %[[Z]] : i32
func.func @integer_constant_zp(%x: tensor<4x5xi8>, %w: tensor<5x7xi8>) -> tensor<4x7xi32> {
  %zp = kiln.constant dense<-3> : tensor<i8>
  %0 = kiln.integer_matmul %x, %w zero_point %zp : tensor<4x5xi8>, tensor<5x7xi8>, tensor<i8>
  return %0 : tensor<4x7xi32>
}

// No zero point: zero, no subtraction.
// CHECK-LABEL: func.func @integer_no_zp
// CHECK:       linalg.generic {{.*}} ins(%arg0, %arg1 : tensor<4x5xui8>, tensor<5x7xi8>) {{.*}} attrs = {kiln.integer_matmul = "unsigned", kiln.integer_matmul_zero_point = 0 : i32}
// CHECK-NOT:     arith.subi
// CHECK:         arith.muli
func.func @integer_no_zp(%x: tensor<4x5xui8>, %w: tensor<5x7xi8>) -> tensor<4x7xi32> {
  %0 = kiln.integer_matmul %x, %w : tensor<4x5xui8>, tensor<5x7xi8>
  return %0 : tensor<4x7xi32>
}

// kiln.integer_conv2d: the input padded with the zero point, the 8-bit
// im2col rows in (kh, kw, c) order (col [N, OH, OW, KH, KW, C] reads
// x_pad[n, c, oh * 2 + kh, ow * 2 + kw]; MAPS below), the integer contraction of
// kiln.integer_matmul (zero point as the attribute), and the copy back to
// [N, F, OH, OW].
// CHECK-LABEL: func.func @integer_conv
// CHECK:       %[[PAD:.*]] = tensor.pad %arg0 low[0, 0, 0, 0] high[0, 0, 1, 1]
// CHECK:       %[[COL:.*]] = linalg.generic {{.*}} ins(%[[PAD]] : tensor<1x2x5x5xui8>) outs({{.*}} : tensor<1x2x2x2x2x2xui8>)
// CHECK:       %[[ROWS:.*]] = tensor.collapse_shape %[[COL]] {{\[\[}}0, 1, 2], [3, 4, 5]] : tensor<1x2x2x2x2x2xui8> into tensor<4x8xui8>
// CHECK:       %[[ACC:.*]] = linalg.generic {{.*}} ins(%[[ROWS]], %arg1 : tensor<4x8xui8>, tensor<8x3xi8>) {{.*}} attrs = {kiln.integer_matmul = "unsigned", kiln.integer_matmul_zero_point = 10 : i32}
// CHECK:       %[[E:.*]] = tensor.expand_shape %[[ACC]]
// CHECK:       linalg.generic {{.*}} ins(%[[E]] : tensor<1x2x2x3xi32>) outs({{.*}} : tensor<1x3x2x2xi32>)
func.func @integer_conv(%x: tensor<1x2x4x4xui8>, %w: tensor<8x3xi8>) -> tensor<1x3x2x2xi32> {
  %zp = kiln.constant dense<10> : tensor<ui8>
  %0 = kiln.integer_conv2d %x, %w zero_point %zp {kernel = array<i64: 2, 2>,
         strides = array<i64: 2, 2>, padding = array<i64: 0, 0, 1, 1>,
         dilations = array<i64: 1, 1>}
       : tensor<1x2x4x4xui8>, tensor<8x3xi8>, tensor<ui8> -> tensor<1x3x2x2xi32>
  return %0 : tensor<1x3x2x2xi32>
}

// A channels-last 1x1 stride-1 conv: its im2col rows are the input itself
// (a reshape, no copy), and the result needs no transpose.
// CHECK-LABEL: func.func @integer_conv_pointwise_channels_last
// CHECK:       %[[ROWS:.*]] = tensor.collapse_shape %arg0 {{\[\[}}0, 1, 2], [3]] : tensor<1x4x4x8xi8> into tensor<16x8xi8>
// CHECK:       %[[ACC:.*]] = linalg.generic {{.*}} ins(%[[ROWS]], %arg1 : tensor<16x8xi8>, tensor<8x5xi8>) {{.*}} attrs = {kiln.integer_matmul = "signed", kiln.integer_matmul_zero_point = 0 : i32}
// CHECK:       %[[Y:.*]] = tensor.expand_shape %[[ACC]] {{\[\[}}0, 1, 2], [3]] output_shape [1, 4, 4, 5]
// CHECK-NEXT:  return %[[Y]]
func.func @integer_conv_pointwise_channels_last(%x: tensor<1x4x4x8xi8>, %w: tensor<8x5xi8>) -> tensor<1x4x4x5xi32> {
  %0 = kiln.integer_conv2d %x, %w {kernel = array<i64: 1, 1>, channels_last,
         strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>,
         dilations = array<i64: 1, 1>}
       : tensor<1x4x4x8xi8>, tensor<8x5xi8> -> tensor<1x4x4x5xi32>
  return %0 : tensor<1x4x4x5xi32>
}

// A depthwise conv: one elementwise generic over the result, a term per
// tap ((x_pad - zp) * w[tap, c], summed in i32); the pad has one more row
// and column in front that no tap reads (so linalg takes the loop extents
// from the result). Maps: DW below.
// CHECK-LABEL: func.func @integer_conv_depthwise
// CHECK:       %[[PAD:.*]] = tensor.pad %arg0 low[0, 1, 1, 0] high[0, 1, 1, 0]
// CHECK:       linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%[[PAD]], %arg1, %[[PAD]], %arg1, %[[PAD]], %arg1, %[[PAD]], %arg1 : {{.*}}) outs({{.*}} : tensor<1x3x3x4xi32>)
// CHECK-COUNT-4: arith.subi {{.*}}, %c10_i32
// CHECK:       linalg.yield
func.func @integer_conv_depthwise(%x: tensor<1x5x5x4xui8>, %w: tensor<4x4xi8>) -> tensor<1x3x3x4xi32> {
  %zp = kiln.constant dense<10> : tensor<ui8>
  %0 = kiln.integer_conv2d %x, %w zero_point %zp {kernel = array<i64: 2, 2>,
         channels_last, strides = array<i64: 2, 2>,
         padding = array<i64: 0, 0, 1, 1>, dilations = array<i64: 1, 1>,
         group = 4}
       : tensor<1x5x5x4xui8>, tensor<4x4xi8>, tensor<ui8> -> tensor<1x3x3x4xi32>
  return %0 : tensor<1x3x3x4xi32>
}

// RUN: %kiln_opt %s --convert-kiln-to-linalg | FileCheck %s --check-prefix=DW
// DW-DAG: affine_map<(d0, d1, d2, d3) -> (d0, d1 * 2 + 1, d2 * 2 + 1, d3)>
// DW-DAG: affine_map<(d0, d1, d2, d3) -> (0, d3)>
// DW-DAG: affine_map<(d0, d1, d2, d3) -> (d0, d1 * 2 + 1, d2 * 2 + 2, d3)>
// DW-DAG: affine_map<(d0, d1, d2, d3) -> (1, d3)>
// DW-DAG: affine_map<(d0, d1, d2, d3) -> (d0, d1 * 2 + 2, d2 * 2 + 1, d3)>
// DW-DAG: affine_map<(d0, d1, d2, d3) -> (d0, d1 * 2 + 2, d2 * 2 + 2, d3)>
// DW-DAG: affine_map<(d0, d1, d2, d3) -> (3, d3)>

// RUN: %kiln_opt %s --convert-kiln-to-linalg | FileCheck %s --check-prefix=MAPS
// MAPS-DAG: affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d5, d1 * 2 + d3, d2 * 2 + d4)>
// MAPS-DAG: affine_map<(d0, d1, d2, d3) -> (d0, d2, d3, d1)>
