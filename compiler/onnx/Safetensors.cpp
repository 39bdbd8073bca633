//===- Safetensors.cpp - read-only safetensors files ----------------------===//
//
// Part of kiln. See Safetensors.h.
//
//===----------------------------------------------------------------------===//

#include "compiler/onnx/Safetensors.h"

#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/JSON.h"

#include <limits>

using namespace mlir::kiln::onnx;

int64_t SafetensorsTensor::numElements() const {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

int64_t mlir::kiln::onnx::safetensorsDtypeSize(llvm::StringRef dtype) {
  return llvm::StringSwitch<int64_t>(dtype)
      .Cases({"BOOL", "U8", "I8"}, 1)
      .Cases({"F16", "BF16", "I16", "U16"}, 2)
      .Cases({"F32", "I32", "U32"}, 4)
      .Cases({"F64", "I64", "U64"}, 8)
      .Default(0);
}

namespace {

llvm::Error fail(llvm::StringRef path, const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                 path + ": " + message);
}

/// Reads one header entry into `t`, checking it against the data section of
/// `dataSize` bytes at `data`.
llvm::Error readEntry(llvm::StringRef path, llvm::StringRef name,
                      const llvm::json::Value &value, const char *data,
                      uint64_t dataSize, SafetensorsTensor &t) {
  auto bad = [&](const llvm::Twine &what) {
    return fail(path, "tensor '" + name + "': " + what);
  };
  const llvm::json::Object *entry = value.getAsObject();
  if (!entry)
    return bad("header entry is not an object");
  std::optional<llvm::StringRef> dtype = entry->getString("dtype");
  const llvm::json::Array *shape = entry->getArray("shape");
  const llvm::json::Array *offsets = entry->getArray("data_offsets");
  if (!dtype || !shape || !offsets)
    return bad("header entry needs dtype, shape and data_offsets");
  int64_t elementSize = safetensorsDtypeSize(*dtype);
  if (!elementSize)
    return bad("dtype " + *dtype + " is not supported");
  t.dtype = dtype->str();
  uint64_t elements = 1;
  for (const llvm::json::Value &d : *shape) {
    std::optional<int64_t> v = d.getAsInteger();
    if (!v || *v < 0)
      return bad("shape holds a value that is not a non-negative integer");
    if (*v && elements > std::numeric_limits<int64_t>::max() / uint64_t(*v))
      return bad("shape overflows");
    elements *= uint64_t(*v);
    t.shape.push_back(*v);
  }
  std::optional<int64_t> begin, end;
  if (offsets->size() == 2) {
    begin = (*offsets)[0].getAsInteger();
    end = (*offsets)[1].getAsInteger();
  }
  if (!begin || !end || *begin < 0 || *end < *begin ||
      uint64_t(*end) > dataSize)
    return bad("data_offsets must be [begin, end] within the " +
               llvm::Twine(dataSize) + "-byte data section");
  if (uint64_t(*end - *begin) != elements * uint64_t(elementSize))
    return bad("data_offsets span " + llvm::Twine(*end - *begin) +
               " bytes; dtype " + *dtype + " and its shape need " +
               llvm::Twine(elements * uint64_t(elementSize)));
  t.bytes = llvm::StringRef(data + *begin, *end - *begin);
  return llvm::Error::success();
}

} // namespace

llvm::Expected<SafetensorsFile>
SafetensorsFile::open(llvm::StringRef path) {
  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> buffer =
      llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                  /*RequiresNullTerminator=*/false);
  if (!buffer)
    return fail(path, "cannot open: " + buffer.getError().message());
  SafetensorsFile file;
  file.filePath = path.str();
  file.buffer = std::move(*buffer);
  llvm::StringRef contents = file.buffer->getBuffer();
  if (contents.size() < 8)
    return fail(path, "too short for a safetensors file (" +
                          llvm::Twine(contents.size()) + " bytes)");
  uint64_t headerSize = 0;
  for (int i = 7; i >= 0; --i)
    headerSize = (headerSize << 8) | uint8_t(contents[i]);
  if (headerSize > contents.size() - 8)
    return fail(path, "header length " + llvm::Twine(headerSize) +
                          " runs past the end of the file (" +
                          llvm::Twine(contents.size()) +
                          " bytes): not a safetensors file, or truncated");
  llvm::Expected<llvm::json::Value> header =
      llvm::json::parse(contents.substr(8, headerSize));
  if (!header)
    return fail(path, "header is not JSON: " + toString(header.takeError()));
  const llvm::json::Object *entries = header->getAsObject();
  if (!entries)
    return fail(path, "header is not a JSON object");
  const char *data = contents.data() + 8 + headerSize;
  uint64_t dataSize = contents.size() - 8 - headerSize;
  for (const auto &[key, value] : *entries) {
    if (key == "__metadata__")
      continue;
    SafetensorsTensor t;
    if (llvm::Error e = readEntry(path, key, value, data, dataSize, t))
      return e;
    file.tensorsByName[key] = std::move(t);
  }
  return file;
}
