/*===- state.c - KV caches of stateful models -----------------------------===*
 *
 * A kiln_state owns one block holding its states' buffers and the kernel
 * pointer list of the model's stateful entries, both allocated at create,
 * so that a decode step allocates nothing. With paged caches (--kv-block)
 * the PAGED states' buffers live in a kiln_kv_pool instead, and a step
 * only moves block indices between the pool's free stack and the state's
 * block table.
 *===----------------------------------------------------------------------===*/
#include "internal.h"

#include <stdatomic.h>
#include <stddef.h>
#include <string.h>

/* The paged caches of one model and the blocks no sequence holds. The
 * free list is a stack (the top is handed out first: deterministic) under
 * a spin lock, not a mutex: sequences of one pool run on different threads,
 * and each critical section only copies a few block indices. */
struct kiln_kv_pool {
  const kiln_model_desc *desc;
  kiln_allocator allocator;
  int64_t blocks;       /* P: every PAGED state's dims[0] */
  int64_t block_tokens; /* N */
  void *caches;         /* every PAGED state, each KILN_ALIGNMENT aligned */
  atomic_flag lock;     /* guards the fields below */
  int64_t users;        /* states created in the pool */
  int64_t holders;      /* of those, the ones holding a block */
  int64_t num_free;
  int32_t free_stack[]; /* P entries; [0, num_free) are free, top last */
};

struct kiln_state {
  const kiln_model_desc *desc;
  kiln_allocator allocator;
  int64_t length;     /* tokens in the caches */
  int64_t position;   /* what the kernel reads: length at the call */
  void *caches;       /* its own states, each KILN_ALIGNMENT aligned */
  kiln_kv_pool *pool; /* paged models: where the blocks come from */
  int owns_pool;      /* kiln_state_create's private pool */
  int32_t *table;     /* the BLOCK_TABLE state */
  int64_t held;       /* blocks held: table[0, held); ceil(length / N) */
  /* The kernel's pointer list: room for the widest stateful entry's
   * inputs, then the position and one pointer per state (the tail, filled
   * at create, is the same for every call). */
  int32_t num_slots;
  void *kernel_inputs[];
};

int64_t kiln_desc_max_seq_len(const kiln_model_desc *desc) {
  size_t end = offsetof(kiln_model_desc, max_seq_len) + sizeof(int64_t);
  return desc->struct_size >= end ? desc->max_seq_len : 0;
}

int64_t kiln_desc_kv_block_tokens(const kiln_model_desc *desc) {
  size_t end = offsetof(kiln_model_desc, kv_block_tokens) + sizeof(int64_t);
  return desc->struct_size >= end ? desc->kv_block_tokens : 0;
}

static uint64_t kiln_align_up(uint64_t n) {
  return (n + KILN_ALIGNMENT - 1) / KILN_ALIGNMENT * KILN_ALIGNMENT;
}

static void kiln_pool_lock(const kiln_kv_pool *pool) {
  /* The lock is the pool's only mutable part that readers touch. */
  atomic_flag *lock = (atomic_flag *)&pool->lock;
  while (atomic_flag_test_and_set_explicit(lock, memory_order_acquire))
    ;
}

static void kiln_pool_unlock(const kiln_kv_pool *pool) {
  atomic_flag_clear_explicit((atomic_flag *)&pool->lock, memory_order_release);
}

/* Checks the kinds of a validated desc's states; *blocks gets the pool's
 * blocks of a paged model, 0 otherwise. */
