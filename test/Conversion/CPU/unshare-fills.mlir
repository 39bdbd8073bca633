// RUN: %kiln_opt %s --kiln-unshare-fills --split-input-file | FileCheck %s

// One zero fill (CSE merged two) is the init of two matmuls: one of them
// gets its own tensor.empty + fill, so bufferization can write both in
// place instead of copying the filled buffer.
// CHECK-LABEL: func.func @shared
// CHECK-COUNT-2: linalg.fill ins(%{{.*}} : f32)
// CHECK:      linalg.matmul ins(%arg0, %arg1 : {{.*}} outs(%[[A:[0-9]+]] : tensor<2x2xf32>)
// CHECK-NOT:  outs(%[[A]] :
// CHECK:      linalg.matmul ins(%arg1, %arg0 : {{.*}} outs(%{{[0-9]+}} : tensor<2x2xf32>)
func.func @shared(%a: tensor<2x2xf32>, %b: tensor<2x2xf32>) -> (tensor<2x2xf32>, tensor<2x2xf32>) {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x2xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<2x2xf32>) -> tensor<2x2xf32>
  %0 = linalg.matmul ins(%a, %b : tensor<2x2xf32>, tensor<2x2xf32>) outs(%f : tensor<2x2xf32>) -> tensor<2x2xf32>
  %1 = linalg.matmul ins(%b, %a : tensor<2x2xf32>, tensor<2x2xf32>) outs(%f : tensor<2x2xf32>) -> tensor<2x2xf32>
  return %0, %1 : tensor<2x2xf32>, tensor<2x2xf32>
}

// -----

// A fill read as an input (not a destination) stays shared.
// CHECK-LABEL: func.func @read
// CHECK-COUNT-1: linalg.fill
// CHECK-NOT: linalg.fill
func.func @read(%a: tensor<2x2xf32>) -> (tensor<2x2xf32>, tensor<2x2xf32>) {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x2xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<2x2xf32>) -> tensor<2x2xf32>
  %0 = linalg.add ins(%a, %f : tensor<2x2xf32>, tensor<2x2xf32>) outs(%a : tensor<2x2xf32>) -> tensor<2x2xf32>
  %1 = linalg.add ins(%f, %a : tensor<2x2xf32>, tensor<2x2xf32>) outs(%a : tensor<2x2xf32>) -> tensor<2x2xf32>
  return %0, %1 : tensor<2x2xf32>, tensor<2x2xf32>
}

// -----

// One tensor.empty (CSE merged two) is the init of two generics: the
// second gets its own, so that bufferization does not hand the first
// one's buffer (dead by then) to the second. A kernel that reads the first
// result while writing the second (a depthwise conv reading its padding in
// place, with the Clip after it fused) would see its own output.
// CHECK-LABEL: func.func @shared_empty
// CHECK-COUNT-2: tensor.empty() : tensor<4xf32>
// CHECK-NOT: tensor.empty
func.func @shared_empty(%a: tensor<4xf32>) -> tensor<4xf32> {
  %e = tensor.empty() : tensor<4xf32>
  %0 = linalg.exp ins(%a : tensor<4xf32>) outs(%e : tensor<4xf32>) -> tensor<4xf32>
  %1 = linalg.negf ins(%0 : tensor<4xf32>) outs(%e : tensor<4xf32>) -> tensor<4xf32>
  return %1 : tensor<4xf32>
}
