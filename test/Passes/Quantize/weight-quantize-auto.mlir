// kiln-weight-quantize with accuracy-budget (kiln compile --quantize=auto):
// per matmul, the fewest bits within the relative weight error budget that
// the roofline (costmodel/QuantCost.h) estimates faster than fp32.
// RUN: %kiln_opt %s --kiln-weight-quantize="accuracy-budget=0.05 vector-bits=512 l2-bytes=65536" | FileCheck %s

// One row: memory-bound, and a constant matrix quantizes with (almost) no
// error, so the fewest bits win: mixed 2/4-bit.
// CHECK-LABEL: func.func @gemv
// CHECK:       kiln.quantized_matmul {{.*}} {kiln.quantization = "M 1 K 512 N 512: w2w4 g64 error {{[0-9.]+}} est. {{[0-9.]+}}x; -> w2w4 g64", quant = #kiln.weight_quant<bits = 4, group = 64>}
func.func @gemv(%x: tensor<1x512xf32>) -> tensor<1x512xf32> {
  %w = kiln.constant dense<0.5> : tensor<512x512xf32>
  %y = kiln.matmul %x, %w : tensor<1x512xf32>, tensor<512x512xf32>
  return %y : tensor<1x512xf32>
}

// 256 rows: compute-bound; dequantizing would only add work: float.
// CHECK-LABEL: func.func @gemm
// CHECK:       kiln.matmul {{.*}} {kiln.quantization = "M 256 K 512 N 512: {{.*}}-> float (no mode within the error budget 0.05 and faster)"}
// CHECK-NOT:   kiln.quantized_matmul
func.func @gemm(%x: tensor<256x512xf32>) -> tensor<256x512xf32> {
  %w = kiln.constant dense<0.5> : tensor<512x512xf32>
  %y = kiln.matmul %x, %w : tensor<256x512xf32>, tensor<512x512xf32>
  return %y : tensor<256x512xf32>
}
