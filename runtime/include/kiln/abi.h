/*===- kiln/abi.h - compiler <-> runtime contract -----------------*- C -*-===*
 *
 * The one header shared by kiln's code generator and its runtime. A compiled
 * model exports `const kiln_model_desc* <name>_descriptor(void)`; everything
 * the runtime needs to validate and run the model hangs off that struct.
 *
 * Versioning: KILN_ABI_VERSION changes only on incompatible layout changes.
 * Compatible additions append fields at the end of a struct and are detected
 * through `struct_size`, so an app built against an older header keeps
 * working with newer artifacts and vice versa.
 *
 * Threading: descriptors are immutable, static data; any thread may read them.
 *===----------------------------------------------------------------------===*/
#ifndef KILN_ABI_H
#define KILN_ABI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define KILN_ABI_VERSION 1u

/* Largest tensor rank the runtime's tensor descriptors can hold. */
#define KILN_MAX_RANK 8

/* Alignment (bytes) of weights, workspace and every planned buffer. */
#define KILN_ALIGNMENT 64

/* Status codes returned by every runtime function and by generated kernels. */
typedef enum kiln_status_code {
  KILN_OK = 0,
  KILN_ERROR_INVALID_ARGUMENT = 1, /* null pointer, bad index, bad option */
  KILN_ERROR_SHAPE_MISMATCH = 2,   /* tensor shape differs from the model's */
  KILN_ERROR_DTYPE_MISMATCH = 3,   /* tensor dtype differs from the model's */
  KILN_ERROR_MISALIGNED = 4,       /* buffer not aligned for its dtype */
  KILN_ERROR_OUT_OF_MEMORY = 5,
  KILN_ERROR_ABI_MISMATCH = 6, /* artifact built for another ABI version */
  KILN_ERROR_NOT_FOUND = 7,    /* file, symbol, input or output name */
  KILN_ERROR_IO = 8,
  KILN_ERROR_UNSUPPORTED = 9, /* feature not available in this build */
  KILN_ERROR_INTERNAL = 10,
  KILN_ERROR_CORRUPT_DATA = 11 /* a file's size or checksum differs from the
                                  one the artifact recorded */
} kiln_status_code;

/* Element types. Values are stable: they are written into artifacts. */
typedef enum kiln_dtype {
  KILN_DTYPE_INVALID = 0,
  KILN_DTYPE_F32 = 1,
  KILN_DTYPE_F16 = 2,
  KILN_DTYPE_BF16 = 3,
  KILN_DTYPE_F64 = 4,
  KILN_DTYPE_I8 = 5,
  KILN_DTYPE_I16 = 6,
  KILN_DTYPE_I32 = 7,
  KILN_DTYPE_I64 = 8,
  KILN_DTYPE_U8 = 9,
  KILN_DTYPE_BOOL = 10, /* one byte per element, 0 or 1 */
  KILN_DTYPE_U16 = 11,
  KILN_DTYPE_U32 = 12,
  KILN_DTYPE_U64 = 13,
  /* 8-bit floats (OCP / ONNX): one byte per element, their bit pattern. */
  KILN_DTYPE_F8E4M3FN = 14,
  KILN_DTYPE_F8E4M3FNUZ = 15,
  KILN_DTYPE_F8E5M2 = 16,
  KILN_DTYPE_F8E5M2FNUZ = 17,
  /* Sub-byte types travel unpacked: one element per byte, in the low bits.
   * Inputs' high bits are ignored; outputs' high bits are unspecified. */
  KILN_DTYPE_F4E2M1 = 18,
  KILN_DTYPE_I4 = 19,
  KILN_DTYPE_U4 = 20,
  KILN_DTYPE_I2 = 21,
  KILN_DTYPE_U2 = 22,
  KILN_DTYPE_F8E8M0 = 23 /* a power of two 2^(byte - 127); 0xFF is NaN */
} kiln_dtype;

