/* Bad arguments through the generated API and the checked-tensor API of the
 * `tiny` model (Inputs/tiny.mlir, --name tiny) give a clear status and
 * message, never a crash, and leave the outputs untouched. Each case prints
 *   <case>: <status string>: <kiln_last_error_message()>
 */
#include "tiny.h"

#include <stdio.h>
#include <string.h>

static _Alignas(KILN_ALIGNMENT) float x[TINY_INPUT0_SIZE + 16] = {1, 2, 3,
                                                                  -4, 5, 0.5f};
static _Alignas(KILN_ALIGNMENT) int64_t idx[TINY_INPUT1_SIZE + 16] = {1, -2};
static _Alignas(KILN_ALIGNMENT) float probs[TINY_OUTPUT0_SIZE + 16];
static _Alignas(KILN_ALIGNMENT) float sums[TINY_OUTPUT1_SIZE + 16];

static void report(const char *what, kiln_status_code s) {
  printf("%s: %s: %s\n", what, kiln_status_string(s),
         s == KILN_OK ? "" : kiln_last_error_message());
}

static void poison(void) {
  for (int i = 0; i < TINY_OUTPUT0_SIZE; ++i)
    probs[i] = -1234.0f;
  for (int i = 0; i < TINY_OUTPUT1_SIZE; ++i)
    sums[i] = -1234.0f;
}

static int poisoned(void) {
  for (int i = 0; i < TINY_OUTPUT0_SIZE; ++i)
    if (probs[i] != -1234.0f)
      return 0;
  for (int i = 0; i < TINY_OUTPUT1_SIZE; ++i)
    if (sums[i] != -1234.0f)
      return 0;
  return 1;
}

/* Tensors that match the descriptor; cases then break one field. */
static void good_tensors(kiln_tensor in[2], kiln_tensor out[2]) {
  const kiln_entry_desc *e = &tiny_descriptor()->entries[0];
  kiln_tensor_init_from_info(&in[0], &e->inputs[0], x);
  kiln_tensor_init_from_info(&in[1], &e->inputs[1], idx);
  kiln_tensor_init_from_info(&out[0], &e->outputs[0], probs);
  kiln_tensor_init_from_info(&out[1], &e->outputs[1], sums);
}

int main(void) {
  kiln_context *ctx = NULL;
  kiln_status_code s = kiln_context_create(NULL, &ctx);
  if (s != KILN_OK)
    return 1;
  const kiln_model_desc *d = tiny_descriptor();
  poison();

  /* The generated tiny_run(). */
  report("null ctx", tiny_run(NULL, x, idx, probs, sums));
  report("null input 0", tiny_run(ctx, NULL, idx, probs, sums));
  report("null input 1", tiny_run(ctx, x, NULL, probs, sums));
  report("null output 0", tiny_run(ctx, x, idx, NULL, sums));
  report("null output 1", tiny_run(ctx, x, idx, probs, NULL));
  report("misaligned input 0",
         tiny_run(ctx, (const float *)((const char *)x + 1), idx, probs, sums));
  report("misaligned input 1",
         tiny_run(ctx, x, (const int64_t *)((const char *)idx + 4), probs,
                  sums));
  report("misaligned output 1",
         tiny_run(ctx, x, idx, probs, (float *)((char *)sums + 2)));
  printf("outputs untouched %d\n", poisoned());

  /* Generic entry points. */
  const void *ins[2] = {x, idx};
  void *outs[2] = {probs, sums};
  report("null desc", kiln_model_run(ctx, NULL, ins, outs));
  report("null input array", kiln_model_run(ctx, d, NULL, outs));
  report("null output array", kiln_model_run(ctx, d, ins, NULL));
  report("entry 1", kiln_model_run_entry(ctx, d, 1, ins, outs));
  report("entry -1", kiln_model_run_entry(ctx, d, -1, ins, outs));
  kiln_model_desc stale = *d;
  stale.abi_version = KILN_ABI_VERSION + 1;
  report("abi mismatch", kiln_model_run(ctx, &stale, ins, outs));
  report("reserve null ctx", kiln_context_reserve(NULL, d));
  report("reserve null desc", kiln_context_reserve(ctx, NULL));

  /* Checked tensors. */
  kiln_tensor in[2], out[2];
  good_tensors(in, out);
  in[0].dims[0] = 3, in[0].dims[1] = 2;
  report("shape input 0", kiln_model_run_tensors(ctx, d, in, 2, out, 2));
  good_tensors(in, out);
  in[0].rank = 1, in[0].dims[0] = 6;
  report("rank input 0", kiln_model_run_tensors(ctx, d, in, 2, out, 2));
  good_tensors(in, out);
  in[1].rank = 2, in[1].dims[1] = 1;
  report("rank input 1", kiln_model_run_tensors(ctx, d, in, 2, out, 2));
  good_tensors(in, out);
  out[1].dims[0] = 4;
  report("shape output 1", kiln_model_run_tensors(ctx, d, in, 2, out, 2));
  good_tensors(in, out);
  in[1].dtype = KILN_DTYPE_I32;
  report("dtype input 1", kiln_model_run_tensors(ctx, d, in, 2, out, 2));
  good_tensors(in, out);
  out[0].dtype = KILN_DTYPE_F64;
  report("dtype output 0", kiln_model_run_tensors(ctx, d, in, 2, out, 2));
  good_tensors(in, out);
  in[0].dtype = 99;
  report("bad dtype input 0", kiln_model_run_tensors(ctx, d, in, 2, out, 2));
  good_tensors(in, out);
  in[0].rank = 9;
  report("rank 9 input 0", kiln_model_run_tensors(ctx, d, in, 2, out, 2));
  good_tensors(in, out);
  in[0].data = (char *)x + 2;
  report("misaligned tensor", kiln_model_run_tensors(ctx, d, in, 2, out, 2));
  good_tensors(in, out);
  out[1].data = NULL;
  report("null tensor data", kiln_model_run_tensors(ctx, d, in, 2, out, 2));
  good_tensors(in, out);
  report("one input", kiln_model_run_tensors(ctx, d, in, 1, out, 2));
  report("three outputs", kiln_model_run_tensors(ctx, d, in, 2, out, 3));
  report("null tensors", kiln_model_run_tensors(ctx, d, NULL, 2, out, 2));
  report("null ctx tensors", kiln_model_run_tensors(NULL, d, in, 2, out, 2));
  printf("outputs untouched %d\n", poisoned());

  /* Name lookup. */
  int32_t index = 42;
  report("find input idx", kiln_model_find_input(d, "idx", &index));
  printf("index %d\n", (int)index);
  report("find output sum:0", kiln_model_find_output(d, "sum:0", &index));
  printf("index %d\n", (int)index);
  report("find input nosuch", kiln_model_find_input(d, "nosuch", &index));
  printf("index %d\n", (int)index);

  /* Still usable after all of that. */
  report("good run", tiny_run(ctx, x, idx, probs, sums));
  printf("out/probs %.9g %.9g %.9g %.9g %.9g %.9g\n", (double)probs[0], (double)probs[1],
         (double)probs[2], (double)probs[3], (double)probs[4],
         (double)probs[5]);
  good_tensors(in, out);
  poison();
  report("good run tensors", kiln_model_run_tensors(ctx, d, in, 2, out, 2));
  printf("sum:0 %.9g %.9g %.9g %.9g %.9g\n", (double)sums[0], (double)sums[1],
         (double)sums[2], (double)sums[3], (double)sums[4]);
  kiln_context_destroy(ctx);
  return 0;
}
