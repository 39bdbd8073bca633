//===- CollectCommand.cpp - kiln-costmodel collect ------------------------===//
//
// Part of kiln. Measures kernel configurations with the real codegen and
// runtime: for each sampled shape, writes a one-kernel kiln-dialect module,
// compiles it once per candidate configuration (forced through
// --force-config's path) into a shared library, times it on one thread
// (warm, fastest of repeats) and appends features + latency to a JSONL file
// right away, so an interrupted run resumes where it stopped.
//
//===----------------------------------------------------------------------===//

#include "tools/kiln-costmodel/Commands.h"

#include "codegen/cpu/KernelConfig.h"
#include "compiler/Compiler.h"
#include "compiler/Registration.h"
#include "costmodel/Dataset.h"
#include "tools/kiln/ModelRunner.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"
#include <algorithm>
#include <chrono>
#include <fstream>
#include <random>
#include <set>

using namespace llvm;
using namespace mlir::kiln;

cl::SubCommand kiln::costmodel::collectCommand(
    "collect", "Measure sampled kernels x candidate configurations on this "
               "machine and append them to a JSONL dataset");

namespace {
cl::OptionCategory category("kiln-costmodel collect options");
cl::opt<std::string> out("out", cl::Required, cl::desc("Dataset (JSONL, appended)"),
                         cl::value_desc("data.jsonl"),
                         cl::sub(kiln::costmodel::collectCommand),
                         cl::cat(category));
cl::opt<double> minutes("minutes",
                        cl::desc("Stop starting new shapes after this long "
                                 "(default 25)"),
                        cl::init(25), cl::sub(kiln::costmodel::collectCommand),
                        cl::cat(category));
cl::opt<std::string> shard("shard",
                           cl::desc("Collect share i of n (0-based), e.g. "
                                    "--shard 1/4; the files concatenate"),
                           cl::init("0/1"), cl::value_desc("i/n"),
                           cl::sub(kiln::costmodel::collectCommand),
                           cl::cat(category));
cl::opt<unsigned> seed("seed", cl::desc("Seed of the shape and config sample"),
                       cl::init(1), cl::sub(kiln::costmodel::collectCommand),
                       cl::cat(category));
cl::opt<unsigned> perShape("configs-per-shape",
                           cl::desc("Configurations measured per shape "
                                    "(default 12)"),
                           cl::init(12),
                           cl::sub(kiln::costmodel::collectCommand),
                           cl::cat(category));
cl::opt<unsigned> randomShapes("random-shapes",
                               cl::desc("Random shapes after the real-model "
                                        "layers (default 400)"),
                               cl::init(400),
                               cl::sub(kiln::costmodel::collectCommand),
                               cl::cat(category));
cl::opt<unsigned> maxShapes("max-shapes",
                            cl::desc("Measure at most this many shapes of this "
                                     "shard (default: all)"),
                            cl::init(0), cl::sub(kiln::costmodel::collectCommand),
                            cl::cat(category));
cl::list<std::string> onlyShapes(
    "shape",
    cl::desc("Measure this shape instead of the built-in sample: "
             "KIND:BATCHxMxNxK with KIND matmul, matmul_runtime_b or "
             "batch_matmul, or conv:CxHxWxFxKxSTRIDE (one CxHxW image, F "
             "KxK filters, padding K/2) (repeatable); with a large "
             "--configs-per-shape "
             "this is an exhaustive search"),
    cl::value_desc("KIND:BxMxNxK"), cl::sub(kiln::costmodel::collectCommand),
    cl::cat(category));
cl::opt<unsigned> repeats("repeats", cl::desc("Timed runs per kernel (the fastest counts)"),
                          cl::init(11), cl::sub(kiln::costmodel::collectCommand),
                          cl::cat(category));
cl::opt<std::string> targetCpu("target-cpu",
                               cl::desc("Target CPU (default: the host's)"),
                               cl::sub(kiln::costmodel::collectCommand),
                               cl::cat(category));
cl::opt<std::string> targetFeatures(
    "target-features",
    cl::desc("Target features, e.g. -avx512f for AVX2 kernels on an "
             "AVX-512 machine (default: the host's)"),
    cl::sub(kiln::costmodel::collectCommand), cl::cat(category));

/// A 2-D convolution of one NCHW image with square kernels, "same"-style
/// padding k/2 on every side.
struct ConvParams {
  int64_t c = 1, h = 1, w = 1, f = 1, k = 1, stride = 1;
  int64_t pad() const { return k / 2; }
  int64_t oh() const { return (h + 2 * pad() - k) / stride + 1; }
  int64_t ow() const { return (w + 2 * pad() - k) / stride + 1; }
};

/// One kernel shape to measure.
struct Shape {
  KernelKind kind;
  ContractionShape dims;
  ConvParams conv; // KernelKind::Conv only
};

/// A convolution as the contraction ConvKernel.cpp describes to the cost
/// model: filters x output columns x C*KH*KW, batched over output rows,
/// with the rows folded into the columns for a 1x1 conv (unpadded; a
/// strided one reads a subsampled copy of its input, see MatMulConv.cpp).
Shape convShape(const ConvParams &p) {
  bool flattened = p.k == 1;
  ContractionShape d;
  d.batch = flattened ? 1 : p.oh();
  d.m = p.f;
  d.n = flattened ? p.oh() * p.ow() : p.ow();
  d.k = p.c * p.k * p.k;
  return {KernelKind::Conv, d, p};
}

/// Layers of the bench models (BERT-base, GPT-2, ResNet-50 as matmuls,
/// MLPs) and attention products, then random shapes.
std::vector<Shape> sampleShapes(unsigned seed, unsigned randomCount) {
  std::vector<Shape> shapes;
  auto add = [&](KernelKind kind, int64_t b, int64_t m, int64_t n, int64_t k) {
    shapes.push_back({kind, {b, m, n, k}});
  };
  for (int64_t m : {1, 16, 128}) {
    add(KernelKind::MatMul, 1, m, 768, 768);
    add(KernelKind::MatMul, 1, m, 3072, 768);
    add(KernelKind::MatMul, 1, m, 768, 3072);
    add(KernelKind::MatMul, 1, m, 2304, 768);
  }
  for (int64_t m : {1, 64})
    add(KernelKind::MatMul, 1, m, 4096, 1024);
  add(KernelKind::MatMul, 1, 64, 256, 256);
  add(KernelKind::MatMul, 1, 1, 256, 256);
  add(KernelKind::MatMul, 1, 128, 384, 384);
  add(KernelKind::MatMul, 1, 128, 1536, 384);
  add(KernelKind::MatMul, 1, 1024, 1024, 1024);
  add(KernelKind::MatMul, 1, 1, 1000, 2048);
  add(KernelKind::BatchMatMul, 12, 128, 128, 64);
  add(KernelKind::BatchMatMul, 12, 128, 64, 128);
  add(KernelKind::BatchMatMul, 4, 16, 16, 16);
  add(KernelKind::MatMulRuntimeB, 1, 128, 128, 64);
  add(KernelKind::MatMulRuntimeB, 1, 64, 512, 512);
  // Tall products: ResNet-50's convolutions as implicit GEMMs (rows =
  // output pixels), the wide-and-shallow 4096x4096x64, a batch-64 MLP.
  // Without them a model extrapolates from M <= 512 and picks badly there.
  add(KernelKind::MatMul, 1, 3136, 64, 576);
  add(KernelKind::MatMul, 1, 3136, 256, 64);
  add(KernelKind::MatMul, 1, 784, 128, 1152);
  add(KernelKind::MatMul, 1, 196, 256, 2304);
  add(KernelKind::MatMul, 1, 49, 512, 4608);
  add(KernelKind::MatMul, 1, 4096, 4096, 64);
  add(KernelKind::MatMul, 1, 2048, 1024, 128);
  // Direct convolutions (C, H, W, F, K, stride): the digit CNN's two,
  // ResNet-50's stem and stage convolutions, MobileNetV2 pointwise ones.
  for (ConvParams p : std::initializer_list<ConvParams>{
           {1, 28, 28, 32, 3, 1},    {32, 26, 26, 64, 3, 1},
           {3, 224, 224, 64, 7, 2},  {64, 56, 56, 64, 3, 1},
           {64, 56, 56, 256, 1, 1},  {256, 56, 56, 64, 1, 1},
           {128, 28, 28, 128, 3, 1}, {256, 14, 14, 256, 3, 1},
           {512, 7, 7, 512, 3, 1},   {256, 56, 56, 128, 1, 2},
           {32, 112, 112, 16, 1, 1}, {96, 56, 56, 24, 1, 1},
           {144, 28, 28, 32, 1, 1},  {320, 7, 7, 1280, 1, 1}})
    shapes.push_back(convShape(p));

  std::mt19937 rng(seed);
  auto pick = [&](std::initializer_list<int64_t> values) {
    std::vector<int64_t> v(values);
    return v[rng() % v.size()];
  };
  auto extent = [&](int64_t lo, int64_t hi) {
    // Log-uniform, and half of the time rounded to a multiple of 16.
    double x = std::exp(std::uniform_real_distribution<double>(
        std::log(double(lo)), std::log(double(hi)))(rng));
    int64_t v = std::max<int64_t>(1, int64_t(x));
    return rng() % 2 ? std::max<int64_t>(16, v / 16 * 16) : v;
  };
  // Random convolutions draw from their own stream (the matmul sample stays
  // what it was) and come every fourth shape, so a time-limited run
  // reaches them.
  std::mt19937 convRng(seed + 1);
  auto pickConv = [&](std::initializer_list<int64_t> values) {
    std::vector<int64_t> v(values);
    return v[convRng() % v.size()];
  };
  auto randomConv = [&] {
    ConvParams p;
    p.k = pickConv({1, 1, 3, 3, 3, 5, 7});
    p.stride = convRng() % 4 == 0 ? 2 : 1;
    p.c = pickConv({1, 3, 8, 16, 24, 32, 64, 96, 128, 256, 512});
    p.f = pickConv({8, 16, 24, 32, 48, 64, 128, 256, 512});
    p.h = p.w = pickConv({7, 14, 20, 28, 56, 112});
    // Under ~0.5 GFLOP, like the matmuls.
    while (p.h > 7 && p.f * p.c * p.k * p.k * p.oh() * p.ow() > (int64_t(1) << 28))
      p.h = p.w = p.h / 2;
    return convShape(p);
  };
  for (unsigned i = 0; i < randomCount; ++i) {
    if (i % 4 == 3) {
      shapes.push_back(randomConv());
      continue;
    }
    KernelKind kind = KernelKind(pick({0, 0, 0, 0, 1, 2}));
    int64_t batch = kind == KernelKind::BatchMatMul ? pick({2, 4, 8, 12}) : 1;
    int64_t m = rng() % 4 == 0 ? pick({1, 2, 4, 8})
                : rng() % 4 == 0   ? extent(512, 4096)
                                   : extent(1, 512);
    int64_t n = extent(8, 2048), k = extent(8, 2048);
    // Keep a constant B under 16 MiB (it is written into the module), and
    // a run under ~0.5 GFLOP so a tall shape costs seconds, not minutes.
    while (n * k > (int64_t(4) << 20))
      k /= 2;
    while (m * n * k > (int64_t(1) << 28) && k > 8)
      k /= 2;
    add(kind, batch, m, n, k);
  }
  return shapes;
}

/// `name: "0x04000000<count little-endian f32 in [-1, 1)>"`, an entry of a
/// module's builtin dialect_resources.
void writeRandomResource(raw_ostream &os, StringRef name, int64_t count,
                         std::mt19937 &rng) {
  os << "    " << name << ": \"0x04000000";
  std::uniform_real_distribution<float> value(-1, 1);
  for (int64_t i = 0; i < count; ++i) {
    float f = value(rng);
    uint32_t bits;
    std::memcpy(&bits, &f, 4);
    for (int byte = 0; byte < 4; ++byte)
      os << format_hex_no_prefix((bits >> (8 * byte)) & 0xff, 2, true);
  }
  os << "\"";
}

/// A module with one kiln.conv2d (the op the ONNX importer emits for a 2-D
/// Conv): input "a" (1xCxHxW), constant weights and bias.
std::string convModule(const ConvParams &p, std::mt19937 &rng) {
  auto t = [](std::initializer_list<int64_t> dims) {
    std::string s = "tensor<";
    for (int64_t d : dims)
      s += std::to_string(d) + "x";
    return s + "f32>";
  };
  std::string x = t({1, p.c, p.h, p.w}), w = t({p.f, p.c, p.k, p.k}),
              b = t({p.f}), y = t({1, p.f, p.oh(), p.ow()});
  std::string text;
  raw_string_ostream os(text);
  os << "func.func @main(%a: " << x << " {kiln.name = \"a\"}) -> (" << y
     << " {kiln.name = \"c\"}) attributes {kiln.entry} {\n"
     << "  %w = kiln.constant dense_resource<w> : " << w << "\n"
     << "  %b = kiln.constant dense_resource<b> : " << b << "\n"
     << "  %c = kiln.conv2d %a, %w, %b {strides = array<i64: " << p.stride << ", "
     << p.stride << ">, padding = array<i64: " << p.pad() << ", " << p.pad()
     << ", " << p.pad() << ", " << p.pad()
     << ">, dilations = array<i64: 1, 1>, group = 1 : i64} : " << x << ", "
     << w << ", " << b << " -> " << y << "\n"
     << "  return %c : " << y << "\n}\n"
     << "{-#\n  dialect_resources: {\n    builtin: {\n";
  writeRandomResource(os, "w", p.f * p.c * p.k * p.k, rng);
  os << ",\n";
  writeRandomResource(os, "b", p.f, rng);
  os << "\n    }\n  }\n#-}\n";
  return text;
}

/// A kiln-dialect module with the one kernel: constant B as a resource
/// blob of pseudo-random values, or B as a second input.
std::string kernelModule(const Shape &s, std::mt19937 &rng) {
  if (s.kind == KernelKind::Conv)
    return convModule(s.conv, rng);
  const ContractionShape &d = s.dims;
  auto type = [&](int64_t rows, int64_t cols) {
    std::string t = "tensor<";
    if (s.kind == KernelKind::BatchMatMul)
      t += std::to_string(d.batch) + "x";
    return t + std::to_string(rows) + "x" + std::to_string(cols) + "xf32>";
  };
  std::string a = type(d.m, d.k), b = type(d.k, d.n), c = type(d.m, d.n);
  bool constantB = s.kind == KernelKind::MatMul;
  std::string text;
  raw_string_ostream os(text);
  os << "func.func @main(%a: " << a << " {kiln.name = \"a\"}";
  if (!constantB)
    os << ", %b: " << b << " {kiln.name = \"b\"}";
  os << ") -> (" << c << " {kiln.name = \"c\"}) attributes {kiln.entry} {\n";
  if (constantB)
    os << "  %b = kiln.constant dense_resource<w> : " << b << "\n";
  os << "  %c = kiln.matmul %a, %b : " << a << ", " << b << "\n"
     << "  return %c : " << c << "\n}\n";
  if (constantB) {
    os << "{-#\n  dialect_resources: {\n    builtin: {\n";
    writeRandomResource(os, "w", d.k * d.n, rng);
    os << "\n    }\n  }\n#-}\n";
  }
  return text;
}

/// Fastest of `repeats` warm runs in ns, or a negative value on failure.
double measure(const std::string &library, std::string &error) {
  kiln::ModelRunner runner;
  if (!runner.load(library, 1, error) ||
      !runner.setInputs({}, /*fillMissing=*/true, error))
    return -1;
  for (int i = 0; i < 3; ++i)
    if (!runner.run(error))
      return -1;
  std::vector<double> times;
  for (unsigned i = 0; i < std::max(1u, repeats.getValue()); ++i) {
    auto start = std::chrono::steady_clock::now();
    if (!runner.run(error))
      return -1;
    times.push_back(std::chrono::duration<double, std::nano>(
                        std::chrono::steady_clock::now() - start)
                        .count());
  }
  // The minimum, not the median: on this machine a kernel's runs are
  // bimodal even within one process (e.g. 0.86 vs 1.46 ms), and on a shared
  // machine other processes only ever add time.
  return *std::min_element(times.begin(), times.end());
}

std::string configKey(const std::string &shape, const ContractionConfig &c) {
  return shape + "|" + std::to_string(c.mr) + "," + std::to_string(c.nr) +
         "," + std::to_string(c.kc);
}
} // namespace

