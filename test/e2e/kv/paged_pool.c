/* paged_pool: sequences sharing one pool of paged KV blocks (kiln compile
 * --kv-block) give, step for step, the bit-identical logits each gives
 * alone on a private cache; the pool hands out a block per
 * DECODER_KV_BLOCK_TOKENS tokens, refuses a call it cannot serve (the
 * sequence's length unchanged) and serves it once another sequence is
 * reset.
 *
 *   paged_pool STEPS   (3 sequences of STEPS tokens interleaved in one
 *                       pool, then a 4th that outgrows what is left) */
#include "decoder.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VOCAB DECODER_OUTPUT0_SIZE
#define MAX_STEPS DECODER_MAX_SEQ_LEN
#define SEQS 4

static float alone[SEQS][MAX_STEPS][VOCAB];
static float shared[SEQS][MAX_STEPS][VOCAB];

static int64_t argmax(const float *v, int64_t n) {
  int64_t best = 0;
  for (int64_t i = 1; i < n; ++i)
    if (v[i] > v[best])
      best = i;
  return best;
}

/* Sequence s's token at step i: a short prompt of its own, then greedy. */
static int64_t token_at(int s, int i, float (*logits)[VOCAB]) {
  return i < 3 ? (int64_t)(7 * s + 3 * i + 1) % VOCAB
               : argmax(logits[i - 1], VOCAB);
}

static kiln_status_code step(kiln_context *ctx, kiln_state *state, int s,
                             int i, float (*logits)[VOCAB]) {
  int64_t token = token_at(s, i, logits);
  int64_t position = kiln_state_length(state);
  return decoder_decode(ctx, state, &token, &position, logits[i]);
}

static int64_t blocks_for(int64_t tokens) {
  return (tokens + DECODER_KV_BLOCK_TOKENS - 1) / DECODER_KV_BLOCK_TOKENS;
}

static int fail(const char *what) {
  printf("paged_pool: %s: %s\n", what, kiln_last_error_message());
  return 1;
}

int main(int argc, char **argv) {
  int steps = argc > 1 ? atoi(argv[1]) : 0;
  if (steps < 4 || steps > MAX_STEPS) {
    fprintf(stderr, "usage: %s STEPS(4..%d)\n", argv[0], MAX_STEPS);
    return 2;
  }
  kiln_context *ctx = NULL;
  kiln_kv_pool *pool = NULL;
  kiln_state *seq[SEQS] = {NULL};
  int status = 1;
  if (kiln_context_create(NULL, &ctx) != KILN_OK ||
      kiln_context_reserve(ctx, decoder_descriptor()) != KILN_OK) {
    status = fail("context");
    goto done;
  }
  /* Each sequence alone, on a cache of its own (a private pool). */
  for (int s = 0; s < SEQS; ++s) {
    kiln_state *state = NULL;
    if (decoder_state_create(&state) != KILN_OK)
      return fail("state");
    for (int i = 0; i < steps; ++i)
      if (step(ctx, state, s, i, alone[s]) != KILN_OK) {
        kiln_state_destroy(state);
        return fail("alone");
      }
    kiln_state_destroy(state);
  }
  if (decoder_kv_pool_create(&pool) != KILN_OK) {
    status = fail("pool");
    goto done;
  }
  int64_t blocks = kiln_kv_pool_blocks(pool);
  printf("pool: %lld blocks of %lld tokens\n", (long long)blocks,
         (long long)kiln_kv_pool_block_tokens(pool));
  for (int s = 0; s < SEQS; ++s)
    if (kiln_state_create_in_pool(pool, &seq[s]) != KILN_OK) {
      status = fail("state in pool");
      goto done;
    }
  /* Sequences 0-2 interleaved, one token each in turn. */
  for (int i = 0; i < steps; ++i)
    for (int s = 0; s < 3; ++s) {
      if (step(ctx, seq[s], s, i, shared[s]) != KILN_OK) {
        status = fail("interleaved");
        goto done;
      }
      int64_t held = 3 * blocks_for(i + 1) - (s < 2 ? 2 - s : 0) *
                                                 (blocks_for(i + 1) -
                                                  blocks_for(i));
      if (kiln_kv_pool_free_blocks(pool) != blocks - held) {
        printf("step %d, sequence %d: %lld free blocks, expected %lld\n", i,
               s, (long long)kiln_kv_pool_free_blocks(pool),
               (long long)(blocks - held));
        goto done;
      }
    }
  /* Sequence 3 grows until the pool runs dry: the call fails, its length
   * stays; resetting sequence 0 returns its blocks and the call goes
   * through. */
  int refused = -1;
  for (int i = 0; i < steps; ++i) {
    kiln_status_code code = step(ctx, seq[3], 3, i, shared[3]);
    if (code == KILN_ERROR_OUT_OF_MEMORY && refused < 0) {
      refused = i;
      printf("refused at token %d: %s\n", i, kiln_last_error_message());
      if (kiln_state_length(seq[3]) != i) {
        printf("the refused call changed the length\n");
        goto done;
      }
      if (kiln_state_reset(seq[0]) != KILN_OK) {
        status = fail("reset");
        goto done;
      }
      code = step(ctx, seq[3], 3, i, shared[3]);
    }
    if (code != KILN_OK) {
      status = fail("sequence 3");
      goto done;
    }
  }
  if (refused < 0) {
    printf("the pool never ran out\n");
    goto done;
  }
  for (int s = 0; s < SEQS; ++s)
    for (int i = 0; i < steps; ++i)
      if (memcmp(alone[s][i], shared[s][i], sizeof alone[s][i]) != 0) {
        printf("sequence %d differs from its own cache at step %d\n", s, i);
        goto done;
      }
  if (kiln_kv_pool_destroy(pool) != KILN_ERROR_INVALID_ARGUMENT) {
    printf("a pool in use was destroyed\n");
    pool = NULL;
    goto done;
  }
  printf("paged ok: %d sequences, %d steps each\n", SEQS, steps);
  status = 0;
done:
  for (int s = 0; s < SEQS; ++s)
    kiln_state_destroy(seq[s]);
  if (pool && kiln_kv_pool_destroy(pool) != KILN_OK)
    status = fail("destroy");
  kiln_context_destroy(ctx);
  return status;
}
