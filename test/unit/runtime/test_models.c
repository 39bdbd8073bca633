/*===- test_models.c - hand-written model descriptors for tests -----------===*/
#include "test_models.h"

#include <stdatomic.h>
#include <string.h>

static const int64_t k2x3[] = {2, 3};
static const int64_t k4[] = {4};
static const int64_t k1[] = {1};

/*===-- add ---------------------------------------------------------------===*/

typedef struct add_job {
  const float *a, *b;
  float *c;
} add_job;

static atomic_int add_chunk_calls;

static void add_range(void *data, int64_t begin, int64_t end) {
  add_job *job = data;
  atomic_fetch_add(&add_chunk_calls, 1);
  for (int64_t i = begin; i < end; ++i)
    job->c[i] = job->a[i] + job->b[i];
}

static int32_t add_kernel(void *exec, void *const *inputs, void *const *outputs,
                          void *workspace) {
  if (!workspace || (uintptr_t)workspace % KILN_ALIGNMENT != 0)
    return KILN_ERROR_INTERNAL;
  /* Touch every byte we were promised: ASan catches a short workspace. */
  memset(workspace, 0x5a, TEST_ADD_WORKSPACE_BYTES);
  add_job job = {inputs[0], inputs[1], outputs[0]};
  atomic_store(&add_chunk_calls, 0);
  return kiln_exec_parallel_for(exec, 6, add_range, &job);
}

static int32_t scale_kernel(void *exec, void *const *inputs,
                            void *const *outputs, void *workspace) {
  (void)exec;
  (void)workspace;
  const float *x = inputs[0];
  float *y = outputs[0];
  for (int i = 0; i < 6; ++i)
    y[i] = 2.0f * x[i];
  return KILN_OK;
}

static int32_t fail_kernel(void *exec, void *const *inputs,
                           void *const *outputs, void *workspace) {
  (void)exec, (void)inputs, (void)outputs, (void)workspace;
  return KILN_ERROR_IO;
}

static int32_t bogus_kernel(void *exec, void *const *inputs,
                            void *const *outputs, void *workspace) {
  (void)exec, (void)inputs, (void)outputs, (void)workspace;
  return 1234;
}

static const kiln_tensor_info add_inputs[] = {
    {"a", KILN_DTYPE_F32, 2, k2x3},
    {"b", KILN_DTYPE_F32, 2, k2x3},
};
static const kiln_tensor_info add_outputs[] = {{"c", KILN_DTYPE_F32, 2, k2x3}};
static const kiln_tensor_info scale_inputs[] = {{"x", KILN_DTYPE_F32, 2, k2x3}};
static const kiln_tensor_info scale_outputs[] = {
    {"y", KILN_DTYPE_F32, 2, k2x3}};

static const kiln_entry_desc add_entries[] = {
    {sizeof(kiln_entry_desc), KILN_ENTRY_RUN, "run", 2, 1, add_inputs,
     add_outputs, add_kernel, TEST_ADD_WORKSPACE_BYTES, 0},
    {sizeof(kiln_entry_desc), KILN_ENTRY_RUN, "scale", 1, 1, scale_inputs,
     scale_outputs, scale_kernel, 0, 0},
    {sizeof(kiln_entry_desc), KILN_ENTRY_RUN, "fail", 0, 0, NULL, NULL,
     fail_kernel, 0, 0},
    {sizeof(kiln_entry_desc), KILN_ENTRY_RUN, "bogus", 0, 0, NULL, NULL,
     bogus_kernel, 0, 0},
};

static const kiln_model_desc add_desc = {
    .abi_version = KILN_ABI_VERSION,
    .struct_size = sizeof(kiln_model_desc),
    .name = "add",
    .target = KILN_TARGET_CPU,
    .target_triple = "x86_64-unknown-linux-gnu",
    .target_cpu = "generic",
    .target_features = "",
    .workspace_bytes = TEST_ADD_WORKSPACE_BYTES,
    .weights_bytes = 0,
    .num_entries = 4,
    .num_states = 0,
    .entries = add_entries,
    .states = NULL,
};

