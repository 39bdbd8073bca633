//===- exec_test.cpp - kiln_exec_parallel_for -----------------------------===//
#include "test_util.h"

#include <chrono>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

using namespace kiln_test;

namespace {

// Counts how often each index is visited and checks each range.
struct Coverage {
  int64_t n;
  std::vector<std::atomic<int>> hits;
  std::atomic<int> calls{0};
  std::atomic<int> badRanges{0};
  std::atomic<int64_t> shortest{INT64_MAX};
  std::atomic<int64_t> longest{0};

  explicit Coverage(int64_t n) : n(n), hits(size_t(n)) {}

  static void body(void *data, int64_t begin, int64_t end) {
    auto *self = static_cast<Coverage *>(data);
    ++self->calls;
    if (begin < 0 || begin >= end || end > self->n) {
      ++self->badRanges;
      return;
    }
    for (int64_t i = begin; i < end; ++i)
      ++self->hits[size_t(i)];
    int64_t len = end - begin;
    for (int64_t s = self->shortest; len < s;)
      self->shortest.compare_exchange_weak(s, len);
    for (int64_t l = self->longest; len > l;)
      self->longest.compare_exchange_weak(l, len);
  }

  void expectExactlyOnce() const {
    EXPECT_EQ(badRanges.load(), 0);
    for (int64_t i = 0; i < n; ++i)
      ASSERT_EQ(hits[size_t(i)].load(), 1) << "index " << i << " of " << n;
  }
};

} // namespace

class ParallelFor : public ::testing::TestWithParam<int32_t> {};

TEST_P(ParallelFor, CoversTheRangeExactlyOnce) {
  ContextPtr ctx = makeContext(GetParam());
  void *exec = kiln_context_exec(ctx.get());
  for (int64_t n : {1, 2, 3, 5, 7, 8, 28, 31, 49, 64, 1000, 4097, 100003}) {
    Coverage cov(n);
    ASSERT_EQ(kiln_exec_parallel_for(exec, n, Coverage::body, &cov), KILN_OK);
    cov.expectExactlyOnce();
    // 4 chunks per thread, never more chunks than items, sizes within one
    // item of each other (49 items on 2 threads: 8 chunks of 6 or 7, not 7
    // of 7, which the threads split 4 against 3).
    int64_t chunks = GetParam() == 1 ? 1 : std::min<int64_t>(n, 4 * GetParam());
    EXPECT_EQ(cov.calls.load(), chunks) << "n " << n;
    EXPECT_LE(cov.longest - cov.shortest, 1) << "n " << n;
  }
}

TEST_P(ParallelFor, ManyBackToBackCalls) {
  // Short jobs in a row exercise the hand-off between generations.
  ContextPtr ctx = makeContext(GetParam());
  void *exec = kiln_context_exec(ctx.get());
  for (int round = 0; round < 2000; ++round) {
    Coverage cov(1 + round % 37);
    ASSERT_EQ(kiln_exec_parallel_for(exec, cov.n, Coverage::body, &cov),
              KILN_OK);
    cov.expectExactlyOnce();
  }
}

INSTANTIATE_TEST_SUITE_P(Threads, ParallelFor,
                         ::testing::Values(1, 2, 3, 4, 8));

TEST(ParallelFor, NullExecRunsSeriallyInOneCall) {
  Coverage cov(100);
  ASSERT_EQ(kiln_exec_parallel_for(nullptr, 100, Coverage::body, &cov),
            KILN_OK);
  cov.expectExactlyOnce();
  EXPECT_EQ(cov.calls.load(), 1);
  EXPECT_EQ(kiln_exec_num_threads(nullptr), 1);
}

TEST(ParallelFor, OneThreadContextRunsSerially) {
  ContextPtr ctx = makeContext(1);
  Coverage cov(100);
  ASSERT_EQ(kiln_exec_parallel_for(kiln_context_exec(ctx.get()), 100,
                                   Coverage::body, &cov),
            KILN_OK);
  EXPECT_EQ(cov.calls.load(), 1);
}

