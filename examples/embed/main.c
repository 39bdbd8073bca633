/*===- main.c - run a kiln-compiled MNIST model from a C program ----------===*
 *
 * Usage: embed <input.npy> [num_threads]
 *
 * Reads one float32 image from a NumPy .npy file, runs the model compiled by
 * `kiln compile mnist.onnx -o out/mnist.o --name mnist` once to warm up and
 * NUM_TIMED_RUNS times to time it, then prints the logits, the predicted
 * class and the median/min time per run. Needs only libc, libkiln_runtime
 * and the two generated files, out/mnist.o and out/mnist.h.
 *===----------------------------------------------------------------------===*/
#define _POSIX_C_SOURCE 200809L

#include "mnist.h" /* generated: mnist_descriptor(), mnist_run(), shapes */

#include <kiln/runtime.h>

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NUM_TIMED_RUNS 100

/*===----------------------------------------------------------------------===*
 * A small .npy reader
 *
 * Format (numpy.lib.format): "\x93NUMPY", major and minor version bytes, the
 * header length (uint16 LE in v1, uint32 LE in v2/v3), then a Python dict
 * literal such as {'descr': '<f4', 'fortran_order': False, 'shape': (1, 784), }
 * padded with spaces and a newline, then the raw data.
 *===----------------------------------------------------------------------===*/

/* Largest header accepted: real ones are ~100 bytes; v1 allows 64 KiB. */
#define NPY_MAX_HEADER (1u << 20)
#define NPY_MAX_DIMS 32

typedef struct npy_error {
  char text[512];
} npy_error;

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static int
npy_fail(npy_error *err, const char *fmt, ...) {
  va_list args;
  va_start(args, fmt);
  vsnprintf(err->text, sizeof(err->text), fmt, args);
  va_end(args);
  return -1;
}

static const char *skip_space(const char *s) {
  while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
    ++s;
  return s;
}

/* Returns the text after `'key':` in the header dict, or NULL. Keys are
 * quoted with ' by NumPy; accept " as well. */
static const char *npy_find_value(const char *header, const char *key) {
  size_t len = strlen(key);
  for (const char *s = header; (s = strpbrk(s, "'\"")) != NULL; ++s) {
    char quote = *s;
    if (strncmp(s + 1, key, len) == 0 && s[1 + len] == quote) {
      const char *v = skip_space(s + 2 + len);
      return *v == ':' ? skip_space(v + 1) : NULL;
    }
  }
  return NULL;
}

/* Parses the header dict: checks dtype and order, returns the element count
 * and the shape as text (for messages). */
static int npy_parse_header(const char *header, int64_t *count, int *byteswap,
                            char *shape_text, size_t shape_size,
                            npy_error *err) {
  const char *descr = npy_find_value(header, "descr");
  if (!descr || (*descr != '\'' && *descr != '"'))
    return npy_fail(err, "header has no 'descr' string");
  char dtype[16] = {0};
  size_t n = 0;
  for (const char *s = descr + 1; *s && *s != *descr && n < sizeof(dtype) - 1;)
    dtype[n++] = *s++;
  /* '<f4' is float32 little-endian; accept '>f4' too and swap bytes if the
   * host's order differs. */
  if (strcmp(dtype, "<f4") != 0 && strcmp(dtype, ">f4") != 0)
    return npy_fail(err,
                    "dtype is '%s', expected '<f4' (float32); convert with "
                    "x.astype('<f4')",
                    dtype);
  const uint16_t probe = 1;
  int host_little = *(const unsigned char *)&probe == 1;
  *byteswap = (dtype[0] == '<') != host_little;

  const char *order = npy_find_value(header, "fortran_order");
  if (!order)
    return npy_fail(err, "header has no 'fortran_order'");
  if (strncmp(order, "False", 5) != 0)
    return npy_fail(err, "array is in Fortran order; save a C-order array "
                         "(np.ascontiguousarray)");

  const char *shape = npy_find_value(header, "shape");
  if (!shape || *shape != '(')
    return npy_fail(err, "header has no 'shape' tuple");
  int64_t total = 1;
  int dims = 0;
  size_t used = 0;
  shape_text[0] = '\0';
  const char *s = skip_space(shape + 1);
  while (*s != ')') {
    char *end = NULL;
    errno = 0;
    long long d = strtoll(s, &end, 10);
    if (end == s || errno || d < 0 || ++dims > NPY_MAX_DIMS)
      return npy_fail(err, "bad 'shape' in header: %.64s", shape);
    if (d != 0 && total > INT64_MAX / d)
      return npy_fail(err, "shape %.64s is too large", shape);
    total *= d;
    if (used < shape_size)
      used += (size_t)snprintf(shape_text + used, shape_size - used,
                               used ? "x%lld" : "%lld", d);
    s = skip_space(end);
    if (*s == ',')
      s = skip_space(s + 1);
    else if (*s != ')')
      return npy_fail(err, "bad 'shape' in header: %.64s", shape);
  }
  if (dims == 0)
    snprintf(shape_text, shape_size, "scalar");
  *count = total;
  return 0;
}

