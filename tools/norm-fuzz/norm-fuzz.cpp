//===- norm-fuzz.cpp - libFuzzer target: IR text through every norm pass --===//
//
// Each input is MLIR text. It is parsed with every dialect `norm-opt` knows,
// verified, and, when it parses and verifies, printed and parsed back (custom
// and generic form), then run through every norm pass and pipeline that is
// registered, each on its own copy of the module. What counts as a bug:
//
//   - a crash, an assertion, a sanitizer report (the process dies);
//   - a pass that succeeds but leaves IR that does not verify (checked after
//     every pass, as `-verify-each` does);
//   - a pass that fails without emitting an error (norm-opt would exit
//     non-zero without saying why), or that emits an error but succeeds
//     (norm-opt would print it and exit 0);
//   - IR that verifies but does not print and parse back;
//   - tiling a norm op along its rows (TilingInterface, scf.for and
//     scf.forall) that leaves IR that does not verify.
//
// The last three abort with a message on stderr, so that libFuzzer records
// the input as a crash.
//
// The pipelines are a fixed list of candidates (kCandidatePipelines); those
// whose passes are not registered are skipped, so a pass joins the fuzzing as
// soon as it is registered with `norm-opt`. NORM_FUZZ_PIPELINES (`;`-separated
// pipeline strings) replaces the list. An input whose first line is
// `// PIPELINE: <pass>{<options>}` also runs that norm pass with those
// options, so the fuzzer mutates pass options too.
//
//===----------------------------------------------------------------------===//

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassInstrumentation.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "norm/InitNorm.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdlib>
#include <string>
#include <vector>

using namespace mlir;

/// Candidate pipelines, each run on the whole module. A pass anchored on
/// `func.func` is nested automatically. Keep this list in step with what the
/// project registers: a name that is not (yet) registered is skipped.
static const char *const kCandidatePipelines[] = {
    // The dialect's canonicalisation patterns and folders.
    "canonicalize,cse",
    // Bufferization of norm ops (destination-passing, write-only inits).
    "eliminate-empty-tensors,one-shot-bufferize{bufferize-function-boundaries}",
    // Reference lowering, on tensors and after bufferization.
    "convert-norm-to-linalg",
    "one-shot-bufferize{bufferize-function-boundaries},convert-norm-to-linalg",
    // f8E4M3FN truncations as integer arithmetic (quantised outputs).
    "norm-expand-fp8-casts",
    "convert-norm-to-linalg,norm-expand-fp8-casts",
    // Capture and fusion, alone and chained.
    "norm-capture",
    "norm-fuse",
    "norm-capture,norm-fuse,canonicalize,convert-norm-to-linalg",
    // The lowerings and the pipelines.
    "convert-norm-to-affine",
    "one-shot-bufferize{bufferize-function-boundaries},convert-norm-to-affine",
    "convert-norm-to-gpu",
    "one-shot-bufferize{bufferize-function-boundaries},convert-norm-to-gpu",
    "norm-cpu-pipeline",
    "norm-gpu-pipeline{format=isa}",
    ("norm-gpu-pipeline{format=isa block-size=64 rows-per-block=2 "
     "vector-width=2}"),
    "norm-gpu-pipeline{format=llvm}",
    // The GPU pipeline's own passes, on their own.
    "norm-gpu-device-buffers",
    "norm-gpu-sqrt-to-llvm",
    "norm-capture,norm-fuse,norm-cpu-pipeline",
    "norm-capture,norm-fuse,norm-gpu-pipeline{format=isa}",
};

/// Dialects an input may use. Inputs with other ops are rejected early: the
/// fuzzer is after bugs in norm-mlir, not in unrelated upstream dialects.
static const char *const kAllowedDialects[] = {
    "builtin", "func",          "arith", "math", "tensor", "memref", "linalg",
    "bufferization", "norm",    "tosa",  "scf",  "affine", "vector", "gpu"};

