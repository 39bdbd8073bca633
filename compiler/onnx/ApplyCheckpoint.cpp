//===- ApplyCheckpoint.cpp - load a GPTQ/AWQ checkpoint into a model ------===//
//
// Part of kiln. `kiln compile --checkpoint DIR`: DIR is a quantized
// HuggingFace checkpoint (config.json with a GPTQ or AWQ
// quantization_config, *.safetensors). Before import, the ONNX model
// (exported from the float model) is rewritten in place:
//
//   - each quantized layer P (tensors P.qweight, P.qzeros, P.scales,
//     P.g_idx) replaces the linear layers that read the float initializer
//     P.weight [N, K] (torch's [out, in]): Gemm(A, P.weight, C, transB=1),
//     or Transpose(P.weight) feeding MatMul's or Gemm's B. Each becomes a
//     com.microsoft MatMulNBits node (ONNX Runtime's block format, which the
//     importer already turns into kiln.quantized_matmul) holding the
//     checkpoint's codes, scales and zero points;
//   - every other checkpoint tensor whose name is an initializer's (biases,
//     norms, embeddings) replaces that initializer's values.
//
// A quantized layer that matches no linear layer is an error: silently
// keeping the float weights would compile the wrong model.
//
//===----------------------------------------------------------------------===//

#include "compiler/onnx/ImporterInternal.h"
#include "compiler/onnx/QuantizedCheckpoint.h"
#include "compiler/onnx/Safetensors.h"

#include "onnx.pb.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MathExtras.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <algorithm>
#include <cstring>

using namespace mlir;
using namespace mlir::kiln::onnx;

