//===- kv_pool_test.cpp - paged KV caches shared by sequences -------------===//
#include "test_util.h"

#include <cstddef>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

using namespace kiln_test;

namespace {

struct StateDeleter {
  void operator()(kiln_state *s) const { kiln_state_destroy(s); }
};
using StatePtr = std::unique_ptr<kiln_state, StateDeleter>;

struct PoolDeleter {
  void operator()(kiln_kv_pool *p) const {
    EXPECT_EQ(kiln_kv_pool_destroy(p), KILN_OK) << kiln_last_error_message();
  }
};
using PoolPtr = std::unique_ptr<kiln_kv_pool, PoolDeleter>;

bool contains(const std::string &haystack, const std::string &needle) {
  return haystack.find(needle) != std::string::npos;
}

const kiln_model_desc *paged() { return test_paged_descriptor(); }

/// One sequence of the "paged" model and what it was fed.
struct Sequence {
  StatePtr state;
  std::vector<float> rows; // two floats per token

  /// Appends {a, b}; on success checks the kernel's sums against `rows`.
  kiln_status_code append(kiln_context *ctx, float a, float b) {
    alignas(64) float x[2] = {a, b};
    alignas(64) float total[2] = {-1, -1};
    alignas(64) int64_t steps = -1;
    const void *ins[] = {x};
    void *outs[] = {total, &steps};
    kiln_status_code status =
        kiln_model_run_state(ctx, paged(), 0, state.get(), ins, outs);
    if (status != KILN_OK)
      return status;
    rows.resize(2 * size_t(kiln_state_length(state.get())) - 2);
    rows.push_back(a);
    rows.push_back(b);
    float want[2] = {0, 0};
    for (size_t i = 0; i < rows.size(); i += 2) {
      want[0] += rows[i];
      want[1] += rows[i + 1];
    }
    EXPECT_EQ(total[0], want[0]);
    EXPECT_EQ(total[1], want[1]);
    ++calls;
    EXPECT_EQ(steps, calls); // the plain state is the sequence's own
    return status;
  }

  int64_t calls = 0;
};

class KvPool : public ::testing::Test {
protected:
  void SetUp() override {
    ctx = makeContext(1);
    kiln_kv_pool *p = nullptr;
    ASSERT_EQ(kiln_kv_pool_create(paged(), nullptr, &p), KILN_OK)
        << lastError();
    pool.reset(p);
  }

  Sequence sequence() {
    kiln_state *s = nullptr;
    EXPECT_EQ(kiln_state_create_in_pool(pool.get(), &s), KILN_OK)
        << lastError();
    Sequence seq;
    seq.state.reset(s);
    return seq;
  }

  int64_t freeBlocks() const { return kiln_kv_pool_free_blocks(pool.get()); }

  ContextPtr ctx;
  PoolPtr pool; // declared after ctx, before the sequences of a test
};

} // namespace

TEST_F(KvPool, Queries) {
  EXPECT_EQ(kiln_kv_pool_blocks(pool.get()), TEST_PAGED_POOL_BLOCKS);
  EXPECT_EQ(freeBlocks(), TEST_PAGED_POOL_BLOCKS);
  EXPECT_EQ(kiln_kv_pool_block_tokens(pool.get()), TEST_PAGED_BLOCK_TOKENS);
  EXPECT_EQ(kiln_kv_pool_blocks(nullptr), -1);
  EXPECT_EQ(kiln_kv_pool_free_blocks(nullptr), -1);
  EXPECT_EQ(kiln_kv_pool_block_tokens(nullptr), -1);
  Sequence a = sequence();
  EXPECT_EQ(kiln_state_length(a.state.get()), 0);
  EXPECT_EQ(kiln_state_capacity(a.state.get()), TEST_PAGED_MAX_SEQ_LEN);
  EXPECT_EQ(freeBlocks(), TEST_PAGED_POOL_BLOCKS); // blocks come on demand
}