/* Reads `expected` float32 values from the .npy file at `path` into `out`;
 * `expected_shape` only serves the error message. */
static int npy_read_f32(const char *path, float *out, int64_t expected,
                        const char *expected_shape, npy_error *err) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return npy_fail(err, "cannot open '%s': %s", path, strerror(errno));
  int rc = -1;
  char *header = NULL;
  unsigned char prefix[10];
  if (fread(prefix, 1, 8, f) != 8 || memcmp(prefix, "\x93NUMPY", 6) != 0) {
    npy_fail(err, "'%s' is not a .npy file (bad magic)", path);
    goto done;
  }
  uint32_t header_len;
  unsigned major = prefix[6];
  if (major == 1) {
    if (fread(prefix + 8, 1, 2, f) != 2)
      goto truncated;
    header_len = prefix[8] | (uint32_t)prefix[9] << 8;
  } else if (major == 2 || major == 3) {
    unsigned char len[4];
    if (fread(len, 1, 4, f) != 4)
      goto truncated;
    header_len = len[0] | (uint32_t)len[1] << 8 | (uint32_t)len[2] << 16 |
                 (uint32_t)len[3] << 24;
  } else {
    npy_fail(err, "'%s': unsupported .npy format version %u", path, major);
    goto done;
  }
  if (header_len == 0 || header_len > NPY_MAX_HEADER) {
    npy_fail(err, "'%s': implausible header length", path);
    goto done;
  }
  header = malloc(header_len + 1);
  if (!header) {
    npy_fail(err, "out of memory");
    goto done;
  }
  if (fread(header, 1, header_len, f) != header_len)
    goto truncated;
  header[header_len] = '\0';

  int64_t count = 0;
  int byteswap = 0;
  char shape[128];
  if (npy_parse_header(header, &count, &byteswap, shape, sizeof(shape), err))
    goto done;
  if (count != expected) {
    npy_fail(err,
             "'%s' has %lld elements (shape %s), the model expects %lld "
             "(float32[%s])",
             path, (long long)count, shape, (long long)expected,
             expected_shape);
    goto done;
  }
  if (fread(out, sizeof(float), (size_t)count, f) != (size_t)count)
    goto truncated;
  if (byteswap) {
    for (int64_t i = 0; i < count; ++i) {
      unsigned char *b = (unsigned char *)&out[i], t;
      t = b[0], b[0] = b[3], b[3] = t;
      t = b[1], b[1] = b[2], b[2] = t;
    }
  }
  rc = 0;
  goto done;
truncated:
  npy_fail(err, "'%s' is truncated", path);
done:
  free(header);
  fclose(f);
  return rc;
}

/*===----------------------------------------------------------------------===*
 * Timing
 *===----------------------------------------------------------------------===*/

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

