//===- Passes.cpp - C API for the norm passes -----------------------------===//

#include "norm-c/Passes.h"

#include "mlir/CAPI/Pass.h"
#include "mlir/CAPI/Support.h"
#include "mlir/CAPI/Utils.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "norm/InitNorm.h"
#include "llvm/ADT/ScopeExit.h"

using namespace mlir;

void mlirRegisterNormPasses() {
  // Registering a pass pipeline twice is a fatal error in MLIR, so only the
  // first call registers (thread-safe, as a function-local static).
  static const bool registered = [] {
    norm::registerNormPasses();
    return true;
  }();
  (void)registered;
}

MlirLogicalResult
mlirNormOpPassManagerAddPassFlag(MlirOpPassManager passManager,
                                 MlirStringRef name, MlirStringRef options,
                                 MlirStringCallback callback, void *userData) {
  OpPassManager &pm = *unwrap(passManager);
  detail::CallbackOstream errorStream(callback, userData);
  auto errorHandler = [&](const Twine &message) {
    errorStream << message << "\n";
    return failure();
  };

  StringRef passName = unwrap(name);
  const PassRegistryEntry *entry = PassPipelineInfo::lookup(passName);
  if (!entry)
    entry = PassInfo::lookup(passName);
  if (!entry)
    return wrap(errorHandler("'" + passName +
                             "' does not refer to a registered pass or pass "
                             "pipeline"));

  // Implicit nesting while the flag is added, as on the command line; the
  // pass manager's own setting is restored afterwards.
  OpPassManager::Nesting nesting = pm.getNesting();
  pm.setNesting(OpPassManager::Nesting::Implicit);
  llvm::scope_exit restoreNesting([&] { pm.setNesting(nesting); });
  return wrap(entry->addToPipeline(pm, unwrap(options), errorHandler));
}