namespace {
/// Global state built once: the registry and the pipelines that exist.
struct FuzzerState {
  DialectRegistry registry;
  std::vector<std::string> pipelines;
};

/// Whether to say what happens to each input (NORM_FUZZ_VERBOSE=1), to
/// triage a finding.
static bool isVerbose() {
  static bool verbose = std::getenv("NORM_FUZZ_VERBOSE") != nullptr;
  return verbose;
}

/// Counts error diagnostics and swallows every diagnostic (fuzzing would
/// otherwise spend its time printing them), unless verbose.
class DiagnosticCounter {
public:
  explicit DiagnosticCounter(MLIRContext &context)
      : handler(&context, [this](Diagnostic &diag) {
          if (diag.getSeverity() == DiagnosticSeverity::Error)
            ++numErrors;
          if (isVerbose())
            llvm::errs() << diag.getLocation() << ": " << diag << "\n";
          return success();
        }) {}
  unsigned numErrors = 0;

private:
  ScopedDiagnosticHandler handler;
};

/// Checks the IR after every pass: a pass that succeeds must leave valid IR
/// (`-verify-each`), a pass that fails must have said why.
class CheckingInstrumentation : public PassInstrumentation {
public:
  CheckingInstrumentation(DiagnosticCounter &diagnostics, StringRef pipeline)
      : diagnostics(diagnostics), pipeline(pipeline.str()) {}

  void runBeforePass(Pass *pass, Operation *op) override {
    errorsBefore.push_back(diagnostics.numErrors);
  }
  void runAfterPass(Pass *pass, Operation *op) override {
    unsigned before = errorsBefore.pop_back_val();
    if (diagnostics.numErrors > before)
      fail(pass, "emitted an error but succeeded (norm-opt would exit 0)");
    if (succeeded(verify(op)))
      return;
    fail(pass, "succeeded but left IR that does not verify");
  }
  void runAfterPassFailed(Pass *pass, Operation *op) override {
    unsigned before = errorsBefore.pop_back_val();
    if (diagnostics.numErrors > before)
      return;
    fail(pass, "failed without emitting an error");
  }

private:
  [[noreturn]] void fail(Pass *pass, StringRef what) {
    llvm::errs() << "norm-fuzz: pass '" << pass->getArgument() << "' ("
                 << pass->getName() << ") in pipeline '" << pipeline << "' "
                 << what << "\n";
    std::abort();
  }

  DiagnosticCounter &diagnostics;
  std::string pipeline;
  SmallVector<unsigned> errorsBefore;
};
} // namespace

static FuzzerState &getState() {
  static FuzzerState *state = new FuzzerState();
  return *state;
}

/// Splits a textual pipeline at its top-level commas (not those inside
/// `{options}` or `nested(...)`).
static SmallVector<StringRef> splitTopLevel(StringRef pipeline) {
  SmallVector<StringRef> parts;
  int depth = 0;
  size_t start = 0;
  for (size_t i = 0, e = pipeline.size(); i < e; ++i) {
    char c = pipeline[i];
    if (c == '{' || c == '(')
      ++depth;
    else if (c == '}' || c == ')')
      --depth;
    else if (c == ',' && depth == 0) {
      parts.push_back(pipeline.slice(start, i).trim());
      start = i + 1;
    }
  }
  parts.push_back(pipeline.drop_front(start).trim());
  return parts;
}

