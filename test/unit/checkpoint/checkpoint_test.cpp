//===- checkpoint_test.cpp - safetensors and GPTQ/AWQ unpacking -----------===//
//
// Part of kiln. The safetensors reader (a file written here, and the
// malformed ones it must refuse), the quantization config parser (HF,
// AutoGPTQ and AutoAWQ spellings, unsupported formats), and the GPTQ/AWQ
// unpacking: golden words from the format spec (GPTQ's sequential nibbles
// and v1 zero offset, AWQ's [0, 2, 4, 6, 1, 3, 5, 7] order) and pack ->
// unpack round trips through packers written here from that spec.
//
//===----------------------------------------------------------------------===//

#include "compiler/onnx/QuantizedCheckpoint.h"
#include "compiler/onnx/Safetensors.h"

#include "llvm/Support/FileSystem.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <random>

using namespace mlir::kiln::onnx;

namespace {

/// A tensor backed by a vector the test owns.
struct OwnedTensor {
  std::vector<char> storage;
  SafetensorsTensor tensor;
};

template <typename T>
OwnedTensor makeTensor(const char *dtype, std::vector<int64_t> shape,
                       const std::vector<T> &values) {
  OwnedTensor t;
  t.storage.resize(values.size() * sizeof(T));
  std::memcpy(t.storage.data(), values.data(), t.storage.size());
  t.tensor.dtype = dtype;
  t.tensor.shape = std::move(shape);
  t.tensor.bytes = llvm::StringRef(t.storage.data(), t.storage.size());
  return t;
}

/// fp16 bit patterns of small exactly representable values.
uint16_t halfOf(float v) {
  if (v == 0.5f)
    return 0x3800;
  if (v == 1.0f)
    return 0x3c00;
  if (v == 0.25f)
    return 0x3400;
  ADD_FAILURE() << "no fp16 pattern for " << v;
  return 0;
}

CheckpointConfig config(CheckpointFormat f, int64_t bits, int64_t group) {
  CheckpointConfig c;
  c.format = f;
  c.bits = bits;
  c.groupSize = group;
  return c;
}

/// Random codes [K, N] and zeros [G, N] in [0, 2^bits).
struct Codes {
  int64_t K, N, G;
  std::vector<uint8_t> q;
  std::vector<int32_t> zeros;
};

Codes randomCodes(int64_t K, int64_t N, int64_t group, int64_t bits,
                  unsigned seed, int32_t zeroOffset) {
  std::mt19937 rng(seed);
  Codes c{K, N, (K + group - 1) / group, {}, {}};
  int32_t levels = 1 << bits;
  for (int64_t i = 0; i < K * N; ++i)
    c.q.push_back(uint8_t(rng() % levels));
  // v1 stores zero - 1, so zeros start at 1 there.
  for (int64_t i = 0; i < c.G * N; ++i)
    c.zeros.push_back(zeroOffset + int32_t(rng() % (levels - zeroOffset)));
  return c;
}

/// GPTQ's pack: qweight packs `bits`-bit values along K, qzeros along N,
/// low bits first; v1 stores zero - 1.
void packGptq(const Codes &c, int64_t bits, bool v1, std::vector<int32_t> &qw,
              std::vector<int32_t> &qz) {
  int64_t per = 32 / bits;
  qw.assign(c.K / per * c.N, 0);
  for (int64_t k = 0; k < c.K; ++k)
    for (int64_t n = 0; n < c.N; ++n)
      qw[(k / per) * c.N + n] |= int32_t(uint32_t(c.q[k * c.N + n])
                                         << ((k % per) * bits));
  qz.assign(c.G * c.N / per, 0);
  for (int64_t g = 0; g < c.G; ++g)
    for (int64_t n = 0; n < c.N; ++n)
      qz[g * (c.N / per) + n / per] |=
          int32_t(uint32_t(c.zeros[g * c.N + n] - (v1 ? 1 : 0))
                  << ((n % per) * bits));
}

/// AutoAWQ's GEMM pack: nibble i of word c holds column 8c + order[i].
void packAwq(const Codes &c, std::vector<int32_t> &qw,
             std::vector<int32_t> &qz) {
  static const int order[8] = {0, 2, 4, 6, 1, 3, 5, 7};
  auto pack = [&](auto value, int64_t rows, std::vector<int32_t> &out) {
    out.assign(rows * c.N / 8, 0);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t w = 0; w < c.N / 8; ++w)
        for (int i = 0; i < 8; ++i)
          out[r * (c.N / 8) + w] |=
              int32_t(uint32_t(value(r, 8 * w + order[i])) << (4 * i));
  };
  pack([&](int64_t k, int64_t n) { return c.q[k * c.N + n]; }, c.K, qw);
  pack([&](int64_t g, int64_t n) { return c.zeros[g * c.N + n]; }, c.G, qz);
}

