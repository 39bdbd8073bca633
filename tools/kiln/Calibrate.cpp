//===- Calibrate.cpp - static w8a8 activation scales from samples ---------===//
//
// Part of kiln.
//
//===----------------------------------------------------------------------===//

#include "tools/kiln/Calibrate.h"

#include "codegen/cpu/ObjectEmitter.h"
#include "mlir/Pass/PassManager.h"
#include "tools/kiln/ModelRunner.h"
#include "tools/kiln/TempDir.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/Path.h"

#include <algorithm>
#include <functional>
#include <map>

using namespace mlir::kiln;
using kiln::describe;
using kiln::numElements;

namespace {

/// One set of model inputs: input name -> .npy path.
struct Sample {
  std::string where; // the folder, for messages
  std::map<std::string, std::string> files;
};

bool listSamples(llvm::StringRef dir, std::vector<Sample> &samples,
                 std::string &error) {
  if (!llvm::sys::fs::is_directory(dir)) {
    error = "--calibration '" + dir.str() + "' is not a folder";
    return false;
  }
  auto list = [&](llvm::StringRef folder, std::vector<std::string> &npys,
                  std::vector<std::string> &folders) -> bool {
    std::error_code ec;
    for (llvm::sys::fs::directory_iterator it(folder, ec), end;
         it != end && !ec; it.increment(ec)) {
      std::string path = it->path();
      if (llvm::sys::fs::is_directory(path))
        folders.push_back(path);
      else if (llvm::sys::path::extension(path) == ".npy")
        npys.push_back(path);
    }
    if (ec) {
      error = "cannot list '" + folder.str() + "': " + ec.message();
      return false;
    }
    std::sort(npys.begin(), npys.end());
    std::sort(folders.begin(), folders.end());
    return true;
  };
  auto sampleOf = [](llvm::StringRef where,
                     const std::vector<std::string> &npys) {
    Sample s;
    s.where = where.str();
    for (const std::string &path : npys)
      s.files[llvm::sys::path::stem(path).str()] = path;
    return s;
  };
  std::vector<std::string> npys, folders;
  if (!list(dir, npys, folders))
    return false;
  if (!npys.empty() && !folders.empty()) {
    error = "--calibration '" + dir.str() +
            "' holds both .npy files and subfolders: use DIR/<input>.npy for "
            "one sample or DIR/<sample>/<input>.npy for several, not both";
    return false;
  }
  if (!npys.empty()) {
    samples.push_back(sampleOf(dir, npys));
    return true;
  }
  for (const std::string &folder : folders) {
    std::vector<std::string> inner, nested;
    if (!list(folder, inner, nested))
      return false;
    if (inner.empty()) {
      error = "--calibration: sample folder '" + folder +
              "' holds no .npy files (expected one <input>.npy per model "
              "input)";
      return false;
    }
    samples.push_back(sampleOf(folder, inner));
  }
  if (samples.empty()) {
    error = "--calibration '" + dir.str() +
            "' holds no samples: put one <input>.npy per model input in it, "
            "or one subfolder per sample holding them";
    return false;
  }
  return true;
}

std::string inputList(const kiln_entry_desc &entry) {
  std::string list;
  for (int32_t i = 0; i < entry.num_inputs; ++i)
    list += std::string(i ? ", '" : "'") + entry.inputs[i].name + "' " +
            describe(entry.inputs[i]);
  return list;
}

/// What collect() hands the activations to: `begin` once with each
/// calibrated matmul's K (in walk order), then `observe` per sample and
/// matmul with its activation input as [rows, K].
struct Observer {
  std::function<void(const std::vector<int64_t> &channels)> begin;
  std::function<void(int64_t index, const float *x, int64_t rows)> observe;
};

/// Compiles the float model with the activation input of every matmul
/// that the quantizers with `minWeights` take as extra outputs (after
/// SmoothQuant with `smooth` when set), runs it on every sample and hands
/// the activations to `observer`.
bool collect(mlir::MLIRContext &context, const CompileOptions &options,
             const std::vector<Sample> &samples,
             const std::optional<KilnSmoothQuantPassOptions> &smooth,
             int64_t minWeights, const Observer &observer,
             std::string &error) {
  ::kiln::TempDir temp("kiln-calibration", error);
  if (temp.path().empty())
    return false;
  llvm::StringRef dir = temp.path();

  CompileOptions variant = options;
  variant.emit = EmitKind::SharedLibrary;
  variant.outputPath = (dir + "/calibration.so").str();
  variant.name = "calibration";
  variant.weightQuantize.reset();
  variant.w8a8Quantize.reset();
  variant.smoothQuant.reset();
  variant.lmul.reset();
  variant.energyReport = nullptr;
  variant.timings = nullptr;
  variant.import.warnUnusedCheckpointTensors = false; // the real compile's
  // Large models keep their weights out of the library (the runtime reads
  // them from its folder), as the real compile does.
  variant.externalWeights = options.externalWeights;
  // A cross-compile calibrates with a build for this CPU (activations are
  // the same numbers; f32 when the target's bf16 is not available here).
  std::string notHere;
  if (!targetRunsOnHost(options.target, notHere)) {
    variant.target.triple.clear();
    variant.target.cpu.clear();
    variant.target.features.clear();
    variant.bf16 = false;
  }
  PipelineHook user = options.hook;
  variant.hook = [user, smooth, minWeights](InsertionPoint point,
                                            mlir::OpPassManager &pm) {
    if (user)
      user(point, pm);
    if (point != InsertionPoint::BeforeQuantize)
      return;
    // Where kiln-smooth-quant and kiln-w8a8-quantize run in the real
    // compile, so that the candidates and their order are the same.
    if (smooth)
      pm.addPass(createKilnSmoothQuantPass(*smooth));
    KilnCalibrationInstrumentPassOptions instrument;
    instrument.minWeights = minWeights;
    pm.addPass(createKilnCalibrationInstrumentPass(instrument));
  };
  CompileResult compiled;
  if (mlir::failed(compileModel(context, variant, compiled))) {
    error.clear(); // the diagnostics say why
    return false;
  }

  kiln::ModelRunner runner;
  if (!runner.load(variant.outputPath, /*threads=*/0, error))
    return false;
  const kiln_entry_desc &entry = runner.entry();
  // The instrumented outputs, by their calibration index.
  std::map<int64_t, int32_t> outputs;
  for (int32_t i = 0; i < entry.num_outputs; ++i)
    for (int64_t index = 0; index <= entry.num_outputs; ++index)
      if (calibrationOutputName(index) == entry.outputs[i].name)
        outputs[index] = i;
  std::vector<int64_t> channels;
  for (auto [index, output] : outputs) {
    const kiln_tensor_info &info = entry.outputs[output];
    if (index != int64_t(channels.size()) || info.dtype != KILN_DTYPE_F32 ||
        info.rank < 1 || info.dims[info.rank - 1] <= 0) {
      error = "--calibration: unexpected calibration output " + describe(info) +
              " (an internal error)";
      return false;
    }
    channels.push_back(info.dims[info.rank - 1]);
  }
  observer.begin(channels);

  for (const Sample &sample : samples) {
    std::vector<std::string> specs;
    for (int32_t i = 0; i < entry.num_inputs; ++i) {
      auto it = sample.files.find(entry.inputs[i].name);
      if (it == sample.files.end()) {
        error = "--calibration: '" + sample.where + "' has no '" +
                entry.inputs[i].name + ".npy' for the model's input '" +
                entry.inputs[i].name + "' " + describe(entry.inputs[i]) +
                " (the model's inputs: " + inputList(entry) + ")";
        return false;
      }
      specs.push_back(it->first + "=" + it->second);
    }
    for (const auto &[name, path] : sample.files) {
      int32_t index;
      if (kiln_model_find_input(&runner.descriptor(), name.c_str(), &index) !=
          KILN_OK) {
        error = "--calibration: '" + path +
                "' names no input of the model (the model's inputs: " +
                inputList(entry) + ")";
        return false;
      }
    }
    if (!runner.setInputs(specs, /*fillMissing=*/false, error)) {
      error = "--calibration: " + error;
      return false;
    }
    if (!runner.run(error)) {
      error = "--calibration: running the float model on '" + sample.where +
              "' failed: " + error;
      return false;
    }
    for (auto [index, output] : outputs)
      observer.observe(index,
                       static_cast<const float *>(runner.output(output)),
                       numElements(entry.outputs[output]) / channels[index]);
  }
  return true;
}

} // namespace

