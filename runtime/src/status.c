/*===- status.c - status strings and per-thread error messages ------------===*
 *
 * One thread-local buffer holds the message of the last failure on each
 * thread, so that failing calls need no allocation and threads never see
 * each other's messages.
 *===----------------------------------------------------------------------===*/
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>

/* Long enough for two KILN_MAX_RANK shapes plus names and a dlerror text. */
static _Thread_local char kiln_tls_message[1024];

kiln_status_code kiln_error(kiln_status_code code, const char *fmt, ...) {
  va_list args;
  va_start(args, fmt);
  vsnprintf(kiln_tls_message, sizeof(kiln_tls_message), fmt, args);
  va_end(args);
  return code;
}

const char *kiln_last_error_message(void) { return kiln_tls_message; }

const char *kiln_status_string(kiln_status_code code) {
  /* Switch on int: callers may pass any value, including a kernel's. */
  switch ((int)code) {
  case KILN_OK:
    return "ok";
  case KILN_ERROR_INVALID_ARGUMENT:
    return "invalid argument";
  case KILN_ERROR_SHAPE_MISMATCH:
    return "shape mismatch";
  case KILN_ERROR_DTYPE_MISMATCH:
    return "dtype mismatch";
  case KILN_ERROR_MISALIGNED:
    return "misaligned buffer";
  case KILN_ERROR_OUT_OF_MEMORY:
    return "out of memory";
  case KILN_ERROR_ABI_MISMATCH:
    return "ABI version mismatch";
  case KILN_ERROR_NOT_FOUND:
    return "not found";
  case KILN_ERROR_IO:
    return "I/O error";
  case KILN_ERROR_UNSUPPORTED:
    return "unsupported";
  case KILN_ERROR_INTERNAL:
    return "internal error";
  case KILN_ERROR_CORRUPT_DATA:
    return "corrupt data";
  default:
    return "unknown status";
  }
}

uint32_t kiln_runtime_abi_version(void) { return KILN_ABI_VERSION; }
