// RUN: %kiln_opt %s --convert-kiln-to-linalg --split-input-file | FileCheck %s

// N-D conv (here 1-D): pad the spatial dims, fill with the bias, one
// generic over (n, f, o, c, k) reading input[n, c, o * stride + k].
// CHECK-DAG: #[[BIAS:.+]] = affine_map<(d0, d1, d2) -> (d1)>
// CHECK-DAG: #[[IN:.+]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d3, d2 * 2 + d4)>
// CHECK-DAG: #[[W:.+]] = affine_map<(d0, d1, d2, d3, d4) -> (d1, d3, d4)>
// CHECK-LABEL: func.func @conv1d
// CHECK:       %[[PAD:.+]] = tensor.pad %arg0 low[0, 0, 1] high[0, 0, 0]
// CHECK:       %[[INIT:.+]] = linalg.generic {indexing_maps = [#[[BIAS]], #{{.+}}]
// CHECK-SAME:    ins(%arg2 : tensor<3xf32>)
// CHECK:       linalg.generic {indexing_maps = [#[[IN]], #[[W]], #{{.+}}],
// CHECK-SAME:    iterator_types = ["parallel", "parallel", "parallel", "reduction", "reduction"]}
// CHECK-SAME:    ins(%[[PAD]], %arg1 : tensor<1x2x9xf32>, tensor<3x2x3xf32>) outs(%[[INIT]] : tensor<1x3x4xf32>)
// CHECK:         arith.mulf
// CHECK:         arith.addf
func.func @conv1d(%x: tensor<1x2x8xf32>, %w: tensor<3x2x3xf32>, %b: tensor<3xf32>) -> tensor<1x3x4xf32> {
  %0 = kiln.conv %x, %w, %b {strides = array<i64: 2>, padding = array<i64: 1, 0>,
                            dilations = array<i64: 1>, group = 1 : i64}
       : tensor<1x2x8xf32>, tensor<3x2x3xf32>, tensor<3xf32> -> tensor<1x3x4xf32>
  return %0 : tensor<1x3x4xf32>
}

// -----

// Groups: the weight is viewed as [G, F/G, C/G, K..] and input channel
// g * C/G + c is read; f16 accumulates in f32 and truncates at the end.
// CHECK-DAG: #[[GIN:.+]] = affine_map<(d0, d1, d2, d3, d4, d5, d6, d7, d8, d9) -> (d0, d1 * 2 + d6, d3 + d7 * 2, d4 + d8 * 2, d5 + d9)>
// CHECK-LABEL: func.func @conv3d_grouped_dilated
// CHECK:       tensor.expand_shape %arg1 {{\[}}[0, 1], [2], [3], [4], [5]] output_shape [2, 2, 2, 2, 2, 1]
// CHECK:       linalg.generic {indexing_maps = [#[[GIN]], #{{.+}}, #{{.+}}]
// CHECK:         arith.extf
// CHECK:       tensor.collapse_shape
// CHECK:       arith.truncf
func.func @conv3d_grouped_dilated(%x: tensor<1x4x5x5x3xf16>, %w: tensor<4x2x2x2x1xf16>, %b: tensor<4xf16>) -> tensor<1x4x3x3x3xf16> {
  %0 = kiln.conv %x, %w, %b {strides = array<i64: 1, 1, 1>, padding = array<i64: 0, 0, 0, 0, 0, 0>,
                            dilations = array<i64: 2, 2, 1>, group = 2 : i64}
       : tensor<1x4x5x5x3xf16>, tensor<4x2x2x2x1xf16>, tensor<4xf16> -> tensor<1x4x3x3x3xf16>
  return %0 : tensor<1x4x3x3x3xf16>
}

// -----

