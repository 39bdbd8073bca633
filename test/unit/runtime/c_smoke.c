/*===- c_smoke.c - the runtime from a plain C11 program -------------------===*
 *
 * Compiled with -std=c11 -Wpedantic -Werror and linked against the shared
 * library: proves the headers are clean C and that the calling pattern of
 * generated `<name>_run()` helpers compiles without casts.
 *===----------------------------------------------------------------------===*/
#include "kiln/runtime.h"
#include "test_models.h"

#include <stdio.h>

/* What a generated header's helper looks like. */
static inline kiln_status_code add_run(kiln_context *ctx, const float *a,
                                       const float *b, float *c) {
  const void *ins[2];
  void *outs[1];
  ins[0] = a;
  ins[1] = b;
  outs[0] = c;
  return kiln_model_run(ctx, test_add_descriptor(), ins, outs);
}

#define CHECK(cond)                                                            \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "%s:%d: check failed: %s (%s)\n", __FILE__, __LINE__,    \
              #cond, kiln_last_error_message());                               \
      return 1;                                                                \
    }                                                                          \
  } while (0)

int main(void) {
  CHECK(kiln_runtime_abi_version() == KILN_ABI_VERSION);
  kiln_context_options opts;
  CHECK(kiln_context_options_init(&opts) == KILN_OK);
  opts.num_threads = 2;
  kiln_context *ctx = NULL;
  CHECK(kiln_context_create(&opts, &ctx) == KILN_OK);
  CHECK(kiln_context_reserve(ctx, test_add_descriptor()) == KILN_OK);
  float a[6] = {1, 2, 3, 4, 5, 6}, b[6] = {6, 5, 4, 3, 2, 1}, c[6] = {0};
  CHECK(add_run(ctx, a, b, c) == KILN_OK);
  for (int i = 0; i < 6; ++i)
    CHECK(c[i] == 7.0f);
  CHECK(add_run(ctx, a, NULL, c) == KILN_ERROR_INVALID_ARGUMENT);
  kiln_context_destroy(ctx);
  printf("c smoke: ok\n");
  return 0;
}
