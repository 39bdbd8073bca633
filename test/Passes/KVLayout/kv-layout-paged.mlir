// kiln-kv-layout with kv-block: the caches become pools of blocks that
// many sequences share, read and appended through the sequence's block
// table (the first state).
// RUN: %kiln_opt %s -split-input-file --kiln-kv-layout="max-seq-len=64 kv-block=16 kv-pool-blocks=10" -verify-diagnostics | FileCheck %s
// RUN: %kiln_opt %s -split-input-file --kiln-kv-layout="max-seq-len=64 kv-dtype=int8 kv-block=32" -verify-diagnostics | FileCheck %s --check-prefix=INT8
// RUN: not %kiln_opt %s -split-input-file --kiln-kv-layout="max-seq-len=64 kv-block=24" 2>&1 | FileCheck %s --check-prefix=BLOCK
// RUN: not %kiln_opt %s -split-input-file --kiln-kv-layout="max-seq-len=64 kv-dtype=qjl kv-block=16" 2>&1 | FileCheck %s --check-prefix=QJL

// Pools of 10 blocks of 16 rows; the table maps the 64 / 16 = 4 blocks of
// one sequence.
// CHECK-LABEL: func.func @decoder
// CHECK-SAME: %[[POS:[a-z0-9]+]]: tensor<i64> {kiln.name = "position", kiln.position},
// CHECK-SAME: %[[T:[a-z0-9]+]]: tensor<4xi32> {kiln.block_table, kiln.name = "kv.block_table", kiln.state},
// CHECK-SAME: %[[SK:[a-z0-9]+]]: tensor<10x2x16x16xf32> {kiln.name = "past.0.key", kiln.paged, kiln.state},
// CHECK-SAME: %[[SV:[a-z0-9]+]]: tensor<10x2x16x16xf32> {kiln.name = "past.0.value", kiln.paged, kiln.state})
// CHECK-SAME: kiln.kv_block_tokens = 16 : i64
// CHECK-DAG: %[[K:.*]] = kiln.kv_append %[[SK]], %{{.*}}, %[[POS]] block_table(%[[T]] : tensor<4xi32>) {tiled}
// CHECK-DAG: %[[V:.*]] = kiln.kv_append %[[SV]], %{{.*}}, %[[POS]] block_table(%[[T]] : tensor<4xi32>) :
// CHECK: kiln.attention %{{.*}}, %[[K]], %[[V]] kv_length(%{{.*}} : tensor<i64>) block_table(%[[T]] : tensor<4xi32>) {causal, key_tiled

// INT8-LABEL: func.func @decoder
// INT8-SAME: %[[T:[a-z0-9]+]]: tensor<2xi32> {kiln.block_table, kiln.name = "kv.block_table", kiln.state},
// INT8-SAME: %[[SK:[a-z0-9]+]]: tensor<2x2x32x16xi8> {kiln.name = "past.0.key", kiln.paged, kiln.state},
// INT8-SAME: %[[SKS:[a-z0-9]+]]: tensor<2x2x32xf32> {kiln.name = "past.0.key.scales", kiln.paged, kiln.state},
// INT8: kiln.kv_append_quantized %[[SK]], %[[SKS]], %{{.*}}, %{{.*}} block_table(%[[T]] : tensor<2xi32>) {tiled}
// INT8: kiln.attention {{.*}} key_scales({{.*}}) value_scales({{.*}}) block_table(%[[T]] : tensor<2xi32>)

// BLOCK: error: kiln-kv-layout: kv-block must be a positive multiple of 16 dividing max-seq-len 64 and kv-pool-blocks >= 0, got 24 and 0
// QJL: error: kiln-kv-layout: paged caches (kv-block) are f32 or int8 with 8-bit values, not kv-dtype=qjl value-bits=0
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

// -----

// A paged cache serves one sequence per call.
func.func @batch2(%q: tensor<2x2x1x16xf32> {kiln.name = "q"},
                  %pk: tensor<2x2x5x16xf32> {kiln.name = "past.0.key"},
                  %pv: tensor<2x2x5x16xf32> {kiln.name = "past.0.value"},
                  %kn: tensor<2x2x1x16xf32> {kiln.name = "k"},
                  %vn: tensor<2x2x1x16xf32> {kiln.name = "v"})
    -> (tensor<2x2x1x16xf32> {kiln.name = "y"})
    attributes {kiln.entry} {
  // expected-error @+1 {{kiln-kv-layout: a paged cache holds one sequence per call (batch 1), 'past.0.key' is 'tensor<2x2x5x16xf32>'}}
  %k = kiln.concat %pk, %kn {axis = 2 : i64}
       : tensor<2x2x5x16xf32>, tensor<2x2x1x16xf32> -> tensor<2x2x6x16xf32>
  %v = kiln.concat %pv, %vn {axis = 2 : i64}
       : tensor<2x2x5x16xf32>, tensor<2x2x1x16xf32> -> tensor<2x2x6x16xf32>
  %y = kiln.attention %q, %k, %v {scale = 0.25 : f32, causal}
       : tensor<2x2x1x16xf32>, tensor<2x2x6x16xf32>, tensor<2x2x6x16xf32>
  return %y : tensor<2x2x1x16xf32>
}
