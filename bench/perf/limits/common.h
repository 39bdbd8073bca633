/* Shared helpers for the machine-limit probes: a monotonic clock and a
 * pthread "run fn on T threads, start together, time the whole" driver.
 * Compiled by bench/perf/limits.py with the system compiler, -O3 -march=native. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

typedef void (*work_fn)(int tid, int nthreads, void *arg);

struct worker {
  int tid, nthreads;
  work_fn fn;
  void *arg;
  pthread_barrier_t *barrier;
  double start, end;
};

static void *worker_main(void *p) {
  struct worker *w = p;
  /* Pin thread i to CPU i (mod the CPUs we may use), so two threads never
   * share a core while another is idle. Failure is harmless. */
  cpu_set_t allowed;
  if (sched_getaffinity(0, sizeof allowed, &allowed) == 0) {
    int n = 0, want = w->tid % CPU_COUNT(&allowed);
    for (int c = 0; c < CPU_SETSIZE; ++c)
      if (CPU_ISSET(c, &allowed) && n++ == want) {
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(c, &one);
        pthread_setaffinity_np(pthread_self(), sizeof one, &one);
        break;
      }
  }
  pthread_barrier_wait(w->barrier);
  w->start = now_s();
  w->fn(w->tid, w->nthreads, w->arg);
  w->end = now_s();
  return NULL;
}

/* Runs fn on `nthreads` threads (the caller's thread is not one of them) and
 * returns the seconds from the first worker starting to the last finishing,
 * timed by the workers themselves (the caller may be descheduled when it
 * shares a CPU with a pinned worker, so its own clock reads would be late). */
static double run_threads(int nthreads, work_fn fn, void *arg) {
  pthread_t th[256];
  struct worker w[256];
  pthread_barrier_t barrier;
  if (nthreads > 256)
    nthreads = 256;
  pthread_barrier_init(&barrier, NULL, nthreads);
  for (int i = 0; i < nthreads; ++i) {
    w[i] = (struct worker){i, nthreads, fn, arg, &barrier, 0, 0};
    pthread_create(&th[i], NULL, worker_main, &w[i]);
  }
  double t0 = 1e300, t1 = 0;
  for (int i = 0; i < nthreads; ++i) {
    pthread_join(th[i], NULL);
    if (w[i].start < t0)
      t0 = w[i].start;
    if (w[i].end > t1)
      t1 = w[i].end;
  }
  pthread_barrier_destroy(&barrier);
  return t1 - t0;
}

/* One warm-up run (frequency, page-in), then the fastest of `reps` timed
 * runs: on a shared machine the slow runs are the disturbed ones. */
static inline double best_of_runs(int nthreads, work_fn fn, void *arg, int reps) {
  run_threads(nthreads, fn, arg);
  double best = 1e30;
  for (int r = 0; r < reps; ++r) {
    double t = run_threads(nthreads, fn, arg);
    if (t < best)
      best = t;
  }
  return best;
}
