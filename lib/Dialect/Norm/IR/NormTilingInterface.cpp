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
// They tile instead as partial reductions (PartialReductionOpInterface),
// with one partial sum per tile (`transform.structured.
// tile_reduction_using_forall`, ReductionTilingStrategy::
// PartialReductionOuterParallel): dgamma and dbeta get partial results
// shaped [tiles of each tiled row dim..., normalised dims] in the compute
// type (f32, or f64), zero-filled; each tile is the op on its row slab
// writing its column sums into its own slice, and dx into its rows; the
// merge sums the partial results over the tiles (`linalg.reduce`) and
// rounds once to the destination's type. Other strategies are refused:
// a tile's op sums its rows, so it cannot keep one partial per row.
//
//===----------------------------------------------------------------------===//

#include "norm/Dialect/Norm/IR/NormOps.h"
#include "norm/Dialect/Norm/Utils/RowMath.h"

#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
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

//===----------------------------------------------------------------------===//
// Partial reductions of the gradient ops
//===----------------------------------------------------------------------===//

/// Whether `init`, a destination of the gradient op `op`, is dx (shaped like
/// the input) rather than dgamma or dbeta (shaped like the normalised dims).
/// By identity: while tiling, the destinations may be the partial results.
static bool isRowShaped(NormGradOpInterface op, Value init) {
  return init == op.getInputGradInit();
}

/// The compute type the gradient op `op` sums in.
static Type getGradComputeType(NormGradOpInterface op) {
  return getComputeElementType(op.getInputType().getElementType());
}

/// The sizes of the normalised dims of the gradient op `op` (those of
/// dgamma and dbeta).
static SmallVector<OpFoldResult>
getNormalizedSizes(NormGradOpInterface op, OpBuilder &b, Location loc) {
  SmallVector<OpFoldResult> sizes = getShapedSizes(b, loc, op.getInput());
  sizes.erase(sizes.begin(), sizes.begin() + op.getNormalizedAxis());
  return sizes;
}

static FailureOr<SmallVector<Value>>
generateGradPartialInits(NormGradOpInterface op, OpBuilder &b, Location loc,
                         ArrayRef<OpFoldResult> sizes,
                         const SetVector<unsigned> &reductionDims) {
  if (!op.hasPureTensorSemantics())
    return op->emitOpError("expects tensor semantics to tile its row sums as "
                           "partial reductions");
  Type computeType = getGradComputeType(op);
  Value zero = arith::ConstantOp::create(b, loc, b.getZeroAttr(computeType));
  SmallVector<Value> inits;
  for (Value init :
       cast<DestinationStyleOpInterface>(op.getOperation()).getDpsInits()) {
    if (isRowShaped(op, init)) {
      inits.push_back(init);
      continue;
    }
    SmallVector<OpFoldResult> shape;
    for (unsigned dim : reductionDims)
      shape.push_back(sizes[dim]);
    llvm::append_range(shape, getNormalizedSizes(op, b, loc));
    Value empty = tensor::EmptyOp::create(b, loc, shape, computeType);
    inits.push_back(linalg::FillOp::create(b, loc, zero, empty).getResult(0));
  }
  return inits;
}

/// Where tile `splitReductionIvs` (its index along each tiled row dim)
/// writes the partial result of the destination `init`: its slice of the
/// partial dgamma/dbeta, or its row slab of dx.
static void getGradPartialPosition(NormGradOpInterface op, OpBuilder &b,
                                   Value init, ArrayRef<OpFoldResult> offsets,
                                   ArrayRef<OpFoldResult> sizes,
                                   ArrayRef<OpFoldResult> splitReductionIvs,
                                   SmallVector<OpFoldResult> &resultOffsets,
                                   SmallVector<OpFoldResult> &resultSizes) {
  Location loc = op->getLoc();
  if (isRowShaped(op, init)) {
    getRowSlabPosition(b, loc, init, op.getNormalizedAxis(), offsets, sizes,
                       resultOffsets, resultSizes);
    return;
  }
  resultOffsets.assign(splitReductionIvs.begin(), splitReductionIvs.end());
  resultSizes.assign(splitReductionIvs.size(), b.getIndexAttr(1));
  for (OpFoldResult size : getNormalizedSizes(op, b, loc)) {
    resultOffsets.push_back(b.getIndexAttr(0));
    resultSizes.push_back(size);
  }
}

