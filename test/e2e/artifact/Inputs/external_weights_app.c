/* One model compiled twice and linked into this program: `emb` with its
 * weights embedded, `ext` with --weights=external. Checks that ext refuses
 * to run until its weight file is loaded, that a missing, truncated, altered
 * or oversized file is refused with a status and a message, that loading is
 * idempotent and releasing works, and that ext's outputs equal emb's bit for
 * bit.
 *
 *   external_weights_app DIR     DIR holds ext.weights; the app writes its
 *                                damaged copies there too
 */
#define _POSIX_C_SOURCE 200809L
#include "emb.h"
#include "ext.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *read_file(const char *path, long *size) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  fseek(f, 0, SEEK_END);
  *size = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *data = malloc((size_t)*size);
  if (data && fread(data, 1, (size_t)*size, f) != (size_t)*size) {
    free(data);
    data = NULL;
  }
  fclose(f);
  return data;
}

static void write_file(const char *path, const char *data, long size) {
  FILE *f = fopen(path, "wb");
  if (!f || fwrite(data, 1, (size_t)size, f) != (size_t)size)
    exit(3);
  fclose(f);
}

static void report(const char *what, kiln_status_code s) {
  printf("%s: %s", what, kiln_status_string(s));
  if (s != KILN_OK)
    printf(": %s", kiln_last_error_message());
  printf("\n");
}

/* Runs ext and returns its status; outputs go to `out`. */
static float input[EXT_INPUT0_SIZE];
static kiln_status_code run_ext(kiln_context *ctx, float *out) {
  return ext_run(ctx, input, out);
}

int main(int argc, char **argv) {
  if (argc != 2)
    return 2;
  char good[4096], bad[4096];
  snprintf(good, sizeof(good), "%s/%s", argv[1], EXT_WEIGHTS_FILE);
  snprintf(bad, sizeof(bad), "%s/damaged.weights", argv[1]);
  long size = 0;
  char *bytes = read_file(good, &size);
  if (!bytes)
    return 3;

  const kiln_model_desc *d = ext_descriptor();
  printf("file '%s' size_matches %d checksum_nonzero %d slot %d\n",
         d->weights_file, (long)d->weights_file_bytes == size,
         d->weights_checksum != 0, d->weights_slot != NULL);
  printf("embedded model: file %d, ready %d\n",
         emb_descriptor()->weights_file != NULL,
         kiln_model_weights_ready(emb_descriptor()));
  printf("object smaller by weights: %d\n",
         d->weights_bytes + (uint64_t)size / 2 < emb_descriptor()->weights_bytes);

  for (int i = 0; i < EXT_INPUT0_SIZE; ++i)
    input[i] = (float)((i * 7) % 11 - 5) * 0.25f;
  static float want[EMB_OUTPUT0_SIZE], got[EXT_OUTPUT0_SIZE];
  kiln_context *ctx = NULL;
  if (kiln_context_create(NULL, &ctx) != KILN_OK)
    return 4;
  report("run emb", emb_run(ctx, input, want));

  printf("ready before load %d\n", kiln_model_weights_ready(d));
  report("run before load", run_ext(ctx, got));
  report("load NULL path", ext_load_weights(NULL));
  report("load weights of embedded model",
         kiln_model_load_weights(emb_descriptor(), good));
  report("load missing", ext_load_weights("/nonexistent/ext.weights"));
  write_file(bad, bytes, size - 1);
  report("load truncated", ext_load_weights(bad));
  write_file(bad, bytes, size);
  FILE *f = fopen(bad, "ab");
  fputc(0, f);
  fclose(f);
  report("load too long", ext_load_weights(bad));
  bytes[size / 2] ^= 0x10; /* one bit of one weight */
  write_file(bad, bytes, size);
  bytes[size / 2] ^= 0x10;
  report("load altered", ext_load_weights(bad));
  printf("ready after failures %d\n", kiln_model_weights_ready(d));

  report("load", ext_load_weights(good));
  report("load again (kept)", ext_load_weights(bad));
  printf("ready %d\n", kiln_model_weights_ready(d));
  report("run ext", run_ext(ctx, got));
  printf("outputs equal embedded: %d\n", memcmp(want, got, sizeof(got)) == 0);

  kiln_model_release_weights(d);
  printf("ready after release %d\n", kiln_model_weights_ready(d));
  report("run after release", run_ext(ctx, got));
  report("reload", ext_load_weights(good));
  memset(got, 0, sizeof(got));
  report("run after reload", run_ext(ctx, got));
  printf("outputs equal embedded: %d\n", memcmp(want, got, sizeof(got)) == 0);
  kiln_model_release_weights(d);
  kiln_context_destroy(ctx);
  free(bytes);
  return 0;
}
