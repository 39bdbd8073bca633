/*===- model.c - descriptor validation and running entries ----------------===*
 *
 * Every run re-validates the descriptor: it costs a few compares per tensor
 * and catches a stale or corrupt artifact before its kernel touches memory.
 *===----------------------------------------------------------------------===*/
#include "internal.h"

#include <stddef.h>
#include <string.h>

/* The smallest struct sizes an ABI version 1 artifact may declare. Later
 * compatible versions only append fields, so these stay fixed. */
#define KILN_MODEL_DESC_V1_SIZE                                                \
  (offsetof(kiln_model_desc, states) + sizeof(const kiln_state_desc *))
#define KILN_ENTRY_DESC_V1_SIZE                                                \
  (offsetof(kiln_entry_desc, workspace_bytes) + sizeof(uint64_t))

/* Room for a KILN_MAX_RANK shape of 20-digit dims; longer ones truncate. */
#define KILN_SHAPE_CHARS (KILN_MAX_RANK * 21 + 1)

/*===----------------------------------------------------------------------===*
 * Validation
 *===----------------------------------------------------------------------===*/

static kiln_status_code kiln_infos_validate(const char *fn,
                                            const kiln_entry_desc *e,
                                            const char *kind, int32_t count,
                                            const kiln_tensor_info *infos) {
  if (count < 0 || (count > 0 && !infos))
    return kiln_error(KILN_ERROR_INVALID_ARGUMENT,
                      "%s: entry '%s' has a bad %s list (count %d, array %p)",
                      fn, kiln_str(e->name), kind, (int)count,
                      (const void *)infos);
  for (int32_t i = 0; i < count; ++i) {
    const kiln_tensor_info *t = &infos[i];
    if (kiln_dtype_size(t->dtype) == 0)
      return kiln_error(KILN_ERROR_UNSUPPORTED,
                        "%s: entry '%s' %s %d '%s' has unsupported dtype %d",
                        fn, kiln_str(e->name), kind, (int)i, kiln_str(t->name),
                        (int)t->dtype);
    if (t->rank < 0 || (t->rank > 0 && !t->dims))
      return kiln_error(KILN_ERROR_INVALID_ARGUMENT,
                        "%s: entry '%s' %s %d '%s' has a bad shape (rank %d, "
                        "dims %p)",
                        fn, kiln_str(e->name), kind, (int)i, kiln_str(t->name),
                        (int)t->rank, (const void *)t->dims);
  }
  return KILN_OK;
}

