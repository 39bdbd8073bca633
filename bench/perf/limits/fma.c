/* fp32 FMA peak: each thread runs NACC independent FMA chains
 * acc = acc * b + c (enough chains to cover FMA latency x throughput:
 * 4 cycles x 2 ports = 8 needed on current x86), AVX-512 when the
 * compiler targets it, else AVX2 (+FMA). The chains, b and c must all stay
 * in registers: 16 chains on AVX2's 16 ymm registers spilled 2-3 of them,
 * and their store-to-load round trips halved the measured peak (58 instead
 * of ~115 GFLOP/s on a Zen 3 core), so AVX2 runs 12.
 * usage: fma THREADS ITERS [REPS]  -> one JSON object: the best of REPS timed
 * runs (after one warm-up run), so a busy machine's slow runs drop out. */
#include "common.h"
#include <immintrin.h>

#if defined(__AVX512F__)
#define NACC 16
#define ISA "avx512f"
#define LANES 16
typedef __m512 vec;
#define SET1 _mm512_set1_ps
#define FMA _mm512_fmadd_ps
#define ADD _mm512_add_ps
#define REDUCE(v) _mm512_reduce_add_ps(v)
#elif defined(__AVX2__) && defined(__FMA__)
#define NACC 12
#define ISA "avx2+fma"
#define LANES 8
typedef __m256 vec;
#define SET1 _mm256_set1_ps
#define FMA _mm256_fmadd_ps
#define ADD _mm256_add_ps
static float REDUCE(__m256 v) {
  float t[8];
  _mm256_storeu_ps(t, v);
  return t[0] + t[1] + t[2] + t[3] + t[4] + t[5] + t[6] + t[7];
}
#else
#error "needs AVX2+FMA or AVX-512"
#endif

static long iters;
static volatile float sink[256];

static void work(int tid, int nthreads, void *arg) {
  (void)nthreads;
  (void)arg;
  vec acc[NACC];
  for (int i = 0; i < NACC; ++i)
    acc[i] = SET1(1.0f + 0.001f * i + tid);
  /* Contracting map: stays finite and normal for any number of iterations. */
  vec b = SET1(0.999999f), c = SET1(1e-6f);
  for (long it = 0; it < iters; ++it) {
#pragma GCC unroll 16 /* >= NACC: fully unrolled */
    for (int i = 0; i < NACC; ++i)
      acc[i] = FMA(acc[i], b, c);
  }
  vec s = acc[0];
  for (int i = 1; i < NACC; ++i)
    s = ADD(s, acc[i]);
  sink[tid] = REDUCE(s);
}

int main(int argc, char **argv) {
  int threads = argc > 1 ? atoi(argv[1]) : 1;
  iters = argc > 2 ? atol(argv[2]) : 100000000L;
  int reps = argc > 3 ? atoi(argv[3]) : 5;
  double best = best_of_runs(threads, work, NULL, reps);
  double flops = 2.0 * LANES * NACC * (double)iters * threads;
  printf("{\"isa\": \"%s\", \"threads\": %d, \"accumulators\": %d, "
         "\"lanes\": %d, \"seconds\": %.6f, \"gflops\": %.3f}\n",
         ISA, threads, NACC, LANES, best, flops / best * 1e-9);
  return 0;
}