namespace {

/// The parts of a quantized layer, by suffix.
constexpr llvm::StringLiteral kLayerSuffixes[] = {".qweight", ".qzeros",
                                                  ".scales", ".g_idx"};

/// Reads the quantization config: config.json's quantization_config, else
/// AutoGPTQ's quantize_config.json or AutoAWQ's quant_config.json.
FailureOr<CheckpointConfig> readConfig(StringRef dir, Location loc) {
  std::string tried;
  for (StringRef file :
       {"config.json", "quantize_config.json", "quant_config.json"}) {
    SmallString<256> path(dir);
    llvm::sys::path::append(path, file);
    llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> text =
        llvm::MemoryBuffer::getFile(path);
    if (!text)
      continue;
    llvm::Expected<CheckpointConfig> config =
        parseCheckpointConfig((*text)->getBuffer(), path);
    if (config)
      return *config;
    tried += "\n  " + toString(config.takeError());
  }
  return emitError(loc) << "checkpoint " << dir
                        << ": no GPTQ or AWQ quantization config (looked in "
                           "config.json, quantize_config.json, "
                           "quant_config.json)"
                        << tried;
}

/// Opens every *.safetensors file in `dir`, in name order.
FailureOr<std::vector<SafetensorsFile>> openTensorFiles(StringRef dir,
                                                        Location loc) {
  std::vector<std::string> paths;
  std::error_code ec;
  for (llvm::sys::fs::directory_iterator it(dir, ec), end; it != end && !ec;
       it.increment(ec))
    if (StringRef(it->path()).ends_with(".safetensors"))
      paths.push_back(it->path());
  if (ec)
    return emitError(loc) << "checkpoint " << dir
                          << ": cannot list: " << ec.message();
  if (paths.empty())
    return emitError(loc) << "checkpoint " << dir
                          << ": no *.safetensors files";
  llvm::sort(paths);
  std::vector<SafetensorsFile> files;
  for (const std::string &p : paths) {
    llvm::Expected<SafetensorsFile> f = SafetensorsFile::open(p);
    if (!f)
      return emitError(loc) << "checkpoint: " << toString(f.takeError());
    files.push_back(std::move(*f));
  }
  return files;
}

int64_t intAttrOr(const ::onnx::NodeProto &n, StringRef name, int64_t dflt) {
  const ::onnx::AttributeProto *a = findAttribute(n, name);
  return a ? a->i() : dflt;
}

float floatAttrOr(const ::onnx::NodeProto &n, StringRef name, float dflt) {
  const ::onnx::AttributeProto *a = findAttribute(n, name);
  return a ? a->f() : dflt;
}

void addIntAttr(::onnx::NodeProto &n, StringRef name, int64_t v) {
  ::onnx::AttributeProto *a = n.add_attribute();
  a->set_name(name.str());
  a->set_type(::onnx::AttributeProto::INT);
  a->set_i(v);
}

std::string nodeLabel(const ::onnx::NodeProto &n) {
  return "node '" + n.name() + "' (" + n.op_type() + ")";
}

/// Sets `t` to dense little-endian `bytes` (dropping every other storage
/// form, external data included).
void setRawData(::onnx::TensorProto &t, StringRef bytes) {
  t.clear_float_data();
  t.clear_int32_data();
  t.clear_int64_data();
  t.clear_double_data();
  t.clear_uint64_data();
  t.clear_string_data();
  t.clear_external_data();
  t.set_data_location(::onnx::TensorProto::DEFAULT);
  t.set_raw_data(bytes.str());
}

template <typename T>
::onnx::TensorProto makeTensor(StringRef name, int32_t dataType,
                               ArrayRef<int64_t> dims, ArrayRef<T> values) {
  ::onnx::TensorProto t;
  t.set_name(name.str());
  t.set_data_type(dataType);
  for (int64_t d : dims)
    t.add_dims(d);
  setRawData(t, StringRef(reinterpret_cast<const char *>(values.data()),
                          values.size() * sizeof(T)));
  return t;
}

/// The MatMulNBits inputs for one layer: B, scales, zero points, g_idx.
struct NBitsInitializers {
  int64_t blockSize = 0;
  std::vector<::onnx::TensorProto> tensors;
  /// Input names for MatMulNBits' inputs 1-4 ("" when omitted).
  std::string b, scales, zeroPoints, gIdx;
};

/// Packs `w` into MatMulNBits' layout: B uint8 [N, blocks, blockSize * bits /
/// 8] (each column's values one stream, low bits first), scales and zero
/// points column-major. Zero points that do not fit `bits` (GPTQ v1's 16)
/// go as floats; g_idx only when it is not k / blockSize.
NBitsInitializers packMatMulNBits(const UnpackedLinear &w, StringRef prefix,
                                  int64_t blockSize) {
  NBitsInitializers out;
  out.blockSize = blockSize;
  const int64_t K = w.K, N = w.N, bits = w.bits;
  const int64_t nb = (K + blockSize - 1) / blockSize;
  const int64_t perByte = 8 / bits, blob = blockSize * bits / 8;
  std::vector<uint8_t> b(N * nb * blob, 0);
  for (int64_t n = 0; n < N; ++n) {
    uint8_t *col = b.data() + n * nb * blob;
    for (int64_t k = 0; k < K; ++k)
      col[k / perByte] |= w.q[k * N + n] << ((k % perByte) * bits);
  }
  std::vector<float> scales(N * nb);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t g = 0; g < nb; ++g)
      scales[n * nb + g] = w.scales[g * N + n];
  out.b = (prefix + ".kiln_nbits_B").str();
  out.scales = (prefix + ".kiln_nbits_scales").str();
  out.tensors.push_back(makeTensor<uint8_t>(
      out.b, ::onnx::TensorProto::UINT8, {N, nb, blob}, b));
  out.tensors.push_back(makeTensor<float>(
      out.scales, ::onnx::TensorProto::FLOAT, {N * nb}, scales));

  out.zeroPoints = (prefix + ".kiln_nbits_zero_points").str();
  bool fitBits = llvm::all_of(
      w.zeros, [&](int32_t z) { return z >= 0 && z < (1 << bits); });
  if (fitBits) {
    const int64_t rowBytes = (nb * bits + 7) / 8;
    std::vector<uint8_t> z(N * rowBytes, 0);
    for (int64_t n = 0; n < N; ++n)
      for (int64_t g = 0; g < nb; ++g)
        z[n * rowBytes + g / perByte] |= uint8_t(w.zeros[g * N + n])
                                         << ((g % perByte) * bits);
    out.tensors.push_back(makeTensor<uint8_t>(
        out.zeroPoints, ::onnx::TensorProto::UINT8, {N * rowBytes}, z));
  } else {
    std::vector<float> z(N * nb);
    for (int64_t n = 0; n < N; ++n)
      for (int64_t g = 0; g < nb; ++g)
        z[n * nb + g] = float(w.zeros[g * N + n]);
    out.tensors.push_back(makeTensor<float>(
        out.zeroPoints, ::onnx::TensorProto::FLOAT, {N * nb}, z));
  }

