// RUN: %kiln_opt %s --kiln-lower-contractions="vector-bits=512 vector-registers=32 l1-bytes=49152" --split-input-file | FileCheck %s

// A constant B is packed at compile time into [N/nr][K][nr] panels (N = 40
// pads to 2 panels of 32 columns) and the old global goes away; only the
// ragged last panel (the else branch) uses masked loads/stores of C.
// CHECK-LABEL: module
// CHECK-NOT: memref.global "private" constant @w :
// CHECK: memref.global "private" constant @w_packed0 : memref<2x8x32xf32>
// CHECK-LABEL: func.func @constant_b
// A is repacked at run time as [M/mr][K][mr] (5 rows: one tile of 5):
// each row's 8 floats are one (masked) vector load, interleaved by
// shuffles into the tile's 40 contiguous floats (two vectors and a masked
// one).
// CHECK: %[[P:.*]] = memref.get_global @w_packed0 : memref<2x8x32xf32>
// CHECK: %[[A:.*]] = memref.alloc() {alignment = 64 : i64} : memref<1x8x5xf32>
// CHECK: scf.parallel
// CHECK: %[[AF:.*]] = memref.collapse_shape %[[A]] {{.*}} into memref<1x40xf32>
// CHECK-COUNT-5: vector.maskedload %arg0
// CHECK: vector.shuffle
// CHECK: vector.store {{.*}}, %[[AF]]
// CHECK: vector.store {{.*}}, %[[AF]]
// CHECK: vector.maskedstore %[[AF]]
// CHECK-NOT: memref.store {{.*}}, %[[A]]
// CHECK: scf.parallel
// CHECK: %[[FULL:.*]] = arith.cmpi slt, %{{.*}}, %c1
// CHECK: scf.if %[[FULL]] {
// CHECK-NOT: vector.mask
// CHECK: vector.load %arg1
// CHECK-NOT: vector.mask
// CHECK: vector.fma
// CHECK-NOT: vector.mask
// CHECK: vector.store {{.*}}, %arg1
// CHECK-NOT: vector.mask
// CHECK: } else {
// CHECK: vector.create_mask
// CHECK: scf.for
// CHECK: vector.maskedload
// CHECK: scf.for {{.*}} iter_args
// CHECK: vector.load %[[P]]
// CHECK: vector.broadcast
// CHECK: vector.fma
// CHECK: vector.maskedstore
// CHECK-NOT: linalg.generic
#a = affine_map<(m, k, n) -> (m, k)>
#b = affine_map<(m, k, n) -> (k, n)>
#c = affine_map<(m, k, n) -> (m, n)>
memref.global "private" constant @w : memref<8x40xf32> = dense<1.0> {alignment = 64 : i64}
func.func @constant_b(%x: memref<5x8xf32>, %y: memref<5x40xf32>) {
  %w = memref.get_global @w : memref<8x40xf32>
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%x, %w : memref<5x8xf32>, memref<8x40xf32>) outs(%y : memref<5x40xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %0 = arith.mulf %in, %in_0 : f32
    %1 = arith.addf %out, %0 : f32
    linalg.yield %1 : f32
  }
  return
}

// -----

// A runtime B read as (n, k) (K^T in attention) is packed per panel and K
// block into a stack buffer; batch dims join the parallel loop.
// CHECK-LABEL: func.func @transposed_b
// CHECK: scf.parallel (%{{.*}}, %{{.*}}) =
// CHECK: %[[SP:.*]] = llvm.intr.stacksave
// CHECK: memref.alloca() {alignment = 64 : i64} : memref<16x32xf32>
// CHECK: memref.store
// CHECK: vector.fma
// CHECK-NOT: vector.maskedstore
// CHECK: vector.store
// CHECK: llvm.intr.stackrestore %[[SP]]
#qa = affine_map<(b, m, n, k) -> (b, m, k)>
#qb = affine_map<(b, m, n, k) -> (b, n, k)>
#qc = affine_map<(b, m, n, k) -> (b, m, n)>
func.func @transposed_b(%q: memref<3x7x16xf32>, %k: memref<3x64x16xf32>, %s: memref<3x7x64xf32>) {
  linalg.generic {indexing_maps = [#qa, #qb, #qc], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%q, %k : memref<3x7x16xf32>, memref<3x64x16xf32>) outs(%s : memref<3x7x64xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %0 = arith.mulf %in, %in_0 : f32
    %1 = arith.addf %out, %0 : f32
    linalg.yield %1 : f32
  }
  return
}

// -----

// A runtime B with contiguous columns is read in place (no packing).
// CHECK-LABEL: func.func @direct_b
// CHECK-NOT: memref.alloca
// CHECK: vector.load %arg1
// CHECK: vector.fma
#a = affine_map<(m, k, n) -> (m, k)>
#b = affine_map<(m, k, n) -> (k, n)>
#c = affine_map<(m, k, n) -> (m, n)>
func.func @direct_b(%x: memref<4x16xf32>, %w: memref<16x64xf32>, %y: memref<4x64xf32>) {
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%x, %w : memref<4x16xf32>, memref<16x64xf32>) outs(%y : memref<4x64xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %0 = arith.mulf %in, %in_0 : f32
    %1 = arith.addf %out, %0 : f32
    linalg.yield %1 : f32
  }
  return
}

