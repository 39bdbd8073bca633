/*===- kiln/status.h - status codes, error messages, version ------*- C -*-===*
 *
 * Every runtime function that can fail returns a kiln_status_code (defined in
 * abi.h, shared with generated kernels); destroy functions and getters return
 * nothing or a plain value. A failing call also records a detailed message
 * (which function, which tensor, expected versus got) in a per-thread buffer
 * that kiln_last_error_message() reads back. Nothing in the runtime prints,
 * aborts or exits.
 *
 * Threading: every function here is thread-safe. Messages are per thread: a
 * failure on one thread never overwrites the message of another.
 *===----------------------------------------------------------------------===*/
#ifndef KILN_STATUS_H
#define KILN_STATUS_H

#include "kiln/abi.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Marks the runtime's exported functions. The runtime is built with hidden
 * visibility, so only these symbols leave libkiln_runtime.so. */
#ifndef KILN_API
#if defined(__GNUC__) || defined(__clang__)
#define KILN_API __attribute__((visibility("default")))
#else
#define KILN_API
#endif
#endif

/* Returns a short, static, lower-case description of `code`, e.g. "shape
 * mismatch"; "unknown status" for values outside kiln_status_code. */
KILN_API const char *kiln_status_string(kiln_status_code code);

/* Returns the message recorded by the most recent failing runtime call on the
 * calling thread, e.g. "kiln_model_run_tensors: input 0 'x': expected shape
 * 1x3x224x224, got 1x3x224"; "" if no call has failed on this thread.
 * Successful calls leave it unchanged. The pointer stays valid for the
 * thread's lifetime; the text changes at the thread's next failure. */
KILN_API const char *kiln_last_error_message(void);

/* Returns KILN_ABI_VERSION as this runtime was built with it. Compare with
 * the KILN_ABI_VERSION an application was compiled against to detect a
 * stale shared library. */
KILN_API uint32_t kiln_runtime_abi_version(void);

#ifdef __cplusplus
}
#endif

#endif /* KILN_STATUS_H */
