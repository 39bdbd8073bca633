// kiln-kv-layout kv-dtype=auto: the most faithful layout whose cache fits
// kv-budget. One layer of 2 key/value heads of 16, 64 tokens: f32 16384
// bytes, int8 5120, QJL m=64 with int8 values 5184 (a window of 8 keys:
// 1088 bytes fixed), int8 keys with 4-bit values 4608, QJL with 4-bit
// values m=64 4672, m=32 4160, m=16 3904.
// RUN: %kiln_opt %s --kiln-kv-layout="max-seq-len=64 kv-dtype=auto kv-budget=20000 qjl-recent=8" | FileCheck %s --check-prefix=F32
// RUN: %kiln_opt %s --kiln-kv-layout="max-seq-len=64 kv-dtype=auto kv-budget=6000 qjl-recent=8" | FileCheck %s --check-prefix=INT8
// RUN: %kiln_opt %s --kiln-kv-layout="max-seq-len=64 kv-dtype=auto kv-budget=5000 qjl-recent=8" | FileCheck %s --check-prefix=V4
// RUN: %kiln_opt %s --kiln-kv-layout="max-seq-len=64 kv-dtype=auto kv-budget=4500 qjl-recent=8" | FileCheck %s --check-prefix=QJL
// RUN: not %kiln_opt %s --kiln-kv-layout="max-seq-len=64 kv-dtype=auto kv-budget=3800 qjl-recent=8" 2>&1 | FileCheck %s --check-prefix=NONE
// RUN: not %kiln_opt %s --kiln-kv-layout="max-seq-len=64 kv-dtype=auto" 2>&1 | FileCheck %s --check-prefix=NOBUDGET

// F32: kiln.kv_dtype = "f32", kiln.kv_layout_choice = "f32: 256 B/token, 16384 B in all
// INT8: kiln.kv_dtype = "int8", kiln.kv_layout_choice = "int8: 80 B/token, 5120 B in all
// V4: kiln.kv_dtype = "int8", kiln.kv_layout_choice = "int8 values 4-bit: 72 B/token, 4608 B in all
// V4: kiln.kv_append_grouped {{.*}} {bits = 4 : i64}
// QJL: kiln.kv_dtype = "qjl", kiln.kv_layout_choice = "qjl m=32 values 4-bit: 48 B/token + 1088 B fixed, 4160 B in all
// QJL-SAME: candidates:\0A  f32: 256 B/token, 16384 B in all
// QJL-SAME: \0A  qjl m=64: 64 B/token + 1088 B fixed, 5184 B in all
// QJL-SAME: \0A  int8 values 4-bit: 72 B/token, 4608 B in all
// QJL: kiln.kv_append_qjl {{.*}} tensor<1x2x64x4xi8>
// QJL: kiln.kv_append_grouped {{.*}} {bits = 4 : i64}
// NONE: error: kiln-kv-layout: no cache layout fits kv-budget 3800 bytes for 64 tokens:
// NONE: qjl m=16 values 4-bit: 44 B/token + 1088 B fixed, 3904 B in all
// NOBUDGET: error: kiln-kv-layout: kv-dtype=auto needs kv-budget (bytes)
func.func @decoder(%q: tensor<1x4x1x16xf32> {kiln.name = "q"},
                   %pk: tensor<1x2x5x16xf32> {kiln.name = "past.0.key"},
                   %pv: tensor<1x2x5x16xf32> {kiln.name = "past.0.value"},
                   %kn: tensor<1x2x1x16xf32> {kiln.name = "k"},
                   %vn: tensor<1x2x1x16xf32> {kiln.name = "v"})
    -> (tensor<1x4x1x16xf32> {kiln.name = "y"},
        tensor<1x2x6x16xf32> {kiln.name = "present.0.key"},
        tensor<1x2x6x16xf32> {kiln.name = "present.0.value"})
    attributes {kiln.entry} {
  %k = kiln.concat %pk, %kn {axis = 2 : i64}
       : tensor<1x2x5x16xf32>, tensor<1x2x1x16xf32> -> tensor<1x2x6x16xf32>
  %v = kiln.concat %pv, %vn {axis = 2 : i64}
       : tensor<1x2x5x16xf32>, tensor<1x2x1x16xf32> -> tensor<1x2x6x16xf32>
  %y = kiln.attention %q, %k, %v {scale = 0.25 : f32, causal}
       : tensor<1x4x1x16xf32>, tensor<1x2x6x16xf32>, tensor<1x2x6x16xf32>
  return %y, %k, %v : tensor<1x4x1x16xf32>, tensor<1x2x6x16xf32>, tensor<1x2x6x16xf32>
}
