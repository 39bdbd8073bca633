// kiln-kv-layout: past/present key-value tensors become state arguments
// appended in place at a run-time position.
// RUN: %kiln_opt %s -split-input-file --kiln-kv-layout="max-seq-len=64" -verify-diagnostics | FileCheck %s
// RUN: %kiln_opt %s -split-input-file --kiln-kv-layout="max-seq-len=64 kv-dtype=int8" -verify-diagnostics | FileCheck %s --check-prefix=INT8
// RUN: %kiln_opt %s -split-input-file --kiln-kv-layout="max-seq-len=64 kv-dtype=qjl qjl-sketch=32 qjl-recent=8" -verify-diagnostics | FileCheck %s --check-prefix=QJL
// RUN: %kiln_opt %s -split-input-file --kiln-kv-layout="max-seq-len=64 kv-dtype=int8 value-bits=4 value-group=8" -verify-diagnostics | FileCheck %s --check-prefix=V4
// RUN: %kiln_opt %s -split-input-file --kiln-kv-layout="max-seq-len=64 kv-dtype=think think-ratio=0.4 think-recent=8 think-window=4" -verify-diagnostics | FileCheck %s --check-prefix=THINK
// RUN: %kiln_opt %s -split-input-file --kiln-kv-layout="max-seq-len=64 kv-dtype=think value-bits=4 value-group=8" -verify-diagnostics | FileCheck %s --check-prefix=THINKV4

// One layer, grouped heads. The past inputs and present outputs go; the
// position and two states (named after the past inputs) come last.
// CHECK-LABEL: func.func @decoder
// CHECK-SAME: (%[[X:.*]]: tensor<1x4x1x16xf32> {kiln.name = "q"}, %[[KN:.*]]: tensor<1x2x1x16xf32> {kiln.name = "k"}, %[[VN:.*]]: tensor<1x2x1x16xf32> {kiln.name = "v"},
// CHECK-SAME: %[[POS:.*]]: tensor<i64> {kiln.name = "position", kiln.position},
// CHECK-SAME: %[[SK:.*]]: tensor<1x2x64x16xf32> {kiln.name = "past.0.key", kiln.state},
// CHECK-SAME: %[[SV:.*]]: tensor<1x2x64x16xf32> {kiln.name = "past.0.value", kiln.state})
// CHECK-SAME: -> (tensor<1x4x1x16xf32> {kiln.name = "y"})
// CHECK-SAME: attributes {kiln.entry, kiln.entry_kind = "decode", kiln.kv_dtype = "f32", kiln.max_seq_len = 64 : i64, kiln.tokens = 1 : i64}
// CHECK-DAG: %[[K:.*]] = kiln.kv_append %[[SK]], %[[KN]], %[[POS]] {tiled}
// CHECK-DAG: %[[V:.*]] = kiln.kv_append %[[SV]], %[[VN]], %[[POS]] :
// CHECK-DAG: %[[ONE:.*]] = kiln.constant dense<1> : tensor<i64>
// CHECK-DAG: %[[N:.*]] = kiln.add %[[POS]], %[[ONE]]
// The key cache (64 rows of 16) is in tiles of 16 keys.
// CHECK: %[[Y:.*]] = kiln.attention %[[X]], %[[K]], %[[V]] kv_length(%[[N]] : tensor<i64>) {causal, key_tiled, scale = 2.500000e-01 : f32}
// CHECK-NOT: kiln.concat
// CHECK: return %[[Y]] : tensor<1x4x1x16xf32>
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

// With kv-dtype=int8: an i8 cache and its f32 row scales per past input.
// INT8-LABEL: func.func @decoder
// INT8-SAME: %[[POS:[a-z0-9]+]]: tensor<i64> {kiln.name = "position", kiln.position},
// INT8-SAME: %[[SK:[a-z0-9]+]]: tensor<1x2x64x16xi8> {kiln.name = "past.0.key", kiln.state},
// INT8-SAME: %[[SKS:[a-z0-9]+]]: tensor<1x2x64xf32> {kiln.name = "past.0.key.scales", kiln.state},
// INT8-SAME: %[[SV:[a-z0-9]+]]: tensor<1x2x64x16xi8> {kiln.name = "past.0.value", kiln.state},
// INT8-SAME: %[[SVS:[a-z0-9]+]]: tensor<1x2x64xf32> {kiln.name = "past.0.value.scales", kiln.state})
// INT8-SAME: kiln.kv_dtype = "int8"
// INT8: %[[K:.*]], %[[KS:.*]] = kiln.kv_append_quantized %[[SK]], %[[SKS]], %{{.*}}, %[[POS]]
// INT8: %[[V:.*]], %[[VS:.*]] = kiln.kv_append_quantized %[[SV]], %[[SVS]], %{{.*}}, %[[POS]]
// INT8: kiln.attention %{{.*}}, %[[K]], %[[V]] kv_length(%{{.*}} : tensor<i64>) key_scales(%[[KS]] : tensor<1x2x64xf32>) value_scales(%[[VS]] : tensor<1x2x64xf32>)

