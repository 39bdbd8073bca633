// RUN: %kiln_opt %s --kiln-plan-memory --split-input-file --verify-diagnostics | FileCheck %s

// Three 64-byte buffers with a, b, c live over [0,3], [2,5], [4,6]: a and c
// never overlap, so they share offset 0 and the workspace is 128 bytes.
// CHECK: module attributes {kiln.workspace_bytes = {chain = 128 : i64}}
// CHECK-LABEL: func.func @chain
// CHECK-SAME: %[[WS:[a-z0-9]+]]: memref<128xi8> {kiln.workspace}
// CHECK-SAME: kiln.workspace_bytes = 128 : i64
// CHECK-NOT: memref.alloc
// CHECK: %[[C0:.*]] = arith.constant 0 : index
// CHECK: %[[A:.*]] = memref.view %[[WS]][%[[C0]]][] : memref<128xi8> to memref<16xf32>
// CHECK: %[[C64:.*]] = arith.constant 64 : index
// CHECK: %[[B:.*]] = memref.view %[[WS]][%[[C64]]][] : memref<128xi8> to memref<16xf32>
// CHECK: %[[C0B:.*]] = arith.constant 0 : index
// CHECK: %[[C:.*]] = memref.view %[[WS]][%[[C0B]]][] : memref<128xi8> to memref<16xf32>
// CHECK-NOT: memref.dealloc
func.func @chain(%in: memref<16xf32>, %out: memref<16xf32>) attributes {kiln.entry} {
  %a = memref.alloc() {alignment = 64 : i64} : memref<16xf32>
  linalg.copy ins(%in : memref<16xf32>) outs(%a : memref<16xf32>)
  %b = memref.alloc() {alignment = 64 : i64} : memref<16xf32>
  linalg.copy ins(%a : memref<16xf32>) outs(%b : memref<16xf32>)
  %c = memref.alloc() {alignment = 64 : i64} : memref<16xf32>
  linalg.copy ins(%b : memref<16xf32>) outs(%c : memref<16xf32>)
  linalg.copy ins(%c : memref<16xf32>) outs(%out : memref<16xf32>)
  memref.dealloc %a : memref<16xf32>
  return
}

// -----

// A buffer read through a view stays live until the view's last use (so b
// cannot take a's bytes); 40-byte buffers are rounded up to 64.
// CHECK-LABEL: func.func @views
// CHECK-SAME: memref<128xi8> {kiln.workspace}
func.func @views(%in: memref<2x5xf32>, %out: memref<10xf32>) attributes {kiln.entry} {
  %a = memref.alloc() : memref<2x5xf32>
  linalg.copy ins(%in : memref<2x5xf32>) outs(%a : memref<2x5xf32>)
  %flat = memref.collapse_shape %a [[0, 1]] : memref<2x5xf32> into memref<10xf32>
  %b = memref.alloc() : memref<10xf32>
  linalg.copy ins(%flat : memref<10xf32>) outs(%b : memref<10xf32>)
  linalg.copy ins(%flat : memref<10xf32>) outs(%out : memref<10xf32>)
  linalg.copy ins(%b : memref<10xf32>) outs(%out : memref<10xf32>)
  return
}

// -----

// Functions that are not entries are left alone.
// CHECK-LABEL: func.func @helper
// CHECK: memref.alloc
func.func @helper(%in: memref<4xf32>) {
  %a = memref.alloc() : memref<4xf32>
  linalg.copy ins(%in : memref<4xf32>) outs(%a : memref<4xf32>)
  return
}

// -----

func.func @escapes(%in: memref<4xf32>) -> memref<4xf32> attributes {kiln.entry} {
  // expected-error @+1 {{buffer escapes its function}}
  %a = memref.alloc() : memref<4xf32>
  linalg.copy ins(%in : memref<4xf32>) outs(%a : memref<4xf32>)
  return %a : memref<4xf32>
}