/* Name, element type and static shape of one model input or output.
 * Buffers are dense, row-major (C order), with no padding. */
typedef struct kiln_tensor_info {
  const char *name;
  int32_t dtype; /* kiln_dtype */
  int32_t rank;
  const int64_t *dims; /* `rank` entries */
} kiln_tensor_info;

/* The function the compiler emits for one entry point.
 *   exec       runtime execution handle (thread pool etc.), opaque to kernels
 *              except through the kiln_exec_* callbacks; may be NULL when the
 *              kernel needs no runtime services.
 *   inputs     one pointer per input, in descriptor order.
 *   outputs    one pointer per output, in descriptor order.
 *   workspace  `workspace_bytes` bytes, KILN_ALIGNMENT-aligned, scratch for
 *              all intermediates (the run path never allocates).
 * Returns KILN_OK or a kiln_status_code.
 *
 * Stateful entries (PREFILL, DECODE) take more pointers in `inputs`: the
 * entry's inputs, then a pointer to an int64_t position (the tokens already
 * in the caches, where this call appends its `tokens` rows), then one
 * pointer per state of the model, in kiln_model_desc::states order, which
 * the kernel reads and updates in place. kiln_model_run_state (state.h)
 * builds that list and checks the position against max_seq_len. */
typedef int32_t (*kiln_entry_fn)(void *exec, void *const *inputs,
                                 void *const *outputs, void *workspace);

/* What an entry point does. Stateful models (a compiler-owned KV cache) have
 * a PREFILL and a DECODE entry sharing the model's states. */
typedef enum kiln_entry_kind {
  KILN_ENTRY_RUN = 0,
  KILN_ENTRY_PREFILL = 1,
  KILN_ENTRY_DECODE = 2
} kiln_entry_kind;

/* Where an entry's code runs. */
typedef enum kiln_target_kind {
  KILN_TARGET_CPU = 0,
  KILN_TARGET_CUDA = 1,
  KILN_TARGET_NPU = 2
} kiln_target_kind;

typedef struct kiln_entry_desc {
  uint32_t struct_size; /* sizeof(kiln_entry_desc) at compile time */
  int32_t kind;         /* kiln_entry_kind */
  const char *name;     /* "run", "prefill", "decode" */
  int32_t num_inputs;
  int32_t num_outputs;
  const kiln_tensor_info *inputs;
  const kiln_tensor_info *outputs;
  kiln_entry_fn fn;
  uint64_t workspace_bytes; /* scratch this entry needs */
  /* Appended (read only when struct_size covers it): the rows a PREFILL or
   * DECODE entry appends to every cache per call (its new tokens); 0 for a
   * RUN entry. */
  int64_t tokens;
} kiln_entry_desc;

/* Persistent state shared by a model's stateful entries: one KV cache
 * tensor (`kiln compile --max-seq-len`), named after the past input it
 * replaces, dims [batch, heads, max_seq_len, head_dim], `bytes` long.
 * kiln_state_create (state.h) allocates them.
 *
 * Paged caches (`kiln compile --kv-block N`, kiln_model_desc::
 * kv_block_tokens = N): a KILN_STATE_PAGED state is a pool of blocks,
 * dims [pool_blocks, heads, N, ...], which every sequence of one
 * kiln_kv_pool shares; the KILN_STATE_BLOCK_TABLE state (int32
 * [max_seq_len / N], one per sequence) maps the sequence's block i (its
 * tokens [i N, i N + N)) to the pool block holding them. The runtime
 * hands out the blocks and fills the table before each call. */
typedef enum kiln_state_flags {
  KILN_STATE_PAGED = 1,
  KILN_STATE_BLOCK_TABLE = 2
} kiln_state_flags;

typedef struct kiln_state_desc {
  uint32_t struct_size;
  int32_t dtype;
  const char *name;
  int32_t rank;
  int32_t flags; /* kiln_state_flags; 0: one whole cache per sequence */
  const int64_t *dims;
  uint64_t bytes;
} kiln_state_desc;

