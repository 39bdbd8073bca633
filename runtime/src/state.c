/*===- state.c - KV caches of stateful models -----------------------------===*
 *
 * A kiln_state owns one block holding every kiln_state_desc's buffer and
 * the kernel pointer list of the model's stateful entries, both allocated
 * at create, so that a decode step allocates nothing.
 *===----------------------------------------------------------------------===*/
#include "internal.h"

#include <stddef.h>
#include <string.h>

struct kiln_state {
  const kiln_model_desc *desc;
  kiln_allocator allocator;
  int64_t length;   /* tokens in the caches */
  int64_t position; /* what the kernel reads: length at the call */
  void *caches;     /* every state, each KILN_ALIGNMENT aligned */
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

static uint64_t kiln_align_up(uint64_t n) {
  return (n + KILN_ALIGNMENT - 1) / KILN_ALIGNMENT * KILN_ALIGNMENT;
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
  kiln_allocator a = allocator ? *allocator : kiln_allocator_default();
  if (!a.alloc || !a.free)
    return kiln_error(KILN_ERROR_INVALID_ARGUMENT,
                      "%s: allocator has a NULL callback", fn);
  int32_t inputs = 0;
  for (int32_t i = 0; i < desc->num_entries; ++i) {
    const kiln_entry_desc *e = kiln_desc_entry(desc, i);
    if (e->kind != KILN_ENTRY_RUN && e->num_inputs > inputs)
      inputs = e->num_inputs;
  }
  uint64_t bytes = 0;
  for (int32_t i = 0; i < desc->num_states; ++i)
    bytes += kiln_align_up(kiln_desc_state(desc, i)->bytes);
  int32_t slots = inputs + 1 + desc->num_states;
  kiln_state *s = a.alloc(a.user, sizeof(kiln_state) + sizeof(void *) * slots,
                          KILN_ALIGNMENT);
  void *caches = s ? a.alloc(a.user, (size_t)bytes, KILN_ALIGNMENT) : NULL;
  if (!caches) {
    if (s)
      a.free(a.user, s);
    return kiln_error(KILN_ERROR_OUT_OF_MEMORY,
                      "%s: cannot allocate %llu bytes of KV cache", fn,
                      (unsigned long long)bytes);
  }
  /* Zeros: a kernel may read (with weight 0) rows past the length. */
  memset(caches, 0, (size_t)bytes);
  *s = (kiln_state){.desc = desc, .allocator = a, .caches = caches,
                    .num_slots = slots};
  char *next = caches;
  for (int32_t i = 0; i < desc->num_states; ++i) {
    s->kernel_inputs[inputs + 1 + i] = next;
    next += kiln_align_up(kiln_desc_state(desc, i)->bytes);
  }
  *out = s;
  return KILN_OK;
}

void kiln_state_destroy(kiln_state *state) {
  if (!state)
    return;
  kiln_allocator a = state->allocator;
  a.free(a.user, state->caches);
  a.free(a.user, state);
}

kiln_status_code kiln_state_reset(kiln_state *state) {
  if (!state)
    return kiln_error(KILN_ERROR_INVALID_ARGUMENT,
                      "kiln_state_reset: state is NULL");
  state->length = 0;
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
