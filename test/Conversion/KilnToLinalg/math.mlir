// RUN: %kiln_opt %s --convert-kiln-to-linalg --split-input-file | FileCheck %s

// CHECK-LABEL: func.func @sin
// CHECK:       linalg.generic
// CHECK:         math.sin %{{.+}} : f32
func.func @sin(%x: tensor<4xf32>) -> tensor<4xf32> {
  %0 = kiln.sin %x : tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// Round halves to even.
// CHECK-LABEL: func.func @round
// CHECK:         math.roundeven %{{.+}} : f16
func.func @round(%x: tensor<4xf16>) -> tensor<4xf16> {
  %0 = kiln.round %x : tensor<4xf16>
  return %0 : tensor<4xf16>
}

// -----

// CHECK-LABEL: func.func @sign_i32
// CHECK:         %[[POS:.+]] = arith.cmpi sgt
// CHECK:         %[[NEG:.+]] = arith.cmpi slt
// CHECK:         %[[R:.+]] = arith.select %[[NEG]], %{{.+}}, %{{.+}} : i32
// CHECK:         arith.select %[[POS]], %{{.+}}, %[[R]] : i32
func.func @sign_i32(%x: tensor<4xi32>) -> tensor<4xi32> {
  %0 = kiln.sign %x : tensor<4xi32>
  return %0 : tensor<4xi32>
}

// -----

// Python-style remainder: a non-zero remainder whose sign differs from the
// divisor's gets the divisor added.
// CHECK-LABEL: func.func @mod_int
// CHECK:       ^bb0(%[[X:.+]]: i32, %[[Y:.+]]: i32, %{{.+}}: i32):
// CHECK:         %[[R:.+]] = arith.remsi %[[X]], %[[Y]] : i32
// CHECK:         %[[NZ:.+]] = arith.cmpi ne, %[[R]]
// CHECK:         %[[RNEG:.+]] = arith.cmpi slt, %[[R]]
// CHECK:         %[[YNEG:.+]] = arith.cmpi slt, %[[Y]]
// CHECK:         %[[DIFF:.+]] = arith.cmpi ne, %[[RNEG]], %[[YNEG]] : i1
// CHECK:         %[[FIX:.+]] = arith.andi %[[NZ]], %[[DIFF]] : i1
// CHECK:         %[[SUM:.+]] = arith.addi %[[R]], %[[Y]]
// CHECK:         arith.select %[[FIX]], %[[SUM]], %[[R]] : i32
func.func @mod_int(%x: tensor<4xi32>, %y: tensor<i32>) -> tensor<4xi32> {
  %0 = kiln.mod %x, %y {fmod = false} : tensor<4xi32>, tensor<i32>
  return %0 : tensor<4xi32>
}

// -----

// C fmod on floats is remf.
// CHECK-LABEL: func.func @fmod_float
// CHECK:         %[[R:.+]] = arith.remf
// CHECK-NEXT:    linalg.yield %[[R]]
func.func @fmod_float(%x: tensor<4xf32>, %y: tensor<4xf32>) -> tensor<4xf32> {
  %0 = kiln.mod %x, %y {fmod = true} : tensor<4xf32>, tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// numpy's mod on floats: a zero remainder takes the divisor's sign.
// CHECK-LABEL: func.func @mod_float
// CHECK:       ^bb0(%{{.+}}: f32, %[[Y:.+]]: f32, %{{.+}}: f32):
// CHECK:         %[[R:.+]] = arith.remf
// CHECK:         %[[NZ:.+]] = arith.cmpf une, %[[R]]
// CHECK:         %[[ADJ:.+]] = arith.select %{{.+}}, %{{.+}}, %[[R]] : f32
// CHECK:         %[[Z:.+]] = math.copysign %{{.+}}, %[[Y]] : f32
// CHECK:         arith.select %[[NZ]], %[[ADJ]], %[[Z]] : f32
func.func @mod_float(%x: tensor<4xf32>, %y: tensor<4xf32>) -> tensor<4xf32> {
  %0 = kiln.mod %x, %y {fmod = false} : tensor<4xf32>, tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// Unsigned operands compute on their signless bits with the unsigned ops.
// CHECK-LABEL: func.func @mod_uint
// CHECK:       ^bb0(%[[X:.+]]: ui16, %[[Y:.+]]: ui16, %{{.+}}: ui16):
// CHECK:         %[[XS:.+]] = builtin.unrealized_conversion_cast %[[X]] : ui16 to i16
// CHECK:         %[[YS:.+]] = builtin.unrealized_conversion_cast %[[Y]] : ui16 to i16
// CHECK:         %[[R:.+]] = arith.remui %[[XS]], %[[YS]] : i16
// CHECK:         %[[RU:.+]] = builtin.unrealized_conversion_cast %[[R]] : i16 to ui16
// CHECK:         linalg.yield %[[RU]] : ui16
func.func @mod_uint(%x: tensor<4xui16>, %y: tensor<4xui16>) -> tensor<4xui16> {
  %0 = kiln.mod %x, %y {fmod = false} : tensor<4xui16>, tensor<4xui16>
  return %0 : tensor<4xui16>
}

// -----

// Shifts by the bit width or more give 0 instead of poison.
// CHECK-LABEL: func.func @shift_right
// CHECK:         %[[X:.+]] = builtin.unrealized_conversion_cast %{{.+}} : ui8 to i8
// CHECK:         %[[Y:.+]] = builtin.unrealized_conversion_cast %{{.+}} : ui8 to i8
// CHECK:         %[[W:.+]] = arith.constant 8 : i8
// CHECK:         %[[FAR:.+]] = arith.cmpi uge, %[[Y]], %[[W]] : i8
// CHECK:         %[[S:.+]] = arith.shrui %[[X]], %[[Y]] : i8
// CHECK:         %[[Z:.+]] = arith.constant 0 : i8
// CHECK:         arith.select %[[FAR]], %[[Z]], %[[S]] : i8
func.func @shift_right(%x: tensor<4xui8>, %y: tensor<4xui8>) -> tensor<4xui8> {
  %0 = kiln.bit_shift %x, %y {direction = "right"} : tensor<4xui8>, tensor<4xui8>
  return %0 : tensor<4xui8>
}

// -----

// CHECK-LABEL: func.func @shift_left
// CHECK:         arith.shli %{{.+}}, %{{.+}} : i32
func.func @shift_left(%x: tensor<4xui32>, %y: tensor<4xui32>) -> tensor<4xui32> {
  %0 = kiln.bit_shift %x, %y {direction = "left"} : tensor<4xui32>, tensor<4xui32>
  return %0 : tensor<4xui32>
}

// -----

// CHECK-LABEL: func.func @xor_bool
// CHECK:         arith.xori %{{.+}}, %{{.+}} : i1
func.func @xor_bool(%x: tensor<4xi1>, %y: tensor<4xi1>) -> tensor<4xi1> {
  %0 = kiln.xor %x, %y : tensor<4xi1>, tensor<4xi1>
  return %0 : tensor<4xi1>
}
