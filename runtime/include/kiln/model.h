/*===- kiln/model.h - running compiled models, loading them -------*- C -*-===*
 *
 * A compiled model is described by a kiln_model_desc (abi.h), obtained from
 * the artifact's `<name>_descriptor()` when it is linked in, or through
 * kiln_model_load() from a shared library at run time. The run functions
 * validate the descriptor and the buffers, then call the entry's kernel with
 * the context's workspace and execution handle.
 *
 * Two ways to pass data:
 *   kiln_model_run[_entry]          one raw pointer per input and output, in
 *                                   descriptor order (what generated
 *                                   `<name>_run()` helpers use); shapes are
 *                                   the descriptor's, only alignment is
 *                                   checked;
 *   kiln_model_run[_entry]_tensors  kiln_tensor values whose count, dtype and
 *                                   shape are checked against the descriptor.
 *
 * Threading: descriptors are immutable and shareable. A run uses its context
 * exclusively (see context.h) but only reads the descriptor, so one model may
 * run on several contexts from several threads at once. kiln_model_load and
 * kiln_model_unload are thread-safe; a kiln_model must not be unloaded while
 * any thread still uses its descriptor.
 *===----------------------------------------------------------------------===*/
#ifndef KILN_MODEL_H
#define KILN_MODEL_H

#include "kiln/context.h"
#include "kiln/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Most inputs (and, separately, outputs) the _tensors run functions accept;
 * the raw-pointer functions have no limit. */
#define KILN_MAX_RUN_TENSORS 256

/* Runs entries[0] of `desc`: equivalent to kiln_model_run_entry(ctx, desc, 0,
 * inputs, outputs). */
KILN_API kiln_status_code kiln_model_run(kiln_context *ctx,
                                         const kiln_model_desc *desc,
                                         const void *const *inputs,
                                         void *const *outputs);

/* Runs entries[entry_index] of `desc`. `inputs` (`outputs`) holds one
 * pointer per input (output) of the entry, in descriptor order, each to a
 * dense buffer of the descriptor's shape and dtype; the arrays may be NULL
 * only when the entry has no inputs (outputs). Checks, in order:
 *   - ctx and desc non-NULL (INVALID_ARGUMENT);
 *   - desc->abi_version == KILN_ABI_VERSION (ABI_MISMATCH, both versions in
 *     the message);
 *   - the descriptor is sane: struct sizes, entries, tensor infos
 *     (INVALID_ARGUMENT; UNSUPPORTED for a dtype this runtime does not know);
 *   - entry_index in [0, num_entries) (INVALID_ARGUMENT);
 *   - every buffer pointer non-NULL (INVALID_ARGUMENT) and aligned to its
 *     element size (MISALIGNED).
 * Then grows the workspace if kiln_context_reserve did not (OUT_OF_MEMORY)
 * and calls the entry's kernel with the context's exec handle and workspace
 * (NULL while no run or reserve on this context needed any). Returns the
 * kernel's status; a value outside kiln_status_code becomes INTERNAL.
 * Outputs may be partially written when the kernel fails. */
KILN_API kiln_status_code kiln_model_run_entry(kiln_context *ctx,
                                               const kiln_model_desc *desc,
                                               int32_t entry_index,
                                               const void *const *inputs,
                                               void *const *outputs);

/* Runs entries[0] with tensor descriptors: equivalent to
 * kiln_model_run_entry_tensors(ctx, desc, 0, ...). */
KILN_API kiln_status_code kiln_model_run_tensors(
    kiln_context *ctx, const kiln_model_desc *desc, const kiln_tensor *inputs,
    int32_t num_inputs, kiln_tensor *outputs, int32_t num_outputs);

/* Like kiln_model_run_entry, after checking that num_inputs/num_outputs
 * equal the entry's counts (INVALID_ARGUMENT, at most KILN_MAX_RUN_TENSORS
 * each, else UNSUPPORTED), and that each tensor's dtype (DTYPE_MISMATCH),
 * rank and dims (SHAPE_MISMATCH) equal the descriptor's. Messages name the
 * tensor, e.g. "input 0 'x': expected shape 1x3x224x224, got 1x3x224". */
