//===- ConformanceCommand.cpp - kiln conformance --------------------------===//
//
// Part of kiln. Runs the ONNX backend node tests: every case in its own
// child process (`kiln conformance --one CASE --json`), N at a time, with a
// timeout; classifies each case, writes a JSON report and a summary, and
// checks or writes the expected-pass list.
//
//===----------------------------------------------------------------------===//

#include "tools/kiln/Commands.h"
#include "tools/kiln/Conformance.h"

#include "compiler/onnx/TensorFile.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/Regex.h"
#include "llvm/Support/Threading.h"
#include "llvm/Support/VersionTuple.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <functional>
#include <set>
#include <thread>

using namespace llvm;
using namespace kiln::conformance;
namespace konnx = mlir::kiln::onnx;

cl::SubCommand kiln::conformanceCommand(
    "conformance",
    "Run the ONNX backend node tests: compile, run and compare every case, "
    "report pass / wrong result / compile error / unsupported op / crash. "
    "DIR: a folder of cases (folders with model.onnx and test_data_set_*) or "
    "one case; default $KILN_ONNX_NODE_DATA, else the newest "
    "~/.cache/kiln/onnx-node-<version>/node written by "
    "test/conformance/generate_node_tests.py");

namespace {
cl::OptionCategory category("kiln conformance options");
cl::opt<std::string> dataDir(cl::Positional, cl::Optional, cl::desc("[DIR]"),
                             cl::sub(kiln::conformanceCommand),
                             cl::cat(category));
cl::opt<unsigned> jobs("j",
                       cl::desc("Cases run in parallel (default: the number "
                                "of cores)"),
                       cl::init(0), cl::sub(kiln::conformanceCommand),
                       cl::cat(category));
cl::opt<std::string>
    filter("filter", cl::desc("Only cases whose name matches this regex"),
           cl::value_desc("REGEX"), cl::sub(kiln::conformanceCommand),
           cl::cat(category));
cl::opt<unsigned> timeout("timeout",
                          cl::desc("Seconds a case may take before it is "
                                   "killed and counted as a timeout"),
                          cl::init(120), cl::sub(kiln::conformanceCommand),
                          cl::cat(category));
cl::opt<unsigned> optLevel("O", cl::desc("LLVM optimization level 0-3"),
                           cl::init(3), cl::Prefix,
                           cl::sub(kiln::conformanceCommand),
                           cl::cat(category));
cl::opt<std::string> reportPath(
    "report",
    cl::desc("Write the JSON report here: totals, classes, unsupported ops, "
             "per-op table and every case with its class, message and time"),
    cl::value_desc("FILE"), cl::sub(kiln::conformanceCommand),
    cl::cat(category));
cl::opt<std::string>
    summaryPath("summary",
                cl::desc("Also write the readable summary to this file"),
                cl::value_desc("FILE"), cl::sub(kiln::conformanceCommand),
                cl::cat(category));
cl::opt<bool> perOpTable("per-op",
                         cl::desc("Print the per-op pass table in the "
                                  "summary (default: on, unless --expected)"),
                         cl::sub(kiln::conformanceCommand), cl::cat(category));
cl::opt<std::string> expectedPath(
    "expected",
    cl::desc("Run the cases this expected-pass list names and fail if any "
             "does not pass; cases that pass but are not listed are printed "
             "as new passes (with --all: run every case)"),
    cl::value_desc("FILE"), cl::sub(kiln::conformanceCommand),
    cl::cat(category));
cl::opt<bool> runAll("all",
                     cl::desc("With --expected: run every case, not only the "
                              "listed ones"),
                     cl::sub(kiln::conformanceCommand), cl::cat(category));
cl::opt<std::string> writeExpected(
    "write-expected",
    cl::desc("Write the expected-pass list: the cases that passed, plus the "
             "file's listed cases this run did not select (the list only "
             "grows; a listed case that fails stops the write)"),
    cl::value_desc("FILE"), cl::sub(kiln::conformanceCommand),
    cl::cat(category));
cl::opt<bool> dropFailing(
    "drop-failing",
    cl::desc("With --write-expected: drop listed cases that failed instead "
             "of refusing to write"),
    cl::sub(kiln::conformanceCommand), cl::cat(category));
cl::opt<std::string> workDir(
    "work-dir",
    cl::desc("Folder for the compiled cases (default: a new temporary one, "
             "removed at the end)"),
    cl::value_desc("DIR"), cl::sub(kiln::conformanceCommand),
    cl::cat(category));
cl::opt<bool> keep("keep",
                   cl::desc("Keep the compiled cases and child logs in the "
                            "work dir"),
                   cl::sub(kiln::conformanceCommand), cl::cat(category));
cl::opt<bool> verbose("v", cl::desc("Print every case's result as it ends"),
                      cl::sub(kiln::conformanceCommand), cl::cat(category));
cl::opt<unsigned>
    memoryLimit("memory-limit",
                cl::desc("Memory limit of each case's process in MB "
                         "(0: none)"),
                cl::init(0), cl::sub(kiln::conformanceCommand),
                cl::cat(category));
cl::opt<bool> bindConstantInputs(
    "bind-constant-inputs",
    cl::desc("When the compiler needs a graph input at compile time (a "
             "Reshape's shape, a reduction's axes), bind it to the test "
             "data's value and compile again; such passes are counted "
             "separately (default: on; =false to count them as compile "
             "errors)"),
    cl::init(true), cl::sub(kiln::conformanceCommand), cl::cat(category));
cl::opt<std::string> oneCase(
    "one",
    cl::desc("Run one case folder in this process (what each child does)"),
    cl::value_desc("CASE_DIR"), cl::sub(kiln::conformanceCommand),
    cl::cat(category));
cl::opt<bool> json("json", cl::desc("With --one: print the result as JSON"),
                   cl::sub(kiln::conformanceCommand), cl::cat(category));

int failure(const Twine &message) { return kiln::fail("conformance", message); }

std::string cacheRoot() {
  if (const char *xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg)
    return xdg;
  SmallString<256> home;
  if (!sys::path::home_directory(home))
    return "";
  sys::path::append(home, ".cache");
  return home.str().str();
}

/// The default data folder: $KILN_ONNX_NODE_DATA, else the newest
/// <cache>/kiln/onnx-node-<version>/node that the generator finished.
std::string defaultDataDir() {
  if (const char *env = std::getenv("KILN_ONNX_NODE_DATA"); env && *env)
    return env;
  std::string root = cacheRoot();
  if (root.empty())
    return "";
  SmallString<256> kilnCache(root);
  sys::path::append(kilnCache, "kiln");
  std::string best;
  VersionTuple bestVersion;
  std::error_code ec;
  for (sys::fs::directory_iterator it(kilnCache, ec), end; it != end && !ec;
       it.increment(ec)) {
    StringRef base = sys::path::filename(it->path());
    VersionTuple version;
    if (!base.consume_front("onnx-node-") || version.tryParse(base))
      continue;
    SmallString<256> stamp(it->path()), node(it->path());
    sys::path::append(stamp, ".kiln-node-tests");
    sys::path::append(node, "node");
    if (sys::fs::exists(stamp) && sys::fs::is_directory(node) &&
        (best.empty() || version > bestVersion))
      best = node.str().str(), bestVersion = version;
  }
  return best;
}

/// The onnx version from the generator's stamp next to `dir`, if any.
std::string onnxVersionOf(StringRef dir) {
  SmallString<256> stamp(sys::path::parent_path(dir));
  sys::path::append(stamp, ".kiln-node-tests");
  auto buffer = MemoryBuffer::getFile(stamp);
  if (!buffer)
    return "";
  nlohmann::json j =
      nlohmann::json::parse((*buffer)->getBuffer().str(), nullptr, false);
  if (j.is_object() && j.contains("onnx") && j["onnx"].is_string())
    return j["onnx"].get<std::string>();
  return "";
}

bool hasModel(StringRef dir) {
  SmallString<256> p(dir);
  sys::path::append(p, "model.onnx");
  return sys::fs::exists(p);
}

/// Case folders under `dir` (or `dir` itself when it is one), by name.
std::vector<std::string> findCases(StringRef dir) {
  if (hasModel(dir))
    return {dir.str()};
  std::vector<std::string> cases;
  std::error_code ec;
  for (sys::fs::directory_iterator it(dir, ec), end; it != end && !ec;
       it.increment(ec))
    if (hasModel(it->path()))
      cases.push_back(it->path());
  llvm::sort(cases, [](const std::string &a, const std::string &b) {
    return sys::path::filename(a) < sys::path::filename(b);
  });
  return cases;
}

std::string caseName(StringRef dir) {
  return sys::path::filename(sys::path::remove_leading_dotslash(dir)).str();
}

/// Reads model infos on demand (the primary op of an expanded case comes
/// from its base case).
class InfoCache {
public:
  const konnx::ModelInfo *get(StringRef caseDir) {
    auto [it, inserted] = infos.try_emplace(caseDir);
    if (inserted) {
      SmallString<256> p(caseDir);
      sys::path::append(p, "model.onnx");
      std::string error;
      it->second.ok = konnx::readModelInfo(p, it->second.info, error);
    }
    return it->second.ok ? &it->second.info : nullptr;
  }

private:
  struct Entry {
    konnx::ModelInfo info;
    bool ok = false;
  };
  StringMap<Entry> infos;
};

std::string opName(const konnx::NodeInfo &n) {
  return n.domain.empty() ? n.opType : n.domain + "." + n.opType;
}

/// The op a case tests: its only node's op; for a function's expanded case
/// (test_X_expanded...), the op of test_X; else its first node's.
std::string primaryOp(StringRef caseDir, InfoCache &cache) {
  const konnx::ModelInfo *info = cache.get(caseDir);
  if (!info)
    return "?";
  auto topLevel = [](const konnx::ModelInfo &m) {
    std::vector<const konnx::NodeInfo *> nodes;
    for (const konnx::NodeInfo &n : m.nodes)
      if (n.graphPath.empty())
        nodes.push_back(&n);
    return nodes;
  };
  std::vector<const konnx::NodeInfo *> nodes = topLevel(*info);
  if (nodes.size() == 1)
    return opName(*nodes[0]);
  std::string name = caseName(caseDir);
  size_t pos = name.find("_expanded");
  if (pos != std::string::npos) {
    SmallString<256> base(sys::path::parent_path(caseDir));
    sys::path::append(base, name.substr(0, pos));
    if (const konnx::ModelInfo *baseInfo = cache.get(base)) {
      std::vector<const konnx::NodeInfo *> baseNodes = topLevel(*baseInfo);
      if (baseNodes.size() == 1)
        return opName(*baseNodes[0]);
    }
  }
  return nodes.empty() ? "?" : opName(*nodes[0]);
}

/// The last `kiln conformance: <phase>` line a child wrote, and its last
/// other line (an LLVM ERROR, say), from its stderr log.
void lastLines(StringRef errFile, std::string &phaseLine,
               std::string &otherLine) {
  auto buffer = MemoryBuffer::getFile(errFile);
  if (!buffer)
    return;
  SmallVector<StringRef> lines;
  (*buffer)->getBuffer().split(lines, '\n', -1, /*KeepEmpty=*/false);
  for (StringRef line : lines) {
    line = line.trim();
    if (line.consume_front("kiln conformance: "))
      phaseLine = line.str();
    else if (otherLine.empty() &&
             (line.contains_insensitive("error") ||
              line.contains("Assertion") || line.contains("terminate") ||
              line.contains("what():")))
      otherLine = line.str();
  }
}

std::string firstLine(StringRef s) { return s.split('\n').first.str(); }

int runOne() {
  kiln::conformance::CaseOptions options;
  options.optLevel = optLevel;
  options.tracePhases = json;
  options.bindConstantInputs = bindConstantInputs;
  SmallString<256> tmp;
  if (!workDir.empty()) {
    options.workDir = workDir;
  } else {
    if (std::error_code ec =
            sys::fs::createUniqueDirectory("kiln-conformance-case", tmp))
      return failure("cannot create a temporary folder: " + ec.message());
    options.workDir = tmp.str().str();
  }
  CaseResult r = runCase(oneCase, options);
  InfoCache cache;
  r.op = primaryOp(oneCase, cache);
  if (!tmp.empty() && !keep)
    sys::fs::remove_directories(tmp);
  if (json) {
    outs() << toJson(r).dump() << "\n";
  } else {
    outs() << r.name << ": " << outcomeLabel(r.outcome)
           << format(" (%.2f s)", r.seconds);
    if (!r.message.empty())
      outs() << ": " << r.message;
    if (!r.constantInputs.empty())
      outs() << " [inputs bound as constants: "
             << llvm::join(r.constantInputs, ", ") << "]";
    outs() << "\n";
  }
  return 0;
}

struct Child {
  size_t index;
  sys::ProcessInfo process;
  std::chrono::steady_clock::time_point start;
  std::string work, outFile, errFile;
};

/// Reads what a finished child left: its JSON result, or a crash.
CaseResult collect(const Child &child, const std::string &name,
                   const sys::ProcessInfo &status, const std::string &waitMsg,
                   bool timedOut, double seconds) {
  CaseResult r;
  r.name = name;
  r.seconds = seconds;
  std::string phaseLine, otherLine;
  lastLines(child.errFile, phaseLine, otherLine);
  std::string where = phaseLine.empty() ? "" : " during " + phaseLine;
  if (timedOut) {
    r.outcome = Outcome::Timeout;
    r.message = "killed after " + std::to_string(timeout) + " s" + where;
    return r;
  }
  if (status.ReturnCode == 0) {
    if (auto buffer = MemoryBuffer::getFile(child.outFile)) {
      SmallVector<StringRef> lines;
      (*buffer)->getBuffer().split(lines, '\n', -1, /*KeepEmpty=*/false);
      for (StringRef line : llvm::reverse(lines)) {
        if (!line.trim().starts_with("{"))
          continue;
        nlohmann::json j = nlohmann::json::parse(line.str(), nullptr, false);
        CaseResult parsed;
        if (fromJson(j, parsed)) {
          parsed.seconds = seconds;
          return parsed;
        }
        break;
      }
    }
  }
  r.outcome = Outcome::Crash;
  if (status.ReturnCode == -2)
    r.message = (waitMsg.empty() ? "killed by a signal" : waitMsg) + where;
  else
    r.message = "exited with status " + std::to_string(status.ReturnCode) +
                " and no result" + where;
  if (!otherLine.empty())
    r.message += ": " + otherLine;
  return r;
}

bool writeFile(StringRef path, const std::function<void(raw_ostream &)> &fn) {
  std::error_code ec;
  raw_fd_ostream os(path, ec, sys::fs::OF_Text);
  if (ec) {
    failure("cannot write '" + path + "': " + ec.message());
    return false;
  }
  fn(os);
  return true;
}
} // namespace

