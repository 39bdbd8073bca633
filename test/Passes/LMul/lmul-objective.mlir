// The cost model places L-Mul op by op (costmodel/LMulCost.h). On a 512-bit
// core with a 1 MiB L2: `latency` takes only the memory-bound product (a
// 1024x1024 elementwise mul, 12 MiB of traffic from DRAM: the ~24 integer
// ops per emulated product hide behind it), not the cache-resident mul nor
// the compute-bound matmul. A 256-bit core has half the integer lanes, and
// there even that mul would be slower, so `latency` takes nothing.
// `energy` takes every float product. Integer products are never candidates.
// RUN: %kiln_opt %s --kiln-lmul="scope=all objective=latency vector-bits=512 l2-bytes=1048576" | FileCheck %s --check-prefix=LAT
// RUN: %kiln_opt %s --kiln-lmul="scope=all objective=latency vector-bits=256 l2-bytes=1048576" | FileCheck %s --check-prefix=LAT256
// RUN: %kiln_opt %s --kiln-lmul="scope=all objective=energy" | FileCheck %s --check-prefix=EN
// RUN: %kiln_opt %s --kiln-lmul="scope=matmul objective=energy" | FileCheck %s --check-prefix=SCOPE
// RUN: not %kiln_opt %s --kiln-lmul="objective=speed" 2>&1 | FileCheck %s --check-prefix=BAD

// LAT-LABEL: func.func @placement
// LAT:       kiln.matmul %arg0, %arg1 :
// LAT:       kiln.mul %arg2, %arg2 {lmul = #kiln.lmul<format = "fp32", mantissa = 23, rounding = "nearest">} : tensor<1024x1024xf32>
// LAT:       kiln.mul %arg3, %arg3 : tensor<16x16xf32>
// LAT:       kiln.mul %arg4, %arg4 : tensor<4xi64>

// LAT256-NOT: lmul =

// EN:        kiln.matmul %arg0, %arg1 {lmul =
// EN:        kiln.mul %arg2, %arg2 {lmul =
// EN:        kiln.mul %arg3, %arg3 {lmul =
// EN:        kiln.mul %arg4, %arg4 : tensor<4xi64>

// SCOPE:     kiln.matmul %arg0, %arg1 {lmul =
// SCOPE:     kiln.mul %arg2, %arg2 : tensor<1024x1024xf32>

// BAD: kiln-lmul: unknown objective 'speed' (expected latency or energy)
func.func @placement(%x: tensor<64x64xf32>, %w: tensor<64x64xf32>,
                     %big: tensor<1024x1024xf32>, %small: tensor<16x16xf32>,
                     %i: tensor<4xi64>)
    -> (tensor<64x64xf32>, tensor<1024x1024xf32>, tensor<16x16xf32>, tensor<4xi64>) {
  %h = kiln.matmul %x, %w : tensor<64x64xf32>, tensor<64x64xf32>
  %b = kiln.mul %big, %big : tensor<1024x1024xf32>, tensor<1024x1024xf32>
  %s = kiln.mul %small, %small : tensor<16x16xf32>, tensor<16x16xf32>
  %ii = kiln.mul %i, %i : tensor<4xi64>, tensor<4xi64>
  return %h, %b, %s, %ii : tensor<64x64xf32>, tensor<1024x1024xf32>, tensor<16x16xf32>, tensor<4xi64>
}
