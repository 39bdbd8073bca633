// The int8 GEMM kernel of kiln.dynamic_quantized_matmul (Int8MatmulKernel.cpp)
// on the bufferized reference form, with and without AVX-512 VNNI.
// RUN: %kiln_opt %s --convert-kiln-to-linalg --canonicalize --kiln-fuse-elementwise --linalg-generalize-named-ops --one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" --canonicalize --kiln-lower-contractions="vector-bits=512 vector-registers=32 vnni=true" | FileCheck %s --check-prefixes=CHECK,VNNI
// RUN: %kiln_opt %s --convert-kiln-to-linalg --canonicalize --kiln-fuse-elementwise --linalg-generalize-named-ops --one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" --canonicalize --kiln-lower-contractions="vector-bits=256 vector-registers=16" | FileCheck %s --check-prefixes=CHECK,WIDE
// RUN: %kiln_opt %s --convert-kiln-to-linalg --canonicalize --kiln-fuse-elementwise --linalg-generalize-named-ops --one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" --canonicalize --kiln-lower-contractions="vector-bits=256 vector-registers=16 pmaddwd-bits=256" | FileCheck %s --check-prefix=PAIRS

// K = 10 pads to 3 quads of k; N = 20 is one ragged panel (VNNI: 64
// columns, 4 accumulators of 16 per row; widening: 32 columns, 2).
// Weights [K, N] are packed as [panel][K / 4][nr * 4] bytes and the column
// sums as [panel][nr] i32; the original weights are gone. The marked
// contraction and the rescale (with the bias add fused into it) are
// replaced; no i32 accumulator buffer remains.
// CHECK-DAG:   memref.global "private" constant @{{.*}}_vnni : memref<1x3x{{256|128}}xi8>
// CHECK-DAG:   memref.global "private" constant @{{.*}}_colsum : memref<1x{{64|32}}xi32>
// CHECK-NOT:   memref.global "private" constant @{{.*}} : memref<10x20xi8>
// CHECK-LABEL: func.func @gemm
// CHECK-NOT:   kiln.int8_matmul
// CHECK-NOT:   memref<5x20xi32>
// The activations, once per row (K = 10 < 16: one masked block), divided
// by the row scale, rounded half to even, +128, 4 bytes per i32 word.
// CHECK:       %[[XW:.*]] = memref.alloc() {{.*}} : memref<5x3xi32>
// CHECK:       scf.parallel
// CHECK:         vector.maskedload %arg0
// CHECK:         arith.divf %{{.*}} : vector<16xf32>
// CHECK:         math.roundeven %{{.*}} : vector<16xf32>
// CHECK:         arith.trunci %{{.*}} : vector<16xi32> to vector<16xi8>
// CHECK:         vector.bitcast %{{.*}} : vector<16xi8> to vector<4xi32>
// CHECK:         vector.maskedstore %[[XW]]
// CHECK:       scf.parallel
// CHECK:         scf.for
// CHECK:           memref.load %[[XW]]
// VNNI-COUNT-4:    llvm.call_intrinsic "llvm.x86.avx512.vpdpbusd.512"
// WIDE-NOT:        llvm.call_intrinsic
// WIDE:            arith.extui %{{.*}} : vector<64xi8> to vector<64xi16>
// WIDE:            arith.muli %{{.*}} : vector<32xi32>
// CHECK:         arith.sitofp %{{.*}} : vector<16xi32> to vector<16xf32>
// CHECK:         arith.mulf
// CHECK:         arith.mulf
// CHECK:         arith.addf
// CHECK:         vector.maskedstore %{{.*}} : memref<5x20xf32>, vector<16xi1>, vector<16xf32>
// On AVX2 (no VNNI) 2 k per lane. K = 10 is 5 words of two i16 (the
// u8 values); the weights [panel][K / 2][nr * 2] bytes in panels of 16
// columns, sign-extended to i16 and multiplied pairwise by pmaddwd into
// 8 i32 lanes. N = 20 is a full panel, stored unmasked, and a ragged one,
// the only one with masks (an scf.if on the panel).
// PAIRS-DAG:   memref.global "private" constant @{{.*}}_pairs : memref<2x5x32xi8>
// PAIRS-DAG:   memref.global "private" constant @{{.*}}_colsum : memref<2x16xi32>
// PAIRS-LABEL: func.func @gemm
// PAIRS:       %[[XW:.*]] = memref.alloc() {{.*}} : memref<5x5xi32>
// PAIRS:       arith.trunci %{{.*}} : vector<16xi32> to vector<16xi16>
// PAIRS:       vector.bitcast %{{.*}} : vector<16xi16> to vector<8xi32>
// PAIRS:       vector.maskedstore %[[XW]]{{.*}} : memref<5x5xi32>, vector<8xi1>, vector<8xi32>
// PAIRS:       %[[FULL:.*]] = arith.cmpi slt, %{{.*}}, %c1
// PAIRS:       scf.if %[[FULL]] {
// PAIRS:       scf.for {{.*}} -> (vector<8xi32>,
// PAIRS:         memref.load %[[XW]]
// PAIRS:         vector.bitcast %{{.*}} : vector<8xi32> to vector<16xi16>
// PAIRS:         arith.extsi %{{.*}} : vector<16xi8> to vector<16xi16>
// PAIRS:         llvm.call_intrinsic "llvm.x86.avx2.pmadd.wd"(%{{.*}}, %{{.*}}) : (vector<16xi16>, vector<16xi16>) -> vector<8xi32>
// PAIRS:         arith.addi %{{.*}} : vector<8xi32>
// PAIRS:       arith.sitofp %{{.*}} : vector<8xi32> to vector<8xf32>
// PAIRS-NOT:   vector.maskedstore
// PAIRS:       vector.store %{{.*}} : memref<5x20xf32>, vector<8xf32>
// PAIRS-NOT:   vector.maskedstore
// PAIRS:       } else {
// PAIRS:       vector.maskedstore %{{.*}} : memref<5x20xf32>, vector<8xi1>, vector<8xf32>
func.func @gemm(%x: tensor<5x10xf32>, %bias: tensor<20xf32>) -> tensor<5x20xf32> {
  %w = arith.constant dense<[[-5, -2, 1, 4, -4, -1, 2, 5, -3, 0, 3, -5, -2, 1, 4, -4, -1, 2, 5, -3], [2, 5, -3, 0, 3, -5, -2, 1, 4, -4, -1, 2, 5, -3, 0, 3, -5, -2, 1, 4], [-2, 1, 4, -4, -1, 2, 5, -3, 0, 3, -5, -2, 1, 4, -4, -1, 2, 5, -3, 0], [5, -3, 0, 3, -5, -2, 1, 4, -4, -1, 2, 5, -3, 0, 3, -5, -2, 1, 4, -4], [1, 4, -4, -1, 2, 5, -3, 0, 3, -5, -2, 1, 4, -4, -1, 2, 5, -3, 0, 3], [-3, 0, 3, -5, -2, 1, 4, -4, -1, 2, 5, -3, 0, 3, -5, -2, 1, 4, -4, -1], [4, -4, -1, 2, 5, -3, 0, 3, -5, -2, 1, 4, -4, -1, 2, 5, -3, 0, 3, -5], [0, 3, -5, -2, 1, 4, -4, -1, 2, 5, -3, 0, 3, -5, -2, 1, 4, -4, -1, 2], [-4, -1, 2, 5, -3, 0, 3, -5, -2, 1, 4, -4, -1, 2, 5, -3, 0, 3, -5, -2], [3, -5, -2, 1, 4, -4, -1, 2, 5, -3, 0, 3, -5, -2, 1, 4, -4, -1, 2, 5]]> : tensor<10x20xi8>
  %s = arith.constant dense<[0.5, 0.75, 1.0, 0.5, 0.75, 1.0, 0.5, 0.75, 1.0, 0.5, 0.75, 1.0, 0.5, 0.75, 1.0, 0.5, 0.75, 1.0, 0.5, 0.75]> : tensor<20xf32>
  %0 = kiln.dynamic_quantized_matmul %x, %w scales %s : tensor<5x10xf32>, tensor<10x20xi8>, tensor<20xf32>
  %1 = kiln.add %0, %bias : tensor<5x20xf32>, tensor<20xf32>
  return %1 : tensor<5x20xf32>
}

