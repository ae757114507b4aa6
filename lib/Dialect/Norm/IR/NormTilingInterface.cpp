//===- NormTilingInterface.cpp - TilingInterface for norm ops -------------===//
//
// Norm ops tile along their row dimensions `[0, axis)`: each row is
// normalised independently, so a tile is a slab of whole rows. The normalised
// dimensions are not part of the iteration domain (a tile must see a whole
// row to compute its statistics). The gradient ops tile alike when they
// compute dx alone; with dgamma or dbeta, sums over every row, their row
// dims are reductions, and they refuse to be tiled (a tile would write the
// sums of its own rows only).
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

static SmallVector<Range> getNormIterationDomain(Value input, int64_t axis,
                                                 OpBuilder &b, Location loc) {
  SmallVector<OpFoldResult> sizes = getShapedSizes(b, loc, input);
  SmallVector<Range> domain;
  for (int64_t dim = 0; dim < axis; ++dim)
    domain.push_back(Range{b.getIndexAttr(0), sizes[dim], b.getIndexAttr(1)});
  return domain;
}

/// The tile of the rows `offsets`, `sizes` of `op` (normalising `[axis,
/// rank)`): full-rank operands as slabs of whole rows, row-shaped ones
/// sliced along the rows, scalars and the `whole` operands (gamma, beta)
/// as they are.
static FailureOr<TilingResult> getNormTiledImplementation(
    Operation *op, int64_t axis, int64_t rank, ValueRange whole, OpBuilder &b,
    ArrayRef<OpFoldResult> offsets, ArrayRef<OpFoldResult> sizes) {
  Location loc = op->getLoc();
  SmallVector<Value> tiledOperands;
  SmallVector<Operation *> slices;
  for (Value operand : op->getOperands()) {
    auto shaped = dyn_cast<ShapedType>(operand.getType());
    if (!shaped || llvm::is_contained(whole, operand)) {
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
      // Row-shaped operands and destinations (mean, rstd).
      slice = getSlice(b, loc, operand, offsets, sizes);
    }
    tiledOperands.push_back(slice);
    slices.push_back(slice.getDefiningOp());
  }

  SmallVector<Type> resultTypes;
  auto dpsOp = cast<DestinationStyleOpInterface>(op);
  if (dpsOp.hasPureTensorSemantics())
    for (OpOperand &init : dpsOp.getDpsInitsMutable())
      resultTypes.push_back(tiledOperands[init.getOperandNumber()].getType());
  Operation *tiledOp = mlir::clone(b, op, resultTypes, tiledOperands);
  return TilingResult{{tiledOp},
                      SmallVector<Value>(tiledOp->getResults()),
                      slices};
}

static LogicalResult getNormResultTilePosition(
    Operation *op, int64_t axis, int64_t rank, OpBuilder &b,
    unsigned resultNumber, ArrayRef<OpFoldResult> offsets,
    ArrayRef<OpFoldResult> sizes, SmallVector<OpFoldResult> &resultOffsets,
    SmallVector<OpFoldResult> &resultSizes) {
  auto dpsOp = cast<DestinationStyleOpInterface>(op);
  Value init = dpsOp.getDpsInits()[resultNumber];
  if (cast<ShapedType>(init.getType()).getRank() == rank) {
    getRowSlabPosition(b, op->getLoc(), init, axis, offsets, sizes,
                       resultOffsets, resultSizes);
    return success();
  }
  resultOffsets.assign(offsets.begin(), offsets.end());
  resultSizes.assign(sizes.begin(), sizes.end());
  return success();
}

/// Whether the gradient op `op` sums over its rows (dgamma, dbeta).
static bool reducesRows(NormGradOpInterface op) {
  return op.getGammaGradInit() || op.getBetaGradInit();
}

/// The TilingInterface hooks of `OP`: `REDUCES` says whether its row dims
/// are reductions (then it is not tiled), `WHOLE` lists the operands every
/// tile reads whole.
#define NORM_DEFINE_TILING_HOOKS(OP, REDUCES, WHOLE)                           \
  SmallVector<utils::IteratorType> OP::getLoopIteratorTypes() {                \
    return SmallVector<utils::IteratorType>(                                   \
        getNormalizedAxis(), REDUCES ? utils::IteratorType::reduction          \
                                     : utils::IteratorType::parallel);         \
  }                                                                            \
  SmallVector<Range> OP::getIterationDomain(OpBuilder &b) {                    \
    return getNormIterationDomain(getInput(), getNormalizedAxis(), b,          \
                                  getLoc());                                   \
  }                                                                            \
  FailureOr<TilingResult> OP::getTiledImplementation(                          \
      OpBuilder &b, ArrayRef<OpFoldResult> offsets,                            \
      ArrayRef<OpFoldResult> sizes) {                                          \
    if (REDUCES)                                                               \
      return failure();                                                        \
    return getNormTiledImplementation(*this, getNormalizedAxis(),              \
                                      getInputType().getRank(), WHOLE, b,      \
                                      offsets, sizes);                         \
  }                                                                            \
  LogicalResult OP::getResultTilePosition(                                     \
      OpBuilder &b, unsigned resultNumber, ArrayRef<OpFoldResult> offsets,     \
      ArrayRef<OpFoldResult> sizes, SmallVector<OpFoldResult> &resultOffsets,  \
      SmallVector<OpFoldResult> &resultSizes) {                                \
    return getNormResultTilePosition(                                          \
        *this, getNormalizedAxis(), getInputType().getRank(), b, resultNumber, \
        offsets, sizes, resultOffsets, resultSizes);                           \
  }

NORM_DEFINE_TILING_HOOKS(LayerNormOp, false,
                         (ValueRange{getGamma(), getBeta()}))
NORM_DEFINE_TILING_HOOKS(RMSNormOp, false, (ValueRange{getGamma()}))
NORM_DEFINE_TILING_HOOKS(LayerNormGradOp, reducesRows(*this),
                         (ValueRange{getGamma()}))
NORM_DEFINE_TILING_HOOKS(RMSNormGradOp, reducesRows(*this),
                         (ValueRange{getGamma()}))

#undef NORM_DEFINE_TILING_HOOKS
