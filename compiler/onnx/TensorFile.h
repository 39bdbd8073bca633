//===- TensorFile.h - ONNX tensor files and model signatures -----*- C++
//-*-===//
//
// Part of kiln. What tools that feed or check compiled models need from an
// ONNX file without importing it: a serialized TensorProto (the
// `input_0.pb` / `output_0.pb` files of the ONNX backend tests) decoded to
// dense bytes, and a model's signature (graph inputs and outputs, opsets,
// nodes). No MLIR context needed; errors come back as strings.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_COMPILER_ONNX_TENSORFILE_H
#define KILN_COMPILER_ONNX_TENSORFILE_H

#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <string>
#include <vector>

namespace onnx {
class ModelProto;
} // namespace onnx

namespace mlir::kiln::onnx {

/// A decoded TensorProto: dense, row-major, little-endian elements.
/// Booleans are one byte (0 or 1); float16/bfloat16 are their 16-bit
/// patterns.
struct TensorData {
  std::string name;
  /// The ONNX data type (TensorProto::DataType: 1 float, 7 int64, ...).
  int32_t dataType = 0;
  llvm::SmallVector<int64_t> shape;
  std::vector<char> bytes;

  int64_t numElements() const;
};

/// Reads a file holding one serialized TensorProto. Handles raw_data and
/// the typed fields (float_data, int32_data, ...) for every data type kiln
/// knows (see `tensorDataTypeByteSize`). Fails with `error` set for other
/// data types (string, float8, 4-bit), segments, external data, and for a
/// file that is not a TensorProto (a SequenceProto or OptionalProto reads as
/// one with no data type).
bool readTensorFile(llvm::StringRef path, TensorData &tensor,
                    std::string &error);

/// Bytes per element of an ONNX data type whose TensorProto can be decoded
/// to dense bytes, 0 for the others.
int64_t tensorDataTypeByteSize(int32_t dataType);

/// "float", "int64", "bfloat16", ... (lower case, as in onnx.proto).
std::string tensorDataTypeName(int32_t dataType);

/// One node of a graph (subgraphs of If/Loop/Scan are listed after their
/// parent, with `graphPath` naming where they are).
struct NodeInfo {
  std::string domain; // "" for the default domain (also for "ai.onnx")
  std::string opType;
  /// The node's name, or "<OpType>_<index>" when it has none.
  std::string name;
  std::vector<std::string> inputs, outputs;
  /// "" for the main graph, else "<parent node>/<attribute>" (nested).
  std::string graphPath;
};

/// A model's interface and nodes.
struct ModelInfo {
  int64_t irVersion = 0;
  /// Default-domain opset, -1 when the model imports none.
  int64_t opset = -1;
  /// (domain, version) of every opset import.
  std::vector<std::pair<std::string, int64_t>> opsets;
  /// Graph inputs that are not initializers, in graph order.
  std::vector<std::string> inputs;
  /// Every graph input, initializers included, in graph order (the backend
  /// tests' input_<i>.pb files follow this order).
  std::vector<std::string> allInputs;
  std::vector<std::string> outputs;
  /// All nodes: the main graph's in order, then nested subgraphs'.
  std::vector<NodeInfo> nodes;
};

/// Reads `path`'s signature and nodes (external data is not touched).
bool readModelInfo(llvm::StringRef path, ModelInfo &info, std::string &error);
/// The same for a model already parsed.
ModelInfo getModelInfo(const ::onnx::ModelProto &model);

/// Writes a copy of the model at `path` to `outPath` in which every graph
/// input named by a tensor of `values` is an initializer holding that
/// tensor (for compilers that need, say, a Reshape's shape at compile time,
/// this specializes the model to those values). External data paths stay
/// relative, so the copy belongs next to the original unless it has none.
bool writeModelWithConstantInputs(llvm::StringRef path, llvm::StringRef outPath,
                                  const std::vector<TensorData> &values,
                                  std::string &error);

/// An op type the importer has no handler for.
struct UnsupportedOp {
  /// The op type, prefixed by its domain outside the default one
  /// ("ai.onnx.ml.LabelEncoder").
  std::string op;
  int64_t count = 0;
  /// Name of the first node with this op (with its subgraph path if nested).
  std::string firstNode;
};

/// The ops of `info.nodes` the importer does not support, in order of first
/// appearance, each with its node count and first node.
std::vector<UnsupportedOp> findUnsupportedOps(const ModelInfo &info);

} // namespace mlir::kiln::onnx

#endif // KILN_COMPILER_ONNX_TENSORFILE_H