kiln_status_code kiln_desc_validate(const kiln_model_desc *desc,
                                    const char *fn) {
  if (!desc)
    return kiln_error(KILN_ERROR_INVALID_ARGUMENT, "%s: desc is NULL", fn);
  /* abi_version is the one field whose place every version agrees on: read
   * nothing else from a descriptor of another version. */
  if (desc->abi_version != KILN_ABI_VERSION)
    return kiln_error(KILN_ERROR_ABI_MISMATCH,
                      "%s: the model was compiled for kiln ABI version %u, "
                      "this runtime implements version %u",
                      fn, (unsigned)desc->abi_version,
                      (unsigned)KILN_ABI_VERSION);
  if (desc->struct_size < KILN_MODEL_DESC_V1_SIZE ||
      desc->struct_size > KILN_MAX_STRUCT_SIZE)
    return kiln_error(KILN_ERROR_INVALID_ARGUMENT,
                      "%s: model descriptor struct_size %u is not in [%zu, %u]",
                      fn, (unsigned)desc->struct_size,
                      (size_t)KILN_MODEL_DESC_V1_SIZE, KILN_MAX_STRUCT_SIZE);
  if (desc->num_entries < 1 || !desc->entries)
    return kiln_error(KILN_ERROR_INVALID_ARGUMENT,
                      "%s: model '%s' has no entries (num_entries %d)", fn,
                      kiln_str(desc->name), (int)desc->num_entries);
  if (desc->num_states < 0 || (desc->num_states > 0 && !desc->states))
    return kiln_error(KILN_ERROR_INVALID_ARGUMENT,
                      "%s: model '%s' has a bad state list (count %d)", fn,
                      kiln_str(desc->name), (int)desc->num_states);
  for (int32_t i = 0; i < desc->num_states; ++i) {
    const kiln_state_desc *st = kiln_desc_state(desc, i);
    if (desc->states[0].struct_size < sizeof(kiln_state_desc) ||
        desc->states[0].struct_size > KILN_MAX_STRUCT_SIZE ||
        st->rank < 1 || st->rank > KILN_MAX_RANK || !st->dims ||
        st->bytes == 0)
      return kiln_error(KILN_ERROR_INVALID_ARGUMENT,
                        "%s: model '%s' has a bad state %d '%s'", fn,
                        kiln_str(desc->name), (int)i, kiln_str(st->name));
  }
  const char *weights = kiln_desc_weights_file(desc);
  if (weights && (!*weights || strchr(weights, '/') || !desc->weights_slot))
    return kiln_error(KILN_ERROR_INVALID_ARGUMENT,
                      "%s: model '%s' has a bad external weights record "
                      "(file '%s', slot %p)",
                      fn, kiln_str(desc->name), weights,
                      (const void *)desc->weights_slot);
  uint32_t stride = desc->entries[0].struct_size;
  if (stride < KILN_ENTRY_DESC_V1_SIZE || stride > KILN_MAX_STRUCT_SIZE ||
      stride % _Alignof(kiln_entry_desc) != 0)
    return kiln_error(KILN_ERROR_INVALID_ARGUMENT,
                      "%s: model '%s': entry struct_size %u is not a multiple "
                      "of %zu in [%zu, %u]",
                      fn, kiln_str(desc->name), (unsigned)stride,
                      (size_t) _Alignof(kiln_entry_desc),
                      (size_t)KILN_ENTRY_DESC_V1_SIZE, KILN_MAX_STRUCT_SIZE);
  for (int32_t i = 0; i < desc->num_entries; ++i) {
    const kiln_entry_desc *e = kiln_desc_entry(desc, i);
    if (e->struct_size != stride)
      return kiln_error(KILN_ERROR_INVALID_ARGUMENT,
                        "%s: model '%s': entry %d struct_size %u differs from "
                        "entry 0's %u",
                        fn, kiln_str(desc->name), (int)i,
                        (unsigned)e->struct_size, (unsigned)stride);
    if (!e->fn)
      return kiln_error(KILN_ERROR_INVALID_ARGUMENT,
                        "%s: model '%s': entry %d '%s' has no function", fn,
                        kiln_str(desc->name), (int)i, kiln_str(e->name));
    kiln_status_code status =
        kiln_infos_validate(fn, e, "input", e->num_inputs, e->inputs);
    if (status == KILN_OK)
      status = kiln_infos_validate(fn, e, "output", e->num_outputs, e->outputs);
    if (status != KILN_OK)
      return status;
  }
  return KILN_OK;
}

uint64_t kiln_desc_max_workspace(const kiln_model_desc *desc) {
  uint64_t bytes = desc->workspace_bytes;
  for (int32_t i = 0; i < desc->num_entries; ++i) {
    uint64_t b = kiln_desc_entry(desc, i)->workspace_bytes;
    bytes = b > bytes ? b : bytes;
  }
  return bytes;
}

