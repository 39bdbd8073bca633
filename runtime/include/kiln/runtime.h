/*===- kiln/runtime.h - the kiln runtime API ----------------------*- C -*-===*
 *
 * Umbrella header: include this one. The runtime is a small C11 library
 * (libkiln_runtime.a / .so) that runs models compiled by `kiln compile`:
 *
 *   abi.h      the compiler <-> runtime contract: status codes, dtypes,
 *              model/entry descriptors, the kernel signature
 *   status.h   status strings, per-thread error messages, version query
 *   context.h  allocator, context (thread pool + workspace), reserve
 *   exec.h     parallel_for for generated kernels
 *   tensor.h   kiln_tensor and dtype helpers
 *   model.h    run (raw pointers or checked tensors), find inputs/outputs,
 *              load models from shared libraries
 *
 * Typical use with a model linked in (`kiln compile m.onnx -o m.o`):
 *
 *   kiln_context *ctx;
 *   if (kiln_context_create(NULL, &ctx) != KILN_OK ||
 *       kiln_context_reserve(ctx, m_descriptor()) != KILN_OK ||
 *       m_run(ctx, input, output) != KILN_OK)
 *     fprintf(stderr, "%s\n", kiln_last_error_message());
 *   kiln_context_destroy(ctx);
 *
 * Threading: each header states its rules. In short: descriptors and loaded
 * models are shared freely, a context is used by one thread at a time, error
 * messages are per thread.
 *===----------------------------------------------------------------------===*/
#ifndef KILN_RUNTIME_H
#define KILN_RUNTIME_H

#include "kiln/abi.h"
#include "kiln/context.h"
#include "kiln/exec.h"
#include "kiln/model.h"
#include "kiln/state.h"
#include "kiln/status.h"
#include "kiln/tensor.h"

#endif /* KILN_RUNTIME_H */
