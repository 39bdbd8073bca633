//===- threads_test.cpp - several contexts on several threads -------------===//
#include "test_util.h"

#include <thread>
#include <vector>

using namespace kiln_test;

TEST(Threads, SeveralContextsAtOnce) {
  constexpr int kThreads = 4;
  constexpr int kRuns = 300;
  std::vector<int> failures(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([t, &failures] {
      // Each thread: its own context (with its own workers), same model.
      kiln_context_options opts;
      kiln_context_options_init(&opts);
      opts.num_threads = 1 + t % 3;
      kiln_context *ctx = nullptr;
      if (kiln_context_create(&opts, &ctx) != KILN_OK ||
          kiln_context_reserve(ctx, test_add_descriptor()) != KILN_OK) {
        ++failures[t];
        kiln_context_destroy(ctx);
        return;
      }
      alignas(64) float a[6], b[6], c[6];
      for (int run = 0; run < kRuns; ++run) {
        for (int i = 0; i < 6; ++i) {
          a[i] = float(t * 1000 + run);
          b[i] = float(i);
        }
        const void *ins[] = {a, b};
        void *outs[] = {c};
        if (kiln_model_run(ctx, test_add_descriptor(), ins, outs) != KILN_OK) {
          ++failures[t];
          continue;
        }
        for (int i = 0; i < 6; ++i)
          if (c[i] != a[i] + b[i])
            ++failures[t];
        // Errors on this thread stay on this thread.
        if (kiln_model_run_entry(ctx, test_add_descriptor(), 2, nullptr,
                                 nullptr) != KILN_ERROR_IO ||
            std::string(kiln_last_error_message()).find("'fail'") ==
                std::string::npos)
          ++failures[t];
      }
      kiln_context_destroy(ctx);
    });
  }
  for (auto &th : threads)
    th.join();
  for (int t = 0; t < kThreads; ++t)
    EXPECT_EQ(failures[t], 0) << "thread " << t;
}

TEST(Threads, ContextMovesBetweenThreads) {
  // One thread at a time, but not always the same one.
  ContextPtr ctx = makeContext(2);
  for (int round = 0; round < 20; ++round) {
    kiln_status_code status = KILN_ERROR_INTERNAL;
    std::thread([&] {
      alignas(64) float a[6] = {1, 2, 3, 4, 5, 6}, c[6];
      const void *ins[] = {a, a};
      void *outs[] = {c};
      status = kiln_model_run(ctx.get(), test_add_descriptor(), ins, outs);
      if (status == KILN_OK && c[5] != 12.0f)
        status = KILN_ERROR_INTERNAL;
    }).join();
    ASSERT_EQ(status, KILN_OK);
  }
}

TEST(Threads, CreateAndDestroyRepeatedly) {
  // Catches workers that miss the shutdown signal (the test would hang).
  for (int i = 0; i < 50; ++i) {
    ContextPtr ctx = makeContext(1 + i % 4);
    if (i % 2) {
      alignas(64) float a[6] = {}, c[6];
      const void *ins[] = {a, a};
      void *outs[] = {c};
      ASSERT_EQ(kiln_model_run(ctx.get(), test_add_descriptor(), ins, outs),
                KILN_OK);
    }
  }
}
