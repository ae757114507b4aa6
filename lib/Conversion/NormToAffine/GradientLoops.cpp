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
// sweeps (emitNormStatisticsLoops) into temporary buffers, the mean kept as
// its pivot and offset so that x is centred as the reference centres it.
//
// Buffers that cannot be viewed so (rows or normalised dims that do not
// collapse, a trailing dim that is not unit-stride, no row dims at all)
// take the affine loops of the linalg decomposition instead.
//
//===----------------------------------------------------------------------===//

#include "GradientLoops.h"
#include "MemoryPolicy.h"
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
/// Rows whose contributions to the partial rows are added together, so that
/// each vector of a partial row is loaded and stored once for all of them.
static constexpr int64_t kRowGroup = 4;

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
  /// Both sweeps of the rows `rows` of `block` (a group whose partial
  /// dgamma/dbeta rows are updated once per vector for all of them).
  void emitRows(OpBuilder &nb, Value block, ArrayRef<Value> rows);
  /// Sweep 2 of row `r`: dx from its row sums (`sums`, every copy's state,
  /// the row's from index `firstSum`), prefetching x and dy of the row
  /// `next` as it goes (none when empty).
  void emitInputGradientSweep(OpBuilder &nb, Value r, ValueRange next,
                              const RowStatistics &statistics,
                              ArrayRef<SmallVector<Value>> sums,
                              unsigned firstSum);
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
  /// Recomputed statistics: the offset d of the mean, whose pivot p is then
  /// in `mean`; null otherwise.
  Value meanOffset;
  /// Partial rows of dgamma and dbeta, [blocks, N] in the compute type.
  Value gammaPartials, betaPartials;
  SmallVector<Value> temporaries;
  Value numRows, numBlocks, rowSize;
  /// The row count, static when the input's is.
  OpFoldResult rowCount;
  int64_t lanes = 1;
  unsigned unroll = 1;
  /// Non-temporal stores of dx (the forward kernels' policy).
  StorePolicy storePolicy;
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
  // The saved mean is the pivot of the centring, with no offset; a
  // recomputed one is its pivot and offset.
  return RowStatistics{splat(mean), splat(meanOffset), splat(rstd)};
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

void GradKernelEmitter::emitRows(OpBuilder &nb, Value block,
                                 ArrayRef<Value> rows) {
  VectorType vectorType = sweeps->vectorOf(computeType);
  Value zero = arith::ConstantOp::create(nb, loc, vectorType,
                                         nb.getZeroAttr(vectorType));
  bool layerNorm = op.isLayerNorm();
  SmallVector<RowStatistics> statistics;
  for (Value r : rows)
    statistics.push_back(loadStatistics(nb, r));

  // Sweep 2 reads its row from cache and writes dx: memory would idle on
  // the reads. So each row's sweep 2 prefetches x and dy of the row as
  // many rows on (the next group's; clamped to the last row), and the next
  // sweep 1 finds them in cache.
  SmallVector<SmallVector<Value>> nextRows;
  for (Value r : rows)
    nextRows.push_back(createPrefetchRowIndices(
        nb, loc, options.prefetch && inputGrad, /*hasResidual=*/false, lanes, r,
        rowCount, rows.size()));

  // Sweep 1: the row sums of dx of each row, and the block's partial rows
  // (updated once for the whole group: one load and store per vector).
  unsigned sumsPerRow = inputGrad ? (layerNorm ? 2 : 1) : 0;
  SmallVector<Value> init(sumsPerRow * rows.size(), zero);
  auto accumulatePartial = [&](OpBuilder &sb, Value partials,
                               ArrayRef<Value> terms, Value column,
                               Value mask) {
    SmallVector<Value> indices = {block, column};
    Value sum = sweeps->load(sb, partials, indices, mask);
    for (Value term : terms)
      sum = arith::AddFOp::create(sb, loc, sum, term);
    sweeps->store(sb, sum, partials, indices, mask);
  };
  unsigned copies = inputGrad && rows.size() == 1 ? unroll : 1;
  SmallVector<SmallVector<Value>> sums = sweeps->sweep(
      nb, init, copies,
      [&](OpBuilder &sb, ValueRange indices, Value mask,
          ValueRange state) -> SmallVector<Value> {
        Value column = indices.front();
        SmallVector<Value> gammaTerms, betaTerms, next;
        for (auto [i, r] : llvm::enumerate(rows)) {
          Terms t = loadTerms(sb, r, column, mask, statistics[i]);
          if (gammaPartials)
            gammaTerms.push_back(arith::MulFOp::create(sb, loc, t.dy, t.xhat));
          if (betaPartials)
            betaTerms.push_back(t.dy);
          if (!inputGrad)
            continue;
          // Masked-off lanes load dy = 0, so they add nothing.
          ValueRange mine = state.slice(i * sumsPerRow, sumsPerRow);
          if (layerNorm)
            next.push_back(arith::AddFOp::create(sb, loc, mine[0], t.wdy));
          Value dot = arith::MulFOp::create(sb, loc, t.wdy, t.xhat);
          next.push_back(arith::AddFOp::create(sb, loc, mine.back(), dot));
        }
        if (gammaPartials)
          accumulatePartial(sb, gammaPartials, gammaTerms, column, mask);
        if (betaPartials)
          accumulatePartial(sb, betaPartials, betaTerms, column, mask);
        return next;
      });
  if (!inputGrad)
    return;
  for (auto [i, r] : llvm::enumerate(rows))
    emitInputGradientSweep(nb, r, nextRows[i], statistics[i], sums,
                           i * sumsPerRow);
}

