// RUN: %kiln_opt %s --kiln-fuse-elementwise | FileCheck %s

#id = affine_map<(d0, d1) -> (d0, d1)>
#mk = affine_map<(d0, d1, d2) -> (d0, d2)>
#kn = affine_map<(d0, d1, d2) -> (d2, d1)>
#mn = affine_map<(d0, d1, d2) -> (d0, d1)>

// An elementwise chain becomes one generic.
// CHECK-LABEL: func.func @chain
// CHECK: linalg.generic
// CHECK: math.exp
// CHECK: arith.addf
// CHECK-NOT: linalg.generic
func.func @chain(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %e = tensor.empty() : tensor<4x8xf32>
  %0 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = math.exp %a : f32
    linalg.yield %r : f32
  } -> tensor<4x8xf32>
  %1 = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%0, %x : tensor<4x8xf32>, tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %r = arith.addf %a, %b : f32
    linalg.yield %r : f32
  } -> tensor<4x8xf32>
  return %1 : tensor<4x8xf32>
}

// An elementwise producer is not fused into a reduction (a matmul would
// recompute it once per output column).
// CHECK-LABEL: func.func @into_matmul
// CHECK: math.exp
// CHECK: linalg.generic
// CHECK-SAME: iterator_types = ["parallel", "parallel", "reduction"]
// CHECK-NOT: math.exp
func.func @into_matmul(%x: tensor<4x8xf32>, %w: tensor<8x16xf32>, %acc: tensor<4x16xf32>) -> tensor<4x16xf32> {
  %e = tensor.empty() : tensor<4x8xf32>
  %0 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = math.exp %a : f32
    linalg.yield %r : f32
  } -> tensor<4x8xf32>
  %1 = linalg.generic {indexing_maps = [#mk, #kn, #mn], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%0, %w : tensor<4x8xf32>, tensor<8x16xf32>) outs(%acc : tensor<4x16xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.mulf %a, %b : f32
    %s = arith.addf %o, %m : f32
    linalg.yield %s : f32
  } -> tensor<4x16xf32>
  return %1 : tensor<4x16xf32>
}

// An elementwise op reading a matmul's result through the expand_shape that
// restores its batch dims ([1, 4, 8] from the [4, 8] rows) moves onto the
// matmul's shape, its result expanded after it: the kernel can absorb it.
// CHECK-LABEL: func.func @epilogue_of_expanded
// CHECK: %[[MM:.*]] = linalg.matmul
// CHECK: %[[E:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]} ins(%[[MM]], %{{.*}} : tensor<4x8xf32>, tensor<8xf32>)
// CHECK: tensor.expand_shape %[[E]] {{\[}}[0, 1], [2]] output_shape [1, 4, 8]
#b3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#bias3 = affine_map<(d0, d1, d2) -> (d2)>
func.func @epilogue_of_expanded(%a: tensor<4x16xf32>, %w: tensor<16x8xf32>, %bias: tensor<8xf32>) -> tensor<1x4x8xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x8xf32>
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<4x8xf32>) -> tensor<4x8xf32>
  %mm = linalg.matmul ins(%a, %w : tensor<4x16xf32>, tensor<16x8xf32>) outs(%init : tensor<4x8xf32>) -> tensor<4x8xf32>
  %x = tensor.expand_shape %mm [[0, 1], [2]] output_shape [1, 4, 8] : tensor<4x8xf32> into tensor<1x4x8xf32>
  %o = tensor.empty() : tensor<1x4x8xf32>
  %y = linalg.generic {indexing_maps = [#b3, #bias3, #b3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%x, %bias : tensor<1x4x8xf32>, tensor<8xf32>) outs(%o : tensor<1x4x8xf32>) {
  ^bb0(%in: f32, %b: f32, %out: f32):
    %0 = arith.addf %in, %b : f32
    linalg.yield %0 : f32
  } -> tensor<1x4x8xf32>
  return %y : tensor<1x4x8xf32>
}

// A QuantizeLinear's clamp to [0, 255] then the cast to 8 bits (through
// i64, so that out-of-range values would wrap): the clamped value is never
// out of i32's range, so it converts through i32. Without the clamp the
// i64 conversion stays.
// CHECK-LABEL: func.func @clamped_to_u8
// CHECK:       arith.minimumf
// CHECK-NEXT:  %[[I:.*]] = arith.fptosi %{{.*}} : f32 to i32
// CHECK-NEXT:  arith.trunci %[[I]] : i32 to i8
// CHECK-LABEL: func.func @unclamped_to_i8
// CHECK:       %[[W:.*]] = arith.fptosi %{{.*}} : f32 to i64
// CHECK-NEXT:  arith.trunci %[[W]] : i64 to i8
#e1 = affine_map<(d0) -> (d0)>
func.func @clamped_to_u8(%x: tensor<64xf32>) -> tensor<64xi8> {
  %o = tensor.empty() : tensor<64xi8>
  %y = linalg.generic {indexing_maps = [#e1, #e1], iterator_types = ["parallel"]}
      ins(%x : tensor<64xf32>) outs(%o : tensor<64xi8>) {
  ^bb0(%in: f32, %out: i8):
    %lo = arith.constant 0.0 : f32
    %hi = arith.constant 255.0 : f32
    %r = math.roundeven %in : f32
    %a = arith.maximumf %r, %lo : f32
    %b = arith.minimumf %a, %hi : f32
    %w = arith.fptosi %b : f32 to i64
    %t = arith.trunci %w : i64 to i8
    linalg.yield %t : i8
  } -> tensor<64xi8>
  return %y : tensor<64xi8>
}
func.func @unclamped_to_i8(%x: tensor<64xf32>) -> tensor<64xi8> {
  %o = tensor.empty() : tensor<64xi8>
  %y = linalg.generic {indexing_maps = [#e1, #e1], iterator_types = ["parallel"]}
      ins(%x : tensor<64xf32>) outs(%o : tensor<64xi8>) {
  ^bb0(%in: f32, %out: i8):
    %w = arith.fptosi %in : f32 to i64
    %t = arith.trunci %w : i64 to i8
    linalg.yield %t : i8
  } -> tensor<64xi8>
  return %y : tensor<64xi8>
}