// -----

// Not a plain multiply-accumulate (a fused producer in the body), or not
// f32: left alone for the generic loop lowering.
// CHECK-LABEL: func.func @not_matched
// CHECK: linalg.generic
// CHECK: math.exp
// CHECK: linalg.generic
// CHECK-NOT: vector.fma
#a = affine_map<(m, k, n) -> (m, k)>
#b = affine_map<(m, k, n) -> (k, n)>
#c = affine_map<(m, k, n) -> (m, n)>
func.func @not_matched(%x: memref<4x16xf32>, %w: memref<16x64xf32>, %y: memref<4x64xf32>,
                       %xi: memref<4x16xi32>, %wi: memref<16x64xi32>, %yi: memref<4x64xi32>) {
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%x, %w : memref<4x16xf32>, memref<16x64xf32>) outs(%y : memref<4x64xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %e = math.exp %in : f32
    %0 = arith.mulf %e, %in_0 : f32
    %1 = arith.addf %out, %0 : f32
    linalg.yield %1 : f32
  }
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%xi, %wi : memref<4x16xi32>, memref<16x64xi32>) outs(%yi : memref<4x64xi32>) {
  ^bb0(%in: i32, %in_0: i32, %out: i32):
    %0 = arith.muli %in, %in_0 : i32
    %1 = arith.addi %out, %0 : i32
    linalg.yield %1 : i32
  }
  return
}

// -----