typedef struct kiln_model_desc {
  uint32_t abi_version; /* KILN_ABI_VERSION of the compiler */
  uint32_t struct_size; /* sizeof(kiln_model_desc) at compile time */
  const char *name;     /* symbol prefix given to `kiln compile --name` */
  int32_t target;       /* kiln_target_kind */
  int32_t reserved;
  const char *target_triple;   /* e.g. "x86_64-unknown-linux-gnu" */
  const char *target_cpu;      /* e.g. "znver3" */
  const char *target_features; /* e.g. "+avx2,+fma" */
  uint64_t workspace_bytes;    /* max over entries */
  uint64_t weights_bytes;      /* read-only weight data in the artifact */
  int32_t num_entries;
  int32_t num_states;
  const kiln_entry_desc *entries; /* entries[0] is the default entry */
  const kiln_state_desc *states;
  /* Appended (read only when struct_size covers them): weights kept in a
   * sidecar file by `kiln compile --weights=external`. All zero/NULL when
   * the weights are inside the artifact. */
  const char *weights_file;    /* file name, in the artifact's folder */
  uint64_t weights_file_bytes; /* its exact size */
  uint64_t weights_checksum;   /* kiln_weights_checksum() of its bytes */
  /* Where kiln_model_load_weights stores the verified bytes (64-byte
   * aligned); kernels read their weights through it. Mutable, in the
   * artifact's data section. */
  const void **weights_slot;
  /* Appended: the rows every state holds (the longest context a stateful
   * entry can reach); 0 for a model without states. */
  int64_t max_seq_len;
  /* Appended: tokens per block of the paged caches (`--kv-block`); 0 when
   * every cache is one contiguous [.., max_seq_len, ..] tensor per
   * sequence. */
  int64_t kv_block_tokens;
} kiln_model_desc;

/* The checksum recorded for external weight files: a 64-bit hash over the
 * bytes in 32-byte stripes (four multiply-rotate lanes, then a final
 * avalanche). It detects truncation, corruption and a file from another
 * compile; it is not a cryptographic signature. The compiler and the
 * runtime both use this definition. */
static inline uint64_t kiln_weights_checksum(const void *data, uint64_t size) {
  const unsigned char *p = (const unsigned char *)data;
  const uint64_t k1 = 0x9E3779B185EBCA87ull, k2 = 0xC2B2AE3D27D4EB4Full;
  uint64_t lane[4] = {k1 ^ size, k2 ^ size, ~k1, ~k2};
  uint64_t i = 0;
  for (; i + 32 <= size; i += 32)
    for (int j = 0; j < 4; ++j) {
      uint64_t w = 0;
      for (int b = 0; b < 8; ++b) /* little-endian on every host */
        w |= (uint64_t)p[i + 8 * j + b] << (8 * b);
      uint64_t x = lane[j] ^ (w * k2);
      lane[j] = ((x << 29) | (x >> 35)) * k1;
    }
  uint64_t h = size;
  for (int j = 0; j < 4; ++j)
    h = (h ^ lane[j]) * k1 + k2;
  for (; i < size; ++i)
    h = (h ^ p[i]) * 0x100000001B3ull;
  h ^= h >> 31;
  h *= 0xBF58476D1CE4E5B9ull;
  h ^= h >> 29;
  h *= 0x94D049BB133111EBull;
  return h ^ (h >> 32);
}

/* Every artifact exports `const kiln_model_desc *<name>_descriptor(void)`.
 * Shared libraries also export this generic alias so a loader that does not
 * know the name can find it. */
#define KILN_GENERIC_DESCRIPTOR_SYMBOL "kiln_artifact_descriptor"
typedef const kiln_model_desc *(*kiln_descriptor_fn)(void);

#ifdef __cplusplus
}
#endif

#endif /* KILN_ABI_H */
