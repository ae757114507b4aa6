//===- GradientLoops.cpp - Gradient ops on memrefs to row loops -----------===//
//
// The CPU lowering of norm.layer_norm_grad and norm.rms_norm_grad. Every
// buffer is viewed as rows x N (the row dims collapsed into one, the
// normalised dims into another); the rows are cut into B = min(M, 64)
// blocks of consecutive rows, a block at a time per thread:
//
//   for each block b (in parallel):
//     [dgamma/dbeta] zero the block's partial rows Pg[b, :], Pb[b, :]
//     for each row r of the block:
//       sweep 1, over the row in vectors:  xhat = (x - mean) rstd,
//                                          wdy = gamma dy,
//         sum(wdy), sum(wdy xhat)           (dx; LayerNorm: both)
//         Pg[b, :] += dy xhat, Pb[b, :] += dy   (dgamma, dbeta)
//       sweep 2, over the row just read (in cache):
//         dx = rstd (wdy - mean(wdy) - xhat mean(wdy xhat)) + dr
//   [dgamma/dbeta] one sweep over N: sum the B partial rows in block order
//
// The partial rows are f32 (f64 for f64) and the blocks depend on M only,
// so dgamma and dbeta have the same bits at every thread count. The
// arithmetic of a row is RowMath's, as in the linalg decomposition; the
// statistics, when they are recomputed, are the forward row kernel's own
// sweeps (emitNormStatisticsLoops) into temporary buffers.
//
// Buffers that cannot be viewed so (rows or normalised dims that do not
// collapse, a trailing dim that is not unit-stride, no row dims at all)
// take the affine loops of the linalg decomposition instead.
//
//===----------------------------------------------------------------------===//

#include "GradientLoops.h"
#include "RowSweeps.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "norm/Dialect/Norm/IR/NormOps.h"
#include "norm/Dialect/Norm/Utils/RowMath.h"

using namespace mlir;
using namespace mlir::norm;

/// The most blocks of rows, and so of partial rows of dgamma and dbeta.
static constexpr int64_t kMaxRowBlocks = 64;

std::string mlir::norm::getUnsupportedGradTypeReason(NormGradOpInterface op) {
  for (Value operand : op->getOperands()) {
    auto type = dyn_cast<ShapedType>(operand.getType());
    if (!type || isLowerableElementType(type.getElementType()))
      continue;
    std::string reason;
    llvm::raw_string_ostream os(reason);
    os << "expects f16, bf16, f32 or f64 elements to lower it to CPU code, "
          "got '"
       << type.getElementType() << "'";
    return reason;
  }
  return "";
}

/// The affine loops of `op`'s linalg decomposition.
static LogicalResult lowerThroughLinalg(RewriterBase &rewriter,
                                        NormGradOpInterface op) {
  Block *block = op->getBlock();
  rewriter.setInsertionPoint(op);
  // The ops the decomposition creates lie between the op's predecessor and
  // the op itself.
  Operation *before = op->getPrevNode();
  if (failed(decomposeGradToLinalg(rewriter, op)))
    return failure();
  SmallVector<linalg::LinalgOp> linalgOps;
  for (Operation &created : llvm::make_range(
           before ? std::next(before->getIterator()) : block->begin(),
           op->getIterator()))
    if (auto linalgOp = dyn_cast<linalg::LinalgOp>(&created))
      linalgOps.push_back(linalgOp);
  for (linalg::LinalgOp linalgOp : linalgOps) {
    rewriter.setInsertionPoint(linalgOp);
    if (failed(linalg::linalgOpToAffineLoops(rewriter, linalgOp)))
      return failure();
    rewriter.eraseOp(linalgOp);
  }
  rewriter.eraseOp(op);
  return success();
}

namespace {
/// Emits the block, row and vector loops of one gradient op.
class GradKernelEmitter {
public:
  GradKernelEmitter(RewriterBase &b, NormGradOpInterface op,
                    const ConvertNormToAffineOptions &options)
      : b(b), op(op), loc(op->getLoc()), options(options),
        rank(op.getInputType().getRank()), axis(op.getNormalizedAxis()),
        computeType(getComputeElementType(op.getInputType().getElementType())),
        wantsParameters(op.getGammaGradInit() || op.getBetaGradInit()) {}

