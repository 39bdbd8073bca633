/* truncate_replay: a sequence of STEPS tokens, then kiln_state_truncate to
 * KEEP and the same tokens again from there. The replayed steps must give
 * logits within cosine 0.99 of the first pass (a QJL cache reads the keys
 * that left its ring from their sketches: near, not equal) and the
 * length must follow.
 *
 *   truncate_replay STEPS KEEP   (prints the replayed steps' min cosine and
 *                                 max |diff|, or what failed) */
#include "decoder.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define VOCAB DECODER_OUTPUT0_SIZE
#define MAX_STEPS 256

static float first[MAX_STEPS][VOCAB], second[MAX_STEPS][VOCAB];

static int step(kiln_context *ctx, kiln_state *state, int i, float *out) {
  int64_t token = (int64_t)(i * 37 + 11) % VOCAB;
  int64_t position = kiln_state_length(state);
  if (position != i) {
    printf("step %d: length %lld\n", i, (long long)position);
    return 1;
  }
  if (decoder_decode(ctx, state, &token, &position, out) != KILN_OK) {
    printf("step %d: %s\n", i, kiln_last_error_message());
    return 1;
  }
  return 0;
}

int main(int argc, char **argv) {
  int steps = argc > 2 ? atoi(argv[1]) : 0, keep = argc > 2 ? atoi(argv[2]) : 0;
  if (steps < 2 || steps > MAX_STEPS || keep < 0 || keep >= steps) {
    fprintf(stderr, "usage: %s STEPS KEEP (0 <= KEEP < STEPS <= %d)\n",
            argv[0], MAX_STEPS);
    return 2;
  }
  kiln_context *ctx = NULL;
  kiln_state *state = NULL;
  int status = 1;
  if (kiln_context_create(NULL, &ctx) != KILN_OK ||
      decoder_state_create(&state) != KILN_OK) {
    printf("setup: %s\n", kiln_last_error_message());
    goto done;
  }
  for (int i = 0; i < steps; ++i)
    if (step(ctx, state, i, first[i]))
      goto done;
  if (kiln_state_truncate(state, keep) != KILN_OK) {
    printf("truncate: %s\n", kiln_last_error_message());
    goto done;
  }
  for (int i = keep; i < steps; ++i)
    if (step(ctx, state, i, second[i]))
      goto done;
  double worst = 1.0, diff = 0.0;
  for (int i = keep; i < steps; ++i) {
    double ab = 0, aa = 0, bb = 0;
    for (int v = 0; v < VOCAB; ++v) {
      ab += (double)first[i][v] * second[i][v];
      aa += (double)first[i][v] * first[i][v];
      bb += (double)second[i][v] * second[i][v];
      double d = fabs((double)first[i][v] - second[i][v]);
      diff = d > diff ? d : diff;
    }
    double c = ab / sqrt(aa * bb);
    worst = c < worst ? c : worst;
  }
  printf("replayed %d steps: min cosine %s, max |diff| %s\n", steps - keep,
         worst >= 0.99 ? ">= 0.99" : "< 0.99", diff > 0 ? "> 0" : "0");
  status = worst >= 0.99 ? 0 : 1;
done:
  kiln_state_destroy(state);
  kiln_context_destroy(ctx);
  return status;
}
