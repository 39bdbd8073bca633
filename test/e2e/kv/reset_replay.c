/* reset_replay: a sequence fed through decoder_decode, then
 * kiln_state_reset and the same sequence again, must give bit-identical
 * logits: whatever a cache layout keeps between calls (ThinK's chosen
 * channels and pruned count, QJL's ring) must not leak into the next
 * sequence.
 *
 *   reset_replay STEPS TOKEN...   (feeds TOKEN... then its own argmax up
 *                                  to STEPS calls; prints "replay ok" or
 *                                  the first step that differs) */
#include "decoder.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VOCAB DECODER_OUTPUT0_SIZE
#define MAX_STEPS 64

static int64_t argmax(const float *v, int64_t n) {
  int64_t best = 0;
  for (int64_t i = 1; i < n; ++i)
    if (v[i] > v[best])
      best = i;
  return best;
}

/* Feeds `steps` tokens (the prompt, then greedy) from an empty state. */
static int run(kiln_context *ctx, kiln_state *state, int steps, int prompt,
               char **ids, float (*logits)[VOCAB]) {
  int64_t token = 0;
  for (int i = 0; i < steps; ++i) {
    token = i < prompt ? strtoll(ids[i], NULL, 10)
                       : argmax(logits[i - 1], VOCAB);
    int64_t position = kiln_state_length(state);
    if (decoder_decode(ctx, state, &token, &position, logits[i]) != KILN_OK) {
      fprintf(stderr, "reset_replay: step %d: %s\n", i,
              kiln_last_error_message());
      return 1;
    }
  }
  return 0;
}

int main(int argc, char **argv) {
  int steps = argc > 2 ? atoi(argv[1]) : 0;
  if (steps < 1 || steps > MAX_STEPS) {
    fprintf(stderr, "usage: %s STEPS(1..%d) TOKEN...\n", argv[0], MAX_STEPS);
    return 2;
  }
  static float first[MAX_STEPS][VOCAB], second[MAX_STEPS][VOCAB];
  kiln_context *ctx = NULL;
  kiln_state *state = NULL;
  int status = 1;
  if (kiln_context_create(NULL, &ctx) != KILN_OK ||
      kiln_context_reserve(ctx, decoder_descriptor()) != KILN_OK ||
      decoder_state_create(&state) != KILN_OK) {
    fprintf(stderr, "reset_replay: %s\n", kiln_last_error_message());
    goto done;
  }
  if (run(ctx, state, steps, argc - 2, argv + 2, first) ||
      kiln_state_reset(state) != KILN_OK ||
      run(ctx, state, steps, argc - 2, argv + 2, second))
    goto done;
  for (int i = 0; i < steps; ++i)
    if (memcmp(first[i], second[i], sizeof first[i]) != 0) {
      printf("replay differs at step %d\n", i);
      goto done;
    }
  printf("replay ok: %d steps\n", steps);
  status = 0;
done:
  kiln_state_destroy(state);
  kiln_context_destroy(ctx);
  return status;
}
