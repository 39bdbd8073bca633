/*===- exec.c - the context's thread pool and parallel_for ----------------===*
 *
 * A fixed set of pthreads per context. A parallel_for posts one job to
 * each worker's slot: the job (function, data, chunk sizes), the worker's
 * run of its chunks and the job's generation, on one cache line, so that
 * a worker learns everything from one line transfer; the caller is thread
 * 0. Each thread claims its run's chunks through the run's counter, then
 * takes what is left of the others' runs; a worker then writes the
 * generation it finished to a line of its own, which the caller waits for.
 * Kernels issue many short parallel_fors per run (a GPT-2 decode step's
 * GEMVs take a few microseconds each), and each cache line that crosses
 * cores costs 100-400 ns on the 2-vCPU VM this was measured on: a shared
 * job line, a generation line, per-run counters and a shared count of
 * pending workers cost about twice as many transfers. Both sides spin
 * briefly before sleeping on a condition variable: a wake-up through the
 * kernel costs tens of microseconds.
 *===----------------------------------------------------------------------===*/
#include "internal.h"

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <string.h>

#define KILN_EXEC_MAGIC 0x6b696c6eu /* "kiln" */

/* Chunks per thread: more balances uneven work, fewer costs less. */
#define KILN_CHUNKS_PER_THREAD 4

/* Polls before sleeping. A pool whose threads fit the online CPUs only
 * pauses the core, KILN_SPIN_POLLS times (about 0.5-1 ms). Yielding there
 * let the scheduler keep both threads of a 2-thread pool on one CPU for tens
 * of milliseconds: the digit CNN's median on 2 vCPUs was 0.16 ms instead of
 * 0.083 in about half of the 200-run benchmarks. A pool with more threads
 * than CPUs polls KILN_SPIN_ITERATIONS times, pausing the first
 * KILN_SPIN_PAUSES and yielding the rest, so that the thread being waited
 * for gets to run. */
#ifndef KILN_SPIN_POLLS
#define KILN_SPIN_POLLS 32768
#endif
#ifndef KILN_SPIN_ITERATIONS
#define KILN_SPIN_ITERATIONS 2000
#endif
#ifndef KILN_SPIN_PAUSES
#define KILN_SPIN_PAUSES 100
#endif

/* One thread's mailbox: the job posted to it and its run of chunks
 * [next, end), on one line written by the caller before it sets `posted`
 * (release) and read by the worker after it sees it (acquire). `next` is
 * claimed with fetch_add, by its owner first and by the others once their
 * own runs are done. A run is contiguous, so a thread's next chunk
 * continues the memory stream its last one read: owning every T-th chunk
 * instead gave back most of the gain on short jobs (w4 GPT-2 decode step at
 * 2 threads 1.35-1.42 ms contiguous, 1.53-1.64 interleaved, 1.57-1.68 with
 * a shared counter; digit CNN 0.085 / 0.094 / 0.095 ms). `finished`, on a
 * line of its own (the caller polls it while the owner claims chunks), is
 * the last generation the worker completed. */
typedef struct kiln_exec_slot {
  _Alignas(64) atomic_uint_fast64_t posted;
  kiln_range_fn fn;
  void *data;
  int64_t chunk;     /* items per chunk, rounded down */
  int64_t remainder; /* chunks [0, remainder) take one item more */
  atomic_int_fast64_t next;
  int64_t end;
  struct kiln_exec *exec;
  _Alignas(64) atomic_uint_fast64_t finished;
} kiln_exec_slot;

struct kiln_exec {
  uint32_t magic; /* KILN_EXEC_MAGIC while alive: catches stray handles */
  int32_t num_threads;
  int32_t num_workers; /* threads actually started */
  int oversubscribed;   /* more threads than online CPUs: spins yield */
  kiln_allocator allocator;
  atomic_flag busy; /* a parallel_for is in flight */
  uint64_t generation;   /* of the last job posted; the caller's (busy) */
  kiln_exec_slot *slots; /* num_threads; slot 0 is the caller's */
  atomic_int shutdown;

