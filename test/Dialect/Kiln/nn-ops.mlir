// RUN: %kiln_opt %s | %kiln_opt | FileCheck %s
// Round trip of the N-D window and scatter ops.

// CHECK-LABEL: func.func @conv3d
func.func @conv3d(%x: tensor<1x2x4x4x4xf32>, %w: tensor<3x2x3x3x3xf32>, %b: tensor<3xf32>) -> tensor<1x3x4x4x4xf32> {
  // CHECK: kiln.conv %{{.*}}, %{{.*}}, %{{.*}} {dilations = array<i64: 1, 1, 1>, group = 1 : i64, padding = array<i64: 1, 1, 1, 1, 1, 1>, strides = array<i64: 1, 1, 1>} : tensor<1x2x4x4x4xf32>, tensor<3x2x3x3x3xf32>, tensor<3xf32> -> tensor<1x3x4x4x4xf32>
  %0 = kiln.conv %x, %w, %b {strides = array<i64: 1, 1, 1>, padding = array<i64: 1, 1, 1, 1, 1, 1>,
                            dilations = array<i64: 1, 1, 1>, group = 1 : i64}
       : tensor<1x2x4x4x4xf32>, tensor<3x2x3x3x3xf32>, tensor<3xf32> -> tensor<1x3x4x4x4xf32>
  return %0 : tensor<1x3x4x4x4xf32>
}

// CHECK-LABEL: func.func @conv1d_grouped_strided
func.func @conv1d_grouped_strided(%x: tensor<2x4x9xf32>, %w: tensor<6x2x3xf32>, %b: tensor<6xf32>) -> tensor<2x6x2xf32> {
  // CHECK: kiln.conv {{.*}} -> tensor<2x6x2xf32>
  %0 = kiln.conv %x, %w, %b {strides = array<i64: 3>, padding = array<i64: 0, 0>,
                            dilations = array<i64: 2>, group = 2 : i64}
       : tensor<2x4x9xf32>, tensor<6x2x3xf32>, tensor<6xf32> -> tensor<2x6x2xf32>
  return %0 : tensor<2x6x2xf32>
}

// CHECK-LABEL: func.func @pools
func.func @pools(%x: tensor<1x3x8x8x8xf32>, %q: tensor<1x1x5x5xui8>, %l: tensor<1x1x7xf32>)
    -> (tensor<1x3x4x4x4xf32>, tensor<1x1x2x2xui8>, tensor<1x1x4xf32>) {
  // The default ceil_mode = false is not printed.
  // CHECK: kiln.max_pool %{{.*}} {dilations = array<i64: 1, 1, 1>, kernel = array<i64: 2, 2, 2>, padding = array<i64: 0, 0, 0, 0, 0, 0>, strides = array<i64: 2, 2, 2>} : tensor<1x3x8x8x8xf32> -> tensor<1x3x4x4x4xf32>
  %0 = kiln.max_pool %x {kernel = array<i64: 2, 2, 2>, strides = array<i64: 2, 2, 2>,
                         padding = array<i64: 0, 0, 0, 0, 0, 0>, dilations = array<i64: 1, 1, 1>}
       : tensor<1x3x8x8x8xf32> -> tensor<1x3x4x4x4xf32>
  // Integer max pooling, dilated.
  // CHECK: kiln.max_pool {{.*}} : tensor<1x1x5x5xui8> -> tensor<1x1x2x2xui8>
  %1 = kiln.max_pool %q {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>,
                         padding = array<i64: 0, 0, 0, 0>, dilations = array<i64: 2, 2>}
       : tensor<1x1x5x5xui8> -> tensor<1x1x2x2xui8>
  // ceil_mode: (7 - 2) / 2 rounds up to 3, plus one window.
  // CHECK: kiln.avg_pool %{{.*}} {ceil_mode = true, count_include_pad = true, dilations = array<i64: 1>, kernel = array<i64: 2>, padding = array<i64: 0, 0>, strides = array<i64: 2>} : tensor<1x1x7xf32> -> tensor<1x1x4xf32>
  %2 = kiln.avg_pool %l {kernel = array<i64: 2>, strides = array<i64: 2>, padding = array<i64: 0, 0>,
                         dilations = array<i64: 1>, ceil_mode = true, count_include_pad = true}
       : tensor<1x1x7xf32> -> tensor<1x1x4xf32>
  return %0, %1, %2 : tensor<1x3x4x4x4xf32>, tensor<1x1x2x2xui8>, tensor<1x1x4xf32>
}

// CHECK-LABEL: func.func @scatter
func.func @scatter(%d: tensor<4x4xf32>, %i: tensor<2x1xi64>, %u: tensor<2x4xf32>,
                   %e: tensor<2x2xi64>, %v: tensor<2xf32>) -> (tensor<4x4xf32>, tensor<4x4xf32>) {
  // CHECK: kiln.scatter_nd %{{.*}}, %{{.*}}, %{{.*}} {reduction = "add"} : tensor<4x4xf32>, tensor<2x1xi64>, tensor<2x4xf32>
  %0 = kiln.scatter_nd %d, %i, %u {reduction = "add"} : tensor<4x4xf32>, tensor<2x1xi64>, tensor<2x4xf32>
  // The default reduction is "none" and is not printed.
  // CHECK: kiln.scatter_nd %{{.*}}, %{{.*}}, %{{.*}} : tensor<4x4xf32>, tensor<2x2xi64>, tensor<2xf32>
  %1 = kiln.scatter_nd %d, %e, %v : tensor<4x4xf32>, tensor<2x2xi64>, tensor<2xf32>
  return %0, %1 : tensor<4x4xf32>, tensor<4x4xf32>
}

// CHECK-LABEL: func.func @cumulative
func.func @cumulative(%x: tensor<2x5xi32>, %y: tensor<7xf64>) -> (tensor<2x5xi32>, tensor<7xf64>) {
  // CHECK: kiln.cumulative %{{.*}} {axis = 1 : i64, exclusive = false, kind = "prod", reverse = true} : tensor<2x5xi32>
  %0 = kiln.cumulative %x {axis = 1 : i64, kind = "prod", exclusive = false, reverse = true} : tensor<2x5xi32>
  // CHECK: kiln.cumulative %{{.*}} {axis = 0 : i64, exclusive = true, kind = "sum", reverse = false} : tensor<7xf64>
  %1 = kiln.cumulative %y {axis = 0 : i64, kind = "sum", exclusive = true, reverse = false} : tensor<7xf64>
  return %0, %1 : tensor<2x5xi32>, tensor<7xf64>
}
