//===- Npy.h - read and write NumPy .npy files --------------------*- C++ -*-===//
//
// Part of kiln. The array format `kiln run` takes inputs in and writes
// outputs to (versions 1.0-3.0, little-endian, C order).
//
//===----------------------------------------------------------------------===//

#ifndef KILN_TOOLS_KILN_NPY_H
#define KILN_TOOLS_KILN_NPY_H

#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"
#include <cstdint>
#include <string>
#include <vector>

namespace kiln {

struct NpyArray {
  int32_t dtype = 0; // kiln_dtype
  llvm::SmallVector<int64_t> shape;
  std::vector<char> data; // dense, row-major
};

/// Reads `path`; on failure returns false and sets `error`.
bool readNpy(llvm::StringRef path, NpyArray &array, std::string &error);

/// Writes `data` (dense, row-major) as `path`.
bool writeNpy(llvm::StringRef path, int32_t dtype,
              llvm::ArrayRef<int64_t> shape, const void *data,
              std::string &error);

/// "1x3x224x224" ("scalar" for rank 0).
std::string shapeToString(llvm::ArrayRef<int64_t> shape);

} // namespace kiln

#endif // KILN_TOOLS_KILN_NPY_H