  /* The sleeping side, touched only when someone sleeps: a parallel_for
   * whose threads all spin takes no lock. Each sleeper counts itself
   * (seq_cst) under the mutex before its last check of what it waits for;
   * the waker changes that (seq_cst) before reading the count, so either
   * the sleeper sees the change or the waker sees the sleeper and signals
   * under the mutex. */
  _Alignas(64) pthread_mutex_t mutex;
  pthread_cond_t wake;      /* workers sleep here, waiting for a post */
  pthread_cond_t done;      /* the caller sleeps here, waiting for `finished` */
  atomic_int sleepers;      /* workers in pthread_cond_wait(wake) */
  atomic_int caller_asleep; /* the caller in pthread_cond_wait(done) */

  pthread_t workers[]; /* num_threads - 1 */
};

/* How many times a waiting thread polls before it sleeps. */
static inline int kiln_spin_limit(const kiln_exec *e) {
  return e->oversubscribed ? KILN_SPIN_ITERATIONS : KILN_SPIN_POLLS;
}

/* Waits a moment between two polls; `iteration` counts from 0. */
static inline void kiln_spin_pause(const kiln_exec *e, int iteration) {
  if (e->oversubscribed && iteration >= KILN_SPIN_PAUSES) {
    sched_yield();
    return;
  }
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__) || defined(__arm__)
  __asm__ __volatile__("yield");
#endif
}

/* Runs chunk c of the job in `job` (a slot): chunk or chunk + 1 items,
 * the first `remainder` chunks taking the extra one, so no two chunks
 * differ by more than one item. */
static void kiln_exec_run_chunk(const kiln_exec_slot *job, int64_t c) {
  int64_t begin = c * job->chunk + (c < job->remainder ? c : job->remainder);
  int64_t end = begin + job->chunk + (c < job->remainder);
  job->fn(job->data, begin, end);
}

/* Runs slot `self`'s chunks (0: the caller of parallel_for; i:
 * workers[i - 1]), then the rest of the other slots' runs. */
static void kiln_exec_drain(kiln_exec *e, int32_t self) {
  const kiln_exec_slot *job = &e->slots[self];
  for (int32_t k = 0; k < e->num_threads; ++k) {
    kiln_exec_slot *slot = &e->slots[(self + k) % e->num_threads];
    for (;;) {
      /* Look before claiming another thread's chunk: a claim takes its
       * counter's line from the owner, which then pays to get it back. */
      if (k > 0 &&
          atomic_load_explicit(&slot->next, memory_order_relaxed) >= slot->end)
        break;
      int64_t c =
          atomic_fetch_add_explicit(&slot->next, 1, memory_order_relaxed);
      if (c >= slot->end)
        break;
      kiln_exec_run_chunk(job, c);
    }
  }
}

/* Returns the generation posted to `slot` once it differs from `seen`, or
 * `seen` once shutdown is requested. */
static uint_fast64_t kiln_exec_wait_for_work(kiln_exec *e,
                                             const kiln_exec_slot *slot,
                                             uint_fast64_t seen) {
  for (int i = 0, limit = kiln_spin_limit(e); i < limit; ++i) {
    uint_fast64_t posted =
        atomic_load_explicit(&slot->posted, memory_order_acquire);
    if (posted != seen)
      return posted;
    if (atomic_load_explicit(&e->shutdown, memory_order_relaxed))
      return seen;
    kiln_spin_pause(e, i);
  }
  pthread_mutex_lock(&e->mutex);
  atomic_fetch_add(&e->sleepers, 1);
  uint_fast64_t posted;
  while ((posted = atomic_load(&slot->posted)) == seen &&
         !atomic_load(&e->shutdown))
    pthread_cond_wait(&e->wake, &e->mutex);
  atomic_fetch_sub(&e->sleepers, 1);
  pthread_mutex_unlock(&e->mutex);
  return posted;
}