TEST_F(KvPool, InterleavedSequencesKeepTheirOwnRows) {
  Sequence a = sequence(), b = sequence();
  for (int i = 0; i < 4; ++i) {
    ASSERT_EQ(a.append(ctx.get(), float(1 + i), float(100 + i)), KILN_OK)
        << lastError();
    ASSERT_EQ(b.append(ctx.get(), float(-10 * i), float(1000 * i)), KILN_OK)
        << lastError();
  }
  ASSERT_EQ(a.append(ctx.get(), 7, 8), KILN_OK) << lastError();
  EXPECT_EQ(kiln_state_length(a.state.get()), 5);
  EXPECT_EQ(kiln_state_length(b.state.get()), 4);
  EXPECT_EQ(freeBlocks(), TEST_PAGED_POOL_BLOCKS - 3 - 2);
}

TEST_F(KvPool, BlocksFollowTheLength) {
  Sequence a = sequence(), b = sequence();
  const int64_t pool_blocks = TEST_PAGED_POOL_BLOCKS;
  ASSERT_EQ(a.append(ctx.get(), 1, 1), KILN_OK);
  EXPECT_EQ(freeBlocks(), pool_blocks - 1);
  ASSERT_EQ(a.append(ctx.get(), 2, 2), KILN_OK);
  EXPECT_EQ(freeBlocks(), pool_blocks - 1); // same block
  ASSERT_EQ(a.append(ctx.get(), 3, 3), KILN_OK);
  EXPECT_EQ(freeBlocks(), pool_blocks - 2);
  for (int i = 0; i < 3; ++i)
    ASSERT_EQ(b.append(ctx.get(), 5, 5), KILN_OK);
  EXPECT_EQ(freeBlocks(), pool_blocks - 4);

  // Truncating within a block keeps it; past its start gives it back.
  ASSERT_EQ(kiln_state_truncate(a.state.get(), 3), KILN_OK);
  EXPECT_EQ(freeBlocks(), pool_blocks - 4);
  ASSERT_EQ(kiln_state_truncate(a.state.get(), 2), KILN_OK);
  EXPECT_EQ(freeBlocks(), pool_blocks - 3);
  ASSERT_EQ(a.append(ctx.get(), 30, 40), KILN_OK) << lastError(); // row 2
  EXPECT_EQ(freeBlocks(), pool_blocks - 4);
  ASSERT_EQ(kiln_state_truncate(a.state.get(), 1), KILN_OK);
  ASSERT_EQ(a.append(ctx.get(), 9, 9), KILN_OK) << lastError(); // row 1
  EXPECT_EQ(freeBlocks(), pool_blocks - 3);

  ASSERT_EQ(kiln_state_reset(a.state.get()), KILN_OK);
  EXPECT_EQ(freeBlocks(), pool_blocks - 2);
  ASSERT_EQ(kiln_state_reset(a.state.get()), KILN_OK); // nothing to give
  EXPECT_EQ(freeBlocks(), pool_blocks - 2);
  b.state.reset(); // destroy
  EXPECT_EQ(freeBlocks(), pool_blocks);
}

TEST_F(KvPool, ExhaustionIsAnErrorUntilASequenceResets) {
  Sequence a = sequence(), b = sequence(), c = sequence();
  for (int i = 0; i < TEST_PAGED_MAX_SEQ_LEN; ++i)
    ASSERT_EQ(a.append(ctx.get(), float(i), 1), KILN_OK) << lastError();
  for (int i = 0; i < 4; ++i)
    ASSERT_EQ(b.append(ctx.get(), float(10 * i), 2), KILN_OK) << lastError();
  EXPECT_EQ(freeBlocks(), 0);
  EXPECT_EQ(b.append(ctx.get(), 1, 1), KILN_ERROR_OUT_OF_MEMORY);
  EXPECT_TRUE(contains(lastError(), "kiln_model_run_state: the KV pool is out "
                                    "of blocks: this call needs 1, 0 of its 6 "
                                    "are free (the others held by 2 "
                                    "sequences)"))
      << lastError();
  EXPECT_TRUE(contains(lastError(), "--kv-pool-blocks")) << lastError();
  EXPECT_EQ(kiln_state_length(b.state.get()), 4);
  EXPECT_EQ(c.append(ctx.get(), 1, 1), KILN_ERROR_OUT_OF_MEMORY);
  EXPECT_EQ(kiln_state_length(c.state.get()), 0);
  EXPECT_EQ(freeBlocks(), 0);

  ASSERT_EQ(kiln_state_reset(a.state.get()), KILN_OK);
  EXPECT_EQ(freeBlocks(), 4);
  ASSERT_EQ(b.append(ctx.get(), 7, 7), KILN_OK) << lastError(); // rows kept
  ASSERT_EQ(c.append(ctx.get(), 3, 4), KILN_OK) << lastError();
  EXPECT_EQ(freeBlocks(), 2);
}

