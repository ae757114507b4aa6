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

  /// A forward op reads all of a row of `input` and `residual` before it
  /// writes any of that row of `outs` or `residual_out`, and reads none of
  /// it again after writing an element (every lowering: the later sweeps
  /// re-read h from residual_out where that may alias an input). So among
  /// these four, a destination may be the same buffer as an input: vLLM's
  /// fused_add_rms_norm writes x <- norm(x + r) and r <- x + r in place.
  /// The parameters (broadcast over the rows), the statistics and the
  /// gradient ops' operands are not element-wise.
  bool bufferizesToElementwiseAccess(Operation *op, const AnalysisState &state,
                                     ArrayRef<OpOperand *> opOperands) const {
    if constexpr (std::is_same_v<OpTy, LayerNormOp> ||
                  std::is_same_v<OpTy, RMSNormOp>) {
      auto norm = cast<OpTy>(op);
      // By slot, not by value: ins(%x) gamma(%x) is legal for a 1-D %x.
      SmallVector<OpOperand *> rowWise = {&norm.getInputMutable(),
                                          &norm.getOutputMutable()};
      for (MutableOperandRange range :
           {norm.getResidualMutable(), norm.getResidualOutputMutable()})
        for (OpOperand &operand : range)
          rowWise.push_back(&operand);
      return llvm::all_of(opOperands, [&](OpOperand *operand) {
        return llvm::is_contained(rowWise, operand);
      });
    }
    return false;
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
