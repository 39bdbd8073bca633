//===- context_test.cpp - context options, allocator, workspace -----------===//
#include "test_util.h"

#include <unistd.h>

using namespace kiln_test;

namespace {

const float kA[6] = {1, 2, 3, 4, 5, 6};
const float kB[6] = {10, 20, 30, 40, 50, 60};

kiln_status_code runAdd(kiln_context *ctx, float *c) {
  const void *ins[] = {kA, kB};
  void *outs[] = {c};
  return kiln_model_run(ctx, test_add_descriptor(), ins, outs);
}

} // namespace

TEST(ContextOptions, Init) {
  kiln_context_options opts;
  opts.num_threads = 7;
  ASSERT_EQ(kiln_context_options_init(&opts), KILN_OK);
  EXPECT_EQ(opts.struct_size, sizeof(kiln_context_options));
  EXPECT_EQ(opts.num_threads, 0);
  EXPECT_EQ(opts.allocator, nullptr);
  EXPECT_EQ(kiln_context_options_init(nullptr), KILN_ERROR_INVALID_ARGUMENT);
}

TEST(Context, DefaultsUseOnlineCpus) {
  kiln_context *ctx = nullptr;
  ASSERT_EQ(kiln_context_create(nullptr, &ctx), KILN_OK);
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  EXPECT_EQ(kiln_context_num_threads(ctx), cpus < 1 ? 1 : cpus);
  EXPECT_EQ(kiln_context_workspace_bytes(ctx), 0u);
  EXPECT_NE(kiln_context_exec(ctx), nullptr);
  EXPECT_EQ(kiln_exec_num_threads(kiln_context_exec(ctx)),
            kiln_context_num_threads(ctx));
  kiln_context_destroy(ctx);
}

TEST(Context, ExplicitThreadCounts) {
  for (int32_t n : {1, 2, 3, 8}) {
    ContextPtr ctx = makeContext(n);
    EXPECT_EQ(kiln_context_num_threads(ctx.get()), n);
  }
}

