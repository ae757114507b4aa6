//===- NormTilingInterface.cpp - TilingInterface for norm ops -------------===//
//
// Norm ops tile along their row dimensions `[0, axis)`: each row is
// normalised independently, so a tile is a slab of whole rows. The normalised
// dimensions are not part of the iteration domain (a tile must see a whole
// row to compute its statistics).
//
//===----------------------------------------------------------------------===//

#include "norm/Dialect/Norm/IR/NormOps.h"

#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StructuredOpsUtils.h"

using namespace mlir;
using namespace mlir::norm;

/// The sizes of all dims of the shaped `value`.
static SmallVector<OpFoldResult> getShapedSizes(OpBuilder &b, Location loc,
                                                Value value) {
  if (isa<RankedTensorType>(value.getType()))
    return tensor::getMixedSizes(b, loc, value);
  return memref::getMixedSizes(b, loc, value);
}

/// A slice of `value` (tensor.extract_slice or memref.subview).
static Value getSlice(OpBuilder &b, Location loc, Value value,
                      ArrayRef<OpFoldResult> offsets,
                      ArrayRef<OpFoldResult> sizes) {
  SmallVector<OpFoldResult> strides(offsets.size(), b.getIndexAttr(1));
  if (isa<RankedTensorType>(value.getType()))
    return tensor::ExtractSliceOp::create(b, loc, value, offsets, sizes,
                                          strides);
  return memref::SubViewOp::create(b, loc, value, offsets, sizes, strides);
}

/// Extends a row tile (`offsets`, `sizes` over `[0, axis)`) to whole rows of
/// the shaped `value` whose trailing dims are the normalised dims.
static void getRowSlabPosition(OpBuilder &b, Location loc, Value value,
                               int64_t axis, ArrayRef<OpFoldResult> offsets,
                               ArrayRef<OpFoldResult> sizes,
                               SmallVectorImpl<OpFoldResult> &fullOffsets,
                               SmallVectorImpl<OpFoldResult> &fullSizes) {
  SmallVector<OpFoldResult> allSizes = getShapedSizes(b, loc, value);
  fullOffsets.assign(offsets.begin(), offsets.end());
  fullSizes.assign(sizes.begin(), sizes.end());
  for (int64_t dim = axis, e = allSizes.size(); dim < e; ++dim) {
    fullOffsets.push_back(b.getIndexAttr(0));
    fullSizes.push_back(allSizes[dim]);
  }
}

static SmallVector<utils::IteratorType> getNormLoopIteratorTypes(
    NormOpInterface op) {
  return SmallVector<utils::IteratorType>(op.getNormalizedAxis(),
                                          utils::IteratorType::parallel);
}

static SmallVector<Range> getNormIterationDomain(NormOpInterface op,
                                                 OpBuilder &b) {
  Location loc = op->getLoc();
  SmallVector<OpFoldResult> sizes = getShapedSizes(b, loc, op.getInput());
  SmallVector<Range> domain;
  for (int64_t dim = 0, e = op.getNormalizedAxis(); dim < e; ++dim)
    domain.push_back(Range{b.getIndexAttr(0), sizes[dim], b.getIndexAttr(1)});
  return domain;
}

static FailureOr<TilingResult>
getNormTiledImplementation(NormOpInterface op, OpBuilder &b,
                           ArrayRef<OpFoldResult> offsets,
                           ArrayRef<OpFoldResult> sizes) {
  Location loc = op->getLoc();
  int64_t axis = op.getNormalizedAxis();
  int64_t rank = op.getInputType().getRank();
  SmallVector<Value> tiledOperands;
  SmallVector<Operation *> slices;
  for (Value operand : op->getOperands()) {
    auto shaped = dyn_cast<ShapedType>(operand.getType());
    // Scalars, gamma and beta are shared by every row: pass them whole.
    if (!shaped || (operand == op.getGamma() || operand == op.getBeta())) {
      tiledOperands.push_back(operand);
      continue;
    }
    Value slice;
    if (shaped.getRank() == rank) {
      SmallVector<OpFoldResult> fullOffsets, fullSizes;
      getRowSlabPosition(b, loc, operand, axis, offsets, sizes, fullOffsets,
                         fullSizes);
      slice = getSlice(b, loc, operand, fullOffsets, fullSizes);
    } else {
      // Row-shaped destinations (mean, rstd).
      slice = getSlice(b, loc, operand, offsets, sizes);
    }
    tiledOperands.push_back(slice);
    slices.push_back(slice.getDefiningOp());
  }

  SmallVector<Type> resultTypes;
  if (op.hasPureTensorSemantics()) {
    auto dpsOp = cast<DestinationStyleOpInterface>(op.getOperation());
    for (OpOperand &init : dpsOp.getDpsInitsMutable())
      resultTypes.push_back(tiledOperands[init.getOperandNumber()].getType());
  }
  Operation *tiledOp = mlir::clone(b, op, resultTypes, tiledOperands);
  return TilingResult{{tiledOp},
                      SmallVector<Value>(tiledOp->getResults()),
                      slices};
}

static LogicalResult getNormResultTilePosition(
    NormOpInterface op, OpBuilder &b, unsigned resultNumber,
    ArrayRef<OpFoldResult> offsets, ArrayRef<OpFoldResult> sizes,
    SmallVector<OpFoldResult> &resultOffsets,
    SmallVector<OpFoldResult> &resultSizes) {
  auto dpsOp = cast<DestinationStyleOpInterface>(op.getOperation());
  Value init = dpsOp.getDpsInits()[resultNumber];
  if (cast<ShapedType>(init.getType()).getRank() ==
      op.getInputType().getRank()) {
    getRowSlabPosition(b, op->getLoc(), init, op.getNormalizedAxis(), offsets,
                       sizes, resultOffsets, resultSizes);
    return success();
  }
  resultOffsets.assign(offsets.begin(), offsets.end());
  resultSizes.assign(sizes.begin(), sizes.end());
  return success();
}

#define NORM_DEFINE_TILING_HOOKS(OP)                                           \
  SmallVector<utils::IteratorType> OP::getLoopIteratorTypes() {                \
    return getNormLoopIteratorTypes(*this);                                    \
  }                                                                            \
  SmallVector<Range> OP::getIterationDomain(OpBuilder &b) {                    \
    return getNormIterationDomain(*this, b);                                   \
  }                                                                            \
  FailureOr<TilingResult> OP::getTiledImplementation(                          \
      OpBuilder &b, ArrayRef<OpFoldResult> offsets,                            \
      ArrayRef<OpFoldResult> sizes) {                                          \
    return getNormTiledImplementation(*this, b, offsets, sizes);               \
  }                                                                            \
  LogicalResult OP::getResultTilePosition(                                     \
      OpBuilder &b, unsigned resultNumber, ArrayRef<OpFoldResult> offsets,     \
      ArrayRef<OpFoldResult> sizes, SmallVector<OpFoldResult> &resultOffsets,  \
      SmallVector<OpFoldResult> &resultSizes) {                                \
    return getNormResultTilePosition(*this, b, resultNumber, offsets, sizes,   \
                                     resultOffsets, resultSizes);              \
  }

NORM_DEFINE_TILING_HOOKS(LayerNormOp)
NORM_DEFINE_TILING_HOOKS(RMSNormOp)

#undef NORM_DEFINE_TILING_HOOKS
