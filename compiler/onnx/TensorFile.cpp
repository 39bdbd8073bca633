//===- TensorFile.cpp - ONNX tensor files and model signatures ------------===//
//
// Part of kiln.
//
//===----------------------------------------------------------------------===//

#include "compiler/onnx/TensorFile.h"

#include "compiler/onnx/ImporterInternal.h"

#include "onnx.pb.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <google/protobuf/io/coded_stream.h>

#include <climits>
#include <cstring>

using namespace mlir::kiln::onnx;

int64_t TensorData::numElements() const {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

int64_t mlir::kiln::onnx::tensorDataTypeByteSize(int32_t dataType) {
  return elementByteSize(dataType);
}

std::string mlir::kiln::onnx::tensorDataTypeName(int32_t dataType) {
  return dataTypeName(dataType);
}

namespace {
/// Reads `path` into `bytes`.
bool readFile(llvm::StringRef path, std::string &bytes, std::string &error) {
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                            /*RequiresNullTerminator=*/false);
  if (!buffer) {
    error = "cannot open '" + path.str() + "': " + buffer.getError().message();
    return false;
  }
  if ((*buffer)->getBufferSize() > INT_MAX) {
    error = "'" + path.str() + "' is larger than 2 GB (protobuf limit)";
    return false;
  }
  bytes = (*buffer)->getBuffer().str();
  return true;
}

template <typename Message>
bool parse(const std::string &bytes, Message &message) {
  google::protobuf::io::CodedInputStream coded(
      reinterpret_cast<const uint8_t *>(bytes.data()),
      static_cast<int>(bytes.size()));
  coded.SetTotalBytesLimit(INT_MAX);
  return message.ParseFromCodedStream(&coded) && coded.ConsumedEntireMessage();
}

void appendLE(std::vector<char> &out, uint64_t v, int64_t size) {
  for (int64_t k = 0; k < size; ++k)
    out.push_back(static_cast<char>((v >> (8 * k)) & 0xff));
}
} // namespace

