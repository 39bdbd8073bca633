//===- model_run_test.cpp - kiln_model_run* and descriptor checks ---------===//
#include "test_util.h"

#include <cstring>
#include <vector>

using namespace kiln_test;

namespace {

class ModelRun : public ::testing::Test {
protected:
  void SetUp() override { ctx = makeContext(2); }

  kiln_status_code runAdd() {
    const void *ins[] = {a, b};
    void *outs[] = {c};
    return kiln_model_run(ctx.get(), desc, ins, outs);
  }

  void expectSum() {
    for (int i = 0; i < 6; ++i)
      EXPECT_EQ(c[i], a[i] + b[i]) << i;
  }

  ContextPtr ctx;
  const kiln_model_desc *desc = test_add_descriptor();
  alignas(64) float a[6] = {1, 2, 3, 4, 5, 6};
  alignas(64) float b[6] = {0.5f, 0.25f, -3, 8, 0, 100};
  alignas(64) float c[6] = {};
};

bool contains(const std::string &haystack, const std::string &needle) {
  return haystack.find(needle) != std::string::npos;
}

} // namespace

TEST_F(ModelRun, Success) {
  ASSERT_EQ(runAdd(), KILN_OK) << lastError();
  expectSum();
}

TEST_F(ModelRun, OtherEntries) {
  const void *ins[] = {a};
  void *outs[] = {c};
  ASSERT_EQ(kiln_model_run_entry(ctx.get(), desc, 1, ins, outs), KILN_OK);
  for (int i = 0; i < 6; ++i)
    EXPECT_EQ(c[i], 2 * a[i]);
  // Entries without tensors take NULL arrays.
  EXPECT_EQ(kiln_model_run_entry(ctx.get(), desc, 2, nullptr, nullptr),
            KILN_ERROR_IO);
  EXPECT_EQ(
      lastError(),
      "kiln_model_run_entry: entry 'fail' of model 'add' failed: I/O error");
  EXPECT_EQ(kiln_model_run_entry(ctx.get(), desc, 3, nullptr, nullptr),
            KILN_ERROR_INTERNAL);
  EXPECT_EQ(lastError(), "kiln_model_run_entry: entry 'bogus' of model 'add' "
                         "returned unknown status 1234");
}

TEST_F(ModelRun, NoInputs) {
  float value = 0;
  void *outs[] = {&value};
  ASSERT_EQ(kiln_model_run(ctx.get(), test_const_descriptor(), nullptr, outs),
            KILN_OK);
  EXPECT_EQ(value, 42.0f);
}