static kiln_status_code kiln_states_check(const kiln_model_desc *desc,
                                          const char *fn, int64_t *blocks) {
  int64_t n = kiln_desc_kv_block_tokens(desc);
  int64_t max = kiln_desc_max_seq_len(desc);
  int64_t pool = 0, rows = n > 0 ? (max + n - 1) / n : 0;
  int32_t tables = 0;
  *blocks = 0;
  for (int32_t i = 0; i < desc->num_states; ++i) {
    const kiln_state_desc *st = kiln_desc_state(desc, i);
    if (st->flags == 0)
      continue;
    if (n <= 0)
      return kiln_error(KILN_ERROR_INVALID_ARGUMENT,
                        "%s: model '%s' state %d '%s' has flags %d but no "
                        "paged KV cache (--kv-block)",
                        fn, kiln_str(desc->name), (int)i, kiln_str(st->name),
                        (int)st->flags);
    if (st->flags == KILN_STATE_PAGED && st->dims[0] > 0 &&
        st->dims[0] <= INT32_MAX && (pool == 0 || st->dims[0] == pool)) {
      pool = st->dims[0];
      continue;
    }
    /* Every table entry must be a row the kernel can read: ceil, so that
     * the last partial block has one too. */
    if (st->flags == KILN_STATE_BLOCK_TABLE && st->dtype == KILN_DTYPE_I32 &&
        st->rank == 1 && st->dims[0] == rows &&
        st->bytes >= (uint64_t)rows * sizeof(int32_t)) {
      ++tables;
      continue;
    }
    return kiln_error(KILN_ERROR_INVALID_ARGUMENT,
                      "%s: model '%s' (--kv-block %lld, max_seq_len %lld) "
                      "has a bad state %d '%s' (flags %d): paged states "
                      "need one pool size, the block table int32 [%lld]",
                      fn, kiln_str(desc->name), (long long)n, (long long)max,
                      (int)i, kiln_str(st->name), (int)st->flags,
                      (long long)rows);
  }
  if (n > 0 && (max <= 0 || pool == 0 || tables != 1))
    return kiln_error(KILN_ERROR_INVALID_ARGUMENT,
                      "%s: model '%s' (--kv-block %lld, max_seq_len %lld) "
                      "needs paged states and one block table; it has %d "
                      "block tables",
                      fn, kiln_str(desc->name), (long long)n, (long long)max,
                      (int)tables);
  *blocks = pool;
  return KILN_OK;
}

static kiln_status_code kiln_allocator_pick(const kiln_allocator *allocator,
                                            const char *fn,
                                            kiln_allocator *out) {
  *out = allocator ? *allocator : kiln_allocator_default();
  if (!out->alloc || !out->free)
    return kiln_error(KILN_ERROR_INVALID_ARGUMENT,
                      "%s: allocator has a NULL callback", fn);
  return KILN_OK;
}

/*===----------------------------------------------------------------------===*
 * Pools
 *===----------------------------------------------------------------------===*/

/* A `head`-byte struct and, in *caches, one zero-filled block holding every
 * state of `desc` that is (paged != 0) or is not a pool of blocks, each
 * KILN_ALIGNMENT aligned: zeros, since a kernel may read (with weight 0)
 * rows past the length, and a zero table entry names block 0, which every
 * pool has. NULL (nothing allocated, the error set) when out of memory. */
static void *kiln_alloc_caches(const kiln_model_desc *desc, kiln_allocator a,
                               size_t head, int paged, const char *fn,
                               void **caches) {
  uint64_t bytes = 0;
  for (int32_t i = 0; i < desc->num_states; ++i)
    if ((kiln_desc_state(desc, i)->flags == KILN_STATE_PAGED) == paged)
      bytes += kiln_align_up(kiln_desc_state(desc, i)->bytes);
  void *p = a.alloc(a.user, head, KILN_ALIGNMENT);
  *caches = p ? a.alloc(a.user, (size_t)bytes, KILN_ALIGNMENT) : NULL;
  if (!*caches) {
    if (p)
      a.free(a.user, p);
    kiln_error(KILN_ERROR_OUT_OF_MEMORY,
               "%s: cannot allocate %llu bytes of KV cache", fn,
               (unsigned long long)bytes);
    return NULL;
  }
  memset(*caches, 0, (size_t)bytes);
  return p;
}

/* A pool of `blocks` blocks for a checked paged desc. */
static kiln_status_code kiln_pool_new(const kiln_model_desc *desc,
                                      kiln_allocator a, int64_t blocks,
                                      const char *fn, kiln_kv_pool **out) {
  void *caches;
  kiln_kv_pool *p = kiln_alloc_caches(
      desc, a, sizeof(kiln_kv_pool) + sizeof(int32_t) * (size_t)blocks, 1, fn,
      &caches);
  if (!p)
    return KILN_ERROR_OUT_OF_MEMORY;
  p->desc = desc;
  p->allocator = a;
  p->blocks = blocks;
  p->block_tokens = kiln_desc_kv_block_tokens(desc);
  p->caches = caches;
  atomic_flag_clear(&p->lock);
  p->users = p->holders = 0;
  p->num_free = blocks;
  for (int64_t i = 0; i < blocks; ++i) /* block 0 on top */
    p->free_stack[i] = (int32_t)(blocks - 1 - i);
  *out = p;
  return KILN_OK;
}

