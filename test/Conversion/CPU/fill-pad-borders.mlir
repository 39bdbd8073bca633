// RUN: %kiln_opt %s --kiln-fill-pad-borders --split-input-file | FileCheck %s

// A bufferized tensor.pad (H by 1 + 1, W by 1 + 1): the whole-buffer fill
// becomes fills of the rows above and below the interior and of the
// columns left and right of it; the copy into the interior stays.
// CHECK-LABEL: func.func @pad
// CHECK-NOT: linalg.map
// CHECK: %[[TOP:.*]] = memref.subview %[[BUF:.*]][0, 0, 0] [2, 1, 7] [1, 1, 1]
// CHECK: linalg.fill ins(%{{.*}} : f32) outs(%[[TOP]]
// CHECK: %[[BOTTOM:.*]] = memref.subview %[[BUF]][0, 5, 0] [2, 1, 7] [1, 1, 1]
// CHECK: linalg.fill ins(%{{.*}} : f32) outs(%[[BOTTOM]]
// CHECK: %[[LEFT:.*]] = memref.subview %[[BUF]][0, 1, 0] [2, 4, 1] [1, 1, 1]
// CHECK: linalg.fill ins(%{{.*}} : f32) outs(%[[LEFT]]
// CHECK: %[[RIGHT:.*]] = memref.subview %[[BUF]][0, 1, 6] [2, 4, 1] [1, 1, 1]
// CHECK: linalg.fill ins(%{{.*}} : f32) outs(%[[RIGHT]]
// CHECK-NOT: linalg.fill
// CHECK: memref.copy
func.func @pad(%src: memref<2x4x5xf32>) -> memref<2x6x7xf32> {
  %cst = arith.constant 0.5 : f32
  %buf = memref.alloc() : memref<2x6x7xf32>
  linalg.map outs(%buf : memref<2x6x7xf32>)
    (%init: f32) {
      linalg.yield %cst : f32
    }
  %sv = memref.subview %buf[0, 1, 1] [2, 4, 5] [1, 1, 1] : memref<2x6x7xf32> to memref<2x4x5xf32, strided<[42, 7, 1], offset: 8>>
  memref.copy %src, %sv : memref<2x4x5xf32> to memref<2x4x5xf32, strided<[42, 7, 1], offset: 8>>
  return %buf : memref<2x6x7xf32>
}

// -----

// Something reads the buffer between the fill and the copy: the fill
// stays whole.
// CHECK-LABEL: func.func @read_between
// CHECK: linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : memref<6x7xf32>)
// CHECK-NOT: linalg.fill
func.func @read_between(%src: memref<4x5xf32>, %other: memref<6x7xf32>) -> memref<6x7xf32> {
  %cst = arith.constant 0.0 : f32
  %buf = memref.alloc() : memref<6x7xf32>
  linalg.fill ins(%cst : f32) outs(%buf : memref<6x7xf32>)
  memref.copy %buf, %other : memref<6x7xf32> to memref<6x7xf32>
  %sv = memref.subview %buf[1, 1] [4, 5] [1, 1] : memref<6x7xf32> to memref<4x5xf32, strided<[7, 1], offset: 8>>
  memref.copy %src, %sv : memref<4x5xf32> to memref<4x5xf32, strided<[7, 1], offset: 8>>
  return %buf : memref<6x7xf32>
}

// -----

// A fill that yields its own element (not a constant) is left alone.
// CHECK-LABEL: func.func @not_constant
// CHECK: linalg.map
func.func @not_constant(%src: memref<4x5xf32>) -> memref<6x7xf32> {
  %buf = memref.alloc() : memref<6x7xf32>
  linalg.map outs(%buf : memref<6x7xf32>)
    (%init: f32) {
      linalg.yield %init : f32
    }
  %sv = memref.subview %buf[1, 1] [4, 5] [1, 1] : memref<6x7xf32> to memref<4x5xf32, strided<[7, 1], offset: 8>>
  memref.copy %src, %sv : memref<4x5xf32> to memref<4x5xf32, strided<[7, 1], offset: 8>>
  return %buf : memref<6x7xf32>
}
