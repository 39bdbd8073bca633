// RUN: %kiln_opt %s --kiln-lower-contractions="vector-bits=512 vector-registers=32" --split-input-file | FileCheck %s

// A max over the last dim (softmax's first step): 16-lane partial maxima
// from -inf, one horizontal reduction, then the 8-element tail in scalar
// (40 = 2 x 16 + 8), combined with the output's initial value.
// CHECK-LABEL: func.func @row_max
// CHECK: scf.parallel
// CHECK: arith.constant dense<0xFF800000> : vector<16xf32>
// CHECK: scf.for {{.*}} iter_args
// CHECK: vector.load %arg0
// CHECK: arith.maximumf {{.*}} : vector<16xf32>
// CHECK: vector.reduction <maximumf>
// CHECK-COUNT-8: memref.load %arg0
// CHECK: memref.store {{.*}}, %arg1
#in = affine_map<(d0, d1) -> (d0, d1)>
#out = affine_map<(d0, d1) -> (d0)>
func.func @row_max(%x: memref<3x40xf32>, %m: memref<3xf32>) {
  linalg.generic {indexing_maps = [#in, #out], iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<3x40xf32>) outs(%m : memref<3xf32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = arith.maximumf %out, %in : f32
    linalg.yield %0 : f32
  }
  return
}

// -----

// Sum of squared deviations (a norm's variance): the per-row mean is a
// splat, the body before the add is vectorized.
// CHECK-LABEL: func.func @variance
// CHECK: arith.subf {{.*}} : vector<16xf32>
// CHECK: arith.mulf {{.*}} : vector<16xf32>
// CHECK: vector.reduction <add>
#in = affine_map<(d0, d1) -> (d0, d1)>
#out = affine_map<(d0, d1) -> (d0)>
func.func @variance(%x: memref<2x32xf32>, %mean: memref<2xf32>, %v: memref<2xf32>) {
  linalg.generic {indexing_maps = [#in, #out, #out], iterator_types = ["parallel", "reduction"]}
      ins(%x, %mean : memref<2x32xf32>, memref<2xf32>) outs(%v : memref<2xf32>) {
  ^bb0(%in: f32, %mu: f32, %out: f32):
    %0 = arith.subf %in, %mu : f32
    %1 = arith.mulf %0, %0 : f32
    %2 = arith.addf %out, %1 : f32
    linalg.yield %2 : f32
  }
  return
}

// -----

// A reduction over a dim that is not the last loop stays a generic.
// CHECK-LABEL: func.func @column_sum
// CHECK: linalg.generic
#in = affine_map<(d0, d1) -> (d1, d0)>
#out = affine_map<(d0, d1) -> (d0)>
func.func @column_sum(%x: memref<32x3xf32>, %s: memref<3xf32>) {
  linalg.generic {indexing_maps = [#in, #out], iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<32x3xf32>) outs(%s : memref<3xf32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = arith.addf %out, %in : f32
    linalg.yield %0 : f32
  }
  return
}

// -----

// A whole-tensor minimum to a scalar (DynamicQuantizeLinear's range): every
// loop a reduction, flattened to one dim of 2 x 3 x 8 = 48 = 3 x 16 lanes,
// then reduced as above (no parallel loop: one output element).
// CHECK-LABEL: func.func @tensor_min
// CHECK: memref.collapse_shape %arg0 {{\[}}[0, 1, 2]] : memref<2x3x8xf32> into memref<48xf32>
// CHECK-NOT: scf.parallel
// CHECK: arith.constant dense<0x7F800000> : vector<16xf32>
// CHECK: scf.for {{.*}} iter_args
// CHECK: arith.minimumf {{.*}} : vector<16xf32>
// CHECK: vector.reduction <minimumf>
// CHECK: memref.store {{.*}}, %arg1[]
// CHECK-NOT: linalg.generic
#all = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#scalar = affine_map<(d0, d1, d2) -> ()>
func.func @tensor_min(%x: memref<2x3x8xf32>, %m: memref<f32>) {
  linalg.generic {indexing_maps = [#all, #scalar], iterator_types = ["reduction", "reduction", "reduction"]}
      ins(%x : memref<2x3x8xf32>) outs(%m : memref<f32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = arith.minimumf %out, %in : f32
    linalg.yield %0 : f32
  }
  return
}
