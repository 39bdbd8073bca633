/*===- region_timer.c - time each parallel loop of a compiled model -------===*
 *
 * Linked into app_run (bench/perf/regions.py) together with a copy of the
 * static runtime whose kiln_exec_parallel_for was renamed to
 * kiln_exec_parallel_for_timed (objcopy --redefine-sym). This file defines
 * kiln_exec_parallel_for, which the model's weak references resolve to: it
 * times each call and forwards it. Calls are keyed by the range function,
 * one per outlined loop (MODEL_run_kernel_parN), in first-call order.
 *
 * At exit it writes to $KILN_REGION_TIMES (default region_times.txt) one
 * line per loop: "<function address> <n> <calls> <mean ns> <min ns>", then
 * one "base <address>" line with the load address of the first shared
 * object that calls it, so that regions.py can map addresses to the
 * model's symbols. The first call of each run includes the workspace's
 * first touch; the minimum leaves that out.
 *===----------------------------------------------------------------------===*/
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

typedef void (*range_fn)(void *, int64_t, int64_t);
int kiln_exec_parallel_for_timed(void *exec, int64_t n, range_fn fn,
                                 void *data);

enum { kMaxRegions = 4096 };

static struct {
  range_fn fn;
  int64_t n;
  long calls;
  double total_ns, min_ns;
} regions[kMaxRegions];
static int num_regions;
static uintptr_t base;

static double now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e9 + t.tv_nsec;
}

int kiln_exec_parallel_for(void *exec, int64_t n, range_fn fn, void *data) {
  double start = now_ns();
  int status = kiln_exec_parallel_for_timed(exec, n, fn, data);
  double ns = now_ns() - start;
  /* Linear search: a model has tens of loops, called in the same order. */
  int i = 0;
  while (i < num_regions && regions[i].fn != fn)
    ++i;
  if (i == num_regions) {
    if (num_regions == kMaxRegions)
      return status;
    Dl_info info;
    if (!base && dladdr((void *)fn, &info))
      base = (uintptr_t)info.dli_fbase;
    regions[i].fn = fn;
    regions[i].n = n;
    regions[i].min_ns = ns;
    ++num_regions;
  }
  regions[i].calls += 1;
  regions[i].total_ns += ns;
  if (ns < regions[i].min_ns)
    regions[i].min_ns = ns;
  return status;
}

__attribute__((destructor)) static void write_region_times(void) {
  const char *path = getenv("KILN_REGION_TIMES");
  FILE *f = fopen(path ? path : "region_times.txt", "w");
  if (!f)
    return;
  for (int i = 0; i < num_regions; ++i)
    fprintf(f, "%#lx %lld %ld %.1f %.1f\n", (unsigned long)(uintptr_t)regions[i].fn,
            (long long)regions[i].n, regions[i].calls,
            regions[i].total_ns / regions[i].calls, regions[i].min_ns);
  fprintf(f, "base %#lx\n", (unsigned long)base);
  fclose(f);
}