/* Validates ctx, desc and the entry index; returns the entry. */
kiln_status_code kiln_entry_lookup(const char *fn, kiln_context *ctx,
                                          const kiln_model_desc *desc,
                                          int32_t index,
                                          const kiln_entry_desc **out) {
  if (!ctx)
    return kiln_error(KILN_ERROR_INVALID_ARGUMENT, "%s: ctx is NULL", fn);
  kiln_status_code status = kiln_desc_validate(desc, fn);
  if (status != KILN_OK)
    return status;
  if (index < 0 || index >= desc->num_entries)
    return kiln_error(KILN_ERROR_INVALID_ARGUMENT,
                      "%s: entry index %d is out of range: model '%s' has %d "
                      "entries",
                      fn, (int)index, kiln_str(desc->name),
                      (int)desc->num_entries);
  if (!kiln_model_weights_ready(desc))
    return kiln_error(KILN_ERROR_INVALID_ARGUMENT,
                      "%s: model '%s' keeps its weights in '%s', which is not "
                      "loaded: call kiln_model_load_weights() first",
                      fn, kiln_str(desc->name), kiln_desc_weights_file(desc));
  *out = kiln_desc_entry(desc, index);
  return KILN_OK;
}

/*===----------------------------------------------------------------------===*
 * Running with raw pointers
 *===----------------------------------------------------------------------===*/

static kiln_status_code kiln_buffers_check(const char *fn, const char *kind,
                                           int32_t count,
                                           const kiln_tensor_info *infos,
                                           const void *const *buffers) {
  if (count > 0 && !buffers)
    return kiln_error(KILN_ERROR_INVALID_ARGUMENT,
                      "%s: the %s array is NULL, expected %d pointers", fn,
                      kind, (int)count);
  for (int32_t i = 0; i < count; ++i) {
    if (!buffers[i])
      return kiln_error(KILN_ERROR_INVALID_ARGUMENT, "%s: %s %d '%s' is NULL",
                        fn, kind, (int)i, kiln_str(infos[i].name));
    size_t align = kiln_dtype_size(infos[i].dtype);
    if ((uintptr_t)buffers[i] % align != 0)
      return kiln_error(KILN_ERROR_MISALIGNED,
                        "%s: %s %d '%s' at %p is not aligned to %zu bytes, as "
                        "%s requires",
                        fn, kind, (int)i, kiln_str(infos[i].name), buffers[i],
                        align, kiln_dtype_name(infos[i].dtype));
  }
  return KILN_OK;
}

int64_t kiln_entry_tokens(const kiln_entry_desc *e) {
  size_t end = offsetof(kiln_entry_desc, tokens) + sizeof(int64_t);
  return e->struct_size >= end ? e->tokens : 0;
}

kiln_status_code kiln_entry_invoke(const char *fn, kiln_context *ctx,
                                   const kiln_model_desc *desc,
                                   const kiln_entry_desc *e,
                                   const void *const *inputs,
                                   void *const *outputs,
                                   void *const *kernel_inputs) {
  if (!kernel_inputs && e->kind != KILN_ENTRY_RUN)
    return kiln_error(KILN_ERROR_INVALID_ARGUMENT,
                      "%s: entry '%s' is stateful: use kiln_model_run_state",
                      fn, kiln_str(e->name));
  kiln_status_code status =
      kiln_buffers_check(fn, "input", e->num_inputs, e->inputs, inputs);
  if (status == KILN_OK)
    status = kiln_buffers_check(fn, "output", e->num_outputs, e->outputs,
                                (const void *const *)outputs);
  if (status == KILN_OK)
    status = kiln_context_ensure_workspace(ctx, e->workspace_bytes, fn);
  if (status != KILN_OK)
    return status;
  /* Kernels take non-const input pointers only because the ABI uses one
   * pointer type for both lists; they never write inputs. */
  if (!kernel_inputs)
    kernel_inputs = (void *const *)inputs;
  int32_t rc = e->fn(ctx->exec, kernel_inputs, outputs, ctx->workspace);
  if (rc == KILN_OK)
    return KILN_OK;
  if (rc < KILN_OK || rc > KILN_ERROR_CORRUPT_DATA)
    return kiln_error(KILN_ERROR_INTERNAL,
                      "%s: entry '%s' of model '%s' returned unknown status %d",
                      fn, kiln_str(e->name), kiln_str(desc->name), (int)rc);
  return kiln_error((kiln_status_code)rc,
                    "%s: entry '%s' of model '%s' failed: %s", fn,
                    kiln_str(e->name), kiln_str(desc->name),
                    kiln_status_string((kiln_status_code)rc));
}

