// RUN: %kiln_opt %s -split-input-file -verify-diagnostics
// Verifier errors of kiln.attention and kiln.kv_append.

func.func @heads(%q: tensor<1x3x2x16xf32>, %k: tensor<1x2x4x16xf32>, %v: tensor<1x2x4x16xf32>) {
  // expected-error @+1 {{query heads 3 are not a multiple of key/value heads 2}}
  %0 = kiln.attention %q, %k, %v {scale = 1.0 : f32}
       : tensor<1x3x2x16xf32>, tensor<1x2x4x16xf32>, tensor<1x2x4x16xf32>
  return
}

// -----

func.func @head_dim(%q: tensor<1x2x2x16xf32>, %k: tensor<1x2x4x8xf32>, %v: tensor<1x2x4x16xf32>) {
  // expected-error @+1 {{key head size 8 differs from the query's 16}}
  %0 = kiln.attention %q, %k, %v {scale = 1.0 : f32}
       : tensor<1x2x2x16xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x16xf32>
  return
}

// -----

func.func @kv_mismatch(%q: tensor<1x2x2x16xf32>, %k: tensor<1x2x4x16xf32>, %v: tensor<1x2x5x16xf32>) {
  // expected-error @+1 {{key and value need the same heads and length}}
  %0 = kiln.attention %q, %k, %v {scale = 1.0 : f32}
       : tensor<1x2x2x16xf32>, tensor<1x2x4x16xf32>, tensor<1x2x5x16xf32>
  return
}

// -----

func.func @causal_short(%q: tensor<1x2x4x16xf32>, %k: tensor<1x2x3x16xf32>, %v: tensor<1x2x3x16xf32>) {
  // expected-error @+1 {{causal attention of 4 queries over 3 keys would leave rows without any key}}
  %0 = kiln.attention %q, %k, %v {scale = 1.0 : f32, causal}
       : tensor<1x2x4x16xf32>, tensor<1x2x3x16xf32>, tensor<1x2x3x16xf32>
  return
}

// -----

func.func @length_type(%q: tensor<1x2x1x16xf32>, %k: tensor<1x2x8x16xf32>, %n: tensor<1xi64>) {
  // expected-error @+1 {{kv_length must be a 0-d i64 tensor}}
  %0 = kiln.attention %q, %k, %k kv_length(%n : tensor<1xi64>) {scale = 1.0 : f32}
       : tensor<1x2x1x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>
  return
}

// -----

func.func @append_rows(%c: tensor<1x2x4x16xf32>, %u: tensor<1x2x5x16xf32>, %p: tensor<i64>) {
  // expected-error @+1 {{does not fit the cache}}
  %0 = kiln.kv_append %c, %u, %p : tensor<1x2x4x16xf32>, tensor<1x2x5x16xf32>, tensor<i64>
  return
}

// -----

func.func @append_position(%c: tensor<1x2x4x16xf32>, %u: tensor<1x2x1x16xf32>, %p: tensor<i32>) {
  // expected-error @+1 {{position must be a 0-d i64 tensor}}
  %0 = kiln.kv_append %c, %u, %p : tensor<1x2x4x16xf32>, tensor<1x2x1x16xf32>, tensor<i32>
  return
}

// -----

func.func @int8_no_scales(%q: tensor<1x2x1x16xf32>, %k: tensor<1x2x8x16xi8>, %v: tensor<1x2x8x16xf32>, %n: tensor<i64>) {
  // expected-error @+1 {{an i8 key needs key_scales}}
  %0 = kiln.attention %q, %k, %v kv_length(%n : tensor<i64>) {scale = 1.0 : f32}
       : tensor<1x2x1x16xf32>, tensor<1x2x8x16xi8>, tensor<1x2x8x16xf32>
  return
}

// -----

func.func @int8_no_length(%q: tensor<1x2x1x16xf32>, %k: tensor<1x2x8x16xi8>, %ks: tensor<1x2x8xf32>, %v: tensor<1x2x8x16xf32>) {
  // expected-error @+1 {{an i8 key needs kv_length}}
  %0 = kiln.attention %q, %k, %v key_scales(%ks : tensor<1x2x8xf32>) {scale = 1.0 : f32}
       : tensor<1x2x1x16xf32>, tensor<1x2x8x16xi8>, tensor<1x2x8x16xf32>
  return
}

