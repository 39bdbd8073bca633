// RUN: %kiln_opt %s --convert-kiln-to-linalg --split-input-file | FileCheck %s
// Unsigned integer tensors keep their type; linalg bodies reinterpret the
// elements as signless (unrealized casts the LLVM lowering folds away) and
// use the unsigned arith ops.

// CHECK-LABEL: func.func @less
// CHECK:       ^bb0(%[[A:.+]]: ui8, %[[B:.+]]: ui8, %{{.+}}: i1):
// CHECK:         %[[AS:.+]] = builtin.unrealized_conversion_cast %[[A]] : ui8 to i8
// CHECK:         %[[BS:.+]] = builtin.unrealized_conversion_cast %[[B]] : ui8 to i8
// CHECK:         %[[R:.+]] = arith.cmpi ult, %[[AS]], %[[BS]] : i8
// CHECK:         linalg.yield %[[R]] : i1
func.func @less(%x: tensor<4xui8>, %y: tensor<4xui8>) -> tensor<4xi1> {
  %0 = kiln.less %x, %y : tensor<4xui8>, tensor<4xui8>
  return %0 : tensor<4xi1>
}

// -----

// CHECK-LABEL: func.func @div
// CHECK:         %[[Q:.+]] = arith.divui %{{.+}}, %{{.+}} : i32
// CHECK:         %[[QU:.+]] = builtin.unrealized_conversion_cast %[[Q]] : i32 to ui32
// CHECK:         linalg.yield %[[QU]] : ui32
func.func @div(%x: tensor<4xui32>, %y: tensor<4xui32>) -> tensor<4xui32> {
  %0 = kiln.div %x, %y : tensor<4xui32>, tensor<4xui32>
  return %0 : tensor<4xui32>
}

// -----

// CHECK-LABEL: func.func @max
// CHECK:         arith.maxui %{{.+}}, %{{.+}} : i64
func.func @max(%x: tensor<4xui64>, %y: tensor<4xui64>) -> tensor<4xui64> {
  %0 = kiln.max %x, %y : tensor<4xui64>, tensor<4xui64>
  return %0 : tensor<4xui64>
}

// -----

// CHECK-LABEL: func.func @casts
// CHECK:         %[[S:.+]] = builtin.unrealized_conversion_cast %{{.+}} : ui16 to i16
// CHECK:         arith.uitofp %[[S]] : i16 to f32
// CHECK:         %[[S2:.+]] = builtin.unrealized_conversion_cast %{{.+}} : ui16 to i16
// CHECK:         arith.extui %[[S2]] : i16 to i32
// Float to narrow integers goes through i64 and wraps.
// CHECK:         %[[W:.+]] = arith.fptosi %{{.+}} : f32 to i64
// CHECK:         %[[T:.+]] = arith.trunci %[[W]] : i64 to i8
// CHECK:         builtin.unrealized_conversion_cast %[[T]] : i8 to ui8
func.func @casts(%x: tensor<4xui16>, %f: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xi32>, tensor<4xui8>) {
  %0 = kiln.cast %x : tensor<4xui16> -> tensor<4xf32>
  %1 = kiln.cast %x : tensor<4xui16> -> tensor<4xi32>
  %2 = kiln.cast %f : tensor<4xf32> -> tensor<4xui8>
  return %0, %1, %2 : tensor<4xf32>, tensor<4xi32>, tensor<4xui8>
}

// -----

// An unsigned splat becomes a signless splat and an elementwise
// reinterpretation, so elementwise fusion (which folds splats into bodies
// as scalar constants) only ever sees signless constants.
// CHECK-LABEL: func.func @splat
// CHECK:         %[[C:.+]] = arith.constant dense<-1> : tensor<i16>
// CHECK:         %[[U:.+]] = linalg.generic {{.+}} ins(%[[C]] : tensor<i16>) outs(%{{.+}} : tensor<ui16>)
// CHECK:           builtin.unrealized_conversion_cast %{{.+}} : i16 to ui16
// CHECK:         linalg.generic {{.+}} ins(%{{.+}}, %[[U]] : tensor<4xui16>, tensor<ui16>)
// CHECK:           arith.xori %{{.+}}, %{{.+}} : i16
func.func @splat(%x: tensor<4xui16>) -> tensor<4xui16> {
  %c = kiln.constant dense<65535> : tensor<ui16>
  %0 = kiln.xor %x, %c : tensor<4xui16>, tensor<ui16>
  return %0 : tensor<4xui16>
}

// -----

// Integer clip bounds are clamped to the unsigned range: 200 is -56 as i8.
// CHECK-LABEL: func.func @clip
// CHECK-DAG:     %[[LO:.+]] = arith.constant 10 : i8
// CHECK-DAG:     %[[X:.+]] = builtin.unrealized_conversion_cast %{{.+}} : ui8 to i8
// CHECK:         %[[M:.+]] = arith.maxui %[[X]], %[[LO]] : i8
// CHECK:         %[[HI:.+]] = arith.constant -56 : i8
// CHECK:         arith.minui %[[M]], %[[HI]] : i8
func.func @clip(%x: tensor<4xui8>) -> tensor<4xui8> {
  %0 = kiln.clip %x {min = 10.0 : f64, max = 200.0 : f64} : tensor<4xui8>
  return %0 : tensor<4xui8>
}

// -----

// The identity of min over ui8 is 255.
// CHECK-LABEL: func.func @reduce_min
// CHECK:         %[[TOP:.+]] = arith.constant -1 : i8
// CHECK:         %[[INIT:.+]] = builtin.unrealized_conversion_cast %[[TOP]] : i8 to ui8
// CHECK:         linalg.fill ins(%[[INIT]] : ui8)
// CHECK:         arith.minui %{{.+}}, %{{.+}} : i8
func.func @reduce_min(%x: tensor<2x4xui8>) -> tensor<2xui8> {
  %0 = kiln.reduce_min %x {axes = array<i64: 1>, keepdims = false} : tensor<2x4xui8> -> tensor<2xui8>
  return %0 : tensor<2xui8>
}