// With kv-dtype=qjl: the key's sign bits (m / 8 = 4 bytes), scales, window
// and tags; a fixed projection P [16, 32]; int8 values.
// QJL-LABEL: func.func @decoder
// QJL-SAME: %[[POS:[a-z0-9]+]]: tensor<i64> {kiln.name = "position", kiln.position},
// QJL-SAME: %[[SK:[a-z0-9]+]]: tensor<1x2x64x4xi8> {kiln.name = "past.0.key", kiln.state},
// QJL-SAME: %[[SKS:[a-z0-9]+]]: tensor<1x2x64xf32> {kiln.name = "past.0.key.scales", kiln.state},
// QJL-SAME: %[[SKR:[a-z0-9]+]]: tensor<1x2x8x16xf32> {kiln.name = "past.0.key.recent", kiln.state},
// QJL-SAME: %[[SKT:[a-z0-9]+]]: tensor<8xi64> {kiln.name = "past.0.key.recent_positions", kiln.state},
// QJL-SAME: %[[SV:[a-z0-9]+]]: tensor<1x2x64x16xi8> {kiln.name = "past.0.value", kiln.state},
// QJL-SAME: %[[SVS:[a-z0-9]+]]: tensor<1x2x64xf32> {kiln.name = "past.0.value.scales", kiln.state})
// QJL-SAME: kiln.kv_dtype = "qjl"
// QJL: %[[P:.*]] = kiln.constant dense_resource<past.0.key.qjl_sketch> : tensor<16x32xf32>
// QJL: %[[K:.*]], %[[KS:.*]], %[[KR:.*]], %[[KT:.*]] = kiln.kv_append_qjl %[[SK]], %[[SKS]], %[[SKR]], %[[SKT]], %{{.*}}, %[[POS]], %[[P]]
// QJL: %[[V:.*]], %[[VS:.*]] = kiln.kv_append_quantized %[[SV]], %[[SVS]], %{{.*}}, %[[POS]]
// QJL: kiln.attention %{{.*}}, %[[K]], %[[V]] kv_length(%{{.*}} : tensor<i64>) key_scales(%[[KS]] : tensor<1x2x64xf32>) value_scales(%[[VS]] : tensor<1x2x64xf32>) key_sketch(%[[P]] : tensor<16x32xf32>) recent_keys(%[[KR]], %[[KT]] : tensor<1x2x8x16xf32>, tensor<8xi64>)

// With value-bits=4 value-group=8: values as packed 4-bit codes (8 bytes a
// row) with a scale and a min per group of 8 channels.
// V4-LABEL: func.func @decoder
// V4-SAME: %[[SV:[a-z0-9]+]]: tensor<1x2x64x8xi8> {kiln.name = "past.0.value", kiln.state},
// V4-SAME: %[[SVS:[a-z0-9]+]]: tensor<1x2x64x2xf32> {kiln.name = "past.0.value.scales", kiln.state},
// V4-SAME: %[[SVM:[a-z0-9]+]]: tensor<1x2x64x2xf32> {kiln.name = "past.0.value.mins", kiln.state})
// V4: %[[V:.*]], %[[VS:.*]], %[[VM:.*]] = kiln.kv_append_grouped %[[SV]], %[[SVS]], %[[SVM]], %{{.*}}, %{{.*}} {bits = 4 : i64}
// V4: kiln.attention {{.*}} value_scales(%[[VS]] : tensor<1x2x64x2xf32>) value_mins(%[[VM]] : tensor<1x2x64x2xf32>) {causal, key_tiled, scale = 2.500000e-01 : f32, value_bits = 4 : i64}

// With kv-dtype=think: a whole f32 key cache, per head the T = 16 - 6 = 10
// kept channels and the pruned count (11 columns), the observed-query ring
// (window 4 + 1 token) and its tags. The queries are observed, then the
// old keys pruned (channels chosen here: a decode entry), then the new key
// appended untiled, all just before the attention that reads them.
// THINK-LABEL: func.func @decoder
// THINK-SAME: %[[POS:[a-z0-9]+]]: tensor<i64> {kiln.name = "position", kiln.position},
// THINK-SAME: %[[SK:[a-z0-9]+]]: tensor<1x2x64x16xf32> {kiln.name = "past.0.key", kiln.state},
// THINK-SAME: %[[SC:[a-z0-9]+]]: tensor<1x2x11xi64> {kiln.name = "past.0.key.think_channels", kiln.state},
// THINK-SAME: %[[SQ:[a-z0-9]+]]: tensor<1x2x5x16xf32> {kiln.name = "past.0.key.think_queries", kiln.state},
// THINK-SAME: %[[ST:[a-z0-9]+]]: tensor<5xi64> {kiln.name = "past.0.key.think_query_positions", kiln.state},
// THINK-SAME: %[[SV:[a-z0-9]+]]: tensor<1x2x64x16xf32> {kiln.name = "past.0.value", kiln.state})
// THINK-SAME: kiln.kv_dtype = "think"
// THINK: %[[V:.*]] = kiln.kv_append %[[SV]], %{{.*}}, %[[POS]] :
// THINK: %[[Q:.*]], %[[T:.*]] = kiln.kv_think_observe %[[SQ]], %[[ST]], %[[X:[a-z0-9]+]], %[[POS]]
// THINK: %[[KP:.*]], %[[C:.*]] = kiln.kv_think_prune %[[SK]], %[[SC]], %[[Q]], %[[T]], %[[POS]] {choose, recent = 8 : i64, window = 4 : i64}
// THINK: %[[K:.*]] = kiln.kv_append %[[KP]], %{{.*}}, %[[POS]] :
// THINK: kiln.attention %[[X]], %[[K]], %[[V]] kv_length(%{{.*}} : tensor<i64>) key_channels(%[[C]] : tensor<1x2x11xi64>) {causal, scale = 2.500000e-01 : f32}

