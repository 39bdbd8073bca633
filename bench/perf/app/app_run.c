/*===- app_run.c - a kiln model as an embedding app runs it ---------------===*
 *
 * Usage: app_run MODEL.so THREADS RUNS [NAME=raw.bin ...]
 *
 * The peak-memory side of bench/perf: a C program linked only against the
 * kiln runtime (static, exported with -rdynamic so that the model's parallel
 * loops find it), as an app ships it. `kiln bench` maps the whole
 * compiler (libLLVM, libMLIR), which says nothing about what running a
 * compiled model costs. Loads the model, fills each input from its raw file
 * (NAME=path, little-endian, exactly the descriptor's byte size; inputs not
 * given are zero), does RUNS runs and prints one JSON line:
 *   baseline_rss_mb  resident set before kiln_model_load (libc, the runtime)
 *   peak_rss_mb      ru_maxrss after the runs
 *   median_ms        of the RUNS runs (a sanity check, not the benchmark).
 * Buffers come from calloc (16-byte aligned, enough for the runtime's
 * element-size check). Any failure prints the runtime's message and exits 1.
 *===----------------------------------------------------------------------===*/
#define _POSIX_C_SOURCE 200809L

#include <kiln/runtime.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static int fail(const char *what, const char *detail) {
  fprintf(stderr, "app_run: %s: %s\n", what, detail);
  return 1;
}

/* Current resident set in MiB from /proc/self/statm (pages). */
static double current_rss_mb(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  long size = 0, resident = 0;
  if (!f)
    return -1;
  int ok = fscanf(f, "%ld %ld", &size, &resident) == 2;
  fclose(f);
  return ok ? resident * 4096.0 / (1024.0 * 1024.0) : -1;
}

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec * 1e-6;
}

static int compare_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Bytes of a descriptor input or output, through the runtime's own
 * kiln_tensor helpers. */
static int64_t info_bytes(const kiln_tensor_info *info) {
  kiln_tensor t;
  return kiln_tensor_init_from_info(&t, info, NULL) == KILN_OK
             ? kiln_tensor_num_bytes(&t)
             : -1;
}

/* Reads exactly `bytes` from `path` into `dst`. */
static int read_raw(const char *path, void *dst, int64_t bytes) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return fail("cannot open", path);
  size_t got = fread(dst, 1, (size_t)bytes, f);
  int extra = fgetc(f) != EOF;
  fclose(f);
  if ((int64_t)got != bytes || extra)
    return fail("input file size differs from the model's input", path);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 4)
    return fail("usage", "app_run MODEL.so THREADS RUNS [NAME=raw.bin ...]");
  int threads = atoi(argv[2]), runs = atoi(argv[3]);
  if (threads < 0 || runs < 1)
    return fail("usage", "THREADS >= 0 and RUNS >= 1");
  double baseline = current_rss_mb();

  kiln_model *model = NULL;
  if (kiln_model_load(argv[1], NULL, &model) != KILN_OK)
    return fail("load", kiln_last_error_message());
  const kiln_model_desc *desc = kiln_model_descriptor(model);
  kiln_context_options options;
  kiln_context_options_init(&options);
  options.num_threads = threads;
  kiln_context *ctx = NULL;
  if (kiln_context_create(&options, &ctx) != KILN_OK ||
      kiln_context_reserve(ctx, desc) != KILN_OK)
    return fail("context", kiln_last_error_message());

  if (desc->num_states > 0)
    return fail("model", "keeps a KV cache; app_run times stateless models");
  const kiln_entry_desc *entry = &desc->entries[0];
  void **inputs = calloc((size_t)entry->num_inputs + 1, sizeof(void *));
  void **outputs = calloc((size_t)entry->num_outputs + 1, sizeof(void *));
  if (!inputs || !outputs)
    return fail("memory", "out of memory");
  /* Zeroed; padded so that no buffer is empty. */
  for (int32_t i = 0; i < entry->num_inputs; ++i)
    if (!(inputs[i] = calloc(1, (size_t)info_bytes(&entry->inputs[i]) + 64)))
      return fail("memory", "out of memory");
  for (int32_t i = 0; i < entry->num_outputs; ++i)
    if (!(outputs[i] = calloc(1, (size_t)info_bytes(&entry->outputs[i]) + 64)))
      return fail("memory", "out of memory");
  for (int a = 4; a < argc; ++a) {
    char *eq = strchr(argv[a], '=');
    if (!eq)
      return fail("expected NAME=raw.bin, got", argv[a]);
    *eq = '\0';
    int32_t index = -1;
    if (kiln_model_find_input(desc, argv[a], &index) != KILN_OK)
      return fail("input", kiln_last_error_message());
    if (read_raw(eq + 1, inputs[index], info_bytes(&entry->inputs[index])))
      return 1;
  }

  double *times = malloc(sizeof(double) * (size_t)runs);
  if (!times)
    return fail("memory", "out of memory");
  for (int r = 0; r < runs; ++r) {
    double t0 = now_ms();
    if (kiln_model_run(ctx, desc, (const void *const *)inputs, outputs) !=
        KILN_OK)
      return fail("run", kiln_last_error_message());
    times[r] = now_ms() - t0;
  }
  qsort(times, (size_t)runs, sizeof(double), compare_double);
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  printf("{\"baseline_rss_mb\": %.3f, \"peak_rss_mb\": %.3f, \"median_ms\": "
         "%.4f, \"runs\": %d, \"threads\": %d}\n",
         baseline, ru.ru_maxrss / 1024.0, times[runs / 2], runs,
         kiln_context_num_threads(ctx));
  kiln_context_destroy(ctx);
  kiln_model_unload(model);
  return 0;
}
