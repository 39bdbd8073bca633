//===- OnnxModel.cpp - ONNX protobuf loading and tensor decoding ----------===//
//
// Part of kiln. Reads ONNX protobuf files (with a raised size limit for big
// models), maps ONNX data types to MLIR types, and decodes TensorProtos in
// every storage form (raw_data, typed fields, external data) into kiln
// constants: `dense<...>` for small tensors, 64-byte aligned
// `dense_resource` blobs for weights.
//
//===----------------------------------------------------------------------===//

#include "compiler/onnx/ImporterInternal.h"

#include "onnx.pb.h"

#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/ADT/APFloat.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace mlir;
using namespace mlir::kiln::onnx;

//===----------------------------------------------------------------------===//
// Data types
//===----------------------------------------------------------------------===//

Type mlir::kiln::onnx::getElementType(MLIRContext *ctx, int32_t onnxType) {
  Builder b(ctx);
  switch (onnxType) {
  case ::onnx::TensorProto::FLOAT:
    return b.getF32Type();
  case ::onnx::TensorProto::DOUBLE:
    return b.getF64Type();
  case ::onnx::TensorProto::FLOAT16:
    return b.getF16Type();
  case ::onnx::TensorProto::BFLOAT16:
    return b.getBF16Type();
  case ::onnx::TensorProto::BOOL:
    return b.getI1Type();
  case ::onnx::TensorProto::INT8:
    return b.getIntegerType(8);
  case ::onnx::TensorProto::INT16:
    return b.getIntegerType(16);
  case ::onnx::TensorProto::INT32:
    return b.getIntegerType(32);
  case ::onnx::TensorProto::INT64:
    return b.getIntegerType(64);
  case ::onnx::TensorProto::UINT8:
    return b.getIntegerType(8, /*isSigned=*/false);
  case ::onnx::TensorProto::UINT16:
    return b.getIntegerType(16, /*isSigned=*/false);
  case ::onnx::TensorProto::UINT32:
    return b.getIntegerType(32, /*isSigned=*/false);
  case ::onnx::TensorProto::UINT64:
    return b.getIntegerType(64, /*isSigned=*/false);
  case ::onnx::TensorProto::FLOAT8E4M3FN:
    return b.getType<Float8E4M3FNType>();
  case ::onnx::TensorProto::FLOAT8E4M3FNUZ:
    return b.getType<Float8E4M3FNUZType>();
  case ::onnx::TensorProto::FLOAT8E5M2:
    return b.getType<Float8E5M2Type>();
  case ::onnx::TensorProto::FLOAT8E5M2FNUZ:
    return b.getType<Float8E5M2FNUZType>();
  case ::onnx::TensorProto::FLOAT4E2M1:
    return b.getType<Float4E2M1FNType>();
  case ::onnx::TensorProto::FLOAT8E8M0:
    return b.getType<Float8E8M0FNUType>();
  case ::onnx::TensorProto::INT4:
    return b.getIntegerType(4);
  case ::onnx::TensorProto::UINT4:
    return b.getIntegerType(4, /*isSigned=*/false);
  case ::onnx::TensorProto::INT2:
    return b.getIntegerType(2);
  case ::onnx::TensorProto::UINT2:
    return b.getIntegerType(2, /*isSigned=*/false);
  default:
    return nullptr;
  }
}

std::string mlir::kiln::onnx::dataTypeName(int32_t onnxType) {
  if (::onnx::TensorProto_DataType_IsValid(onnxType)) {
    std::string name = ::onnx::TensorProto_DataType_Name(
        static_cast<::onnx::TensorProto_DataType>(onnxType));
    return llvm::StringRef(name).lower();
  }
  return "data type " + std::to_string(onnxType);
}