bool mlir::kiln::onnx::readTensorFile(llvm::StringRef path, TensorData &tensor,
                                      std::string &error) {
  std::string bytes;
  if (!readFile(path, bytes, error))
    return false;
  ::onnx::TensorProto t;
  if (!parse(bytes, t)) {
    error = "'" + path.str() + "' is not a serialized TensorProto";
    return false;
  }
  auto fail = [&](const std::string &message) {
    error = "'" + path.str() + "': " + message;
    return false;
  };
  if (t.data_type() == ::onnx::TensorProto::UNDEFINED)
    return fail("not a tensor (no data type; a sequence, map or optional "
                "value?)");
  // Sub-byte types (int4, float4, ...) are packed in the file and decoded
  // to one element per byte, as kiln buffers hold them.
  int64_t packedBits = packedElementBits(t.data_type());
  int64_t esize = packedBits ? 1 : elementByteSize(t.data_type());
  if (esize == 0)
    return fail("data type " + dataTypeName(t.data_type()) +
                " is not supported");
  if (t.has_segment())
    return fail("segmented tensors are not supported");
  if (t.data_location() == ::onnx::TensorProto::EXTERNAL)
    return fail("external data is not supported in tensor files");

  tensor.name = t.name();
  tensor.dataType = t.data_type();
  tensor.shape.assign(t.dims().begin(), t.dims().end());
  std::optional<int64_t> maybeN = checkedNumElements(tensor.shape);
  if (!maybeN || *maybeN > (int64_t(1) << 40))
    return fail("invalid dims " + shapeText(tensor.shape));
  int64_t n = *maybeN;
  tensor.bytes.clear();

  if (packedBits) {
    std::string packed;
    if (t.has_raw_data())
      packed = t.raw_data();
    else
      for (int32_t v : t.int32_data()) // one packed byte per entry
        packed.push_back(static_cast<char>(v));
    int64_t want = (n * packedBits + 7) / 8;
    if (static_cast<int64_t>(packed.size()) != want)
      return fail("holds " + std::to_string(packed.size()) +
                  " packed bytes, expected " + std::to_string(want));
    tensor.bytes.resize(n);
    unpackElements(packed.data(), n, packedBits, tensor.bytes.data());
    return true;
  }
  if (t.has_raw_data() && (!t.raw_data().empty() || n == 0)) {
    if (static_cast<int64_t>(t.raw_data().size()) != n * esize)
      return fail("raw_data has " + std::to_string(t.raw_data().size()) +
                  " bytes, expected " + std::to_string(n * esize));
    tensor.bytes.assign(t.raw_data().begin(), t.raw_data().end());
    if (t.data_type() == ::onnx::TensorProto::BOOL)
      for (char &c : tensor.bytes)
        c = c != 0;
    return true;
  }
  if (n == 0)
    return true;

  auto count = [&](int64_t got, const char *field) {
    if (got == n)
      return true;
    return fail(std::string(field) + " holds " + std::to_string(got) +
                " values, expected " + std::to_string(n));
  };
  std::vector<char> &out = tensor.bytes;
  out.reserve(n * esize);
  switch (t.data_type()) {
  case ::onnx::TensorProto::FLOAT:
    if (!count(t.float_data_size(), "float_data"))
      return false;
    for (float f : t.float_data()) {
      uint32_t u;
      std::memcpy(&u, &f, 4);
      appendLE(out, u, 4);
    }
    return true;
  case ::onnx::TensorProto::DOUBLE:
    if (!count(t.double_data_size(), "double_data"))
      return false;
    for (double d : t.double_data()) {
      uint64_t u;
      std::memcpy(&u, &d, 8);
      appendLE(out, u, 8);
    }
    return true;
  case ::onnx::TensorProto::INT64:
    if (!count(t.int64_data_size(), "int64_data"))
      return false;
    for (int64_t v : t.int64_data())
      appendLE(out, static_cast<uint64_t>(v), 8);
    return true;
  case ::onnx::TensorProto::UINT32:
  case ::onnx::TensorProto::UINT64:
    if (!count(t.uint64_data_size(), "uint64_data"))
      return false;
    for (uint64_t v : t.uint64_data())
      appendLE(out, v, esize);
    return true;
  case ::onnx::TensorProto::BOOL:
    if (!count(t.int32_data_size(), "int32_data"))
      return false;
    for (int32_t v : t.int32_data())
      out.push_back(v != 0);
    return true;
  default:
    // INT32, INT16, INT8, UINT16, UINT8, FLOAT16, BFLOAT16: one element (or
    // its bit pattern) per int32_data entry.
    if (!count(t.int32_data_size(), "int32_data"))
      return false;
    for (int32_t v : t.int32_data())
      appendLE(out, static_cast<uint32_t>(v), esize);
    return true;
  }
}

namespace {
std::string normalizeDomain(const std::string &domain) {
  return domain == "ai.onnx" ? std::string() : domain;
}

void collectNodes(const ::onnx::GraphProto &graph, const std::string &path,
                  std::vector<NodeInfo> &nodes) {
  size_t first = nodes.size();
  for (auto [i, n] : llvm::enumerate(graph.node())) {
    NodeInfo info;
    info.domain = normalizeDomain(n.domain());
    info.opType = n.op_type();
    info.name =
        n.name().empty() ? n.op_type() + "_" + std::to_string(i) : n.name();
    info.inputs.assign(n.input().begin(), n.input().end());
    info.outputs.assign(n.output().begin(), n.output().end());
    info.graphPath = path;
    nodes.push_back(std::move(info));
  }
  // Subgraphs after the whole graph, so nodes[first..] stay in graph order.
  for (auto [i, n] : llvm::enumerate(graph.node())) {
    std::string prefix =
        (path.empty() ? "" : path + "/") + nodes[first + i].name + "/";
    for (const auto &attr : n.attribute()) {
      if (attr.has_g())
        collectNodes(attr.g(), prefix + attr.name(), nodes);
      for (auto [k, g] : llvm::enumerate(attr.graphs()))
        collectNodes(g, prefix + attr.name() + "[" + std::to_string(k) + "]",
                     nodes);
    }
  }
}
} // namespace