TEST_F(ModelRun, NullPointers) {
  const void *ins[] = {a, b};
  void *outs[] = {c};
  EXPECT_EQ(kiln_model_run(nullptr, desc, ins, outs),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(lastError(), "kiln_model_run: ctx is NULL");
  EXPECT_EQ(kiln_model_run(ctx.get(), nullptr, ins, outs),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(kiln_model_run(ctx.get(), desc, nullptr, outs),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(lastError(),
            "kiln_model_run: the input array is NULL, expected 2 pointers");
  EXPECT_EQ(kiln_model_run(ctx.get(), desc, ins, nullptr),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(lastError(),
            "kiln_model_run: the output array is NULL, expected 1 pointers");

  const void *nullIn[] = {a, nullptr};
  EXPECT_EQ(kiln_model_run(ctx.get(), desc, nullIn, outs),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(lastError(), "kiln_model_run: input 1 'b' is NULL");
  void *nullOut[] = {nullptr};
  EXPECT_EQ(kiln_model_run(ctx.get(), desc, ins, nullOut),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(lastError(), "kiln_model_run: output 0 'c' is NULL");
  // Nothing ran.
  for (float v : c)
    EXPECT_EQ(v, 0.0f);
}

TEST_F(ModelRun, MisalignedBuffers) {
  alignas(64) unsigned char raw[64];
  void *odd = raw + 2; // float needs 4
  const void *ins[] = {a, odd};
  void *outs[] = {c};
  EXPECT_EQ(kiln_model_run(ctx.get(), desc, ins, outs), KILN_ERROR_MISALIGNED);
  EXPECT_TRUE(contains(lastError(), "input 1 'b' at "));
  EXPECT_TRUE(
      contains(lastError(), "is not aligned to 4 bytes, as float32 requires"))
      << lastError();
  const void *goodIns[] = {a, b};
  void *badOuts[] = {odd};
  EXPECT_EQ(kiln_model_run(ctx.get(), desc, goodIns, badOuts),
            KILN_ERROR_MISALIGNED);

  // int64 needs 8: 4-byte aligned is not enough.
  alignas(64) int64_t values[5] = {1, 2, 3, 4, 0};
  int64_t total = 0;
  const void *sumIns[] = {reinterpret_cast<char *>(values) + 4};
  void *sumOuts[] = {&total};
  EXPECT_EQ(kiln_model_run(ctx.get(), test_sum_descriptor(), sumIns, sumOuts),
            KILN_ERROR_MISALIGNED);
  sumIns[0] = values;
  ASSERT_EQ(kiln_model_run(ctx.get(), test_sum_descriptor(), sumIns, sumOuts),
            KILN_OK);
  EXPECT_EQ(total, 10);
}

TEST_F(ModelRun, AbiMismatch) {
  kiln_model_desc other = *desc;
  other.abi_version = 7;
  const void *ins[] = {a, b};
  void *outs[] = {c};
  EXPECT_EQ(kiln_model_run(ctx.get(), &other, ins, outs),
            KILN_ERROR_ABI_MISMATCH);
  EXPECT_EQ(lastError(), "kiln_model_run: the model was compiled for kiln ABI "
                         "version 7, this runtime implements version 1");
}

TEST_F(ModelRun, BadEntryIndex) {
  const void *ins[] = {a, b};
  void *outs[] = {c};
  for (int32_t index : {-1, 4, 1000}) {
    EXPECT_EQ(kiln_model_run_entry(ctx.get(), desc, index, ins, outs),
              KILN_ERROR_INVALID_ARGUMENT);
  }
  EXPECT_EQ(lastError(), "kiln_model_run_entry: entry index 1000 is out of "
                         "range: model 'add' has 4 entries");
  kiln_tensor t{};
  EXPECT_EQ(kiln_model_run_entry_tensors(ctx.get(), desc, 9, &t, 1, &t, 1),
            KILN_ERROR_INVALID_ARGUMENT);
}

TEST_F(ModelRun, InsaneDescriptors) {
  const void *ins[] = {a, b};
  void *outs[] = {c};
  kiln_model_desc d = *desc;
  d.struct_size = 8;
  EXPECT_EQ(kiln_model_run(ctx.get(), &d, ins, outs),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_TRUE(
      contains(lastError(), "model descriptor struct_size 8 is not in"));
  d = *desc;
  d.entries = nullptr;
  EXPECT_EQ(kiln_model_run(ctx.get(), &d, ins, outs),
            KILN_ERROR_INVALID_ARGUMENT);
  d = *desc;
  d.num_states = -1;
  EXPECT_EQ(kiln_model_run(ctx.get(), &d, ins, outs),
            KILN_ERROR_INVALID_ARGUMENT);

  // Broken entries, copied so the originals stay intact.
  std::vector<kiln_entry_desc> entries(desc->entries,
                                       desc->entries + desc->num_entries);
  d = *desc;
  d.entries = entries.data();
  entries[0].struct_size = 12;
  EXPECT_EQ(kiln_model_run(ctx.get(), &d, ins, outs),
            KILN_ERROR_INVALID_ARGUMENT);
  entries[0].struct_size = sizeof(kiln_entry_desc);
  entries[2].struct_size = sizeof(kiln_entry_desc) + 8;
  EXPECT_EQ(kiln_model_run(ctx.get(), &d, ins, outs),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_TRUE(contains(lastError(), "entry 2 struct_size")) << lastError();
  entries[2].struct_size = sizeof(kiln_entry_desc);
  entries[1].fn = nullptr;
  EXPECT_EQ(kiln_model_run(ctx.get(), &d, ins, outs),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(lastError(),
            "kiln_model_run: model 'add': entry 1 'scale' has no function");
  entries[1].fn = desc->entries[1].fn;
  entries[0].num_inputs = -2;
  EXPECT_EQ(kiln_model_run(ctx.get(), &d, ins, outs),
            KILN_ERROR_INVALID_ARGUMENT);
  entries[0].num_inputs = 2;

  // An input of a dtype this runtime does not know.
  std::vector<kiln_tensor_info> infos(entries[0].inputs, entries[0].inputs + 2);
  infos[1].dtype = 99;
  entries[0].inputs = infos.data();
  EXPECT_EQ(kiln_model_run(ctx.get(), &d, ins, outs), KILN_ERROR_UNSUPPORTED);
  EXPECT_EQ(lastError(), "kiln_model_run: entry 'run' input 1 'b' has "
                         "unsupported dtype 99");
  infos[1].dtype = KILN_DTYPE_F32;
  infos[1].dims = nullptr;
  EXPECT_EQ(kiln_model_run(ctx.get(), &d, ins, outs),
            KILN_ERROR_INVALID_ARGUMENT);
  infos[1].dims = desc->entries[0].inputs[1].dims;
  ASSERT_EQ(kiln_model_run(ctx.get(), &d, ins, outs), KILN_OK) << lastError();
}

TEST_F(ModelRun, EntriesOfANewerArtifact) {
  // A newer compiler appended a field to kiln_entry_desc: entries are laid
  // out with its struct_size as stride and still run here.
  struct EntryV2 {
    kiln_entry_desc v1;
    uint64_t appended;
  };
  EntryV2 entries[2];
  std::memset(entries, 0, sizeof(entries));
  for (int i = 0; i < 2; ++i) {
    entries[i].v1 = desc->entries[i];
    entries[i].v1.struct_size = sizeof(EntryV2);
    entries[i].appended = ~uint64_t(0);
  }
  struct DescV2 {
    kiln_model_desc v1;
    uint64_t appended;
  } d;
  d.v1 = *desc;
  d.v1.struct_size = sizeof(DescV2);
  d.v1.num_entries = 2;
  d.v1.entries = &entries[0].v1;
  const void *ins[] = {a};
  void *outs[] = {c};
  ASSERT_EQ(kiln_model_run_entry(ctx.get(), &d.v1, 1, ins, outs), KILN_OK)
      << lastError();
  EXPECT_EQ(c[5], 12.0f);
}

//===----------------------------------------------------------------------===//
// Tensors
//===----------------------------------------------------------------------===//

class ModelRunTensors : public ModelRun {
protected:
  void SetUp() override {
    ModelRun::SetUp();
    const int64_t dims[] = {2, 3};
    ASSERT_EQ(kiln_tensor_init(&in[0], KILN_DTYPE_F32, 2, dims, a), KILN_OK);
    ASSERT_EQ(kiln_tensor_init(&in[1], KILN_DTYPE_F32, 2, dims, b), KILN_OK);
    ASSERT_EQ(kiln_tensor_init(&out[0], KILN_DTYPE_F32, 2, dims, c), KILN_OK);
  }
  kiln_status_code run() {
    return kiln_model_run_tensors(ctx.get(), desc, in, 2, out, 1);
  }
  kiln_tensor in[2];
  kiln_tensor out[1];
};

TEST_F(ModelRunTensors, Success) {
  ASSERT_EQ(run(), KILN_OK) << lastError();
  expectSum();
  const int64_t dims[] = {2, 3};
  kiln_tensor x, y;
  kiln_tensor_init(&x, KILN_DTYPE_F32, 2, dims, a);
  kiln_tensor_init(&y, KILN_DTYPE_F32, 2, dims, c);
  ASSERT_EQ(kiln_model_run_entry_tensors(ctx.get(), desc, 1, &x, 1, &y, 1),
            KILN_OK);
  EXPECT_EQ(c[0], 2.0f);
}

TEST_F(ModelRunTensors, WrongCounts) {
  EXPECT_EQ(kiln_model_run_tensors(ctx.get(), desc, in, 1, out, 1),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(lastError(),
            "kiln_model_run_tensors: entry 'run' takes 2 inputs, got 1");
  EXPECT_EQ(kiln_model_run_tensors(ctx.get(), desc, in, 2, out, 0),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(kiln_model_run_tensors(ctx.get(), desc, nullptr, 2, out, 1),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(kiln_model_run_tensors(ctx.get(), desc, in, 2, nullptr, 1),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(kiln_model_run_tensors(nullptr, desc, in, 2, out, 1),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(kiln_model_run_tensors(ctx.get(), nullptr, in, 2, out, 1),
            KILN_ERROR_INVALID_ARGUMENT);
}

TEST_F(ModelRunTensors, WrongDtype) {
  in[1].dtype = KILN_DTYPE_I32;
  EXPECT_EQ(run(), KILN_ERROR_DTYPE_MISMATCH);
  EXPECT_EQ(lastError(), "kiln_model_run_tensors: input 1 'b': expected dtype "
                         "float32, got int32 (7)");
  in[1].dtype = KILN_DTYPE_F32;
  out[0].dtype = KILN_DTYPE_F16;
  EXPECT_EQ(run(), KILN_ERROR_DTYPE_MISMATCH);
  EXPECT_EQ(lastError(), "kiln_model_run_tensors: output 0 'c': expected dtype "
                         "float32, got float16 (2)");
}

TEST_F(ModelRunTensors, WrongShape) {
  in[0].dims[1] = 4;
  EXPECT_EQ(run(), KILN_ERROR_SHAPE_MISMATCH);
  EXPECT_EQ(lastError(), "kiln_model_run_tensors: input 0 'a': expected shape "
                         "2x3, got 2x4");
  in[0].dims[1] = 3;
  in[0].rank = 1;
  EXPECT_EQ(run(), KILN_ERROR_SHAPE_MISMATCH);
  EXPECT_EQ(lastError(), "kiln_model_run_tensors: input 0 'a': expected shape "
                         "2x3, got 2");
  in[0].rank = 0;
  EXPECT_EQ(run(), KILN_ERROR_SHAPE_MISMATCH);
  EXPECT_EQ(lastError(), "kiln_model_run_tensors: input 0 'a': expected shape "
                         "2x3, got scalar");
  in[0].rank = 3;
  in[0].dims[2] = 1;
  EXPECT_EQ(run(), KILN_ERROR_SHAPE_MISMATCH);
  in[0].rank = 2;
  out[0].dims[0] = 1;
  EXPECT_EQ(run(), KILN_ERROR_SHAPE_MISMATCH);
  EXPECT_EQ(lastError(), "kiln_model_run_tensors: output 0 'c': expected shape "
                         "2x3, got 1x3");
  out[0].dims[0] = 2;
  out[0].rank = KILN_MAX_RANK + 1;
  EXPECT_EQ(run(), KILN_ERROR_INVALID_ARGUMENT);
  out[0].rank = 2;
  ASSERT_EQ(run(), KILN_OK);
}

TEST_F(ModelRunTensors, NullAndMisalignedData) {
  in[0].data = nullptr;
  EXPECT_EQ(run(), KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(lastError(), "kiln_model_run_tensors: input 0 'a' is NULL");
  in[0].data = reinterpret_cast<char *>(a) + 1;
  EXPECT_EQ(run(), KILN_ERROR_MISALIGNED);
}

//===----------------------------------------------------------------------===//
// Lookup by name
//===----------------------------------------------------------------------===//

TEST(ModelFind, InputsAndOutputs) {
  const kiln_model_desc *desc = test_add_descriptor();
  int32_t index = -5;
  ASSERT_EQ(kiln_model_find_input(desc, "a", &index), KILN_OK);
  EXPECT_EQ(index, 0);
  ASSERT_EQ(kiln_model_find_input(desc, "b", &index), KILN_OK);
  EXPECT_EQ(index, 1);
  ASSERT_EQ(kiln_model_find_output(desc, "c", &index), KILN_OK);
  EXPECT_EQ(index, 0);
  EXPECT_EQ(kiln_model_find_input(desc, "c", &index), KILN_ERROR_NOT_FOUND);
  EXPECT_EQ(index, -1);
  EXPECT_EQ(kiln_model_find_output(desc, "a", &index), KILN_ERROR_NOT_FOUND);
  EXPECT_EQ(lastError(),
            "kiln_model_find_output: model 'add' has no output named 'a'");
  EXPECT_EQ(kiln_model_find_input(nullptr, "a", &index),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(kiln_model_find_input(desc, nullptr, &index),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(kiln_model_find_output(desc, "c", nullptr),
            KILN_ERROR_INVALID_ARGUMENT);
}
