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

// Not vectorized: integer division (a masked lane could divide by zero),
// and a read of the output's own buffer at another index.
// CHECK-LABEL: func.func @kept
// CHECK-COUNT-2: linalg.generic
#id = affine_map<(d0, d1) -> (d0, d1)>
#tr = affine_map<(d0, d1) -> (d1, d0)>
func.func @kept(%y: memref<32x32xf32>, %i: memref<4x40xi32>, %j: memref<4x40xi32>) {
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

// -----

// A transposed read (the integer conv's NCHW result): the lanes of a
// vector along y's last dim are x's rows, 20 floats apart. Blocks of 16 x
// 16 are loaded along x's rows (q = y's dim 0 in blocks of 16: one whole,
// one of 4, masked) and transposed in registers by shuffles; no scalar
// loads, no gather.
// CHECK-LABEL: func.func @transposed
// CHECK:     scf.parallel (%{{.*}}) = (%{{.*}}) to (%c2)
// CHECK:     scf.if
// CHECK:     vector.load %arg0[{{.*}}] : memref<32x20xf32>, vector<16xf32>
// CHECK-COUNT-64: vector.shuffle
// CHECK:     vector.store %{{.*}}, %arg1[{{.*}}] : memref<20x32xf32>, vector<16xf32>
// CHECK:     } else {
// CHECK:     vector.maskedload %arg0[{{.*}}], {{.*}} : memref<32x20xf32>, vector<16xi1>, vector<16xf32>
// CHECK-NOT: memref.load %arg0
// CHECK-NOT: vector.gather
#id2 = affine_map<(d0, d1) -> (d0, d1)>
#tr2 = affine_map<(d0, d1) -> (d1, d0)>
func.func @transposed(%x: memref<32x20xf32>, %y: memref<20x32xf32>) {
  linalg.generic {indexing_maps = [#tr2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%x : memref<32x20xf32>) outs(%y : memref<20x32xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  }
  return
}

// -----

// Two operands read transposed (the block transpose takes one): each lane
// is one scalar load at a constant offset from lane 0 (20 floats apart),
// inserted (no gather).
// CHECK-LABEL: func.func @two_transposed
// CHECK:     scf.parallel (%[[R:.*]]) =
// CHECK:     %[[FLAT:.*]] = arith.addi %{{.*}}, %[[R]] : index
// CHECK:     %[[X:.*]] = memref.collapse_shape %arg0 {{\[\[}}0, 1]] : memref<32x20xf32> into memref<640xf32>
// CHECK:     %[[L0:.*]] = memref.load %[[X]][%[[FLAT]]]
// CHECK:     vector.insert %[[L0]], %{{.*}} [0] : f32 into vector<16xf32>
// CHECK:     %[[C20:.*]] = arith.constant 20 : index
// CHECK:     %[[AT1:.*]] = arith.addi %[[FLAT]], %[[C20]] : index
// CHECK:     memref.load %[[X]][%[[AT1]]]
// CHECK:     vector.insert %{{.*}}, %{{.*}} [15] : f32 into vector<16xf32>
// CHECK:     vector.store %{{.*}}, %arg2[%[[R]], %{{.*}}] : memref<20x32xf32>, vector<16xf32>
// CHECK-NOT: vector.gather
#id3 = affine_map<(d0, d1) -> (d0, d1)>
#tr3 = affine_map<(d0, d1) -> (d1, d0)>
func.func @two_transposed(%x: memref<32x20xf32>, %z: memref<32x20xf32>, %y: memref<20x32xf32>) {
  linalg.generic {indexing_maps = [#tr3, #tr3, #id3], iterator_types = ["parallel", "parallel"]}
      ins(%x, %z : memref<32x20xf32>, memref<32x20xf32>) outs(%y : memref<20x32xf32>) {
  ^bb0(%in: f32, %in2: f32, %out: f32):
    %0 = arith.addf %in, %in2 : f32
    linalg.yield %0 : f32
  }
  return
}

// -----

// A long body (a QDQ model's fake-quantization chain, ending in a
// signedness-only cast to ui8) is latency-bound: each loop iteration takes
// 4 blocks of 16 with their ops interleaved (each op four times in a row).
// 150 = 2 x 64 + 22: the 22 left are one whole block and a masked one of 6.
// CHECK-LABEL: func.func @long_chain
// CHECK: scf.parallel
// CHECK: %[[C64:.*]] = arith.constant 64 : index
// CHECK: scf.for {{.*}} step %[[C64]]
// CHECK-COUNT-4: vector.load %arg0
// CHECK-COUNT-4: arith.divf {{.*}} : vector<16xf32>
// CHECK-COUNT-4: math.roundeven {{.*}} : vector<16xf32>
// CHECK-COUNT-4: builtin.unrealized_conversion_cast {{.*}} : vector<16xi8> to vector<16xui8>
// CHECK-COUNT-4: vector.store {{.*}} : memref<2x150xui8>, vector<16xui8>
// CHECK: vector.constant_mask [6] : vector<16xi1>
// CHECK: vector.load %arg0
// CHECK: vector.maskedload %arg0
// CHECK-COUNT-2: arith.divf {{.*}} : vector<16xf32>
// CHECK: vector.store {{.*}} : memref<2x150xui8>, vector<16xui8>
// CHECK: vector.maskedstore %arg1{{.*}} : memref<2x150xui8>, vector<16xi1>, vector<16xui8>
// CHECK-NOT: linalg.generic
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @long_chain(%x: memref<2x150xf32>, %y: memref<2x150xui8>) {
  %s = arith.constant 0.05 : f32
  %lo = arith.constant 0.0 : f32
  %hi = arith.constant 255.0 : f32
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : memref<2x150xf32>) outs(%y : memref<2x150xui8>) {
  ^bb0(%in: f32, %out: ui8):
    %0 = arith.divf %in, %s : f32
    %1 = math.roundeven %0 : f32
    %2 = arith.maximumf %1, %lo : f32
    %3 = arith.minimumf %2, %hi : f32
    %4 = arith.mulf %3, %s : f32
    %5 = math.erf %4 : f32
    %6 = arith.divf %5, %s : f32
    %7 = math.roundeven %6 : f32
    %8 = arith.maximumf %7, %lo : f32
    %9 = arith.minimumf %8, %hi : f32
    %10 = arith.mulf %9, %s : f32
    %11 = arith.mulf %10, %4 : f32
    %12 = arith.divf %11, %s : f32
    %13 = math.roundeven %12 : f32
    %14 = arith.maximumf %13, %lo : f32
    %15 = arith.minimumf %14, %hi : f32
    %16 = arith.mulf %15, %s : f32
    %17 = arith.addf %16, %4 : f32
    %18 = arith.divf %17, %s : f32
    %19 = math.roundeven %18 : f32
    %20 = arith.maximumf %19, %lo : f32
    %21 = arith.minimumf %20, %hi : f32
    %22 = arith.fptosi %21 : f32 to i32
    %23 = arith.trunci %22 : i32 to i8
    %24 = builtin.unrealized_conversion_cast %23 : i8 to ui8
    linalg.yield %24 : ui8
  }
  return
}