  bool inOrder = true;
  for (int64_t k = 0; k < K && inOrder; ++k)
    inOrder = w.gIdx[k] == k / blockSize;
  if (!inOrder) {
    out.gIdx = (prefix + ".kiln_nbits_g_idx").str();
    out.tensors.push_back(makeTensor<int32_t>(
        out.gIdx, ::onnx::TensorProto::INT32, {K}, w.gIdx));
  }
  return out;
}

/// Replaces initializer `t`'s values with checkpoint tensor `c`: same shape;
/// same dtype copied as is, a float dtype converted to float32.
LogicalResult replaceInitializer(::onnx::TensorProto &t,
                                 const SafetensorsTensor &c, Location loc) {
  std::vector<int64_t> dims(t.dims().begin(), t.dims().end());
  if (dims != c.shape)
    return emitError(loc) << "checkpoint tensor '" << t.name() << "' is "
                          << shapeText(c.shape)
                          << " but the model's initializer is "
                          << shapeText(dims);
  using TP = ::onnx::TensorProto;
  static const std::pair<int32_t, StringRef> sameType[] = {
      {TP::FLOAT, "F32"},  {TP::FLOAT16, "F16"}, {TP::BFLOAT16, "BF16"},
      {TP::DOUBLE, "F64"}, {TP::INT64, "I64"},   {TP::INT32, "I32"},
      {TP::INT16, "I16"},  {TP::INT8, "I8"},     {TP::UINT8, "U8"},
      {TP::BOOL, "BOOL"}};
  for (auto [type, dtype] : sameType)
    if (t.data_type() == type && c.dtype == dtype) {
      setRawData(t, c.bytes);
      return success();
    }
  if (t.data_type() == TP::FLOAT) {
    llvm::Expected<std::vector<float>> f =
        readFloats(c, "checkpoint tensor '" + t.name() + "'");
    if (!f)
      return emitError(loc) << toString(f.takeError());
    setRawData(t, StringRef(reinterpret_cast<const char *>(f->data()),
                            f->size() * sizeof(float)));
    return success();
  }
  return emitError(loc) << "checkpoint tensor '" << t.name() << "' is "
                        << c.dtype << " but the model's initializer is "
                        << dataTypeName(t.data_type())
                        << " (kiln copies tensors of the same type and "
                           "converts float16/bfloat16 to float)";
}

/// Where a value is read: (node index, input slot).
using Uses = SmallVector<std::pair<int, int>>;

class CheckpointRewriter {
public:
  CheckpointRewriter(::onnx::GraphProto &graph, Location loc)
      : graph(graph), loc(loc) {
    for (int i = 0; i < graph.node_size(); ++i)
      for (int j = 0; j < graph.node(i).input_size(); ++j)
        uses[graph.node(i).input(j)].push_back({i, j});
    for (const ::onnx::ValueInfoProto &o : graph.output())
      graphOutputs.insert(o.name());
    for (int i = 0; i < graph.initializer_size(); ++i)
      initializers[graph.initializer(i).name()] = i;
  }

  /// Rewrites the linear layers reading `P.weight` to use `w`. Returns
  /// false (no error) when the model has no such initializer.
  FailureOr<bool> replaceLinear(StringRef prefix, const UnpackedLinear &w,
                                const CheckpointConfig &config);
  /// The initializer named `name`, or null.
  ::onnx::TensorProto *findInitializer(StringRef name) {
    auto it = initializers.find(name);
    return it == initializers.end() ? nullptr
                                    : graph.mutable_initializer(it->second);
  }
  /// Drops the nodes and initializers the rewrite left unread.
  void removeDead();

private:
  /// The linear nodes (Gemm, MatMul) reading `weight` [N, K], directly or
  /// through a Transpose (remembered in `transposes`).
  FailureOr<SmallVector<int>> linearNodes(StringRef weight);
  LogicalResult rewriteNode(int index, const NBitsInitializers &packed,
                            const UnpackedLinear &w);
  bool isRead(StringRef name) const {
    auto it = uses.find(name);
    return (it != uses.end() && !it->second.empty()) ||
           graphOutputs.contains(name);
  }