// A static input_scale (calibrated): the scale folds into the contraction
// as a constant divisor; the kernel quantizes every row with it (no row
// maximum, no s_x buffer) and the rescale multiplies by it.
// CHECK-LABEL: func.func @gemm_static
// CHECK-NOT:   vector.reduction <maximumf>
// CHECK-NOT:   memref<3xf32>
// CHECK:       scf.parallel
// CHECK:         arith.constant 2.500000e-01 : f32
// CHECK:         math.roundeven %{{.*}} : vector<16xf32>
// CHECK:         arith.maximumf
// CHECK:         arith.minimumf
// CHECK:       scf.parallel
// VNNI:            llvm.call_intrinsic "llvm.x86.avx512.vpdpbusd.512"
// CHECK:         arith.sitofp %{{.*}} : vector<16xi32> to vector<16xf32>
// CHECK:         arith.mulf
// CHECK:         arith.mulf
// CHECK-NOT:   kiln.int8_matmul
func.func @gemm_static(%x: tensor<3x8xf32>) -> tensor<3x16xf32> {
  %w = arith.constant dense<[[-5, -2, 1, 4, -4, -1, 2, 5, -3, 0, 3, -5, -2, 1, 4, -4], [2, 5, -3, 0, 3, -5, -2, 1, 4, -4, -1, 2, 5, -3, 0, 3], [-2, 1, 4, -4, -1, 2, 5, -3, 0, 3, -5, -2, 1, 4, -4, -1], [5, -3, 0, 3, -5, -2, 1, 4, -4, -1, 2, 5, -3, 0, 3, -5], [1, 4, -4, -1, 2, 5, -3, 0, 3, -5, -2, 1, 4, -4, -1, 2], [-3, 0, 3, -5, -2, 1, 4, -4, -1, 2, 5, -3, 0, 3, -5, -2], [4, -4, -1, 2, 5, -3, 0, 3, -5, -2, 1, 4, -4, -1, 2, 5], [0, 3, -5, -2, 1, 4, -4, -1, 2, 5, -3, 0, 3, -5, -2, 1]]> : tensor<8x16xi8>
  %s = arith.constant dense<0.5> : tensor<16xf32>
  %0 = kiln.dynamic_quantized_matmul %x, %w scales %s {input_scale = 0.25 : f32} : tensor<3x8xf32>, tensor<8x16xi8>, tensor<16xf32>
  return %0 : tensor<3x16xf32>
}