kiln_status_code kiln_kv_pool_create(const kiln_model_desc *desc,
                                     const kiln_allocator *allocator,
                                     kiln_kv_pool **out) {
  static const char fn[] = "kiln_kv_pool_create";
  if (!out)
    return kiln_error(KILN_ERROR_INVALID_ARGUMENT, "%s: out is NULL", fn);
  *out = NULL;
  kiln_status_code status = kiln_desc_validate(desc, fn);
  if (status != KILN_OK)
    return status;
  if (kiln_desc_kv_block_tokens(desc) <= 0)
    return kiln_error(KILN_ERROR_INVALID_ARGUMENT,
                      "%s: model '%s' has no paged KV cache (--kv-block)", fn,
                      kiln_str(desc->name));
  int64_t blocks = 0;
  kiln_allocator a;
  status = kiln_states_check(desc, fn, &blocks);
  if (status == KILN_OK)
    status = kiln_allocator_pick(allocator, fn, &a);
  if (status != KILN_OK)
    return status;
  return kiln_pool_new(desc, a, blocks, fn, out);
}

kiln_status_code kiln_kv_pool_destroy(kiln_kv_pool *pool) {
  if (!pool)
    return KILN_OK;
  kiln_pool_lock(pool);
  int64_t users = pool->users;
  kiln_pool_unlock(pool);
  if (users > 0)
    return kiln_error(KILN_ERROR_INVALID_ARGUMENT,
                      "kiln_kv_pool_destroy: %lld sequences still use the "
                      "pool: destroy their states first",
                      (long long)users);
  kiln_allocator a = pool->allocator;
  a.free(a.user, pool->caches);
  a.free(a.user, pool);
  return KILN_OK;
}

int64_t kiln_kv_pool_blocks(const kiln_kv_pool *pool) {
  return pool ? pool->blocks : -1;
}

int64_t kiln_kv_pool_free_blocks(const kiln_kv_pool *pool) {
  if (!pool)
    return -1;
  kiln_pool_lock(pool);
  int64_t n = pool->num_free;
  kiln_pool_unlock(pool);
  return n;
}

int64_t kiln_kv_pool_block_tokens(const kiln_kv_pool *pool) {
  return pool ? pool->block_tokens : -1;
}

/* Called from reset, truncate, destroy and a failed run: one copy keeps
 * the library small (see the runtime_size test). */
#if defined(__GNUC__) || defined(__clang__)
#define KILN_NOINLINE __attribute__((noinline))
#else
#define KILN_NOINLINE
#endif

/* Gives the sequence's blocks past its first `keep` back to the pool. Their
 * table entries become 0: a kernel reads (with weight 0) rows past the
 * length through the table, so every entry must name a real block. */
KILN_NOINLINE static void kiln_state_release(kiln_state *s, int64_t keep) {
  kiln_kv_pool *p = s->pool;
  if (!p || s->held <= keep)
    return;
  size_t count = (size_t)(s->held - keep);
  kiln_pool_lock(p);
  /* Pushed in table order: the next take of as many gets them back. */
  memcpy(p->free_stack + p->num_free, s->table + keep, count * sizeof(int32_t));
  p->num_free += (int64_t)count;
  p->holders -= keep == 0;
  kiln_pool_unlock(p);
  memset(s->table + keep, 0, count * sizeof(int32_t));
  s->held = keep;
}

/* Takes blocks until the sequence holds `need`: all of them or, when the
 * pool has too few, none. */
static kiln_status_code kiln_state_take(kiln_state *s, int64_t need,
                                        const char *fn) {
  kiln_kv_pool *p = s->pool;
  if (s->held >= need)
    return KILN_OK;
  kiln_pool_lock(p);
  int64_t free_blocks = p->num_free, holders = p->holders;
  if (need - s->held > free_blocks) {
    kiln_pool_unlock(p);
    return kiln_error(KILN_ERROR_OUT_OF_MEMORY,
                      "%s: the KV pool is out of blocks: this call needs "
                      "%lld, %lld of its %lld are free (the others held by "
                      "%lld sequences); destroy or reset a sequence or "
                      "compile with a larger --kv-pool-blocks",
                      fn, (long long)(need - s->held), (long long)free_blocks,
                      (long long)p->blocks, (long long)holders);
  }
  p->holders += s->held == 0;
  p->num_free -= need - s->held;
  memcpy(s->table + s->held, p->free_stack + p->num_free,
         (size_t)(need - s->held) * sizeof(int32_t));
  kiln_pool_unlock(p);
  s->held = need;
  return KILN_OK;
}

/*===----------------------------------------------------------------------===*
 * States
 *===----------------------------------------------------------------------===*/

