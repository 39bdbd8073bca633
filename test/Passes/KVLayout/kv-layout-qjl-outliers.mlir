// kiln-kv-layout with qjl-outliers: each completed group of 32 keys is
// re-sketched with its outlier channels apart (kiln.kv_qjl_outliers after
// the append), and the attention reads both sketches.
// RUN: %kiln_opt %s --kiln-kv-layout="max-seq-len=64 kv-dtype=qjl qjl-sketch=32 qjl-outliers=3 qjl-outlier-sketch=16" | FileCheck %s
// RUN: not %kiln_opt %s --kiln-kv-layout="max-seq-len=64 kv-dtype=qjl qjl-recent=16 qjl-outliers=3" 2>&1 | FileCheck %s --check-prefix=RECENT

// CHECK-LABEL: func.func @decoder
// CHECK-SAME: %[[B:[a-z0-9]+]]: tensor<1x2x64x4xi8> {kiln.name = "past.0.key", kiln.state},
// CHECK-SAME: %[[S:[a-z0-9]+]]: tensor<1x2x64xf32> {kiln.name = "past.0.key.scales", kiln.state},
// CHECK-SAME: %[[R:[a-z0-9]+]]: tensor<1x2x32x16xf32> {kiln.name = "past.0.key.recent", kiln.state},
// CHECK-SAME: %[[T:[a-z0-9]+]]: tensor<32xi64> {kiln.name = "past.0.key.recent_positions", kiln.state},
// CHECK-SAME: %[[OB:[a-z0-9]+]]: tensor<1x2x64x2xi8> {kiln.name = "past.0.key.outlier_bits", kiln.state},
// CHECK-SAME: %[[OS:[a-z0-9]+]]: tensor<1x2x64xf32> {kiln.name = "past.0.key.outlier_scales", kiln.state},
// CHECK-SAME: %[[OC:[a-z0-9]+]]: tensor<1x2x2x3xi8> {kiln.name = "past.0.key.outlier_channels", kiln.state},
// CHECK: %[[P:.*]] = kiln.constant {{.*}} : tensor<16x32xf32>
// CHECK: %[[AB:[a-z_0-9]+]], %[[AS:[a-z_0-9]+]], %[[AR:[a-z_0-9]+]], %[[AT:[a-z_0-9]+]] = kiln.kv_append_qjl %[[B]], %[[S]], %[[R]], %[[T]], %{{.*}}, %{{.*}}, %[[P]]
// CHECK: %[[Q:.*]] = kiln.constant {{.*}} : tensor<16x16xf32>
// CHECK: %[[OBR:[a-z_0-9]+]], %[[OSR:[a-z_0-9]+]], %[[OOB:[a-z_0-9]+]], %[[OOS:[a-z_0-9]+]], %[[OOC:[a-z_0-9]+]] = kiln.kv_qjl_outliers %[[AB]], %[[AS]], %[[OB]], %[[OS]], %[[OC]], %[[AR]], %[[AT]], %{{.*}}, %[[P]], %[[Q]] {group = 32 : i64, outliers = 3 : i64, tokens = 1 : i64}
// CHECK: kiln.attention %{{.*}}, %[[OBR]], %{{.*}} kv_length({{.*}}) key_scales(%[[OSR]] : {{.*}}) {{.*}} key_sketch(%[[P]] : {{.*}}) recent_keys(%[[AR]], %[[AT]] : {{.*}}) outliers(%[[OOB]], %[[OOS]], %[[OOC]], %[[Q]] : {{.*}}) {causal, outlier_group = 32 : i64

// RECENT: error: kiln-kv-layout: qjl-outliers needs kv-dtype=qjl, qjl-recent >= 32 (a group's keys stay whole until it is complete) and qjl-outlier-sketch a multiple of 8, got 3, 16 and 0
func.func @decoder(%q: tensor<1x2x1x16xf32> {kiln.name = "q"},
                   %pk: tensor<1x2x5x16xf32> {kiln.name = "past.0.key"},
                   %pv: tensor<1x2x5x16xf32> {kiln.name = "past.0.value"},
                   %kn: tensor<1x2x1x16xf32> {kiln.name = "k"},
                   %vn: tensor<1x2x1x16xf32> {kiln.name = "v"})
    -> (tensor<1x2x1x16xf32> {kiln.name = "y"})
    attributes {kiln.entry} {
  %k = kiln.concat %pk, %kn {axis = 2 : i64}
       : tensor<1x2x5x16xf32>, tensor<1x2x1x16xf32> -> tensor<1x2x6x16xf32>
  %v = kiln.concat %pv, %vn {axis = 2 : i64}
       : tensor<1x2x5x16xf32>, tensor<1x2x1x16xf32> -> tensor<1x2x6x16xf32>
  %y = kiln.attention %q, %k, %v {scale = 0.25 : f32, causal}
       : tensor<1x2x1x16xf32>, tensor<1x2x6x16xf32>, tensor<1x2x6x16xf32>
  return %y : tensor<1x2x1x16xf32>
}
