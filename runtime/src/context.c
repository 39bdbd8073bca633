/*===- context.c - contexts, allocators and the workspace -----------------===*
 *
 * The context is the only object that allocates: itself and its thread pool
 * at create, the workspace at reserve (or at the first run that needs more).
 * Runs after that allocate nothing.
 *===----------------------------------------------------------------------===*/
#include "internal.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void *kiln_default_alloc(void *user, size_t size, size_t alignment) {
  (void)user;
  void *ptr = NULL;
  /* posix_memalign wants a multiple of sizeof(void *). */
  if (alignment < sizeof(void *))
    alignment = sizeof(void *);
  if (posix_memalign(&ptr, alignment, size ? size : 1) != 0)
    return NULL;
  return ptr;
}

static void kiln_default_free(void *user, void *ptr) {
  (void)user;
  free(ptr);
}

kiln_allocator kiln_allocator_default(void) {
  kiln_allocator a = {kiln_default_alloc, kiln_default_free, NULL};
  return a;
}

kiln_status_code kiln_context_options_init(kiln_context_options *opts) {
  if (!opts)
    return kiln_error(KILN_ERROR_INVALID_ARGUMENT,
                      "kiln_context_options_init: opts is NULL");
  memset(opts, 0, sizeof(*opts));
  opts->struct_size = sizeof(*opts);
  return KILN_OK;
}

int32_t kiln_online_cpus(void) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  if (n < 1)
    return 1;
  return n > KILN_MAX_THREADS ? KILN_MAX_THREADS : (int32_t)n;
}

kiln_status_code kiln_context_create(const kiln_context_options *opts,
                                     kiln_context **out) {
  if (!out)
    return kiln_error(KILN_ERROR_INVALID_ARGUMENT,
                      "kiln_context_create: out is NULL");
  *out = NULL;
  kiln_context_options o;
  kiln_context_options_init(&o);
  if (opts) {
    if (opts->struct_size < sizeof(o) ||
        opts->struct_size > KILN_MAX_STRUCT_SIZE)
      return kiln_error(KILN_ERROR_INVALID_ARGUMENT,
                        "kiln_context_create: options struct_size %u is not "
                        "in [%zu, %u]; call kiln_context_options_init first",
                        (unsigned)opts->struct_size, sizeof(o),
                        KILN_MAX_STRUCT_SIZE);
    o.num_threads = opts->num_threads;
    o.allocator = opts->allocator;
  }
  if (o.num_threads < 0 || o.num_threads > KILN_MAX_THREADS)
    return kiln_error(KILN_ERROR_INVALID_ARGUMENT,
                      "kiln_context_create: num_threads %d is not in [0, %d]",
                      (int)o.num_threads, KILN_MAX_THREADS);
  kiln_allocator allocator = kiln_allocator_default();
  if (o.allocator) {
    if (!o.allocator->alloc || !o.allocator->free)
      return kiln_error(KILN_ERROR_INVALID_ARGUMENT,
                        "kiln_context_create: allocator has a NULL %s callback",
                        o.allocator->alloc ? "free" : "alloc");
    allocator = *o.allocator;
  }
  int32_t num_threads = o.num_threads ? o.num_threads : kiln_online_cpus();

  kiln_context *ctx =
      allocator.alloc(allocator.user, sizeof(kiln_context), KILN_ALIGNMENT);
  if (!ctx)
    return kiln_error(KILN_ERROR_OUT_OF_MEMORY,
                      "kiln_context_create: cannot allocate the context");
  memset(ctx, 0, sizeof(*ctx));
  ctx->allocator = allocator;
  ctx->num_threads = num_threads;
  kiln_status_code status =
      kiln_exec_create(&allocator, num_threads, &ctx->exec);
  if (status != KILN_OK) {
    allocator.free(allocator.user, ctx);
    return status;
  }
  *out = ctx;
  return KILN_OK;
}

void kiln_context_destroy(kiln_context *ctx) {
  if (!ctx)
    return;
  kiln_exec_destroy(ctx->exec);
  if (ctx->workspace)
    ctx->allocator.free(ctx->allocator.user, ctx->workspace);
  ctx->allocator.free(ctx->allocator.user, ctx);
}

int32_t kiln_context_num_threads(const kiln_context *ctx) {
  return ctx ? ctx->num_threads : 0;
}

uint64_t kiln_context_workspace_bytes(const kiln_context *ctx) {
  return ctx ? ctx->workspace_bytes : 0;
}

void *kiln_context_exec(kiln_context *ctx) { return ctx ? ctx->exec : NULL; }

kiln_status_code kiln_context_ensure_workspace(kiln_context *ctx,
                                               uint64_t bytes, const char *fn) {
  if (bytes <= ctx->workspace_bytes)
    return KILN_OK;
  /* Round up so kernels may touch whole vectors at the end of a buffer. */
  if (bytes > (uint64_t)SIZE_MAX - KILN_ALIGNMENT)
    return kiln_error(KILN_ERROR_OUT_OF_MEMORY,
                      "%s: workspace of %llu bytes does not fit in memory", fn,
                      (unsigned long long)bytes);
  size_t size =
      ((size_t)bytes + KILN_ALIGNMENT - 1) & ~(size_t)(KILN_ALIGNMENT - 1);
  void *ws = ctx->allocator.alloc(ctx->allocator.user, size, KILN_ALIGNMENT);
  if (!ws)
    return kiln_error(KILN_ERROR_OUT_OF_MEMORY,
                      "%s: cannot allocate a workspace of %zu bytes", fn, size);
  if ((uintptr_t)ws % KILN_ALIGNMENT != 0) {
    ctx->allocator.free(ctx->allocator.user, ws);
    return kiln_error(KILN_ERROR_MISALIGNED,
                      "%s: the allocator returned a workspace that is not "
                      "%d-byte aligned",
                      fn, KILN_ALIGNMENT);
  }
  if (ctx->workspace)
    ctx->allocator.free(ctx->allocator.user, ctx->workspace);
  ctx->workspace = ws;
  ctx->workspace_bytes = size;
  return KILN_OK;
}

kiln_status_code kiln_context_reserve(kiln_context *ctx,
                                      const kiln_model_desc *desc) {
  static const char fn[] = "kiln_context_reserve";
  if (!ctx)
    return kiln_error(KILN_ERROR_INVALID_ARGUMENT, "%s: ctx is NULL", fn);
  kiln_status_code status = kiln_desc_validate(desc, fn);
  if (status != KILN_OK)
    return status;
  return kiln_context_ensure_workspace(ctx, kiln_desc_max_workspace(desc), fn);
}
