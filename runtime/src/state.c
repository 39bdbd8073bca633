/*===- state.c - KV caches of stateful models -----------------------------===*
 *
 * A kiln_state owns one buffer per kiln_state_desc and the kernel pointer
 * list of the model's stateful entries, both allocated at create, so that
 * a decode step allocates nothing.
 *===----------------------------------------------------------------------===*/
#include "internal.h"

#include <stddef.h>
#include <string.h>

struct kiln_state {
  const kiln_model_desc *desc;
  kiln_allocator allocator;
  int64_t length;   /* tokens in the caches */
  int64_t position; /* what the kernel reads: length at the call */
  int32_t num_buffers;
  void **buffers;        /* one per state */
  void **kernel_inputs;  /* room for the widest stateful entry's list */
  int32_t kernel_slots;
};

int64_t kiln_desc_max_seq_len(const kiln_model_desc *desc) {
  size_t end = offsetof(kiln_model_desc, max_seq_len) + sizeof(int64_t);
  return desc->struct_size >= end ? desc->max_seq_len : 0;
}

static const kiln_state_desc *kiln_desc_state(const kiln_model_desc *d,
                                              int32_t i) {
  return (const kiln_state_desc *)((const char *)d->states +
                                   (size_t)i * d->states[0].struct_size);
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
                      "%s: model '%s' has no KV cache (compile it with "
                      "--max-seq-len to get one)",
                      fn, kiln_str(desc->name));
  kiln_allocator a = allocator ? *allocator : kiln_allocator_default();
  if (!a.alloc || !a.free)
    return kiln_error(KILN_ERROR_INVALID_ARGUMENT,
                      "%s: allocator has a NULL callback", fn);
  int32_t slots = 0;
  for (int32_t i = 0; i < desc->num_entries; ++i) {
    const kiln_entry_desc *e = kiln_desc_entry(desc, i);
    int32_t n = e->num_inputs + 1 + desc->num_states;
    if (e->kind != KILN_ENTRY_RUN && n > slots)
      slots = n;
  }
  kiln_state *s = a.alloc(a.user, sizeof(kiln_state), KILN_ALIGNMENT);
  if (!s)
    return kiln_error(KILN_ERROR_OUT_OF_MEMORY, "%s: cannot allocate", fn);
  memset(s, 0, sizeof *s);
  s->desc = desc;
  s->allocator = a;
  s->kernel_slots = slots;
  size_t listBytes = sizeof(void *) * (size_t)(desc->num_states + slots);
  s->buffers = a.alloc(a.user, listBytes, KILN_ALIGNMENT);
  if (!s->buffers) {
    a.free(a.user, s);
    return kiln_error(KILN_ERROR_OUT_OF_MEMORY, "%s: cannot allocate", fn);
  }
  memset(s->buffers, 0, listBytes);
  s->kernel_inputs = s->buffers + desc->num_states;
  for (int32_t i = 0; i < desc->num_states; ++i) {
    const kiln_state_desc *st = kiln_desc_state(desc, i);
    void *p = st->bytes ? a.alloc(a.user, (size_t)st->bytes, KILN_ALIGNMENT)
                        : NULL;
    if (st->bytes && !p) {
      kiln_state_destroy(s);
      return kiln_error(KILN_ERROR_OUT_OF_MEMORY,
                        "%s: cannot allocate %llu bytes for cache '%s'", fn,
                        (unsigned long long)st->bytes, kiln_str(st->name));
    }
    if (p)
      memset(p, 0, (size_t)st->bytes);
    s->buffers[i] = p;
    s->num_buffers = i + 1;
  }
  *out = s;
  return KILN_OK;
}

void kiln_state_destroy(kiln_state *state) {
  if (!state)
    return;
  kiln_allocator a = state->allocator;
  if (state->buffers) {
    for (int32_t i = 0; i < state->num_buffers; ++i)
      if (state->buffers[i])
        a.free(a.user, state->buffers[i]);
    a.free(a.user, state->buffers);
  }
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
                      "%s: entry '%s' of model '%s' does not use a KV cache: "
                      "run it with kiln_model_run_entry",
                      fn, kiln_str(e->name), kiln_str(desc->name));
  int64_t capacity = kiln_desc_max_seq_len(desc);
  if (state->length > capacity - tokens)
    return kiln_error(KILN_ERROR_INVALID_ARGUMENT,
                      "%s: the cache is full: %lld tokens + %lld new > "
                      "max_seq_len %lld; reset the state or compile with a "
                      "larger --max-seq-len",
                      fn, (long long)state->length, (long long)tokens,
                      (long long)capacity);
  if (e->num_inputs > 0 && !inputs)
    return kiln_error(KILN_ERROR_INVALID_ARGUMENT,
                      "%s: the input array is NULL, expected %d pointers", fn,
                      (int)e->num_inputs);
  int32_t n = 0;
  for (int32_t i = 0; i < e->num_inputs; ++i)
    state->kernel_inputs[n++] = (void *)inputs[i];
  state->position = state->length;
  state->kernel_inputs[n++] = &state->position;
  for (int32_t i = 0; i < desc->num_states; ++i)
    state->kernel_inputs[n++] = state->buffers[i];
  status = kiln_entry_invoke(fn, ctx, desc, e, inputs, outputs,
                             state->kernel_inputs);
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
