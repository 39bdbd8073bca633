// RUN: %kiln_opt %s --kiln-lower-contractions="vector-bits=512 vector-registers=32" --split-input-file | FileCheck %s

// An elementwise op with a contiguous operand and a per-row scalar becomes
// a parallel loop over rows with 16-lane vector blocks and a masked tail
// (40 = 2 x 16 + 8).
// CHECK-LABEL: func.func @bias_gelu
// CHECK: scf.parallel
// CHECK: scf.for
// CHECK: vector.load %arg0
// CHECK: memref.load %arg1
// CHECK: vector.broadcast
// CHECK: math.erf {{.*}} : vector<16xf32>
// CHECK: vector.store
// CHECK: vector.constant_mask [8] : vector<16xi1>
// CHECK: vector.maskedload %arg0
// CHECK: vector.maskedstore %arg2
// CHECK-NOT: linalg.generic
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
func.func @bias_gelu(%x: memref<3x40xf32>, %b: memref<3xf32>, %y: memref<3x40xf32>) {
  linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %b : memref<3x40xf32>, memref<3xf32>) outs(%y : memref<3x40xf32>) {
  ^bb0(%in: f32, %bias: f32, %out: f32):
    %0 = arith.addf %in, %bias : f32
    %1 = math.erf %0 : f32
    linalg.yield %1 : f32
  }
  return
}

// -----

// Not vectorized: a transposed read (not contiguous along the last dim),
// integer division (a masked lane could divide by zero), and a read of
// the output's own buffer at another index.
// CHECK-LABEL: func.func @kept
// CHECK-COUNT-3: linalg.generic
#id = affine_map<(d0, d1) -> (d0, d1)>
#tr = affine_map<(d0, d1) -> (d1, d0)>
func.func @kept(%x: memref<32x32xf32>, %y: memref<32x32xf32>, %i: memref<4x40xi32>, %j: memref<4x40xi32>) {
  linalg.generic {indexing_maps = [#tr, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : memref<32x32xf32>) outs(%y : memref<32x32xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  }
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%i : memref<4x40xi32>) outs(%j : memref<4x40xi32>) {
  ^bb0(%in: i32, %out: i32):
    %0 = arith.divsi %in, %in : i32
    linalg.yield %0 : i32
  }
  linalg.generic {indexing_maps = [#tr, #id], iterator_types = ["parallel", "parallel"]}
      ins(%y : memref<32x32xf32>) outs(%y : memref<32x32xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  }
  return
}