  ::onnx::GraphProto &graph;
  Location loc;
  llvm::StringMap<Uses> uses;
  llvm::StringSet<> graphOutputs;
  llvm::StringMap<int> initializers;
  SmallVector<int> transposes;
  SmallVector<::onnx::NodeProto> addedNodes;
  std::vector<::onnx::TensorProto> addedTensors;
  llvm::StringSet<> replacedWeights;
};

FailureOr<SmallVector<int>> CheckpointRewriter::linearNodes(StringRef weight) {
  SmallVector<int> linear;
  auto unsupported = [&](int node, int slot) {
    return emitError(loc) << "checkpoint: initializer '" << weight
                          << "' is read by " << nodeLabel(graph.node(node))
                          << " input " << slot
                          << "; kiln replaces it only in linear layers: "
                             "Gemm(A, W, C, transB=1), or Transpose(W) "
                             "feeding MatMul's or Gemm's B";
  };
  for (auto [node, slot] : uses.lookup(weight)) {
    const ::onnx::NodeProto &n = graph.node(node);
    if (n.op_type() == "Gemm" && n.domain().empty() && slot == 1 &&
        intAttrOr(n, "transB", 0) == 1) {
      linear.push_back(node);
      continue;
    }
    bool plainTranspose = false;
    if (n.op_type() == "Transpose" && n.domain().empty() && slot == 0) {
      const ::onnx::AttributeProto *perm = findAttribute(n, "perm");
      plainTranspose = !perm || (perm->ints_size() == 2 &&
                                 perm->ints(0) == 1 && perm->ints(1) == 0);
    }
    if (!plainTranspose || graphOutputs.contains(n.output(0)))
      return unsupported(node, slot);
    for (auto [reader, readerSlot] : uses.lookup(n.output(0))) {
      const ::onnx::NodeProto &r = graph.node(reader);
      bool matmul = r.op_type() == "MatMul" && readerSlot == 1;
      bool gemm = r.op_type() == "Gemm" && readerSlot == 1 &&
                  intAttrOr(r, "transB", 0) == 0;
      if (!r.domain().empty() || !(matmul || gemm))
        return emitError(loc)
               << "checkpoint: Transpose of '" << weight << "' is read by "
               << nodeLabel(r) << " input " << readerSlot
               << "; kiln replaces it only as MatMul's or Gemm's B";
      linear.push_back(reader);
    }
    transposes.push_back(node);
  }
  return linear;
}

LogicalResult CheckpointRewriter::rewriteNode(int index,
                                              const NBitsInitializers &packed,
                                              const UnpackedLinear &w) {
  ::onnx::NodeProto &n = *graph.mutable_node(index);
  std::string a = n.input(0), output = n.output(0), c;
  if (n.op_type() == "Gemm") {
    if (intAttrOr(n, "transA", 0) != 0 || floatAttrOr(n, "alpha", 1.f) != 1.f)
      return emitError(loc) << "checkpoint: " << nodeLabel(n)
                            << " has transA or alpha != 1; kiln replaces "
                               "Gemm(A, W, C) with alpha = 1, transA = 0";
    if (n.input_size() > 2 && !n.input(2).empty()) {
      c = n.input(2);
      if (floatAttrOr(n, "beta", 1.f) != 1.f)
        return emitError(loc) << "checkpoint: " << nodeLabel(n)
                              << " has beta != 1; kiln replaces Gemm(A, W, "
                                 "C) with beta = 1";
    }
  }
  // A bias initializer [N] becomes MatMulNBits' bias; any other C is added
  // after it.
  const ::onnx::TensorProto *bias = c.empty() ? nullptr : findInitializer(c);
  bool biasInput = bias && bias->dims_size() == 1 && bias->dims(0) == w.N;
  std::string product = output;
  if (!c.empty() && !biasInput) {
    product = output + "_kiln_nbits";
    ::onnx::NodeProto add;
    add.set_op_type("Add");
    add.set_name(n.name() + "_kiln_bias");
    add.add_input(product);
    add.add_input(c);
    add.add_output(output);
    addedNodes.push_back(std::move(add));
  }
  n.set_op_type("MatMulNBits");
  n.set_domain("com.microsoft");
  n.clear_attribute();
  n.clear_input();
  n.clear_output();
  n.add_output(product);
  for (const std::string &in :
       {a, packed.b, packed.scales, packed.zeroPoints, packed.gIdx})
    n.add_input(in);
  if (biasInput)
    n.add_input(c);
  addIntAttr(n, "K", w.K);
  addIntAttr(n, "N", w.N);
  addIntAttr(n, "bits", w.bits);
  addIntAttr(n, "block_size", packed.blockSize);
  return success();
}

