//===- loader_test.cpp - kiln_model_load on real shared libraries ---------===//
#include "test_util.h"

using namespace kiln_test;

namespace {

bool contains(const std::string &haystack, const std::string &needle) {
  return haystack.find(needle) != std::string::npos;
}

// Runs the "tiny" model (y = x + 1 over float32[3]) through its descriptor.
void expectTinyRuns(const kiln_model_desc *desc) {
  ASSERT_NE(desc, nullptr);
  EXPECT_STREQ(desc->name, "tiny");
  ContextPtr ctx = makeContext(2);
  ASSERT_EQ(kiln_context_reserve(ctx.get(), desc), KILN_OK);
  int32_t xi = -1, yi = -1;
  ASSERT_EQ(kiln_model_find_input(desc, "x", &xi), KILN_OK);
  ASSERT_EQ(kiln_model_find_output(desc, "y", &yi), KILN_OK);
  ASSERT_EQ(xi, 0);
  ASSERT_EQ(yi, 0);

  float x[3] = {1, 2, 3}, y[3] = {};
  kiln_tensor in, out;
  ASSERT_EQ(kiln_tensor_init_from_info(&in, &desc->entries[0].inputs[xi], x),
            KILN_OK);
  ASSERT_EQ(kiln_tensor_init_from_info(&out, &desc->entries[0].outputs[yi], y),
            KILN_OK);
  ASSERT_EQ(kiln_model_run_tensors(ctx.get(), desc, &in, 1, &out, 1), KILN_OK)
      << lastError();
  EXPECT_EQ(y[0], 2.0f);
  EXPECT_EQ(y[2], 4.0f);
}

} // namespace

TEST(ModelLoad, ByName) {
  kiln_model *model = nullptr;
  ASSERT_EQ(kiln_model_load(KILN_TEST_TINY_SO, "tiny", &model), KILN_OK)
      << lastError();
  expectTinyRuns(kiln_model_descriptor(model));
  kiln_model_unload(model);
}

TEST(ModelLoad, Generic) {
  kiln_model *model = nullptr;
  ASSERT_EQ(kiln_model_load(KILN_TEST_TINY_SO, nullptr, &model), KILN_OK)
      << lastError();
  expectTinyRuns(kiln_model_descriptor(model));
  kiln_model_unload(model);
}

TEST(ModelLoad, TwiceAtOnce) {
  kiln_model *first = nullptr, *second = nullptr;
  ASSERT_EQ(kiln_model_load(KILN_TEST_TINY_SO, "tiny", &first), KILN_OK);
  ASSERT_EQ(kiln_model_load(KILN_TEST_TINY_SO, nullptr, &second), KILN_OK);
  EXPECT_EQ(kiln_model_descriptor(first), kiln_model_descriptor(second));
  kiln_model_unload(first);
  expectTinyRuns(kiln_model_descriptor(second)); // still mapped
  kiln_model_unload(second);
}

TEST(ModelLoad, MissingFile) {
  kiln_model *model = reinterpret_cast<kiln_model *>(0x1);
  EXPECT_EQ(kiln_model_load("/nonexistent/dir/libnope.so", nullptr, &model),
            KILN_ERROR_NOT_FOUND);
  EXPECT_EQ(model, nullptr);
  EXPECT_TRUE(
      contains(lastError(),
               "kiln_model_load: cannot load '/nonexistent/dir/libnope.so': "))
      << lastError();
  EXPECT_TRUE(contains(lastError(), "No such file")) << lastError();
}

TEST(ModelLoad, NotASharedLibrary) {
  kiln_model *model = nullptr;
  EXPECT_EQ(kiln_model_load(KILN_TEST_NOT_A_LIBRARY, nullptr, &model),
            KILN_ERROR_IO);
  EXPECT_EQ(model, nullptr);
  EXPECT_TRUE(contains(lastError(), "cannot load")) << lastError();
}

TEST(ModelLoad, MissingSymbol) {
  kiln_model *model = nullptr;
  EXPECT_EQ(kiln_model_load(KILN_TEST_TINY_SO, "mnist", &model),
            KILN_ERROR_NOT_FOUND);
  EXPECT_EQ(model, nullptr);
  EXPECT_TRUE(contains(lastError(), "does not export 'mnist_descriptor'"))
      << lastError();
}

TEST(ModelLoad, AbiMismatch) {
  kiln_model *model = nullptr;
  EXPECT_EQ(kiln_model_load(KILN_TEST_TINY_ABI2_SO, "tiny", &model),
            KILN_ERROR_ABI_MISMATCH);
  EXPECT_EQ(model, nullptr);
  EXPECT_TRUE(contains(lastError(), "compiled for kiln ABI version 2, this "
                                    "runtime implements version 1"))
      << lastError();
  EXPECT_TRUE(contains(lastError(), KILN_TEST_TINY_ABI2_SO)) << lastError();
}

