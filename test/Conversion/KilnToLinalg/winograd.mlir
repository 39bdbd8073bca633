// RUN: %kiln_opt %s --convert-kiln-to-linalg | FileCheck %s

// One filter, one channel, g = [[0 0 0] [0 1 0] [0 0 0]] (the identity
// tap): U = G g G^T has rows [0 0 0 0], [0 .25 -.25 0], [0 -.25 .25 0],
// [0 0 0 0] (U[k] at k = 4 xi + nu). 5x5 output -> 3x3 tiles; the input is
// padded to 2 * 3 + 2 = 8 rows and 16 * 1 + 2 = 18 columns.
// CHECK-LABEL: func.func @winograd
// CHECK: tensor.pad {{.*}} low[0, 0, 1, 1] high[0, 0, 2, 12]
// CHECK: linalg.generic {{.*}}ins({{.*}} : tensor<1x1x8x18xf32>, tensor<16x4x4xf32>) outs({{.*}} : tensor<16x1x1x3x3xf32>) attrs = {kiln.winograd = "input"}
// CHECK: arith.constant dense<{{\[}}[{{\[}}0.000000e+00]], {{\[}}[0.000000e+00]], {{\[}}[0.000000e+00]], {{\[}}[0.000000e+00]], {{\[}}[0.000000e+00]], {{\[}}[2.500000e-01]], {{\[}}[-2.500000e-01]], {{\[}}[0.000000e+00]], {{\[}}[0.000000e+00]], {{\[}}[-2.500000e-01]], {{\[}}[2.500000e-01]], {{\[}}[0.000000e+00]], {{\[}}[0.000000e+00]], {{\[}}[0.000000e+00]], {{\[}}[0.000000e+00]], {{\[}}[0.000000e+00]]]> : tensor<16x1x1xf32>
// CHECK: linalg.generic {{.*}}outs({{.*}} : tensor<16x1x9xf32>)
// CHECK: linalg.generic {{.*}}ins({{.*}} : tensor<16x1x1x3x3xf32>, tensor<16x2x2xf32>) outs({{.*}} : tensor<1x1x5x5xf32>) attrs = {kiln.winograd = "output"}
func.func @winograd(%x: tensor<1x1x5x5xf32>) -> tensor<1x1x5x5xf32> {
  %w = kiln.constant dense<[[[[0.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 0.0]]]]> : tensor<1x1x3x3xf32>
  %b = kiln.constant dense<0.5> : tensor<1xf32>
  %y = kiln.conv2d %x, %w, %b {strides = array<i64: 1, 1>, padding = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, group = 1 : i64, winograd} : tensor<1x1x5x5xf32>, tensor<1x1x3x3xf32>, tensor<1xf32> -> tensor<1x1x5x5xf32>
  return %y : tensor<1x1x5x5xf32>
}
