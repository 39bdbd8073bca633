//===- RunCommand.cpp - kiln run ------------------------------------------===//
//
// Part of kiln.
//
//===----------------------------------------------------------------------===//

#include "tools/kiln/Commands.h"
#include "tools/kiln/ModelRunner.h"
#include "tools/kiln/Npy.h"

#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"
#include <algorithm>
#include <chrono>

using namespace llvm;

cl::SubCommand kiln::runCommand(
    "run", "Run a compiled model (.so) on .npy inputs, write .npy outputs");

namespace {
cl::OptionCategory category("kiln run options");
cl::opt<std::string> model(cl::Positional, cl::Required, cl::desc("<model.so>"),
                           cl::sub(kiln::runCommand), cl::cat(category));
cl::list<std::string> inputs(
    "input", cl::desc("An input as NAME=file.npy (NAME may be omitted when "
                      "the model has one input); repeatable"),
    cl::value_desc("NAME=file.npy"), cl::sub(kiln::runCommand),
    cl::cat(category));
cl::opt<std::string> outputDir(
    "output-dir",
    cl::desc("Directory for the outputs, one <output name>.npy each (characters "
             "unsafe in file names become '_')"),
    cl::init("."), cl::sub(kiln::runCommand), cl::cat(category));
cl::opt<int> threads("threads", cl::desc("Threads (0: all cores)"), cl::init(0),
                     cl::sub(kiln::runCommand), cl::cat(category));
cl::list<int64_t> prompt(
    "prompt",
    cl::desc("Models with a KV cache (--max-seq-len): the prompt's token ids, "
             "fed one decode step each"),
    cl::value_desc("ID,ID,..."), cl::CommaSeparated, cl::sub(kiln::runCommand),
    cl::cat(category));
cl::opt<int> generate(
    "generate",
    cl::desc("Models with a KV cache: then generate this many tokens "
             "greedily (argmax of 'logits'); writes tokens.npy and the logits "
             "of every step, logits.npy [steps, vocab]"),
    cl::init(0), cl::sub(kiln::runCommand), cl::cat(category));

std::string safeFileName(StringRef name) {
  std::string out;
  for (char c : name)
    out += isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' ||
                   c == '_'
               ? c
               : '_';
  if (out.empty() || out == "." || out == "..")
    out = "_" + out;
  return out;
}
} // namespace