  /// Views the buffers as rows x N; fails, creating nothing, when they
  /// cannot be.
  LogicalResult prepareViews();
  /// Emits the loops in place of the op (which the caller erases).
  void emit();

private:
  /// `value` collapsed by `reassociation`, or itself when that is the
  /// identity; null stays null.
  Value collapse(Value value, ArrayRef<ReassociationIndices> reassociation);
  /// The statistics of row `r` as compute-type vector splats: mean (null
  /// for RMSNorm) and rstd.
  RowStatistics loadStatistics(OpBuilder &nb, Value r);
  /// xhat and wdy of the vector at `column` of row `r`, and dy.
  struct Terms {
    Value xhat, wdy, dy;
  };
  Terms loadTerms(OpBuilder &nb, Value r, Value column, Value mask,
                  const RowStatistics &statistics);
  void emitRow(OpBuilder &nb, Value block, Value r);
  void emitParameterSums(OpBuilder &nb);

  RewriterBase &b;
  NormGradOpInterface op;
  Location loc;
  const ConvertNormToAffineOptions &options;
  int64_t rank;
  int64_t axis;
  Type computeType;
  bool wantsParameters;

  /// The rows x N views (null when absent), and the per-row statistics.
  Value input, outputGrad, residualGrad, inputGrad, gamma, gammaGrad, betaGrad;
  Value mean, rstd;
  /// Partial rows of dgamma and dbeta, [blocks, N] in the compute type.
  Value gammaPartials, betaPartials;
  SmallVector<Value> temporaries;
  Value numRows, numBlocks, rowSize;
  int64_t lanes = 1;
  unsigned unroll = 1;
  std::optional<RowSweeps> sweeps;
  arith::FastMathFlags contract = arith::FastMathFlags::contract;
};
} // namespace

Value GradKernelEmitter::collapse(
    Value value, ArrayRef<ReassociationIndices> reassociation) {
  if (!value ||
      reassociation.size() ==
          static_cast<size_t>(cast<MemRefType>(value.getType()).getRank()))
    return value;
  return memref::CollapseShapeOp::create(b, loc, value, reassociation);
}

LogicalResult GradKernelEmitter::prepareViews() {
  if (axis == 0)
    return failure();
  SmallVector<ReassociationIndices> full(2), rows(1), columns(1);
  for (int64_t d = 0; d < rank; ++d) {
    (d < axis ? full[0] : full[1]).push_back(d);
    if (d < axis)
      rows[0].push_back(d);
    else
      columns[0].push_back(d - axis);
  }
  auto fits = [&](Value value, ArrayRef<ReassociationIndices> reassociation) {
    if (!value)
      return true;
    auto type = cast<MemRefType>(value.getType());
    return memref::CollapseShapeOp::isGuaranteedCollapsible(type,
                                                            reassociation) &&
           type.isLastDimUnitStride();
  };
  Value fullShaped[] = {op.getInput(), op.getOutputGrad(), op.getResidualGrad(),
                        op.getInputGradInit()};
  Value params[] = {op.getGamma(), op.getGammaGradInit(), op.getBetaGradInit()};
  for (Value value : fullShaped)
    if (!fits(value, full))
      return failure();
  for (Value value : params)
    if (!fits(value, columns))
      return failure();
  for (Value value : {op.getMean(), op.getRstd()})
    if (value && !memref::CollapseShapeOp::isGuaranteedCollapsible(
                     cast<MemRefType>(value.getType()), rows))
      return failure();

  b.setInsertionPoint(op);
  input = collapse(op.getInput(), full);
  outputGrad = collapse(op.getOutputGrad(), full);
  residualGrad = collapse(op.getResidualGrad(), full);
  inputGrad = collapse(op.getInputGradInit(), full);
  gamma = collapse(op.getGamma(), columns);
  gammaGrad = collapse(op.getGammaGradInit(), columns);
  betaGrad = collapse(op.getBetaGradInit(), columns);
  mean = collapse(op.getMean(), rows);
  rstd = collapse(op.getRstd(), rows);
  return success();
}

