// The w8a8 kernels of two matmuls sharing their input after CSE
// (Int8MatmulKernel.cpp).
// RUN: %kiln_opt %s --convert-kiln-to-linalg --canonicalize --cse --kiln-fuse-elementwise --linalg-generalize-named-ops --one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" --canonicalize --kiln-lower-contractions="vector-bits=512 vector-registers=32 vnni=true" | FileCheck %s

// Two w8a8 matmuls of one input (Q and K projections): CSE shares their
// row scales, and their rescales come after both contractions. Each kernel
// is emitted at its rescale, past the other's contraction, so neither may
// compute the shared scales in its quantization pass (the other kernel
// could read them before they exist): the row maxima stay one vectorized
// reduction before both kernels, which load the scales; each kernel still
// absorbs its rescale and bias add.
// CHECK:       kiln.kernels = ["int8 matmul M 4 N 8 K 16, vpdpbusd, activations quantized per row, weights packed 4 k per lane, tile 4x64 + epilogue(sitofp, mulf, mulf, addf)", "int8 matmul M 4 N 8 K 16, vpdpbusd, activations quantized per row, weights packed 4 k per lane, tile 4x64 + epilogue(sitofp, mulf, mulf, addf)"
// CHECK-LABEL: func.func @shared_row_scales
// CHECK-COUNT-1: vector.reduction <maximumf>
// CHECK-NOT:   vector.reduction <maximumf>
// CHECK-COUNT-2: llvm.call_intrinsic "llvm.x86.avx512.vpdpbusd.512"
func.func @shared_row_scales(%x: tensor<4x16xf32>, %b1: tensor<8xf32>, %b2: tensor<8xf32>) -> (tensor<4x8xf32>, tensor<4x8xf32>) {
  %w1 = arith.constant dense<[[-5, -2, 1, 4, -6, -3, 0, 3], [0, 3, 6, -4, -1, 2, 5, -5], [5, -5, -2, 1, 4, -6, -3, 0], [-3, 0, 3, 6, -4, -1, 2, 5], [2, 5, -5, -2, 1, 4, -6, -3], [-6, -3, 0, 3, 6, -4, -1, 2], [-1, 2, 5, -5, -2, 1, 4, -6], [4, -6, -3, 0, 3, 6, -4, -1], [-4, -1, 2, 5, -5, -2, 1, 4], [1, 4, -6, -3, 0, 3, 6, -4], [6, -4, -1, 2, 5, -5, -2, 1], [-2, 1, 4, -6, -3, 0, 3, 6], [3, 6, -4, -1, 2, 5, -5, -2], [-5, -2, 1, 4, -6, -3, 0, 3], [0, 3, 6, -4, -1, 2, 5, -5], [5, -5, -2, 1, 4, -6, -3, 0]]> : tensor<16x8xi8>
  %w2 = arith.constant dense<[[-2, 1, 4, -6, -3, 0, 3, 6], [3, 6, -4, -1, 2, 5, -5, -2], [-5, -2, 1, 4, -6, -3, 0, 3], [0, 3, 6, -4, -1, 2, 5, -5], [5, -5, -2, 1, 4, -6, -3, 0], [-3, 0, 3, 6, -4, -1, 2, 5], [2, 5, -5, -2, 1, 4, -6, -3], [-6, -3, 0, 3, 6, -4, -1, 2], [-1, 2, 5, -5, -2, 1, 4, -6], [4, -6, -3, 0, 3, 6, -4, -1], [-4, -1, 2, 5, -5, -2, 1, 4], [1, 4, -6, -3, 0, 3, 6, -4], [6, -4, -1, 2, 5, -5, -2, 1], [-2, 1, 4, -6, -3, 0, 3, 6], [3, 6, -4, -1, 2, 5, -5, -2], [-5, -2, 1, 4, -6, -3, 0, 3]]> : tensor<16x8xi8>
  %s = arith.constant dense<[0.5, 0.25, 0.5, 0.25, 0.5, 0.25, 0.5, 0.125]> : tensor<8xf32>
  %0 = kiln.dynamic_quantized_matmul %x, %w1 scales %s : tensor<4x16xf32>, tensor<16x8xi8>, tensor<8xf32>
  %1 = kiln.dynamic_quantized_matmul %x, %w2 scales %s : tensor<4x16xf32>, tensor<16x8xi8>, tensor<8xf32>
  %2 = kiln.add %0, %b1 : tensor<4x8xf32>, tensor<8xf32>
  %3 = kiln.add %1, %b2 : tensor<4x8xf32>, tensor<8xf32>
  return %2, %3 : tensor<4x8xf32>, tensor<4x8xf32>
}
