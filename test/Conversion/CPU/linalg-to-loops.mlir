// RUN: %kiln_opt %s --pass-pipeline='builtin.module(func.func(kiln-linalg-to-loops))' --split-input-file | FileCheck %s

// Elementwise: every dim is parallel; the unit batch dim is dropped.
// CHECK-LABEL: func.func @elementwise
// CHECK: scf.parallel (%{{.*}}, %{{.*}}, %{{.*}}) = (%c0, %c0, %c0) to (%c8, %c16, %c32)
// CHECK-NOT: scf.for
// CHECK: arith.addf
// CHECK: scf.reduce
#id = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
func.func @elementwise(%a: memref<1x8x16x32xf32>, %b: memref<1x8x16x32xf32>, %out: memref<1x8x16x32xf32>) {
  linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%a, %b : memref<1x8x16x32xf32>, memref<1x8x16x32xf32>) outs(%out : memref<1x8x16x32xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %s = arith.addf %x, %y : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// A matmul in kiln's loop order (m, k, n): the reduction stays a serial
// scf.for between the two parallel dims.
// CHECK-LABEL: func.func @matmul
// CHECK: scf.parallel (%[[M:.*]]) = (%c0) to (%c64)
// CHECK-NEXT: scf.for %[[K:.*]] = %c0 to %c32
// CHECK-NEXT: scf.parallel (%[[N:.*]]) = (%c0) to (%c16)
// CHECK: arith.mulf
// CHECK: arith.addf
#lhs = affine_map<(m, k, n) -> (m, k)>
#rhs = affine_map<(m, k, n) -> (k, n)>
#res = affine_map<(m, k, n) -> (m, n)>
func.func @matmul(%a: memref<64x32xf32>, %b: memref<32x16xf32>, %c: memref<64x16xf32>) {
  linalg.generic {indexing_maps = [#lhs, #rhs, #res], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%a, %b : memref<64x32xf32>, memref<32x16xf32>) outs(%c : memref<64x16xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// A full reduction has no parallel dim: plain loops.
// CHECK-LABEL: func.func @sum
// CHECK-NOT: scf.parallel
// CHECK: scf.for
// CHECK: scf.for
// CHECK-NOT: scf.parallel
func.func @sum(%a: memref<8x8xf32>, %out: memref<f32>) {
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> ()>], iterator_types = ["reduction", "reduction"]}
      ins(%a : memref<8x8xf32>) outs(%out : memref<f32>) {
  ^bb0(%x: f32, %acc: f32):
    %s = arith.addf %acc, %x : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// A "parallel" dim the output does not index: two iterations write the
// same element (the last one wins), so the loops stay serial.
// CHECK-LABEL: func.func @unindexed_parallel_dim
// CHECK-NOT: scf.parallel
// CHECK: scf.for
func.func @unindexed_parallel_dim(%a: memref<4x8xf32>, %out: memref<4xf32>) {
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i)>], iterator_types = ["parallel", "parallel"]}
      ins(%a : memref<4x8xf32>) outs(%out : memref<4xf32>) {
  ^bb0(%x: f32, %o: f32):
    linalg.yield %x : f32
  }
  return
}

// -----

// The output buffer read at another index (an in-place transpose): the
// serial order matters, so it is kept.
// CHECK-LABEL: func.func @in_place_transpose
// CHECK-NOT: scf.parallel
// CHECK: scf.for
func.func @in_place_transpose(%a: memref<8x8xf32>) {
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (j, i)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]}
      ins(%a : memref<8x8xf32>) outs(%a : memref<8x8xf32>) {
  ^bb0(%x: f32, %o: f32):
    linalg.yield %x : f32
  }
  return
}

// -----

// In place with the same map (an elementwise op reusing its input's buffer)
// is parallel: each iteration reads the element it writes.
// CHECK-LABEL: func.func @in_place_elementwise
// CHECK: scf.parallel
func.func @in_place_elementwise(%a: memref<8x8xf32>) {
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]}
      ins(%a : memref<8x8xf32>) outs(%a : memref<8x8xf32>) {
  ^bb0(%x: f32, %o: f32):
    %n = arith.negf %x : f32
    linalg.yield %n : f32
  }
  return
}