TEST(Context, NullArgumentsAndGetters) {
  EXPECT_EQ(kiln_context_create(nullptr, nullptr), KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(kiln_context_num_threads(nullptr), 0);
  EXPECT_EQ(kiln_context_workspace_bytes(nullptr), 0u);
  EXPECT_EQ(kiln_context_exec(nullptr), nullptr);
  kiln_context_destroy(nullptr); // no-op
  EXPECT_EQ(kiln_context_reserve(nullptr, test_add_descriptor()),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(lastError(), "kiln_context_reserve: ctx is NULL");
  ContextPtr ctx = makeContext(1);
  EXPECT_EQ(kiln_context_reserve(ctx.get(), nullptr),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(lastError(), "kiln_context_reserve: desc is NULL");
}

TEST(Context, RejectsBadOptions) {
  kiln_context_options opts;
  kiln_context *ctx = reinterpret_cast<kiln_context *>(0x1);

  kiln_context_options_init(&opts);
  opts.struct_size = 0;
  EXPECT_EQ(kiln_context_create(&opts, &ctx), KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(ctx, nullptr); // *out is cleared on failure
  EXPECT_NE(lastError().find("struct_size 0"), std::string::npos)
      << lastError();
  opts.struct_size = 1u << 20;
  EXPECT_EQ(kiln_context_create(&opts, &ctx), KILN_ERROR_INVALID_ARGUMENT);

  kiln_context_options_init(&opts);
  opts.num_threads = -1;
  EXPECT_EQ(kiln_context_create(&opts, &ctx), KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(lastError(),
            "kiln_context_create: num_threads -1 is not in [0, 1024]");
  opts.num_threads = KILN_MAX_THREADS + 1;
  EXPECT_EQ(kiln_context_create(&opts, &ctx), KILN_ERROR_INVALID_ARGUMENT);

  CountingAllocator counting;
  kiln_allocator broken = counting.get();
  broken.free = nullptr;
  kiln_context_options_init(&opts);
  opts.allocator = &broken;
  EXPECT_EQ(kiln_context_create(&opts, &ctx), KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(lastError(),
            "kiln_context_create: allocator has a NULL free callback");
  broken = counting.get();
  broken.alloc = nullptr;
  EXPECT_EQ(kiln_context_create(&opts, &ctx), KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(counting.allocs, 0);
}

TEST(Context, AcceptsOptionsFromANewerCaller) {
  // A caller compiled against a later header: more fields, larger size.
  struct {
    kiln_context_options v1;
    int64_t future_field;
  } opts;
  kiln_context_options_init(&opts.v1);
  opts.v1.struct_size = sizeof(opts);
  opts.v1.num_threads = 2;
  opts.future_field = 12345;
  kiln_context *ctx = nullptr;
  ASSERT_EQ(kiln_context_create(&opts.v1, &ctx), KILN_OK);
  EXPECT_EQ(kiln_context_num_threads(ctx), 2);
  kiln_context_destroy(ctx);
}

TEST(Context, CustomAllocatorIsUsedAndBalanced) {
  CountingAllocator counting;
  kiln_allocator allocator = counting.get();
  {
    ContextPtr ctx = makeContext(3, &allocator);
    EXPECT_GE(counting.allocs, 2); // the context and its thread pool
    int before = counting.allocs;
    ASSERT_EQ(kiln_context_reserve(ctx.get(), test_add_descriptor()), KILN_OK);
    EXPECT_EQ(counting.allocs, before + 1);
    EXPECT_GE(kiln_context_workspace_bytes(ctx.get()),
              uint64_t(TEST_ADD_WORKSPACE_BYTES));
    EXPECT_EQ(kiln_context_workspace_bytes(ctx.get()) % KILN_ALIGNMENT, 0u);
  }
  EXPECT_EQ(counting.frees, counting.allocs);
  EXPECT_EQ(counting.liveBytes, 0);
}

TEST(Context, ReserveThenRunDoesNotAllocate) {
  CountingAllocator counting;
  kiln_allocator allocator = counting.get();
  ContextPtr ctx = makeContext(2, &allocator);
  ASSERT_EQ(kiln_context_reserve(ctx.get(), test_add_descriptor()), KILN_OK);
  int allocs = counting.allocs, frees = counting.frees;
  float c[6];
  for (int i = 0; i < 20; ++i)
    ASSERT_EQ(runAdd(ctx.get(), c), KILN_OK) << lastError();
  EXPECT_EQ(c[5], 66.0f);
  // A model that needs less (no workspace at all) does not allocate either,
  // nor does reserving again.
  ASSERT_EQ(kiln_context_reserve(ctx.get(), test_sum_descriptor()), KILN_OK);
  ASSERT_EQ(kiln_context_reserve(ctx.get(), test_add_descriptor()), KILN_OK);
  EXPECT_EQ(counting.allocs, allocs);
  EXPECT_EQ(counting.frees, frees);
}

TEST(Context, RunGrowsTheWorkspaceOnce) {
  CountingAllocator counting;
  kiln_allocator allocator = counting.get();
  ContextPtr ctx = makeContext(1, &allocator);
  int allocs = counting.allocs;
  float c[6];
  ASSERT_EQ(runAdd(ctx.get(), c), KILN_OK) << lastError();
  EXPECT_EQ(counting.allocs, allocs + 1);
  for (int i = 0; i < 5; ++i)
    ASSERT_EQ(runAdd(ctx.get(), c), KILN_OK);
  EXPECT_EQ(counting.allocs, allocs + 1);
  EXPECT_GE(kiln_context_workspace_bytes(ctx.get()),
            uint64_t(TEST_ADD_WORKSPACE_BYTES));
}

TEST(Context, AllocationFailures) {
  CountingAllocator counting;
  kiln_allocator allocator = counting.get();
  kiln_context_options opts;
  kiln_context_options_init(&opts);
  opts.allocator = &allocator;
  opts.num_threads = 2;
  kiln_context *ctx = nullptr;

  counting.failAfter = 0; // the context itself
  EXPECT_EQ(kiln_context_create(&opts, &ctx), KILN_ERROR_OUT_OF_MEMORY);
  EXPECT_EQ(ctx, nullptr);
  counting.failAfter = 1; // the thread pool
  EXPECT_EQ(kiln_context_create(&opts, &ctx), KILN_ERROR_OUT_OF_MEMORY);
  EXPECT_EQ(ctx, nullptr);
  EXPECT_EQ(counting.frees, counting.allocs); // nothing leaked

  counting.failAfter = -1;
  ASSERT_EQ(kiln_context_create(&opts, &ctx), KILN_OK);
  counting.failAfter = 0; // the workspace
  EXPECT_EQ(kiln_context_reserve(ctx, test_add_descriptor()),
            KILN_ERROR_OUT_OF_MEMORY);
  EXPECT_NE(lastError().find("kiln_context_reserve: cannot allocate"),
            std::string::npos)
      << lastError();
  float c[6];
  EXPECT_EQ(runAdd(ctx, c), KILN_ERROR_OUT_OF_MEMORY);
  EXPECT_EQ(kiln_context_workspace_bytes(ctx), 0u);

  // An allocator that ignores the alignment is caught, not trusted.
  counting.failAfter = -1;
  counting.misalignBy = 8;
  EXPECT_EQ(kiln_context_reserve(ctx, test_add_descriptor()),
            KILN_ERROR_MISALIGNED);
  counting.misalignBy = 0;
  ASSERT_EQ(runAdd(ctx, c), KILN_OK) << lastError();
  kiln_context_destroy(ctx);
  EXPECT_EQ(counting.frees, counting.allocs);
  EXPECT_EQ(counting.liveBytes, 0);
}

TEST(Context, ReserveValidatesTheDescriptor) {
  ContextPtr ctx = makeContext(1);
  kiln_model_desc desc = *test_add_descriptor();
  desc.abi_version = KILN_ABI_VERSION + 1;
  EXPECT_EQ(kiln_context_reserve(ctx.get(), &desc), KILN_ERROR_ABI_MISMATCH);
  desc = *test_add_descriptor();
  desc.num_entries = 0;
  EXPECT_EQ(kiln_context_reserve(ctx.get(), &desc),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(kiln_context_workspace_bytes(ctx.get()), 0u);
}