int64_t mlir::kiln::onnx::elementByteSize(int32_t onnxType) {
  switch (onnxType) {
  case ::onnx::TensorProto::DOUBLE:
  case ::onnx::TensorProto::INT64:
  case ::onnx::TensorProto::UINT64:
    return 8;
  case ::onnx::TensorProto::FLOAT:
  case ::onnx::TensorProto::INT32:
  case ::onnx::TensorProto::UINT32:
    return 4;
  case ::onnx::TensorProto::FLOAT16:
  case ::onnx::TensorProto::BFLOAT16:
  case ::onnx::TensorProto::INT16:
  case ::onnx::TensorProto::UINT16:
    return 2;
  case ::onnx::TensorProto::BOOL:
  case ::onnx::TensorProto::INT8:
  case ::onnx::TensorProto::UINT8:
  case ::onnx::TensorProto::FLOAT8E4M3FN:
  case ::onnx::TensorProto::FLOAT8E4M3FNUZ:
  case ::onnx::TensorProto::FLOAT8E5M2:
  case ::onnx::TensorProto::FLOAT8E5M2FNUZ:
  case ::onnx::TensorProto::FLOAT8E8M0:
    return 1;
  default:
    return 0;
  }
}

int64_t mlir::kiln::onnx::packedElementBits(int32_t onnxType) {
  switch (onnxType) {
  case ::onnx::TensorProto::INT4:
  case ::onnx::TensorProto::UINT4:
  case ::onnx::TensorProto::FLOAT4E2M1:
    return 4;
  case ::onnx::TensorProto::INT2:
  case ::onnx::TensorProto::UINT2:
    return 2;
  default:
    return 0;
  }
}

void mlir::kiln::onnx::unpackElements(const char *packed, int64_t n,
                                      int64_t bits, char *out) {
  int64_t perByte = 8 / bits;
  uint8_t mask = static_cast<uint8_t>((1u << bits) - 1);
  for (int64_t i = 0; i < n; ++i) {
    uint8_t byte = static_cast<uint8_t>(packed[i / perByte]);
    out[i] = static_cast<char>((byte >> (bits * (i % perByte))) & mask);
  }
}

std::string mlir::kiln::onnx::shapeText(ArrayRef<int64_t> shape) {
  if (shape.empty())
    return "scalar";
  std::string s;
  for (auto [i, d] : llvm::enumerate(shape))
    s += (i ? "x" : "") + std::to_string(d);
  return s;
}

/// The most elements a tensor may have: larger ones are refused.
static constexpr int64_t kMaxElements = int64_t(1) << 40;

std::optional<int64_t>
mlir::kiln::onnx::checkedNumElements(ArrayRef<int64_t> shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0)
      return std::nullopt;
    if (d != 0 && n > kMaxElements / d)
      return std::nullopt;
    n *= d;
  }
  return n;
}

std::string mlir::kiln::onnx::sanitizeBlobName(StringRef name) {
  std::string s;
  for (char c : name)
    s += (llvm::isAlnum(c) || c == '_' || c == '.') ? c : '_';
  if (s.empty() || llvm::isDigit(s[0]) || s[0] == '.')
    s = "_" + s;
  return s;
}

double mlir::kiln::onnx::roundToFloatType(Type elt, double v) {
  if (elt.isF64())
    return v;
  if (elt.isF32())
    return static_cast<double>(static_cast<float>(v));
  auto ft = dyn_cast<FloatType>(elt);
  if (!ft)
    return v;
  llvm::APFloat f(v);
  bool lost = false;
  f.convert(ft.getFloatSemantics(), llvm::APFloat::rmNearestTiesToEven, &lost);
  f.convert(llvm::APFloat::IEEEdouble(), llvm::APFloat::rmNearestTiesToEven,
            &lost);
  return f.convertToDouble();
}

int64_t mlir::kiln::onnx::wrapToIntType(Type elt, int64_t v) {
  auto it = dyn_cast<IntegerType>(elt);
  if (!it)
    return v;
  unsigned w = it.getWidth();
  if (w == 1)
    return v != 0;
  if (w >= 64)
    return v;
  uint64_t mask = (uint64_t(1) << w) - 1;
  uint64_t u = static_cast<uint64_t>(v) & mask;
  if (it.isUnsigned())
    return static_cast<int64_t>(u);
  if (u & (uint64_t(1) << (w - 1)))
    u |= ~mask;
  return static_cast<int64_t>(u);
}

//===----------------------------------------------------------------------===//
// Loading
//===----------------------------------------------------------------------===//

