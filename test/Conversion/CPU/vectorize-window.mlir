// RUN: %kiln_opt %s --kiln-lower-contractions="vector-bits=512 vector-registers=32" --split-input-file | FileCheck %s

// A 2x2 stride-2 max pool whose output is first filled with -inf (with the
// window's shape buffer allocated in between): the fill is absorbed (the
// accumulator starts as the splat, no separate fill loop, no load of the
// output), and the four window positions are folded as a tree: two maxima
// of pairs, one of those, then the initial value.
// CHECK-LABEL: func.func @max_pool_fill
// CHECK-NOT: linalg.generic
// CHECK: scf.parallel
// CHECK-NOT: vector.load %arg1
// CHECK-NOT: vector.maskedload %arg1
// CHECK-COUNT-4: vector.maskedload %arg0
// CHECK: %[[A:.*]] = arith.maximumf {{.*}} : vector<16xf32>
// CHECK: %[[B:.*]] = arith.maximumf {{.*}} : vector<16xf32>
// CHECK: %[[T:.*]] = arith.maximumf %[[B]], %[[A]] : vector<16xf32>
// CHECK: arith.maximumf {{.*}}, %[[T]] : vector<16xf32>
// CHECK: vector.maskedstore %arg1
// CHECK-NOT: scf.parallel
#fill_in = affine_map<(d0, d1, d2, d3) -> ()>
#id = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#x = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2 * 2 + d3, d5 * 2 + d4)>
#w = affine_map<(d0, d1, d2, d3, d4, d5) -> (d3, d4)>
#y = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d5)>
func.func @max_pool_fill(%x: memref<1x4x24x24xf32>, %y: memref<1x4x12x12xf32>) {
  %ninf = arith.constant 0xFF800000 : f32
  linalg.generic {indexing_maps = [#fill_in, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%ninf : f32) outs(%y : memref<1x4x12x12xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  }
  %window = memref.alloc() {alignment = 64 : i64} : memref<2x2xf32>
  linalg.generic {indexing_maps = [#x, #w, #y], iterator_types = ["parallel", "parallel", "parallel", "reduction", "reduction", "parallel"]}
      ins(%x, %window : memref<1x4x24x24xf32>, memref<2x2xf32>) outs(%y : memref<1x4x12x12xf32>) {
  ^bb0(%in: f32, %unused: f32, %out: f32):
    %0 = arith.maximumf %out, %in : f32
    linalg.yield %0 : f32
  }
  return
}

// -----

// A sum window (average pool) keeps its loop nest (reassociating the sum
// would change the rounding) and absorbs the divide after it as its
// epilogue: one store, of the quotient, into the divide's output.
// CHECK-LABEL: func.func @sum_window_divide
// CHECK: scf.parallel
// CHECK: scf.for
// CHECK: scf.for
// CHECK: arith.addf {{.*}} : vector<16xf32>
// CHECK-NOT: vector.maskedstore
// CHECK: arith.divf {{.*}} : vector<16xf32>
// CHECK-NEXT: vector.maskedstore %arg1
// CHECK-NOT: linalg.generic
#fill_in = affine_map<(d0, d1, d2, d3) -> ()>
#id = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#xs = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2 + d3, d5 + d4)>
#w = affine_map<(d0, d1, d2, d3, d4, d5) -> (d3, d4)>
#y = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d5)>
func.func @sum_window_divide(%x: memref<1x4x14x14xf32>, %y: memref<1x4x12x12xf32>) {
  %sum = memref.alloc() {alignment = 64 : i64} : memref<1x4x12x12xf32>
  %zero = arith.constant 0.0 : f32
  %nine = arith.constant 9.0 : f32
  linalg.generic {indexing_maps = [#fill_in, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%zero : f32) outs(%sum : memref<1x4x12x12xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  }
  %window = memref.alloc() {alignment = 64 : i64} : memref<3x3xf32>
  linalg.generic {indexing_maps = [#xs, #w, #y], iterator_types = ["parallel", "parallel", "parallel", "reduction", "reduction", "parallel"]}
      ins(%x, %window : memref<1x4x14x14xf32>, memref<3x3xf32>) outs(%sum : memref<1x4x12x12xf32>) {
  ^bb0(%in: f32, %unused: f32, %out: f32):
    %0 = arith.addf %out, %in : f32
    linalg.yield %0 : f32
  }
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%sum : memref<1x4x12x12xf32>) outs(%y : memref<1x4x12x12xf32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = arith.divf %in, %nine : f32
    linalg.yield %0 : f32
  }
  return
}