// kiln.integer_matmul (ONNX MatMulInteger) with u8 activations and a
// run-time zero point, rescaled by a run-time scale (DynamicQuantizeLinear's)
// and biased: the same kernel, whose activation pass copies the bytes
// (K = 20: one 16-byte block and a 4-byte tail read byte by byte) instead
// of quantizing, and whose accumulators start at -zp * column sums (plain
// sums packed, times the broadcast -zp); the cast, scale and bias are its
// epilogue.
// CHECK-LABEL: func.func @integer_u8
// CHECK-NOT:   kiln.integer_matmul =
// CHECK:       %[[XW:.*]] = memref.alloc() {{.*}} : memref<3x5xi32>
// CHECK:       scf.parallel
// CHECK:         vector.load %arg0{{.*}} : memref<3x20xui8>, vector<16xui8>
// CHECK:         builtin.unrealized_conversion_cast %{{.*}} : vector<16xui8> to vector<16xi8>
// CHECK:         vector.bitcast %{{.*}} : vector<16xi8> to vector<4xi32>
// CHECK:         vector.store %{{.*}}, %[[XW]]
// CHECK:         memref.load %arg0
// CHECK:         vector.insert
// CHECK:         vector.maskedstore %[[XW]]
// CHECK:       scf.parallel
// CHECK:         memref.load %arg1[] : memref<ui8>
// CHECK:         arith.extui %{{.*}} : i8 to i32
// CHECK:         arith.muli %{{.*}} : vector<16xi32>
// VNNI:            llvm.call_intrinsic "llvm.x86.avx512.vpdpbusd.512"
// WIDE:            arith.extui %{{.*}} : vector<64xi8> to vector<64xi16>
// CHECK:         arith.sitofp %{{.*}} : vector<16xi32> to vector<16xf32>
// CHECK:         arith.mulf
// CHECK:         arith.addf
// CHECK:         vector.maskedstore %{{.*}} : memref<3x24xf32>, vector<16xi1>, vector<16xf32>
func.func @integer_u8(%x: tensor<3x20xui8>, %zp: tensor<ui8>, %scale: tensor<f32>, %bias: tensor<24xf32>) -> tensor<3x24xf32> {
  %w = arith.constant dense<[[-4, -1, 2, 5, -3, 0, 3, -5, -2, 1, 4, -4, -1, 2, 5, -3, 0, 3, -5, -2, 1, 4, -4, -1], [3, -5, -2, 1, 4, -4, -1, 2, 5, -3, 0, 3, -5, -2, 1, 4, -4, -1, 2, 5, -3, 0, 3, -5], [-1, 2, 5, -3, 0, 3, -5, -2, 1, 4, -4, -1, 2, 5, -3, 0, 3, -5, -2, 1, 4, -4, -1, 2], [-5, -2, 1, 4, -4, -1, 2, 5, -3, 0, 3, -5, -2, 1, 4, -4, -1, 2, 5, -3, 0, 3, -5, -2], [2, 5, -3, 0, 3, -5, -2, 1, 4, -4, -1, 2, 5, -3, 0, 3, -5, -2, 1, 4, -4, -1, 2, 5], [-2, 1, 4, -4, -1, 2, 5, -3, 0, 3, -5, -2, 1, 4, -4, -1, 2, 5, -3, 0, 3, -5, -2, 1], [5, -3, 0, 3, -5, -2, 1, 4, -4, -1, 2, 5, -3, 0, 3, -5, -2, 1, 4, -4, -1, 2, 5, -3], [1, 4, -4, -1, 2, 5, -3, 0, 3, -5, -2, 1, 4, -4, -1, 2, 5, -3, 0, 3, -5, -2, 1, 4], [-3, 0, 3, -5, -2, 1, 4, -4, -1, 2, 5, -3, 0, 3, -5, -2, 1, 4, -4, -1, 2, 5, -3, 0], [4, -4, -1, 2, 5, -3, 0, 3, -5, -2, 1, 4, -4, -1, 2, 5, -3, 0, 3, -5, -2, 1, 4, -4], [0, 3, -5, -2, 1, 4, -4, -1, 2, 5, -3, 0, 3, -5, -2, 1, 4, -4, -1, 2, 5, -3, 0, 3], [-4, -1, 2, 5, -3, 0, 3, -5, -2, 1, 4, -4, -1, 2, 5, -3, 0, 3, -5, -2, 1, 4, -4, -1], [3, -5, -2, 1, 4, -4, -1, 2, 5, -3, 0, 3, -5, -2, 1, 4, -4, -1, 2, 5, -3, 0, 3, -5], [-1, 2, 5, -3, 0, 3, -5, -2, 1, 4, -4, -1, 2, 5, -3, 0, 3, -5, -2, 1, 4, -4, -1, 2], [-5, -2, 1, 4, -4, -1, 2, 5, -3, 0, 3, -5, -2, 1, 4, -4, -1, 2, 5, -3, 0, 3, -5, -2], [2, 5, -3, 0, 3, -5, -2, 1, 4, -4, -1, 2, 5, -3, 0, 3, -5, -2, 1, 4, -4, -1, 2, 5], [-2, 1, 4, -4, -1, 2, 5, -3, 0, 3, -5, -2, 1, 4, -4, -1, 2, 5, -3, 0, 3, -5, -2, 1], [5, -3, 0, 3, -5, -2, 1, 4, -4, -1, 2, 5, -3, 0, 3, -5, -2, 1, 4, -4, -1, 2, 5, -3], [1, 4, -4, -1, 2, 5, -3, 0, 3, -5, -2, 1, 4, -4, -1, 2, 5, -3, 0, 3, -5, -2, 1, 4], [-3, 0, 3, -5, -2, 1, 4, -4, -1, 2, 5, -3, 0, 3, -5, -2, 1, 4, -4, -1, 2, 5, -3, 0]]> : tensor<20x24xi8>
  %0 = kiln.integer_matmul %x, %w zero_point %zp : tensor<3x20xui8>, tensor<20x24xi8>, tensor<ui8>
  %1 = kiln.cast %0 : tensor<3x24xi32> -> tensor<3x24xf32>
  %2 = kiln.mul %1, %scale : tensor<3x24xf32>, tensor<f32>
  %3 = kiln.add %2, %bias : tensor<3x24xf32>, tensor<24xf32>
  return %3 : tensor<3x24xf32>
}

