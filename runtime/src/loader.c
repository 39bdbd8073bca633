/*===- loader.c - models compiled to shared libraries ---------------------===*
 *
 * RTLD_LOCAL keeps each model's symbols (every artifact has its own
 * kernels and the same generic descriptor symbol) out of the global
 * namespace; RTLD_NOW reports a missing runtime symbol at load, not in the
 * middle of a run.
 *===----------------------------------------------------------------------===*/
#include "internal.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Longest model name: keeps "<name>_descriptor" in a fixed buffer. */
#define KILN_MAX_NAME 200

struct kiln_model {
  void *handle;
  const kiln_model_desc *desc;
  int weights_user; /* counted as a user of the external weights */
};

static int kiln_is_identifier(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n > KILN_MAX_NAME || (s[0] >= '0' && s[0] <= '9'))
    return 0;
  for (size_t i = 0; i < n; ++i) {
    char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
          (c >= '0' && c <= '9') || c == '_'))
      return 0;
  }
  return 1;
}

kiln_status_code kiln_model_load(const char *path, const char *name,
                                 kiln_model **out) {
  static const char fn[] = "kiln_model_load";
  if (!out)
    return kiln_error(KILN_ERROR_INVALID_ARGUMENT, "%s: out is NULL", fn);
  *out = NULL;
  if (!path || !*path)
    return kiln_error(KILN_ERROR_INVALID_ARGUMENT, "%s: path is %s", fn,
                      path ? "empty" : "NULL");
  char symbol[KILN_MAX_NAME + sizeof("_descriptor")];
  if (name) {
    if (!kiln_is_identifier(name))
      return kiln_error(KILN_ERROR_INVALID_ARGUMENT,
                        "%s: model name '%.*s' is not a C identifier of at "
                        "most %d characters",
                        fn, KILN_MAX_NAME, name, KILN_MAX_NAME);
    snprintf(symbol, sizeof(symbol), "%s_descriptor", name);
  } else {
    snprintf(symbol, sizeof(symbol), "%s", KILN_GENERIC_DESCRIPTOR_SYMBOL);
  }

  /* `path` names a file: without a '/', dlopen would search the library
   * path instead of the current directory. */
  char local[4096];
  const char *open_path = path;
  if (!strchr(path, '/')) {
    if (snprintf(local, sizeof(local), "./%s", path) >= (int)sizeof(local))
      return kiln_error(KILN_ERROR_INVALID_ARGUMENT, "%s: path too long", fn);
    open_path = local;
  }
  dlerror(); /* clear a stale error */
  void *handle = dlopen(open_path, RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char *why = dlerror();
    struct stat st;
    kiln_status_code code = stat(path, &st) != 0 && errno == ENOENT
                                ? KILN_ERROR_NOT_FOUND
                                : KILN_ERROR_IO;
    return kiln_error(code, "%s: cannot load '%s': %s", fn, path,
                      why ? why : "dlopen failed");
  }

  dlerror();
  void *sym = dlsym(handle, symbol);
  const char *why = dlerror();
  if (why || !sym) {
    kiln_error(KILN_ERROR_NOT_FOUND, "%s: '%s' does not export '%s'%s: %s", fn,
               path, symbol, name ? " (was it compiled with that --name?)" : "",
               why ? why : "symbol is NULL");
    dlclose(handle);
    return KILN_ERROR_NOT_FOUND;
  }
  /* POSIX guarantees data and function pointers convert; ISO C does not,
   * so copy the bits rather than cast. */
  kiln_descriptor_fn get;
  memcpy(&get, &sym, sizeof(get));
  const kiln_model_desc *desc = get();

  char prefix[64 + 512];
  snprintf(prefix, sizeof(prefix), "%s: '%.512s'", fn, path);
  kiln_status_code status =
      desc ? kiln_desc_validate(desc, prefix)
           : kiln_error(KILN_ERROR_INVALID_ARGUMENT, "%s: %s() returned NULL",
                        prefix, symbol);
  if (status != KILN_OK) {
    dlclose(handle);
    return status;
  }

  /* External weights live next to the library. */
  const char *weights = kiln_desc_weights_file(desc);
  if (weights) {
    const char *slash = strrchr(path, '/');
    int dir = slash ? (int)(slash - path) + 1 : 0;
    char weights_path[4096];
    if (snprintf(weights_path, sizeof(weights_path), "%.*s%s", dir, path,
                 weights) >= (int)sizeof(weights_path))
      status = kiln_error(KILN_ERROR_INVALID_ARGUMENT, "%s: path too long",
                          prefix);
    else
      status = kiln_weights_acquire(desc, weights_path);
    if (status != KILN_OK) {
      dlclose(handle);
      return status;
    }
  }

  kiln_model *model = malloc(sizeof(*model));
  if (!model) {
    if (weights)
      kiln_weights_drop(desc);
    dlclose(handle);
    return kiln_error(KILN_ERROR_OUT_OF_MEMORY, "%s: out of memory", fn);
  }
  model->handle = handle;
  model->desc = desc;
  model->weights_user = weights != NULL;
  *out = model;
  return KILN_OK;
}

const kiln_model_desc *kiln_model_descriptor(const kiln_model *model) {
  return model ? model->desc : NULL;
}

void kiln_model_unload(kiln_model *model) {
  if (!model)
    return;
  if (model->weights_user)
    kiln_weights_drop(model->desc);
  dlclose(model->handle);
  free(model);
}
