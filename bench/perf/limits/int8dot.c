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
  /* Sixteen named accumulators, each updated in place by one asm vpdpbusd.
   * Written with the intrinsic on an array, gcc 12 copied all 16 accumulators
   * between registers (and spilled one) every iteration, which halved the
   * measured rate: about 1 vpdpbusd per cycle on Zen 5, where this loop and
   * kiln's int8 GEMM issue 2. */
  __m512i a = _mm512_set1_epi8(3), b = _mm512_set1_epi8(-2);
#define ACC(i) __m512i c##i = _mm512_set1_epi32(i + tid);
  ACC(0) ACC(1) ACC(2) ACC(3) ACC(4) ACC(5) ACC(6) ACC(7)
  ACC(8) ACC(9) ACC(10) ACC(11) ACC(12) ACC(13) ACC(14) ACC(15)
#undef ACC
#define STEP(i) "vpdpbusd %[a], %[b], %[c" #i "]\n\t"
#define OUT(i) [c##i] "+v"(c##i)
  /* Two statements of eight: an asm takes at most 30 operands, and "+v"
   * counts twice. */
  for (long it = 0; it < iters; ++it) {
    __asm__(STEP(0) STEP(1) STEP(2) STEP(3) STEP(4) STEP(5) STEP(6) STEP(7)
            : OUT(0), OUT(1), OUT(2), OUT(3), OUT(4), OUT(5), OUT(6), OUT(7)
            : [a] "v"(a), [b] "v"(b));
    __asm__(STEP(8) STEP(9) STEP(10) STEP(11) STEP(12) STEP(13) STEP(14)
                STEP(15)
            : OUT(8), OUT(9), OUT(10), OUT(11), OUT(12), OUT(13), OUT(14),
              OUT(15)
            : [a] "v"(a), [b] "v"(b));
  }
#undef STEP
#undef OUT
  __m512i s = c0;
  __m512i rest[NACC - 1] = {c1, c2, c3, c4, c5, c6, c7, c8,
                            c9, c10, c11, c12, c13, c14, c15};
  for (int i = 0; i < NACC - 1; ++i)
    s = _mm512_add_epi32(s, rest[i]);
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