kiln_status_code kiln_model_run_entry(kiln_context *ctx,
                                      const kiln_model_desc *desc,
                                      int32_t entry_index,
                                      const void *const *inputs,
                                      void *const *outputs) {
  static const char fn[] = "kiln_model_run_entry";
  const kiln_entry_desc *e = NULL;
  kiln_status_code status = kiln_entry_lookup(fn, ctx, desc, entry_index, &e);
  if (status != KILN_OK)
    return status;
  return kiln_entry_invoke(fn, ctx, desc, e, inputs, outputs, NULL);
}

kiln_status_code kiln_model_run(kiln_context *ctx, const kiln_model_desc *desc,
                                const void *const *inputs,
                                void *const *outputs) {
  static const char fn[] = "kiln_model_run";
  const kiln_entry_desc *e = NULL;
  kiln_status_code status = kiln_entry_lookup(fn, ctx, desc, 0, &e);
  if (status != KILN_OK)
    return status;
  return kiln_entry_invoke(fn, ctx, desc, e, inputs, outputs, NULL);
}

/*===----------------------------------------------------------------------===*
 * Running with checked tensors
 *===----------------------------------------------------------------------===*/

/* Checks tensors against the entry's infos and collects their data. */
static kiln_status_code
kiln_tensors_check(const char *fn, const kiln_entry_desc *e, const char *kind,
                   int32_t expected, const kiln_tensor_info *infos,
                   const kiln_tensor *tensors, int32_t count, void **data) {
  if (count != expected)
    return kiln_error(KILN_ERROR_INVALID_ARGUMENT,
                      "%s: entry '%s' takes %d %ss, got %d", fn,
                      kiln_str(e->name), (int)expected, kind, (int)count);
  if (count > KILN_MAX_RUN_TENSORS)
    return kiln_error(KILN_ERROR_UNSUPPORTED,
                      "%s: entry '%s' has %d %ss, more than the %d this "
                      "function takes; use kiln_model_run_entry",
                      fn, kiln_str(e->name), (int)count, kind,
                      KILN_MAX_RUN_TENSORS);
  if (count > 0 && !tensors)
    return kiln_error(KILN_ERROR_INVALID_ARGUMENT,
                      "%s: the %s tensor array is NULL", fn, kind);
  for (int32_t i = 0; i < count; ++i) {
    const kiln_tensor *t = &tensors[i];
    const kiln_tensor_info *info = &infos[i];
    if (t->dtype != info->dtype)
      return kiln_error(KILN_ERROR_DTYPE_MISMATCH,
                        "%s: %s %d '%s': expected dtype %s, got %s (%d)", fn,
                        kind, (int)i, kiln_str(info->name),
                        kiln_dtype_name(info->dtype), kiln_dtype_name(t->dtype),
                        (int)t->dtype);
    if (t->rank < 0 || t->rank > KILN_MAX_RANK)
      return kiln_error(KILN_ERROR_INVALID_ARGUMENT,
                        "%s: %s %d '%s': rank %d is not in [0, %d]", fn, kind,
                        (int)i, kiln_str(info->name), (int)t->rank,
                        KILN_MAX_RANK);
    int same = t->rank == info->rank;
    for (int32_t d = 0; same && d < t->rank; ++d)
      same = t->dims[d] == info->dims[d];
    if (!same) {
      char want[KILN_SHAPE_CHARS], got[KILN_SHAPE_CHARS];
      kiln_format_shape(want, sizeof(want), info->rank, info->dims);
      kiln_format_shape(got, sizeof(got), t->rank, t->dims);
      return kiln_error(KILN_ERROR_SHAPE_MISMATCH,
                        "%s: %s %d '%s': expected shape %s, got %s", fn, kind,
                        (int)i, kiln_str(info->name), want, got);
    }
    data[i] = t->data;
  }
  return KILN_OK;
}