static int compare_doubles(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/*===----------------------------------------------------------------------===*
 * main
 *===----------------------------------------------------------------------===*/

/* Buffers for the model: KILN_ALIGNMENT-aligned, which is more than the
 * runtime requires (element alignment) and what the kernels like. */
static _Alignas(KILN_ALIGNMENT) float input[MNIST_INPUT0_SIZE];
static _Alignas(KILN_ALIGNMENT) float logits[MNIST_OUTPUT0_SIZE];

static int runtime_error(const char *what, kiln_status_code status) {
  fprintf(stderr, "embed: %s failed: %s: %s\n", what,
          kiln_status_string(status), kiln_last_error_message());
  return 1;
}

int main(int argc, char **argv) {
  if (argc < 2 || argc > 3) {
    fprintf(stderr,
            "usage: %s <input.npy> [num_threads]\n"
            "  input.npy    float32 array of %d elements (C order), e.g. "
            "shape (1, 1, 28, 28)\n"
            "  num_threads  threads to run on, 0 = all CPUs (default)\n",
            argv[0], MNIST_INPUT0_SIZE);
    return 2;
  }
  int32_t num_threads = 0;
  if (argc == 3) {
    char *end = NULL;
    errno = 0;
    long n = strtol(argv[2], &end, 10);
    if (errno || end == argv[2] || *end || n < 0 || n > KILN_MAX_THREADS) {
      fprintf(stderr, "embed: num_threads must be an integer in [0, %d]\n",
              KILN_MAX_THREADS);
      return 2;
    }
    num_threads = (int32_t)n;
  }

  /* A runtime library older or newer than the headers we compiled with
   * would misread descriptors: check before anything else. */
  if (kiln_runtime_abi_version() != KILN_ABI_VERSION) {
    fprintf(stderr, "embed: runtime ABI %u, headers ABI %u: rebuild\n",
            (unsigned)kiln_runtime_abi_version(), (unsigned)KILN_ABI_VERSION);
    return 1;
  }

  static const int64_t input_dims[MNIST_INPUT0_RANK] = MNIST_INPUT0_DIMS;
  char input_shape[128] = "";
  for (int i = 0, used = 0; i < MNIST_INPUT0_RANK && used < 100; ++i)
    used += snprintf(input_shape + used, sizeof(input_shape) - (size_t)used,
                     i ? "x%lld" : "%lld", (long long)input_dims[i]);

  npy_error err = {{0}};
  if (npy_read_f32(argv[1], input, MNIST_INPUT0_SIZE, input_shape, &err) != 0) {
    fprintf(stderr, "embed: %s\n", err.text);
    return 2;
  }

  /* 1. A context: thread pool + workspace. */
  kiln_context_options opts;
  kiln_context_options_init(&opts);
  opts.num_threads = num_threads;
  kiln_context *ctx = NULL;
  kiln_status_code status = kiln_context_create(&opts, &ctx);
  if (status != KILN_OK)
    return runtime_error("kiln_context_create", status);

  /* 2. Allocate the workspace now, so that runs do not allocate. */
  int rc = 1;
  status = kiln_context_reserve(ctx, mnist_descriptor());
  if (status != KILN_OK) {
    rc = runtime_error("kiln_context_reserve", status);
    goto out;
  }

  /* 3. Warm up (first touch of the weights and workspace), then time. */
  status = mnist_run(ctx, input, logits);
  if (status != KILN_OK) {
    rc = runtime_error("mnist_run", status);
    goto out;
  }
  double times[NUM_TIMED_RUNS];
  for (int i = 0; i < NUM_TIMED_RUNS; ++i) {
    double start = now_ms();
    status = mnist_run(ctx, input, logits);
    times[i] = now_ms() - start;
    if (status != KILN_OK) {
      rc = runtime_error("mnist_run", status);
      goto out;
    }
  }
  qsort(times, NUM_TIMED_RUNS, sizeof(double), compare_doubles);
  double median =
      NUM_TIMED_RUNS % 2
          ? times[NUM_TIMED_RUNS / 2]
          : (times[NUM_TIMED_RUNS / 2 - 1] + times[NUM_TIMED_RUNS / 2]) / 2;

  /* 4. Report. */
  int best = 0;
  printf("logits:");
  for (int i = 0; i < MNIST_OUTPUT0_SIZE; ++i) {
    printf(" %.4f", (double)logits[i]);
    if (logits[i] > logits[best])
      best = i;
  }
  printf("\npredicted class: %d\n", best);
  printf("time per run: median %.4f ms, min %.4f ms (%d runs, %d threads)\n",
         median, times[0], NUM_TIMED_RUNS, (int)kiln_context_num_threads(ctx));
  rc = 0;
out:
  kiln_context_destroy(ctx);
  return rc;
}