// -----

func.func @int8_scale_shape(%q: tensor<1x2x1x16xf32>, %k: tensor<1x2x8x16xi8>, %ks: tensor<1x2x4xf32>, %v: tensor<1x2x8x16xf32>, %n: tensor<i64>) {
  // expected-error @+1 {{key_scales must be f32 [1, 2, 8]}}
  %0 = kiln.attention %q, %k, %v kv_length(%n : tensor<i64>) key_scales(%ks : tensor<1x2x4xf32>) {scale = 1.0 : f32}
       : tensor<1x2x1x16xf32>, tensor<1x2x8x16xi8>, tensor<1x2x8x16xf32>
  return
}

// -----

func.func @float_with_scales(%q: tensor<1x2x1x16xf32>, %k: tensor<1x2x8x16xf32>, %vs: tensor<1x2x8xf32>, %n: tensor<i64>) {
  // expected-error @+1 {{value_scales apply to an i8 value}}
  %0 = kiln.attention %q, %k, %k kv_length(%n : tensor<i64>) value_scales(%vs : tensor<1x2x8xf32>) {scale = 1.0 : f32}
       : tensor<1x2x1x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>
  return
}

// -----

func.func @append_quantized_scales(%c: tensor<1x2x4x16xi8>, %s: tensor<1x2x5xf32>, %u: tensor<1x2x1x16xf32>, %p: tensor<i64>) {
  // expected-error @+1 {{scales must be f32 [1, 2, 4]}}
  %0, %1 = kiln.kv_append_quantized %c, %s, %u, %p : tensor<1x2x4x16xi8>, tensor<1x2x5xf32>, tensor<1x2x1x16xf32>, tensor<i64>
  return
}

// -----

func.func @append_quantized_cache(%c: tensor<1x2x4x16xf32>, %s: tensor<1x2x4xf32>, %u: tensor<1x2x1x16xf32>, %p: tensor<i64>) {
  // expected-error @+1 {{cache must be a 4-D i8 tensor}}
  %0, %1 = kiln.kv_append_quantized %c, %s, %u, %p : tensor<1x2x4x16xf32>, tensor<1x2x4xf32>, tensor<1x2x1x16xf32>, tensor<i64>
  return
}

// -----

func.func @qjl_bits(%q: tensor<1x2x1x16xf32>, %k: tensor<1x2x8x8xi8>, %s: tensor<1x2x8xf32>, %v: tensor<1x2x8x16xf32>, %p: tensor<16x32xf32>, %n: tensor<i64>) {
  // expected-error @+1 {{a sketched key must be i8 sign bits [..., 4]}}
  %0 = kiln.attention %q, %k, %v kv_length(%n : tensor<i64>) key_scales(%s : tensor<1x2x8xf32>) key_sketch(%p : tensor<16x32xf32>) {scale = 1.0 : f32}
       : tensor<1x2x1x16xf32>, tensor<1x2x8x8xi8>, tensor<1x2x8x16xf32>
  return
}

// -----

func.func @qjl_sketch(%q: tensor<1x2x1x16xf32>, %k: tensor<1x2x8x4xi8>, %s: tensor<1x2x8xf32>, %v: tensor<1x2x8x16xf32>, %p: tensor<8x32xf32>, %n: tensor<i64>) {
  // expected-error @+1 {{key_sketch must be f32 [16, m] with m a multiple of 8}}
  %0 = kiln.attention %q, %k, %v kv_length(%n : tensor<i64>) key_scales(%s : tensor<1x2x8xf32>) key_sketch(%p : tensor<8x32xf32>) {scale = 1.0 : f32}
       : tensor<1x2x1x16xf32>, tensor<1x2x8x4xi8>, tensor<1x2x8x16xf32>
  return
}

// -----

func.func @recent_without_sketch(%q: tensor<1x2x1x16xf32>, %k: tensor<1x2x8x16xf32>, %r: tensor<1x2x4x16xf32>, %t: tensor<4xi64>, %n: tensor<i64>) {
  // expected-error @+1 {{recent_keys go with a key_sketch}}
  %0 = kiln.attention %q, %k, %k kv_length(%n : tensor<i64>) recent_keys(%r, %t : tensor<1x2x4x16xf32>, tensor<4xi64>) {scale = 1.0 : f32}
       : tensor<1x2x1x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>
  return
}

