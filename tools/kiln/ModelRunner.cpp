//===- ModelRunner.cpp - load a compiled model and feed it ----------------===//
//
// Part of kiln.
//
//===----------------------------------------------------------------------===//

#include "tools/kiln/ModelRunner.h"

#include "tools/kiln/Npy.h"
#include "llvm/ADT/ArrayRef.h"
#include <cstdlib>
#include <cstring>
#include <map>

using namespace kiln;

AlignedBuffer::AlignedBuffer(size_t n) : bytes(n) {
  // aligned_alloc needs a size that is a multiple of the alignment.
  data = std::aligned_alloc(KILN_ALIGNMENT,
                            std::max<size_t>(KILN_ALIGNMENT,
                                             (n + KILN_ALIGNMENT - 1) /
                                                 KILN_ALIGNMENT *
                                                 KILN_ALIGNMENT));
  if (data)
    std::memset(data, 0, n);
}

AlignedBuffer::~AlignedBuffer() { std::free(data); }

int64_t kiln::numElements(const kiln_tensor_info &info) {
  int64_t n = 1;
  for (int32_t i = 0; i < info.rank; ++i)
    n *= info.dims[i];
  return n;
}

std::string kiln::describe(const kiln_tensor_info &info) {
  return std::string(kiln_dtype_name(info.dtype)) + "[" +
         shapeToString(llvm::ArrayRef<int64_t>(info.dims, info.rank)) + "]";
}

ModelRunner::~ModelRunner() {
  kiln_state_destroy(kvState);
  kiln_context_destroy(context);
  kiln_model_unload(model);
}

int ModelRunner::threads() const { return kiln_context_num_threads(context); }

bool ModelRunner::load(llvm::StringRef path, int threads, std::string &error) {
  std::string pathStr = path.str();
  if (kiln_model_load(pathStr.c_str(), nullptr, &model) != KILN_OK) {
    error = kiln_last_error_message();
    return false;
  }
  desc = kiln_model_descriptor(model);
  kiln_context_options options;
  kiln_context_options_init(&options);
  options.num_threads = threads;
  if (kiln_context_create(&options, &context) != KILN_OK ||
      kiln_context_reserve(context, desc) != KILN_OK ||
      (entry().kind != KILN_ENTRY_RUN &&
       kiln_state_create(desc, nullptr, &kvState) != KILN_OK)) {
    error = kiln_last_error_message();
    return false;
  }
  auto allocate = [&](const kiln_tensor_info &info,
                      std::vector<std::unique_ptr<AlignedBuffer>> &buffers) {
    buffers.push_back(std::make_unique<AlignedBuffer>(
        numElements(info) * kiln_dtype_size(info.dtype)));
    return buffers.back()->data != nullptr;
  };
  for (int32_t i = 0; i < entry().num_inputs; ++i)
    if (!allocate(entry().inputs[i], inputs))
      return error = "out of memory", false;
  for (int32_t i = 0; i < entry().num_outputs; ++i)
    if (!allocate(entry().outputs[i], outputs))
      return error = "out of memory", false;
  for (auto &b : inputs)
    inputPtrs.push_back(b->data);
  for (auto &b : outputs)
    outputPtrs.push_back(b->data);
  if (kvState && kiln_model_find_entry(desc, KILN_ENTRY_PREFILL,
                                       &prefillIndex) == KILN_OK &&
      prefillIndex > 0) {
    const kiln_entry_desc &p = desc->entries[prefillIndex];
    for (int32_t i = 0; i < p.num_inputs; ++i)
      if (!allocate(p.inputs[i], prefillInputs))
        return error = "out of memory", false;
    for (int32_t i = 0; i < p.num_outputs; ++i)
      if (!allocate(p.outputs[i], prefillOutputs))
        return error = "out of memory", false;
    for (auto &b : prefillInputs)
      prefillInputPtrs.push_back(b->data);
    for (auto &b : prefillOutputs)
      prefillOutputPtrs.push_back(b->data);
  } else {
    prefillIndex = -1;
  }
  return true;
}

int64_t ModelRunner::prefillTokens() const {
  return prefillIndex < 0 ? 0 : prefillEntry().tokens;
}

bool ModelRunner::prefill(const int64_t *tokens, int64_t position,
                          std::string &error) {
  const kiln_entry_desc &p = prefillEntry();
  for (int32_t i = 0; i < p.num_inputs; ++i) {
    llvm::StringRef name = p.inputs[i].name;
    auto *data = static_cast<int64_t *>(prefillInputs[i]->data);
    if (p.inputs[i].dtype != KILN_DTYPE_I64 ||
        numElements(p.inputs[i]) != p.tokens ||
        (name != "input_ids" && name != "position_ids")) {
      error = "prefill input '" + name.str() + "' " + describe(p.inputs[i]) +
              " is not one int64 per token (input_ids, position_ids)";
      return false;
    }
    for (int64_t t = 0; t < p.tokens; ++t)
      data[t] = name == "input_ids" ? tokens[t] : position + t;
  }
  if (kiln_model_run_state(context, desc, prefillIndex, kvState,
                           prefillInputPtrs.data(),
                           prefillOutputPtrs.data()) != KILN_OK) {
    error = kiln_last_error_message();
    return false;
  }
  return true;
}