std::vector<uint16_t> halfScales(int64_t n) {
  std::vector<uint16_t> s;
  for (int64_t i = 0; i < n; ++i)
    s.push_back(halfOf(i % 3 == 0 ? 0.5f : i % 3 == 1 ? 1.0f : 0.25f));
  return s;
}

void expectRoundTrip(const CheckpointConfig &cfg, const Codes &c,
                     const std::vector<int32_t> &qw,
                     const std::vector<int32_t> &qz, bool awq) {
  int64_t per = 32 / cfg.bits;
  OwnedTensor w = awq ? makeTensor("I32", {c.K, c.N / 8}, qw)
                      : makeTensor("I32", {c.K / per, c.N}, qw);
  OwnedTensor z = makeTensor("I32", {c.G, c.N / per}, qz);
  OwnedTensor s = makeTensor("F16", {c.G, c.N}, halfScales(c.G * c.N));
  llvm::Expected<UnpackedLinear> u =
      unpackQuantizedLinear(cfg, {&w.tensor, &z.tensor, &s.tensor, nullptr});
  ASSERT_TRUE(bool(u)) << toString(u.takeError());
  EXPECT_EQ(u->K, c.K);
  EXPECT_EQ(u->N, c.N);
  EXPECT_EQ(u->numGroups, c.G);
  EXPECT_EQ(u->q, c.q);
  EXPECT_EQ(u->zeros, c.zeros);
  for (int64_t i = 0; i < c.G * c.N; ++i)
    EXPECT_EQ(u->scales[i], i % 3 == 0 ? 0.5f : i % 3 == 1 ? 1.0f : 0.25f);
  for (int64_t k = 0; k < c.K; ++k)
    EXPECT_EQ(u->gIdx[k], k / u->groupSize);
}

TEST(GptqFormat, GoldenWords) {
  // Codes 0..7 down K of one column are the word 0x76543210; zero 8 is
  // stored as 7 in v1 (all eight columns: 0x77777777).
  OwnedTensor w = makeTensor<int32_t>("I32", {1, 8}, std::vector<int32_t>(8, 0x76543210));
  OwnedTensor z = makeTensor<int32_t>("I32", {1, 1}, {0x77777777});
  OwnedTensor s = makeTensor<uint16_t>("F16", {1, 8}, std::vector<uint16_t>(8, 0x3c00));
  llvm::Expected<UnpackedLinear> v1 = unpackQuantizedLinear(
      config(CheckpointFormat::GptqV1, 4, 128),
      {&w.tensor, &z.tensor, &s.tensor, nullptr});
  ASSERT_TRUE(bool(v1)) << toString(v1.takeError());
  EXPECT_EQ(v1->K, 8);
  EXPECT_EQ(v1->N, 8);
  for (int64_t k = 0; k < 8; ++k)
    for (int64_t n = 0; n < 8; ++n)
      EXPECT_EQ(v1->q[k * 8 + n], k);
  EXPECT_EQ(v1->zeros, std::vector<int32_t>(8, 8));
  EXPECT_EQ(v1->scales, std::vector<float>(8, 1.0f));
  llvm::Expected<UnpackedLinear> v2 = unpackQuantizedLinear(
      config(CheckpointFormat::GptqV2, 4, 128),
      {&w.tensor, &z.tensor, &s.tensor, nullptr});
  ASSERT_TRUE(bool(v2)) << toString(v2.takeError());
  EXPECT_EQ(v2->zeros, std::vector<int32_t>(8, 7));
}