const kiln_model_desc *test_add_descriptor(void) { return &add_desc; }

int test_add_last_chunk_calls(void) { return atomic_load(&add_chunk_calls); }

/*===-- sum ---------------------------------------------------------------===*/

static int32_t sum_kernel(void *exec, void *const *inputs, void *const *outputs,
                          void *workspace) {
  (void)exec;
  (void)workspace;
  const int64_t *v = inputs[0];
  int64_t *total = outputs[0];
  *total = v[0] + v[1] + v[2] + v[3];
  return KILN_OK;
}

static const kiln_tensor_info sum_inputs[] = {
    {"values", KILN_DTYPE_I64, 1, k4}};
static const kiln_tensor_info sum_outputs[] = {
    {"total", KILN_DTYPE_I64, 1, k1}};
static const kiln_entry_desc sum_entries[] = {
    {sizeof(kiln_entry_desc), KILN_ENTRY_RUN, "run", 1, 1, sum_inputs,
     sum_outputs, sum_kernel, 0, 0},
};
static const kiln_model_desc sum_desc = {
    .abi_version = KILN_ABI_VERSION,
    .struct_size = sizeof(kiln_model_desc),
    .name = "sum",
    .num_entries = 1,
    .entries = sum_entries,
};

const kiln_model_desc *test_sum_descriptor(void) { return &sum_desc; }

/*===-- const -------------------------------------------------------------===*/

static int32_t const_kernel(void *exec, void *const *inputs,
                            void *const *outputs, void *workspace) {
  (void)exec, (void)inputs, (void)workspace;
  *(float *)outputs[0] = 42.0f;
  return KILN_OK;
}

static const kiln_tensor_info const_outputs[] = {
    {"value", KILN_DTYPE_F32, 1, k1}};
static const kiln_entry_desc const_entries[] = {
    {sizeof(kiln_entry_desc), KILN_ENTRY_RUN, "run", 0, 1, NULL, const_outputs,
     const_kernel, 0, 0},
};
static const kiln_model_desc const_desc = {
    .abi_version = KILN_ABI_VERSION,
    .struct_size = sizeof(kiln_model_desc),
    .name = "const",
    .num_entries = 1,
    .entries = const_entries,
};

const kiln_model_desc *test_const_descriptor(void) { return &const_desc; }

/*===-- cache -------------------------------------------------------------===*/

/* Appends x[2] to cache[position..] and returns the sum of the cache's
 * first position + 2 rows: what a stateful entry sees of its state. */
static int32_t cache_kernel(void *exec, void *const *inputs,
                            void *const *outputs, void *workspace) {
  (void)exec, (void)workspace;
  const float *x = inputs[0];
  int64_t position = *(const int64_t *)inputs[1];
  float *cache = inputs[2];
  if (position < 0 || position + 2 > TEST_CACHE_ROWS)
    return KILN_ERROR_INTERNAL;
  cache[position] = x[0];
  cache[position + 1] = x[1];
  float total = 0;
  for (int64_t i = 0; i < position + 2; ++i)
    total += cache[i];
  *(float *)outputs[0] = total;
  return KILN_OK;
}

static const int64_t k2[] = {2};
static const int64_t kRows[] = {TEST_CACHE_ROWS};
static const kiln_tensor_info cache_inputs[] = {{"x", KILN_DTYPE_F32, 1, k2}};
static const kiln_tensor_info cache_outputs[] = {
    {"total", KILN_DTYPE_F32, 1, k1}};
static const kiln_entry_desc cache_entries[] = {
    {sizeof(kiln_entry_desc), KILN_ENTRY_PREFILL, "prefill", 1, 1,
     cache_inputs, cache_outputs, cache_kernel, 0, 2},
};
static const kiln_state_desc cache_states[] = {
    {sizeof(kiln_state_desc), KILN_DTYPE_F32, "cache", 1, 0, kRows,
     TEST_CACHE_ROWS * sizeof(float)},
};
static const kiln_model_desc cache_desc = {
    .abi_version = KILN_ABI_VERSION,
    .struct_size = sizeof(kiln_model_desc),
    .name = "cache",
    .num_entries = 1,
    .num_states = 1,
    .entries = cache_entries,
    .states = cache_states,
    .max_seq_len = TEST_CACHE_ROWS,
};