LogicalResult mlir::kiln::onnx::loadModelProto(MLIRContext &ctx, StringRef path,
                                               Location loc,
                                               ::onnx::ModelProto &model) {
  std::string p = path.str();
  int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return emitError(loc) << "cannot open '" << path
                          << "': " << std::strerror(errno);
  struct stat st;
  if (::fstat(fd, &st) != 0 || S_ISDIR(st.st_mode)) {
    int err = S_ISDIR(st.st_mode) ? EISDIR : errno;
    ::close(fd);
    return emitError(loc) << "cannot open '" << path
                          << "': " << std::strerror(err);
  }
  if (st.st_size > INT_MAX) {
    ::close(fd);
    return emitError(loc) << "cannot parse ONNX model '" << path
                          << "': file is larger than 2 GB (protobuf limit)";
  }
  bool parsed;
  int readErrno;
  {
    google::protobuf::io::FileInputStream fileStream(fd);
    fileStream.SetCloseOnDelete(true);
    google::protobuf::io::CodedInputStream coded(&fileStream);
    coded.SetTotalBytesLimit(INT_MAX);
    parsed =
        model.ParseFromCodedStream(&coded) && coded.ConsumedEntireMessage();
    readErrno = fileStream.GetErrno();
  }
  if (readErrno != 0)
    return emitError(loc) << "cannot read '" << path
                          << "': " << std::strerror(readErrno);
  if (!parsed)
    return emitError(loc) << "cannot parse ONNX model '" << path
                          << "': invalid or truncated protobuf data";
  if (st.st_size == 0)
    return emitError(loc) << "cannot parse ONNX model '" << path
                          << "': the file is empty";
  if (!model.has_graph())
    return emitError(loc) << "cannot parse ONNX model '" << path
                          << "': it has no graph";
  if (model.ir_version() <= 0)
    return emitError(loc) << "cannot parse ONNX model '" << path
                          << "': missing ir_version";
  return success();
}

int64_t mlir::kiln::onnx::getDefaultOpset(const ::onnx::ModelProto &model) {
  for (const auto &op : model.opset_import())
    if (op.domain().empty() || op.domain() == "ai.onnx")
      return op.version();
  return -1;
}

//===----------------------------------------------------------------------===//
// Tensors
//===----------------------------------------------------------------------===//

