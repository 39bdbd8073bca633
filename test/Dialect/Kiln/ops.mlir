// RUN: %kiln_opt %s | %kiln_opt | FileCheck %s
// Round trip: every kiln op parses, verifies and prints back.

// CHECK-LABEL: func.func @elementwise
func.func @elementwise(%x: tensor<2x3xf32>, %y: tensor<3xf32>, %b: tensor<2x3xi1>) -> tensor<2x3xf32> {
  // CHECK: kiln.add %{{.*}}, %{{.*}} : tensor<2x3xf32>, tensor<3xf32>
  %0 = kiln.add %x, %y : tensor<2x3xf32>, tensor<3xf32>
  // CHECK: kiln.sub
  %1 = kiln.sub %0, %y : tensor<2x3xf32>, tensor<3xf32>
  // CHECK: kiln.mul
  %2 = kiln.mul %1, %x : tensor<2x3xf32>, tensor<2x3xf32>
  // CHECK: kiln.div
  %3 = kiln.div %2, %x : tensor<2x3xf32>, tensor<2x3xf32>
  // CHECK: kiln.pow
  %4 = kiln.pow %3, %y : tensor<2x3xf32>, tensor<3xf32>
  // CHECK: kiln.max
  %5 = kiln.max %4, %x : tensor<2x3xf32>, tensor<2x3xf32>
  // CHECK: kiln.min
  %6 = kiln.min %5, %x : tensor<2x3xf32>, tensor<2x3xf32>
  // CHECK: kiln.neg
  %7 = kiln.neg %6 : tensor<2x3xf32>
  // CHECK: kiln.abs
  %8 = kiln.abs %7 : tensor<2x3xf32>
  // CHECK: kiln.sqrt
  %9 = kiln.sqrt %8 : tensor<2x3xf32>
  // CHECK: kiln.exp
  %10 = kiln.exp %9 : tensor<2x3xf32>
  // CHECK: kiln.log
  %11 = kiln.log %10 : tensor<2x3xf32>
  // CHECK: kiln.erf
  %12 = kiln.erf %11 : tensor<2x3xf32>
  // CHECK: kiln.tanh
  %13 = kiln.tanh %12 : tensor<2x3xf32>
  // CHECK: kiln.sigmoid
  %14 = kiln.sigmoid %13 : tensor<2x3xf32>
  // CHECK: kiln.relu
  %15 = kiln.relu %14 : tensor<2x3xf32>
  // CHECK: kiln.reciprocal
  %16 = kiln.reciprocal %15 : tensor<2x3xf32>
  // CHECK: kiln.leaky_relu %{{.*}} {alpha = 0.00999999977 : f32}
  %17 = kiln.leaky_relu %16 {alpha = 0.01 : f32} : tensor<2x3xf32>
  // CHECK: kiln.clip %{{.*}} {max = 6.000000e+00 : f64, min = 0.000000e+00 : f64}
  %18 = kiln.clip %17 {min = 0.0 : f64, max = 6.0 : f64} : tensor<2x3xf32>
  // CHECK: kiln.gelu %{{.*}} {approximate = "tanh"}
  %19 = kiln.gelu %18 {approximate = "tanh"} : tensor<2x3xf32>
  // CHECK: kiln.equal {{.*}} : tensor<2x3xf32>, tensor<3xf32>
  %c = kiln.equal %19, %y : tensor<2x3xf32>, tensor<3xf32>
  // CHECK: kiln.less
  %l = kiln.less %19, %y : tensor<2x3xf32>, tensor<3xf32>
  // CHECK: kiln.greater
  %g = kiln.greater %19, %y : tensor<2x3xf32>, tensor<3xf32>
  // CHECK: kiln.and
  %a = kiln.and %c, %l : tensor<2x3xi1>, tensor<2x3xi1>
  // CHECK: kiln.or
  %o = kiln.or %a, %g : tensor<2x3xi1>, tensor<2x3xi1>
  // CHECK: kiln.not
  %n = kiln.not %o : tensor<2x3xi1>
  // CHECK: kiln.where {{.*}} : tensor<2x3xi1>, tensor<2x3xf32>, tensor<3xf32>
  %20 = kiln.where %n, %19, %y : tensor<2x3xi1>, tensor<2x3xf32>, tensor<3xf32>
  // CHECK: kiln.cast {{.*}} : tensor<2x3xf32> -> tensor<2x3xi64>
  %21 = kiln.cast %20 : tensor<2x3xf32> -> tensor<2x3xi64>
  %22 = kiln.cast %21 : tensor<2x3xi64> -> tensor<2x3xf32>
  return %22 : tensor<2x3xf32>
}

