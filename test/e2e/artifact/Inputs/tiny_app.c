/* Embeds the `tiny` model (Inputs/tiny.mlir compiled with --name tiny) using
 * only what the generated tiny.h offers: tiny_run(), tiny_descriptor() and
 * the TINY_* macros. Prints the descriptor's fields, whether they agree with
 * the macros, and the outputs of one run. */
#include "tiny.h"

#include <stdio.h>
#include <string.h>

static _Alignas(KILN_ALIGNMENT) float x[TINY_INPUT0_SIZE] = {1, 2, 3,
                                                             -4, 5, 0.5f};
static _Alignas(KILN_ALIGNMENT) int64_t idx[TINY_INPUT1_SIZE] = {1, -2};
static _Alignas(KILN_ALIGNMENT) float probs[TINY_OUTPUT0_SIZE];
static _Alignas(KILN_ALIGNMENT) float sums[TINY_OUTPUT1_SIZE];

static void print_info(const char *role, int i, const kiln_tensor_info *t,
                       const char *macro_name, int macro_dtype, int macro_rank,
                       const int64_t *macro_dims, long long macro_size) {
  long long n = 1;
  printf("%s %d '%s' dtype %d rank %d dims", role, i, t->name, (int)t->dtype,
         (int)t->rank);
  for (int d = 0; d < t->rank; ++d) {
    printf("%s%lld", d ? "x" : " ", (long long)t->dims[d]);
    n *= t->dims[d];
  }
  int same = strcmp(t->name, macro_name) == 0 && t->dtype == macro_dtype &&
             t->rank == macro_rank && n == macro_size;
  for (int d = 0; same && d < t->rank; ++d)
    same = t->dims[d] == macro_dims[d];
  printf(" macros_agree %d\n", same);
}

int main(void) {
  const kiln_model_desc *d = tiny_descriptor();
  printf("abi_version_ok %d\n", d->abi_version == KILN_ABI_VERSION);
  printf("struct_size_ok %d\n", d->struct_size == sizeof(kiln_model_desc));
  printf("name '%s'\n", d->name);
  printf("target_cpu_kind %d\n", (int)d->target);
  printf("triple_nonempty %d\n",
         d->target_triple != NULL && d->target_triple[0] != '\0');
  printf("target_cpu_nonnull %d features_nonnull %d\n", d->target_cpu != NULL,
         d->target_features != NULL);
  printf("workspace_bytes_matches_macro %d\n",
         d->workspace_bytes == TINY_WORKSPACE_BYTES);
  printf("weights_bytes_positive %d\n", d->weights_bytes > 0);
  printf("num_entries %d num_states %d\n", (int)d->num_entries,
         (int)d->num_states);

  const kiln_entry_desc *e = &d->entries[0];
  printf("entry '%s' kind %d struct_size_ok %d fn_nonnull %d\n", e->name,
         (int)e->kind, e->struct_size == sizeof(kiln_entry_desc),
         e->fn != NULL);
  printf("entry_workspace_matches_macro %d\n",
         e->workspace_bytes == TINY_WORKSPACE_BYTES);
  printf("counts_match_macros %d\n", e->num_inputs == TINY_NUM_INPUTS &&
                                         e->num_outputs == TINY_NUM_OUTPUTS);

  static const int64_t in0[] = TINY_INPUT0_DIMS, in1[] = TINY_INPUT1_DIMS;
  static const int64_t out0[] = TINY_OUTPUT0_DIMS, out1[] = TINY_OUTPUT1_DIMS;
  print_info("input", 0, &e->inputs[0], TINY_INPUT0_NAME, TINY_INPUT0_DTYPE,
             TINY_INPUT0_RANK, in0, TINY_INPUT0_SIZE);
  print_info("input", 1, &e->inputs[1], TINY_INPUT1_NAME, TINY_INPUT1_DTYPE,
             TINY_INPUT1_RANK, in1, TINY_INPUT1_SIZE);
  print_info("output", 0, &e->outputs[0], TINY_OUTPUT0_NAME,
             TINY_OUTPUT0_DTYPE, TINY_OUTPUT0_RANK, out0, TINY_OUTPUT0_SIZE);
  print_info("output", 1, &e->outputs[1], TINY_OUTPUT1_NAME,
             TINY_OUTPUT1_DTYPE, TINY_OUTPUT1_RANK, out1, TINY_OUTPUT1_SIZE);

  kiln_context *ctx = NULL;
  kiln_status_code s = kiln_context_create(NULL, &ctx);
  if (s == KILN_OK)
    s = kiln_context_reserve(ctx, tiny_descriptor());
  if (s == KILN_OK) {
    printf("context_workspace_ok %d\n",
           kiln_context_workspace_bytes(ctx) >= TINY_WORKSPACE_BYTES);
    /* Poison the outputs: every element must be written. */
    for (int i = 0; i < TINY_OUTPUT0_SIZE; ++i)
      probs[i] = -1234.0f;
    for (int i = 0; i < TINY_OUTPUT1_SIZE; ++i)
      sums[i] = -1234.0f;
    s = tiny_run(ctx, x, idx, probs, sums);
  }
  if (s != KILN_OK) {
    printf("FAILED: %s: %s\n", kiln_status_string(s),
           kiln_last_error_message());
    kiln_context_destroy(ctx);
    return 1;
  }
  printf("out/probs:");
  for (int i = 0; i < TINY_OUTPUT0_SIZE; ++i)
    printf(" %.9g", (double)probs[i]);
  printf("\nsum:0:");
  for (int i = 0; i < TINY_OUTPUT1_SIZE; ++i)
    printf(" %.9g", (double)sums[i]);
  printf("\n");

  /* A second run with other inputs: results follow the inputs. */
  for (int i = 0; i < TINY_INPUT0_SIZE; ++i)
    x[i] = (float)i;
  idx[0] = 0, idx[1] = 7; /* 7 is out of range: gather clamps to row 1 */
  s = tiny_run(ctx, x, idx, probs, sums);
  if (s != KILN_OK) {
    printf("FAILED: %s: %s\n", kiln_status_string(s),
           kiln_last_error_message());
    kiln_context_destroy(ctx);
    return 1;
  }
  printf("run2 out/probs:");
  for (int i = 0; i < TINY_OUTPUT0_SIZE; ++i)
    printf(" %.9g", (double)probs[i]);
  printf("\nrun2 sum:0:");
  for (int i = 0; i < TINY_OUTPUT1_SIZE; ++i)
    printf(" %.9g", (double)sums[i]);
  printf("\n");
  kiln_context_destroy(ctx);
  return 0;
}
