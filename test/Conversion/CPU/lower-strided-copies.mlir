// RUN: %kiln_opt %s --kiln-lower-strided-copies | FileCheck %s

// CHECK-LABEL: func.func @copies
func.func @copies(%a: memref<4x8xf32>, %b: memref<4x8xf32>, %c: memref<2x3xf32>) {
  // Contiguous: stays a memcpy-able memref.copy.
  // CHECK: memref.copy %{{.*}}, %{{.*}} : memref<4x8xf32> to memref<4x8xf32>
  memref.copy %a, %b : memref<4x8xf32> to memref<4x8xf32>
  // Strided rows of 3: a run of 3 takes vectors of 2 lanes (the largest
  // power of two within it) and a masked tail of 1, under a parallel loop
  // over the rows.
  // CHECK: scf.parallel (%[[R:.*]]) =
  // CHECK:   scf.for %[[K:.*]] = %{{.*}} to %{{.*}} step %{{.*}} {
  // CHECK:     %[[V:.*]] = vector.load %{{.*}}[%[[R]], %[[K]]] : memref<2x3xf32, strided<[8, 1], offset: 9>>, vector<2xf32>
  // CHECK:     vector.store %[[V]], %{{.*}}[%[[R]], %[[K]]] : memref<2x3xf32>, vector<2xf32>
  // CHECK:   vector.maskedload {{.*}} vector<2xi1>
  // CHECK:   vector.maskedstore
  // CHECK-NOT: memref.copy
  %s = memref.subview %a[1, 1] [2, 3] [1, 1] : memref<4x8xf32> to memref<2x3xf32, strided<[8, 1], offset: 9>>
  memref.copy %s, %c : memref<2x3xf32, strided<[8, 1], offset: 9>> to memref<2x3xf32>
  return
}

// The interior of a zero-padded NHWC buffer: each padded row's 4 x 16 u8
// are contiguous on both sides, so W and C collapse into one run of 64
// bytes, a single vector per row (no tail).
// CHECK-LABEL: func.func @padded_interior
// CHECK: %[[SRC:.*]] = memref.collapse_shape %{{.*}} {{\[\[}}0], [1], [2, 3]] : memref<1x3x4x16xui8> into memref<1x3x64xui8>
// CHECK: %[[DST:.*]] = memref.collapse_shape %{{.*}} {{\[\[}}0], [1], [2, 3]] : memref<1x3x4x16xui8, strided<[480, 96, 16, 1], offset: 112>> into memref<1x3x64xui8, strided<[480, 96, 1], offset: 112>>
// CHECK: scf.parallel (%[[N:.*]], %[[H:.*]]) =
// CHECK: %[[V:.*]] = vector.load %[[SRC]][%[[N]], %[[H]], %{{.*}}] : memref<1x3x64xui8>, vector<64xui8>
// CHECK: vector.store %[[V]], %[[DST]][%[[N]], %[[H]], %{{.*}}]
// CHECK-NOT: vector.maskedstore
// CHECK: return
func.func @padded_interior(%x: memref<1x3x4x16xui8>, %p: memref<1x5x6x16xui8>) {
  %in = memref.subview %p[0, 1, 1, 0] [1, 3, 4, 16] [1, 1, 1, 1] : memref<1x5x6x16xui8> to memref<1x3x4x16xui8, strided<[480, 96, 16, 1], offset: 112>>
  memref.copy %x, %in : memref<1x3x4x16xui8> to memref<1x3x4x16xui8, strided<[480, 96, 16, 1], offset: 112>>
  return
}

// Innermost stride 2 (every other column): scalar loops via linalg.copy.
// CHECK-LABEL: func.func @strided_columns
// CHECK: linalg.copy
func.func @strided_columns(%a: memref<4x8xf32>, %c: memref<4x4xf32>) {
  %s = memref.subview %a[0, 0] [4, 4] [1, 2] : memref<4x8xf32> to memref<4x4xf32, strided<[8, 2]>>
  memref.copy %s, %c : memref<4x4xf32, strided<[8, 2]>> to memref<4x4xf32>
  return
}

// An im2col gather (3x3 taps, stride 2, 3 channels, NHWC) is a copy from a
// strided view of the padded input; each tap row's 3 taps x 3 channels are
// 9 contiguous bytes there, moved as a vector of 8 and a masked lane.
// CHECK-LABEL: func.func @im2col_gather
// CHECK: %[[V:.*]] = memref.reinterpret_cast %{{.*}} to offset: [0], sizes: [1, 2, 2, 3, 3, 3], strides: [75, 30, 6, 15, 3, 1]
// CHECK: memref.collapse_shape %[[V]] {{\[\[}}0], [1], [2], [3], [4, 5]]
// CHECK: scf.parallel
// CHECK: vector.load {{.*}} vector<8xui8>
// CHECK: vector.maskedload
// CHECK-NOT: linalg.generic
// CHECK: return
func.func @im2col_gather(%x: memref<1x5x5x3xui8>, %col: memref<1x2x2x3x3x3xui8>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1 * 2 + d3, d2 * 2 + d4, d5)>, affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d3, d4, d5)>], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "parallel"]} ins(%x : memref<1x5x5x3xui8>) outs(%col : memref<1x2x2x3x3x3xui8>) {
  ^bb0(%in: ui8, %out: ui8):
    linalg.yield %in : ui8
  }
  return
}

// A transposing copy (innermost dim strided in the input) stays a generic.
// CHECK-LABEL: func.func @transpose_stays
// CHECK: linalg.generic
func.func @transpose_stays(%x: memref<1x3x4x4xui8>, %y: memref<1x4x4x3xui8>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d3, d1, d2)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%x : memref<1x3x4x4xui8>) outs(%y : memref<1x4x4x3xui8>) {
  ^bb0(%in: ui8, %out: ui8):
    linalg.yield %in : ui8
  }
  return
}
