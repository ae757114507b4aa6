//===- NormPlugin.cpp - norm-mlir as a plugin of a stock mlir-opt ---------===//
//
// NormPlugin.so loads into an `mlir-opt` of the LLVM it was built against
// (Debian's /usr/lib/llvm-22/bin/mlir-opt):
//
//   mlir-opt --load-dialect-plugin=NormPlugin.so \
//            --load-pass-plugin=NormPlugin.so \
//            --pass-pipeline="builtin.module(norm-capture, norm-cpu-pipeline)"
//
// mlir-opt loads pass plugins while it parses its command line, after it
// has made a flag of every pass registered then; the plugin's passes and
// pipelines are therefore named in --pass-pipeline, not as flags.
//
// The dialect plugin registers the norm dialect, its interface models and
// its transform dialect extension; the pass plugin registers every norm pass
// and both pipelines. The plugin links the project's libraries and, like
// mlir-opt, Debian's libMLIR.so, so that one copy of MLIR (and of its
// registries) serves the tool and the plugin.
//
// A plugin is only usable by the LLVM it was built against: the C++ ABI of
// MLIR changes with every release. Before handing its callbacks over, each
// entry point asks the process which LLVM it runs (the C API's
// LLVMGetVersion, which resolves to the tool's libLLVM); on a mismatch it
// says so on stderr and returns API version 0, which every MLIR rejects,
// instead of callbacks that would crash. What cannot be detected: a tool
// that exports no LLVMGetVersion (statically linked, symbols hidden) is
// trusted; and patch releases of one major.minor share a soname and an ABI,
// so they are accepted.
//
//===----------------------------------------------------------------------===//

#include "mlir/Tools/Plugins/DialectPlugin.h"
#include "mlir/Tools/Plugins/PassPlugin.h"
#include "norm/InitNorm.h"
#include "llvm/Config/llvm-config.h"
#include "llvm/Support/raw_ostream.h"

#include <dlfcn.h>
#include <mutex>

using namespace mlir;

/// The name of the plugin, with the LLVM it was built for.
static constexpr const char *kPluginName =
    "NormPlugin (norm-mlir for LLVM " LLVM_VERSION_STRING ")";
/// The plugin's version: the LLVM it was built for.
static constexpr const char *kPluginVersion = LLVM_VERSION_STRING;

/// Whether the process runs the LLVM release this plugin was built against
/// (same major and minor version, as the shared libraries' sonames are).
/// Says why not on stderr. A process without LLVM's C API in its global
/// symbols (a statically linked tool that exports none) cannot be checked
/// and is assumed to match.
static bool isHostCompatible() {
  using GetVersionFn = void (*)(unsigned *, unsigned *, unsigned *);
  // The first definition in the process's global scope: the tool's
  // libLLVM, loaded before this plugin and its own dependencies.
  auto getVersion =
      reinterpret_cast<GetVersionFn>(dlsym(RTLD_DEFAULT, "LLVMGetVersion"));
  if (!getVersion)
    return true;
  unsigned major = 0, minor = 0, patch = 0;
  getVersion(&major, &minor, &patch);
  if (major == LLVM_VERSION_MAJOR && minor == LLVM_VERSION_MINOR)
    return true;
  llvm::errs() << "NormPlugin: built for LLVM " << LLVM_VERSION_STRING
               << ", but loaded into a tool running LLVM " << major << "."
               << minor << "." << patch
               << "; rebuild norm-mlir against that LLVM (refusing to load)\n";
  return false;
}

/// The plugin API version to announce: MLIR_PLUGIN_API_VERSION, or 0 (which
/// no MLIR accepts) when the process runs another LLVM.
static uint32_t getAPIVersion() {
  return isHostCompatible() ? MLIR_PLUGIN_API_VERSION : 0;
}

/// Registers the norm dialect, its interface models and its transform
/// dialect extension.
static void registerDialects(DialectRegistry *registry) {
  norm::registerNormDialects(*registry);
}

/// Registers every norm pass and pipeline, once however often the plugin is
/// named on the command line.
static void registerPasses() {
  static std::once_flag once;
  std::call_once(once, [] { norm::registerNormPasses(); });
}

extern "C" LLVM_ATTRIBUTE_WEAK DialectPluginLibraryInfo
mlirGetDialectPluginInfo() {
  return {getAPIVersion(), kPluginName, kPluginVersion, registerDialects};
}

extern "C" LLVM_ATTRIBUTE_WEAK PassPluginLibraryInfo mlirGetPassPluginInfo() {
  return {getAPIVersion(), kPluginName, kPluginVersion, registerPasses};
}