FailureOr<bool> CheckpointRewriter::replaceLinear(StringRef prefix,
                                                  const UnpackedLinear &w,
                                                  const CheckpointConfig &config) {
  std::string weight = (prefix + ".weight").str();
  const ::onnx::TensorProto *init = findInitializer(weight);
  if (!init)
    return false;
  const ::onnx::TensorProto &t = *init;
  if (t.dims_size() != 2 || t.dims(0) != w.N || t.dims(1) != w.K)
    return emitError(loc) << "checkpoint layer '" << prefix << "' is "
                          << w.N << "x" << w.K << " (N x K, from "
                          << config.describe() << " qweight) but the model's '"
                          << weight << "' is "
                          << shapeText(SmallVector<int64_t>(t.dims().begin(),
                                                            t.dims().end()));
  if (t.data_type() != ::onnx::TensorProto::FLOAT)
    return emitError(loc) << "checkpoint layer '" << prefix
                          << "': the model's '" << weight << "' is "
                          << dataTypeName(t.data_type())
                          << "; kiln loads quantized checkpoints into float "
                             "models";
  // MatMulNBits blocks are powers of two >= 16; one group per column
  // becomes one block covering K.
  int64_t blockSize = config.groupSize < 0
                          ? std::max<int64_t>(16, llvm::PowerOf2Ceil(w.K))
                          : w.groupSize;
  if (blockSize < 16 || !llvm::isPowerOf2_64(blockSize))
    return emitError(loc) << "checkpoint " << config.describe()
                          << ": group_size " << w.groupSize
                          << " is not supported (kiln's int4 kernels take "
                             "powers of two >= 16)";
  FailureOr<SmallVector<int>> nodes = linearNodes(weight);
  if (failed(nodes))
    return failure();
  if (nodes->empty())
    return emitError(loc) << "checkpoint layer '" << prefix
                          << "': the model's '" << weight
                          << "' is not read by any node";
  NBitsInitializers packed = packMatMulNBits(w, prefix, blockSize);
  for (const ::onnx::TensorProto &p : packed.tensors)
    if (initializers.contains(p.name()))
      return emitError(loc) << "checkpoint: the model already has an "
                               "initializer named '"
                            << p.name() << "'";
  for (int node : *nodes)
    if (failed(rewriteNode(node, packed, w)))
      return failure();
  for (::onnx::TensorProto &p : packed.tensors)
    addedTensors.push_back(std::move(p));
  replacedWeights.insert(weight);
  return true;
}

void CheckpointRewriter::removeDead() {
  // Rebuild the reader counts after the rewrite.
  uses.clear();
  for (::onnx::NodeProto &n : addedNodes)
    *graph.add_node() = std::move(n);
  for (::onnx::TensorProto &t : addedTensors)
    *graph.add_initializer() = std::move(t);
  llvm::DenseSet<int> deadNodes;
  for (int i : transposes)
    deadNodes.insert(i);
  for (int i = 0; i < graph.node_size(); ++i)
    if (!deadNodes.contains(i))
      for (const std::string &in : graph.node(i).input())
        uses[in].push_back({i, 0});
  auto *nodes = graph.mutable_node();
  for (int i = graph.node_size() - 1; i >= 0; --i)
    if (deadNodes.contains(i))
      nodes->DeleteSubrange(i, 1);
  auto dead = [&](const std::string &name) {
    return replacedWeights.contains(name) && !isRead(name);
  };
  auto *inits = graph.mutable_initializer();
  inits->erase(std::remove_if(inits->begin(), inits->end(),
                              [&](const ::onnx::TensorProto &t) {
                                return dead(t.name());
                              }),
               inits->end());
  // Models of IR version < 4 also list initializers as graph inputs.
  auto *inputs = graph.mutable_input();
  inputs->erase(std::remove_if(inputs->begin(), inputs->end(),
                               [&](const ::onnx::ValueInfoProto &v) {
                                 return dead(v.name());
                               }),
                inputs->end());
}

