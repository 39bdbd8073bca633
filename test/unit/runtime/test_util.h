//===- test_util.h - helpers shared by the runtime tests --------*- C++ -*-===//
#ifndef KILN_TEST_UTIL_H
#define KILN_TEST_UTIL_H

#include "kiln/runtime.h"
#include "test_models.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <string>

namespace kiln_test {

// Owns a context; fails the test if creation fails.
struct ContextDeleter {
  void operator()(kiln_context *ctx) const { kiln_context_destroy(ctx); }
};
using ContextPtr = std::unique_ptr<kiln_context, ContextDeleter>;

inline ContextPtr makeContext(int32_t numThreads,
                              const kiln_allocator *allocator = nullptr) {
  kiln_context_options opts;
  EXPECT_EQ(kiln_context_options_init(&opts), KILN_OK);
  opts.num_threads = numThreads;
  opts.allocator = allocator;
  kiln_context *ctx = nullptr;
  EXPECT_EQ(kiln_context_create(&opts, &ctx), KILN_OK)
      << kiln_last_error_message();
  return ContextPtr(ctx);
}

// An allocator that counts calls and can be told to fail.
struct CountingAllocator {
  std::atomic<int> allocs{0};
  std::atomic<int> frees{0};
  std::atomic<int> failAfter{-1}; // fail the n-th+1 alloc from now; -1 never
  std::atomic<long long> liveBytes{0};
  size_t misalignBy = 0; // return ptr + this (for alignment tests)

  kiln_allocator get() {
    kiln_allocator a;
    a.alloc = &CountingAllocator::alloc;
    a.free = &CountingAllocator::release;
    a.user = this;
    return a;
  }

  static void *alloc(void *user, size_t size, size_t alignment) {
    auto *self = static_cast<CountingAllocator *>(user);
    int budget = self->failAfter.load();
    if (budget == 0)
      return nullptr;
    if (budget > 0)
      self->failAfter = budget - 1;
    // The runtime asks for at most KILN_ALIGNMENT; a 64-byte header keeps
    // that alignment and remembers the size so that `liveBytes` balances.
    EXPECT_LE(alignment, size_t(64));
    EXPECT_EQ(alignment & (alignment - 1), size_t(0));
    const size_t header = 64;
    void *raw = nullptr;
    if (posix_memalign(&raw, header, size + header + 64) != 0)
      return nullptr;
    *static_cast<size_t *>(raw) = size;
    ++self->allocs;
    self->liveBytes += (long long)size;
    return static_cast<char *>(raw) + header + self->misalignBy;
  }

  static void release(void *user, void *ptr) {
    auto *self = static_cast<CountingAllocator *>(user);
    ASSERT_NE(ptr, nullptr);
    char *p = static_cast<char *>(ptr) - self->misalignBy - 64;
    self->liveBytes -= (long long)*reinterpret_cast<size_t *>(p);
    ++self->frees;
    free(p);
  }
};

inline std::string lastError() { return kiln_last_error_message(); }

} // namespace kiln_test

#endif // KILN_TEST_UTIL_H