static FailureOr<TilingResult> tileGradToPartialReduction(
    NormGradOpInterface op, OpBuilder &b, Location loc,
    ReductionTilingStrategy strategy, ValueRange partialInits,
    ArrayRef<OpFoldResult> offsets, ArrayRef<OpFoldResult> sizes,
    ArrayRef<OpFoldResult> splitReductionIvs) {
  if (strategy != ReductionTilingStrategy::PartialReductionOuterParallel)
    return op->emitOpError(
        "tiles its row sums (dgamma, dbeta) only with one partial sum per "
        "tile (tile_reduction_using_forall): the op on a tile sums its rows, "
        "so it cannot keep a partial sum per row");
  int64_t axis = op.getNormalizedAxis();
  // The inputs as a row tile sees them; then each destination replaced by
  // the tile's slice of its partial result.
  FailureOr<TilingResult> rowTile =
      getNormTiledImplementation(op, axis, op.getInputType().getRank(),
                                 ValueRange{op.getGamma()}, b, offsets, sizes);
  if (failed(rowTile))
    return failure();
  Operation *tiled = rowTile->tiledOps.front();
  auto dpsOp = cast<DestinationStyleOpInterface>(op.getOperation());
  auto tiledDps = cast<DestinationStyleOpInterface>(tiled);
  SmallVector<Operation *> slices = rowTile->generatedSlices;
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(tiled);
  for (auto [index, init] : llvm::enumerate(dpsOp.getDpsInits())) {
    SmallVector<OpFoldResult> sliceOffsets, sliceSizes;
    getGradPartialPosition(op, b, init, offsets, sizes, splitReductionIvs,
                           sliceOffsets, sliceSizes);
    Value partial = partialInits[index];
    auto sliceType =
        cast<RankedTensorType>(tiledDps.getDpsInits()[index].getType());
    if (!isRowShaped(op, init))
      sliceType = RankedTensorType::get(
          op.getInputType().getShape().drop_front(op.getNormalizedAxis()),
          getGradComputeType(op));
    SmallVector<OpFoldResult> strides(sliceOffsets.size(), b.getIndexAttr(1));
    auto slice = tensor::ExtractSliceOp::create(
        b, loc, sliceType, partial, sliceOffsets, sliceSizes, strides);
    slices.push_back(slice);
    tiledDps.getDpsInitsMutable()[index].set(slice);
    tiled->getResult(index).setType(sliceType);
  }
  // The row tile's own slices of the destinations are now unused.
  for (Operation *&slice : slices)
    if (slice->use_empty()) {
      slice->erase();
      slice = nullptr;
    }
  llvm::erase(slices, nullptr);
  return TilingResult{{tiled}, SmallVector<Value>(tiled->getResults()), slices};
}

