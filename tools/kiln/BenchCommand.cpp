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
} // namespace

int kiln::benchMain() {
  if (iterations < 1 || warmup < 0)
    return fail("bench", "--iterations must be >= 1 and --warmup >= 0");
  std::string error;
  ModelRunner runner;
  if (!runner.load(model, threads, error) ||
      !runner.setInputs(inputs, /*fillMissing=*/true, error))
    return fail("bench", error);
  for (int i = 0; i < warmup; ++i)
    if (!runner.run(error))
      return fail("bench", error);
  std::vector<double> times;
  for (int i = 0; i < iterations; ++i) {
    auto start = std::chrono::steady_clock::now();
    if (!runner.run(error))
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
                     "\"threads\": %d}\n",
                     runner.descriptor().name, median, times.front(),
                     times.back(), int(n), runner.threads());
  } else {
    outs() << format("kiln bench %s: median %.3f ms, min %.3f ms, max %.3f ms "
                     "(%d iterations after %d warm-up, %d threads)\n",
                     runner.descriptor().name, median, times.front(),
                     times.back(), int(n), int(warmup), runner.threads());
  }
  return 0;
}
