//===- BufferizableOpInterfaceImpl.cpp - Bufferization of norm ops --------===//

#include "mlir/Dialect/Bufferization/IR/BufferizableOpInterface.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Bufferization/IR/DstBufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Utils/StructuredOpsUtils.h"
#include "norm/Dialect/Norm/IR/NormOps.h"

using namespace mlir;
using namespace mlir::bufferization;
using namespace mlir::norm;

namespace {
/// Norm ops (forward and gradient) bufferize like any destination-style op,
/// except that their destinations are written in full and never read: a
/// destination that is a fresh `tensor.empty` (or a value about to be
/// overwritten) needs no copy.
template <typename OpTy>
struct NormOpBufferizationModel
    : public DstBufferizableOpInterfaceExternalModel<NormOpBufferizationModel<OpTy>,
                                                     OpTy> {
  bool bufferizesToMemoryRead(Operation *op, OpOperand &opOperand,
                              const AnalysisState &state) const {
    return !cast<DestinationStyleOpInterface>(op).isDpsInit(&opOperand);
  }

  LogicalResult bufferize(Operation *op, RewriterBase &rewriter,
                          const BufferizationOptions &options,
                          BufferizationState &state) const {
    auto dpsOp = cast<DestinationStyleOpInterface>(op);
    if (dpsOp.hasPureBufferSemantics())
      return success();
    if (!dpsOp.hasPureTensorSemantics())
      return op->emitError("expected an op on tensors only");

    rewriter.setInsertionPoint(op);
    SmallVector<Value> newOperands;
    SmallVector<Value> newOutputBuffers;
    for (OpOperand &operand : op->getOpOperands()) {
      if (!isa<TensorType>(operand.get().getType())) {
        newOperands.push_back(operand.get());
        continue;
      }
      FailureOr<Value> buffer =
          getBuffer(rewriter, operand.get(), options, state);
      if (failed(buffer))
        return failure();
      newOperands.push_back(*buffer);
      if (dpsOp.isDpsInit(&operand))
        newOutputBuffers.push_back(*buffer);
    }
    mlir::clone(rewriter, op, /*newResultTypes=*/TypeRange(), newOperands);
    replaceOpWithBufferizedValues(rewriter, op, newOutputBuffers);
    return success();
  }
};
} // namespace

void mlir::norm::registerBufferizableOpInterfaceExternalModels(
    DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, NormDialect *dialect) {
    LayerNormOp::attachInterface<NormOpBufferizationModel<LayerNormOp>>(*ctx);
    RMSNormOp::attachInterface<NormOpBufferizationModel<RMSNormOp>>(*ctx);
    LayerNormGradOp::attachInterface<NormOpBufferizationModel<LayerNormGradOp>>(
        *ctx);
    RMSNormGradOp::attachInterface<NormOpBufferizationModel<RMSNormGradOp>>(
        *ctx);
  });
}