// The epilogue's output is allocated after the matmul (a [1, 5, 40] result
// viewed as the [5, 40] rows): the allocation and its view move before the
// kernel, which applies the bias add to its accumulators and stores into
// the view, full panels with plain stores, the ragged last one masked.
// (The fill stays a loop of its own here, so C is written as well.)
// CHECK-LABEL: func.func @epilogue_allocated_after
// CHECK: %[[OUT:.*]] = memref.alloc() {alignment = 64 : i64} : memref<1x5x40xf32>
// CHECK: %[[VIEW:.*]] = memref.collapse_shape %[[OUT]]
// CHECK: scf.parallel
// CHECK: scf.if
// CHECK: vector.fma
// CHECK: arith.addf {{.*}} : vector<32xf32>
// CHECK: vector.store {{.*}}, %[[VIEW]][
// CHECK: } else {
// CHECK: vector.fma
// CHECK: arith.addf {{.*}} : vector<32xf32>
// CHECK: vector.maskedstore %[[VIEW]][
// CHECK-NOT: linalg.generic
// CHECK: return %[[OUT]]
#a = affine_map<(m, k, n) -> (m, k)>
#b = affine_map<(m, k, n) -> (k, n)>
#c = affine_map<(m, k, n) -> (m, n)>
#e2 = affine_map<(d0, d1) -> (d0, d1)>
#bias = affine_map<(d0, d1) -> (d1)>
memref.global "private" constant @w2 : memref<8x40xf32> = dense<1.0> {alignment = 64 : i64}
func.func @epilogue_allocated_after(%x: memref<5x8xf32>, %bias: memref<40xf32>) -> memref<1x5x40xf32> {
  %zero = arith.constant 0.0 : f32
  %w = memref.get_global @w2 : memref<8x40xf32>
  %y = memref.alloc() {alignment = 64 : i64} : memref<5x40xf32>
  linalg.generic {indexing_maps = [#bias, #e2], iterator_types = ["parallel", "parallel"]}
      ins(%bias : memref<40xf32>) outs(%y : memref<5x40xf32>) {
  ^bb0(%b: f32, %o: f32):
    linalg.yield %zero : f32
  }
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%x, %w : memref<5x8xf32>, memref<8x40xf32>) outs(%y : memref<5x40xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %0 = arith.mulf %in, %in_0 : f32
    %1 = arith.addf %out, %0 : f32
    linalg.yield %1 : f32
  }
  %out = memref.alloc() {alignment = 64 : i64} : memref<1x5x40xf32>
  %view = memref.collapse_shape %out [[0, 1], [2]] : memref<1x5x40xf32> into memref<5x40xf32>
  linalg.generic {indexing_maps = [#e2, #bias, #e2], iterator_types = ["parallel", "parallel"]}
      ins(%y, %bias : memref<5x40xf32>, memref<40xf32>) outs(%view : memref<5x40xf32>) {
  ^bb0(%in: f32, %b: f32, %o: f32):
    %0 = arith.addf %in, %b : f32
    linalg.yield %0 : f32
  }
  return %out : memref<1x5x40xf32>
}

// -----

// The epilogue writes into, and reads the residual from, views of earlier
// buffers made after the matmul (bufferization reuses a dead buffer this
// way): the views move before the kernel, which applies the bias and
// residual adds to its accumulators and stores into the output's view.
// CHECK-LABEL: func.func @epilogue_views_after
// CHECK-DAG: %[[OUTV:.*]] = memref.collapse_shape %arg2
// CHECK-DAG: %[[RESV:.*]] = memref.collapse_shape %arg3
// CHECK: scf.parallel
// CHECK: vector.fma
// CHECK: vector.maskedload %[[RESV]]
// CHECK: arith.addf {{.*}} : vector<32xf32>
// CHECK: arith.addf {{.*}} : vector<32xf32>
// CHECK: vector.maskedstore %[[OUTV]][
// CHECK-NOT: scf.parallel
// CHECK: return
#a3 = affine_map<(m, k, n) -> (m, k)>
#b3 = affine_map<(m, k, n) -> (k, n)>
#c3 = affine_map<(m, k, n) -> (m, n)>
#e3 = affine_map<(d0, d1) -> (d0, d1)>
#bias3 = affine_map<(d0, d1) -> (d1)>
memref.global "private" constant @w3 : memref<8x40xf32> = dense<1.0> {alignment = 64 : i64}
func.func @epilogue_views_after(%x: memref<5x8xf32>, %bias: memref<40xf32>, %out: memref<1x5x40xf32>, %res: memref<1x5x40xf32>) {
  %zero = arith.constant 0.0 : f32
  %w = memref.get_global @w3 : memref<8x40xf32>
  %y = memref.alloc() {alignment = 64 : i64} : memref<5x40xf32>
  linalg.fill ins(%zero : f32) outs(%y : memref<5x40xf32>)
  linalg.generic {indexing_maps = [#a3, #b3, #c3], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%x, %w : memref<5x8xf32>, memref<8x40xf32>) outs(%y : memref<5x40xf32>) {
  ^bb0(%in: f32, %in_0: f32, %o: f32):
    %0 = arith.mulf %in, %in_0 : f32
    %1 = arith.addf %o, %0 : f32
    linalg.yield %1 : f32
  }
  %view = memref.collapse_shape %out [[0, 1], [2]] : memref<1x5x40xf32> into memref<5x40xf32>
  %rview = memref.collapse_shape %res [[0, 1], [2]] : memref<1x5x40xf32> into memref<5x40xf32>
  linalg.generic {indexing_maps = [#e3, #bias3, #e3, #e3], iterator_types = ["parallel", "parallel"]}
      ins(%y, %bias, %rview : memref<5x40xf32>, memref<40xf32>, memref<5x40xf32>) outs(%view : memref<5x40xf32>) {
  ^bb0(%in: f32, %b: f32, %r: f32, %o: f32):
    %0 = arith.addf %in, %b : f32
    %1 = arith.addf %0, %r : f32
    linalg.yield %1 : f32
  }
  return
}

// -----

// C's zero fill is the prologue even though A's packing loop is emitted
// between it and the matmul: the kernel starts its accumulators from the
// fill's value instead of reading a filled C, and the fill goes away.
// CHECK: kiln.kernels = ["matmul batch 1 M 5 N 40 K 8, {{.*}}, A repacked + fill
// CHECK-LABEL: func.func @fill_before_repacked_a
// CHECK-NOT: linalg.generic
// CHECK: memref.collapse_shape {{.*}} : memref<1x8x5xf32> into memref<1x40xf32>
// CHECK: scf.parallel
// CHECK-NOT: vector.maskedload %arg1
// CHECK: vector.fma
// CHECK: vector.maskedstore %arg1
#a = affine_map<(m, k, n) -> (m, k)>
#b = affine_map<(m, k, n) -> (k, n)>
#c = affine_map<(m, k, n) -> (m, n)>
#e2 = affine_map<(d0, d1) -> (d0, d1)>
#s = affine_map<(d0, d1) -> ()>
memref.global "private" constant @w4 : memref<8x40xf32> = dense<1.0> {alignment = 64 : i64}
func.func @fill_before_repacked_a(%x: memref<5x8xf32>, %y: memref<5x40xf32>) {
  %zero = arith.constant 0.0 : f32
  %w = memref.get_global @w4 : memref<8x40xf32>
  linalg.generic {indexing_maps = [#s, #e2], iterator_types = ["parallel", "parallel"]}
      ins(%zero : f32) outs(%y : memref<5x40xf32>) {
  ^bb0(%in: f32, %o: f32):
    linalg.yield %in : f32
  }
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%x, %w : memref<5x8xf32>, memref<8x40xf32>) outs(%y : memref<5x40xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %0 = arith.mulf %in, %in_0 : f32
    %1 = arith.addf %out, %0 : f32
    linalg.yield %1 : f32
  }
  return
}

// -----

// An A whose K dim is not its unit-stride dim (here A is [K, M]) is
// repacked one float at a time: its rows cannot be read as vectors.
// CHECK-LABEL: func.func @transposed_a
// CHECK: %[[A:.*]] = memref.alloc() {alignment = 64 : i64} : memref<1x8x5xf32>
// CHECK-NOT: memref.collapse_shape
// CHECK: memref.load %arg0
// CHECK: memref.store {{.*}}, %[[A]]
// CHECK: vector.fma
#a = affine_map<(m, k, n) -> (k, m)>
#b = affine_map<(m, k, n) -> (k, n)>
#c = affine_map<(m, k, n) -> (m, n)>
memref.global "private" constant @w5 : memref<8x40xf32> = dense<1.0> {alignment = 64 : i64}
func.func @transposed_a(%x: memref<8x5xf32>, %y: memref<5x40xf32>) {
  %w = memref.get_global @w5 : memref<8x40xf32>
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%x, %w : memref<8x5xf32>, memref<8x40xf32>) outs(%y : memref<5x40xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %0 = arith.mulf %in, %in_0 : f32
    %1 = arith.addf %out, %0 : f32
    linalg.yield %1 : f32
  }
  return
}

// -----

// A constant A (Winograd's transformed weights U times the input tiles) is
// packed at compile time as [M/mr][K][mr] and read as broadcasts; like a
// packed B it is prefetched ahead in the k loop, so that weights coming
// from memory stream (ResNet-50's 14x14 Winograd convs in a chain: 1.05 ->
// 0.64 ms).
// CHECK-LABEL: module
// CHECK: memref.global "private" constant @u_packed_a0 : memref<3x8x10xf32>
// CHECK-LABEL: func.func @constant_a
// CHECK: %[[U:.*]] = memref.get_global @u_packed_a0
// CHECK: scf.for {{.*}} iter_args
// CHECK: memref.load %[[U]]
// CHECK: memref.prefetch %[[U]]{{.*}}, read, locality<3>, data
// CHECK: vector.broadcast
#a = affine_map<(m, k, n) -> (m, k)>
#b = affine_map<(m, k, n) -> (k, n)>
#c = affine_map<(m, k, n) -> (m, n)>
memref.global "private" constant @u : memref<24x8xf32> = dense<1.0> {alignment = 64 : i64}
func.func @constant_a(%x: memref<8x32xf32>, %y: memref<24x32xf32>) {
  %u = memref.get_global @u : memref<24x8xf32>
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%u, %x : memref<24x8xf32>, memref<8x32xf32>) outs(%y : memref<24x32xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %0 = arith.mulf %in, %in_0 : f32
    %1 = arith.addf %out, %0 : f32
    linalg.yield %1 : f32
  }
  return
}