/// `pipeline` (comma-separated passes, without an anchor) as a pipeline for
/// a `builtin.module` pass manager: each pass that cannot run on a module is
/// nested under `func.func` or `gpu.module`. Empty if a pass is not
/// registered (or its options do not parse).
static std::string anchorPipeline(MLIRContext &context, StringRef pipeline) {
  SmallVector<std::string> anchored;
  for (StringRef pass : splitTopLevel(pipeline)) {
    std::string found;
    for (std::string candidate :
         {pass.str(), ("func.func(" + pass + ")").str(),
          ("gpu.module(" + pass + ")").str()}) {
      PassManager pm(&context);
      if (failed(parsePassPipeline(candidate, pm, llvm::nulls())))
        continue;
      // A pass anchored on another op fails to schedule on a module when
      // the pass manager runs: try it on an empty module.
      OwningOpRef<ModuleOp> module =
          ModuleOp::create(UnknownLoc::get(&context));
      DiagnosticCounter diagnostics(context);
      if (succeeded(pm.run(*module))) {
        found = candidate;
        break;
      }
    }
    if (found.empty())
      return "";
    anchored.push_back(found);
  }
  return llvm::join(anchored, ",");
}

extern "C" int LLVMFuzzerInitialize(int *argc, char ***argv) {
  registerAllPasses();
  norm::registerNormPasses();
  FuzzerState &state = getState();
  registerAllDialects(state.registry);
  registerAllExtensions(state.registry);
  norm::registerNormDialects(state.registry);

  MLIRContext context(state.registry, MLIRContext::Threading::DISABLED);
  context.loadAllAvailableDialects();
  SmallVector<StringRef> candidates(std::begin(kCandidatePipelines),
                                    std::end(kCandidatePipelines));
  std::string fromEnv;
  if (const char *env = std::getenv("NORM_FUZZ_PIPELINES")) {
    fromEnv = env;
    candidates.clear();
    StringRef(fromEnv).split(candidates, ';', /*MaxSplit=*/-1,
                             /*KeepEmpty=*/false);
  }
  for (StringRef candidate : candidates) {
    std::string anchored = anchorPipeline(context, candidate.trim());
    llvm::errs() << "norm-fuzz: " << (anchored.empty() ? "skipping" : "running")
                 << " '" << candidate.trim() << "'";
    if (!anchored.empty() && anchored != candidate.trim())
      llvm::errs() << " as '" << anchored << "'";
    llvm::errs() << "\n";
    if (!anchored.empty())
      state.pipelines.push_back(std::move(anchored));
  }
  return 0;
}

/// Whether every op in `module` is from an allowed dialect.
static bool usesOnlyAllowedDialects(ModuleOp module) {
  static const llvm::StringSet<> allowed = [] {
    llvm::StringSet<> names;
    for (const char *name : kAllowedDialects)
      names.insert(name);
    return names;
  }();
  WalkResult result = module->walk([](Operation *op) -> WalkResult {
    return allowed.contains(op->getName().getDialectNamespace())
               ? WalkResult::advance()
               : WalkResult::interrupt();
  });
  return !result.wasInterrupted();
}

/// The pipeline an input asks for on its first line, anchored, if it names a
/// norm pass (`// PIPELINE: norm-cpu-pipeline{...}`).
static std::string getInputPipeline(MLIRContext &context, StringRef input) {
  StringRef firstLine = input.split('\n').first;
  if (!firstLine.consume_front("// PIPELINE:"))
    return "";
  StringRef pass = firstLine.trim();
  StringRef name = pass.take_until([](char c) { return c == '{'; });
  if (!name.starts_with("norm-") && !name.starts_with("convert-norm-"))
    return "";
  if (!PassInfo::lookup(name) && !PassPipelineInfo::lookup(name))
    return "";
  return anchorPipeline(context, pass);
}

/// Prints `module` (generic form if `generic`) and parses it back; aborts if
/// that fails.
static void checkRoundTrip(MLIRContext &context, ModuleOp module,
                           bool generic) {
  std::string text;
  llvm::raw_string_ostream os(text);
  OpPrintingFlags flags;
  if (generic)
    flags.printGenericOpForm();
  module->print(os, flags);
  DiagnosticCounter diagnostics(context);
  OwningOpRef<ModuleOp> reparsed = parseSourceString<ModuleOp>(text, &context);
  if (reparsed && succeeded(verify(*reparsed)))
    return;
  llvm::errs() << "norm-fuzz: the " << (generic ? "generic" : "custom")
               << " form does not parse back:\n"
               << text << "\n";
  std::abort();
}

