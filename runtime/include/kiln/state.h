/*===- kiln/state.h - KV caches of stateful models ----------------*- C -*-===*
 *
 * A decoder compiled with `kiln compile --max-seq-len=N` owns its key/value
 * cache: the descriptor lists the cache tensors (kiln_model_desc::states)
 * and stateful entries (PREFILL, DECODE) that append `tokens` rows per call
 * in place, instead of taking the past and returning the present.
 * A kiln_state holds one sequence's caches and its length:
 *
 *   kiln_state *s;
 *   kiln_state_create(desc, NULL, &s);
 *   kiln_model_run_state(ctx, desc, decode_index, s, inputs, outputs);
 *   ... once per token; kiln_state_length(s) counts them ...
 *   kiln_state_reset(s);    (a new sequence)
 *   kiln_state_destroy(s);
 *
 * Paged caches (`kiln compile --kv-block N`): the caches are blocks of N
 * tokens in a kiln_kv_pool that many sequences share, each taking blocks
 * as it grows and giving them back on reset, truncate and destroy, so that
 * the pool sizes the total context, not every sequence's longest:
 *
 *   kiln_kv_pool *pool;
 *   kiln_kv_pool_create(desc, NULL, &pool);
 *   kiln_state_create_in_pool(pool, &a);   (one state per sequence)
 *   kiln_state_create_in_pool(pool, &b);
 *   ... kiln_model_run_state on a and b as above ...
 *   kiln_state_destroy(a); kiln_state_destroy(b);
 *   kiln_kv_pool_destroy(pool);
 *
 * kiln_state_create on such a model gives the state a private pool.
 *
 * Threading: a state belongs to one sequence; calls that take the same
 * state must not overlap. Different states of one model may run at once on
 * different contexts, states of one pool included (the pool hands out its
 * blocks under a lock). kiln_kv_pool_destroy must not overlap any other
 * call on the pool or its states.
 *===----------------------------------------------------------------------===*/
#ifndef KILN_STATE_H
#define KILN_STATE_H

#include "kiln/context.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Opaque: created by kiln_state_create, freed by kiln_state_destroy. */
typedef struct kiln_state kiln_state;

/* Opaque: created by kiln_kv_pool_create, freed by kiln_kv_pool_destroy. */
typedef struct kiln_kv_pool kiln_kv_pool;

/* Allocates the caches of `desc` (every kiln_state_desc, KILN_ALIGNMENT
 * aligned, zero-filled) with `allocator` (NULL = kiln_allocator_default())
 * and sets the length to 0. A model with paged caches (--kv-block) gets a
 * private kiln_kv_pool, freed with the state. On failure *out is NULL.
 * Errors: INVALID_ARGUMENT (NULL desc or out, bad descriptor, a model
 * without states), OUT_OF_MEMORY. */
KILN_API kiln_status_code kiln_state_create(const kiln_model_desc *desc,
                                            const kiln_allocator *allocator,
                                            kiln_state **out);

/* Allocates the paged caches of `desc`, a model compiled with --kv-block:
 * every KILN_STATE_PAGED state's pool of blocks (KILN_ALIGNMENT aligned,
 * zero-filled), all of them free, with `allocator` (NULL =
 * kiln_allocator_default()), which the pool's states use too. On failure
 * *out is NULL.
 * Errors: INVALID_ARGUMENT (NULL desc or out, bad descriptor, a model
 * without paged caches), OUT_OF_MEMORY. */
KILN_API kiln_status_code kiln_kv_pool_create(const kiln_model_desc *desc,
                                              const kiln_allocator *allocator,
                                              kiln_kv_pool **out);

/* Frees the pool. NULL is a no-op returning KILN_OK.
 * Errors: INVALID_ARGUMENT (states created in the pool still exist: the
 * message says how many; the pool is left as it was). */
KILN_API kiln_status_code kiln_kv_pool_destroy(kiln_kv_pool *pool);