/* A state of a checked desc: its own buffers for every state but the
 * PAGED ones, which are `pool`'s (NULL: a model without paged caches). */
static kiln_status_code kiln_state_new(const kiln_model_desc *desc,
                                       kiln_allocator a, kiln_kv_pool *pool,
                                       const char *fn, kiln_state **out) {
  int32_t inputs = 0;
  for (int32_t i = 0; i < desc->num_entries; ++i) {
    const kiln_entry_desc *e = kiln_desc_entry(desc, i);
    if (e->kind != KILN_ENTRY_RUN && e->num_inputs > inputs)
      inputs = e->num_inputs;
  }
  int32_t slots = inputs + 1 + desc->num_states;
  void *caches;
  kiln_state *s = kiln_alloc_caches(
      desc, a, sizeof(kiln_state) + sizeof(void *) * slots, 0, fn, &caches);
  if (!s)
    return KILN_ERROR_OUT_OF_MEMORY;
  *s = (kiln_state){.desc = desc, .allocator = a, .caches = caches,
                    .pool = pool, .num_slots = slots};
  char *own = caches, *paged = pool ? pool->caches : NULL;
  for (int32_t i = 0; i < desc->num_states; ++i) {
    const kiln_state_desc *st = kiln_desc_state(desc, i);
    char **next = st->flags == KILN_STATE_PAGED ? &paged : &own;
    if (st->flags == KILN_STATE_BLOCK_TABLE)
      s->table = (int32_t *)own;
    s->kernel_inputs[inputs + 1 + i] = *next;
    *next += kiln_align_up(st->bytes);
  }
  if (pool) {
    kiln_pool_lock(pool);
    ++pool->users;
    kiln_pool_unlock(pool);
  }
  *out = s;
  return KILN_OK;
}

kiln_status_code kiln_state_create(const kiln_model_desc *desc,
                                   const kiln_allocator *allocator,
                                   kiln_state **out) {
  static const char fn[] = "kiln_state_create";
  if (!out)
    return kiln_error(KILN_ERROR_INVALID_ARGUMENT, "%s: out is NULL", fn);
  *out = NULL;
  kiln_status_code status = kiln_desc_validate(desc, fn);
  if (status != KILN_OK)
    return status;
  if (desc->num_states == 0 || kiln_desc_max_seq_len(desc) <= 0)
    return kiln_error(KILN_ERROR_INVALID_ARGUMENT,
                      "%s: model '%s' has no KV cache (--max-seq-len)", fn,
                      kiln_str(desc->name));
  int64_t blocks = 0;
  kiln_allocator a;
  status = kiln_states_check(desc, fn, &blocks);
  if (status == KILN_OK)
    status = kiln_allocator_pick(allocator, fn, &a);
  if (status != KILN_OK)
    return status;
  kiln_kv_pool *pool = NULL;
  if (blocks > 0)
    status = kiln_pool_new(desc, a, blocks, fn, &pool);
  if (status == KILN_OK)
    status = kiln_state_new(desc, a, pool, fn, out);
  if (status != KILN_OK) {
    kiln_kv_pool_destroy(pool);
    return status;
  }
  (*out)->owns_pool = pool != NULL;
  return KILN_OK;
}

kiln_status_code kiln_state_create_in_pool(kiln_kv_pool *pool,
                                           kiln_state **out) {
  static const char fn[] = "kiln_state_create_in_pool";
  if (!out)
    return kiln_error(KILN_ERROR_INVALID_ARGUMENT, "%s: out is NULL", fn);
  *out = NULL;
  if (!pool)
    return kiln_error(KILN_ERROR_INVALID_ARGUMENT, "%s: pool is NULL", fn);
  return kiln_state_new(pool->desc, pool->allocator, pool, fn, out);
}

void kiln_state_destroy(kiln_state *state) {
  if (!state)
    return;
  kiln_kv_pool *pool = state->pool;
  if (pool) {
    kiln_state_release(state, 0);
    kiln_pool_lock(pool);
    --pool->users;
    kiln_pool_unlock(pool);
  }
  kiln_allocator a = state->allocator;
  int owns_pool = state->owns_pool;
  a.free(a.user, state->caches);
  a.free(a.user, state);
  if (owns_pool)
    kiln_kv_pool_destroy(pool);
}

kiln_status_code kiln_state_reset(kiln_state *state) {
  if (!state)
    return kiln_error(KILN_ERROR_INVALID_ARGUMENT,
                      "kiln_state_reset: state is NULL");
  state->length = 0;
  kiln_state_release(state, 0);
  return KILN_OK;
}

