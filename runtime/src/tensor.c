/*===- tensor.c - dtypes and tensor descriptors ---------------------------===*/
#include "internal.h"

#include <stdio.h>
#include <string.h>

size_t kiln_dtype_size(int32_t dtype) {
  switch (dtype) {
  case KILN_DTYPE_F64:
  case KILN_DTYPE_I64:
  case KILN_DTYPE_U64:
    return 8;
  case KILN_DTYPE_F32:
  case KILN_DTYPE_I32:
  case KILN_DTYPE_U32:
    return 4;
  case KILN_DTYPE_F16:
  case KILN_DTYPE_BF16:
  case KILN_DTYPE_I16:
  case KILN_DTYPE_U16:
    return 2;
  case KILN_DTYPE_I8:
  case KILN_DTYPE_U8:
  case KILN_DTYPE_BOOL:
  case KILN_DTYPE_F8E4M3FN:
  case KILN_DTYPE_F8E4M3FNUZ:
  case KILN_DTYPE_F8E5M2:
  case KILN_DTYPE_F8E5M2FNUZ:
  case KILN_DTYPE_F8E8M0:
  case KILN_DTYPE_F4E2M1:
  case KILN_DTYPE_I4:
  case KILN_DTYPE_U4:
  case KILN_DTYPE_I2:
  case KILN_DTYPE_U2:
    return 1;
  default:
    return 0;
  }
}

const char *kiln_dtype_name(int32_t dtype) {
  switch (dtype) {
  case KILN_DTYPE_F32:
    return "float32";
  case KILN_DTYPE_F16:
    return "float16";
  case KILN_DTYPE_BF16:
    return "bfloat16";
  case KILN_DTYPE_F64:
    return "float64";
  case KILN_DTYPE_I8:
    return "int8";
  case KILN_DTYPE_I16:
    return "int16";
  case KILN_DTYPE_I32:
    return "int32";
  case KILN_DTYPE_I64:
    return "int64";
  case KILN_DTYPE_U8:
    return "uint8";
  case KILN_DTYPE_BOOL:
    return "bool";
  case KILN_DTYPE_U16:
    return "uint16";
  case KILN_DTYPE_U32:
    return "uint32";
  case KILN_DTYPE_U64:
    return "uint64";
  case KILN_DTYPE_F8E4M3FN:
    return "float8e4m3fn";
  case KILN_DTYPE_F8E4M3FNUZ:
    return "float8e4m3fnuz";
  case KILN_DTYPE_F8E5M2:
    return "float8e5m2";
  case KILN_DTYPE_F8E5M2FNUZ:
    return "float8e5m2fnuz";
  case KILN_DTYPE_F4E2M1:
    return "float4e2m1";
  case KILN_DTYPE_I4:
    return "int4";
  case KILN_DTYPE_U4:
    return "uint4";
  case KILN_DTYPE_I2:
    return "int2";
  case KILN_DTYPE_U2:
    return "uint2";
  case KILN_DTYPE_F8E8M0:
    return "float8e8m0";
  default:
    return "invalid";
  }
}

kiln_status_code kiln_tensor_init(kiln_tensor *t, int32_t dtype, int32_t rank,
                                  const int64_t *dims, void *data) {
  static const char fn[] = "kiln_tensor_init";
  if (!t)
    return kiln_error(KILN_ERROR_INVALID_ARGUMENT, "%s: tensor is NULL", fn);
  memset(t, 0, sizeof(*t));
  if (kiln_dtype_size(dtype) == 0)
    return kiln_error(KILN_ERROR_INVALID_ARGUMENT, "%s: unknown dtype %d", fn,
                      (int)dtype);
  if (rank < 0 || rank > KILN_MAX_RANK)
    return kiln_error(KILN_ERROR_INVALID_ARGUMENT,
                      "%s: rank %d is not in [0, %d]", fn, (int)rank,
                      KILN_MAX_RANK);
  if (rank > 0 && !dims)
    return kiln_error(KILN_ERROR_INVALID_ARGUMENT,
                      "%s: dims is NULL for rank %d", fn, (int)rank);
  for (int32_t i = 0; i < rank; ++i)
    if (dims[i] < 0)
      return kiln_error(KILN_ERROR_INVALID_ARGUMENT,
                        "%s: dimension %d is negative (%lld)", fn, (int)i,
                        (long long)dims[i]);
  t->dtype = dtype;
  t->rank = rank;
  for (int32_t i = 0; i < rank; ++i)
    t->dims[i] = dims[i];
  t->data = data;
  return KILN_OK;
}

kiln_status_code kiln_tensor_init_from_info(kiln_tensor *t,
                                            const kiln_tensor_info *info,
                                            void *data) {
  if (!info) {
    if (t)
      memset(t, 0, sizeof(*t));
    return kiln_error(KILN_ERROR_INVALID_ARGUMENT,
                      "kiln_tensor_init_from_info: info is NULL");
  }
  return kiln_tensor_init(t, info->dtype, info->rank, info->dims, data);
}

int64_t kiln_tensor_num_elements(const kiln_tensor *t) {
  if (!t || t->rank < 0 || t->rank > KILN_MAX_RANK)
    return -1;
  int64_t n = 1;
  for (int32_t i = 0; i < t->rank; ++i) {
    int64_t d = t->dims[i];
    if (d < 0 || (d != 0 && n > INT64_MAX / d))
      return -1;
    n *= d;
  }
  return n;
}

int64_t kiln_tensor_num_bytes(const kiln_tensor *t) {
  int64_t n = kiln_tensor_num_elements(t);
  int64_t size = t ? (int64_t)kiln_dtype_size(t->dtype) : 0;
  if (n < 0 || size == 0 || n > INT64_MAX / size)
    return -1;
  return n * size;
}

void kiln_format_shape(char *buf, size_t size, int32_t rank,
                       const int64_t *dims) {
  if (size == 0)
    return;
  buf[0] = '\0';
  if (rank == 0) {
    snprintf(buf, size, "scalar");
    return;
  }
  if (rank < 0 || !dims) {
    snprintf(buf, size, "<rank %d>", (int)rank);
    return;
  }
  size_t used = 0;
  for (int32_t i = 0; i < rank && used < size; ++i) {
    int w = snprintf(buf + used, size - used, i ? "x%lld" : "%lld",
                     (long long)dims[i]);
    if (w < 0)
      return;
    used += (size_t)w;
  }
}
