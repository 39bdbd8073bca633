/*===- kiln/exec.h - runtime services for generated kernels -------*- C -*-===*
 *
 * Generated kernels receive an opaque `void *exec` (see kiln_entry_fn in
 * abi.h) and reach the context's thread pool through the functions here.
 * Applications rarely call them directly; kiln_context_exec() returns the
 * handle of a context for that purpose (and for tests).
 *
 * Threading: one parallel_for at a time per exec handle, i.e. from the thread
 * that is running the context (its rule: one thread at a time). A
 * parallel_for issued while another is in flight on the same handle (a
 * nested call from inside `fn`, or a misuse from a second thread) does not
 * deadlock: it runs serially on its calling thread. `fn` runs concurrently
 * on up to num_threads threads and must not call other functions of the
 * context (run, reserve, destroy).
 *===----------------------------------------------------------------------===*/
#ifndef KILN_EXEC_H
#define KILN_EXEC_H

#include "kiln/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A range body: processes items [begin, end), 0 <= begin < end <= n. */
typedef void (*kiln_range_fn)(void *data, int64_t begin, int64_t end);

/* Calls `fn` on disjoint, contiguous ranges that together cover [0, n)
 * exactly once, spread over the context's threads (the caller takes part),
 * and returns when all have finished. The range is cut into
 * min(n, 4 * num_threads) chunks whose sizes differ by at most one item;
 * each thread first runs its own contiguous run of them, then takes what
 * is left of the others', so uneven work balances. With exec == NULL, a
 * 1-thread context or n == 1, calls fn(data, 0, n) once on the calling
 * thread. n == 0 calls nothing.
 * Errors: INVALID_ARGUMENT if fn is NULL, n < 0 or exec is not a handle
 * returned by kiln_context_exec (detected on a best-effort basis). */
KILN_API kiln_status_code kiln_exec_parallel_for(void *exec, int64_t n,
                                                 kiln_range_fn fn, void *data);

/* Returns how many threads a parallel_for on `exec` may use (1 for NULL);
 * kernels use it to pick a partition. */
KILN_API int32_t kiln_exec_num_threads(const void *exec);

#ifdef __cplusplus
}
#endif

#endif /* KILN_EXEC_H */