TEST(ModelLoad, DescriptorFunctionReturnsNull) {
  kiln_model *model = nullptr;
  EXPECT_EQ(kiln_model_load(KILN_TEST_TINY_NULL_SO, nullptr, &model),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_TRUE(contains(lastError(), "kiln_artifact_descriptor() returned NULL"))
      << lastError();
}

TEST(ModelLoad, BadArguments) {
  kiln_model *model = nullptr;
  EXPECT_EQ(kiln_model_load(KILN_TEST_TINY_SO, "tiny", nullptr),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(kiln_model_load(nullptr, "tiny", &model),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(kiln_model_load("", "tiny", &model), KILN_ERROR_INVALID_ARGUMENT);
  for (const char *bad : {"", "1tiny", "ti-ny", "tiny;rm", "a b"}) {
    EXPECT_EQ(kiln_model_load(KILN_TEST_TINY_SO, bad, &model),
              KILN_ERROR_INVALID_ARGUMENT)
        << bad;
    EXPECT_EQ(model, nullptr);
  }
  std::string longName(300, 'x');
  EXPECT_EQ(kiln_model_load(KILN_TEST_TINY_SO, longName.c_str(), &model),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(kiln_model_descriptor(nullptr), nullptr);
  kiln_model_unload(nullptr); // no-op
}

namespace {
// Writes tiny_ext.weights ({1, 2, 3} as float32, or `bytes` of them) next to
// the tiny_ext library.
std::string writeTinyWeights(size_t bytes = 3 * sizeof(float)) {
  std::string lib = KILN_TEST_TINY_EXT_SO;
  std::string path = lib.substr(0, lib.rfind('/') + 1) + "tiny_ext.weights";
  const float w[3] = {1.0f, 2.0f, 3.0f};
  FILE *f = fopen(path.c_str(), "wb");
  EXPECT_NE(f, nullptr);
  if (f) {
    fwrite(w, 1, bytes, f);
    fclose(f);
  }
  return path;
}

void expectTinyExtRuns(const kiln_model_desc *desc) {
  ContextPtr ctx = makeContext(1);
  float x[3] = {1, 1, 1}, y[3] = {};
  const void *in[] = {x};
  void *out[] = {y};
  ASSERT_EQ(kiln_model_run(ctx.get(), desc, in, out), KILN_OK) << lastError();
  EXPECT_EQ(y[0], 2.0f);
  EXPECT_EQ(y[2], 4.0f);
}
} // namespace

TEST(ModelLoad, ExternalWeightsFromTheLibrarysFolder) {
  writeTinyWeights();
  kiln_model *first = nullptr, *second = nullptr;
  ASSERT_EQ(kiln_model_load(KILN_TEST_TINY_EXT_SO, "tiny", &first), KILN_OK)
      << lastError();
  ASSERT_EQ(kiln_model_load(KILN_TEST_TINY_EXT_SO, "tiny", &second), KILN_OK);
  const kiln_model_desc *desc = kiln_model_descriptor(second);
  EXPECT_EQ(kiln_model_weights_ready(desc), 1);
  expectTinyExtRuns(desc);
  // The library and its weights stay while the second load holds them.
  kiln_model_unload(first);
  EXPECT_EQ(kiln_model_weights_ready(desc), 1);
  expectTinyExtRuns(desc);
  kiln_model_unload(second);
}

TEST(ModelLoad, ExternalWeightsDamagedFileIsRefused) {
  std::string path = writeTinyWeights(2 * sizeof(float));
  kiln_model *model = reinterpret_cast<kiln_model *>(0x1);
  EXPECT_EQ(kiln_model_load(KILN_TEST_TINY_EXT_SO, nullptr, &model),
            KILN_ERROR_CORRUPT_DATA);
  EXPECT_EQ(model, nullptr);
  EXPECT_TRUE(contains(lastError(), "is 8 bytes, model 'tiny' expects 12"))
      << lastError();
  std::remove(path.c_str());
  EXPECT_EQ(kiln_model_load(KILN_TEST_TINY_EXT_SO, nullptr, &model),
            KILN_ERROR_NOT_FOUND);
  EXPECT_TRUE(contains(lastError(), "needs its weight file 'tiny_ext.weights'"))
      << lastError();
  writeTinyWeights(); // leave a good file for reruns
}
