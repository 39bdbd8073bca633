// RUN: %kiln_opt %s --convert-kiln-to-linalg --split-input-file | FileCheck %s

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
  %y = kiln.conv2d %x, %w, %b {strides = array<i64: 1, 1>, padding = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, group = 1 : i64, winograd = 2 : i64} : tensor<1x1x5x5xf32>, tensor<1x1x3x3xf32>, tensor<1xf32> -> tensor<1x1x5x5xf32>
  return %y : tensor<1x1x5x5xf32>
}

// -----

// F(4x4, 3x3): 6x6 input tiles, 36 transform points. The same identity
// tap: U[k] = G[xi, 1] G[nu, 1] with G's middle column [0 -1/6 1/6 1/12
// -1/12 0] (U[7] = 1/36, U[8] = -1/36, U[9] = -1/72). 5x5 output -> 2x2
// tiles; the input is padded to 4 * 2 + 2 = 10 rows and 8 * 4 * 1 + 4 = 36
// columns.
// CHECK-LABEL: func.func @winograd4
// CHECK: tensor.pad {{.*}} low[0, 0, 1, 1] high[0, 0, 4, 30]
// CHECK: linalg.generic {{.*}}ins({{.*}} : tensor<1x1x10x36xf32>, tensor<36x6x6xf32>) outs({{.*}} : tensor<36x1x1x2x2xf32>) attrs = {kiln.winograd = "input"}
// CHECK: arith.constant dense<{{\[}}[{{\[}}0.000000e+00]], {{\[}}[-0.000000e+00]], {{.*}}, {{\[}}[-0.000000e+00]], {{\[}}[0.027777778]], {{\[}}[-0.027777778]], {{\[}}[-0.013888889]], {{\[}}[0.013888889]], {{.*}} : tensor<36x1x1xf32>
// CHECK: linalg.generic {{.*}}outs({{.*}} : tensor<36x1x4xf32>)
// CHECK: linalg.generic {{.*}}ins({{.*}} : tensor<36x1x1x2x2xf32>, tensor<36x4x4xf32>) outs({{.*}} : tensor<1x1x5x5xf32>) attrs = {kiln.winograd = "output"}
func.func @winograd4(%x: tensor<1x1x5x5xf32>) -> tensor<1x1x5x5xf32> {
  %w = kiln.constant dense<[[[[0.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 0.0]]]]> : tensor<1x1x3x3xf32>
  %b = kiln.constant dense<0.5> : tensor<1xf32>
  %y = kiln.conv2d %x, %w, %b {strides = array<i64: 1, 1>, padding = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, group = 1 : i64, winograd = 4 : i64} : tensor<1x1x5x5xf32>, tensor<1x1x3x3xf32>, tensor<1xf32> -> tensor<1x1x5x5xf32>
  return %y : tensor<1x1x5x5xf32>
}
