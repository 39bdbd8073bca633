//===- QuantizedCheckpoint.cpp - GPTQ and AWQ checkpoint formats ----------===//
//
// Part of kiln. See QuantizedCheckpoint.h.
//
//===----------------------------------------------------------------------===//

#include "compiler/onnx/QuantizedCheckpoint.h"
#include "compiler/onnx/HalfFloat.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/JSON.h"

#include <cstring>

using namespace mlir::kiln::onnx;

namespace {

llvm::Error fail(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

std::string shapeText(const std::vector<int64_t> &shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

/// Word `i` of an int32 tensor (little-endian bytes).
uint32_t word(const SafetensorsTensor &t, int64_t i) {
  uint32_t w;
  std::memcpy(&w, t.bytes.data() + 4 * i, 4);
  return w;
}

/// A 2-D tensor of `dtype` with `rows` x `cols`, or an error naming it.
llvm::Error expect2D(const SafetensorsTensor &t, llvm::StringRef name,
                     llvm::ArrayRef<llvm::StringRef> dtypes, int64_t rows,
                     int64_t cols, llvm::StringRef layout) {
  bool dtypeOk = llvm::is_contained(dtypes, t.dtype);
  if (dtypeOk && t.shape.size() == 2 && t.shape[0] == rows &&
      t.shape[1] == cols)
    return llvm::Error::success();
  return fail(name + " is " + t.dtype + " " + shapeText(t.shape) +
              ", expected " + llvm::join(dtypes, "/") + " [" +
              llvm::Twine(rows) + ", " + llvm::Twine(cols) + "] (" + layout +
              ")");
}

} // namespace

std::string CheckpointConfig::describe() const {
  std::string s = format == CheckpointFormat::Awq      ? "awq"
                  : format == CheckpointFormat::GptqV1 ? "gptq v1"
                                                       : "gptq v2";
  s += " " + std::to_string(bits) + "-bit ";
  s += groupSize < 0 ? "one group per column" : "g" + std::to_string(groupSize);
  return s;
}

llvm::Expected<CheckpointConfig>
mlir::kiln::onnx::parseCheckpointConfig(llvm::StringRef json,
                                        llvm::StringRef what) {
  llvm::Expected<llvm::json::Value> parsed = llvm::json::parse(json);
  if (!parsed)
    return fail(what + " is not JSON: " + toString(parsed.takeError()));
  const llvm::json::Object *top = parsed->getAsObject();
  if (!top)
    return fail(what + " is not a JSON object");
  // HuggingFace nests the settings; AutoGPTQ's quantize_config.json and
  // AutoAWQ's quant_config.json are the bare object.
  const llvm::json::Object *q = top->getObject("quantization_config");
  if (!q)
    q = top;
  // AutoAWQ spells bits and group size w_bit and q_group_size.
  bool awqNames = q->get("w_bit") != nullptr;
  std::string method;
  if (std::optional<llvm::StringRef> m = q->getString("quant_method"))
    method = m->lower();
  else if (awqNames)
    method = "awq";
  else if (q->get("bits"))
    method = "gptq";
  else
    return fail(what + " has no quantization_config (quant_method, bits, "
                       "group_size): not a GPTQ or AWQ checkpoint");

  CheckpointConfig config;
  std::optional<int64_t> bits = q->getInteger(awqNames ? "w_bit" : "bits");
  std::optional<int64_t> group =
      q->getInteger(awqNames ? "q_group_size" : "group_size");
  if (!bits || !group)
    return fail(what + ": quantization_config needs integer bits and "
                       "group_size");
  config.bits = *bits;
  config.groupSize = *group;
  if (config.groupSize == 0 || config.groupSize < -1)
    return fail(what + ": group_size=" + llvm::Twine(config.groupSize) +
                " must be positive or -1 (one group per column)");

  if (method == "gptq") {
    std::string format = "gptq";
    if (std::optional<llvm::StringRef> f = q->getString("checkpoint_format"))
      format = f->lower();
    if (format == "gptq")
      config.format = CheckpointFormat::GptqV1;
    else if (format == "gptq_v2")
      config.format = CheckpointFormat::GptqV2;
    else
      return fail(what + ": checkpoint_format '" + format +
                  "' is not supported (kiln imports gptq and gptq_v2)");
    if (config.bits != 2 && config.bits != 4 && config.bits != 8)
      return fail(what + ": bits=" + llvm::Twine(config.bits) +
                  " is not supported for GPTQ (kiln imports 2, 4 and 8: "
                  "values that tile a 32-bit word)");
    return config;
  }
  if (method == "awq") {
    config.format = CheckpointFormat::Awq;
    std::string version = "gemm";
    if (std::optional<llvm::StringRef> v = q->getString("version"))
      version = v->lower();
    if (version != "gemm")
      return fail(what + ": AWQ version '" + version +
                  "' is not supported (kiln imports the GEMM layout)");
    if (std::optional<bool> z = q->getBoolean("zero_point"); z && !*z)
      return fail(what + ": AWQ zero_point=false is not supported");
    if (config.bits != 4)
      return fail(what + ": bits=" + llvm::Twine(config.bits) +
                  " is not supported for AWQ (4 only)");
    return config;
  }
  return fail(what + ": quant_method '" + method +
              "' is not supported (kiln imports gptq and awq)");
}

llvm::Expected<std::vector<float>>
mlir::kiln::onnx::readFloats(const SafetensorsTensor &t, llvm::StringRef what) {
  int64_t n = t.numElements();
  std::vector<float> out(n);
  const char *p = t.bytes.data();
  if (t.dtype == "F32") {
    std::memcpy(out.data(), p, 4 * n);
  } else if (t.dtype == "F64") {
    for (int64_t i = 0; i < n; ++i) {
      double d;
      std::memcpy(&d, p + 8 * i, 8);
      out[i] = float(d);
    }
  } else if (t.dtype == "F16" || t.dtype == "BF16") {
    bool brain = t.dtype == "BF16";
    for (int64_t i = 0; i < n; ++i) {
      uint16_t h;
      std::memcpy(&h, p + 2 * i, 2);
      out[i] = brain ? bf16ToFloat(h) : halfToFloat(h);
    }
  } else {
    return fail(what + " is " + t.dtype + ", expected F16, BF16, F32 or F64");
  }
  return out;
}

llvm::Expected<UnpackedLinear>
mlir::kiln::onnx::unpackQuantizedLinear(const CheckpointConfig &config,
                                        const QuantizedLinearTensors &t) {
  if (!t.qweight || !t.qzeros || !t.scales)
    return fail("a quantized layer needs qweight, qzeros and scales");
  const SafetensorsTensor &qw = *t.qweight, &qz = *t.qzeros, &sc = *t.scales;
  if (qw.dtype != "I32" || qw.shape.size() != 2)
    return fail("qweight is " + qw.dtype + " " + shapeText(qw.shape) +
                ", expected a 2-D I32 tensor");
  bool awq = config.format == CheckpointFormat::Awq;
  const int64_t bits = config.bits, perWord = 32 / bits;
  const uint32_t mask = (1u << bits) - 1;
  UnpackedLinear w;
  w.bits = bits;
  // GPTQ packs along K (rows), AWQ along N (columns).
  w.K = awq ? qw.shape[0] : qw.shape[0] * perWord;
  w.N = awq ? qw.shape[1] * perWord : qw.shape[1];
  w.groupSize = config.groupSize < 0 ? w.K : config.groupSize;
  w.numGroups = (w.K + w.groupSize - 1) / w.groupSize;
  const int64_t K = w.K, N = w.N, G = w.numGroups;
  if (K == 0 || N == 0)
    return fail("qweight " + shapeText(qw.shape) + " is empty");
  if (N % perWord)
    return fail("N=" + llvm::Twine(N) + " (qweight " + shapeText(qw.shape) +
                ") is not a multiple of " + llvm::Twine(perWord) +
                ", so qzeros cannot pack it");

  if (llvm::Error e = expect2D(sc, "scales", {"F16", "BF16", "F32"}, G, N,
                               "ceil(K / group_size) x N"))
    return e;
  if (llvm::Error e = expect2D(qz, "qzeros", {"I32"}, G, N / perWord,
                               "ceil(K / group_size) x N * bits / 32"))
    return e;
  llvm::Expected<std::vector<float>> scales = readFloats(sc, "scales");
  if (!scales)
    return scales.takeError();
  w.scales = std::move(*scales);

  static const int awqOrder[8] = {0, 2, 4, 6, 1, 3, 5, 7};
  w.q.resize(K * N);
  w.zeros.resize(G * N);
  if (awq) {
    const int64_t words = N / 8;
    for (int64_t k = 0; k < K; ++k)
      for (int64_t c = 0; c < words; ++c) {
        uint32_t v = word(qw, k * words + c);
        for (int i = 0; i < 8; ++i)
          w.q[k * N + 8 * c + awqOrder[i]] = (v >> (4 * i)) & mask;
      }
    for (int64_t g = 0; g < G; ++g)
      for (int64_t c = 0; c < words; ++c) {
        uint32_t v = word(qz, g * words + c);
        for (int i = 0; i < 8; ++i)
          w.zeros[g * N + 8 * c + awqOrder[i]] = (v >> (4 * i)) & mask;
      }
  } else {
    for (int64_t r = 0; r < K / perWord; ++r)
      for (int64_t n = 0; n < N; ++n) {
        uint32_t v = word(qw, r * N + n);
        for (int64_t j = 0; j < perWord; ++j)
          w.q[(r * perWord + j) * N + n] = (v >> (j * bits)) & mask;
      }
    // v1 stores zero - 1.
    int32_t offset = config.format == CheckpointFormat::GptqV1 ? 1 : 0;
    const int64_t words = N / perWord;
    for (int64_t g = 0; g < G; ++g)
      for (int64_t c = 0; c < words; ++c) {
        uint32_t v = word(qz, g * words + c);
        for (int64_t j = 0; j < perWord; ++j)
          w.zeros[g * N + c * perWord + j] =
              int32_t((v >> (j * bits)) & mask) + offset;
      }
  }

  w.gIdx.resize(K);
  if (t.gIdx) {
    const SafetensorsTensor &gi = *t.gIdx;
    bool wide = gi.dtype == "I64";
    if ((gi.dtype != "I32" && !wide) || gi.shape.size() != 1 ||
        gi.shape[0] != K)
      return fail("g_idx is " + gi.dtype + " " + shapeText(gi.shape) +
                  ", expected I32 [" + llvm::Twine(K) + "]");
    for (int64_t k = 0; k < K; ++k) {
      int64_t g;
      if (wide) {
        std::memcpy(&g, gi.bytes.data() + 8 * k, 8);
      } else {
        int32_t g32;
        std::memcpy(&g32, gi.bytes.data() + 4 * k, 4);
        g = g32;
      }
      if (g < 0 || g >= G)
        return fail("g_idx[" + llvm::Twine(k) + "] = " + llvm::Twine(g) +
                    " is not a group in [0, " + llvm::Twine(G) + ")");
      w.gIdx[k] = int32_t(g);
    }
  } else {
    for (int64_t k = 0; k < K; ++k)
      w.gIdx[k] = int32_t(k / w.groupSize);
  }
  return w;
}
