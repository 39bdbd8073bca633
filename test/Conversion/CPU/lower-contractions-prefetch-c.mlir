// RUN: %kiln_opt %s --kiln-lower-contractions="vector-bits=256 vector-registers=16 l2-bytes=4096" --split-input-file --canonicalize | FileCheck %s

// A C of at least 8x L2 (here 64 KiB against 4 KiB) comes from memory: each
// full row tile first prefetches, for writing, the line of each row of the
// next tile of its panel (rows + 6 .. rows + 11, at the panel's columns).
// The ragged last tile (rows 60..63) prefetches nothing.
// CHECK-LABEL: func.func @large_c
// CHECK: scf.for %[[ROW:.*]] = %c0 to %c60 step %c6 {
// CHECK: %[[R6:.*]] = arith.addi %[[ROW]], %c6 : index
// CHECK-NEXT: memref.prefetch %arg2[%[[R6]], %[[N:.*]]], write, locality<3>, data : memref<64x256xf32>
// CHECK: %[[R7:.*]] = arith.addi %[[ROW]], %c7 : index
// CHECK-NEXT: memref.prefetch %arg2[%[[R7]], %[[N]]], write
// CHECK-COUNT-4: memref.prefetch %arg2[%{{.*}}, %[[N]]], write
// CHECK-NOT: memref.prefetch
// CHECK: vector.fma
// CHECK: vector.store
// CHECK-NOT: memref.prefetch %arg2
// CHECK: return
#a = affine_map<(m, n, k) -> (m, k)>
#b = affine_map<(m, n, k) -> (k, n)>
#c = affine_map<(m, n, k) -> (m, n)>
func.func @large_c(%x: memref<64x8xf32>, %w: memref<8x256xf32>, %y: memref<64x256xf32>) {
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<64x8xf32>, memref<8x256xf32>) outs(%y : memref<64x256xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %0 = arith.mulf %in, %in_0 : f32
    %1 = arith.addf %out, %0 : f32
    linalg.yield %1 : f32
  }
  return
}

// -----

// A C below 8x L2 (16 KiB) is left to the cache: no prefetch of C.
// CHECK-LABEL: func.func @small_c
// CHECK-NOT: write, locality
// CHECK: return
#a = affine_map<(m, n, k) -> (m, k)>
#b = affine_map<(m, n, k) -> (k, n)>
#c = affine_map<(m, n, k) -> (m, n)>
func.func @small_c(%x: memref<64x8xf32>, %w: memref<8x64xf32>, %y: memref<64x64xf32>) {
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<64x8xf32>, memref<8x64xf32>) outs(%y : memref<64x64xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %0 = arith.mulf %in, %in_0 : f32
    %1 = arith.addf %out, %0 : f32
    linalg.yield %1 : f32
  }
  return
}
