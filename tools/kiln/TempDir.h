//===- TempDir.h - a temporary folder removed with its scope ------*- C++ -*-===//
//
// Part of kiln. For the driver's internal compiles (--report's L-Mul
// latency, --calibration), whose artifacts must not outlive the command.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_TOOLS_KILN_TEMPDIR_H
#define KILN_TOOLS_KILN_TEMPDIR_H

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include <string>

namespace kiln {

class TempDir {
public:
  /// Creates a unique folder named after `prefix`; on failure sets `error`
  /// and leaves path() empty.
  TempDir(llvm::StringRef prefix, std::string &error) {
    if (std::error_code ec =
            llvm::sys::fs::createUniqueDirectory(prefix, folder)) {
      error = "cannot create a temporary folder: " + ec.message();
      folder.clear();
    }
  }
  ~TempDir() {
    if (!folder.empty())
      llvm::sys::fs::remove_directories(folder);
  }
  TempDir(const TempDir &) = delete;
  TempDir &operator=(const TempDir &) = delete;

  llvm::StringRef path() const { return folder; }

private:
  llvm::SmallString<128> folder;
};

} // namespace kiln

#endif // KILN_TOOLS_KILN_TEMPDIR_H
