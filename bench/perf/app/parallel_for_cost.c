/* The cost of one kiln_exec_parallel_for: a context of THREADS threads
 * runs CALLS calls over N items of trivial work, ROUNDS times; prints the
 * best round's ns per call. Built and run by bench/perf/parallel_for.py.
 *
 *   parallel_for_cost THREADS N [CALLS] [ROUNDS]
 */
#include <kiln/runtime.h>

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static volatile double sink;

static void work(void *data, int64_t begin, int64_t end) {
  (void)data;
  double s = 0;
  for (int64_t i = begin; i < end; ++i)
    s += (double)i * 0.5;
  sink = s;
}

static double now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s THREADS N [CALLS] [ROUNDS]\n", argv[0]);
    return 2;
  }
  kiln_context_options options;
  kiln_context_options_init(&options);
  options.num_threads = atoi(argv[1]);
  int64_t n = atoll(argv[2]);
  int calls = argc > 3 ? atoi(argv[3]) : 20000;
  int rounds = argc > 4 ? atoi(argv[4]) : 20;
  kiln_context *ctx;
  if (kiln_context_create(&options, &ctx) != KILN_OK) {
    fprintf(stderr, "%s\n", kiln_last_error_message());
    return 1;
  }
  void *exec = kiln_context_exec(ctx);
  double best = 1e300;
  for (int r = 0; r < rounds; ++r) {
    double start = now_ns();
    for (int i = 0; i < calls; ++i)
      if (kiln_exec_parallel_for(exec, n, work, NULL) != KILN_OK) {
        fprintf(stderr, "%s\n", kiln_last_error_message());
        return 1;
      }
    double per_call = (now_ns() - start) / calls;
    if (per_call < best)
      best = per_call;
  }
  printf("%.0f\n", best);
  kiln_context_destroy(ctx);
  return 0;
}
