/* Loads a model compiled to a shared library, runs it on a context with 2
 * threads and reports how the generated kernels used the runtime's thread
 * pool. The program defines kiln_exec_parallel_for itself (exported with
 * -rdynamic, so the model's weak reference binds to it), records which
 * threads run the ranges, and forwards to the shared runtime's function
 * (dlsym RTLD_NEXT).
 *
 * usage: parallel_probe model.so [runs]   (inputs are zeros) */
#define _GNU_SOURCE /* RTLD_NEXT */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kiln/runtime.h"

typedef kiln_status_code (*parallel_for_fn)(void *, int64_t, kiln_range_fn,
                                            void *);
static parallel_for_fn real_parallel_for;
static pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_t threads[64];
static int num_threads_seen;
static long dispatches, ranges;
static pthread_t main_thread;

struct wrapped {
  kiln_range_fn fn;
  void *data;
};

static void record_range(void *p, int64_t begin, int64_t end) {
  struct wrapped *w = p;
  /* The calling thread takes part and could claim every range before a
   * worker wakes on a busy machine: slowed down, it leaves some. */
  if (pthread_equal(pthread_self(), main_thread)) {
    struct timespec pause = {0, 200000};
    nanosleep(&pause, NULL);
  }
  pthread_mutex_lock(&mutex);
  ++ranges;
  int known = 0;
  for (int i = 0; i < num_threads_seen; ++i)
    known |= pthread_equal(threads[i], pthread_self());
  if (!known && num_threads_seen < 64)
    threads[num_threads_seen++] = pthread_self();
  pthread_mutex_unlock(&mutex);
  w->fn(w->data, begin, end);
}

kiln_status_code kiln_exec_parallel_for(void *exec, int64_t n, kiln_range_fn fn,
                                        void *data) {
  struct wrapped w = {fn, data};
  __atomic_add_fetch(&dispatches, 1, __ATOMIC_RELAXED);
  return real_parallel_for(exec, n, record_range, &w);
}

int main(int argc, char **argv) {
  if (argc < 2)
    return 2;
  int runs = argc > 2 ? atoi(argv[2]) : 20;
  main_thread = pthread_self();
  real_parallel_for =
      (parallel_for_fn)dlsym(RTLD_NEXT, "kiln_exec_parallel_for");
  if (!real_parallel_for) {
    printf("runtime's kiln_exec_parallel_for not found\n");
    return 1;
  }
  kiln_model *model = NULL;
  if (kiln_model_load(argv[1], NULL, &model) != KILN_OK) {
    printf("load failed: %s\n", kiln_last_error_message());
    return 1;
  }
  kiln_context_options opts;
  kiln_context_options_init(&opts);
  opts.num_threads = 2;
  kiln_context *ctx = NULL;
  if (kiln_context_create(&opts, &ctx) != KILN_OK)
    return 1;
  const kiln_model_desc *d = kiln_model_descriptor(model);
  const kiln_entry_desc *e = &d->entries[0];
  kiln_tensor in[16], out[16];
  if (e->num_inputs > 16 || e->num_outputs > 16)
    return 1;
  for (int k = 0; k < e->num_inputs; ++k) {
    kiln_tensor_init_from_info(&in[k], &e->inputs[k], NULL);
    in[k].data = calloc(1, (size_t)kiln_tensor_num_bytes(&in[k]) + 1);
  }
  for (int k = 0; k < e->num_outputs; ++k) {
    kiln_tensor_init_from_info(&out[k], &e->outputs[k], NULL);
    out[k].data = calloc(1, (size_t)kiln_tensor_num_bytes(&out[k]) + 1);
  }
  for (int r = 0; r < runs; ++r)
    if (kiln_model_run_tensors(ctx, d, in, e->num_inputs, out,
                               e->num_outputs) != KILN_OK) {
      printf("run failed: %s\n", kiln_last_error_message());
      return 1;
    }
  printf("context threads %d\n", kiln_context_num_threads(ctx));
  printf("dispatches per run %ld\n", dispatches / runs);
  printf("ranges > dispatches: %d\n", ranges > dispatches);
  printf("threads running ranges: %d\n", num_threads_seen);
  for (int k = 0; k < e->num_inputs; ++k)
    free(in[k].data);
  for (int k = 0; k < e->num_outputs; ++k)
    free(out[k].data);
  kiln_context_destroy(ctx);
  kiln_model_unload(model);
  return 0;
}
