/*===- tiny_model.c - a model shared library for kiln_model_load tests ----===*
 *
 * Built four times as a MODULE library: as is ("tiny", y = x + 1 over
 * float32[3]), with TINY_ABI_VERSION=2 (an artifact from another ABI),
 * with TINY_RETURN_NULL (a broken descriptor function) and with
 * TINY_EXTERNAL_WEIGHTS (y = x + w, w = {1, 2, 3} read from the weight
 * file "tiny_ext.weights" next to the library, as --weights=external
 * artifacts do; the test writes that file). Like a real
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

#ifdef TINY_EXTERNAL_WEIGHTS
static const void *weights_slot;
static const float weights[3] = {1.0f, 2.0f, 3.0f};
#endif

static int32_t tiny_run(void *exec, void *const *in, void *const *out,
                        void *workspace) {
  (void)exec;
  (void)workspace;
  const float *x = in[0];
  float *y = out[0];
#ifdef TINY_EXTERNAL_WEIGHTS
  const float *w = weights_slot;
#else
  static const float w[3] = {1.0f, 1.0f, 1.0f};
#endif
  for (int i = 0; i < 3; ++i)
    y[i] = x[i] + w[i];
  return KILN_OK;
}

static const kiln_entry_desc entries[] = {
    {sizeof(kiln_entry_desc), KILN_ENTRY_RUN, "run", 1, 1, inputs, outputs,
     tiny_run, 0},
};

#ifdef TINY_EXTERNAL_WEIGHTS
/* Not const: the checksum is filled in at the first call (a compiler
 * writes it as a constant). */
static kiln_model_desc desc = {
#else
static const kiln_model_desc desc = {
#endif
    .abi_version = TINY_ABI_VERSION,
    .struct_size = sizeof(kiln_model_desc),
    .name = "tiny",
    .target = KILN_TARGET_CPU,
    .num_entries = 1,
    .entries = entries,
#ifdef TINY_EXTERNAL_WEIGHTS
    .weights_file = "tiny_ext.weights",
    .weights_file_bytes = sizeof(weights),
    .weights_slot = &weights_slot,
#endif
};

const kiln_model_desc *tiny_descriptor(void);
const kiln_model_desc *kiln_artifact_descriptor(void);

const kiln_model_desc *tiny_descriptor(void) {
#ifdef TINY_RETURN_NULL
  return 0;
#else
#ifdef TINY_EXTERNAL_WEIGHTS
  desc.weights_checksum = kiln_weights_checksum(weights, sizeof(weights));
#endif
  return &desc;
#endif
}

const kiln_model_desc *kiln_artifact_descriptor(void) { return tiny_descriptor(); }