static void *kiln_exec_worker(void *arg) {
  kiln_exec_slot *self = arg;
  kiln_exec *e = self->exec;
  int32_t index = (int32_t)(self - e->slots);
  uint_fast64_t seen = 0;
  for (;;) {
    seen = kiln_exec_wait_for_work(e, self, seen);
    if (atomic_load_explicit(&e->shutdown, memory_order_acquire))
      return NULL;
    kiln_exec_drain(e, index);
    atomic_store(&self->finished, seen);
    /* Wake the caller if it sleeps. */
    if (atomic_load(&e->caller_asleep)) {
      pthread_mutex_lock(&e->mutex);
      pthread_cond_signal(&e->done);
      pthread_mutex_unlock(&e->mutex);
    }
  }
}

/* Whether every worker finished generation `g` (seq_cst loads: the
 * caller's sleep check pairs with the workers' caller_asleep check). */
static int kiln_exec_all_finished(kiln_exec *e, uint64_t g) {
  for (int32_t t = 1; t <= e->num_workers; ++t)
    if (atomic_load(&e->slots[t].finished) != g)
      return 0;
  return 1;
}

static void kiln_exec_stop(kiln_exec *e) {
  pthread_mutex_lock(&e->mutex);
  atomic_store_explicit(&e->shutdown, 1, memory_order_release);
  pthread_cond_broadcast(&e->wake);
  pthread_mutex_unlock(&e->mutex);
  for (int32_t i = 0; i < e->num_workers; ++i)
    pthread_join(e->workers[i], NULL);
  e->num_workers = 0;
}

kiln_status_code kiln_exec_create(const kiln_allocator *allocator,
                                  int32_t num_threads, kiln_exec **out) {
  *out = NULL;
  size_t size = offsetof(kiln_exec, workers) +
                (size_t)(num_threads - 1) * sizeof(pthread_t);
  kiln_exec *e = allocator->alloc(allocator->user, size, KILN_ALIGNMENT);
  if (!e)
    return kiln_error(KILN_ERROR_OUT_OF_MEMORY,
                      "kiln_context_create: cannot allocate %zu bytes for the "
                      "thread pool",
                      size);
  memset(e, 0, size);
  e->magic = KILN_EXEC_MAGIC;
  e->num_threads = num_threads;
  e->oversubscribed = num_threads > kiln_online_cpus();
  e->allocator = *allocator;
  e->slots = allocator->alloc(allocator->user,
                              (size_t)num_threads * sizeof(kiln_exec_slot),
                              KILN_ALIGNMENT);
  if (!e->slots) {
    allocator->free(allocator->user, e);
    return kiln_error(KILN_ERROR_OUT_OF_MEMORY,
                      "kiln_context_create: cannot allocate the thread "
                      "pool's %d worker slots",
                      num_threads);
  }
  memset(e->slots, 0, (size_t)num_threads * sizeof(kiln_exec_slot));
  for (int32_t i = 0; i < num_threads; ++i) {
    atomic_init(&e->slots[i].posted, 0);
    atomic_init(&e->slots[i].next, 0);
    atomic_init(&e->slots[i].finished, 0);
    e->slots[i].exec = e;
  }
  atomic_flag_clear(&e->busy);
  atomic_init(&e->shutdown, 0);
  atomic_init(&e->sleepers, 0);
  atomic_init(&e->caller_asleep, 0);
  pthread_mutex_init(&e->mutex, NULL);
  pthread_cond_init(&e->wake, NULL);
  pthread_cond_init(&e->done, NULL);

  /* Workers block all signals, so that the application's handlers run on
   * its own threads. They inherit the mask of the creating thread. */
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  int err = 0;
  for (int32_t i = 0; i < num_threads - 1; ++i) {
    err = pthread_create(&e->workers[i], NULL, kiln_exec_worker,
                         &e->slots[i + 1]);
    if (err)
      break;
    ++e->num_workers;
  }
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (err) {
    int32_t started = e->num_workers;
    kiln_exec_destroy(e);
    return kiln_error(KILN_ERROR_OUT_OF_MEMORY,
                      "kiln_context_create: cannot start worker thread %d of "
                      "%d (pthread_create error %d)",
                      started + 1, num_threads - 1, err);
  }
  *out = e;
  return KILN_OK;
}