namespace {
/// Deterministic values in [-1, 1) for floats, small non-negative integers
/// for integer inputs (often indices), false for bools.
void fillPseudoRandom(const kiln_tensor_info &info, void *data) {
  uint64_t state = 0x9e3779b97f4a7c15ull;
  auto next = [&] {
    state ^= state << 13, state ^= state >> 7, state ^= state << 17;
    return state;
  };
  int64_t n = numElements(info);
  for (int64_t i = 0; i < n; ++i) {
    uint64_t r = next();
    double unit = (r >> 11) * (1.0 / 9007199254740992.0) * 2.0 - 1.0;
    switch (info.dtype) {
    case KILN_DTYPE_F32: static_cast<float *>(data)[i] = float(unit); break;
    case KILN_DTYPE_F64: static_cast<double *>(data)[i] = unit; break;
    case KILN_DTYPE_I64: static_cast<int64_t *>(data)[i] = r % 8; break;
    case KILN_DTYPE_I32: static_cast<int32_t *>(data)[i] = r % 8; break;
    default: break; // zero-initialized
    }
  }
}
} // namespace

bool ModelRunner::setInputs(const std::vector<std::string> &specs,
                            bool fillMissing, std::string &error) {
  std::map<std::string, std::string> files;
  for (const std::string &spec : specs) {
    size_t eq = spec.rfind('=');
    std::string name, file;
    if (eq == std::string::npos) {
      if (entry().num_inputs != 1) {
        error = "--input '" + spec +
                "' has no NAME=: the model has several inputs";
        return false;
      }
      name = entry().inputs[0].name, file = spec;
    } else {
      name = spec.substr(0, eq), file = spec.substr(eq + 1);
    }
    int32_t index;
    if (kiln_model_find_input(desc, name.c_str(), &index) != KILN_OK) {
      error = "the model has no input named '" + name + "'; its inputs are:";
      for (int32_t i = 0; i < entry().num_inputs; ++i)
        error += std::string(" '") + entry().inputs[i].name + "' " +
                 describe(entry().inputs[i]);
      return false;
    }
    files[name] = file;
  }
  for (int32_t i = 0; i < entry().num_inputs; ++i) {
    const kiln_tensor_info &info = entry().inputs[i];
    auto it = files.find(info.name);
    if (it == files.end()) {
      if (fillMissing) {
        fillPseudoRandom(info, inputs[i]->data);
        continue;
      }
      error = std::string("missing input '") + info.name + "' " +
              describe(info) + ": give it with --input " + info.name +
              "=file.npy";
      return false;
    }
    NpyArray array;
    if (!readNpy(it->second, array, error))
      return false;
    llvm::ArrayRef<int64_t> expected(info.dims, info.rank);
    if (array.dtype != info.dtype || llvm::ArrayRef<int64_t>(array.shape) !=
                                         expected) {
      error = std::string("input '") + info.name + "': expected " +
              describe(info) + ", got " + kiln_dtype_name(array.dtype) + "[" +
              shapeToString(array.shape) + "] from '" + it->second + "'";
      return false;
    }
    if (!array.data.empty()) // memcpy's pointers must not be null
      std::memcpy(inputs[i]->data, array.data.data(), array.data.size());
  }
  return true;
}

bool ModelRunner::setToken(int64_t token, int64_t position,
                           std::string &error) {
  bool hasIds = false;
  for (int32_t i = 0; i < entry().num_inputs; ++i) {
    const kiln_tensor_info &info = entry().inputs[i];
    llvm::StringRef name = info.name;
    if (name != "input_ids" && name != "position_ids")
      continue;
    if (info.dtype != KILN_DTYPE_I64 || numElements(info) != 1) {
      error = "input '" + name.str() + "' is " + describe(info) +
              "; one int64 token per call is needed (compile with --shape "
              "seq=1)";
      return false;
    }
    *static_cast<int64_t *>(input(i)) =
        name == "input_ids" ? token : position;
    hasIds |= name == "input_ids";
  }
  if (!hasIds)
    error = "the model has no 'input_ids' input";
  return hasIds;
}

int ModelRunner::outputIndex(llvm::StringRef name) const {
  for (int32_t i = 0; i < entry().num_outputs; ++i)
    if (name == entry().outputs[i].name)
      return i;
  return -1;
}

bool ModelRunner::run(std::string &error) {
  kiln_status_code status =
      kvState ? kiln_model_run_state(context, desc, 0, kvState,
                                     inputPtrs.data(), outputPtrs.data())
              : kiln_model_run(context, desc, inputPtrs.data(),
                               outputPtrs.data());
  if (status != KILN_OK) {
    error = kiln_last_error_message();
    return false;
  }
  return true;
}
