/* bf16 dot-product peak: vdpbf16ps (_mm512_dpbf16_ps, AVX512_BF16), 16
 * lanes x 2 bf16 pairs = 32 MACs per instruction into f32 accumulators; one
 * MAC counts as 2 FLOP, as the fp32 FMA probe counts them. 24 independent
 * chains (vdpbf16ps latency x throughput is larger than an FMA's).
 * usage: bf16dot THREADS ITERS [REPS] -> one JSON object: the best of REPS
 * timed runs (after one warm-up run); {"isa": null} when the compiler does
 * not target AVX512_BF16 (-march=native on a CPU without it). */
#include "common.h"
#include <immintrin.h>

#if defined(__AVX512BF16__) && defined(__AVX512F__)
#define NACC 24
static long iters;
static volatile float sink[256];

static void work(int tid, int nthreads, void *arg) {
  (void)nthreads;
  (void)arg;
  __m512 acc[NACC];
  for (int i = 0; i < NACC; ++i)
    acc[i] = _mm512_set1_ps((float)(i + tid));
  __m512bh a = _mm512_cvtne2ps_pbh(_mm512_set1_ps(1.0f), _mm512_set1_ps(0.5f));
  __m512bh b = _mm512_cvtne2ps_pbh(_mm512_set1_ps(-0.25f), _mm512_set1_ps(2.0f));
  for (long it = 0; it < iters; ++it) {
#pragma GCC unroll 24
    for (int i = 0; i < NACC; ++i)
      acc[i] = _mm512_dpbf16_ps(acc[i], a, b);
  }
  __m512 s = acc[0];
  for (int i = 1; i < NACC; ++i)
    s = _mm512_add_ps(s, acc[i]);
  sink[tid] = _mm512_reduce_add_ps(s);
}

int main(int argc, char **argv) {
  int threads = argc > 1 ? atoi(argv[1]) : 1;
  iters = argc > 2 ? atol(argv[2]) : 10000000L;
  int reps = argc > 3 ? atoi(argv[3]) : 5;
  double best = best_of_runs(threads, work, NULL, reps);
  double flops = 2.0 * 32 * NACC * (double)iters * threads;
  printf("{\"isa\": \"avx512bf16 vdpbf16ps\", \"threads\": %d, "
         "\"accumulators\": %d, \"seconds\": %.6f, \"gflops\": %.3f}\n",
         threads, NACC, best, flops / best * 1e-9);
  return 0;
}
#else
int main(int argc, char **argv) {
  (void)argv;
  printf("{\"isa\": null, \"threads\": %d, \"gflops\": null}\n",
         argc > 1 ? atoi(argv[1]) : 1);
  return 0;
}
#endif