// ceil_mode: 7 elements, kernel 2, stride 2 give 4 windows; the last one
// reads one position past the end, padded with -inf.
// CHECK-DAG: #[[PIN:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2 * 2 + d3)>
// CHECK-DAG: #[[PWIN:.+]] = affine_map<(d0, d1, d2, d3) -> (d3)>
// CHECK-LABEL: func.func @max_pool_ceil
// CHECK:       %[[NEGINF:.+]] = arith.constant 0xFF800000 : f32
// CHECK:       %[[PAD:.+]] = tensor.pad %arg0 low[0, 0, 0] high[0, 0, 1]
// CHECK:         tensor.yield %[[NEGINF]] : f32
// CHECK:       linalg.generic {indexing_maps = [#[[PIN]], #[[PWIN]], #{{.+}}], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
// CHECK-SAME:    ins(%[[PAD]], %{{.+}} : tensor<1x1x8xf32>, tensor<2xf32>)
// CHECK:         arith.maximumf
func.func @max_pool_ceil(%x: tensor<1x1x7xf32>) -> tensor<1x1x4xf32> {
  %0 = kiln.max_pool %x {kernel = array<i64: 2>, strides = array<i64: 2>, padding = array<i64: 0, 0>,
                         dilations = array<i64: 1>, ceil_mode = true}
       : tensor<1x1x7xf32> -> tensor<1x1x4xf32>
  return %0 : tensor<1x1x4xf32>
}

// -----

// Unsigned max pooling compares with maxui on the signless bits, starting
// from 0; dilation 2 reads input[o * 2 + k * 2].
// CHECK-DAG: #[[UIN:.+]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2 * 2 + d4 * 2, d3 * 2 + d5 * 2)>
// CHECK-LABEL: func.func @max_pool_uint8_dilated
// CHECK:       linalg.generic {indexing_maps = [#[[UIN]],
// CHECK:         arith.maxui
func.func @max_pool_uint8_dilated(%x: tensor<1x1x5x5xui8>) -> tensor<1x1x2x2xui8> {
  %0 = kiln.max_pool %x {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>,
                         padding = array<i64: 0, 0, 0, 0>, dilations = array<i64: 2, 2>}
       : tensor<1x1x5x5xui8> -> tensor<1x1x2x2xui8>
  return %0 : tensor<1x1x2x2xui8>
}

// -----

// Averages with count_include_pad still never count the positions ceil
// mode adds past the end padding: the last window divides by 1.
// CHECK-LABEL: func.func @avg_pool_ceil_include_pad
// CHECK:       tensor.pad %arg0 low[0, 0, 0] high[0, 0, 1]
// CHECK:       %[[SUM:.+]] = linalg.generic
// CHECK:         arith.addf
// CHECK:       %[[COUNTS:.+]] = arith.constant dense<[2.000000e+00, 2.000000e+00, 2.000000e+00, 1.000000e+00]> : tensor<4xf32>
// CHECK:       linalg.generic
// CHECK-SAME:    ins(%[[SUM]], %[[COUNTS]] : tensor<1x1x4xf32>, tensor<4xf32>)
// CHECK:         arith.divf
func.func @avg_pool_ceil_include_pad(%x: tensor<1x1x7xf32>) -> tensor<1x1x4xf32> {
  %0 = kiln.avg_pool %x {kernel = array<i64: 2>, strides = array<i64: 2>, padding = array<i64: 0, 0>,
                         dilations = array<i64: 1>, ceil_mode = true, count_include_pad = true}
       : tensor<1x1x7xf32> -> tensor<1x1x4xf32>
  return %0 : tensor<1x1x4xf32>
}

// -----

// Uniform windows divide by one scalar: a 2x2x2 kernel over an 8^3 input.
// CHECK-LABEL: func.func @avg_pool_3d
// CHECK:       linalg.generic
// CHECK-SAME:    iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]
// CHECK:       linalg.generic
// CHECK:         %[[AREA:.+]] = arith.constant 8.0
// CHECK:         arith.divf %{{.+}}, %[[AREA]]
func.func @avg_pool_3d(%x: tensor<1x3x8x8x8xf32>) -> tensor<1x3x4x4x4xf32> {
  %0 = kiln.avg_pool %x {kernel = array<i64: 2, 2, 2>, strides = array<i64: 2, 2, 2>,
                         padding = array<i64: 0, 0, 0, 0, 0, 0>, dilations = array<i64: 1, 1, 1>}
       : tensor<1x3x8x8x8xf32> -> tensor<1x3x4x4x4xf32>
  return %0 : tensor<1x3x4x4x4xf32>
}