static FailureOr<MergeResult>
mergeGradReductions(NormGradOpInterface op, OpBuilder &b, Location loc,
                    ValueRange partials,
                    const SetVector<unsigned> &reductionDims) {
  auto dpsOp = cast<DestinationStyleOpInterface>(op.getOperation());
  Type computeType = getGradComputeType(op);
  Value zero = arith::ConstantOp::create(b, loc, b.getZeroAttr(computeType));
  MergeResult result;
  SmallVector<int64_t> tileDims = llvm::to_vector(
      llvm::seq<int64_t>(0, static_cast<int64_t>(reductionDims.size())));
  for (auto [index, init, partial] :
       llvm::enumerate(dpsOp.getDpsInits(), partials)) {
    if (isRowShaped(op, init)) {
      // dx: the tiles wrote their rows; nothing to merge.
      result.replacements.push_back(partial);
      continue;
    }
    // The sum over the tiles in the compute type, rounded once.
    Value empty = tensor::EmptyOp::create(
        b, loc, getNormalizedSizes(op, b, loc), computeType);
    Value sums = linalg::FillOp::create(b, loc, zero, empty).getResult(0);
    auto reduce = linalg::ReduceOp::create(
        b, loc, partial, sums, tileDims,
        [](OpBuilder &nb, Location nloc, ValueRange args) {
          Value sum = arith::AddFOp::create(nb, nloc, args[0], args[1]);
          linalg::YieldOp::create(nb, nloc, sum);
        });
    result.mergeOps.push_back(reduce);
    Value merged = reduce.getResult(0);
    auto type = cast<RankedTensorType>(op->getResult(index).getType());
    unsigned width = type.getElementType().getIntOrFloatBitWidth();
    unsigned computeWidth = computeType.getIntOrFloatBitWidth();
    if (width < computeWidth)
      merged = arith::TruncFOp::create(b, loc, type, merged);
    else if (width > computeWidth)
      merged = arith::ExtFOp::create(b, loc, type, merged);
    if (merged != reduce.getResult(0))
      result.mergeOps.push_back(merged.getDefiningOp());
    result.replacements.push_back(merged);
  }
  return result;
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

/// The PartialReductionOpInterface hooks of the gradient op `OP`.
#define NORM_DEFINE_PARTIAL_REDUCTION_HOOKS(OP)                                \
  FailureOr<SmallVector<Value>> OP::generateInitialTensorForPartialReduction(  \
      OpBuilder &b, Location loc, ArrayRef<OpFoldResult> sizes,                \
      const SetVector<unsigned> &reductionDims) {                              \
    return generateGradPartialInits(*this, b, loc, sizes, reductionDims);      \
  }                                                                            \
  FailureOr<TilingResult> OP::tileToPartialReduction(                          \
      OpBuilder &b, Location loc, ReductionTilingStrategy strategy,            \
      ValueRange init, ArrayRef<OpFoldResult> offsets,                         \
      ArrayRef<OpFoldResult> sizes, const SetVector<unsigned> &,               \
      ArrayRef<OpFoldResult> splitReductionIvs) {                              \
    return tileGradToPartialReduction(*this, b, loc, strategy, init, offsets,  \
                                      sizes, splitReductionIvs);               \
  }                                                                            \
  FailureOr<MergeResult> OP::mergeReductions(                                  \
      OpBuilder &b, Location loc, ValueRange partialReduce,                    \
      const SetVector<unsigned> &reductionDims) {                              \
    return mergeGradReductions(*this, b, loc, partialReduce, reductionDims);   \
  }                                                                            \
  LogicalResult OP::getPartialResultTilePosition(                              \
      OpBuilder &b, unsigned resultNumber, ReductionTilingStrategy,            \
      ArrayRef<OpFoldResult> offsets, ArrayRef<OpFoldResult> sizes,            \
      const SetVector<unsigned> &, ArrayRef<OpFoldResult> splitReductionIvs,   \
      SmallVector<OpFoldResult> &resultOffsets,                                \
      SmallVector<OpFoldResult> &resultSizes) {                                \
    getGradPartialPosition(*this, b, getDpsInits()[resultNumber], offsets,     \
                           sizes, splitReductionIvs, resultOffsets,            \
                           resultSizes);                                       \
    return success();                                                          \
  }

NORM_DEFINE_PARTIAL_REDUCTION_HOOKS(LayerNormGradOp)
NORM_DEFINE_PARTIAL_REDUCTION_HOOKS(RMSNormGradOp)

#undef NORM_DEFINE_PARTIAL_REDUCTION_HOOKS

NORM_DEFINE_TILING_HOOKS(LayerNormOp, false,
                         (ValueRange{getGamma(), getBeta()}))
NORM_DEFINE_TILING_HOOKS(RMSNormOp, false, (ValueRange{getGamma()}))
NORM_DEFINE_TILING_HOOKS(LayerNormGradOp, reducesRows(*this),
                         (ValueRange{getGamma()}))
NORM_DEFINE_TILING_HOOKS(RMSNormGradOp, reducesRows(*this),
                         (ValueRange{getGamma()}))

#undef NORM_DEFINE_TILING_HOOKS