namespace {
/// Little-endian element `i` of `bytes` as int64 (sign- or zero-extended).
int64_t readInt(const char *bytes, int64_t i, unsigned width, bool isUnsigned) {
  if (width < 8) {
    // Sub-byte elements: one per byte, in the low bits.
    uint8_t u = static_cast<uint8_t>(bytes[i]) & ((1u << width) - 1);
    if (!isUnsigned && (u >> (width - 1)))
      return int64_t(u) - (int64_t(1) << width);
    return u;
  }
  const char *p = bytes + i * (width / 8);
  switch (width) {
  case 8: {
    uint8_t u;
    std::memcpy(&u, p, 1);
    return isUnsigned ? int64_t(u) : int64_t(int8_t(u));
  }
  case 16: {
    uint16_t u;
    std::memcpy(&u, p, 2);
    return isUnsigned ? int64_t(u) : int64_t(int16_t(u));
  }
  case 32: {
    uint32_t u;
    std::memcpy(&u, p, 4);
    return isUnsigned ? int64_t(u) : int64_t(int32_t(u));
  }
  default: {
    int64_t v;
    std::memcpy(&v, p, 8);
    return v;
  }
  }
}

/// Decodes `n` elements of type `elt` from little-endian `bytes`.
Contents decodeContents(Type elt, const char *bytes, int64_t n) {
  Contents c;
  if (auto ft = dyn_cast<FloatType>(elt)) {
    c.floats.resize(n);
    if (elt.isF32()) {
      for (int64_t i = 0; i < n; ++i) {
        float f;
        std::memcpy(&f, bytes + 4 * i, 4);
        c.floats[i] = f;
      }
    } else if (elt.isF64()) {
      std::memcpy(c.floats.data(), bytes, 8 * n);
    } else {
      unsigned w = ft.getWidth();
      for (int64_t i = 0; i < n; ++i) {
        uint64_t bits = static_cast<uint64_t>(readInt(bytes, i, w, true));
        if (w < 64)
          bits &= (uint64_t(1) << w) - 1;
        llvm::APFloat f(ft.getFloatSemantics(), llvm::APInt(w, bits));
        bool lost = false;
        f.convert(llvm::APFloat::IEEEdouble(),
                  llvm::APFloat::rmNearestTiesToEven, &lost);
        c.floats[i] = f.convertToDouble();
      }
    }
    return c;
  }
  auto it = cast<IntegerType>(elt);
  c.ints.resize(n);
  if (it.getWidth() == 1) {
    for (int64_t i = 0; i < n; ++i)
      c.ints[i] = bytes[i] != 0;
    return c;
  }
  for (int64_t i = 0; i < n; ++i)
    c.ints[i] = readInt(bytes, i, it.getWidth(), it.isUnsigned());
  return c;
}

/// Appends the low `size` bytes of `v`, little-endian.
void appendLE(std::vector<char> &out, uint64_t v, int64_t size) {
  for (int64_t k = 0; k < size; ++k)
    out.push_back(static_cast<char>((v >> (8 * k)) & 0xff));
}

/// Encodes contents as the little-endian raw buffer of `elt`.
std::vector<char> encodeContents(Type elt, const Contents &c, int64_t n) {
  std::vector<char> out;
  if (auto ft = dyn_cast<FloatType>(elt)) {
    out.reserve(n * ft.getWidth() / 8);
    for (int64_t i = 0; i < n; ++i) {
      double v = c.floats[i];
      if (elt.isF32()) {
        float f = static_cast<float>(v);
        uint32_t u;
        std::memcpy(&u, &f, 4);
        appendLE(out, u, 4);
      } else if (elt.isF64()) {
        uint64_t u;
        std::memcpy(&u, &v, 8);
        appendLE(out, u, 8);
      } else {
        llvm::APFloat f(v);
        bool lost = false;
        f.convert(ft.getFloatSemantics(), llvm::APFloat::rmNearestTiesToEven,
                  &lost);
        appendLE(out, f.bitcastToAPInt().getZExtValue(),
                 std::max(1u, ft.getWidth() / 8));
      }
    }
    return out;
  }
  unsigned w = cast<IntegerType>(elt).getWidth();
  int64_t size = w < 8 ? 1 : w / 8;
  out.reserve(n * size);
  for (int64_t i = 0; i < n; ++i)
    appendLE(out, static_cast<uint64_t>(c.ints[i]), size);
  return out;
}

Attribute elementAttr(Type elt, const Contents &c, int64_t i) {
  if (isa<FloatType>(elt))
    return FloatAttr::get(elt, c.floats[i]);
  auto it = cast<IntegerType>(elt);
  return IntegerAttr::get(
      elt, llvm::APInt(it.getWidth(), static_cast<uint64_t>(c.ints[i]),
                       /*isSigned=*/!it.isUnsigned() && it.getWidth() > 1,
                       /*implicitTrunc=*/true));
}
} // namespace

ElementsAttr mlir::kiln::onnx::contentsToAttr(RankedTensorType type,
                                              const Contents &c,
                                              StringRef nameHint) {
  Type elt = type.getElementType();
  bool isFloat = isa<FloatType>(elt);
  int64_t n = type.getNumElements();
  if (n == 0)
    return cast<ElementsAttr>(
        DenseElementsAttr::get(type, ArrayRef<Attribute>{}));
  bool splat = isFloat ? llvm::all_equal(c.floats) : llvm::all_equal(c.ints);
  if (splat && isFloat) {
    // all_equal treats -0.0 == 0.0 and NaN != NaN; compare bits instead.
    uint64_t first;
    std::memcpy(&first, &c.floats[0], 8);
    for (double v : c.floats) {
      uint64_t bits;
      std::memcpy(&bits, &v, 8);
      if (bits != first) {
        splat = false;
        break;
      }
    }
  }
  if (splat)
    return cast<ElementsAttr>(
        DenseElementsAttr::get(type, elementAttr(elt, c, 0)));
  if (n <= kInlineElements || elt.isInteger(1)) {
    if (elt.isInteger(1)) {
      SmallVector<bool> bits(c.ints.begin(), c.ints.end());
      return cast<ElementsAttr>(
          DenseElementsAttr::get(type, ArrayRef<bool>(bits)));
    }
    SmallVector<Attribute> attrs;
    attrs.reserve(n);
    for (int64_t i = 0; i < n; ++i)
      attrs.push_back(elementAttr(elt, c, i));
    return cast<ElementsAttr>(DenseElementsAttr::get(type, attrs));
  }
  std::vector<char> bytes = encodeContents(elt, c, n);
  AsmResourceBlob blob =
      HeapAsmResourceBlob::allocateAndCopyWithAlign(bytes, /*align=*/64);
  return DenseResourceElementsAttr::get(type, sanitizeBlobName(nameHint),
                                        std::move(blob));
}