// -----

func.func @qjl_tags(%b: tensor<1x2x8x4xi8>, %s: tensor<1x2x8xf32>, %r: tensor<1x2x4x16xf32>, %t: tensor<3xi64>, %u: tensor<1x2x1x16xf32>, %pos: tensor<i64>, %p: tensor<16x32xf32>) {
  // expected-error @+1 {{recent_positions must be i64 [4]}}
  %0:4 = kiln.kv_append_qjl %b, %s, %r, %t, %u, %pos, %p
       : tensor<1x2x8x4xi8>, tensor<1x2x8xf32>, tensor<1x2x4x16xf32>, tensor<3xi64>, tensor<1x2x1x16xf32>, tensor<i64>, tensor<16x32xf32>
  return
}

// -----

func.func @qjl_append_bits(%b: tensor<1x2x8x2xi8>, %s: tensor<1x2x8xf32>, %r: tensor<1x2x4x16xf32>, %t: tensor<4xi64>, %u: tensor<1x2x1x16xf32>, %pos: tensor<i64>, %p: tensor<16x32xf32>) {
  // expected-error @+1 {{bits must be i8 [1, 2, M >= 1, 4]}}
  %0:4 = kiln.kv_append_qjl %b, %s, %r, %t, %u, %pos, %p
       : tensor<1x2x8x2xi8>, tensor<1x2x8xf32>, tensor<1x2x4x16xf32>, tensor<4xi64>, tensor<1x2x1x16xf32>, tensor<i64>, tensor<16x32xf32>
  return
}

// -----

func.func @value_bits(%q: tensor<1x2x1x16xf32>, %k: tensor<1x2x8x16xf32>, %v: tensor<1x2x8x8xi8>, %s: tensor<1x2x8x2xf32>, %n: tensor<i64>) {
  // expected-error @+1 {{value_bits must be 2 or 4, got 3}}
  %0 = kiln.attention %q, %k, %v kv_length(%n : tensor<i64>) value_scales(%s : tensor<1x2x8x2xf32>) value_mins(%s : tensor<1x2x8x2xf32>) {scale = 1.0 : f32, value_bits = 3 : i64}
       : tensor<1x2x1x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x8xi8>
  return
}

// -----

func.func @value_groups(%q: tensor<1x2x1x16xf32>, %k: tensor<1x2x8x16xf32>, %v: tensor<1x2x8x8xi8>, %s: tensor<1x2x8x3xf32>, %n: tensor<i64>) {
  // expected-error @+1 {{value_scales and value_mins must be f32 [1, 2, 8, G] with G dividing 16}}
  %0 = kiln.attention %q, %k, %v kv_length(%n : tensor<i64>) value_scales(%s : tensor<1x2x8x3xf32>) value_mins(%s : tensor<1x2x8x3xf32>) {scale = 1.0 : f32, value_bits = 4 : i64}
       : tensor<1x2x1x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x8xi8>
  return
}

// -----

func.func @mins_without_bits(%q: tensor<1x2x1x16xf32>, %k: tensor<1x2x8x16xf32>, %s: tensor<1x2x8x2xf32>, %n: tensor<i64>) {
  // expected-error @+1 {{value_mins go with value_bits}}
  %0 = kiln.attention %q, %k, %k kv_length(%n : tensor<i64>) value_mins(%s : tensor<1x2x8x2xf32>) {scale = 1.0 : f32}
       : tensor<1x2x1x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>
  return
}

// -----

func.func @grouped_cache(%c: tensor<1x2x8x4xi8>, %s: tensor<1x2x8x2xf32>, %u: tensor<1x2x1x16xf32>, %pos: tensor<i64>) {
  // expected-error @+1 {{cache must be i8 [1, 2, M >= 1, 8]}}
  %0:3 = kiln.kv_append_grouped %c, %s, %s, %u, %pos {bits = 4 : i64}
       : tensor<1x2x8x4xi8>, tensor<1x2x8x2xf32>, tensor<1x2x8x2xf32>, tensor<1x2x1x16xf32>, tensor<i64>
  return
}

// -----

