//===- status_test.cpp - status strings, messages, version ----------------===//
#include "test_util.h"

#include <set>
#include <thread>

using namespace kiln_test;

TEST(Status, StringsAreDistinctAndNamed) {
  std::set<std::string> seen;
  for (int code = KILN_OK; code <= KILN_ERROR_CORRUPT_DATA; ++code) {
    std::string s = kiln_status_string(static_cast<kiln_status_code>(code));
    EXPECT_FALSE(s.empty());
    EXPECT_NE(s, "unknown status") << code;
    EXPECT_TRUE(seen.insert(s).second) << "duplicate: " << s;
  }
  EXPECT_STREQ(kiln_status_string(KILN_OK), "ok");
  EXPECT_STREQ(kiln_status_string(KILN_ERROR_SHAPE_MISMATCH), "shape mismatch");
  EXPECT_STREQ(kiln_status_string(static_cast<kiln_status_code>(-1)),
               "unknown status");
  EXPECT_STREQ(kiln_status_string(static_cast<kiln_status_code>(99)),
               "unknown status");
}

TEST(Status, AbiVersion) {
  EXPECT_EQ(kiln_runtime_abi_version(), KILN_ABI_VERSION);
}

TEST(Status, MessageStartsEmptyOnEveryThread) {
  std::string msg = "unset";
  std::thread([&] { msg = kiln_last_error_message(); }).join();
  EXPECT_EQ(msg, "");
}

TEST(Status, MessageIsKeptUntilTheNextFailure) {
  EXPECT_EQ(kiln_context_create(nullptr, nullptr), KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(lastError(), "kiln_context_create: out is NULL");
  // Successes leave it alone.
  EXPECT_EQ(kiln_dtype_size(KILN_DTYPE_F32), 4u);
  ContextPtr ctx = makeContext(1);
  EXPECT_EQ(lastError(), "kiln_context_create: out is NULL");
  EXPECT_EQ(kiln_model_run(ctx.get(), nullptr, nullptr, nullptr),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(lastError(), "kiln_model_run: desc is NULL");
}

TEST(Status, MessagesArePerThread) {
  EXPECT_EQ(kiln_model_find_input(nullptr, "x", nullptr),
            KILN_ERROR_INVALID_ARGUMENT);
  std::string mine = lastError();
  std::string theirs;
  std::thread([&] {
    int32_t index = 0;
    EXPECT_EQ(kiln_model_find_input(test_add_descriptor(), "nope", &index),
              KILN_ERROR_NOT_FOUND);
    theirs = kiln_last_error_message();
  }).join();
  EXPECT_EQ(theirs,
            "kiln_model_find_input: model 'add' has no input named 'nope'");
  EXPECT_EQ(lastError(), mine);
}