/// Tiles every norm op of `module` along its rows by 3 with `loopType`
/// loops, as `transform.structured.tile_using_for/forall` would; aborts if
/// the result does not verify. Tiling may fail (with a diagnostic): that is
/// allowed.
static void checkTiling(MLIRContext &context, ModuleOp module,
                        scf::SCFTilingOptions::LoopType loopType) {
  OwningOpRef<ModuleOp> copy = module.clone();
  SmallVector<TilingInterface> normOps;
  copy->walk([&](TilingInterface op) {
    if (op->getName().getDialectNamespace() == "norm")
      normOps.push_back(op);
  });
  if (normOps.empty())
    return;
  // What the tiled loops are made of (a pass or the transform interpreter
  // would load these as dependent dialects).
  context.loadDialect<affine::AffineDialect, arith::ArithDialect,
                      memref::MemRefDialect, scf::SCFDialect,
                      tensor::TensorDialect>();
  DiagnosticCounter diagnostics(context);
  IRRewriter rewriter(&context);
  for (TilingInterface op : normOps) {
    // Norm ops tile along their rows; a gradient op summing over its rows
    // (dgamma, dbeta) has reduction loops, refuses to be tiled, and a
    // refusal inside tileUsingSCF leaves its loops half-built (the
    // transform ops report it; test/Dialect/Norm/tiling-grad-reduction.mlir).
    SmallVector<utils::IteratorType> iterators = op.getLoopIteratorTypes();
    size_t numLoops = iterators.size();
    if (numLoops == 0 ||
        llvm::is_contained(iterators, utils::IteratorType::reduction))
      continue;
    scf::SCFTilingOptions options;
    options.setLoopType(loopType);
    options.setTileSizes(SmallVector<OpFoldResult>(
        numLoops, rewriter.getIndexAttr(3)));
    rewriter.setInsertionPoint(op);
    FailureOr<scf::SCFTilingResult> tiled =
        scf::tileUsingSCF(rewriter, op, options);
    if (failed(tiled))
      continue;
    rewriter.replaceOp(op, tiled->replacements);
  }
  if (succeeded(verify(*copy)))
    return;
  llvm::errs() << "norm-fuzz: tiling norm ops (" 
               << (loopType == scf::SCFTilingOptions::LoopType::ForOp
                       ? "scf.for"
                       : "scf.forall")
               << ") left IR that does not verify\n";
  std::abort();
}

/// Whether `text`, from `[`, is a well-formed list of i64s up to its `]`.
static bool isI64ArrayLiteral(StringRef text) {
  if (!text.consume_front("["))
    return false;
  text = text.ltrim();
  if (text.consume_front("]"))
    return true;
  while (true) {
    text.consume_front("-");
    size_t digits = text.find_if_not(llvm::isDigit);
    // 1 to 18 digits (always in range of i64), then more text (npos, the
    // digits running to the end, is > 18 too).
    if (digits == 0 || digits > 18)
      return false;
    text = text.drop_front(digits).ltrim();
    if (text.consume_front("]"))
      return true;
    if (!text.consume_front(","))
      return false;
    text = text.ltrim();
  }
}

