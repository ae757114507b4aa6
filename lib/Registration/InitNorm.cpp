//===- InitNorm.cpp - Register everything norm-mlir provides --------------===//

#include "norm/InitNorm.h"

#include "norm/Conversion/Passes.h"
#include "norm/Dialect/Norm/IR/NormOps.h"
#include "norm/Dialect/Norm/TransformOps/NormTransformOps.h"
#include "norm/Pipelines/Pipelines.h"
#include "norm/Transforms/Passes.h"

void mlir::norm::registerNormDialects(DialectRegistry &registry) {
  registry.insert<NormDialect>();
  registerBufferizableOpInterfaceExternalModels(registry);
  registerTransformDialectExtension(registry);
}

void mlir::norm::registerNormPasses() {
  registerNormConversionPasses();
  registerNormGPUPipeline();
  registerNormCPUPipeline();
  registerNormTransformsPasses();
}