bool kiln::calibrateW8A8(mlir::MLIRContext &context, CompileOptions &options,
                         const CalibrationOptions &calibration,
                         llvm::raw_ostream &log, std::string &error) {
  std::vector<Sample> samples;
  if (!listSamples(calibration.dir, samples, error))
    return false;
  std::vector<ActivationStats> stats;
  bool percentile = calibration.method == CalibrationMethod::Percentile;
  auto statsKeeping = [&stats](bool keepValues) {
    return Observer{[&stats, keepValues](const std::vector<int64_t> &channels) {
                      stats.clear();
                      for (int64_t k : channels)
                        stats.emplace_back(k, keepValues);
                    },
                    [&stats](int64_t index, const float *x, int64_t rows) {
                      stats[index].observe(x, rows);
                    }};
  };
  int64_t minWeights = options.w8a8Quantize->minWeights;
  // With SmoothQuant the first run only needs the channel maxima.
  if (!collect(context, options, samples, std::nullopt, minWeights,
               statsKeeping(percentile && !calibration.smoothQuantAlpha),
               error))
    return false;
  if (calibration.smoothQuantAlpha) {
    KilnSmoothQuantPassOptions smooth;
    smooth.alpha = *calibration.smoothQuantAlpha;
    smooth.minWeights = minWeights;
    for (const ActivationStats &s : stats)
      smooth.channelMaxima.append(s.channelMax().begin(), s.channelMax().end());
    options.smoothQuant = smooth;
    // The ranges of the smoothed activations, which the kernels quantize.
    if (!collect(context, options, samples, smooth, minWeights,
                 statsKeeping(percentile), error))
      return false;
  }
  options.w8a8Quantize->activationRanges.clear();
  for (const ActivationStats &s : stats)
    options.w8a8Quantize->activationRanges.push_back(
        s.range(calibration.method, calibration.percentile));
  log << "kiln: calibrated " << stats.size() << " matmul"
      << (stats.size() == 1 ? "" : "s") << " on " << samples.size() << " sample"
      << (samples.size() == 1 ? "" : "s") << " ("
      << (calibration.method == CalibrationMethod::MinMax
              ? std::string("max |x|")
              : llvm::formatv("{0}th percentile of |x|", calibration.percentile)
                    .str())
      << (calibration.smoothQuantAlpha
              ? llvm::formatv(", SmoothQuant alpha {0}",
                              *calibration.smoothQuantAlpha)
                    .str()
              : std::string())
      << ")\n";
  return true;
}

