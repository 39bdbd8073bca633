// RUN: %kiln_opt %s --kiln-outline-parallel --split-input-file | FileCheck %s
// RUN: %kiln_opt %s --kiln-outline-parallel=min-parallel-work=1 --split-input-file | FileCheck %s --check-prefix=LOW
// RUN: %kiln_opt %s --kiln-outline-parallel --split-input-file | FileCheck %s --check-prefix=WB
// RUN: %kiln_opt %s --kiln-outline-parallel=min-parallel-weight-bytes=0 --split-input-file | FileCheck %s --check-prefix=OFF

// A big elementwise loop: the kernel gets the exec argument, the loop
// becomes a dispatch of 64 items (the leading dim reaches
// min-parallel-items) to a private range function that rebuilds its
// memrefs from the pointers in the data struct; the inner dim stays a loop.
// CHECK-LABEL: func.func @big
// CHECK-SAME: %[[IN:[a-z0-9]+]]: memref<64x1024xf32>, %[[OUT:[a-z0-9]+]]: memref<64x1024xf32>, %{{.*}}: memref<64xi8> {kiln.workspace}, %[[EXEC:[a-z0-9]+]]: !llvm.ptr {kiln.exec}
// CHECK: %[[DATA:.*]] = llvm.alloca %{{.*}} x !llvm.struct<(ptr, ptr)>
// CHECK: memref.extract_aligned_pointer_as_index %[[IN]]
// CHECK: llvm.store
// CHECK: memref.extract_aligned_pointer_as_index %[[OUT]]
// CHECK: llvm.store
// CHECK: %[[FN:.*]] = constant @big_par0 : (!llvm.ptr, i64, i64) -> ()
// CHECK: %[[N:.*]] = arith.constant 64 : i64
// CHECK: call @kiln_exec_parallel_for(%[[EXEC]], %[[N]], %[[FN]], %[[DATA]])
// CHECK-NOT: scf.parallel
// CHECK: return
// CHECK: func.func private @big_par0(%[[D:.*]]: !llvm.ptr, %[[B:.*]]: i64, %[[E:.*]]: i64) attributes {llvm.linkage = #llvm.linkage<internal>}
// CHECK: llvm.getelementptr %[[D]][0, 0]
// CHECK: builtin.unrealized_conversion_cast %{{.*}} : !llvm.struct<(ptr, ptr, i64, array<2 x i64>, array<2 x i64>)> to memref<64x1024xf32>
// CHECK: arith.index_cast %[[B]] : i64 to index
// CHECK: scf.for
// CHECK: scf.for %[[I:.*]] =
// CHECK: scf.for %[[J:.*]] =
// CHECK: memref.load %{{.*}}[%[[I]], %[[J]]]
// CHECK: arith.negf
// CHECK: memref.store
// CHECK: func.func private @kiln_exec_parallel_for(!llvm.ptr, i64, (!llvm.ptr, i64, i64) -> (), !llvm.ptr) -> i32
func.func @big(%in: memref<64x1024xf32>, %out: memref<64x1024xf32>, %ws: memref<64xi8> {kiln.workspace}) attributes {kiln.entry} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  %c1024 = arith.constant 1024 : index
  scf.parallel (%i, %j) = (%c0, %c0) to (%c64, %c1024) step (%c1, %c1) {
    %x = memref.load %in[%i, %j] : memref<64x1024xf32>
    %y = arith.negf %x : f32
    memref.store %y, %out[%i, %j] : memref<64x1024xf32>
    scf.reduce
  }
  return
}

// -----

// Tiny work stays a serial scf.parallel (no dispatch), unless the
// threshold is lowered; the exec argument is added anyway.
// CHECK-LABEL: func.func @tiny
// CHECK-SAME: !llvm.ptr {kiln.exec}
// CHECK-NOT: kiln_exec_parallel_for
// CHECK: scf.parallel
// CHECK-NOT: kiln_exec_parallel_for
// CHECK: return
// LOW-LABEL: func.func @tiny
// LOW: call @kiln_exec_parallel_for
// LOW: func.func private @tiny_par0
func.func @tiny(%in: memref<4x4xf32>, %out: memref<4x4xf32>, %ws: memref<64xi8> {kiln.workspace}) attributes {kiln.entry} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  scf.parallel (%i, %j) = (%c0, %c0) to (%c4, %c4) step (%c1, %c1) {
    %x = memref.load %in[%i, %j] : memref<4x4xf32>
    memref.store %x, %out[%i, %j] : memref<4x4xf32>
    scf.reduce
  }
  return
}

// -----

