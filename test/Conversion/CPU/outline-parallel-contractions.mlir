// RUN: %kiln_opt %s --kiln-lower-contractions="vector-bits=512 vector-registers=32 l1-bytes=49152" --kiln-outline-parallel=min-parallel-work=1 | FileCheck %s

// The tiled matmul kernel's own scf.parallel loops (packing A per batch,
// then (batch, N panels) of the product) are dispatched like any other: 3
// and then 3 x 2 items, in order; the per-thread packing buffer
// (memref.alloca), the vector accumulators and the K loops move into the
// range functions, and only operand pointers cross over.
// CHECK-LABEL: func.func @transposed_b
// CHECK-SAME: %[[EXEC:[a-z0-9]+]]: !llvm.ptr {kiln.exec}
// CHECK: %[[N3:.*]] = arith.constant 3 : i64
// CHECK: call @kiln_exec_parallel_for(%[[EXEC]], %[[N3]], %{{.*}}, %{{.*}})
// CHECK: %[[N6:.*]] = arith.constant 6 : i64
// CHECK: call @kiln_exec_parallel_for(%[[EXEC]], %[[N6]], %{{.*}}, %{{.*}})
// CHECK-NOT: scf.parallel
// CHECK: return
// CHECK: func.func private @transposed_b_par1
// CHECK: memref.alloca() {alignment = 64 : i64}
// CHECK: vector.fma
// CHECK: vector.store
// CHECK: func.func private @transposed_b_par0
#qa = affine_map<(b, m, n, k) -> (b, m, k)>
#qb = affine_map<(b, m, n, k) -> (b, n, k)>
#qc = affine_map<(b, m, n, k) -> (b, m, n)>
func.func @transposed_b(%q: memref<3x7x16xf32>, %k: memref<3x64x16xf32>, %s: memref<3x7x64xf32>) attributes {kiln.entry} {
  linalg.generic {indexing_maps = [#qa, #qb, #qc], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%q, %k : memref<3x7x16xf32>, memref<3x64x16xf32>) outs(%s : memref<3x7x64xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %0 = arith.mulf %in, %in_0 : f32
    %1 = arith.addf %out, %0 : f32
    linalg.yield %1 : f32
  }
  return
}
