/*===- weights.c - external weight files, verified before use -------------===*
 *
 * A model compiled with --weights=external reads its weights through the
 * artifact's weights slot. The file is copied into memory (not mapped) so
 * the bytes the kernels use are exactly the bytes that were checksummed,
 * whatever happens to the file afterwards.
 *===----------------------------------------------------------------------===*/
#include "internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Serializes loads and releases; runs only read the slot. */
static pthread_mutex_t kiln_weights_lock = PTHREAD_MUTEX_INITIALIZER;

const char *kiln_desc_weights_file(const kiln_model_desc *desc) {
  size_t end = offsetof(kiln_model_desc, weights_slot) + sizeof(void *);
  return desc->struct_size >= end ? desc->weights_file : NULL;
}

int kiln_model_weights_ready(const kiln_model_desc *desc) {
  if (!desc || desc->abi_version != KILN_ABI_VERSION)
    return 0;
  if (!kiln_desc_weights_file(desc))
    return 1;
  return desc->weights_slot &&
         __atomic_load_n(desc->weights_slot, __ATOMIC_ACQUIRE) != NULL;
}

/* Reads all of `path` (exactly `bytes` long) into `out`. */
static kiln_status_code kiln_read_weights(const char *fn, const char *path,
                                          uint64_t bytes, void *out) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return kiln_error(errno == ENOENT ? KILN_ERROR_NOT_FOUND : KILN_ERROR_IO,
                      "%s: cannot open '%s': %s", fn, path, strerror(errno));
  uint64_t done = 0;
  while (done < bytes) {
    size_t chunk = bytes - done > (1u << 24) ? (1u << 24) : bytes - done;
    size_t n = fread((char *)out + done, 1, chunk, f);
    if (n == 0)
      break;
    done += n;
  }
  int failed = ferror(f);
  fclose(f);
  if (failed || done != bytes)
    return kiln_error(failed ? KILN_ERROR_IO : KILN_ERROR_CORRUPT_DATA,
                      "%s: '%s': read %llu of %llu bytes%s", fn, path,
                      (unsigned long long)done, (unsigned long long)bytes,
                      failed ? "" : " (the file shrank while being read)");
  return KILN_OK;
}

kiln_status_code kiln_model_load_weights(const kiln_model_desc *desc,
                                         const char *path) {
  static const char fn[] = "kiln_model_load_weights";
  kiln_status_code status = kiln_desc_validate(desc, fn);
  if (status != KILN_OK)
    return status;
  if (!path || !*path)
    return kiln_error(KILN_ERROR_INVALID_ARGUMENT, "%s: path is %s", fn,
                      path ? "empty" : "NULL");
  const char *file = kiln_desc_weights_file(desc);
  if (!file)
    return kiln_error(KILN_ERROR_INVALID_ARGUMENT,
                      "%s: model '%s' has its weights embedded; there is no "
                      "weight file to load",
                      fn, kiln_str(desc->name));
  if (kiln_model_weights_ready(desc))
    return KILN_OK;

  struct stat st;
  if (stat(path, &st) != 0)
    return kiln_error(errno == ENOENT ? KILN_ERROR_NOT_FOUND : KILN_ERROR_IO,
                      "%s: model '%s' needs its weight file '%s': cannot "
                      "open '%s': %s",
                      fn, kiln_str(desc->name), file, path, strerror(errno));
  if (!S_ISREG(st.st_mode))
    return kiln_error(KILN_ERROR_IO, "%s: '%s' is not a regular file", fn,
                      path);
  uint64_t bytes = desc->weights_file_bytes;
  if ((uint64_t)st.st_size != bytes)
    return kiln_error(KILN_ERROR_CORRUPT_DATA,
                      "%s: '%s' is %llu bytes, model '%s' expects %llu: the "
                      "file is %s or was written by another compile",
                      fn, path, (unsigned long long)st.st_size,
                      kiln_str(desc->name), (unsigned long long)bytes,
                      (uint64_t)st.st_size < bytes ? "truncated" : "too long");
  if (bytes > SIZE_MAX - KILN_ALIGNMENT)
    return kiln_error(KILN_ERROR_OUT_OF_MEMORY,
                      "%s: %llu bytes of weights do not fit in memory", fn,
                      (unsigned long long)bytes);

  void *data = NULL;
  size_t rounded = ((size_t)bytes + KILN_ALIGNMENT - 1) &
                   ~(size_t)(KILN_ALIGNMENT - 1);
  if (posix_memalign(&data, KILN_ALIGNMENT, rounded ? rounded : KILN_ALIGNMENT))
    return kiln_error(KILN_ERROR_OUT_OF_MEMORY,
                      "%s: cannot allocate %llu bytes for '%s'", fn,
                      (unsigned long long)bytes, path);
  status = kiln_read_weights(fn, path, bytes, data);
  if (status == KILN_OK) {
    uint64_t sum = kiln_weights_checksum(data, bytes);
    if (sum != desc->weights_checksum)
      status = kiln_error(KILN_ERROR_CORRUPT_DATA,
                          "%s: '%s' has checksum %016llx, model '%s' expects "
                          "%016llx: the file was altered or written by "
                          "another compile",
                          fn, path, (unsigned long long)sum,
                          kiln_str(desc->name),
                          (unsigned long long)desc->weights_checksum);
  }
  if (status != KILN_OK) {
    free(data);
    return status;
  }

  pthread_mutex_lock(&kiln_weights_lock);
  int lost = *desc->weights_slot != NULL; /* another thread loaded first */
  if (!lost)
    __atomic_store_n(desc->weights_slot, data, __ATOMIC_RELEASE);
  pthread_mutex_unlock(&kiln_weights_lock);
  if (lost)
    free(data);
  return KILN_OK;
}

