/*===- kiln/tensor.h - dense tensor descriptors -------------------*- C -*-===*
 *
 * kiln_tensor describes a caller-owned, dense, row-major (C order) buffer:
 * element type, shape and data pointer. The runtime never copies or frees
 * `data`. Tensors are plain values: fill one with kiln_tensor_init or
 * kiln_tensor_init_from_info, or by hand.
 *
 * Threading: every function here is thread-safe (no shared state); the usual
 * data-race rules apply to the kiln_tensor structs themselves.
 *===----------------------------------------------------------------------===*/
#ifndef KILN_TENSOR_H
#define KILN_TENSOR_H

#include "kiln/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kiln_tensor {
  int32_t dtype;               /* kiln_dtype */
  int32_t rank;                /* 0 (scalar) .. KILN_MAX_RANK */
  int64_t dims[KILN_MAX_RANK]; /* dims[rank..] are ignored */
  void *data;
} kiln_tensor;

/* Returns the size in bytes of one element of `dtype`, or 0 if it is not a
 * known kiln_dtype (including KILN_DTYPE_INVALID). */
KILN_API size_t kiln_dtype_size(int32_t dtype);

/* Returns the dtype's name as the generated headers spell it ("float32",
 * "float16", "bfloat16", "float64", "int8", "int16", "int32", "int64",
 * "uint8", "bool"), or "invalid" for anything else. */
KILN_API const char *kiln_dtype_name(int32_t dtype);

/* Sets *t to {dtype, rank, dims[0..rank), data} and zeroes unused dims.
 * `dims` may be NULL only when rank == 0; `data` may be NULL (set it before
 * running). Errors: INVALID_ARGUMENT for a NULL `t`, an unknown dtype, a rank
 * outside [0, KILN_MAX_RANK] or a negative dimension (*t is then zeroed). */
KILN_API kiln_status_code kiln_tensor_init(kiln_tensor *t, int32_t dtype,
                                           int32_t rank, const int64_t *dims,
                                           void *data);

/* Like kiln_tensor_init, with dtype and shape taken from a descriptor's
 * input or output `info`, e.g. to allocate buffers for a loaded model:
 * init with data NULL, malloc kiln_tensor_num_bytes(), then set data. */
KILN_API kiln_status_code kiln_tensor_init_from_info(
    kiln_tensor *t, const kiln_tensor_info *info, void *data);

/* Returns the product of dims[0..rank) (1 for a scalar), or -1 if `t` is
 * NULL, its rank is out of range, a dimension is negative or the product
 * overflows int64_t. */
KILN_API int64_t kiln_tensor_num_elements(const kiln_tensor *t);

/* Returns num_elements * kiln_dtype_size(dtype), or -1 on the errors of
 * kiln_tensor_num_elements, an unknown dtype or overflow. */
KILN_API int64_t kiln_tensor_num_bytes(const kiln_tensor *t);

#ifdef __cplusplus
}
#endif

#endif /* KILN_TENSOR_H */