// CHECK-LABEL: func.func @linalg_like
func.func @linalg_like(%a: tensor<2x4x8xf32>, %b: tensor<8x16xf32>,
                       %img: tensor<1x4x9x9xf32>, %w: tensor<6x2x3x3xf32>,
                       %bias: tensor<6xf32>, %s: tensor<6xf32>) -> tensor<2x4x16xf32> {
  // CHECK: kiln.matmul {{.*}} : tensor<2x4x8xf32>, tensor<8x16xf32>
  %0 = kiln.matmul %a, %b : tensor<2x4x8xf32>, tensor<8x16xf32>
  // CHECK: kiln.conv2d {{.*}}group = 2 : i64{{.*}} -> tensor<1x6x5x5xf32>
  %1 = kiln.conv2d %img, %w, %bias {strides = array<i64: 2, 2>, padding = array<i64: 1, 1, 1, 1>,
         dilations = array<i64: 1, 1>, group = 2 : i64}
       : tensor<1x4x9x9xf32>, tensor<6x2x3x3xf32>, tensor<6xf32> -> tensor<1x6x5x5xf32>
  // CHECK: kiln.batch_norm
  %2 = kiln.batch_norm %1, %s, %s, %s, %s {epsilon = 1.0e-5 : f32} : tensor<1x6x5x5xf32>, tensor<6xf32>
  // CHECK: kiln.max_pool2d {{.*}} -> tensor<1x6x3x3xf32>
  %3 = kiln.max_pool2d %2 {kernel = array<i64: 3, 3>, strides = array<i64: 2, 2>, padding = array<i64: 1, 1, 1, 1>}
       : tensor<1x6x5x5xf32> -> tensor<1x6x3x3xf32>
  // CHECK: kiln.avg_pool2d {{.*}}count_include_pad = true
  %4 = kiln.avg_pool2d %3 {kernel = array<i64: 2, 2>, strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, count_include_pad = true}
       : tensor<1x6x3x3xf32> -> tensor<1x6x2x2xf32>
  return %0 : tensor<2x4x16xf32>
}

// CHECK-LABEL: func.func @norms_and_reductions
func.func @norms_and_reductions(%x: tensor<1x16x64xf32>, %g: tensor<64xf32>) -> tensor<1x16x1xf32> {
  // CHECK: kiln.softmax {{.*}}{axis = 2 : i64}
  %0 = kiln.softmax %x {axis = 2 : i64} : tensor<1x16x64xf32>
  // CHECK: kiln.layer_norm
  %1 = kiln.layer_norm %0, %g, %g {axis = 2 : i64, epsilon = 1.0e-5 : f32} : tensor<1x16x64xf32>, tensor<64xf32>
  // CHECK: kiln.reduce_sum {{.*}} -> tensor<16xf32>
  %2 = kiln.reduce_sum %1 {axes = array<i64: 0, 2>, keepdims = false} : tensor<1x16x64xf32> -> tensor<16xf32>
  // CHECK: kiln.reduce_max
  %3 = kiln.reduce_max %1 {axes = array<i64: 2>, keepdims = true} : tensor<1x16x64xf32> -> tensor<1x16x1xf32>
  // CHECK: kiln.reduce_mean
  %4 = kiln.reduce_mean %1 {axes = array<i64: 2>, keepdims = true} : tensor<1x16x64xf32> -> tensor<1x16x1xf32>
  return %4 : tensor<1x16x1xf32>
}

// CHECK-LABEL: func.func @data_movement
func.func @data_movement(%x: tensor<4x8xf32>, %i: tensor<2x3xi64>) -> tensor<4x8xf32> {
  // CHECK: kiln.constant dense<1.000000e+00> : tensor<4x8xf32>
  %c = kiln.constant dense<1.0> : tensor<4x8xf32>
  // CHECK: kiln.reshape {{.*}} : tensor<4x8xf32> -> tensor<2x16xf32>
  %0 = kiln.reshape %x : tensor<4x8xf32> -> tensor<2x16xf32>
  // CHECK: kiln.transpose {{.*}} -> tensor<8x4xf32>
  %1 = kiln.transpose %x {perm = array<i64: 1, 0>} : tensor<4x8xf32> -> tensor<8x4xf32>
  // CHECK: kiln.concat {{.*}} -> tensor<8x8xf32>
  %2 = kiln.concat %x, %c {axis = 0 : i64} : tensor<4x8xf32>, tensor<4x8xf32> -> tensor<8x8xf32>
  // CHECK: kiln.slice {{.*}} -> tensor<2x3xf32>
  %3 = kiln.slice %x {starts = array<i64: 3, 1>, sizes = array<i64: 2, 3>, steps = array<i64: -2, 2>} : tensor<4x8xf32> -> tensor<2x3xf32>
  // CHECK: kiln.gather {{.*}} -> tensor<2x3x8xf32>
  %4 = kiln.gather %x, %i {axis = 0 : i64} : tensor<4x8xf32>, tensor<2x3xi64> -> tensor<2x3x8xf32>
  // CHECK: kiln.expand {{.*}} : tensor<1x8xf32> -> tensor<4x8xf32>
  %r = kiln.reshape %3 : tensor<2x3xf32> -> tensor<6xf32>
  %e0 = kiln.slice %x {starts = array<i64: 0, 0>, sizes = array<i64: 1, 8>, steps = array<i64: 1, 1>} : tensor<4x8xf32> -> tensor<1x8xf32>
  %5 = kiln.expand %e0 : tensor<1x8xf32> -> tensor<4x8xf32>
  %6 = kiln.add %5, %c : tensor<4x8xf32>, tensor<4x8xf32>
  return %6 : tensor<4x8xf32>
}
