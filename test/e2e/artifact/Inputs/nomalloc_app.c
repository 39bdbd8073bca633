/* The run path does not allocate: this program replaces malloc and friends
 * (glibc supports replacing them in the main program; the replacements
 * forward to __libc_*), counts calls from any thread while counting is on,
 * and checks that 100 net_run() calls after kiln_context_reserve() make
 * none. The model (Inputs/mlp.mlir, --name net) chains matmuls so its
 * intermediates need a workspace. */
#define _GNU_SOURCE
#include "net.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);

static atomic_int counting;
static atomic_long allocs, frees;

static void note_alloc(void) {
  if (atomic_load(&counting))
    atomic_fetch_add(&allocs, 1);
}

void *malloc(size_t n) {
  note_alloc();
  return __libc_malloc(n);
}
void *calloc(size_t n, size_t size) {
  note_alloc();
  return __libc_calloc(n, size);
}
void *realloc(void *p, size_t n) {
  note_alloc();
  return __libc_realloc(p, n);
}
void *memalign(size_t alignment, size_t n) {
  note_alloc();
  return __libc_memalign(alignment, n);
}
void *aligned_alloc(size_t alignment, size_t n) {
  note_alloc();
  return __libc_memalign(alignment, n);
}
void *valloc(size_t n) {
  note_alloc();
  return __libc_memalign(4096, n);
}
int posix_memalign(void **out, size_t alignment, size_t n) {
  note_alloc();
  if (alignment < sizeof(void *) || (alignment & (alignment - 1)))
    return EINVAL;
  void *p = __libc_memalign(alignment, n);
  if (!p)
    return ENOMEM;
  *out = p;
  return 0;
}
void free(void *p) {
  if (p && atomic_load(&counting))
    atomic_fetch_add(&frees, 1);
  __libc_free(p);
}

/* A kiln_allocator that counts too (the context's own allocations). */
static long allocator_calls;
static void *counting_alloc(void *user, size_t size, size_t alignment) {
  (void)user;
  ++allocator_calls;
  void *p = NULL;
  return posix_memalign(&p, alignment, size) == 0 ? p : NULL;
}
static void counting_free(void *user, void *p) {
  (void)user;
  free(p);
}

static _Alignas(KILN_ALIGNMENT) float x[NET_INPUT0_SIZE];
static _Alignas(KILN_ALIGNMENT) float y[NET_OUTPUT0_SIZE];

static void start(void) {
  atomic_store(&allocs, 0);
  atomic_store(&frees, 0);
  atomic_store(&counting, 1);
}
static void stop(void) { atomic_store(&counting, 0); }

int main(void) {
  printf("workspace_bytes_positive %d\n", NET_WORKSPACE_BYTES > 0);
  for (int i = 0; i < NET_INPUT0_SIZE; ++i)
    x[i] = (float)(i % 5 - 2) * 0.5f;

  kiln_allocator allocator = {counting_alloc, counting_free, NULL};
  kiln_context_options opts;
  kiln_context_options_init(&opts);
  opts.num_threads = 4;
  opts.allocator = &allocator;

  /* The counters see the runtime's allocations at all (else the checks
   * below prove nothing). */
  kiln_context *ctx = NULL;
  start();
  kiln_status_code s = kiln_context_create(&opts, &ctx);
  stop();
  if (s != KILN_OK)
    return 1;
  printf("create allocates %d\n", atomic_load(&allocs) > 0);

  allocator_calls = 0;
  start();
  s = kiln_context_reserve(ctx, net_descriptor());
  for (int i = 0; s == KILN_OK && i < 100; ++i)
    s = net_run(ctx, x, y);
  stop();
  if (s != KILN_OK) {
    printf("FAILED: %s\n", kiln_last_error_message());
    return 1;
  }
  /* reserve allocates the workspace, once, through the allocator. */
  printf("reserve+100 runs: mallocs %ld frees %ld allocator calls %ld\n",
         atomic_load(&allocs), atomic_load(&frees), allocator_calls);
  printf("workspace_reserved %d\n",
         kiln_context_workspace_bytes(ctx) >= NET_WORKSPACE_BYTES);

  allocator_calls = 0;
  start();
  for (int i = 0; s == KILN_OK && i < 100; ++i)
    s = net_run(ctx, x, y);
  kiln_tensor in, out;
  kiln_tensor_init_from_info(&in, &net_descriptor()->entries[0].inputs[0], x);
  kiln_tensor_init_from_info(&out, &net_descriptor()->entries[0].outputs[0], y);
  for (int i = 0; s == KILN_OK && i < 100; ++i)
    s = kiln_model_run_tensors(ctx, net_descriptor(), &in, 1, &out, 1);
  /* Failing runs do not allocate either (messages are per-thread buffers). */
  kiln_status_code bad = net_run(ctx, NULL, y);
  stop();
  printf("100 runs + 100 tensor runs + 1 failure: mallocs %ld frees %ld "
         "allocator calls %ld status %s bad %s\n",
         atomic_load(&allocs), atomic_load(&frees), allocator_calls,
         kiln_status_string(s), kiln_status_string(bad));
  printf("y[0..3] %.9g %.9g %.9g %.9g\n", (double)y[0], (double)y[1], (double)y[2],
         (double)y[3]);
  kiln_context_destroy(ctx);
  return 0;
}