TEST(AwqFormat, GoldenWords) {
  // Columns 0..7 holding codes 0..7 pack into 0x75316420.
  OwnedTensor w = makeTensor<int32_t>("I32", {2, 1}, {0x75316420, 0x75316420});
  OwnedTensor z = makeTensor<int32_t>("I32", {1, 1}, {0x75316420});
  OwnedTensor s = makeTensor<uint16_t>("F16", {1, 8}, std::vector<uint16_t>(8, 0x3800));
  llvm::Expected<UnpackedLinear> u = unpackQuantizedLinear(
      config(CheckpointFormat::Awq, 4, 128),
      {&w.tensor, &z.tensor, &s.tensor, nullptr});
  ASSERT_TRUE(bool(u)) << toString(u.takeError());
  EXPECT_EQ(u->K, 2);
  EXPECT_EQ(u->N, 8);
  for (int64_t n = 0; n < 8; ++n) {
    EXPECT_EQ(u->q[n], n);
    EXPECT_EQ(u->q[8 + n], n);
    EXPECT_EQ(u->zeros[n], n);
    EXPECT_EQ(u->scales[n], 0.5f);
  }
}

TEST(GptqFormat, RoundTrips) {
  for (int64_t bits : {2, 4, 8})
    for (bool v1 : {true, false}) {
      SCOPED_TRACE("bits " + std::to_string(bits) + (v1 ? " v1" : " v2"));
      Codes c = randomCodes(64, 48, 32, bits, unsigned(bits * 2 + v1),
                            v1 ? 1 : 0);
      std::vector<int32_t> qw, qz;
      packGptq(c, bits, v1, qw, qz);
      expectRoundTrip(config(v1 ? CheckpointFormat::GptqV1
                                : CheckpointFormat::GptqV2,
                             bits, 32),
                      c, qw, qz, /*awq=*/false);
    }
}

TEST(AwqFormat, RoundTrips) {
  Codes c = randomCodes(96, 64, 32, 4, 7, 0);
  std::vector<int32_t> qw, qz;
  packAwq(c, qw, qz);
  expectRoundTrip(config(CheckpointFormat::Awq, 4, 32), c, qw, qz,
                  /*awq=*/true);
}

TEST(GptqFormat, ActOrderAndErrors) {
  OwnedTensor w = makeTensor<int32_t>("I32", {2, 8}, std::vector<int32_t>(16, 0));
  OwnedTensor z = makeTensor<int32_t>("I32", {2, 1}, {0, 0});
  OwnedTensor s = makeTensor<uint16_t>("F16", {2, 8}, std::vector<uint16_t>(16, 0x3c00));
  CheckpointConfig cfg = config(CheckpointFormat::GptqV1, 4, 8);
  OwnedTensor g = makeTensor<int32_t>(
      "I32", {16}, {1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0});
  llvm::Expected<UnpackedLinear> u =
      unpackQuantizedLinear(cfg, {&w.tensor, &z.tensor, &s.tensor, &g.tensor});
  ASSERT_TRUE(bool(u)) << toString(u.takeError());
  EXPECT_EQ(u->gIdx[0], 1);
  EXPECT_EQ(u->gIdx[1], 0);

  OwnedTensor bad = makeTensor<int32_t>("I32", {16}, std::vector<int32_t>(16, 2));
  llvm::Expected<UnpackedLinear> e =
      unpackQuantizedLinear(cfg, {&w.tensor, &z.tensor, &s.tensor, &bad.tensor});
  ASSERT_FALSE(bool(e));
  EXPECT_EQ(toString(e.takeError()),
            "g_idx[0] = 2 is not a group in [0, 2)");

  OwnedTensor wrongScales = makeTensor<uint16_t>("F16", {1, 8}, std::vector<uint16_t>(8, 0));
  llvm::Expected<UnpackedLinear> e2 = unpackQuantizedLinear(
      cfg, {&w.tensor, &z.tensor, &wrongScales.tensor, nullptr});
  ASSERT_FALSE(bool(e2));
  EXPECT_EQ(toString(e2.takeError()),
            "scales is F16 [1, 8], expected F16/BF16/F32 [2, 8] "
            "(ceil(K / group_size) x N)");
}

