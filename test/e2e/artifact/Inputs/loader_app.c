/* Loads compiled models from shared libraries with kiln_model_load and runs
 * them through the checked-tensor API.
 *
 *   loader_app SPEC...     SPEC = PATH:NAME, NAME "-" for the generic symbol
 *
 * All models are loaded first and unloaded last, so several libraries (each
 * exporting the generic kiln_artifact_descriptor) are open at once. Inputs are
 * deterministic: float element j = (j % 5 - 2) * 0.5, int64 element j = j % 2.
 */
#define _POSIX_C_SOURCE 200809L
#include <kiln/runtime.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_MODELS 8

static void *alloc_tensor(kiln_tensor *t, const kiln_tensor_info *info) {
  kiln_tensor_init_from_info(t, info, NULL);
  size_t bytes = (size_t)kiln_tensor_num_bytes(t);
  size_t rounded = (bytes + KILN_ALIGNMENT - 1) / KILN_ALIGNMENT * KILN_ALIGNMENT;
  t->data = aligned_alloc(KILN_ALIGNMENT, rounded ? rounded : KILN_ALIGNMENT);
  return t->data;
}

int main(int argc, char **argv) {
  kiln_model *models[MAX_MODELS] = {0};
  int n = 0;
  for (int a = 1; a < argc && n < MAX_MODELS; ++a) {
    char spec[1024];
    snprintf(spec, sizeof(spec), "%s", argv[a]);
    char *colon = strrchr(spec, ':');
    if (!colon)
      return 2;
    *colon = '\0';
    const char *name = strcmp(colon + 1, "-") == 0 ? NULL : colon + 1;
    kiln_model *m = (kiln_model *)1; /* must be reset to NULL on failure */
    kiln_status_code s = kiln_model_load(spec, name, &m);
    printf("load %s name %s: %s", strrchr(spec, '/') + 1,
           name ? name : "(generic)", kiln_status_string(s));
    if (s != KILN_OK) {
      printf(" out_null %d: %s\n", m == NULL, kiln_last_error_message());
      continue;
    }
    printf(" -> model '%s'\n", kiln_model_descriptor(m)->name);
    models[n++] = m;
  }

  kiln_context *ctx = NULL;
  if (kiln_context_create(NULL, &ctx) != KILN_OK)
    return 1;
  for (int i = 0; i < n; ++i) {
    const kiln_model_desc *d = kiln_model_descriptor(models[i]);
    const kiln_entry_desc *e = &d->entries[0];
    kiln_tensor in[4], out[4];
    for (int k = 0; k < e->num_inputs; ++k) {
      if (!alloc_tensor(&in[k], &e->inputs[k]))
        return 1;
      int64_t count = kiln_tensor_num_elements(&in[k]);
      for (int64_t j = 0; j < count; ++j) {
        if (in[k].dtype == KILN_DTYPE_F32)
          ((float *)in[k].data)[j] = (float)(j % 5 - 2) * 0.5f;
        else if (in[k].dtype == KILN_DTYPE_I64)
          ((int64_t *)in[k].data)[j] = j % 2;
      }
    }
    for (int k = 0; k < e->num_outputs; ++k)
      if (!alloc_tensor(&out[k], &e->outputs[k]))
        return 1;
    kiln_status_code s =
        kiln_model_run_tensors(ctx, d, in, e->num_inputs, out, e->num_outputs);
    printf("run '%s': %s\n", d->name, kiln_status_string(s));
    for (int k = 0; s == KILN_OK && k < e->num_outputs; ++k) {
      printf("  %s:", e->outputs[k].name);
      int64_t count = kiln_tensor_num_elements(&out[k]);
      for (int64_t j = 0; j < count; ++j)
        printf(" %.9g", (double)((float *)out[k].data)[j]);
      printf("\n");
    }
    for (int k = 0; k < e->num_inputs; ++k)
      free(in[k].data);
    for (int k = 0; k < e->num_outputs; ++k)
      free(out[k].data);
  }
  kiln_context_destroy(ctx);
  for (int i = 0; i < n; ++i)
    kiln_model_unload(models[i]);
  return 0;
}
