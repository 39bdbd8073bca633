/* Links two kiln models (`--name a`: Inputs/tiny.mlir, `--name b`:
 * Inputs/mlp.mlir) into one program and runs both on one context, then each
 * on its own context, then both from several threads at once (one context
 * per thread; descriptors are shared). */
#define _POSIX_C_SOURCE 200809L
#include "a.h"
#include "b.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define NUM_WORKERS 4
#define WORKER_RUNS 200

static _Alignas(KILN_ALIGNMENT) float ax[A_INPUT0_SIZE] = {1, 2, 3, -4, 5, 0.5f};
static _Alignas(KILN_ALIGNMENT) int64_t aidx[A_INPUT1_SIZE] = {1, -2};
static _Alignas(KILN_ALIGNMENT) float aprobs[A_OUTPUT0_SIZE];
static _Alignas(KILN_ALIGNMENT) float asums[A_OUTPUT1_SIZE];
static _Alignas(KILN_ALIGNMENT) float bx[B_INPUT0_SIZE];
static _Alignas(KILN_ALIGNMENT) float by[B_OUTPUT0_SIZE];

static int fail(const char *what, kiln_status_code s) {
  printf("FAILED: %s: %s: %s\n", what, kiln_status_string(s),
         kiln_last_error_message());
  return 1;
}

static void print(const char *label, const float *v, int n) {
  printf("%s:", label);
  for (int i = 0; i < n; ++i)
    printf(" %.9g", (double)v[i]);
  printf("\n");
}

/* Each worker runs both models WORKER_RUNS times on its own 2-thread
 * context and counts results that differ from the reference run. */
typedef struct worker {
  pthread_t thread;
  int failures, mismatches;
} worker;

static void *work(void *arg) {
  worker *w = arg;
  _Alignas(KILN_ALIGNMENT) float probs[A_OUTPUT0_SIZE], sums[A_OUTPUT1_SIZE];
  _Alignas(KILN_ALIGNMENT) float y[B_OUTPUT0_SIZE];
  kiln_context_options opts;
  kiln_context_options_init(&opts);
  opts.num_threads = 2;
  kiln_context *ctx = NULL;
  if (kiln_context_create(&opts, &ctx) != KILN_OK) {
    w->failures++;
    return NULL;
  }
  for (int i = 0; i < WORKER_RUNS; ++i) {
    memset(y, 0, sizeof(y));
    memset(probs, 0, sizeof(probs));
    if (b_run(ctx, bx, y) != KILN_OK || a_run(ctx, ax, aidx, probs, sums))
      w->failures++;
    else if (memcmp(y, by, sizeof(y)) || memcmp(probs, aprobs, sizeof(probs)) ||
             memcmp(sums, asums, sizeof(sums)))
      w->mismatches++;
  }
  kiln_context_destroy(ctx);
  return NULL;
}

int main(void) {
  for (int i = 0; i < B_INPUT0_SIZE; ++i)
    bx[i] = (float)(i % 5 - 2) * 0.5f;
  printf("names '%s' '%s'\n", a_descriptor()->name, b_descriptor()->name);
  printf("distinct_descriptors %d distinct_kernels %d\n",
         a_descriptor() != b_descriptor(),
         a_descriptor()->entries[0].fn != b_descriptor()->entries[0].fn);

  kiln_context *ctx = NULL;
  kiln_status_code s = kiln_context_create(NULL, &ctx);
  if (s != KILN_OK)
    return fail("create", s);
  if ((s = kiln_context_reserve(ctx, a_descriptor())) != KILN_OK ||
      (s = kiln_context_reserve(ctx, b_descriptor())) != KILN_OK)
    return fail("reserve", s);
  unsigned long long want = A_WORKSPACE_BYTES > B_WORKSPACE_BYTES
                                ? A_WORKSPACE_BYTES
                                : B_WORKSPACE_BYTES;
  printf("shared_workspace_ok %d\n", kiln_context_workspace_bytes(ctx) >= want);
  /* Interleave: a, b, a, b. */
  for (int round = 0; round < 2; ++round) {
    if ((s = a_run(ctx, ax, aidx, aprobs, asums)) != KILN_OK)
      return fail("a_run", s);
    if ((s = b_run(ctx, bx, by)) != KILN_OK)
      return fail("b_run", s);
  }
  print("a out/probs", aprobs, A_OUTPUT0_SIZE);
  print("a sum:0", asums, A_OUTPUT1_SIZE);
  print("b y", by, B_OUTPUT0_SIZE);
  kiln_context_destroy(ctx);

  /* Each model on a context of its own, one of them multi-threaded. */
  kiln_context_options opts;
  kiln_context_options_init(&opts);
  opts.num_threads = 3;
  kiln_context *cb = NULL;
  if ((s = kiln_context_create(&opts, &cb)) != KILN_OK)
    return fail("create", s);
  for (int i = 0; i < B_OUTPUT0_SIZE; ++i)
    by[i] = 0;
  if ((s = b_run(cb, bx, by)) != KILN_OK)
    return fail("b_run on a 3-thread context", s);
  print("b y (3 threads)", by, B_OUTPUT0_SIZE);
  kiln_context_destroy(cb);

  worker workers[NUM_WORKERS];
  memset(workers, 0, sizeof(workers));
  for (int i = 0; i < NUM_WORKERS; ++i)
    if (pthread_create(&workers[i].thread, NULL, work, &workers[i]) != 0)
      return 1;
  int failures = 0, mismatches = 0;
  for (int i = 0; i < NUM_WORKERS; ++i) {
    pthread_join(workers[i].thread, NULL);
    failures += workers[i].failures;
    mismatches += workers[i].mismatches;
  }
  printf("concurrent: %d threads x %d runs of a and b: failures %d "
         "mismatches %d\n",
         NUM_WORKERS, WORKER_RUNS, failures, mismatches);
  return 0;
}
