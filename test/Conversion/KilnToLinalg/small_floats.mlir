// RUN: %kiln_opt %s --convert-kiln-to-linalg --split-input-file | FileCheck %s
// 8- and 4-bit floats convert through f32 with integer arithmetic on their
// bits (LLVM has no arithmetic for them). Bit-exactness against ml_dtypes
// is checked by test/e2e/small_floats.

// Encode: |x| clamped to twice the largest finite value (896 for E4M3FN),
// the exponent clamped to emin (-6), the significand rounded to even, then
// the magnitude code; overflow gives NaN (0x7F) without saturation.
// CHECK-LABEL: func.func @to_e4m3fn
// CHECK:         %[[X:.+]] = arith.extf %{{.+}} : f16 to f32
// CHECK:         %[[NAN:.+]] = arith.cmpf uno, %[[X]], %[[X]] : f32
// CHECK:         %[[LIMIT:.+]] = arith.constant 8.960000e+02 : f32
// CHECK:         %[[A:.+]] = arith.minimumf %{{.+}}, %[[LIMIT]] : f32
// CHECK:         %[[EMIN:.+]] = arith.constant -6 : i32
// CHECK:         arith.maxsi %{{.+}}, %[[EMIN]] : i32
// CHECK:         %[[Q:.+]] = math.roundeven %{{.+}} : f32
// CHECK:         %[[MAX:.+]] = arith.constant 126 : i32
// CHECK:         %[[OVER:.+]] = arith.cmpi ugt, %{{.+}}, %[[MAX]] : i32
// CHECK:         %[[NANCODE:.+]] = arith.constant 127 : i32
// CHECK:         arith.select %[[OVER]], %[[NANCODE]], %{{.+}} : i32
// CHECK:         %[[B:.+]] = arith.trunci %{{.+}} : i32 to i8
// CHECK:         %[[F8:.+]] = arith.bitcast %[[B]] : i8 to f8E4M3FN
// CHECK:         linalg.yield %[[F8]] : f8E4M3FN
func.func @to_e4m3fn(%x: tensor<4xf16>) -> tensor<4xf8E4M3FN> {
  %0 = kiln.cast %x {saturate = false} : tensor<4xf16> -> tensor<4xf8E4M3FN>
  return %0 : tensor<4xf8E4M3FN>
}

// -----

// Saturating: overflow gives the largest finite code.
// CHECK-LABEL: func.func @to_e5m2_saturate
// CHECK:         %[[MAX:.+]] = arith.constant 123 : i32
// CHECK:         %[[OVER:.+]] = arith.cmpi ugt, %{{.+}}, %[[MAX]] : i32
// CHECK:         %[[SAT:.+]] = arith.constant 123 : i32
// CHECK:         arith.select %[[OVER]], %[[SAT]], %{{.+}} : i32
func.func @to_e5m2_saturate(%x: tensor<4xf32>) -> tensor<4xf8E5M2> {
  %0 = kiln.cast %x : tensor<4xf32> -> tensor<4xf8E5M2>
  return %0 : tensor<4xf8E5M2>
}

// -----

// Decode: significand (implicit bit unless subnormal) times 2^(exponent -
// bias - 2), the sign, then infinity / NaN for the all-ones exponent.
// CHECK-LABEL: func.func @from_e5m2
// CHECK:         %[[B:.+]] = arith.bitcast %{{.+}} : f8E5M2 to i8
// CHECK:         arith.extui %[[B]] : i8 to i32
// CHECK:         %[[SCALE:.+]] = arith.bitcast %{{.+}} : i32 to f32
// CHECK:         %[[SIG:.+]] = arith.uitofp %{{.+}} : i32 to f32
// CHECK:         arith.mulf %[[SIG]], %[[SCALE]] : f32
// CHECK:         %[[INF:.+]] = arith.constant 0x7F800000 : f32
// CHECK:         linalg.yield %{{.+}} : f32
func.func @from_e5m2(%x: tensor<4xf8E5M2>) -> tensor<4xf32> {
  %0 = kiln.cast %x : tensor<4xf8E5M2> -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// int4 from float: through i64, wrapping.
// CHECK-LABEL: func.func @to_int4
// CHECK:         %[[W:.+]] = arith.fptosi %{{.+}} : f32 to i64
// CHECK:         arith.trunci %[[W]] : i64 to i4
func.func @to_int4(%x: tensor<4xf32>) -> tensor<4xi4> {
  %0 = kiln.cast %x : tensor<4xf32> -> tensor<4xi4>
  return %0 : tensor<4xi4>
}

// -----

// CHECK-LABEL: func.func @bitcast
// CHECK:         arith.bitcast %{{.+}} : f32 to i32
func.func @bitcast(%x: tensor<4xf32>) -> tensor<4xi32> {
  %0 = kiln.bitcast %x : tensor<4xf32> -> tensor<4xi32>
  return %0 : tensor<4xi32>
}

// -----

// A byte reads as bool when non-zero.
// CHECK-LABEL: func.func @bitcast_to_bool
// CHECK:         %[[B:.+]] = builtin.unrealized_conversion_cast %{{.+}} : ui8 to i8
// CHECK:         %[[Z:.+]] = arith.constant 0 : i8
// CHECK:         arith.cmpi ne, %[[B]], %[[Z]] : i8
func.func @bitcast_to_bool(%x: tensor<4xui8>) -> tensor<4xi1> {
  %0 = kiln.bitcast %x : tensor<4xui8> -> tensor<4xi1>
  return %0 : tensor<4xi1>
}