func.func @grouped_bits(%c: tensor<1x2x8x8xi8>, %s: tensor<1x2x8x2xf32>, %u: tensor<1x2x1x16xf32>, %pos: tensor<i64>) {
  // expected-error @+1 {{bits must be 2 or 4, got 8}}
  %0:3 = kiln.kv_append_grouped %c, %s, %s, %u, %pos {bits = 8 : i64}
       : tensor<1x2x8x8xi8>, tensor<1x2x8x2xf32>, tensor<1x2x8x2xf32>, tensor<1x2x1x16xf32>, tensor<i64>
  return
}

// -----

func.func @tiled_rows(%q: tensor<1x2x1x16xf32>, %k: tensor<1x2x40x16xf32>, %n: tensor<i64>) {
  // expected-error @+1 {{key_tiled needs kv_length, f32 or i8 keys and rows and head size multiples of 16}}
  %0 = kiln.attention %q, %k, %k kv_length(%n : tensor<i64>) {scale = 1.0 : f32, key_tiled}
       : tensor<1x2x1x16xf32>, tensor<1x2x40x16xf32>, tensor<1x2x40x16xf32>
  return
}

// -----

func.func @tiled_append(%c: tensor<1x2x40x16xf32>, %u: tensor<1x2x1x16xf32>, %p: tensor<i64>) {
  // expected-error @+1 {{a tiled cache needs rows and row size multiples of 16}}
  %0 = kiln.kv_append %c, %u, %p {tiled} : tensor<1x2x40x16xf32>, tensor<1x2x1x16xf32>, tensor<i64>
  return
}

// -----

func.func @think_channels(%q: tensor<1x2x1x16xf32>, %k: tensor<1x2x64x16xf32>, %c: tensor<1x2x18xi64>, %n: tensor<i64>) {
  // expected-error @+1 {{channels must be i64 [1, 2, T + 1] with 0 < T <= 16}}
  %0 = kiln.attention %q, %k, %k kv_length(%n : tensor<i64>) key_channels(%c : tensor<1x2x18xi64>) {scale = 1.0 : f32}
       : tensor<1x2x1x16xf32>, tensor<1x2x64x16xf32>, tensor<1x2x64x16xf32>
  return
}

// -----

func.func @think_tiled(%q: tensor<1x2x1x16xf32>, %k: tensor<1x2x64x16xf32>, %c: tensor<1x2x11xi64>, %n: tensor<i64>) {
  // expected-error @+1 {{key_channels need kv_length and untiled f32 keys}}
  %0 = kiln.attention %q, %k, %k kv_length(%n : tensor<i64>) key_channels(%c : tensor<1x2x11xi64>) {scale = 1.0 : f32, key_tiled}
       : tensor<1x2x1x16xf32>, tensor<1x2x64x16xf32>, tensor<1x2x64x16xf32>
  return
}

// -----

func.func @think_observe_heads(%o: tensor<1x3x5x16xf32>, %t: tensor<5xi64>, %q: tensor<1x4x1x16xf32>, %p: tensor<i64>) {
  // expected-error @+1 {{observed must be f32 [1, H, R, 16] with H dividing 4}}
  %0, %1 = kiln.kv_think_observe %o, %t, %q, %p : tensor<1x3x5x16xf32>, tensor<5xi64>, tensor<1x4x1x16xf32>, tensor<i64>
  return
}

// -----

func.func @think_prune_window(%k: tensor<1x2x64x16xf32>, %c: tensor<1x2x11xi64>, %o: tensor<1x2x5x16xf32>, %t: tensor<5xi64>, %p: tensor<i64>) {
  // expected-error @+1 {{window must be in [1, 5], got 6}}
  %0, %1 = kiln.kv_think_prune %k, %c, %o, %t, %p {recent = 8 : i64, window = 6 : i64}
       : tensor<1x2x64x16xf32>, tensor<1x2x11xi64>, tensor<1x2x5x16xf32>, tensor<5xi64>, tensor<i64>
  return
}

// -----

func.func @think_prune_tags(%k: tensor<1x2x64x16xf32>, %c: tensor<1x2x11xi64>, %o: tensor<1x2x5x16xf32>, %t: tensor<4xi64>, %p: tensor<i64>) {
  // expected-error @+1 {{observed_positions must be i64 [5]}}
  %0, %1 = kiln.kv_think_prune %k, %c, %o, %t, %p {recent = 8 : i64, window = 4 : i64}
       : tensor<1x2x64x16xf32>, tensor<1x2x11xi64>, tensor<1x2x5x16xf32>, tensor<4xi64>, tensor<i64>
  return
}

