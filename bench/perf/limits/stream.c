/* Memory bandwidth, STREAM style: triad a[i] = b[i] + s * c[i] over three
 * double arrays of BYTES each, and a read-only sum over one array. Each
 * thread first-touches and then works on its own contiguous slice. Bytes
 * counted as STREAM does (triad: 3 x 8 per element, write-allocate traffic
 * not counted; read: 8 per element). Best of REPS passes.
 * usage: stream THREADS BYTES_PER_ARRAY REPS  -> prints one JSON object. */
#include "common.h"
#include <stdint.h>

static double *a, *b, *c;
static size_t n;
static double partial[256];

static void slice(int tid, int nthreads, size_t *lo, size_t *hi) {
  size_t chunk = (n + nthreads - 1) / nthreads;
  *lo = chunk * tid;
  *hi = *lo + chunk < n ? *lo + chunk : n;
  if (*lo > n)
    *lo = n;
}

static void init(int tid, int nthreads, void *arg) {
  (void)arg;
  size_t lo, hi;
  slice(tid, nthreads, &lo, &hi);
  for (size_t i = lo; i < hi; ++i) {
    a[i] = 0.0;
    b[i] = 1.0;
    c[i] = 2.0;
  }
}

static void triad(int tid, int nthreads, void *arg) {
  (void)arg;
  size_t lo, hi;
  slice(tid, nthreads, &lo, &hi);
  double *restrict pa = a;
  const double *restrict pb = b, *restrict pc = c;
  const double s = 3.0;
  for (size_t i = lo; i < hi; ++i)
    pa[i] = pb[i] + s * pc[i];
}

/* GCC/Clang vector extension: 4 independent vector accumulators, so the
 * reduction is not latency-bound (plain C would stay scalar without
 * -ffast-math). 64-byte vectors; the compiler splits them if narrower. */
typedef double v8d __attribute__((vector_size(64)));

static void readsum(int tid, int nthreads, void *arg) {
  (void)arg;
  size_t lo, hi;
  slice(tid, nthreads, &lo, &hi);
  v8d s0 = {0}, s1 = {0}, s2 = {0}, s3 = {0};
  size_t i = lo;
  for (; i + 32 <= hi; i += 32) {
    v8d x0, x1, x2, x3;
    memcpy(&x0, b + i, sizeof x0);
    memcpy(&x1, b + i + 8, sizeof x1);
    memcpy(&x2, b + i + 16, sizeof x2);
    memcpy(&x3, b + i + 24, sizeof x3);
    s0 += x0;
    s1 += x1;
    s2 += x2;
    s3 += x3;
  }
  v8d s = s0 + s1 + s2 + s3;
  double total = 0;
  for (int k = 0; k < 8; ++k)
    total += s[k];
  for (; i < hi; ++i)
    total += b[i];
  partial[tid] = total;
}

int main(int argc, char **argv) {
  int threads = argc > 1 ? atoi(argv[1]) : 1;
  size_t bytes = argc > 2 ? strtoull(argv[2], NULL, 10) : (1ull << 30);
  int reps = argc > 3 ? atoi(argv[3]) : 5;
  n = bytes / sizeof(double);
  if (posix_memalign((void **)&a, 4096, n * sizeof(double)) ||
      posix_memalign((void **)&b, 4096, n * sizeof(double)) ||
      posix_memalign((void **)&c, 4096, n * sizeof(double))) {
    fprintf(stderr, "stream: cannot allocate 3 x %zu bytes\n", bytes);
    return 1;
  }
  run_threads(threads, init, NULL);
  double best_triad = 1e30, best_read = 1e30;
  for (int r = 0; r < reps; ++r) {
    double t = run_threads(threads, triad, NULL);
    if (t < best_triad)
      best_triad = t;
    t = run_threads(threads, readsum, NULL);
    if (t < best_read)
      best_read = t;
  }
  double check = a[n / 2] + partial[0];
  printf("{\"threads\": %d, \"bytes_per_array\": %zu, \"reps\": %d, "
         "\"triad_gbs\": %.3f, \"read_gbs\": %.3f, \"check\": %.1f}\n",
         threads, n * sizeof(double), reps,
         3.0 * 8.0 * n / best_triad * 1e-9, 8.0 * n / best_read * 1e-9, check);
  free(a);
  free(b);
  free(c);
  return 0;
}
