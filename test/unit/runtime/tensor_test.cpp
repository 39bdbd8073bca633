//===- tensor_test.cpp - dtypes and kiln_tensor helpers -------------------===//
#include "test_util.h"

#include <cstring>

using namespace kiln_test;

TEST(Dtype, SizesAndNames) {
  struct {
    int32_t dtype;
    size_t size;
    const char *name;
  } cases[] = {
      {KILN_DTYPE_F32, 4, "float32"},   {KILN_DTYPE_F16, 2, "float16"},
      {KILN_DTYPE_BF16, 2, "bfloat16"}, {KILN_DTYPE_F64, 8, "float64"},
      {KILN_DTYPE_I8, 1, "int8"},       {KILN_DTYPE_I16, 2, "int16"},
      {KILN_DTYPE_I32, 4, "int32"},     {KILN_DTYPE_I64, 8, "int64"},
      {KILN_DTYPE_U8, 1, "uint8"},      {KILN_DTYPE_BOOL, 1, "bool"},
      {KILN_DTYPE_U16, 2, "uint16"},    {KILN_DTYPE_U32, 4, "uint32"},
      {KILN_DTYPE_U64, 8, "uint64"},
      {KILN_DTYPE_F8E4M3FN, 1, "float8e4m3fn"},
      {KILN_DTYPE_F8E4M3FNUZ, 1, "float8e4m3fnuz"},
      {KILN_DTYPE_F8E5M2, 1, "float8e5m2"},
      {KILN_DTYPE_F8E5M2FNUZ, 1, "float8e5m2fnuz"},
      {KILN_DTYPE_F4E2M1, 1, "float4e2m1"},
      {KILN_DTYPE_I4, 1, "int4"},       {KILN_DTYPE_U4, 1, "uint4"},
      {KILN_DTYPE_I2, 1, "int2"},       {KILN_DTYPE_U2, 1, "uint2"},
      {KILN_DTYPE_F8E8M0, 1, "float8e8m0"},
  };
  for (const auto &c : cases) {
    EXPECT_EQ(kiln_dtype_size(c.dtype), c.size) << c.name;
    EXPECT_STREQ(kiln_dtype_name(c.dtype), c.name);
  }
  for (int32_t bad : {int32_t(KILN_DTYPE_INVALID), -1, 24, 1000}) {
    EXPECT_EQ(kiln_dtype_size(bad), 0u);
    EXPECT_STREQ(kiln_dtype_name(bad), "invalid");
  }
}

TEST(Tensor, Init) {
  float data[6];
  const int64_t dims[] = {2, 3};
  kiln_tensor t;
  std::memset(&t, 0xff, sizeof(t));
  ASSERT_EQ(kiln_tensor_init(&t, KILN_DTYPE_F32, 2, dims, data), KILN_OK);
  EXPECT_EQ(t.dtype, KILN_DTYPE_F32);
  EXPECT_EQ(t.rank, 2);
  EXPECT_EQ(t.dims[0], 2);
  EXPECT_EQ(t.dims[1], 3);
  for (int i = 2; i < KILN_MAX_RANK; ++i)
    EXPECT_EQ(t.dims[i], 0);
  EXPECT_EQ(t.data, data);
  EXPECT_EQ(kiln_tensor_num_elements(&t), 6);
  EXPECT_EQ(kiln_tensor_num_bytes(&t), 24);

  // Scalars need no dims; data may be set later.
  ASSERT_EQ(kiln_tensor_init(&t, KILN_DTYPE_I64, 0, nullptr, nullptr), KILN_OK);
  EXPECT_EQ(kiln_tensor_num_elements(&t), 1);
  EXPECT_EQ(kiln_tensor_num_bytes(&t), 8);
}

TEST(Tensor, InitRejectsBadArguments) {
  const int64_t dims[] = {2, -3};
  kiln_tensor t;
  EXPECT_EQ(kiln_tensor_init(nullptr, KILN_DTYPE_F32, 1, dims, nullptr),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(kiln_tensor_init(&t, KILN_DTYPE_INVALID, 1, dims, nullptr),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(lastError(), "kiln_tensor_init: unknown dtype 0");
  EXPECT_EQ(kiln_tensor_init(&t, KILN_DTYPE_F32, -1, dims, nullptr),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(
      kiln_tensor_init(&t, KILN_DTYPE_F32, KILN_MAX_RANK + 1, dims, nullptr),
      KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(lastError(), "kiln_tensor_init: rank 9 is not in [0, 8]");
  EXPECT_EQ(kiln_tensor_init(&t, KILN_DTYPE_F32, 2, nullptr, nullptr),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(kiln_tensor_init(&t, KILN_DTYPE_F32, 2, dims, nullptr),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(lastError(), "kiln_tensor_init: dimension 1 is negative (-3)");
  // A failed init leaves a zeroed tensor, not half of one.
  EXPECT_EQ(t.rank, 0);
  EXPECT_EQ(t.dtype, KILN_DTYPE_INVALID);
}

TEST(Tensor, InitFromInfo) {
  const kiln_model_desc *desc = test_add_descriptor();
  const kiln_tensor_info *info = &desc->entries[0].inputs[1];
  kiln_tensor t;
  ASSERT_EQ(kiln_tensor_init_from_info(&t, info, nullptr), KILN_OK);
  EXPECT_EQ(t.dtype, KILN_DTYPE_F32);
  EXPECT_EQ(t.rank, 2);
  EXPECT_EQ(kiln_tensor_num_bytes(&t), 24);
  EXPECT_EQ(kiln_tensor_init_from_info(&t, nullptr, nullptr),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(kiln_tensor_init_from_info(nullptr, info, nullptr),
            KILN_ERROR_INVALID_ARGUMENT);
}

TEST(Tensor, NumElementsEdgeCases) {
  EXPECT_EQ(kiln_tensor_num_elements(nullptr), -1);
  EXPECT_EQ(kiln_tensor_num_bytes(nullptr), -1);
  kiln_tensor t{};
  t.dtype = KILN_DTYPE_F32;
  t.rank = 3;
  t.dims[0] = 4;
  t.dims[1] = 0;
  t.dims[2] = 5;
  EXPECT_EQ(kiln_tensor_num_elements(&t), 0);
  EXPECT_EQ(kiln_tensor_num_bytes(&t), 0);
  t.dims[1] = -1;
  EXPECT_EQ(kiln_tensor_num_elements(&t), -1);
  // 2^62 elements fit in int64 but not their 4-byte size.
  t.rank = 2;
  t.dims[0] = int64_t(1) << 31;
  t.dims[1] = int64_t(1) << 31;
  EXPECT_EQ(kiln_tensor_num_elements(&t), int64_t(1) << 62);
  EXPECT_EQ(kiln_tensor_num_bytes(&t), -1);
  t.dims[1] = int64_t(1) << 33;
  EXPECT_EQ(kiln_tensor_num_elements(&t), -1);
  t.rank = KILN_MAX_RANK + 1;
  EXPECT_EQ(kiln_tensor_num_elements(&t), -1);
  t.rank = 1;
  t.dims[0] = 3;
  t.dtype = 77;
  EXPECT_EQ(kiln_tensor_num_elements(&t), 3);
  EXPECT_EQ(kiln_tensor_num_bytes(&t), -1);
}
