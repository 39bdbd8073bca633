//===- Npy.cpp - read and write NumPy .npy files --------------------------===//
//
// Part of kiln.
//
//===----------------------------------------------------------------------===//

#include "tools/kiln/Npy.h"

#include "kiln/runtime.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"

using namespace kiln;

std::string kiln::shapeToString(llvm::ArrayRef<int64_t> shape) {
  std::string s;
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? "x" : "") + std::to_string(shape[i]);
  return s.empty() ? "scalar" : s;
}

namespace {
struct Descr {
  const char *descr;
  int32_t dtype;
};
// Byte order '|' or '<' (or '=' on this little-endian host).
constexpr Descr kDescrs[] = {
    {"f4", KILN_DTYPE_F32}, {"f8", KILN_DTYPE_F64}, {"f2", KILN_DTYPE_F16},
    {"i1", KILN_DTYPE_I8},  {"i2", KILN_DTYPE_I16}, {"i4", KILN_DTYPE_I32},
    {"i8", KILN_DTYPE_I64}, {"u1", KILN_DTYPE_U8},  {"b1", KILN_DTYPE_BOOL},
    {"u2", KILN_DTYPE_U16}, {"u4", KILN_DTYPE_U32}, {"u8", KILN_DTYPE_U64},
};

/// Value of `key` in the header's Python dict literal, e.g. 'descr'.
llvm::StringRef dictValue(llvm::StringRef header, llvm::StringRef key) {
  std::string quoted = "'" + key.str() + "'";
  size_t pos = header.find(quoted);
  if (pos == llvm::StringRef::npos)
    return {};
  llvm::StringRef rest = header.drop_front(pos + quoted.size()).ltrim();
  if (!rest.consume_front(":"))
    return {};
  rest = rest.ltrim();
  if (rest.starts_with("(")) // shape tuple
    return rest.take_until([](char c) { return c == ')'; }).drop_front();
  if (rest.starts_with("'"))
    return rest.drop_front().take_until([](char c) { return c == '\''; });
  return rest.take_until([](char c) { return c == ',' || c == '}'; }).trim();
}
} // namespace

bool kiln::readNpy(llvm::StringRef path, NpyArray &array, std::string &error) {
  auto file = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                          /*RequiresNullTerminator=*/false);
  if (!file) {
    error = "cannot open '" + path.str() + "': " + file.getError().message();
    return false;
  }
  llvm::StringRef bytes = (*file)->getBuffer();
  auto bad = [&](const std::string &why) {
    error = "'" + path.str() + "' is not a valid .npy file: " + why;
    return false;
  };
  if (bytes.size() < 10 || !bytes.starts_with("\x93NUMPY"))
    return bad("missing the \\x93NUMPY magic");
  uint8_t major = bytes[6];
  size_t headerLen, headerStart;
  if (major == 1) {
    headerLen = uint8_t(bytes[8]) | (uint8_t(bytes[9]) << 8);
    headerStart = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12)
      return bad("truncated header");
    headerLen = uint32_t(uint8_t(bytes[8])) | uint32_t(uint8_t(bytes[9])) << 8 |
                uint32_t(uint8_t(bytes[10])) << 16 |
                uint32_t(uint8_t(bytes[11])) << 24;
    headerStart = 12;
  } else {
    return bad("unsupported version " + std::to_string(major));
  }
  if (headerStart + headerLen > bytes.size())
    return bad("truncated header");
  llvm::StringRef header = bytes.substr(headerStart, headerLen);

  llvm::StringRef descr = dictValue(header, "descr");
  if (dictValue(header, "fortran_order") != "False")
    return bad("only C-order arrays are supported");
  if (descr.size() != 3 || descr[0] == '>')
    return bad("unsupported dtype '" + descr.str() +
               "' (little-endian f2/f4/f8/i1/i2/i4/i8/u1/b1 only)");
  array.dtype = 0;
  for (const Descr &d : kDescrs)
    if (descr.drop_front() == d.descr)
      array.dtype = d.dtype;
  if (!array.dtype)
    return bad("unsupported dtype '" + descr.str() + "'");

  array.shape.clear();
  llvm::SmallVector<llvm::StringRef> dims;
  dictValue(header, "shape").split(dims, ',', -1, /*KeepEmpty=*/false);
  uint64_t count = 1;
  for (llvm::StringRef d : dims) {
    uint64_t v;
    if (d.trim().getAsInteger(10, v))
      return bad("malformed shape");
    if (v != 0 && count > (uint64_t(1) << 40) / v)
      return bad("shape too large");
    array.shape.push_back(static_cast<int64_t>(v));
    count *= v;
  }
  uint64_t elementSize = kiln_dtype_size(static_cast<kiln_dtype>(array.dtype));
  uint64_t dataBytes = count * elementSize;
  llvm::StringRef data = bytes.drop_front(headerStart + headerLen);
  if (data.size() != dataBytes)
    return bad("expected " + std::to_string(dataBytes) + " data bytes for " +
               shapeToString(array.shape) + ", found " +
               std::to_string(data.size()));
  array.data.assign(data.begin(), data.end());
  return true;
}

bool kiln::writeNpy(llvm::StringRef path, int32_t dtype,
                    llvm::ArrayRef<int64_t> shape, const void *data,
                    std::string &error) {
  const char *descr = nullptr;
  for (const Descr &d : kDescrs)
    if (d.dtype == dtype)
      descr = d.descr;
  if (!descr) {
    error = "cannot write dtype " + std::to_string(dtype) + " as .npy";
    return false;
  }
  std::string order =
      dtype == KILN_DTYPE_I8 || dtype == KILN_DTYPE_U8 || dtype == KILN_DTYPE_BOOL
          ? "|"
          : "<";
  std::string dict = "{'descr': '" + order + descr +
                     "', 'fortran_order': False, 'shape': (";
  for (int64_t d : shape)
    dict += std::to_string(d) + ", ";
  if (!shape.empty())
    dict.erase(dict.size() - 1); // "(2, 3,)" and "(4,)": valid tuples
  dict += "), }";
  // Pad with spaces so the data starts 64-byte aligned; end with '\n'.
  size_t total = 10 + dict.size() + 1;
  dict.append((64 - total % 64) % 64, ' ');
  dict += '\n';

  std::error_code ec;
  llvm::ToolOutputFile out(path, ec, llvm::sys::fs::OF_None);
  if (ec) {
    error = "cannot write '" + path.str() + "': " + ec.message();
    return false;
  }
  out.os() << "\x93NUMPY" << char(1) << char(0) << char(dict.size() & 0xff)
           << char(dict.size() >> 8) << dict;
  uint64_t count = 1;
  for (int64_t d : shape)
    count *= d;
  out.os().write(static_cast<const char *>(data),
                 count * kiln_dtype_size(static_cast<kiln_dtype>(dtype)));
  out.os().flush();
  if (out.os().has_error()) {
    error = "cannot write '" + path.str() + "': " + out.os().error().message();
    return false;
  }
  out.keep();
  return true;
}
