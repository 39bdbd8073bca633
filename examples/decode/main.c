/* decode: greedy token generation with a kiln-compiled decoder that owns
 * its KV cache, through the generated header only.
 *
 *   kiln compile decoder.onnx -o out/decoder.o --name decoder \
 *       --shape seq=1 --shape past_seq=1 --max-seq-len 256
 *   cc -std=c11 -Iout -I<kiln>/include main.c out/decoder.o \
 *       -lkiln_runtime -lm -lpthread -ldl -o decode
 *   ./decode 12 5 7 9        (generate 12 tokens after the prompt 5 7 9)
 *
 * The model takes input_ids and position_ids ([1, 1] int64) and returns
 * logits [1, 1, vocab]; its past/present key-value tensors live in a
 * kiln_state that every decoder_decode() call appends one token to. */
#include "decoder.h"

#include <stdio.h>
#include <stdlib.h>

#define VOCAB DECODER_OUTPUT0_SIZE

static int64_t argmax(const float *v, int64_t n) {
  int64_t best = 0;
  for (int64_t i = 1; i < n; ++i)
    if (v[i] > v[best])
      best = i;
  return best;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s NEW_TOKENS PROMPT_ID...\n", argv[0]);
    return 2;
  }
  int generate = atoi(argv[1]);
  kiln_context *ctx = NULL;
  kiln_state *state = NULL;
  static float logits[VOCAB];
  int status = 1;
  if (kiln_context_create(NULL, &ctx) != KILN_OK ||
      kiln_context_reserve(ctx, decoder_descriptor()) != KILN_OK ||
      decoder_state_create(&state) != KILN_OK) {
    fprintf(stderr, "decode: %s\n", kiln_last_error_message());
    goto done;
  }
  int64_t token = 0;
  int prompt = argc - 2;
  printf("tokens:");
  for (int i = 0; i < prompt + generate; ++i) {
    /* The prompt first, then each step's argmax. */
    if (i < prompt)
      token = strtoll(argv[2 + i], NULL, 10);
    int64_t position = kiln_state_length(state);
    printf(" %lld", (long long)token);
    if (i + 1 == prompt + generate)
      break;
    if (decoder_decode(ctx, state, &token, &position, logits) != KILN_OK) {
      fprintf(stderr, "\ndecode: step %d: %s\n", i, kiln_last_error_message());
      goto done;
    }
    token = argmax(logits, VOCAB);
  }
  printf("\n");
  status = 0;
done:
  kiln_state_destroy(state);
  kiln_context_destroy(ctx);
  return status;
}
