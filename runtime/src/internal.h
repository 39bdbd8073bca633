/*===- internal.h - declarations shared by the runtime's sources --*- C -*-===*
 *
 * Not installed. Include first in every runtime source: it selects POSIX.
 *===----------------------------------------------------------------------===*/
#ifndef KILN_RUNTIME_INTERNAL_H
#define KILN_RUNTIME_INTERNAL_H

#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include "kiln/runtime.h"

#include <stdint.h>

#if defined(__GNUC__) || defined(__clang__)
#define KILN_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define KILN_PRINTF(f, a)
#endif

/* Records a message for kiln_last_error_message() and returns `code`, so
 * that failure paths read `return kiln_error(CODE, "fn: ...", ...);`. */
kiln_status_code kiln_error(kiln_status_code code, const char *fmt, ...)
    KILN_PRINTF(2, 3);

/* Upper bound on any struct_size we accept: anything larger is garbage, not
 * a newer caller or artifact. */
#define KILN_MAX_STRUCT_SIZE 4096u

/* Descriptor strings may be NULL; print them as "?". */
static inline const char *kiln_str(const char *s) { return s ? s : "?"; }

/*===-- Execution (exec.c) ------------------------------------------------===*/

typedef struct kiln_exec kiln_exec;

/* Starts `num_threads - 1` workers. Memory comes from `allocator`. */
kiln_status_code kiln_exec_create(const kiln_allocator *allocator,
                                  int32_t num_threads, kiln_exec **out);
/* Joins the workers and frees. NULL is a no-op. */
void kiln_exec_destroy(kiln_exec *exec);

/*===-- Context (context.c) -----------------------------------------------===*/

/* Online CPUs, clamped to [1, KILN_MAX_THREADS]. */
int32_t kiln_online_cpus(void);

struct kiln_context {
  kiln_allocator allocator;
  kiln_exec *exec;
  void *workspace; /* KILN_ALIGNMENT aligned, NULL while workspace_bytes == 0 */
  uint64_t workspace_bytes;
  int32_t num_threads;
};

/* Grows ctx's workspace to at least `bytes`; `fn` names the public caller
 * in messages. */
kiln_status_code kiln_context_ensure_workspace(kiln_context *ctx,
                                               uint64_t bytes, const char *fn);

/*===-- Descriptors (model.c) ---------------------------------------------===*/

/* Checks the header of `desc` and of every entry (not their tensor infos). */
kiln_status_code kiln_desc_validate(const kiln_model_desc *desc,
                                    const char *fn);

/* Entries are laid out with the artifact's struct_size as stride, so a
 * runtime reads newer artifacts whose kiln_entry_desc grew at the end. Only
 * valid after kiln_desc_validate. */
static inline const kiln_entry_desc *kiln_desc_entry(const kiln_model_desc *d,
                                                     int32_t i) {
  return (const kiln_entry_desc *)((const char *)d->entries +
                                   (size_t)i * d->entries[0].struct_size);
}

/* State i of a validated descriptor (the array's stride is states[0]'s
 * struct_size, as for entries). */
static inline const kiln_state_desc *kiln_desc_state(const kiln_model_desc *d,
                                                     int32_t i) {
  return (const kiln_state_desc *)((const char *)d->states +
                                   (size_t)i * d->states[0].struct_size);
}

/* The external weight file's name, or NULL when the weights are embedded
 * (or the artifact predates the field). */
const char *kiln_desc_weights_file(const kiln_model_desc *desc);

/* kiln_model_load's use of external weights: loads them if needed and
 * counts one more user; the last drop releases them (weights.c). */
kiln_status_code kiln_weights_acquire(const kiln_model_desc *desc,
                                      const char *path);
void kiln_weights_drop(const kiln_model_desc *desc);

/* Largest workspace any entry of a validated `desc` needs. */
uint64_t kiln_desc_max_workspace(const kiln_model_desc *desc);

/* Checks ctx, desc (validated), the entry index and the weights; stores
 * the entry in *out. */
kiln_status_code kiln_entry_lookup(const char *fn, kiln_context *ctx,
                                   const kiln_model_desc *desc, int32_t index,
                                   const kiln_entry_desc **out);

/* Checks the buffers, reserves the workspace and calls the entry's kernel.
 * `kernel_inputs` is the pointer list the kernel gets (a stateful entry's
 * inputs, position and states); NULL for a stateless call, which refuses
 * stateful entries. */
kiln_status_code kiln_entry_invoke(const char *fn, kiln_context *ctx,
                                   const kiln_model_desc *desc,
                                   const kiln_entry_desc *e,
                                   const void *const *inputs,
                                   void *const *outputs,
                                   void *const *kernel_inputs);

/* The entry's `tokens` (0 when its struct predates the field). */
int64_t kiln_entry_tokens(const kiln_entry_desc *e);

/* The model's max_seq_len (0 when its struct predates the field). */
int64_t kiln_desc_max_seq_len(const kiln_model_desc *desc);

/* The model's kv_block_tokens (0 when its struct predates the field). */
int64_t kiln_desc_kv_block_tokens(const kiln_model_desc *desc);

/*===-- Tensors (tensor.c) ------------------------------------------------===*/

/* Writes "1x3x224x224" ("scalar" for rank 0) into buf (always terminated). */
void kiln_format_shape(char *buf, size_t size, int32_t rank,
                       const int64_t *dims);

#endif /* KILN_RUNTIME_INTERNAL_H */