TEST(CheckpointConfig, Spellings) {
  llvm::Expected<CheckpointConfig> hf = parseCheckpointConfig(
      R"({"model_type": "llama", "quantization_config": {"quant_method":
      "gptq", "bits": 4, "group_size": 128, "desc_act": true, "sym": true,
      "checkpoint_format": "gptq_v2"}})",
      "config.json");
  ASSERT_TRUE(bool(hf)) << toString(hf.takeError());
  EXPECT_EQ(hf->format, CheckpointFormat::GptqV2);
  EXPECT_EQ(hf->describe(), "gptq v2 4-bit g128");

  llvm::Expected<CheckpointConfig> autoGptq = parseCheckpointConfig(
      R"({"bits": 8, "group_size": -1, "desc_act": false})",
      "quantize_config.json");
  ASSERT_TRUE(bool(autoGptq)) << toString(autoGptq.takeError());
  EXPECT_EQ(autoGptq->format, CheckpointFormat::GptqV1);
  EXPECT_EQ(autoGptq->describe(), "gptq v1 8-bit one group per column");

  llvm::Expected<CheckpointConfig> autoAwq = parseCheckpointConfig(
      R"({"zero_point": true, "q_group_size": 64, "w_bit": 4,
      "version": "GEMM"})",
      "quant_config.json");
  ASSERT_TRUE(bool(autoAwq)) << toString(autoAwq.takeError());
  EXPECT_EQ(autoAwq->describe(), "awq 4-bit g64");
}

TEST(CheckpointConfig, Refusals) {
  auto error = [](const char *json) {
    llvm::Expected<CheckpointConfig> c = parseCheckpointConfig(json, "c.json");
    EXPECT_FALSE(bool(c));
    return c ? std::string() : toString(c.takeError());
  };
  EXPECT_EQ(error(R"({"quantization_config": {"quant_method": "bitsandbytes",
                "bits": 4, "group_size": 64}})"),
            "c.json: quant_method 'bitsandbytes' is not supported (kiln "
            "imports gptq and awq)");
  EXPECT_EQ(error(R"({"quant_method": "gptq", "bits": 3, "group_size": 64})"),
            "c.json: bits=3 is not supported for GPTQ (kiln imports 2, 4 and "
            "8: values that tile a 32-bit word)");
  EXPECT_EQ(error(R"({"quant_method": "awq", "bits": 4, "group_size": 64,
                "version": "gemv"})"),
            "c.json: AWQ version 'gemv' is not supported (kiln imports the "
            "GEMM layout)");
  EXPECT_EQ(error(R"({"quant_method": "gptq", "bits": 4, "group_size": 64,
                "checkpoint_format": "marlin"})"),
            "c.json: checkpoint_format 'marlin' is not supported (kiln "
            "imports gptq and gptq_v2)");
  EXPECT_EQ(error(R"({"model_type": "llama"})"),
            "c.json has no quantization_config (quant_method, bits, "
            "group_size): not a GPTQ or AWQ checkpoint");
}