// A view of the workspace (and a strided subview of it) is rebuilt inside
// the body: only the workspace pointer and a scalar cross over. The work of
// the inner serial loop counts (64 items x 1024 iterations).
// CHECK-LABEL: func.func @views
// CHECK-SAME: %[[WS:[a-z0-9]+]]: memref<8192xi8> {kiln.workspace}
// CHECK: llvm.alloca %{{.*}} x !llvm.struct<(f32, ptr)>
// CHECK: memref.extract_aligned_pointer_as_index %[[WS]]
// CHECK: call @kiln_exec_parallel_for
// CHECK: func.func private @views_par0
// CHECK: llvm.load %{{.*}} : !llvm.ptr -> f32
// CHECK: %[[W:.*]] = builtin.unrealized_conversion_cast %{{.*}} to memref<8192xi8>
// CHECK: %[[V:.*]] = memref.view %[[W]]
// CHECK: memref.subview %[[V]]
// CHECK: scf.for
func.func @views(%s: memref<f32>, %ws: memref<8192xi8> {kiln.workspace}) attributes {kiln.entry} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  %c1024 = arith.constant 1024 : index
  %v = memref.view %ws[%c0][] : memref<8192xi8> to memref<64x32xf32>
  %sub = memref.subview %v[0, 0] [64, 16] [1, 2] : memref<64x32xf32> to memref<64x16xf32, strided<[32, 2]>>
  %scale = memref.load %s[] : memref<f32>
  scf.parallel (%i) = (%c0) to (%c64) step (%c1) {
    scf.for %k = %c0 to %c1024 step %c1 {
      %r = arith.remui %k, %c64 : index
      %c16 = arith.constant 16 : index
      %j = arith.remui %k, %c16 : index
      memref.store %scale, %sub[%i, %j] : memref<64x16xf32, strided<[32, 2]>>
    }
    scf.reduce
  }
  return
}

// -----

// A capture that the bare-pointer convention cannot carry (a dynamic
// shape) keeps the loop serial.
// CHECK-LABEL: func.func @dynamic
// CHECK-NOT: kiln_exec_parallel_for
// CHECK: scf.parallel
func.func @dynamic(%in: memref<?xf32>, %out: memref<65536xf32>, %ws: memref<64xi8> {kiln.workspace}) attributes {kiln.entry} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = arith.constant 65536 : index
  scf.parallel (%i) = (%c0) to (%n) step (%c1) {
    %x = memref.load %in[%i] : memref<?xf32>
    memref.store %x, %out[%i] : memref<65536xf32>
    scf.reduce
  }
  return
}

// -----

// Only the outermost scf.parallel is dispatched, from inside the serial
// loop around it; the inner one runs serially within each item. Functions
// that are not entries are left alone.
// CHECK-LABEL: func.func @nested
// CHECK: scf.for
// CHECK: call @kiln_exec_parallel_for
// CHECK-NOT: scf.parallel
// CHECK: return
// CHECK: func.func private @nested_par0
// CHECK: scf.parallel
// CHECK-LABEL: func.func @helper
// CHECK: scf.parallel
func.func @nested(%in: memref<16x256x256xf32>, %out: memref<16x256x256xf32>, %ws: memref<64xi8> {kiln.workspace}) attributes {kiln.entry} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c16 = arith.constant 16 : index
  %c256 = arith.constant 256 : index
  scf.for %b = %c0 to %c16 step %c1 {
    scf.parallel (%i) = (%c0) to (%c256) step (%c1) {
      scf.parallel (%j) = (%c0) to (%c256) step (%c1) {
        %x = memref.load %in[%b, %i, %j] : memref<16x256x256xf32>
        memref.store %x, %out[%b, %i, %j] : memref<16x256x256xf32>
        scf.reduce
      }
      scf.reduce
    }
  }
  return
}
func.func @helper(%in: memref<65536xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = arith.constant 65536 : index
  %z = arith.constant 0.0 : f32
  scf.parallel (%i) = (%c0) to (%n) step (%c1) {
    memref.store %z, %in[%i] : memref<65536xf32>
    scf.reduce
  }
  return
}

// -----