bool mlir::kiln::onnx::readModelInfo(llvm::StringRef path, ModelInfo &info,
                                     std::string &error) {
  std::string bytes;
  if (!readFile(path, bytes, error))
    return false;
  ::onnx::ModelProto model;
  if (!parse(bytes, model) || !model.has_graph()) {
    error = "cannot parse ONNX model '" + path.str() + "'";
    return false;
  }
  info = getModelInfo(model);
  return true;
}

ModelInfo mlir::kiln::onnx::getModelInfo(const ::onnx::ModelProto &model) {
  ModelInfo info;
  info.irVersion = model.ir_version();
  info.opset = getDefaultOpset(model);
  for (const auto &op : model.opset_import())
    info.opsets.emplace_back(normalizeDomain(op.domain()), op.version());
  const auto &graph = model.graph();
  llvm::StringSet<> inits;
  for (const auto &t : graph.initializer())
    inits.insert(t.name());
  for (const auto &in : graph.input()) {
    info.allInputs.push_back(in.name());
    if (!inits.contains(in.name()))
      info.inputs.push_back(in.name());
  }
  for (const auto &out : graph.output())
    info.outputs.push_back(out.name());
  collectNodes(graph, "", info.nodes);
  return info;
}

bool mlir::kiln::onnx::writeModelWithConstantInputs(
    llvm::StringRef path, llvm::StringRef outPath,
    const std::vector<TensorData> &values, std::string &error) {
  std::string bytes;
  if (!readFile(path, bytes, error))
    return false;
  ::onnx::ModelProto model;
  if (!parse(bytes, model) || !model.has_graph()) {
    error = "cannot parse ONNX model '" + path.str() + "'";
    return false;
  }
  ::onnx::GraphProto *graph = model.mutable_graph();
  for (const TensorData &value : values) {
    auto *inputs = graph->mutable_input();
    auto it = llvm::find_if(*inputs, [&](const ::onnx::ValueInfoProto &v) {
      return v.name() == value.name;
    });
    if (it == inputs->end()) {
      error = "the model has no graph input '" + value.name + "'";
      return false;
    }
    inputs->erase(it);
    ::onnx::TensorProto *t = graph->add_initializer();
    t->set_name(value.name);
    t->set_data_type(value.dataType);
    for (int64_t d : value.shape)
      t->add_dims(d);
    t->set_raw_data(value.bytes.data(), value.bytes.size());
  }
  std::string out;
  if (!model.SerializeToString(&out)) {
    error = "cannot serialize the model";
    return false;
  }
  std::error_code ec;
  llvm::raw_fd_ostream os(outPath, ec);
  if (ec) {
    error = "cannot write '" + outPath.str() + "': " + ec.message();
    return false;
  }
  os << out;
  return true;
}

std::vector<UnsupportedOp>
mlir::kiln::onnx::findUnsupportedOps(const ModelInfo &info) {
  std::vector<UnsupportedOp> result;
  llvm::StringMap<size_t> index;
  for (const NodeInfo &n : info.nodes) {
    std::string op = n.domain.empty() ? n.opType : n.domain + "." + n.opType;
    if (isSupportedOp(op))
      continue;
    auto [it, inserted] = index.try_emplace(op, result.size());
    if (inserted) {
      UnsupportedOp u;
      u.op = op;
      u.firstNode = n.graphPath.empty() ? n.name : n.graphPath + "/" + n.name;
      result.push_back(std::move(u));
    }
    ++result[it->second].count;
  }
  return result;
}