RowStatistics GradKernelEmitter::loadStatistics(OpBuilder &nb, Value r) {
  VectorType vectorType = sweeps->vectorOf(computeType);
  auto splat = [&](Value buffer) -> Value {
    if (!buffer)
      return Value();
    Value scalar = memref::LoadOp::create(nb, loc, buffer, ValueRange{r});
    scalar = createFloatConversion(nb, loc, scalar, computeType);
    return vector::BroadcastOp::create(nb, loc, vectorType, scalar);
  };
  // The saved mean is the pivot of the centring, with no offset.
  return RowStatistics{splat(mean), Value(), splat(rstd)};
}

GradKernelEmitter::Terms
GradKernelEmitter::loadTerms(OpBuilder &nb, Value r, Value column, Value mask,
                             const RowStatistics &statistics) {
  SmallVector<Value> indices = {r, column};
  Value x = createFloatConversion(
      nb, loc, sweeps->load(nb, input, indices, mask), computeType);
  Value dy = createFloatConversion(
      nb, loc, sweeps->load(nb, outputGrad, indices, mask), computeType);
  Value g = gamma ? sweeps->load(nb, gamma, ValueRange{column}, mask) : Value();
  Terms terms;
  terms.dy = dy;
  terms.xhat = createNormalized(nb, loc, x, statistics);
  terms.wdy = createGradientProduct(nb, loc, dy, g, contract);
  return terms;
}

void GradKernelEmitter::emitRow(OpBuilder &nb, Value block, Value r) {
  RowStatistics statistics = loadStatistics(nb, r);
  VectorType vectorType = sweeps->vectorOf(computeType);
  Value zero = arith::ConstantOp::create(nb, loc, vectorType,
                                         nb.getZeroAttr(vectorType));
  bool layerNorm = op.isLayerNorm();

  // Sweep 1: the row sums of dx, and the block's partial rows.
  SmallVector<Value> init;
  if (inputGrad) {
    if (layerNorm)
      init.push_back(zero);
    init.push_back(zero);
  }
  auto accumulatePartial = [&](OpBuilder &sb, Value partials, Value term,
                               Value column, Value mask) {
    SmallVector<Value> indices = {block, column};
    Value partial = sweeps->load(sb, partials, indices, mask);
    Value sum = arith::AddFOp::create(sb, loc, partial, term);
    sweeps->store(sb, sum, partials, indices, mask);
  };
  SmallVector<SmallVector<Value>> sums = sweeps->sweep(
      nb, init, inputGrad ? unroll : 1,
      [&](OpBuilder &sb, ValueRange indices, Value mask,
          ValueRange state) -> SmallVector<Value> {
        Value column = indices.front();
        Terms t = loadTerms(sb, r, column, mask, statistics);
        if (gammaPartials) {
          Value term = arith::MulFOp::create(sb, loc, t.dy, t.xhat);
          accumulatePartial(sb, gammaPartials, term, column, mask);
        }
        if (betaPartials)
          accumulatePartial(sb, betaPartials, t.dy, column, mask);
        if (!inputGrad)
          return {};
        // Masked-off lanes load dy = 0, so they add nothing.
        SmallVector<Value> next;
        if (layerNorm)
          next.push_back(arith::AddFOp::create(sb, loc, state[0], t.wdy));
        Value dot = arith::MulFOp::create(sb, loc, t.wdy, t.xhat);
        next.push_back(arith::AddFOp::create(sb, loc, state.back(), dot));
        return next;
      });
  if (!inputGrad)
    return;

  // mean(wdy) (LayerNorm) and mean(wdy xhat), as splats.
  auto rowMean = [&](unsigned index) -> Value {
    Value sum = sweeps->reduceSum(nb, sums, index);
    Value value = createRowMean(nb, loc, sum, rowSize);
    return vector::BroadcastOp::create(nb, loc, vectorType, value);
  };
  Value meanGradient = layerNorm ? rowMean(0) : Value();
  Value meanDot = rowMean(layerNorm ? 1 : 0);

  // Sweep 2: dx, over the row sweep 1 left in cache.
  Type dxType = cast<MemRefType>(inputGrad.getType()).getElementType();
  sweeps->sweep(
      nb, {}, 1,
      [&](OpBuilder &sb, ValueRange indices, Value mask,
          ValueRange) -> SmallVector<Value> {
        Value column = indices.front();
        Terms t = loadTerms(sb, r, column, mask, statistics);
        Value dx = createInputGradient(sb, loc, t.wdy, t.xhat, statistics.rstd,
                                       meanGradient, meanDot, contract);
        SmallVector<Value> at = {r, column};
        if (residualGrad) {
          Value dr = sweeps->load(sb, residualGrad, at, mask);
          dx = arith::AddFOp::create(
              sb, loc, dx, createFloatConversion(sb, loc, dr, computeType));
        }
        sweeps->store(sb, createFloatConversion(sb, loc, dx, dxType), inputGrad,
                      at, mask);
        return {};
      });
}