/* The pool's blocks (the paged states' dims[0]), or -1 for NULL. */
KILN_API int64_t kiln_kv_pool_blocks(const kiln_kv_pool *pool);

/* The blocks no sequence holds, or -1 for NULL. */
KILN_API int64_t kiln_kv_pool_free_blocks(const kiln_kv_pool *pool);

/* The tokens per block (kiln_model_desc::kv_block_tokens), or -1 for
 * NULL. */
KILN_API int64_t kiln_kv_pool_block_tokens(const kiln_kv_pool *pool);

/* A new sequence (length 0, no blocks) of the pool's model: its own
 * block table and unpaged states (allocated with the pool's allocator,
 * zero-filled), its paged caches in `pool`. kiln_model_run_state takes
 * blocks from the pool as the sequence grows; kiln_state_reset,
 * kiln_state_truncate and kiln_state_destroy give them back. The pool must
 * outlive the state. On failure *out is NULL.
 * Errors: INVALID_ARGUMENT (NULL pool or out), OUT_OF_MEMORY. */
KILN_API kiln_status_code kiln_state_create_in_pool(kiln_kv_pool *pool,
                                                    kiln_state **out);

/* Frees the caches and the state, and gives its blocks back to its pool.
 * NULL is a no-op. */
KILN_API void kiln_state_destroy(kiln_state *state);

/* Starts a new sequence: the length becomes 0 and its blocks go back to
 * the pool (the cache rows are not cleared; rows past the length are never
 * read).
 * Errors: INVALID_ARGUMENT (NULL state). */
KILN_API kiln_status_code kiln_state_reset(kiln_state *state);

/* Forgets the tokens after the first `length` (0 <= length <= the current
 * length): the next call appends at `length`; blocks past the one holding
 * token `length - 1` go back to the pool. Rewinds a rejected guess or
 * replays a step at a fixed context length. With a QJL cache (--kv qjl)
 * the recent keys overwritten in its ring after `length` are read from
 * their sign-bit sketches from then on, so the logits may differ slightly
 * from a sequence that never went past `length`.
 * Errors: INVALID_ARGUMENT (NULL state, length out of range). */
KILN_API kiln_status_code kiln_state_truncate(kiln_state *state,
                                              int64_t length);

/* The tokens in the caches, or -1 for NULL. */
KILN_API int64_t kiln_state_length(const kiln_state *state);

/* The rows each cache holds (kiln_model_desc::max_seq_len), or -1 for
 * NULL. */
KILN_API int64_t kiln_state_capacity(const kiln_state *state);

/* Runs the stateful entry `entry_index` of `desc` on `state`: `inputs` and
 * `outputs` as for kiln_model_run_entry (the entry's own inputs only; the
 * runtime adds the position and the caches). With paged caches it first
 * takes from the pool the blocks that the new tokens need. On success the
 * length grows by the entry's `tokens`; on failure it is unchanged (and so
 * are the blocks the sequence holds).
 * Errors: those of kiln_model_run_entry, INVALID_ARGUMENT for a NULL
 * state, a state created for another model, a RUN entry, or a call that
 * would grow the length past max_seq_len (the message says to reset the
 * state or compile with a larger --max-seq-len), and OUT_OF_MEMORY when
 * the pool has too few free blocks (the message says how many sequences
 * hold them). */
KILN_API kiln_status_code kiln_model_run_state(kiln_context *ctx,
                                               const kiln_model_desc *desc,
                                               int32_t entry_index,
                                               kiln_state *state,
                                               const void *const *inputs,
                                               void *const *outputs);

/* Index of the first entry of `kind` (kiln_entry_kind) in *index.
 * Errors: INVALID_ARGUMENT (NULL argument, bad descriptor), NOT_FOUND (no
 * such entry; *index = -1). */
KILN_API kiln_status_code kiln_model_find_entry(const kiln_model_desc *desc,
                                                int32_t kind, int32_t *index);

#ifdef __cplusplus
}
#endif

#endif /* KILN_STATE_H */
