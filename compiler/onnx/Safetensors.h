//===- Safetensors.h - read-only safetensors files ----------------*- C++
//-*-===//
//
// Part of kiln. A `.safetensors` file (the format HuggingFace checkpoints,
// GPTQ and AWQ included, ship in): an 8-byte little-endian header length, a
// JSON header mapping each tensor name to its dtype, shape and byte range,
// then the tensors' raw little-endian bytes. The file is memory-mapped;
// tensors point into it. Every size and offset is checked against the file,
// so a truncated or malformed file is an error, never a bad read.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_COMPILER_ONNX_SAFETENSORS_H
#define KILN_COMPILER_ONNX_SAFETENSORS_H

#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/MemoryBuffer.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace mlir::kiln::onnx {

/// One tensor of a safetensors file: its dtype as the header spells it
/// ("F16", "BF16", "F32", "F64", "I8", "U8", "I16", "I32", "I64", "BOOL"),
/// its shape, and its bytes inside the mapped file.
struct SafetensorsTensor {
  std::string dtype;
  std::vector<int64_t> shape;
  llvm::StringRef bytes;

  int64_t numElements() const;
};

/// Bytes per element of a safetensors dtype, 0 for one kiln does not read.
int64_t safetensorsDtypeSize(llvm::StringRef dtype);

/// An open safetensors file. Tensor bytes stay valid while it lives.
class SafetensorsFile {
public:
  /// Maps `path` and parses its header. Errors name the file and what is
  /// wrong with it.
  static llvm::Expected<SafetensorsFile> open(llvm::StringRef path);

  const llvm::StringMap<SafetensorsTensor> &tensors() const {
    return tensorsByName;
  }
  const std::string &path() const { return filePath; }

private:
  std::string filePath;
  std::unique_ptr<llvm::MemoryBuffer> buffer;
  llvm::StringMap<SafetensorsTensor> tensorsByName;
};

} // namespace mlir::kiln::onnx

#endif // KILN_COMPILER_ONNX_SAFETENSORS_H