bool kiln::calibrateGPTQ(mlir::MLIRContext &context, CompileOptions &options,
                         const CalibrationOptions &calibration,
                         const std::string &hessianPath, llvm::raw_ostream &log,
                         std::string &error) {
  std::vector<Sample> samples;
  if (!listSamples(calibration.dir, samples, error))
    return false;
  std::vector<InputHessian> hessians;
  Observer observer{[&hessians](const std::vector<int64_t> &channels) {
                      for (int64_t k : channels)
                        hessians.emplace_back(k);
                    },
                    [&hessians](int64_t index, const float *x, int64_t rows) {
                      hessians[index].observe(x, rows);
                    }};
  if (!collect(context, options, samples, std::nullopt,
               options.weightQuantize->minWeights, observer, error) ||
      !writeHessians(hessianPath, hessians, error))
    return false;
  options.weightQuantize->hessians = hessianPath;
  uint64_t rows = hessians.empty() ? 0 : hessians.front().rows();
  log << "kiln: calibrated " << hessians.size() << " matmul"
      << (hessians.size() == 1 ? "" : "s") << " on " << samples.size()
      << " sample" << (samples.size() == 1 ? "" : "s") << " (" << rows
      << " input rows each) for GPTQ rounding (damp "
      << llvm::format("%g", double(options.weightQuantize->gptqDamp))
      << ")\n";
  return true;
}