/// Whether `input` may reach a known crash in upstream MLIR's parser. The
/// custom forms of linalg.reduce, linalg.broadcast and linalg.transpose read
/// `dimensions = [...]` and `permutation = [...]` with a helper that keeps
/// the null attribute a parse error leaves and then dereferences it (LLVM
/// 22; mlir-opt segfaults the same way on known-upstream/). Such inputs are
/// rejected before parsing unless every such list is well formed, so the
/// fuzzer hunts our bugs, not that one. (This also rejects the generic
/// form's `dimensions = array<i64: ...>`, which norm passes never see
/// differently from the custom form.)
static bool mayReachKnownUpstreamCrash(StringRef input) {
  auto isIdentifierChar = [](char c) {
    return llvm::isAlnum(c) || StringRef("_$.%#@^").contains(c);
  };
  for (StringRef keyword : {"dimensions", "permutation"}) {
    for (size_t pos = input.find(keyword); pos != StringRef::npos;
         pos = input.find(keyword, pos + 1)) {
      size_t end = pos + keyword.size();
      if ((pos > 0 && isIdentifierChar(input[pos - 1])) ||
          (end < input.size() && isIdentifierChar(input[end])))
        continue;
      StringRef rest = input.drop_front(end).ltrim();
      if (rest.consume_front("=") && !isI64ArrayLiteral(rest.ltrim()))
        return true;
    }
  }
  return false;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  FuzzerState &state = getState();
  StringRef input(reinterpret_cast<const char *>(data), size);
  if (mayReachKnownUpstreamCrash(input)) {
    if (isVerbose())
      llvm::errs() << "norm-fuzz: rejected: may reach a known upstream crash\n";
    return -1;
  }
  // The parser wants a null-terminated buffer.
  std::string text = input.str();

  MLIRContext context(state.registry, MLIRContext::Threading::DISABLED);
  context.allowUnregisteredDialects(false);
  DiagnosticCounter diagnostics(context);
  OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(text, &context);
  if (!module || failed(verify(*module))) {
    if (isVerbose())
      llvm::errs() << "norm-fuzz: the input does not parse or verify\n";
    return 0;
  }
  // Reject (keep out of the corpus) inputs that leave our dialects.
  if (!usesOnlyAllowedDialects(*module)) {
    if (isVerbose())
      llvm::errs() << "norm-fuzz: the input uses other dialects\n";
    return -1;
  }

  checkRoundTrip(context, *module, /*generic=*/false);
  checkRoundTrip(context, *module, /*generic=*/true);

  checkTiling(context, *module, scf::SCFTilingOptions::LoopType::ForOp);
  checkTiling(context, *module, scf::SCFTilingOptions::LoopType::ForallOp);

  std::vector<std::string> pipelines = state.pipelines;
  std::string fromInput = getInputPipeline(context, input);
  if (!fromInput.empty())
    pipelines.push_back(std::move(fromInput));

  // Pipelines that start with upstream passes (bufferization,
  // canonicalisation) are there for what those do to norm ops: on an input
  // without one they would only test upstream MLIR (whose bugs this fuzzer does not hunt, e.g.
  // one-shot-bufferize leaving a call whose result type no longer matches
  // its callee's on a memref-only module).
  bool hasNormOps = module->walk([](Operation *op) {
                          return op->getName().getDialectNamespace() == "norm"
                                     ? WalkResult::interrupt()
                                     : WalkResult::advance();
                        })
                        .wasInterrupted();
  auto startsUpstream = [](StringRef pipeline) {
    return !splitTopLevel(pipeline).front().contains("norm");
  };

  for (const std::string &pipeline : pipelines) {
    if (!hasNormOps && startsUpstream(pipeline))
      continue;
    OwningOpRef<ModuleOp> copy = module->clone();
    PassManager pm(&context);
    // Verification after each pass is done (and checked) by the
    // instrumentation.
    pm.enableVerifier(false);
    DiagnosticCounter pipelineDiagnostics(context);
    // `pipeline` is relative to the module pass manager (no anchor).
    if (failed(parsePassPipeline(pipeline, pm, llvm::nulls())))
      continue;
    pm.addInstrumentation(
        std::make_unique<CheckingInstrumentation>(pipelineDiagnostics,
                                                  pipeline));
    LogicalResult result = pm.run(*copy);
    if (isVerbose())
      llvm::errs() << "norm-fuzz: '" << pipeline << "' "
                   << (succeeded(result) ? "succeeded" : "failed") << "\n";
  }
  return 0;
}
