//===- BenchCommand.cpp - kiln bench --------------------------------------===//
//
// Part of kiln. Latency of a compiled model: warm-up runs, then the median,
// min and max of repeated runs (like iree-benchmark-module).
//
//===----------------------------------------------------------------------===//

#include "tools/kiln/Commands.h"
#include "tools/kiln/ModelRunner.h"

#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"
#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>

using namespace llvm;

cl::SubCommand kiln::benchCommand(
    "bench", "Measure a compiled model's latency (median/min/max)");

namespace {
cl::OptionCategory category("kiln bench options");
cl::opt<std::string> model(cl::Positional, cl::Required, cl::desc("<model.so>"),
                           cl::sub(kiln::benchCommand), cl::cat(category));
cl::list<std::string> inputs(
    "input",
    cl::desc("An input as NAME=file.npy; inputs not given get deterministic "
             "pseudo-random values"),
    cl::value_desc("NAME=file.npy"), cl::sub(kiln::benchCommand),
    cl::cat(category));
cl::opt<int> threads("threads", cl::desc("Threads (0: all cores)"), cl::init(0),
                     cl::sub(kiln::benchCommand), cl::cat(category));
cl::opt<int> iterations("iterations", cl::desc("Timed runs"), cl::init(20),
                        cl::sub(kiln::benchCommand), cl::cat(category));
cl::opt<int> warmup("warmup", cl::desc("Untimed runs first"), cl::init(3),
                    cl::sub(kiln::benchCommand), cl::cat(category));
cl::opt<bool> json("json", cl::desc("Print one JSON object"),
                   cl::sub(kiln::benchCommand), cl::cat(category));
cl::opt<bool> decode(
    "decode",
    cl::desc("Time one decode step of a model compiled with --max-seq-len: "
             "the cache is first filled to --context tokens, then every "
             "timed step appends one token at that length"),
    cl::sub(kiln::benchCommand), cl::cat(category));
cl::opt<bool> prefill(
    "prefill",
    cl::desc("Time one prefill call of a model compiled with --max-seq-len "
             "and --prefill: the cache is first filled to --context tokens, "
             "then every timed call appends its chunk at that length"),
    cl::sub(kiln::benchCommand), cl::cat(category));
cl::opt<int64_t> context("context",
                         cl::desc("Tokens in the cache before a timed decode "
                                  "step or prefill call (with --decode or "
                                  "--prefill)"),
                         cl::init(128), cl::sub(kiln::benchCommand),
                         cl::cat(category));
} // namespace

namespace {
/// Pseudo-random token ids below 50.
int64_t fillToken(int64_t i) { return (i * 7 + 3) % 50; }

/// Fills the cache with `context` tokens and returns the step that replays
/// the decode token (or, with --prefill, the prefill chunk) after them, so
/// that every timed step runs at the same context length.
bool prepareStateful(kiln::ModelRunner &runner,
                     std::function<bool(std::string &)> &step,
                     std::string &error) {
  if (!runner.stateful() || runner.entry().kind != KILN_ENTRY_DECODE)
    return error = "--decode and --prefill need a model compiled with "
                   "--max-seq-len and --shape seq=1 (a one-token decode "
                   "entry)",
           false;
  int64_t chunk = runner.prefillTokens();
  if (prefill && chunk <= 0)
    return error = "--prefill needs a model compiled with --prefill DIM=N",
           false;
  int64_t capacity = kiln_state_capacity(runner.state());
  int64_t appended = prefill ? chunk : 1;
  if (context < 0 || context + appended > capacity)
    return error = "--context must be in [0, " +
                   std::to_string(capacity - appended + 1) +
                   ") (the model's --max-seq-len less the tokens a call "
                   "appends)",
           false;
  for (int64_t i = 0; i < context; ++i)
    if (!runner.setToken(fillToken(i), i, error) || !runner.run(error))
      return false;
  if (!prefill) {
    step = [&runner](std::string &err) {
      if (kiln_state_truncate(runner.state(), context) != KILN_OK)
        return err = kiln_last_error_message(), false;
      return runner.setToken(11, context, err) && runner.run(err);
    };
    return true;
  }
  auto tokens = std::make_shared<std::vector<int64_t>>();
  for (int64_t i = 0; i < chunk; ++i)
    tokens->push_back(fillToken(context + i));
  step = [&runner, tokens](std::string &err) {
    if (kiln_state_truncate(runner.state(), context) != KILN_OK)
      return err = kiln_last_error_message(), false;
    return runner.prefill(tokens->data(), context, err);
  };
  return true;
}
} // namespace

int kiln::benchMain() {
  if (iterations < 1 || warmup < 0)
    return fail("bench", "--iterations must be >= 1 and --warmup >= 0");
  std::string error;
  ModelRunner runner;
  if (!runner.load(model, threads, error) ||
      !runner.setInputs(inputs, /*fillMissing=*/true, error))
    return fail("bench", error);
  std::function<bool(std::string &)> step = [&](std::string &err) {
    return runner.run(err);
  };
  if (decode && prefill)
    return fail("bench", "--decode and --prefill: choose one");
  bool stateful = decode || prefill;
  if (stateful && !prepareStateful(runner, step, error))
    return fail("bench", error);
  if (!stateful && runner.stateful())
    return fail("bench", "the model keeps a KV cache: time it with --decode "
                         "or --prefill --context N");
  for (int i = 0; i < warmup; ++i)
    if (!step(error))
      return fail("bench", error);
  std::vector<double> times;
  for (int i = 0; i < iterations; ++i) {
    auto start = std::chrono::steady_clock::now();
    if (!step(error))
      return fail("bench", error);
    times.push_back(std::chrono::duration<double, std::milli>(
                        std::chrono::steady_clock::now() - start)
                        .count());
  }
  std::sort(times.begin(), times.end());
  size_t n = times.size();
  double median = n % 2 ? times[n / 2] : (times[n / 2 - 1] + times[n / 2]) / 2;
  if (json) {
    outs() << format("{\"model\": \"%s\", \"median_ms\": %.4f, \"min_ms\": "
                     "%.4f, \"max_ms\": %.4f, \"iterations\": %d, "
                     "\"threads\": %d",
                     runner.descriptor().name, median, times.front(),
                     times.back(), int(n), runner.threads());
    if (stateful)
      outs() << format(", \"context\": %lld, \"tokens\": %lld, "
                       "\"weights_bytes\": %llu",
                       (long long)context,
                       (long long)(prefill ? runner.prefillTokens() : 1),
                       (unsigned long long)runner.descriptor().weights_bytes);
    outs() << "}\n";
  } else {
    outs() << format("kiln bench %s: median %.3f ms, min %.3f ms, max %.3f ms "
                     "(%d iterations after %d warm-up, %d threads)\n",
                     runner.descriptor().name, median, times.front(),
                     times.back(), int(n), int(warmup), runner.threads());
  }
  return 0;
}