std::optional<Contents> mlir::kiln::onnx::readContents(const TV &v) {
  if (v.data)
    return *v.data;
  if (!v.attr || !v.type)
    return std::nullopt;
  Type elt = v.elementType();
  int64_t n = v.type.getNumElements();
  if (auto res = dyn_cast<DenseResourceElementsAttr>(v.attr)) {
    // Blobs hold one element per byte for the packed sub-byte types (the
    // decoder unpacks them) and little-endian elements otherwise.
    AsmResourceBlob *blob = res.getRawHandle().getBlob();
    if (!blob)
      return std::nullopt;
    unsigned w = isa<FloatType>(elt) ? cast<FloatType>(elt).getWidth()
                                     : cast<IntegerType>(elt).getWidth();
    int64_t esize = w < 8 ? 1 : w / 8;
    if (static_cast<int64_t>(blob->getData().size()) != n * esize)
      return std::nullopt;
    return decodeContents(elt, blob->getData().data(), n);
  }
  auto dense = dyn_cast<DenseElementsAttr>(v.attr);
  if (!dense)
    return std::nullopt;
  Contents c;
  if (isa<FloatType>(elt)) {
    c.floats.reserve(n);
    for (const llvm::APFloat &f : dense.getValues<llvm::APFloat>()) {
      llvm::APFloat d = f;
      bool lost = false;
      d.convert(llvm::APFloat::IEEEdouble(), llvm::APFloat::rmNearestTiesToEven,
                &lost);
      c.floats.push_back(d.convertToDouble());
    }
    return c;
  }
  auto it = cast<IntegerType>(elt);
  c.ints.reserve(n);
  for (const llvm::APInt &i : dense.getValues<llvm::APInt>())
    c.ints.push_back(it.getWidth() == 1 || it.isUnsigned()
                         ? static_cast<int64_t>(i.getZExtValue())
                         : i.getSExtValue());
  return c;
}