KILN_API kiln_status_code kiln_model_run_entry_tensors(
    kiln_context *ctx, const kiln_model_desc *desc, int32_t entry_index,
    const kiln_tensor *inputs, int32_t num_inputs, kiln_tensor *outputs,
    int32_t num_outputs);

/* Stores in *index the position of the input (output) of entries[0] called
 * `name`. Errors: INVALID_ARGUMENT (NULL argument, bad descriptor; *index is
 * then untouched), NOT_FOUND (no such name; *index = -1). */
KILN_API kiln_status_code kiln_model_find_input(const kiln_model_desc *desc,
                                                const char *name,
                                                int32_t *index);
KILN_API kiln_status_code kiln_model_find_output(const kiln_model_desc *desc,
                                                 const char *name,
                                                 int32_t *index);

/* External weights. A model compiled with `kiln compile --weights=external`
 * keeps its weights in a sidecar file (desc->weights_file, written next to
 * the artifact) whose size and checksum the descriptor records. Its runs
 * fail with INVALID_ARGUMENT until the weights are loaded:
 * kiln_model_load(), for a shared library, does it from the library's
 * folder; a program that links the object calls kiln_model_load_weights()
 * (or the header's `<name>_load_weights()`). */

/* Reads the weight file at `path` into 64-byte aligned memory, checks that
 * its size and kiln_weights_checksum() equal the descriptor's, and makes it
 * the model's weights for every context. Once loaded, later calls return
 * KILN_OK without reading `path` again. Thread-safe.
 * Errors: INVALID_ARGUMENT (NULL desc or path, bad descriptor, a model
 * whose weights are embedded), NOT_FOUND (no such file), IO (unreadable),
 * CORRUPT_DATA (wrong size: truncated or from another compile; checksum
 * differs: altered), OUT_OF_MEMORY. Nothing is kept on failure. */
KILN_API kiln_status_code kiln_model_load_weights(const kiln_model_desc *desc,
                                                  const char *path);

/* Returns 1 when `desc`'s weights can be used (embedded, or loaded), else 0
 * (also for NULL). */
KILN_API int kiln_model_weights_ready(const kiln_model_desc *desc);

/* Frees weights loaded by kiln_model_load_weights; runs fail again until
 * they are reloaded. No thread may be running the model. NULL, embedded or
 * not loaded: no-op. */
KILN_API void kiln_model_release_weights(const kiln_model_desc *desc);

/* A model loaded from a shared library. Opaque. */
typedef struct kiln_model kiln_model;

/* Loads the compiled model in the shared library at `path` (dlopen with
 * RTLD_NOW | RTLD_LOCAL, so its symbols do not leak into other models) and
 * calls its descriptor function: `<name>_descriptor`, or the generic
 * KILN_GENERIC_DESCRIPTOR_SYMBOL ("kiln_artifact_descriptor") if `name` is NULL.
 * The descriptor is validated as by kiln_model_run. A model with external
 * weights gets them from desc->weights_file in the library's folder, as by
 * kiln_model_load_weights (its errors apply). On failure *out is NULL and
 * the library is closed again.
 * Errors: INVALID_ARGUMENT (NULL path/out, `name` not a C identifier, bad
 * descriptor), NOT_FOUND (no such file, no such symbol), IO (the file exists
 * but cannot be loaded; the message carries dlerror()), ABI_MISMATCH (the
 * artifact's abi_version differs; the message gives both versions),
 * OUT_OF_MEMORY. */
KILN_API kiln_status_code kiln_model_load(const char *path, const char *name,
                                          kiln_model **out);

/* Returns the descriptor of a loaded model (valid until unload), or NULL if
 * `model` is NULL. */
KILN_API const kiln_model_desc *kiln_model_descriptor(const kiln_model *model);

/* Releases the weights kiln_model_load read (if any), closes the library and
 * frees `model`. NULL is a no-op. */
KILN_API void kiln_model_unload(kiln_model *model);

#ifdef __cplusplus
}
#endif

#endif /* KILN_MODEL_H */