/// Writes a safetensors file: header `json` padded as given, then `data`.
std::string writeFile(const std::string &json, const std::string &data,
                      uint64_t headerLength) {
  llvm::SmallString<128> path;
  int fd;
  EXPECT_FALSE(llvm::sys::fs::createTemporaryFile("kiln", "safetensors", fd,
                                                  path));
  FILE *f = fdopen(fd, "wb");
  for (int i = 0; i < 8; ++i)
    fputc(int((headerLength >> (8 * i)) & 0xff), f);
  fwrite(json.data(), 1, json.size(), f);
  fwrite(data.data(), 1, data.size(), f);
  fclose(f);
  return std::string(path);
}

TEST(Safetensors, ReadsTensors) {
  std::string json =
      R"({"__metadata__": {"format": "pt"}, "a": {"dtype": "F32", "shape":
      [2], "data_offsets": [0, 8]}, "b": {"dtype": "I32", "shape": [1, 1],
      "data_offsets": [8, 12]}})";
  float a[2] = {1.5f, -2.0f};
  int32_t b = 0x75316420;
  std::string data(reinterpret_cast<char *>(a), 8);
  data.append(reinterpret_cast<char *>(&b), 4);
  std::string path = writeFile(json, data, json.size());
  llvm::Expected<SafetensorsFile> f = SafetensorsFile::open(path);
  ASSERT_TRUE(bool(f)) << toString(f.takeError());
  ASSERT_EQ(f->tensors().size(), 2u);
  const SafetensorsTensor &ta = f->tensors().lookup("a");
  EXPECT_EQ(ta.dtype, "F32");
  EXPECT_EQ(ta.shape, std::vector<int64_t>{2});
  llvm::Expected<std::vector<float>> fa = readFloats(ta, "a");
  ASSERT_TRUE(bool(fa));
  EXPECT_EQ(*fa, (std::vector<float>{1.5f, -2.0f}));
  const SafetensorsTensor &tb = f->tensors().lookup("b");
  int32_t back;
  std::memcpy(&back, tb.bytes.data(), 4);
  EXPECT_EQ(back, 0x75316420);
  llvm::sys::fs::remove(path);
}

TEST(Safetensors, RefusesMalformedFiles) {
  auto openError = [](const std::string &json, const std::string &data,
                      uint64_t headerLength) {
    std::string path = writeFile(json, data, headerLength);
    llvm::Expected<SafetensorsFile> f = SafetensorsFile::open(path);
    llvm::sys::fs::remove(path);
    EXPECT_FALSE(bool(f));
    if (f)
      return std::string();
    std::string message = toString(f.takeError());
    return message.substr(message.find(": ") + 2);
  };
  std::string ok = R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}})";
  EXPECT_EQ(openError(ok, std::string(8, '\0'), 1000),
            "header length 1000 runs past the end of the file (" +
                std::to_string(8 + ok.size() + 8) +
                " bytes): not a safetensors file, or truncated");
  EXPECT_EQ(openError(ok, std::string(4, '\0'), ok.size()),
            "tensor 'a': data_offsets must be [begin, end] within the "
            "4-byte data section");
  std::string wrongSize =
      R"({"a": {"dtype": "F16", "shape": [2], "data_offsets": [0, 8]}})";
  EXPECT_EQ(openError(wrongSize, std::string(8, '\0'), wrongSize.size()),
            "tensor 'a': data_offsets span 8 bytes; dtype F16 and its shape "
            "need 4");
  std::string badDtype =
      R"({"a": {"dtype": "F8_E4M3", "shape": [2], "data_offsets": [0, 2]}})";
  EXPECT_EQ(openError(badDtype, std::string(2, '\0'), badDtype.size()),
            "tensor 'a': dtype F8_E4M3 is not supported");
  std::string notJson = "{not json";
  std::string message = openError(notJson, "", notJson.size());
  EXPECT_EQ(message.rfind("header is not JSON", 0), 0u) << message;
}

} // namespace