TEST(ParallelFor, EmptyRangeCallsNothing) {
  ContextPtr ctx = makeContext(4);
  Coverage cov(0);
  EXPECT_EQ(kiln_exec_parallel_for(kiln_context_exec(ctx.get()), 0,
                                   Coverage::body, &cov),
            KILN_OK);
  EXPECT_EQ(kiln_exec_parallel_for(nullptr, 0, Coverage::body, &cov), KILN_OK);
  EXPECT_EQ(cov.calls.load(), 0);
}

TEST(ParallelFor, RejectsBadArguments) {
  ContextPtr ctx = makeContext(2);
  void *exec = kiln_context_exec(ctx.get());
  Coverage cov(1);
  EXPECT_EQ(kiln_exec_parallel_for(exec, 10, nullptr, nullptr),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(lastError(), "kiln_exec_parallel_for: fn is NULL");
  EXPECT_EQ(kiln_exec_parallel_for(exec, -1, Coverage::body, &cov),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(lastError(), "kiln_exec_parallel_for: negative range size -1");
  // Memory that is not an exec handle.
  alignas(64) unsigned char fake[256] = {};
  EXPECT_EQ(kiln_exec_parallel_for(fake, 10, Coverage::body, &cov),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(cov.calls.load(), 0);
  EXPECT_EQ(kiln_exec_num_threads(fake), 1);
}

TEST(ParallelFor, UsesSeveralThreads) {
  ContextPtr ctx = makeContext(4);
  std::mutex mu;
  std::set<std::thread::id> ids;
  struct Job {
    std::mutex *mu;
    std::set<std::thread::id> *ids;
  } job{&mu, &ids};
  auto body = [](void *data, int64_t begin, int64_t end) {
    auto *j = static_cast<Job *>(data);
    for (int64_t i = begin; i < end; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    std::lock_guard<std::mutex> lock(*j->mu);
    j->ids->insert(std::this_thread::get_id());
  };
  ASSERT_EQ(
      kiln_exec_parallel_for(kiln_context_exec(ctx.get()), 16, body, &job),
      KILN_OK);
  EXPECT_GT(ids.size(), 1u);
  EXPECT_LE(ids.size(), 4u);
}

TEST(ParallelFor, NestedCallsRunSerially) {
  ContextPtr ctx = makeContext(3);
  struct Job {
    void *exec;
    std::atomic<int64_t> inner{0};
    std::atomic<int> errors{0};
  } job;
  job.exec = kiln_context_exec(ctx.get());
  auto outer = [](void *data, int64_t begin, int64_t end) {
    auto *j = static_cast<Job *>(data);
    for (int64_t i = begin; i < end; ++i) {
      Coverage cov(10);
      if (kiln_exec_parallel_for(j->exec, 10, Coverage::body, &cov) !=
              KILN_OK ||
          cov.calls.load() != 1)
        ++j->errors;
      for (int k = 0; k < 10; ++k)
        j->inner += cov.hits[size_t(k)].load();
    }
  };
  ASSERT_EQ(kiln_exec_parallel_for(job.exec, 12, outer, &job), KILN_OK);
  EXPECT_EQ(job.errors.load(), 0);
  EXPECT_EQ(job.inner.load(), 120);
}

TEST(ParallelFor, KernelsReceiveTheContextsExec) {
  // The "add" kernel splits its 6 elements through parallel_for.
  const float a[6] = {1, 2, 3, 4, 5, 6}, b[6] = {1, 1, 1, 1, 1, 1};
  float c[6] = {};
  const void *ins[] = {a, b};
  void *outs[] = {c};
  ContextPtr serial = makeContext(1);
  ASSERT_EQ(kiln_model_run(serial.get(), test_add_descriptor(), ins, outs),
            KILN_OK);
  EXPECT_EQ(test_add_last_chunk_calls(), 1);
  ContextPtr parallel = makeContext(2);
  ASSERT_EQ(kiln_model_run(parallel.get(), test_add_descriptor(), ins, outs),
            KILN_OK);
  EXPECT_EQ(test_add_last_chunk_calls(), 6);
  for (int i = 0; i < 6; ++i)
    EXPECT_EQ(c[i], a[i] + 1);
}