namespace {
/// Reads `length` bytes at `offset` of the external data file into `dst`.
LogicalResult readExternal(const ::onnx::TensorProto &t, StringRef modelDir,
                           int64_t nbytes, Location loc, StringRef what,
                           const std::function<char *(int64_t)> &allocate) {
  std::string location;
  int64_t offset = 0, length = -1;
  for (const auto &entry : t.external_data()) {
    const std::string &key = entry.key();
    if (key == "location") {
      location = entry.value();
    } else if (key == "offset" || key == "length") {
      int64_t v;
      if (StringRef(entry.value()).getAsInteger(10, v) || v < 0)
        return emitError(loc)
               << what << ": external data " << key << " '" << entry.value()
               << "' is not a non-negative integer";
      (key == "offset" ? offset : length) = v;
    }
  }
  if (location.empty())
    return emitError(loc) << what << ": external data has no location";
  if (llvm::sys::path::is_absolute(location) ||
      llvm::any_of(llvm::make_range(llvm::sys::path::begin(location),
                                    llvm::sys::path::end(location)),
                   [](StringRef c) { return c == ".."; }))
    return emitError(loc) << what << ": external data location '" << location
                          << "' must be a path inside the model's directory";
  if (length >= 0 && length != nbytes)
    return emitError(loc) << what << ": external data length " << length
                          << " does not match the tensor's " << nbytes
                          << " bytes";
  length = nbytes;
  SmallString<256> file(modelDir);
  llvm::sys::path::append(file, location);
  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return emitError(loc) << what << ": cannot open '" << file
                          << "': " << std::strerror(errno);
  struct stat st;
  if (::fstat(fd, &st) != 0 || S_ISDIR(st.st_mode)) {
    ::close(fd);
    return emitError(loc) << what << ": cannot open '" << file
                          << "': not a regular file";
  }
  // The location may still leave the folder through a symbolic link (the
  // file itself or a folder on the way): compare the real paths.
  SmallString<256> realDir, realFile;
  std::error_code realEc = llvm::sys::fs::real_path(
      modelDir.empty() ? StringRef(".") : modelDir, realDir);
  if (!realEc)
    realEc = llvm::sys::fs::real_path(file, realFile);
  if (!realEc && !llvm::sys::path::is_separator(realDir.back()))
    realDir += llvm::sys::path::get_separator();
  StringRef inside = realFile;
  if (realEc || !inside.consume_front(realDir) || inside.empty()) {
    ::close(fd);
    return emitError(loc) << what << ": external data location '" << location
                          << "' resolves to '" << realFile
                          << "', outside the model's directory";
  }
  if (offset > st.st_size || length > st.st_size - offset) {
    ::close(fd);
    return emitError(loc) << what << ": external data [" << offset << ", "
                          << offset + length << ") lies past the end of '"
                          << file << "' (" << int64_t(st.st_size) << " bytes)";
  }
  char *dst = allocate(length);
  int64_t done = 0;
  while (done < length) {
    ssize_t got = ::pread(fd, dst + done, static_cast<size_t>(length - done),
                          static_cast<off_t>(offset + done));
    if (got < 0 && errno == EINTR)
      continue;
    if (got <= 0) {
      int err = got < 0 ? errno : EIO;
      ::close(fd);
      return emitError(loc) << what << ": cannot read '" << file
                            << "': " << std::strerror(err);
    }
    done += got;
  }
  ::close(fd);
  return success();
}

/// Typed-field storage (float_data, int32_data, ...) as little-endian bytes.
FailureOr<std::vector<char>> typedFieldBytes(const ::onnx::TensorProto &t,
                                             int64_t n, int64_t esize,
                                             Location loc, StringRef what) {
  std::vector<char> out;
  auto checkCount = [&](int64_t count, StringRef field) -> LogicalResult {
    if (count != n)
      return emitError(loc) << what << ": " << field << " holds " << count
                            << " values, expected " << n;
    return success();
  };
  switch (t.data_type()) {
  case ::onnx::TensorProto::FLOAT:
    if (failed(checkCount(t.float_data_size(), "float_data")))
      return failure();
    out.resize(n * 4);
    std::memcpy(out.data(), t.float_data().data(), n * 4);
    return out;
  case ::onnx::TensorProto::DOUBLE:
    if (failed(checkCount(t.double_data_size(), "double_data")))
      return failure();
    out.resize(n * 8);
    std::memcpy(out.data(), t.double_data().data(), n * 8);
    return out;
  case ::onnx::TensorProto::INT64:
    if (failed(checkCount(t.int64_data_size(), "int64_data")))
      return failure();
    out.resize(n * 8);
    std::memcpy(out.data(), t.int64_data().data(), n * 8);
    return out;
  case ::onnx::TensorProto::UINT32:
  case ::onnx::TensorProto::UINT64:
    if (failed(checkCount(t.uint64_data_size(), "uint64_data")))
      return failure();
    out.reserve(n * esize);
    for (uint64_t v : t.uint64_data())
      appendLE(out, v, esize);
    return out;
  default:
    // INT32, INT16, INT8, UINT16, UINT8, BOOL, FLOAT16, BFLOAT16: one
    // element (or its bit pattern) per int32_data entry.
    if (failed(checkCount(t.int32_data_size(), "int32_data")))
      return failure();
    out.reserve(n * esize);
    for (int32_t v : t.int32_data())
      appendLE(out, static_cast<uint32_t>(v), esize);
    return out;
  }
}
} // namespace