// -----

func.func @paged_table_type(%q: tensor<1x2x1x16xf32>, %k: tensor<10x2x16x16xf32>, %v: tensor<10x2x16x16xf32>, %n: tensor<i64>, %t: tensor<4xi64>) {
  // expected-error @+1 {{block_table must be i32 [blocks]}}
  %y = kiln.attention %q, %k, %v kv_length(%n : tensor<i64>) block_table(%t : tensor<4xi64>) {scale = 0.25 : f32}
       : tensor<1x2x1x16xf32>, tensor<10x2x16x16xf32>, tensor<10x2x16x16xf32>
  return
}

// -----

func.func @paged_block_rows(%q: tensor<1x2x1x16xf32>, %k: tensor<10x2x8x16xf32>, %v: tensor<10x2x8x16xf32>, %n: tensor<i64>, %t: tensor<4xi32>) {
  // expected-error @+1 {{a paged cache needs kv_length, batch 1, blocks of a multiple of 16 rows}}
  %y = kiln.attention %q, %k, %v kv_length(%n : tensor<i64>) block_table(%t : tensor<4xi32>) {scale = 0.25 : f32}
       : tensor<1x2x1x16xf32>, tensor<10x2x8x16xf32>, tensor<10x2x8x16xf32>
  return
}

// -----

func.func @paged_append_batch(%c: tensor<10x2x16x16xf32>, %u: tensor<2x2x1x16xf32>, %p: tensor<i64>, %t: tensor<4xi32>) {
  // expected-error @+1 {{does not fit the cache}}
  %0 = kiln.kv_append %c, %u, %p block_table(%t : tensor<4xi32>)
       : tensor<10x2x16x16xf32>, tensor<2x2x1x16xf32>, tensor<i64>
  return
}

// -----

func.func @outliers_without_group(%q: tensor<1x2x1x16xf32>, %k: tensor<1x2x64x4xi8>, %v: tensor<1x2x64x16xf32>, %n: tensor<i64>, %ks: tensor<1x2x64xf32>, %p: tensor<16x32xf32>, %r: tensor<1x2x32x16xf32>, %rt: tensor<32xi64>, %ob: tensor<1x2x64x2xi8>, %os: tensor<1x2x64xf32>, %oc: tensor<1x2x2x3xi8>, %oq: tensor<16x16xf32>) {
  // expected-error @+1 {{outliers go with a key_sketch, recent_keys and outlier_group}}
  %y = kiln.attention %q, %k, %v kv_length(%n : tensor<i64>) key_scales(%ks : tensor<1x2x64xf32>) key_sketch(%p : tensor<16x32xf32>) recent_keys(%r, %rt : tensor<1x2x32x16xf32>, tensor<32xi64>) outliers(%ob, %os, %oc, %oq : tensor<1x2x64x2xi8>, tensor<1x2x64xf32>, tensor<1x2x2x3xi8>, tensor<16x16xf32>) {scale = 0.25 : f32}
       : tensor<1x2x1x16xf32>, tensor<1x2x64x4xi8>, tensor<1x2x64x16xf32>
  return
}

// -----

func.func @outlier_channels_groups(%b: tensor<1x2x64x4xi8>, %s: tensor<1x2x64xf32>, %ob: tensor<1x2x64x2xi8>, %os: tensor<1x2x64xf32>, %oc: tensor<1x2x3x3xi8>, %r: tensor<1x2x32x16xf32>, %rt: tensor<32xi64>, %pos: tensor<i64>, %p: tensor<16x32xf32>, %q: tensor<16x16xf32>) {
  // expected-error @+1 {{outlier channels must be i8 [1, 2, 2, k] with 0 < k < D = 16 (D <= 256; groups of 32 keys)}}
  %0:5 = kiln.kv_qjl_outliers %b, %s, %ob, %os, %oc, %r, %rt, %pos, %p, %q {group = 32 : i64, outliers = 3 : i64, tokens = 1 : i64}
       : tensor<1x2x64x4xi8>, tensor<1x2x64xf32>, tensor<1x2x64x2xi8>, tensor<1x2x64xf32>, tensor<1x2x3x3xi8>, tensor<1x2x32x16xf32>, tensor<32xi64>, tensor<i64>, tensor<16x32xf32>, tensor<16x16xf32>
  return
}
