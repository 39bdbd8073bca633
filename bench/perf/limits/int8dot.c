/* int8 dot-product peak: u8 x s8 -> s32 multiply-accumulate.
 * AVX-512 VNNI: vpdpbusd (_mm512_dpbusd_epi32), 64 MACs per instruction.
 * Without VNNI: the AVX2 sequence vpmaddubsw + vpmaddwd + vpaddd (32 MACs per
 * 3 instructions). One MAC counts as 2 ops (multiply + add).
 * usage: int8dot THREADS ITERS [REPS]  -> one JSON object: the best of REPS timed
 * runs (after one warm-up run), so a busy machine's slow runs drop out. */
#include "common.h"
#include <immintrin.h>
#include <stdint.h>

#define NACC 16
static long iters;
static volatile int sink[256];

#if defined(__AVX512VNNI__) && defined(__AVX512F__)
#define ISA "avx512vnni vpdpbusd"
#define MACS_PER_STEP 64
static void work(int tid, int nthreads, void *arg) {
  (void)nthreads;
  (void)arg;
  __m512i acc[NACC];
  for (int i = 0; i < NACC; ++i)
    acc[i] = _mm512_set1_epi32(i + tid);
  __m512i a = _mm512_set1_epi8(3), b = _mm512_set1_epi8(-2);
  for (long it = 0; it < iters; ++it) {
#pragma GCC unroll 16
    for (int i = 0; i < NACC; ++i)
      acc[i] = _mm512_dpbusd_epi32(acc[i], a, b);
  }
  __m512i s = acc[0];
  for (int i = 1; i < NACC; ++i)
    s = _mm512_add_epi32(s, acc[i]);
  sink[tid] = _mm512_reduce_add_epi32(s);
}
#elif defined(__AVX2__)
#define ISA "avx2 vpmaddubsw+vpmaddwd+vpaddd"
#define MACS_PER_STEP 32
static void work(int tid, int nthreads, void *arg) {
  (void)nthreads;
  (void)arg;
  __m256i acc[NACC];
  for (int i = 0; i < NACC; ++i)
    acc[i] = _mm256_set1_epi32(i + tid);
  __m256i a = _mm256_set1_epi8(3), b = _mm256_set1_epi8(-2);
  __m256i ones = _mm256_set1_epi16(1);
  for (long it = 0; it < iters; ++it) {
#pragma GCC unroll 16
    for (int i = 0; i < NACC; ++i) {
      __m256i p = _mm256_maddubs_epi16(a, b);
      acc[i] = _mm256_add_epi32(acc[i], _mm256_madd_epi16(p, ones));
      /* Keep the compiler from hoisting the loop-invariant products. */
      __asm__ volatile("" : "+x"(a));
    }
  }
  int t[8];
  __m256i s = acc[0];
  for (int i = 1; i < NACC; ++i)
    s = _mm256_add_epi32(s, acc[i]);
  _mm256_storeu_si256((__m256i *)t, s);
  sink[tid] = t[0] + t[7];
}
#else
#error "needs AVX2 or AVX-512 VNNI"
#endif

int main(int argc, char **argv) {
  int threads = argc > 1 ? atoi(argv[1]) : 1;
  iters = argc > 2 ? atol(argv[2]) : 100000000L;
  int reps = argc > 3 ? atoi(argv[3]) : 5;
  double best = best_of_runs(threads, work, NULL, reps);
  double ops = 2.0 * MACS_PER_STEP * NACC * (double)iters * threads;
  printf("{\"isa\": \"%s\", \"threads\": %d, \"accumulators\": %d, "
         "\"seconds\": %.6f, \"gops\": %.3f}\n",
         ISA, threads, NACC, best, ops / best * 1e-9);
  return 0;
}