kiln_status_code kiln_state_truncate(kiln_state *state, int64_t length) {
  if (!state)
    return kiln_error(KILN_ERROR_INVALID_ARGUMENT,
                      "kiln_state_truncate: state is NULL");
  if (length < 0 || length > state->length)
    return kiln_error(KILN_ERROR_INVALID_ARGUMENT,
                      "kiln_state_truncate: length %lld is not in [0, %lld]",
                      (long long)length, (long long)state->length);
  state->length = length;
  if (state->pool) {
    int64_t n = state->pool->block_tokens;
    kiln_state_release(state, (length + n - 1) / n);
  }
  return KILN_OK;
}

int64_t kiln_state_length(const kiln_state *state) {
  return state ? state->length : -1;
}

int64_t kiln_state_capacity(const kiln_state *state) {
  return state ? kiln_desc_max_seq_len(state->desc) : -1;
}

kiln_status_code kiln_model_run_state(kiln_context *ctx,
                                      const kiln_model_desc *desc,
                                      int32_t entry_index, kiln_state *state,
                                      const void *const *inputs,
                                      void *const *outputs) {
  static const char fn[] = "kiln_model_run_state";
  const kiln_entry_desc *e = NULL;
  kiln_status_code status = kiln_entry_lookup(fn, ctx, desc, entry_index, &e);
  if (status != KILN_OK)
    return status;
  if (!state)
    return kiln_error(KILN_ERROR_INVALID_ARGUMENT, "%s: state is NULL", fn);
  if (state->desc != desc)
    return kiln_error(KILN_ERROR_INVALID_ARGUMENT,
                      "%s: the state was created for model '%s', not '%s'",
                      fn, kiln_str(state->desc->name), kiln_str(desc->name));
  int64_t tokens = kiln_entry_tokens(e);
  if (e->kind == KILN_ENTRY_RUN || tokens <= 0)
    return kiln_error(KILN_ERROR_INVALID_ARGUMENT,
                      "%s: entry '%s' has no KV cache", fn,
                      kiln_str(e->name));
  int64_t capacity = kiln_desc_max_seq_len(desc);
  if (state->length > capacity - tokens)
    return kiln_error(KILN_ERROR_INVALID_ARGUMENT,
                      "%s: the cache is full: %lld tokens + %lld new > "
                      "max_seq_len %lld; reset the state or compile with a "
                      "larger --max-seq-len",
                      fn, (long long)state->length, (long long)tokens,
                      (long long)capacity);
  /* Blocks for every row the kernel writes, before it runs. */
  int64_t held = state->held;
  if (state->pool) {
    int64_t n = state->pool->block_tokens;
    status = kiln_state_take(state, (state->length + tokens + n - 1) / n, fn);
    if (status != KILN_OK)
      return status;
  }
  /* This entry's inputs end where the state pointers' block starts. */
  int32_t first = state->num_slots - desc->num_states - 1 - e->num_inputs;
  void **list = state->kernel_inputs + first;
  /* A NULL array or pointer is reported by the buffer checks. */
  for (int32_t i = 0; i < e->num_inputs; ++i)
    list[i] = inputs ? (void *)inputs[i] : NULL;
  state->position = state->length;
  list[e->num_inputs] = &state->position;
  status = kiln_entry_invoke(fn, ctx, desc, e, inputs, outputs, list);
  if (status == KILN_OK)
    state->length += tokens;
  else /* the length stays: so do the blocks it needs, ceil(length / N) */
    kiln_state_release(state, held);
  return status;
}

kiln_status_code kiln_model_find_entry(const kiln_model_desc *desc,
                                       int32_t kind, int32_t *index) {
  static const char fn[] = "kiln_model_find_entry";
  if (!index)
    return kiln_error(KILN_ERROR_INVALID_ARGUMENT, "%s: index is NULL", fn);
  kiln_status_code status = kiln_desc_validate(desc, fn);
  if (status != KILN_OK)
    return status;
  for (int32_t i = 0; i < desc->num_entries; ++i)
    if (kiln_desc_entry(desc, i)->kind == kind) {
      *index = i;
      return KILN_OK;
    }
  *index = -1;
  return kiln_error(KILN_ERROR_NOT_FOUND, "%s: model '%s' has no entry of "
                                          "kind %d",
                    fn, kiln_str(desc->name), (int)kind);
}
