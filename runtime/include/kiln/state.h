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
 * Threading: a state belongs to one sequence; calls that take the same
 * state must not overlap. Different states of one model may run at once on
 * different contexts.
 *===----------------------------------------------------------------------===*/
#ifndef KILN_STATE_H
#define KILN_STATE_H

#include "kiln/context.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Opaque: created by kiln_state_create, freed by kiln_state_destroy. */
typedef struct kiln_state kiln_state;

/* Allocates the caches of `desc` (every kiln_state_desc, KILN_ALIGNMENT
 * aligned, zero-filled) with `allocator` (NULL = kiln_allocator_default())
 * and sets the length to 0. On failure *out is NULL.
 * Errors: INVALID_ARGUMENT (NULL desc or out, bad descriptor, a model
 * without states), OUT_OF_MEMORY. */
KILN_API kiln_status_code kiln_state_create(const kiln_model_desc *desc,
                                            const kiln_allocator *allocator,
                                            kiln_state **out);

/* Frees the caches and the state. NULL is a no-op. */
KILN_API void kiln_state_destroy(kiln_state *state);

/* Starts a new sequence: the length becomes 0 (the cache rows are not
 * cleared; rows past the length are never read).
 * Errors: INVALID_ARGUMENT (NULL state). */
KILN_API kiln_status_code kiln_state_reset(kiln_state *state);

/* Forgets the tokens after the first `length` (0 <= length <= the current
 * length): the next call appends at `length`. Rewinds a rejected guess or
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
 * runtime adds the position and the caches). On success the length grows
 * by the entry's `tokens`; on failure it is unchanged.
 * Errors: those of kiln_model_run_entry, and INVALID_ARGUMENT for a NULL
 * state, a state created for another model, a RUN entry, or a call that
 * would grow the length past max_seq_len (the message says to reset the
 * state or compile with a larger --max-seq-len). */
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