// With value-bits=4 as well (ThinK with KIVI values): the pruned keys and
// 4-bit grouped values.
// THINKV4-LABEL: func.func @decoder
// THINKV4-SAME: %[[SV:[a-z0-9]+]]: tensor<1x2x64x8xi8> {kiln.name = "past.0.value", kiln.state},
// THINKV4: %[[V:.*]], %[[VS:.*]], %[[VM:.*]] = kiln.kv_append_grouped %[[SV]]
// THINKV4: kiln.attention {{.*}} value_scales(%[[VS]] : tensor<1x2x64x2xf32>) value_mins(%[[VM]] : tensor<1x2x64x2xf32>) key_channels(%{{.*}} : tensor<1x2x11xi64>) {causal, scale = 2.500000e-01 : f32, value_bits = 4 : i64}

// -----

// Without the pattern nothing changes (no position, no states).
// CHECK-LABEL: func.func @encoder
// CHECK-SAME: attributes {kiln.entry}
// CHECK: kiln.attention %{{.*}}, %{{.*}}, %{{.*}} {scale
func.func @encoder(%q: tensor<1x2x4x16xf32>, %k: tensor<1x2x4x16xf32>)
    -> tensor<1x2x4x16xf32> attributes {kiln.entry} {
  %y = kiln.attention %q, %k, %k {scale = 0.25 : f32}
       : tensor<1x2x4x16xf32>, tensor<1x2x4x16xf32>, tensor<1x2x4x16xf32>
  return %y : tensor<1x2x4x16xf32>
}

// -----

// A prefill chunk of 3 tokens.
// CHECK-LABEL: func.func @prefill
// CHECK-SAME: kiln.entry_kind = "prefill"
// CHECK-SAME: kiln.tokens = 3 : i64
// CHECK: kiln.constant dense<3> : tensor<i64>
func.func @prefill(%q: tensor<1x2x3x16xf32>, %pk: tensor<1x2x1x16xf32>,
                   %pv: tensor<1x2x1x16xf32>, %kn: tensor<1x2x3x16xf32>)
    -> tensor<1x2x3x16xf32> attributes {kiln.entry} {
  %k = kiln.concat %pk, %kn {axis = 2 : i64}
       : tensor<1x2x1x16xf32>, tensor<1x2x3x16xf32> -> tensor<1x2x4x16xf32>
  %v = kiln.concat %pv, %kn {axis = 2 : i64}
       : tensor<1x2x1x16xf32>, tensor<1x2x3x16xf32> -> tensor<1x2x4x16xf32>
  %y = kiln.attention %q, %k, %v {scale = 0.25 : f32, causal}
       : tensor<1x2x3x16xf32>, tensor<1x2x4x16xf32>, tensor<1x2x4x16xf32>
  return %y : tensor<1x2x3x16xf32>
}

// -----

// The present cache read by something else than its attention.
func.func @leak(%q: tensor<1x2x1x16xf32>, %pk: tensor<1x2x1x16xf32> {kiln.name = "past.0.key"},
                %kn: tensor<1x2x1x16xf32>) -> tensor<1x2x2x16xf32>
    attributes {kiln.entry} {
  %k = kiln.concat %pk, %kn {axis = 2 : i64}
       : tensor<1x2x1x16xf32>, tensor<1x2x1x16xf32> -> tensor<1x2x2x16xf32>
  %y = kiln.attention %q, %k, %k {scale = 0.25 : f32, causal}
       : tensor<1x2x1x16xf32>, tensor<1x2x2x16xf32>, tensor<1x2x2x16xf32>
  // expected-error @+1 {{kiln-kv-layout: the cache 'past.0.key' is read here, not only by its attention}}
  %z = kiln.relu %k : tensor<1x2x2x16xf32>
  return %z : tensor<1x2x2x16xf32>
}