void GradKernelEmitter::emitInputGradientSweep(
    OpBuilder &nb, Value r, ValueRange next, const RowStatistics &statistics,
    ArrayRef<SmallVector<Value>> sums, unsigned firstSum) {
  VectorType vectorType = sweeps->vectorOf(computeType);
  bool layerNorm = op.isLayerNorm();
  // mean(wdy) (LayerNorm) and mean(wdy xhat), as splats.
  auto rowMean = [&](unsigned index) -> Value {
    Value sum = sweeps->reduceSum(nb, sums, firstSum + index);
    Value value = createRowMean(nb, loc, sum, rowSize);
    return vector::BroadcastOp::create(nb, loc, vectorType, value);
  };
  Value meanGradient = layerNorm ? rowMean(0) : Value();
  Value meanDot = rowMean(layerNorm ? 1 : 0);

  // Sweep 2: dx, over the row sweep 1 left in cache; large outputs go
  // around the caches (non-temporal stores, as the forward kernels').
  Type dxType = cast<MemRefType>(inputGrad.getType()).getElementType();
  auto storeDx = [&](OpBuilder &sb, Value column, Value mask,
                     bool nontemporal) {
    if (!next.empty())
      for (Value buffer : {input, outputGrad})
        emitRowPrefetches(sb, loc, buffer, next, column, lanes,
                          options.prefetchLocality);
    Terms t = loadTerms(sb, r, column, mask, statistics);
    Value dx = createInputGradient(sb, loc, t.wdy, t.xhat, statistics.rstd,
                                   meanGradient, meanDot, contract);
    SmallVector<Value> at = {r, column};
    if (residualGrad) {
      Value dr = sweeps->load(sb, residualGrad, at, mask);
      dx = arith::AddFOp::create(
          sb, loc, dx, createFloatConversion(sb, loc, dr, computeType));
    }
    Value rounded = nontemporal && dxType.isBF16() && computeType.isF32()
                        ? roundToBF16Bits(sb, loc, dx)
                        : createFloatConversion(sb, loc, dx, dxType);
    sweeps->store(sb, rounded, inputGrad, at, mask, nontemporal);
  };
  auto regularSweep = [&](OpBuilder &sb) {
    sweeps->sweep(sb, {}, unroll,
                  [&](OpBuilder &inner, ValueRange indices, Value mask,
                      ValueRange) -> SmallVector<Value> {
                    storeDx(inner, indices.front(), mask,
                            /*nontemporal=*/false);
                    return {};
                  });
  };
  auto nontemporalSweep = [&](OpBuilder &sb) {
    Value address = createRowAddress(sb, loc, inputGrad, ValueRange{r});
    sweeps->sweepAligned(
        sb, address, dxType.getIntOrFloatBitWidth() / 8,
        [&](OpBuilder &inner, Value index, Value mask, bool nontemporal) {
          storeDx(inner, index, mask, nontemporal);
        });
  };
  if (storePolicy.alwaysNontemporal) {
    nontemporalSweep(nb);
  } else if (!storePolicy.useNontemporal) {
    regularSweep(nb);
  } else {
    scf::IfOp::create(
        nb, loc, storePolicy.useNontemporal,
        [&](OpBuilder &ib, Location) {
          nontemporalSweep(ib);
          scf::YieldOp::create(ib, loc);
        },
        [&](OpBuilder &ib, Location) {
          regularSweep(ib);
          scf::YieldOp::create(ib, loc);
        });
  }
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
  rowCount = memref::getMixedSize(b, loc, input, 0);
  numRows = getValueOrCreateConstantIndexOp(b, loc, rowCount);
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
      // The mean as pivot and offset (emitNormStatisticsLoops).
      mean = memref::AllocOp::create(b, loc, statsType, ValueRange{numRows});
      meanOffset =
          memref::AllocOp::create(b, loc, statsType, ValueRange{numRows});
      temporaries.push_back(mean);
      temporaries.push_back(meanOffset);
    }
    NormOpInterface forward =
        createDetachedStatisticsOp(op, input, /*axis=*/1, mean, rstd);
    emitNormStatisticsLoops(b, forward, options, meanOffset);
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
  storePolicy.lanes = lanes;
  if (inputGrad)
    storePolicy = decideStorePolicy(b, loc, options.nontemporalThreshold, lanes,
                                    ArrayRef<OpFoldResult>{rowCount},
                                    ArrayRef<OpFoldResult>{columns}, input,
                                    outputGrad, inputGrad,
                                    /*residualOutput=*/Value());
  sweeps.emplace(loc, ArrayRef<OpFoldResult>{OpFoldResult(numBlocks)},
                 ArrayRef<OpFoldResult>{columns}, storePolicy.lanes, useAffine);
  OpFoldResult parallel =
      decideParallelRows(b, loc, options.parallel, options.parallelThreshold,
                         {rowCount}, {columns}, input);
  sweeps->emitRowLoops(
      b, parallel, [&](OpBuilder &nb, ValueRange blockIvs) {
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
        // With dgamma/dbeta, groups of kRowGroup rows share each update of
        // the partial rows; the rows left over go one at a time.
        Value groupEnd = begin;
        if (wantsParameters) {
          Value group = arith::ConstantIndexOp::create(nb, loc, kRowGroup);
          Value count = arith::SubIOp::create(nb, loc, end, begin);
          Value whole = arith::MulIOp::create(
              nb, loc, arith::DivUIOp::create(nb, loc, count, group), group);
          groupEnd = arith::AddIOp::create(nb, loc, begin, whole);
          scf::ForOp::create(
              nb, loc, begin, groupEnd, group, ValueRange(),
              [&](OpBuilder &rb, Location, Value first, ValueRange) {
                SmallVector<Value> rows = {first};
                for (int64_t i = 1; i < kRowGroup; ++i)
                  rows.push_back(arith::AddIOp::create(
                      rb, loc, first,
                      arith::ConstantIndexOp::create(rb, loc, i)));
                emitRows(rb, block, rows);
                scf::YieldOp::create(rb, loc);
              });
        }
        scf::ForOp::create(nb, loc, groupEnd, end, one, ValueRange(),
                           [&](OpBuilder &rb, Location, Value r, ValueRange) {
                             emitRows(rb, block, {r});
                             scf::YieldOp::create(rb, loc);
                           });
      });
  if (inputGrad)
    emitStoreFence(b, loc, storePolicy);
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