// A GEMV-like loop below min-parallel-work (256 x 8 x ~17 units) that
// streams 128 KiB of a constant global (the weights) is split by default
// (min-parallel-weight-bytes 131072: each thread reads its share from its
// own cache) and, being short, keeps its serial form for a 1-thread
// context; with min-parallel-weight-bytes=0 it stays serial. The same loop
// over a mutable global stays serial either way.
// OFF-LABEL: func.func @weights
// OFF-NOT: kiln_exec_parallel_for
// OFF: return
// WB-LABEL: func.func @weights
// WB: %[[T:.*]] = call @kiln_exec_num_threads(%{{.*}}) : (!llvm.ptr) -> i32
// WB: %[[M:.*]] = arith.cmpi sgt, %[[T]], %{{.*}} : i32
// WB: scf.if %[[M]] {
// WB: call @kiln_exec_parallel_for
// WB: } else {
// WB: scf.parallel
// WB-LABEL: func.func @activations
// WB-NOT: kiln_exec_parallel_for
// WB: scf.parallel
// WB-NOT: kiln_exec_parallel_for
// WB: return
// WB: func.func private @kiln_exec_num_threads(!llvm.ptr) -> i32
memref.global "private" constant @w : memref<256x128xf32> = dense<1.0>
memref.global "private" @a : memref<256x128xf32> = dense<1.0>
func.func @weights(%x: memref<128xf32>, %y: memref<256xf32>, %ws: memref<64xi8> {kiln.workspace}) attributes {kiln.entry} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c16 = arith.constant 16 : index
  %c128 = arith.constant 128 : index
  %c256 = arith.constant 256 : index
  %zero = arith.constant dense<0.0> : vector<16xf32>
  %w = memref.get_global @w : memref<256x128xf32>
  scf.parallel (%n) = (%c0) to (%c256) step (%c1) {
    %acc = scf.for %k = %c0 to %c128 step %c16 iter_args(%s = %zero) -> vector<16xf32> {
      %wv = vector.load %w[%n, %k] : memref<256x128xf32>, vector<16xf32>
      %xv = vector.load %x[%k] : memref<128xf32>, vector<16xf32>
      %p = arith.mulf %wv, %xv : vector<16xf32>
      %t = arith.addf %s, %p : vector<16xf32>
      scf.yield %t : vector<16xf32>
    }
    %r = vector.reduction <add>, %acc : vector<16xf32> into f32
    memref.store %r, %y[%n] : memref<256xf32>
    scf.reduce
  }
  return
}
func.func @activations(%x: memref<128xf32>, %y: memref<256xf32>, %ws: memref<64xi8> {kiln.workspace}) attributes {kiln.entry} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c16 = arith.constant 16 : index
  %c128 = arith.constant 128 : index
  %c256 = arith.constant 256 : index
  %zero = arith.constant dense<0.0> : vector<16xf32>
  %w = memref.get_global @a : memref<256x128xf32>
  scf.parallel (%n) = (%c0) to (%c256) step (%c1) {
    %acc = scf.for %k = %c0 to %c128 step %c16 iter_args(%s = %zero) -> vector<16xf32> {
      %wv = vector.load %w[%n, %k] : memref<256x128xf32>, vector<16xf32>
      %xv = vector.load %x[%k] : memref<128xf32>, vector<16xf32>
      %p = arith.mulf %wv, %xv : vector<16xf32>
      %t = arith.addf %s, %p : vector<16xf32>
      scf.yield %t : vector<16xf32>
    }
    %r = vector.reduction <add>, %acc : vector<16xf32> into f32
    memref.store %r, %y[%n] : memref<256xf32>
    scf.reduce
  }
  return
}

// -----

// The GEMV kernel's K loop runs inside a block loop, from the block's start
// to min(start + 256, K): a bound that is no constant, counted as the block
// (256 trips of a 128-byte read per panel, 256 KiB in all), not as an
// unknown loop's 64 trips (64 KiB, which left the loop serial).
// WB-LABEL: func.func @blocked_weights
// WB: scf.if
// WB: call @kiln_exec_parallel_for
// OFF-LABEL: func.func @blocked_weights
// OFF-NOT: kiln_exec_parallel_for
// OFF: return
memref.global "private" constant @packed : memref<8x256x32xf32> = dense<1.0>
func.func @blocked_weights(%x: memref<256xf32>, %y: memref<256xf32>, %ws: memref<64xi8> {kiln.workspace}) attributes {kiln.entry} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %c32 = arith.constant 32 : index
  %c256 = arith.constant 256 : index
  %zero = arith.constant dense<0.0> : vector<32xf32>
  %w = memref.get_global @packed : memref<8x256x32xf32>
  scf.parallel (%p) = (%c0) to (%c8) step (%c1) {
    %n = arith.muli %p, %c32 : index
    scf.for %kb = %c0 to %c256 step %c256 {
      %end = arith.addi %kb, %c256 : index
      %ub = arith.minsi %end, %c256 : index
      %acc = scf.for %k = %kb to %ub step %c1 iter_args(%s = %zero) -> vector<32xf32> {
        %wv = vector.load %w[%p, %k, %c0] : memref<8x256x32xf32>, vector<32xf32>
        %xs = memref.load %x[%k] : memref<256xf32>
        %xv = vector.broadcast %xs : f32 to vector<32xf32>
        %t = vector.fma %xv, %wv, %s : vector<32xf32>
        scf.yield %t : vector<32xf32>
      }
      vector.store %acc, %y[%n] : memref<256xf32>, vector<32xf32>
    }
    scf.reduce
  }
  return
}
