/*===- kiln/context.h - allocator, thread pool and workspace ------*- C -*-===*
 *
 * A kiln_context owns what running a model needs besides the model itself:
 * the allocator, a thread pool (`num_threads - 1` worker threads plus the
 * calling thread) and one workspace buffer that holds every intermediate
 * tensor. Create one context per thread that runs models; call
 * kiln_context_reserve() once per model so that running never allocates.
 *
 * Threading: a context is used by one thread at a time (no internal locking
 * on the run path); different contexts may be used from different threads
 * concurrently. A context may move between threads as long as calls do not
 * overlap. The allocator's callbacks are called only from the thread that
 * calls create/reserve/run/destroy on that context, never from workers.
 *===----------------------------------------------------------------------===*/
#ifndef KILN_CONTEXT_H
#define KILN_CONTEXT_H

#include "kiln/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Memory callbacks. `alloc` returns `size` bytes aligned to `alignment` (a
 * power of two, at most 4096) or NULL; `free` releases a pointer returned by
 * `alloc` (never NULL). `user` is passed back unchanged. The runtime copies
 * the struct; `user` must outlive every context created with it. */
typedef struct kiln_allocator {
  void *(*alloc)(void *user, size_t size, size_t alignment);
  void (*free)(void *user, void *ptr);
  void *user;
} kiln_allocator;

/* Returns the default allocator (posix_memalign/free). */
KILN_API kiln_allocator kiln_allocator_default(void);

/* Largest accepted kiln_context_options::num_threads. */
#define KILN_MAX_THREADS 1024

typedef struct kiln_context_options {
  /* sizeof(kiln_context_options) as the caller compiled it; set by
   * kiln_context_options_init. Fields added later go after `allocator`. */
  uint32_t struct_size;
  /* Threads that run kernels, including the caller's: 0 = number of online
   * CPUs, 1 = no worker threads, at most KILN_MAX_THREADS. */
  int32_t num_threads;
  /* NULL = kiln_allocator_default(). Copied at create. */
  const kiln_allocator *allocator;
} kiln_context_options;

/* Opaque: created by kiln_context_create, freed by kiln_context_destroy. */
typedef struct kiln_context kiln_context;

/* Fills `opts` with defaults (num_threads 0, default allocator) and sets
 * struct_size. Returns KILN_ERROR_INVALID_ARGUMENT if `opts` is NULL. */
KILN_API kiln_status_code kiln_context_options_init(kiln_context_options *opts);

/* Creates a context and starts its worker threads. `opts` may be NULL for the
 * defaults. On success stores the context in `*out`; on failure stores NULL.
 * Errors: INVALID_ARGUMENT (NULL out, bad struct_size, num_threads out of
 * range, allocator with NULL callbacks), OUT_OF_MEMORY (allocation or thread
 * creation failed). */
KILN_API kiln_status_code kiln_context_create(const kiln_context_options *opts,
                                              kiln_context **out);

/* Stops the worker threads and frees the workspace and the context. NULL is
 * a no-op. Must not be called while a run on `ctx` is in progress. */
KILN_API void kiln_context_destroy(kiln_context *ctx);

/* Returns the context's thread count (>= 1), or 0 if `ctx` is NULL. */
KILN_API int32_t kiln_context_num_threads(const kiln_context *ctx);

/* Returns the current workspace size in bytes (0 before the first reserve or
 * run, and for NULL). */
KILN_API uint64_t kiln_context_workspace_bytes(const kiln_context *ctx);

/* Returns the execution handle that runs pass to kernels as `exec` (see
 * kiln_entry_fn in abi.h and kiln/exec.h), or NULL if `ctx` is NULL. It is
 * owned by the context and valid until kiln_context_destroy. */
KILN_API void *kiln_context_exec(kiln_context *ctx);

/* Grows the workspace to what any entry of `desc` needs, KILN_ALIGNMENT
 * aligned, so that later runs of that model (and of smaller ones) do not
 * allocate. Never shrinks. Validates `desc` like kiln_model_run does.
 * Errors: INVALID_ARGUMENT, ABI_MISMATCH, OUT_OF_MEMORY. */
KILN_API kiln_status_code kiln_context_reserve(kiln_context *ctx,
                                               const kiln_model_desc *desc);

#ifdef __cplusplus
}
#endif

#endif /* KILN_CONTEXT_H */
