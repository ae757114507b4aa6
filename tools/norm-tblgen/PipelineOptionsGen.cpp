//===- PipelineOptionsGen.cpp - Pass pipeline options from TableGen -------===//
//
// -gen-pipeline-options turns each `PipelineOptions` record (see
// norm/Pipelines/PipelineBase.td) into a `PassPipelineOptions` struct. The
// options a pipeline takes from a pass are declared as the pass's definition
// declares them (argument, type, default, help after the pass's argument),
// and a generated method returns the pass's options struct filled from
// them, so that neither the declarations nor the copies are written by hand.
//
//===----------------------------------------------------------------------===//

#include "mlir/TableGen/GenInfo.h"
#include "mlir/TableGen/Pass.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/TableGen/Error.h"
#include "llvm/TableGen/Record.h"
#include "llvm/TableGen/TableGenBackend.h"

using namespace mlir;
using namespace mlir::tblgen;
using llvm::formatv;
using llvm::Record;
using llvm::RecordKeeper;

namespace {
/// The options that a pipeline takes from one pass.
struct TakenPassOptions {
  explicit TakenPassOptions(const Record *def)
      : pass(def->getValueAsDef("pass")) {}

  /// The pass whose options are taken.
  Pass pass;
  /// Those options, in the pass's order.
  std::vector<PassOption> options;
};

/// A `PipelineOptions` record.
class PipelineOptions {
public:
  explicit PipelineOptions(const Record *def);

  /// The name of the record, and of the generated struct.
  StringRef getName() const { return def->getName(); }

  ArrayRef<TakenPassOptions> getPassOptions() const { return passOptions; }
  ArrayRef<PassOption> getOwnOptions() const { return ownOptions; }

private:
  const Record *def;
  std::vector<TakenPassOptions> passOptions;
  std::vector<PassOption> ownOptions;
};
} // namespace

PipelineOptions::PipelineOptions(const Record *def) : def(def) {
  // Arguments and C++ names are both unique within a pipeline's options.
  llvm::StringSet<> arguments, cppNames;
  auto add = [&](const PassOption &option, StringRef origin) {
    if (!arguments.insert(option.getArgument()).second)
      llvm::PrintFatalError(def, "option '" + option.getArgument() + "' (" +
                                     origin + ") is declared twice");
    if (!cppNames.insert(option.getCppVariableName()).second)
      llvm::PrintFatalError(def, "option name '" + option.getCppVariableName() +
                                     "' (" + origin + ") is used twice");
  };

  for (const Record *taken : def->getValueAsListOfDefs("passOptions")) {
    TakenPassOptions &entry = passOptions.emplace_back(taken);
    std::vector<StringRef> except = taken->getValueAsListOfStrings("except");
    for (StringRef name : except) {
      if (llvm::none_of(entry.pass.getOptions(), [&](const PassOption &opt) {
            return opt.getCppVariableName() == name;
          }))
        llvm::PrintFatalError(taken, "'" + entry.pass.getArgument() +
                                         "' has no option named '" + name +
                                         "'");
    }
    for (const PassOption &option : entry.pass.getOptions()) {
      if (llvm::is_contained(except, option.getCppVariableName()))
        continue;
      add(option, entry.pass.getArgument());
      entry.options.push_back(option);
    }
  }

  for (const Record *option : def->getValueAsListOfDefs("options")) {
    ownOptions.emplace_back(option);
    add(ownOptions.back(), "the pipeline's own");
  }
}

/// Emits the declaration of `option` as a member of a `PassPipelineOptions`
/// struct, its help preceded by `helpPrefix`.
static void emitOptionDecl(const PassOption &option, StringRef helpPrefix,
                           raw_ostream &os) {
  os << formatv("  ::mlir::detail::PassOptions::{0}<{1}> {2}{{*this, \"{3}\", "
                "::llvm::cl::desc(R\"PO({4}{5})PO\")",
                option.isListOption() ? "ListOption" : "Option",
                option.getType(), option.getCppVariableName(),
                option.getArgument(), helpPrefix,
                option.getDescription().trim());
  if (std::optional<StringRef> defaultValue = option.getDefaultValue())
    os << ", ::llvm::cl::init(" << *defaultValue << ")";
  if (std::optional<StringRef> flags = option.getAdditionalFlags())
    os << ", " << *flags;
  os << "};\n";
}

/// Emits the method that returns the options struct of `taken.pass` with the
/// values of the pipeline's options taken from it.
static void emitPassOptionsGetter(const TakenPassOptions &taken,
                                  raw_ostream &os) {
  StringRef passName = taken.pass.getDef()->getName();
  os << formatv("\n  /// Returns the options of `{0}`: the values of those "
                "taken\n  /// from it, the defaults of the others.\n",
                taken.pass.getArgument());
  os << formatv("  {0}Options get{0}Options() const {{\n", passName);
  os << formatv("    {0}Options result;\n", passName);
  for (const PassOption &option : taken.options) {
    StringRef name = option.getCppVariableName();
    if (option.isListOption())
      os << formatv("    result.{0}.assign(this->{0}.begin(), "
                    "this->{0}.end());\n",
                    name);
    else
      os << formatv("    result.{0} = this->{0};\n", name);
  }
  os << "    return result;\n  }\n";
}

static void emitPipelineOptions(const PipelineOptions &pipeline,
                                raw_ostream &os) {
  StringRef name = pipeline.getName();
  os << formatv(R"(
//===----------------------------------------------------------------------===//
// {0}
//===----------------------------------------------------------------------===//

/// The options of a pass pipeline, generated from the record `{0}`.
struct {0} : public ::mlir::PassPipelineOptions<{0}> {{
)",
                name);
  for (const TakenPassOptions &taken : pipeline.getPassOptions()) {
    os << formatv("  // From {0}.\n", taken.pass.getArgument());
    std::string helpPrefix = (taken.pass.getArgument() + ": ").str();
    for (const PassOption &option : taken.options)
      emitOptionDecl(option, helpPrefix, os);
  }
  if (!pipeline.getOwnOptions().empty()) {
    os << "  // The pipeline's own.\n";
    for (const PassOption &option : pipeline.getOwnOptions())
      emitOptionDecl(option, /*helpPrefix=*/"", os);
  }
  for (const TakenPassOptions &taken : pipeline.getPassOptions())
    emitPassOptionsGetter(taken, os);
  os << "};\n";
}

static bool emitPipelineOptionsDecls(const RecordKeeper &records,
                                     raw_ostream &os) {
  llvm::emitSourceFileHeader("Pass pipeline options", os, records);
  for (const Record *def :
       records.getAllDerivedDefinitionsIfDefined("PipelineOptions"))
    emitPipelineOptions(PipelineOptions(def), os);
  return false;
}

static GenRegistration
    genPipelineOptions("gen-pipeline-options",
                       "Generate pass pipeline options structs",
                       emitPipelineOptionsDecls);
