// RUN: %kiln compile %s -o %t.mlir --emit=mlir --load-pass-plugin=%kiln_test_plugin --plugin-pipeline='after-import:kiln-test-relu-to-clip' && FileCheck %s < %t.mlir
// RUN: %kiln_opt %s --load-pass-plugin=%kiln_test_plugin --pass-pipeline='builtin.module(kiln-test-relu-to-clip)' | FileCheck %s
// The plugin's pass also runs at a later point, and the model still compiles
// and runs to the end.
// RUN: %kiln compile %s -o %t.so --load-pass-plugin=%kiln_test_plugin --plugin-pipeline='before-lowering:kiln-test-relu-to-clip' --plugin-pipeline='before-llvm:canonicalize' | FileCheck %s --check-prefix=SO
// RUN: not %kiln compile %s -o %t.o --load-pass-plugin=%kiln_test_plugin --plugin-pipeline='after-dinner:kiln-test-relu-to-clip' 2>&1 | FileCheck %s --check-prefix=POINT
// RUN: not %kiln compile %s -o %t.o --plugin-pipeline='after-import:kiln-test-relu-to-clip' 2>&1 | FileCheck %s --check-prefix=UNLOADED
// RUN: not %kiln compile %s -o %t.o --load-pass-plugin=%t.missing.so 2>&1 | FileCheck %s --check-prefix=MISSING

// CHECK-LABEL: func.func @main
// CHECK-NOT: kiln.relu
// CHECK: kiln.clip %{{.*}} {max = 0x7FF0000000000000 : f64, min = 0.000000e+00 : f64}
// SO: kiln: wrote {{.*}}.so
// POINT: error: --plugin-pipeline 'after-dinner:kiln-test-relu-to-clip': expected POINT:PIPELINE with POINT one of after-import, before-quantize, after-fusion, before-lowering, before-llvm
// UNLOADED: error: --plugin-pipeline 'after-import:kiln-test-relu-to-clip': {{.*}}'kiln-test-relu-to-clip' does not refer to a registered pass
// MISSING: error: cannot load pass plugin '{{.*}}.missing.so'
func.func @main(%x: tensor<4xf32> {kiln.name = "x"}) -> (tensor<4xf32> {kiln.name = "y"}) attributes {kiln.entry} {
  %0 = kiln.relu %x : tensor<4xf32>
  return %0 : tensor<4xf32>
}