int kiln::costmodel::collectMain() {
  static const char cmd[] = "collect";
  unsigned shardIndex = 0, shardCount = 1;
  if (std::sscanf(shard.c_str(), "%u/%u", &shardIndex, &shardCount) != 2 ||
      shardCount == 0 || shardIndex >= shardCount)
    return fail(cmd, "--shard must be i/n with 0 <= i < n");

  // The target the kernels are compiled for (and described with).
  CompileOptions base;
  base.target.cpu = targetCpu;
  base.target.features = targetFeatures;
  std::string error;
  std::unique_ptr<llvm::TargetMachine> tm =
      createCpuTargetMachine(base.target, error);
  if (!tm)
    return fail(cmd, error);
  CpuTarget target = describeCpuTarget(*tm);
  std::string targetName = target.vectorBits >= 512   ? "avx512"
                           : target.vectorBits >= 256 ? "avx2"
                                                      : "sse";

  // Resume: what the file already holds is not measured again.
  std::set<std::string> done;
  if (sys::fs::exists(out)) {
    std::vector<Sample> existing;
    if (!loadSamples(out, existing, error))
      return fail(cmd, error);
    for (const Sample &s : existing)
      done.insert(configKey(s.shape, {s.mr, s.nr, s.kc}));
  }
  std::ofstream file(out, std::ios::app);
  if (!file)
    return fail(cmd, "cannot append to '" + out + "'");

  SmallString<128> dir;
  if (std::error_code ec =
          sys::fs::createUniqueDirectory("kiln-costmodel-collect", dir))
    return fail(cmd, "cannot create a temporary folder: " + ec.message());

  mlir::DialectRegistry registry;
  registerAllDialects(registry);
  mlir::MLIRContext context(registry);
  context.loadAllAvailableDialects();
  mlir::ScopedDiagnosticHandler handler(&context, [](mlir::Diagnostic &diag) {
    errs() << "kiln-costmodel collect: " << diag.str() << "\n";
    return mlir::success();
  });

  std::vector<Shape> shapes;
  for (const std::string &spec : onlyShapes) {
    long long c, h, w, f, ks, st;
    if (StringRef(spec).starts_with("conv:")) {
      if (std::sscanf(spec.c_str(), "conv:%lldx%lldx%lldx%lldx%lldx%lld", &c,
                      &h, &w, &f, &ks, &st) != 6 ||
          c < 1 || h < 1 || w < 1 || f < 1 || ks < 1 || st < 1 ||
          h + 2 * (ks / 2) < ks || w + 2 * (ks / 2) < ks)
        return fail(cmd, "--shape '" + spec + "' is not conv:CxHxWxFxKxSTRIDE");
      shapes.push_back(convShape({c, h, w, f, ks, st}));
      continue;
    }
    char kind[32];
    long long b, m, n, k;
    Shape s{KernelKind::MatMul, {}};
    if (std::sscanf(spec.c_str(), "%31[a-z_]:%lldx%lldx%lldx%lld", kind, &b, &m,
                    &n, &k) != 5 ||
        b < 1 || m < 1 || n < 1 || k < 1)
      return fail(cmd, "--shape '" + spec + "' is not KIND:BATCHxMxNxK");
    std::string name = kind;
    if (name == "matmul_runtime_b")
      s.kind = KernelKind::MatMulRuntimeB;
    else if (name == "batch_matmul")
      s.kind = KernelKind::BatchMatMul;
    else if (name != "matmul")
      return fail(cmd, "--shape '" + spec + "': unknown kind '" + name + "'");
    s.dims = {b, m, n, k};
    shapes.push_back(s);
  }
  if (shapes.empty())
    shapes = sampleShapes(seed, randomShapes);
  std::vector<Shape> mine;
  for (size_t i = 0; i < shapes.size(); ++i)
    if (i % shardCount == shardIndex &&
        (maxShapes == 0 || mine.size() < maxShapes))
      mine.push_back(shapes[i]);
  std::mt19937 rng(seed * 7919u + shardIndex);
  auto start = std::chrono::steady_clock::now();
  auto elapsed = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                         start)
        .count();
  };
  size_t measured = 0, failures = 0;
  for (size_t si = 0; si < mine.size(); ++si) {
    if (elapsed() > minutes * 60)
      break;
    const Shape &shape = mine[si];
    KernelDesc probe = describeKernel(shape.dims, shape.kind, {}, target);
    std::string key = probe.shapeKey();
    // Candidates: the hand-written pick, then a random sample.
    bool blocksK = shape.kind != KernelKind::Conv;
    std::vector<ContractionConfig> all =
        contractionCandidates(shape.dims, target, blocksK);
    std::shuffle(all.begin(), all.end(), rng);
    ContractionConfig heuristic =
        chooseContractionConfig(shape.dims, target, blocksK);
    all.insert(all.begin(), heuristic);
    std::vector<ContractionConfig> configs;
    std::set<std::string> seen;
    for (const ContractionConfig &c : all) {
      if (configs.size() >= perShape)
        break;
      if (seen.insert(configKey(key, c)).second)
        configs.push_back(c);
    }
    std::string modulePath = (dir + "/kernel.mlir").str();
    {
      std::ofstream m(modulePath);
      m << kernelModule(shape, rng);
    }
    for (const ContractionConfig &config : configs) {
      if (done.count(configKey(key, config)))
        continue;
      CompileOptions options = base;
      options.inputPath = modulePath;
      options.outputPath = (dir + "/kernel.so").str();
      options.emit = EmitKind::SharedLibrary;
      options.name = "kernel";
      options.costModel = "";
      options.forceKernelConfig = std::to_string(config.mr) + "," +
                                  std::to_string(config.nr) + "," +
                                  std::to_string(config.kc);
      CompileResult result;
      double ns = -1;
      if (mlir::succeeded(compileModel(context, options, result)))
        ns = measure(options.outputPath, error);
      if (ns <= 0) {
        ++failures;
        errs() << "kiln-costmodel collect: " << key << " config "
               << options.forceKernelConfig << " failed"
               << (error.empty() ? "" : ": " + error) << "\n";
        continue;
      }
      Sample s;
      s.kind = kernelKindName(shape.kind);
      s.target = targetName;
      s.shape = key;
      s.mr = config.mr;
      s.nr = config.nr;
      s.kc = config.kc;
      s.kernel = describeKernel(shape.dims, shape.kind, config, target);
      s.features = kernelFeatures(s.kernel);
      s.latencyNs = ns;
      s.runs = int(repeats);
      s.heuristic = config.mr == heuristic.mr && config.nr == heuristic.nr &&
                    config.kc == heuristic.kc;
      file << sampleToJson(s) << "\n";
      file.flush();
      ++measured;
    }
    double t = elapsed();
    double eta = std::min(minutes * 60 - t,
                          t / double(si + 1) * double(mine.size() - si - 1));
    outs() << format("[%zu/%zu shapes] %s: %zu samples so far, %.0f s "
                     "elapsed, ~%.0f s left\n",
                     si + 1, mine.size(), key.c_str(), measured, t,
                     std::max(0.0, eta));
    outs().flush();
  }
  sys::fs::remove_directories(dir);
  outs() << "kiln-costmodel collect: " << measured << " samples appended to "
         << out << " (" << failures << " failed)\n";
  return failures && !measured ? 1 : 0;
}