int kiln::conformanceMain() {
  if (!oneCase.empty())
    return runOne();

  std::string dir = dataDir.empty() ? defaultDataDir() : dataDir.getValue();
  if (dir.empty())
    return failure(
        "no ONNX node test data found. Generate it with\n"
        "  .venv/bin/python test/conformance/generate_node_tests.py\n"
        "(writes ~/.cache/kiln/onnx-node-<onnx version>/node), or "
        "give a folder: kiln conformance DIR, or set "
        "KILN_ONNX_NODE_DATA");
  if (!sys::fs::is_directory(dir))
    return failure("'" + dir + "' is not a folder");
  std::vector<std::string> all = findCases(dir);
  if (all.empty())
    return failure("no test cases (folders with model.onnx) in '" + dir + "'");

  RunInfo info;
  info.dataDir = dir;
  info.onnxVersion = onnxVersionOf(dir);
  info.casesFound = all.size();
  info.optLevel = std::min(3u, optLevel.getValue());
  info.timeoutSeconds = timeout;
  info.bindConstantInputs = bindConstantInputs;
  info.jobs =
      jobs ? jobs.getValue()
           : std::max(1u, llvm::hardware_concurrency().compute_thread_count());

  // Selection: --expected (the listed cases, unless --all), then --filter.
  std::vector<std::string> expected;
  StringSet<> expectedSet;
  std::vector<std::string> missing;
  if (!expectedPath.empty()) {
    std::string error;
    if (!readExpectedList(expectedPath, expected, error))
      return failure(error);
    for (const std::string &name : expected)
      expectedSet.insert(name);
  }
  StringSet<> present;
  for (const std::string &c : all)
    present.insert(caseName(c));
  for (const std::string &name : expected)
    if (!present.contains(name))
      missing.push_back(name);
  std::optional<Regex> regex;
  if (!filter.empty()) {
    regex.emplace(filter);
    std::string error;
    if (!regex->isValid(error))
      return failure("--filter: " + error);
  }
  std::vector<std::string> selected;
  for (const std::string &c : all) {
    std::string name = caseName(c);
    if (!expectedPath.empty() && !runAll && !expectedSet.contains(name))
      continue;
    if (regex && !regex->match(name))
      continue;
    selected.push_back(c);
  }

  // Work folder and the children's environment.
  SmallString<256> work;
  bool ownWork = workDir.empty();
  if (ownWork) {
    if (std::error_code ec =
            sys::fs::createUniqueDirectory("kiln-conformance", work))
      return failure("cannot create a temporary folder: " + ec.message());
  } else {
    work = workDir;
    if (std::error_code ec = sys::fs::create_directories(work))
      return failure("cannot create '" + work + "': " + ec.message());
  }
  // A crashing child prints its stack unsymbolized (symbolizing is slow).
  ::setenv("LLVM_DISABLE_SYMBOLIZATION", "1", 1);
  std::string self = sys::fs::getMainExecutable(
      nullptr, reinterpret_cast<void *>(&kiln::conformanceMain));

  std::vector<CaseResult> results(selected.size());
  std::vector<bool> done(selected.size(), false);
  InfoCache cache;
  std::vector<size_t> queue;
  for (size_t i = 0; i < selected.size(); ++i) {
    results[i].name = caseName(selected[i]);
    results[i].op = primaryOp(selected[i], cache);
    if (const konnx::ModelInfo *mi = cache.get(selected[i])) {
      results[i].ops = distinctOps(*mi);
      std::string why = trainingExclusion(*mi);
      if (!why.empty()) {
        results[i].outcome = Outcome::Excluded;
        results[i].message = why;
        done[i] = true;
        continue;
      }
    }
    queue.push_back(i);
  }

  bool tty = sys::Process::StandardErrIsDisplayed();
  size_t toRun = queue.size(), finished = 0, passed = 0;
  errs() << "kiln conformance: " << toRun << " cases from " << dir << " ("
         << selected.size() - toRun << " excluded), " << info.jobs
         << " at a time\n";
  auto runStart = std::chrono::steady_clock::now();
  size_t nextLine = 0;
  auto progress = [&](const CaseResult &r) {
    ++finished;
    passed += r.outcome == Outcome::Pass;
    double elapsed = std::chrono::duration<double>(
                         std::chrono::steady_clock::now() - runStart)
                         .count();
    if (verbose) {
      errs() << format("[%4zu/%zu] ", finished, toRun)
             << left_justify(outcomeLabel(r.outcome), 14) << " " << r.name;
      if (r.outcome != Outcome::Pass && !r.message.empty())
        errs() << ": " << firstLine(r.message);
      errs() << "\n";
    } else if (tty) {
      std::string line =
          formatv("[{0}/{1}] pass {2}, other {3}, {4:f0} s  {5}", finished,
                  toRun, passed, finished - passed, elapsed, r.name);
      if (line.size() > 100)
        line.resize(100);
      errs() << "\r" << left_justify(line, 100);
      if (finished == toRun)
        errs() << "\n";
    } else if (finished >= nextLine || finished == toRun) {
      errs() << format("kiln conformance: %zu/%zu done, %zu pass, %.0f s\n",
                       finished, toRun, passed, elapsed);
      nextLine = finished + std::max<size_t>(1, toRun / 20);
    }
  };

  std::vector<Child> running;
  size_t next = 0;
  std::string optArg = "-O" + std::to_string(info.optLevel);
  while (next < queue.size() || !running.empty()) {
    // Start children up to -j.
    while (next < queue.size() && running.size() < info.jobs) {
      size_t i = queue[next++];
      Child child;
      child.index = i;
      SmallString<256> caseWork(work);
      sys::path::append(caseWork, results[i].name);
      child.work = caseWork.str().str();
      child.outFile = child.work + ".out";
      child.errFile = child.work + ".err";
      SmallVector<StringRef> args = {self,         "conformance", "--one",
                                     selected[i],  "--json",      optArg,
                                     "--work-dir", child.work};
      if (!bindConstantInputs)
        args.push_back("--bind-constant-inputs=false");
      std::optional<StringRef> redirects[] = {
          StringRef(""), StringRef(child.outFile), StringRef(child.errFile)};
      std::string error;
      bool execFailed = false;
      child.start = std::chrono::steady_clock::now();
      child.process = sys::ExecuteNoWait(self, args, std::nullopt, redirects,
                                         memoryLimit, &error, &execFailed);
      if (execFailed || child.process.Pid == 0) {
        results[i].outcome = Outcome::Crash;
        results[i].message = "cannot start the child: " + error;
        done[i] = true;
        progress(results[i]);
        continue;
      }
      running.push_back(std::move(child));
    }
    // Reap the finished ones, kill the late ones.
    bool any = false;
    for (size_t k = 0; k < running.size();) {
      Child &child = running[k];
      std::string waitMsg;
      sys::ProcessInfo status =
          sys::Wait(child.process, /*SecondsToWait=*/0, &waitMsg);
      double seconds = std::chrono::duration<double>(
                           std::chrono::steady_clock::now() - child.start)
                           .count();
      bool timedOut = false;
      if (status.Pid == 0) {
        if (seconds < timeout) {
          ++k;
          continue;
        }
        ::kill(child.process.Pid, SIGKILL);
        status = sys::Wait(child.process, std::nullopt, &waitMsg);
        timedOut = true;
      }
      size_t i = child.index;
      CaseResult r =
          collect(child, results[i].name, status, waitMsg, timedOut, seconds);
      r.op = results[i].op;
      if (r.ops.empty())
        r.ops = results[i].ops;
      results[i] = std::move(r);
      done[i] = true;
      if (!keep) {
        sys::fs::remove_directories(child.work);
        sys::fs::remove(child.outFile);
        sys::fs::remove(child.errFile);
      }
      progress(results[i]);
      running.erase(running.begin() + k);
      any = true;
    }
    if (!any && !running.empty())
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  info.wallSeconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - runStart)
          .count();
  if (ownWork && !keep)
    sys::fs::remove_directories(work);
  else if (keep)
    errs() << "kiln conformance: compiled cases and logs kept in " << work
           << "\n";

  // Reports.
  bool perOp = perOpTable.getNumOccurrences() ? perOpTable.getValue()
                                              : expectedPath.empty();
  printSummary(outs(), info, results, perOp);
  if (!summaryPath.empty() && !writeFile(summaryPath, [&](raw_ostream &os) {
        printSummary(os, info, results, /*perOp=*/true);
      }))
    return 1;
  if (!reportPath.empty() && !writeFile(reportPath, [&](raw_ostream &os) {
        os << makeReport(info, results).dump(1) << "\n";
      }))
    return 1;

  int status = 0;
  StringSet<> ran;
  for (const CaseResult &r : results)
    ran.insert(r.name);

  // --expected: listed cases must pass; unlisted passes are news.
  if (!expectedPath.empty()) {
    std::vector<const CaseResult *> regressions;
    std::vector<std::string> newPasses;
    size_t checked = 0;
    for (const CaseResult &r : results) {
      if (expectedSet.contains(r.name)) {
        ++checked;
        if (r.outcome != Outcome::Pass)
          regressions.push_back(&r);
      } else if (r.outcome == Outcome::Pass) {
        newPasses.push_back(r.name);
      }
    }
    outs() << "expected-pass list " << expectedPath << ": " << expected.size()
           << " listed, " << checked << " run, " << checked - regressions.size()
           << " pass, " << regressions.size() << " regressed";
    if (!missing.empty())
      outs() << ", " << missing.size() << " not in the data";
    outs() << "\n";
    for (const CaseResult *r : regressions)
      outs() << "  REGRESSION " << r->name << ": " << outcomeLabel(r->outcome)
             << ": " << firstLine(r->message) << "\n";
    for (const std::string &name : missing)
      outs() << "  MISSING " << name << ": listed, but no such case in " << dir
             << "\n";
    if (!newPasses.empty()) {
      outs() << "new passes: add them to " << expectedPath
             << " (kiln conformance --write-expected " << expectedPath
             << "):\n";
      for (const std::string &name : newPasses)
        outs() << "  " << name << "\n";
    }
    if (!regressions.empty() || !missing.empty())
      status = 1;
  }

  // --write-expected: passing cases plus the listed cases not run now.
  if (!writeExpected.empty()) {
    std::vector<std::string> old;
    if (sys::fs::exists(writeExpected)) {
      std::string error;
      if (!readExpectedList(writeExpected, old, error))
        return failure(error);
    }
    std::set<std::string> list;
    std::vector<std::string> dropped;
    for (const std::string &name : old) {
      if (!ran.contains(name))
        list.insert(name);
    }
    for (const CaseResult &r : results)
      if (r.outcome == Outcome::Pass)
        list.insert(r.name);
    for (const std::string &name : old)
      if (ran.contains(name) && !list.count(name))
        dropped.push_back(name);
    if (!dropped.empty() && !dropFailing) {
      errs() << "kiln conformance: not writing " << writeExpected << ": "
             << dropped.size()
             << " listed cases did not pass (the list only grows; "
                "--drop-failing drops them):\n";
      for (const std::string &name : dropped)
        errs() << "  " << name << "\n";
      return 1;
    }
    size_t added = list.size() + dropped.size() - old.size();
    if (!writeFile(writeExpected, [&](raw_ostream &os) {
          os << "# ONNX backend node tests that kiln passes";
          if (!info.onnxVersion.empty())
            os << " (onnx " << info.onnxVersion << ")";
          os << ": one case name per line, sorted.\n"
                "# test/conformance/expected_pass.test runs these cases and "
                "fails when one stops\n"
                "# passing. The list only grows; regenerate it from a full "
                "run with\n"
                "#   kiln conformance --write-expected "
                "test/conformance/expected_pass.txt\n";
          for (const std::string &name : list)
            os << name << "\n";
        }))
      return 1;
    outs() << "kiln conformance: wrote " << writeExpected << ": " << list.size()
           << " cases (" << added << " added"
           << (dropped.empty()
                   ? ""
                   : ", " + std::to_string(dropped.size()) + " dropped")
           << ")\n";
  }
  return status;
}