void GradKernelEmitter::emitParameterSums(OpBuilder &nb) {
  // One sweep over N; at each vector, the partial rows summed in block
  // order, then rounded once into dgamma and dbeta.
  VectorType vectorType = sweeps->vectorOf(computeType);
  sweeps->sweep(
      nb, {}, 1,
      [&](OpBuilder &sb, ValueRange indices, Value mask,
          ValueRange) -> SmallVector<Value> {
        Value column = indices.front();
        SmallVector<std::pair<Value, Value>> outs;
        for (auto [partials, destination] :
             {std::make_pair(gammaPartials, gammaGrad),
              std::make_pair(betaPartials, betaGrad)})
          if (partials)
            outs.push_back({partials, destination});
        Value zero = arith::ConstantOp::create(sb, loc, vectorType,
                                               sb.getZeroAttr(vectorType));
        Value lower = arith::ConstantIndexOp::create(sb, loc, 0);
        Value one = arith::ConstantIndexOp::create(sb, loc, 1);
        SmallVector<Value> init(outs.size(), zero);
        auto loop = scf::ForOp::create(
            sb, loc, lower, numBlocks, one, init,
            [&](OpBuilder &lb, Location, Value blockIv, ValueRange acc) {
              SmallVector<Value> next;
              for (auto [i, out] : llvm::enumerate(outs)) {
                Value partial = sweeps->load(lb, out.first,
                                             ValueRange{blockIv, column}, mask);
                next.push_back(arith::AddFOp::create(lb, loc, acc[i], partial));
              }
              scf::YieldOp::create(lb, loc, next);
            });
        for (auto [i, out] : llvm::enumerate(outs)) {
          Type type = cast<MemRefType>(out.second.getType()).getElementType();
          Value rounded =
              createFloatConversion(sb, loc, loop.getResult(i), type);
          sweeps->store(sb, rounded, out.second, ValueRange{column}, mask);
        }
        return {};
      });
}

