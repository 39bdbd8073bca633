//===- ModelRunner.h - load a compiled model and feed it ----------*- C++ -*-===//
//
// Part of kiln. What `kiln run` and `kiln bench` share: loading a model
// from a shared library through the runtime, matching inputs given as
// NAME=file.npy to the descriptor, and owning aligned buffers.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_TOOLS_KILN_MODELRUNNER_H
#define KILN_TOOLS_KILN_MODELRUNNER_H

#include "kiln/runtime.h"
#include "llvm/ADT/StringRef.h"
#include <memory>
#include <string>
#include <vector>

namespace kiln {

/// A 64-byte aligned buffer.
struct AlignedBuffer {
  explicit AlignedBuffer(size_t bytes);
  ~AlignedBuffer();
  AlignedBuffer(const AlignedBuffer &) = delete;
  AlignedBuffer &operator=(const AlignedBuffer &) = delete;
  void *data = nullptr;
  size_t bytes = 0;
};

class ModelRunner {
public:
  ~ModelRunner();

  /// Loads `path` and creates a context with `threads` threads (0: all).
  bool load(llvm::StringRef path, int threads, std::string &error);

  /// Reads NAME=file.npy specs into the input buffers; inputs not named
  /// are an error unless `fillMissing`, which fills them with
  /// deterministic pseudo-random values.
  bool setInputs(const std::vector<std::string> &specs, bool fillMissing,
                 std::string &error);

  /// One run; on failure sets `error` from the runtime's message. A
  /// stateful model (a decode or prefill entry) runs on the runner's
  /// kiln_state, appending to its KV cache.
  bool run(std::string &error);

  /// Stateful models: the KV cache the runs append to (else null).
  kiln_state *state() const { return kvState; }
  bool stateful() const { return kvState != nullptr; }
  /// Sets the int64 inputs `input_ids` to `token` and `position_ids` (when
  /// the model has it) to `position`, for a one-token decode entry; false
  /// when the model has no one-element int64 `input_ids`.
  bool setToken(int64_t token, int64_t position, std::string &error);
  /// Index of the output called `name`, or -1.
  int outputIndex(llvm::StringRef name) const;

  /// Models compiled with --prefill: the prefill entry (its tokens per call,
  /// else 0), run on `tokens` at `position`, and its outputs.
  int64_t prefillTokens() const;
  bool prefill(const int64_t *tokens, int64_t position, std::string &error);
  const kiln_entry_desc &prefillEntry() const {
    return desc->entries[prefillIndex];
  }
  void *prefillOutput(size_t i) const { return prefillOutputs[i]->data; }

  const kiln_model_desc &descriptor() const { return *desc; }
  const kiln_entry_desc &entry() const { return desc->entries[0]; }
  void *input(size_t i) const { return inputs[i]->data; }
  void *output(size_t i) const { return outputs[i]->data; }
  int threads() const;

private:
  kiln_model *model = nullptr;
  kiln_context *context = nullptr;
  kiln_state *kvState = nullptr;
  const kiln_model_desc *desc = nullptr;
  std::vector<std::unique_ptr<AlignedBuffer>> inputs, outputs;
  int32_t prefillIndex = -1;
  std::vector<std::unique_ptr<AlignedBuffer>> prefillInputs, prefillOutputs;
  std::vector<const void *> prefillInputPtrs;
  std::vector<void *> prefillOutputPtrs;
  std::vector<const void *> inputPtrs;
  std::vector<void *> outputPtrs;
};

/// Number of elements of a tensor info's shape.
int64_t numElements(const kiln_tensor_info &info);
std::string describe(const kiln_tensor_info &info); // "float32[1x3x224x224]"

} // namespace kiln

#endif // KILN_TOOLS_KILN_MODELRUNNER_H