/// "a, b, c and 4 more".
std::string listNames(ArrayRef<std::string> names) {
  std::string s;
  size_t shown = std::min<size_t>(names.size(), 5);
  for (size_t i = 0; i < shown; ++i)
    s += (i ? ", '" : "'") + names[i] + "'";
  if (names.size() > shown)
    s += " and " + std::to_string(names.size() - shown) + " more";
  return s;
}

} // namespace

LogicalResult mlir::kiln::onnx::applyQuantizedCheckpoint(
    ::onnx::ModelProto &model, StringRef dir, Location loc, bool warnUnused) {
  if (!llvm::sys::fs::is_directory(dir))
    return emitError(loc) << "checkpoint " << dir << " is not a directory";
  FailureOr<CheckpointConfig> config = readConfig(dir, loc);
  if (failed(config))
    return failure();
  FailureOr<std::vector<SafetensorsFile>> files = openTensorFiles(dir, loc);
  if (failed(files))
    return failure();
  llvm::StringMap<const SafetensorsTensor *> tensors;
  std::vector<std::string> names;
  for (const SafetensorsFile &f : *files)
    for (const auto &entry : f.tensors()) {
      if (!tensors.try_emplace(entry.getKey(), &entry.getValue()).second)
        return emitError(loc) << "checkpoint: tensor '" << entry.getKey()
                              << "' is in more than one file (last: "
                              << f.path() << ")";
      names.push_back(entry.getKey().str());
    }
  llvm::sort(names);

  CheckpointRewriter rewriter(*model.mutable_graph(), loc);
  llvm::StringSet<> layerParts;
  std::vector<std::string> unmatchedLayers, unusedTensors;
  int layers = 0;
  for (const std::string &name : names) {
    StringRef prefix(name);
    if (!prefix.consume_back(".qweight"))
      continue;
    QuantizedLinearTensors parts;
    parts.qweight = tensors.lookup(name);
    parts.qzeros = tensors.lookup((prefix + ".qzeros").str());
    parts.scales = tensors.lookup((prefix + ".scales").str());
    parts.gIdx = tensors.lookup((prefix + ".g_idx").str());
    for (StringRef suffix : kLayerSuffixes)
      layerParts.insert((prefix + suffix).str());
    llvm::Expected<UnpackedLinear> w = unpackQuantizedLinear(*config, parts);
    if (!w)
      return emitError(loc) << "checkpoint layer '" << prefix << "' ("
                            << config->describe()
                            << "): " << toString(w.takeError());
    FailureOr<bool> replaced = rewriter.replaceLinear(prefix, *w, *config);
    if (failed(replaced))
      return failure();
    if (!*replaced)
      unmatchedLayers.push_back(prefix.str());
    ++layers;
  }
  if (!layers)
    return emitError(loc) << "checkpoint " << dir << " (" << config->describe()
                          << ") has no quantized layers (tensors named "
                             "*.qweight)";
  if (!unmatchedLayers.empty())
    return emitError(loc)
           << "checkpoint " << dir << ": " << unmatchedLayers.size()
           << " quantized layer(s) match no initializer in the model: "
           << listNames(unmatchedLayers)
           << "; kiln matches layer P to the float initializer 'P.weight' "
              "[N, K] (export the float model with its parameter names)";
  for (const std::string &name : names) {
    if (layerParts.contains(name))
      continue;
    ::onnx::TensorProto *init = rewriter.findInitializer(name);
    if (!init)
      unusedTensors.push_back(name);
    else if (failed(replaceInitializer(*init, *tensors.lookup(name), loc)))
      return failure();
  }
  if (warnUnused && !unusedTensors.empty())
    emitWarning(loc) << "checkpoint " << dir << ": " << unusedTensors.size()
                     << " tensor(s) match no initializer and are ignored: "
                     << listNames(unusedTensors);
  rewriter.removeDead();

  bool hasMicrosoftDomain = llvm::any_of(
      model.opset_import(), [](const ::onnx::OperatorSetIdProto &o) {
        return o.domain() == "com.microsoft";
      });
  if (!hasMicrosoftDomain) {
    ::onnx::OperatorSetIdProto *o = model.add_opset_import();
    o->set_domain("com.microsoft");
    o->set_version(1);
  }
  return success();
}
