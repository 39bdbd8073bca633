//===- state_test.cpp - kiln_state and kiln_model_run_state ---------------===//
#include "test_util.h"

#include <memory>
#include <string>

using namespace kiln_test;

namespace {

struct StateDeleter {
  void operator()(kiln_state *s) const { kiln_state_destroy(s); }
};
using StatePtr = std::unique_ptr<kiln_state, StateDeleter>;

class State : public ::testing::Test {
protected:
  void SetUp() override {
    ctx = makeContext(1);
    kiln_state *s = nullptr;
    ASSERT_EQ(kiln_state_create(desc, nullptr, &s), KILN_OK) << lastError();
    state.reset(s);
  }

  /// Appends {a, b}; returns the status, the kernel's total in `total`.
  kiln_status_code append(float a, float b) {
    alignas(64) float x[2] = {a, b};
    const void *ins[] = {x};
    void *outs[] = {&total};
    return kiln_model_run_state(ctx.get(), desc, 0, state.get(), ins, outs);
  }

  ContextPtr ctx;
  StatePtr state;
  const kiln_model_desc *desc = test_cache_descriptor();
  alignas(64) float total = 0;
};

bool contains(const std::string &haystack, const std::string &needle) {
  return haystack.find(needle) != std::string::npos;
}

} // namespace

TEST_F(State, AppendsAtTheLength) {
  EXPECT_EQ(kiln_state_length(state.get()), 0);
  EXPECT_EQ(kiln_state_capacity(state.get()), TEST_CACHE_ROWS);
  ASSERT_EQ(append(1, 2), KILN_OK) << lastError();
  EXPECT_EQ(total, 3);
  ASSERT_EQ(append(10, 20), KILN_OK) << lastError();
  EXPECT_EQ(total, 33); // the first call's rows are still there
  EXPECT_EQ(kiln_state_length(state.get()), 4);
}

TEST_F(State, FullCacheIsAnErrorAndKeepsTheLength) {
  ASSERT_EQ(append(1, 1), KILN_OK);
  ASSERT_EQ(append(1, 1), KILN_OK);
  ASSERT_EQ(append(1, 1), KILN_OK);
  EXPECT_EQ(append(1, 1), KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_TRUE(contains(lastError(), "the cache is full: 6 tokens + 2 new > "
                                    "max_seq_len 6"))
      << lastError();
  EXPECT_EQ(kiln_state_length(state.get()), 6);
}

TEST_F(State, TruncateRewindsAndResetStartsOver) {
  ASSERT_EQ(append(1, 2), KILN_OK);
  ASSERT_EQ(append(3, 4), KILN_OK);
  ASSERT_EQ(kiln_state_truncate(state.get(), 2), KILN_OK);
  ASSERT_EQ(append(30, 40), KILN_OK); // overwrites rows 2 and 3
  EXPECT_EQ(total, 73);
  EXPECT_EQ(kiln_state_truncate(state.get(), 5), KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_TRUE(contains(lastError(), "length 5 is not in [0, 4]"))
      << lastError();
  ASSERT_EQ(kiln_state_reset(state.get()), KILN_OK);
  ASSERT_EQ(append(5, 6), KILN_OK);
  EXPECT_EQ(total, 11);
}

TEST_F(State, StatefulEntriesNeedAState) {
  alignas(64) float x[2] = {1, 2};
  const void *ins[] = {x};
  void *outs[] = {&total};
  EXPECT_EQ(kiln_model_run(ctx.get(), desc, ins, outs),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_TRUE(contains(lastError(), "is stateful: use kiln_model_run_state"))
      << lastError();
  EXPECT_EQ(kiln_model_run_state(ctx.get(), desc, 0, nullptr, ins, outs),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_TRUE(contains(lastError(), "state is NULL")) << lastError();
  EXPECT_EQ(kiln_model_run_state(ctx.get(), desc, 0, state.get(), ins,
                                 nullptr),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(kiln_state_length(state.get()), 0);
}

TEST_F(State, StateAndModelMustMatch) {
  const kiln_model_desc *add = test_add_descriptor();
  kiln_state *s = reinterpret_cast<kiln_state *>(1);
  EXPECT_EQ(kiln_state_create(add, nullptr, &s), KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(s, nullptr);
  EXPECT_TRUE(contains(lastError(), "has no KV cache")) << lastError();
  alignas(64) float a[6] = {}, c[6] = {};
  const void *ins[] = {a, a};
  void *outs[] = {c};
  EXPECT_EQ(kiln_model_run_state(ctx.get(), add, 0, state.get(), ins, outs),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_TRUE(contains(lastError(), "created for model 'cache', not 'add'"))
      << lastError();
}

TEST_F(State, FindEntryAndNullArguments) {
  int32_t index = 7;
  EXPECT_EQ(kiln_model_find_entry(desc, KILN_ENTRY_PREFILL, &index), KILN_OK);
  EXPECT_EQ(index, 0);
  EXPECT_EQ(kiln_model_find_entry(desc, KILN_ENTRY_DECODE, &index),
            KILN_ERROR_NOT_FOUND);
  EXPECT_EQ(index, -1);
  EXPECT_EQ(kiln_state_length(nullptr), -1);
  EXPECT_EQ(kiln_state_reset(nullptr), KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(kiln_state_create(desc, nullptr, nullptr),
            KILN_ERROR_INVALID_ARGUMENT);
  kiln_state_destroy(nullptr);
}