void kiln_exec_destroy(kiln_exec *e) {
  if (!e)
    return;
  kiln_exec_stop(e);
  pthread_cond_destroy(&e->done);
  pthread_cond_destroy(&e->wake);
  pthread_mutex_destroy(&e->mutex);
  e->magic = 0;
  e->allocator.free(e->allocator.user, e->slots);
  e->allocator.free(e->allocator.user, e);
}

kiln_status_code kiln_exec_parallel_for(void *exec, int64_t n, kiln_range_fn fn,
                                        void *data) {
  if (!fn)
    return kiln_error(KILN_ERROR_INVALID_ARGUMENT,
                      "kiln_exec_parallel_for: fn is NULL");
  if (n < 0)
    return kiln_error(KILN_ERROR_INVALID_ARGUMENT,
                      "kiln_exec_parallel_for: negative range size %lld",
                      (long long)n);
  kiln_exec *e = exec;
  if (e && e->magic != KILN_EXEC_MAGIC)
    return kiln_error(KILN_ERROR_INVALID_ARGUMENT,
                      "kiln_exec_parallel_for: %p is not an execution handle "
                      "(use kiln_context_exec)",
                      exec);
  if (n == 0)
    return KILN_OK;
  /* Serial when there is nobody to share with, or when a parallel_for is
   * already in flight on this pool (nested call): waiting for workers that
   * are busy running our caller would deadlock. */
  if (!e || e->num_workers == 0 || n == 1 ||
      atomic_flag_test_and_set_explicit(&e->busy, memory_order_acquire)) {
    fn(data, 0, n);
    return KILN_OK;
  }

  int64_t target = (int64_t)e->num_threads * KILN_CHUNKS_PER_THREAD;
  /* min(n, target) chunks of near-equal size. Rounding the chunk size up
   * instead left fewer chunks than the threads can share evenly: 49 items
   * were 7 chunks of 7 on 2 threads, 4 against 3 (ResNet-50's 56x56 3x3
   * convs ran at 0.78-0.86 of twice their 1-thread speed). */
  int64_t num_chunks = n < target ? n : target;
  int64_t chunk = n / num_chunks, remainder = n % num_chunks;
  uint64_t g = ++e->generation;
  /* Every run is written before any is posted: a worker that starts
   * stealing at once must see the others' new runs, not the last job's. */
  for (int32_t t = 0; t < e->num_threads; ++t) {
    kiln_exec_slot *slot = &e->slots[t];
    slot->fn = fn;
    slot->data = data;
    slot->chunk = chunk;
    slot->remainder = remainder;
    /* Thread t owns chunks [t * num_chunks / T, (t + 1) * num_chunks / T). */
    atomic_store_explicit(&slot->next, t * num_chunks / e->num_threads,
                          memory_order_relaxed);
    slot->end = (t + 1) * num_chunks / e->num_threads;
  }
  for (int32_t t = 1; t <= e->num_workers; ++t)
    atomic_store(&e->slots[t].posted, g);
  if (atomic_load(&e->sleepers) > 0) {
    pthread_mutex_lock(&e->mutex);
    pthread_cond_broadcast(&e->wake);
    pthread_mutex_unlock(&e->mutex);
  }

  kiln_exec_drain(e, 0);

  for (int i = 0, limit = kiln_spin_limit(e); i < limit; ++i) {
    if (kiln_exec_all_finished(e, g))
      goto done;
    kiln_spin_pause(e, i);
  }
  pthread_mutex_lock(&e->mutex);
  atomic_store(&e->caller_asleep, 1);
  while (!kiln_exec_all_finished(e, g))
    pthread_cond_wait(&e->done, &e->mutex);
  atomic_store(&e->caller_asleep, 0);
  pthread_mutex_unlock(&e->mutex);
done:
  atomic_flag_clear_explicit(&e->busy, memory_order_release);
  return KILN_OK;
}

int32_t kiln_exec_num_threads(const void *exec) {
  const kiln_exec *e = exec;
  return e && e->magic == KILN_EXEC_MAGIC ? e->num_threads : 1;
}