/* kiln_model_load may open the same library (hence the same descriptor and
 * slot) several times: it counts its users per descriptor here and frees
 * the weights when the last one unloads. */
typedef struct kiln_weights_user {
  const kiln_model_desc *desc;
  int32_t count;
  int owned; /* loaded by kiln_model_load, not by the application */
  struct kiln_weights_user *next;
} kiln_weights_user;
static kiln_weights_user *kiln_weights_users;

kiln_status_code kiln_weights_acquire(const kiln_model_desc *desc,
                                      const char *path) {
  kiln_weights_user *user = malloc(sizeof(*user));
  if (!user)
    return kiln_error(KILN_ERROR_OUT_OF_MEMORY, "kiln_model_load: out of "
                                                "memory");
  int owned = !kiln_model_weights_ready(desc);
  kiln_status_code status = kiln_model_load_weights(desc, path);
  if (status != KILN_OK) {
    free(user);
    return status;
  }
  pthread_mutex_lock(&kiln_weights_lock);
  kiln_weights_user *it = kiln_weights_users;
  while (it && it->desc != desc)
    it = it->next;
  if (it) {
    ++it->count;
    free(user);
  } else {
    user->desc = desc;
    user->count = 1;
    user->owned = owned;
    user->next = kiln_weights_users;
    kiln_weights_users = user;
  }
  pthread_mutex_unlock(&kiln_weights_lock);
  return KILN_OK;
}

void kiln_weights_drop(const kiln_model_desc *desc) {
  int last = 0;
  pthread_mutex_lock(&kiln_weights_lock);
  for (kiln_weights_user **it = &kiln_weights_users; *it;
       it = &(*it)->next) {
    if ((*it)->desc != desc)
      continue;
    if (--(*it)->count == 0) {
      kiln_weights_user *done = *it;
      last = done->owned;
      *it = done->next;
      free(done);
    }
    break;
  }
  pthread_mutex_unlock(&kiln_weights_lock);
  if (last)
    kiln_model_release_weights(desc);
}

void kiln_model_release_weights(const kiln_model_desc *desc) {
  if (!desc || desc->abi_version != KILN_ABI_VERSION ||
      !kiln_desc_weights_file(desc) || !desc->weights_slot)
    return;
  pthread_mutex_lock(&kiln_weights_lock);
  void *data = (void *)*desc->weights_slot;
  __atomic_store_n(desc->weights_slot, NULL, __ATOMIC_RELEASE);
  pthread_mutex_unlock(&kiln_weights_lock);
  free(data);
}
