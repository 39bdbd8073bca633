/*===- tiny_model.c - a model shared library for kiln_model_load tests ----===*
 *
 * Built three times as a MODULE library: as is ("tiny", y = x + 1 over
 * float32[3]), with TINY_ABI_VERSION=2 (an artifact from another ABI) and
 * with TINY_RETURN_NULL (a broken descriptor function). Like a real
 * artifact it exports `<name>_descriptor` and the generic alias, and needs
 * nothing from the runtime but abi.h.
 *===----------------------------------------------------------------------===*/
#include "kiln/abi.h"

#ifndef TINY_ABI_VERSION
#define TINY_ABI_VERSION KILN_ABI_VERSION
#endif

static const int64_t dims[] = {3};
static const kiln_tensor_info inputs[] = {{"x", KILN_DTYPE_F32, 1, dims}};
static const kiln_tensor_info outputs[] = {{"y", KILN_DTYPE_F32, 1, dims}};

static int32_t tiny_run(void *exec, void *const *in, void *const *out,
                        void *workspace) {
  (void)exec;
  (void)workspace;
  const float *x = in[0];
  float *y = out[0];
  for (int i = 0; i < 3; ++i)
    y[i] = x[i] + 1.0f;
  return KILN_OK;
}

static const kiln_entry_desc entries[] = {
    {sizeof(kiln_entry_desc), KILN_ENTRY_RUN, "run", 1, 1, inputs, outputs,
     tiny_run, 0},
};

static const kiln_model_desc desc = {
    .abi_version = TINY_ABI_VERSION,
    .struct_size = sizeof(kiln_model_desc),
    .name = "tiny",
    .target = KILN_TARGET_CPU,
    .num_entries = 1,
    .entries = entries,
};

const kiln_model_desc *tiny_descriptor(void);
const kiln_model_desc *kiln_artifact_descriptor(void);

const kiln_model_desc *tiny_descriptor(void) {
#ifdef TINY_RETURN_NULL
  return 0;
#else
  return &desc;
#endif
}

const kiln_model_desc *kiln_artifact_descriptor(void) { return tiny_descriptor(); }