static kiln_status_code
kiln_run_tensors(const char *fn, kiln_context *ctx, const kiln_model_desc *desc,
                 int32_t entry_index, const kiln_tensor *inputs,
                 int32_t num_inputs, kiln_tensor *outputs,
                 int32_t num_outputs) {
  const kiln_entry_desc *e = NULL;
  kiln_status_code status = kiln_entry_lookup(fn, ctx, desc, entry_index, &e);
  if (status != KILN_OK)
    return status;
  /* On the stack: the run path does not allocate. */
  void *in[KILN_MAX_RUN_TENSORS];
  void *out[KILN_MAX_RUN_TENSORS];
  status = kiln_tensors_check(fn, e, "input", e->num_inputs, e->inputs, inputs,
                              num_inputs, in);
  if (status == KILN_OK)
    status = kiln_tensors_check(fn, e, "output", e->num_outputs, e->outputs,
                                outputs, num_outputs, out);
  if (status != KILN_OK)
    return status;
  return kiln_entry_invoke(fn, ctx, desc, e, (const void *const *)in, out,
                           NULL);
}

kiln_status_code
kiln_model_run_entry_tensors(kiln_context *ctx, const kiln_model_desc *desc,
                             int32_t entry_index, const kiln_tensor *inputs,
                             int32_t num_inputs, kiln_tensor *outputs,
                             int32_t num_outputs) {
  return kiln_run_tensors("kiln_model_run_entry_tensors", ctx, desc,
                          entry_index, inputs, num_inputs, outputs,
                          num_outputs);
}

kiln_status_code
kiln_model_run_tensors(kiln_context *ctx, const kiln_model_desc *desc,
                       const kiln_tensor *inputs, int32_t num_inputs,
                       kiln_tensor *outputs, int32_t num_outputs) {
  return kiln_run_tensors("kiln_model_run_tensors", ctx, desc, 0, inputs,
                          num_inputs, outputs, num_outputs);
}

/*===----------------------------------------------------------------------===*
 * Lookup by name
 *===----------------------------------------------------------------------===*/

static kiln_status_code kiln_find(const char *fn, const char *kind,
                                  const kiln_model_desc *desc, const char *name,
                                  int32_t *index, int outputs) {
  kiln_status_code status = kiln_desc_validate(desc, fn);
  if (status != KILN_OK)
    return status;
  if (!name || !index)
    return kiln_error(KILN_ERROR_INVALID_ARGUMENT, "%s: %s is NULL", fn,
                      name ? "index" : "name");
  const kiln_entry_desc *e = kiln_desc_entry(desc, 0);
  int32_t count = outputs ? e->num_outputs : e->num_inputs;
  const kiln_tensor_info *infos = outputs ? e->outputs : e->inputs;
  for (int32_t i = 0; i < count; ++i) {
    if (infos[i].name && strcmp(infos[i].name, name) == 0) {
      *index = i;
      return KILN_OK;
    }
  }
  *index = -1;
  return kiln_error(KILN_ERROR_NOT_FOUND, "%s: model '%s' has no %s named '%s'",
                    fn, kiln_str(desc->name), kind, name);
}

kiln_status_code kiln_model_find_input(const kiln_model_desc *desc,
                                       const char *name, int32_t *index) {
  return kiln_find("kiln_model_find_input", "input", desc, name, index, 0);
}

kiln_status_code kiln_model_find_output(const kiln_model_desc *desc,
                                        const char *name, int32_t *index) {
  return kiln_find("kiln_model_find_output", "output", desc, name, index, 1);
}
