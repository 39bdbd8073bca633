/*===- test_models.h - hand-written model descriptors for tests ---*- C -*-===*
 *
 * Stand-ins for what `kiln compile` emits: static descriptors plus tiny
 * kernels, written in C like the generated code's ABI side.
 *===----------------------------------------------------------------------===*/
#ifndef KILN_TEST_MODELS_H
#define KILN_TEST_MODELS_H

#include "kiln/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

/* "add": entries
 *   0 "run":   c = a + b over float32[2x3] (through kiln_exec_parallel_for);
 *              fails with KILN_ERROR_INTERNAL unless it receives a non-NULL,
 *              KILN_ALIGNMENT-aligned workspace, which it fills completely.
 *   1 "scale": y = 2 * x over float32[2x3], no workspace.
 *   2 "fail":  no tensors, returns KILN_ERROR_IO.
 *   3 "bogus": no tensors, returns 1234 (not a kiln_status_code). */
#define TEST_ADD_WORKSPACE_BYTES 1000
const kiln_model_desc *test_add_descriptor(void);

/* "sum": total = sum(values), int64[4] -> int64[1]; 8-byte alignment. */
const kiln_model_desc *test_sum_descriptor(void);

/* "const": no inputs, value = float32[1] {42}. */
const kiln_model_desc *test_const_descriptor(void);

/* "cache": a stateful PREFILL entry appending 2 rows per call to a float32
 * state of TEST_CACHE_ROWS rows; total = sum of the rows so far. */
#define TEST_CACHE_ROWS 6
const kiln_model_desc *test_cache_descriptor(void);

/* "paged": a DECODE entry over paged caches (--kv-block
 * TEST_PAGED_BLOCK_TOKENS, max_seq_len TEST_PAGED_MAX_SEQ_LEN) appending
 * one row x float32[2] per call. States, in order: "kv", KILN_STATE_PAGED
 * float32 [TEST_PAGED_POOL_BLOCKS, 1, TEST_PAGED_BLOCK_TOKENS, 2]; "steps",
 * a plain int64 [1] counting the sequence's calls; "block_table",
 * KILN_STATE_BLOCK_TABLE int32 [max_seq_len / block tokens]. The kernel
 * writes x to the row of its position through the table and returns in
 * total float32[2] the column sums of rows [0, position] read through the
 * table, in steps int64[1] the new count. It fails with
 * KILN_ERROR_INTERNAL if any table entry is not a pool block. */
#define TEST_PAGED_BLOCK_TOKENS 2
#define TEST_PAGED_MAX_SEQ_LEN 8
#define TEST_PAGED_POOL_BLOCKS 6
const kiln_model_desc *test_paged_descriptor(void);

/* How many range-body calls the "add" kernel's parallel_for made during
 * its last run: 1 when it ran serially. Global, so only meaningful while one
 * thread runs "add". */
int test_add_last_chunk_calls(void);

#ifdef __cplusplus
}
#endif

#endif /* KILN_TEST_MODELS_H */