const kiln_model_desc *test_cache_descriptor(void) { return &cache_desc; }

/*===-- paged -------------------------------------------------------------===*/

#define PAGED_N TEST_PAGED_BLOCK_TOKENS
#define PAGED_P TEST_PAGED_POOL_BLOCKS
#define PAGED_TABLE (TEST_PAGED_MAX_SEQ_LEN / PAGED_N)

/* Row `t` of the sequence, found through its block table. */
static float *paged_row(float *kv, const int32_t *table, int64_t t) {
  return kv + ((int64_t)table[t / PAGED_N] * PAGED_N + t % PAGED_N) * 2;
}

static int32_t paged_kernel(void *exec, void *const *inputs,
                            void *const *outputs, void *workspace) {
  (void)exec, (void)workspace;
  const float *x = inputs[0];
  int64_t position = *(const int64_t *)inputs[1];
  float *kv = inputs[2];
  int64_t *steps = inputs[3];
  const int32_t *table = inputs[4];
  if (position < 0 || position >= TEST_PAGED_MAX_SEQ_LEN)
    return KILN_ERROR_INTERNAL;
  /* Entries past the length are read too (with weight 0) by real
   * kernels: all of them must name a block. */
  for (int i = 0; i < PAGED_TABLE; ++i)
    if (table[i] < 0 || table[i] >= PAGED_P)
      return KILN_ERROR_INTERNAL;
  float *row = paged_row(kv, table, position);
  row[0] = x[0];
  row[1] = x[1];
  float *total = outputs[0];
  total[0] = total[1] = 0;
  for (int64_t t = 0; t <= position; ++t) {
    total[0] += paged_row(kv, table, t)[0];
    total[1] += paged_row(kv, table, t)[1];
  }
  *(int64_t *)outputs[1] = ++*steps;
  return KILN_OK;
}

static const int64_t kPagedKv[] = {PAGED_P, 1, PAGED_N, 2};
static const int64_t kPagedTable[] = {PAGED_TABLE};
static const kiln_tensor_info paged_inputs[] = {{"x", KILN_DTYPE_F32, 1, k2}};
static const kiln_tensor_info paged_outputs[] = {
    {"total", KILN_DTYPE_F32, 1, k2},
    {"steps", KILN_DTYPE_I64, 1, k1},
};
static const kiln_entry_desc paged_entries[] = {
    {sizeof(kiln_entry_desc), KILN_ENTRY_DECODE, "decode", 1, 2, paged_inputs,
     paged_outputs, paged_kernel, 0, 1},
};
static const kiln_state_desc paged_states[] = {
    {sizeof(kiln_state_desc), KILN_DTYPE_F32, "kv", 4, KILN_STATE_PAGED,
     kPagedKv, PAGED_P * PAGED_N * 2 * sizeof(float)},
    {sizeof(kiln_state_desc), KILN_DTYPE_I64, "steps", 1, 0, k1,
     sizeof(int64_t)},
    {sizeof(kiln_state_desc), KILN_DTYPE_I32, "block_table", 1,
     KILN_STATE_BLOCK_TABLE, kPagedTable, PAGED_TABLE * sizeof(int32_t)},
};
static const kiln_model_desc paged_desc = {
    .abi_version = KILN_ABI_VERSION,
    .struct_size = sizeof(kiln_model_desc),
    .name = "paged",
    .num_entries = 1,
    .num_states = 3,
    .entries = paged_entries,
    .states = paged_states,
    .max_seq_len = TEST_PAGED_MAX_SEQ_LEN,
    .kv_block_tokens = PAGED_N,
};

const kiln_model_desc *test_paged_descriptor(void) { return &paged_desc; }