TEST_F(KvPool, AFailedCallKeepsLengthAndBlocks) {
  Sequence a = sequence();
  ASSERT_EQ(a.append(ctx.get(), 1, 2), KILN_OK);
  ASSERT_EQ(a.append(ctx.get(), 3, 4), KILN_OK);
  alignas(64) float total[2];
  alignas(64) int64_t steps;
  void *outs[] = {total, &steps};
  const void *ins[] = {nullptr};
  // Position 2 needs a new block: taken, then given back on the error.
  EXPECT_EQ(
      kiln_model_run_state(ctx.get(), paged(), 0, a.state.get(), ins, outs),
      KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(kiln_state_length(a.state.get()), 2);
  EXPECT_EQ(freeBlocks(), TEST_PAGED_POOL_BLOCKS - 1);
  ASSERT_EQ(a.append(ctx.get(), 5, 6), KILN_OK) << lastError();
}

TEST_F(KvPool, DestroyWithLiveSequencesIsRefused) {
  Sequence a = sequence(), b = sequence();
  ASSERT_EQ(a.append(ctx.get(), 1, 2), KILN_OK);
  EXPECT_EQ(kiln_kv_pool_destroy(pool.get()), KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_TRUE(contains(lastError(), "2 sequences still use the pool"))
      << lastError();
  a.state.reset();
  EXPECT_EQ(kiln_kv_pool_destroy(pool.get()), KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_TRUE(contains(lastError(), "1 sequences still use the pool"))
      << lastError();
  ASSERT_EQ(b.append(ctx.get(), 3, 4), KILN_OK) << lastError(); // untouched
  b.state.reset();
  EXPECT_EQ(kiln_kv_pool_destroy(pool.release()), KILN_OK) << lastError();
  EXPECT_EQ(kiln_kv_pool_destroy(nullptr), KILN_OK);
}

TEST_F(KvPool, NullArguments) {
  kiln_state *s = reinterpret_cast<kiln_state *>(1);
  EXPECT_EQ(kiln_state_create_in_pool(nullptr, &s),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(s, nullptr);
  EXPECT_TRUE(contains(lastError(), "pool is NULL")) << lastError();
  EXPECT_EQ(kiln_state_create_in_pool(pool.get(), nullptr),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_TRUE(contains(lastError(), "out is NULL")) << lastError();
  kiln_kv_pool *p = reinterpret_cast<kiln_kv_pool *>(1);
  EXPECT_EQ(kiln_kv_pool_create(nullptr, nullptr, &p),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(p, nullptr);
  EXPECT_EQ(kiln_kv_pool_create(paged(), nullptr, nullptr),
            KILN_ERROR_INVALID_ARGUMENT);
  kiln_allocator broken = {nullptr, nullptr, nullptr};
  EXPECT_EQ(kiln_kv_pool_create(paged(), &broken, &p),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_TRUE(contains(lastError(), "allocator has a NULL callback"))
      << lastError();
  EXPECT_EQ(freeBlocks(), TEST_PAGED_POOL_BLOCKS);
}

TEST(KvPoolModels, UnpagedModelsHaveNoPool) {
  kiln_kv_pool *p = reinterpret_cast<kiln_kv_pool *>(1);
  EXPECT_EQ(kiln_kv_pool_create(test_cache_descriptor(), nullptr, &p),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(p, nullptr);
  EXPECT_TRUE(contains(lastError(), "kiln_kv_pool_create: model 'cache' has "
                                    "no paged KV cache (--kv-block)"))
      << lastError();
  EXPECT_EQ(kiln_kv_pool_create(test_add_descriptor(), nullptr, &p),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_TRUE(contains(lastError(), "has no paged KV cache")) << lastError();
}

TEST(KvPoolModels, StateCreateGivesAPrivatePool) {
  CountingAllocator counting;
  kiln_allocator alloc = counting.get();
  ContextPtr ctx = makeContext(1);
  {
    kiln_state *s = nullptr;
    ASSERT_EQ(kiln_state_create(paged(), &alloc, &s), KILN_OK) << lastError();
    Sequence seq;
    seq.state.reset(s);
    EXPECT_EQ(kiln_state_capacity(s), TEST_PAGED_MAX_SEQ_LEN);
    for (int i = 0; i < TEST_PAGED_MAX_SEQ_LEN; ++i)
      ASSERT_EQ(seq.append(ctx.get(), float(i), float(-i)), KILN_OK)
          << lastError();
    ASSERT_EQ(kiln_state_truncate(s, 3), KILN_OK);
    ASSERT_EQ(seq.append(ctx.get(), 50, 60), KILN_OK) << lastError();
    ASSERT_EQ(kiln_state_reset(s), KILN_OK);
    // Reset leaves the plain state "steps" alone: its count goes on.
    EXPECT_EQ(seq.calls, TEST_PAGED_MAX_SEQ_LEN + 1);
    ASSERT_EQ(seq.append(ctx.get(), 1, 1), KILN_OK) << lastError();
    EXPECT_GT(counting.allocs.load(), 0);
  }
  // The state freed its pool with the allocator it was given.
  EXPECT_EQ(counting.allocs.load(), counting.frees.load());
  EXPECT_EQ(counting.liveBytes.load(), 0);
}

TEST(KvPoolModels, AllocationFailuresLeakNothing) {
  CountingAllocator counting;
  kiln_allocator alloc = counting.get();
  for (int fail = 0; fail < 4; ++fail) {
    counting.failAfter = fail;
    kiln_state *s = reinterpret_cast<kiln_state *>(1);
    EXPECT_EQ(kiln_state_create(paged(), &alloc, &s), KILN_ERROR_OUT_OF_MEMORY)
        << "failing allocation " << fail;
    EXPECT_EQ(s, nullptr);
    EXPECT_EQ(counting.liveBytes.load(), 0);
  }
  counting.failAfter = 1;
  kiln_kv_pool *p = reinterpret_cast<kiln_kv_pool *>(1);
  EXPECT_EQ(kiln_kv_pool_create(paged(), &alloc, &p), KILN_ERROR_OUT_OF_MEMORY);
  EXPECT_EQ(p, nullptr);
  counting.failAfter = -1;
  ASSERT_EQ(kiln_kv_pool_create(paged(), &alloc, &p), KILN_OK) << lastError();
  counting.failAfter = 0;
  kiln_state *s = nullptr;
  EXPECT_EQ(kiln_state_create_in_pool(p, &s), KILN_ERROR_OUT_OF_MEMORY);
  counting.failAfter = -1;
  EXPECT_EQ(kiln_kv_pool_destroy(p), KILN_OK) << lastError();
  EXPECT_EQ(counting.liveBytes.load(), 0);
}

TEST(KvPoolModels, BadPagedDescriptorsAreRefused) {
  const kiln_model_desc *good = paged();
  kiln_state_desc states[3];
  std::memcpy(states, good->states, sizeof(states));
  kiln_model_desc desc = *good;
  desc.states = states;
  kiln_kv_pool *p = nullptr;
  auto refused = [&](const char *what) {
    EXPECT_EQ(kiln_kv_pool_create(&desc, nullptr, &p),
              KILN_ERROR_INVALID_ARGUMENT)
        << what;
    EXPECT_EQ(p, nullptr) << what;
    kiln_state *s = nullptr;
    EXPECT_EQ(kiln_state_create(&desc, nullptr, &s),
              KILN_ERROR_INVALID_ARGUMENT)
        << what;
    EXPECT_EQ(s, nullptr) << what;
    std::memcpy(states, good->states, sizeof(states));
    desc = *good;
    desc.states = states;
  };

  const int64_t short_table[] = {3};
  states[2].dims = short_table;
  refused("a table that misses a block");
  EXPECT_TRUE(contains(lastError(), "has a bad state 2 'block_table'"))
      << lastError();
  states[2].dtype = KILN_DTYPE_I64;
  refused("an int64 table");
  states[1] = states[2];
  refused("two tables");
  EXPECT_TRUE(contains(lastError(), "it has 2 block tables")) << lastError();
  states[2].flags = 0;
  refused("no table");
  EXPECT_TRUE(contains(lastError(), "needs paged states and one block table"))
      << lastError();
  const int64_t other_pool[] = {5};
  states[1].flags = KILN_STATE_PAGED;
  states[1].dims = other_pool;
  refused("two pool sizes");
  EXPECT_TRUE(contains(lastError(), "has a bad state 1 'steps'"))
      << lastError();
  states[0].flags = 4;
  refused("an unknown flag");
  desc.kv_block_tokens = 0; // flags without --kv-block
  {
    kiln_state *s = nullptr;
    EXPECT_EQ(kiln_state_create(&desc, nullptr, &s),
              KILN_ERROR_INVALID_ARGUMENT);
    EXPECT_TRUE(contains(lastError(), "state 0 'kv' has flags 1 but no paged "
                                      "KV cache (--kv-block)"))
        << lastError();
  }
  // An artifact whose struct predates kv_block_tokens is not paged.
  desc.kv_block_tokens = 2;
  desc.struct_size = offsetof(kiln_model_desc, kv_block_tokens);
  EXPECT_EQ(kiln_kv_pool_create(&desc, nullptr, &p),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_TRUE(contains(lastError(), "has no paged KV cache")) << lastError();
}

TEST(KvPoolThreads, SequencesOfOnePoolRunAtOnce) {
  kiln_kv_pool *raw = nullptr;
  ASSERT_EQ(kiln_kv_pool_create(paged(), nullptr, &raw), KILN_OK)
      << lastError();
  PoolPtr pool(raw);
  // Each thread holds at most 3 blocks: two never exhaust the pool of 6.
  constexpr int kThreads = 2, kRounds = 300;
  static_assert(kThreads * 3 <= TEST_PAGED_POOL_BLOCKS, "pool too small");
  std::vector<int> failures(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([t, &failures, raw] {
      ContextPtr ctx = makeContext(1);
      kiln_state *s = nullptr;
      if (kiln_state_create_in_pool(raw, &s) != KILN_OK) {
        ++failures[t];
        return;
      }
      StatePtr state(s);
      for (int round = 0; round < kRounds; ++round) {
        float want[2] = {0, 0};
        for (int i = 0; i < 6; ++i) {
          alignas(64) float x[2] = {float(t * 1000 + i), float(round)};
          alignas(64) float total[2];
          alignas(64) int64_t steps;
          const void *ins[] = {x};
          void *outs[] = {total, &steps};
          want[0] += x[0];
          want[1] += x[1];
          if (kiln_model_run_state(ctx.get(), paged(), 0, s, ins, outs) !=
                  KILN_OK ||
              total[0] != want[0] || total[1] != want[1])
            ++failures[t];
        }
        kiln_state_reset(s);
      }
    });
  for (auto &th : threads)
    th.join();
  for (int t = 0; t < kThreads; ++t)
    EXPECT_EQ(failures[t], 0) << "thread " << t;
  EXPECT_EQ(kiln_kv_pool_free_blocks(raw), TEST_PAGED_POOL_BLOCKS);
}