// Signed activations with a constant zero point: the copy flips each
// byte's top bit (+128, for the u8 x s8 dot product) and the accumulators
// start at -(zp + 128) * column sums (zp + 128 = 125 for zp -3).
// CHECK-LABEL: func.func @integer_i8
// CHECK:       scf.parallel
// CHECK:         arith.xori %{{.*}} : vector<16xi8>
// CHECK:       scf.parallel
// CHECK:         %[[OFF:.*]] = arith.constant 125 : i32
// CHECK:         arith.subi %{{.*}}, %[[OFF]] : i32
// VNNI:            llvm.call_intrinsic "llvm.x86.avx512.vpdpbusd.512"
func.func @integer_i8(%x: tensor<2x16xi8>) -> tensor<2x8xi32> {
  %w = arith.constant dense<[[-3, 0, 3, -5, -2, 1, 4, -4], [4, -4, -1, 2, 5, -3, 0, 3], [0, 3, -5, -2, 1, 4, -4, -1], [-4, -1, 2, 5, -3, 0, 3, -5], [3, -5, -2, 1, 4, -4, -1, 2], [-1, 2, 5, -3, 0, 3, -5, -2], [-5, -2, 1, 4, -4, -1, 2, 5], [2, 5, -3, 0, 3, -5, -2, 1], [-2, 1, 4, -4, -1, 2, 5, -3], [5, -3, 0, 3, -5, -2, 1, 4], [1, 4, -4, -1, 2, 5, -3, 0], [-3, 0, 3, -5, -2, 1, 4, -4], [4, -4, -1, 2, 5, -3, 0, 3], [0, 3, -5, -2, 1, 4, -4, -1], [-4, -1, 2, 5, -3, 0, 3, -5], [3, -5, -2, 1, 4, -4, -1, 2]]> : tensor<16x8xi8>
  %zp = kiln.constant dense<-3> : tensor<i8>
  %0 = kiln.integer_matmul %x, %w zero_point %zp : tensor<2x16xi8>, tensor<16x8xi8>, tensor<i8>
  return %0 : tensor<2x8xi32>
}