FailureOr<TV> mlir::kiln::onnx::decodeTensor(MLIRContext *ctx,
                                             const ::onnx::TensorProto &t,
                                             StringRef modelDir, Location loc,
                                             const Twine &whatTwine,
                                             bool forceContents,
                                             StringRef blobName) {
  std::string what = whatTwine.str();
  if (t.has_segment())
    return emitError(loc) << what << ": segmented tensors are not supported";
  Type elt = getElementType(ctx, t.data_type());
  // Sub-byte types are stored packed (low bits first) and decoded to one
  // element per byte.
  int64_t packedBits = packedElementBits(t.data_type());
  int64_t esize = packedBits ? 1 : elementByteSize(t.data_type());
  if (!elt || esize == 0)
    return emitError(loc) << what << ": unsupported data type "
                          << dataTypeName(t.data_type());
  SmallVector<int64_t> shape(t.dims().begin(), t.dims().end());
  std::optional<int64_t> maybeN = checkedNumElements(shape);
  if (!maybeN || *maybeN > INT64_MAX / 8)
    return emitError(loc) << what << ": invalid dims " << shapeText(shape);
  int64_t n = *maybeN;
  int64_t nbytes = packedBits ? (n * packedBits + 7) / 8 : n * esize;
  auto type = RankedTensorType::get(shape, elt);
  bool isFloat = isa<FloatType>(elt);
  bool inlineAttr = n <= kInlineElements || elt.isInteger(1);
  bool wantContents =
      forceContents || inlineAttr ||
      n <= (isFloat ? kMaxFloatInitContents : kMaxIntInitContents);

  // Find the bytes: external file, raw_data or typed fields.
  std::optional<AsmResourceBlob> blob;
  std::vector<char> owned;
  ArrayRef<char> bytes;
  if (t.data_location() == ::onnx::TensorProto::EXTERNAL) {
    auto allocate = [&](int64_t size) -> char * {
      if (!inlineAttr && !packedBits) {
        blob = HeapAsmResourceBlob::allocate(size, /*align=*/64);
        return blob->getMutableData().data();
      }
      owned.resize(size);
      return owned.data();
    };
    if (failed(readExternal(t, modelDir, nbytes, loc, what, allocate)))
      return failure();
    bytes = blob ? blob->getData() : ArrayRef<char>(owned);
  } else if (t.has_raw_data() && (!t.raw_data().empty() || n == 0)) {
    if (static_cast<int64_t>(t.raw_data().size()) != nbytes)
      return emitError(loc) << what << ": raw_data has " << t.raw_data().size()
                            << " bytes, expected " << nbytes << " ("
                            << shapeText(shape) << " x " << esize << ")";
    bytes = ArrayRef<char>(t.raw_data().data(), t.raw_data().size());
  } else if (n == 0) {
    bytes = {};
  } else if (packedBits) {
    // int32_data: one packed byte per entry.
    if (t.int32_data_size() != nbytes)
      return emitError(loc) << what << ": int32_data holds "
                            << t.int32_data_size() << " values, expected "
                            << nbytes << " packed bytes";
    owned.assign(t.int32_data().begin(), t.int32_data().end());
    bytes = owned;
  } else {
    FailureOr<std::vector<char>> typed =
        typedFieldBytes(t, n, esize, loc, what);
    if (failed(typed))
      return failure();
    owned = std::move(*typed);
    bytes = owned;
  }
  std::vector<char> unpacked;
  if (packedBits) {
    unpacked.resize(n);
    unpackElements(bytes.data(), n, packedBits, unpacked.data());
    bytes = unpacked;
  }

  TV result;
  result.type = type;
  if (wantContents)
    result.data =
        std::make_shared<Contents>(decodeContents(elt, bytes.data(), n));
  if (inlineAttr) {
    result.attr = contentsToAttr(type, *result.data, blobName);
    return result;
  }
  if (!blob)
    blob = HeapAsmResourceBlob::allocateAndCopyWithAlign(bytes, /*align=*/64);
  if (blobName.empty())
    blobName = t.name().empty() ? StringRef("tensor") : StringRef(t.name());
  result.attr = DenseResourceElementsAttr::get(type, sanitizeBlobName(blobName),
                                               std::move(*blob));
  return result;
}