namespace {
/// Greedy generation through a one-token decode entry: the prompt, then
/// `generate` tokens, each the argmax of the previous step's logits.
int generateMain(kiln::ModelRunner &runner) {
  std::string error;
  if (prompt.empty())
    return kiln::fail("run", "the model keeps a KV cache: give the token ids "
                             "with --prompt (and --generate K)");
  if (generate < 0)
    return kiln::fail("run", "--generate must be >= 0");
  int logitsIndex = runner.outputIndex("logits");
  if (logitsIndex < 0 ||
      runner.entry().outputs[logitsIndex].dtype != KILN_DTYPE_F32)
    return kiln::fail("run", "--generate needs a float32 output 'logits'");
  int64_t vocab = kiln::numElements(runner.entry().outputs[logitsIndex]);
  // An id past the vocabulary would read past the embedding table, which
  // the compiled Gather clamps: a wrong answer, not an error, without this.
  for (int64_t id : prompt)
    if (id < 0 || id >= vocab)
      return kiln::fail("run", "--prompt token id " + std::to_string(id) +
                                   " is not in [0, " + std::to_string(vocab) +
                                   "), the model's vocabulary (its logits)");
  const float *logits = static_cast<const float *>(runner.output(logitsIndex));
  std::vector<int64_t> tokens(prompt.begin(), prompt.end());
  std::vector<float> steps;
  // Whole chunks of the prompt through the prefill entry, if there is one.
  size_t start = 0;
  int64_t chunk = runner.prefillTokens();
  int prefillLogits = -1;
  if (chunk > 0)
    for (int32_t i = 0; i < runner.prefillEntry().num_outputs; ++i)
      if (StringRef(runner.prefillEntry().outputs[i].name) == "logits")
        prefillLogits = i;
  for (; chunk > 0 && prefillLogits >= 0 && start + chunk <= tokens.size();
       start += chunk) {
    if (!runner.prefill(tokens.data() + start, int64_t(start), error))
      return kiln::fail("run", "prefill at token " + std::to_string(start) +
                                   ": " + error);
    const float *rows =
        static_cast<const float *>(runner.prefillOutput(prefillLogits));
    steps.insert(steps.end(), rows, rows + chunk * vocab);
  }
  if (start == tokens.size() && int(tokens.size() - prompt.size()) < generate)
    tokens.push_back(std::max_element(steps.end() - vocab, steps.end()) -
                     (steps.end() - vocab));
  for (size_t i = start; i < tokens.size(); ++i) {
    if (!runner.setToken(tokens[i], int64_t(i), error) || !runner.run(error))
      return kiln::fail("run", "token " + std::to_string(i) + ": " + error);
    steps.insert(steps.end(), logits, logits + vocab);
    if (i + 1 == tokens.size() && int(tokens.size() - prompt.size()) < generate)
      tokens.push_back(std::max_element(logits, logits + vocab) - logits);
  }
  if (std::error_code ec = sys::fs::create_directories(outputDir))
    return kiln::fail("run", "cannot create '" + outputDir +
                                 "': " + ec.message());
  SmallString<128> tokensPath(outputDir), logitsPath(outputDir);
  sys::path::append(tokensPath, "tokens.npy");
  sys::path::append(logitsPath, "logits.npy");
  int64_t numTokens = tokens.size(), numSteps = steps.size() / vocab;
  if (!kiln::writeNpy(tokensPath, KILN_DTYPE_I64, {numTokens}, tokens.data(),
                      error) ||
      !kiln::writeNpy(logitsPath, KILN_DTYPE_F32, {numSteps, vocab},
                      steps.data(), error))
    return kiln::fail("run", error);
  outs() << "kiln: tokens";
  for (int64_t t : tokens)
    outs() << " " << t;
  outs() << "\nkiln: " << numSteps << " decode steps -> " << tokensPath
         << ", " << logitsPath << "\n";
  return 0;
}
} // namespace

int kiln::runMain() {
  std::string error;
  ModelRunner runner;
  if (!runner.load(model, threads, error))
    return fail("run", error);
  if (runner.stateful())
    return runner.setInputs(inputs, /*fillMissing=*/true, error)
               ? generateMain(runner)
               : fail("run", error);
  if (!runner.setInputs(inputs, /*fillMissing=*/false, error))
    return fail("run", error);
  auto start = std::chrono::steady_clock::now();
  if (!runner.run(error))
    return fail("run", error);
  double ms = std::chrono::duration<double, std::milli>(
                  std::chrono::steady_clock::now() - start)
                  .count();
  if (std::error_code ec = sys::fs::create_directories(outputDir))
    return fail("run", "cannot create '" + outputDir + "': " + ec.message());
  const kiln_entry_desc &entry = runner.entry();
  StringSet<> written;
  for (int32_t i = 0; i < entry.num_outputs; ++i) {
    const kiln_tensor_info &info = entry.outputs[i];
    // Names that differ only in unsafe characters ("y/0", "y:0") would land
    // in one file: later ones get their output index appended.
    std::string file = safeFileName(info.name);
    if (!written.insert(file).second) {
      file += "_" + std::to_string(i);
      written.insert(file);
    }
    SmallString<128> path(outputDir);
    sys::path::append(path, file + ".npy");
    if (!writeNpy(path, info.dtype, ArrayRef<int64_t>(info.dims, info.rank),
                  runner.output(i), error))
      return fail("run", error);
    outs() << "kiln: output '" << info.name << "' " << describe(info) << " -> "
           << path << "\n";
  }
  outs() << format("kiln: ran in %.3f ms (%d threads)\n", ms, runner.threads());
  return 0;
}