void GradKernelEmitter::emit() {
  numRows = memref::DimOp::create(b, loc, input, 0);
  OpFoldResult columns = memref::getMixedSize(b, loc, input, 1);
  if (auto staticN = getConstantIntValue(columns))
    rowSize = arith::ConstantOp::create(b, loc,
                                        getRowSizeAttr(computeType, *staticN));
  else
    rowSize = createRowSizeFromIndex(b, loc, computeType, cast<Value>(columns));

  // Recomputed statistics: the forward kernel's sweeps, into temporaries.
  if (op.recomputesStatistics()) {
    auto statsType = MemRefType::get({ShapedType::kDynamic}, computeType);
    rstd = memref::AllocOp::create(b, loc, statsType, ValueRange{numRows});
    temporaries.push_back(rstd);
    if (op.isLayerNorm()) {
      mean = memref::AllocOp::create(b, loc, statsType, ValueRange{numRows});
      temporaries.push_back(mean);
    }
    OpBuilder detached(b.getContext());
    auto axisAttr = b.getI64IntegerAttr(1);
    auto epsilonAttr = op->getAttrOfType<FloatAttr>("epsilon");
    Operation *forward;
    if (op.isLayerNorm())
      forward = LayerNormOp::create(detached, loc, TypeRange(), input, Value(),
                                    Value(), Value(), op.getEpsValue(), Value(),
                                    input, Value(), mean, rstd, axisAttr,
                                    epsilonAttr);
    else
      forward = RMSNormOp::create(detached, loc, TypeRange(), input, Value(),
                                  Value(), op.getEpsValue(), Value(), input,
                                  Value(), rstd, axisAttr, epsilonAttr);
    emitNormStatisticsLoops(b, cast<NormOpInterface>(forward), options);
    forward->destroy();
  }

  unsigned width =
      options.vectorWidth ? options.vectorWidth : getHostVectorWidth();
  lanes =
      std::max<int64_t>(1, width * 32 / computeType.getIntOrFloatBitWidth());
  unroll = std::max(1u, options.unroll);

  // B = min(M, 64) blocks of rows.
  Value maxBlocks = arith::ConstantIndexOp::create(b, loc, kMaxRowBlocks);
  numBlocks = arith::MinUIOp::create(b, loc, numRows, maxBlocks);
  if (wantsParameters) {
    SmallVector<int64_t> shape = {ShapedType::kDynamic, ShapedType::kDynamic};
    SmallVector<Value> sizes = {numBlocks};
    if (auto staticN = getConstantIntValue(columns))
      shape[1] = *staticN;
    else
      sizes.push_back(cast<Value>(columns));
    auto partialType = MemRefType::get(shape, computeType);
    if (gammaGrad) {
      gammaPartials = memref::AllocOp::create(b, loc, partialType, sizes);
      temporaries.push_back(gammaPartials);
    }
    if (betaGrad) {
      betaPartials = memref::AllocOp::create(b, loc, partialType, sizes);
      temporaries.push_back(betaPartials);
    }
  }

  bool useAffine = affine::isValidSymbol(numBlocks);
  if (auto value = dyn_cast<Value>(columns))
    useAffine &= affine::isValidSymbol(value);
  sweeps.emplace(loc, ArrayRef<OpFoldResult>{OpFoldResult(numBlocks)},
                 ArrayRef<OpFoldResult>{columns}, lanes, useAffine);
  sweeps->emitRowLoops(
      b, options.parallel, [&](OpBuilder &nb, ValueRange blockIvs) {
        Value block = blockIvs.front();
        // Rows [block * M / B, (block + 1) * M / B).
        Value one = arith::ConstantIndexOp::create(nb, loc, 1);
        auto boundary = [&](Value blockIndex) {
          Value scaled = arith::MulIOp::create(nb, loc, blockIndex, numRows);
          return arith::DivUIOp::create(nb, loc, scaled, numBlocks).getResult();
        };
        Value begin = boundary(block);
        Value end = boundary(arith::AddIOp::create(nb, loc, block, one));
        VectorType vectorType = sweeps->vectorOf(computeType);
        if (wantsParameters) {
          Value zero = arith::ConstantOp::create(nb, loc, vectorType,
                                                 nb.getZeroAttr(vectorType));
          sweeps->sweep(nb, {}, 1,
                        [&](OpBuilder &sb, ValueRange indices, Value mask,
                            ValueRange) -> SmallVector<Value> {
                          for (Value partials : {gammaPartials, betaPartials})
                            if (partials)
                              sweeps->store(sb, zero, partials,
                                            ValueRange{block, indices.front()},
                                            mask);
                          return {};
                        });
        }
        scf::ForOp::create(nb, loc, begin, end, one, ValueRange(),
                           [&](OpBuilder &rb, Location, Value r, ValueRange) {
                             emitRow(rb, block, r);
                             scf::YieldOp::create(rb, loc);
                           });
      });
  if (wantsParameters)
    emitParameterSums(b);
  for (Value temporary : temporaries)
    memref::DeallocOp::create(b, loc, temporary);
}

LogicalResult
mlir::norm::lowerNormGradOpToAffine(RewriterBase &rewriter,
                                    NormGradOpInterface op,
                                    const ConvertNormToAffineOptions &options) {
  if (op.hasPureTensorSemantics())
    return failure();
  GradKernelEmitter emitter(rewriter, op, options);
  if (failed(emitter.prepareViews()))
    return lowerThroughLinalg(rewriter, op);
  emitter.emit();
  rewriter.eraseOp(op);
  return success();
}
