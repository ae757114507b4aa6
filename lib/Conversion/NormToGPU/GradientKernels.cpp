//===- GradientKernels.cpp - Gradient ops on memrefs to GPU kernels -------===//
//
// The GPU lowering of norm.layer_norm_grad and norm.rms_norm_grad, on views
// of rows x N (KernelPlan.h), in up to three launches:
//
//   0. [recomputed statistics] the forward kernel, writing only mean and
//      rstd into temporaries of M elements (KernelEmitter, no output), the
//      mean as its pivot p and offset d: x is centred as (x - p) - d, as
//      the reference centres it, never by the rounded mean.
//   1. The rows. The block's R row groups of G threads are S row slots
//      (S = R * ceil(min(M, 1024) / R) with dgamma/dbeta, one slot per row
//      otherwise); slot s takes the rows s, s + S, s + 2S, ... in turn:
//        xhat = (x - mean) rstd, wdy = gamma dy            (RowMath)
//        sum(wdy), sum(wdy xhat) across the row             (RowReducer)
//        dx = rstd (wdy - mean(wdy) - xhat mean(wdy xhat)) + dr
//        Pg[s, :] += dy xhat, Pb[s, :] += dy               (dgamma, dbeta)
//      Where the row fits in registers (static N), each thread holds its
//      vectors of x and dy (and of gamma, loaded once for all its rows), so
//      x and dy are read from memory once, and its share of Pg and Pb stays
//      in registers until the slot's last row; otherwise it streams the row
//      twice and updates its share of the partial rows in memory.
//   2. [dgamma/dbeta] one thread per vector of V columns sums the S partial
//      rows in slot order and rounds once.
//
// No atomics: every partial row has one owner, and S depends on M only, so
// dgamma and dbeta have the same bits on every GPU and at every occupancy.
// Every thread runs the same number of row iterations (rows past M compute
// on a copy of the last row and neither store nor accumulate), so that the
// shuffles and barriers of a row are reached by every thread of a warp.
//
//===----------------------------------------------------------------------===//

#include "KernelEmitter.h"
#include "KernelPlan.h"
#include "RowReductions.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/PatternMatch.h"
#include "norm/Dialect/Norm/IR/NormOps.h"
#include "norm/Dialect/Norm/Utils/RowMath.h"

using namespace mlir;
using namespace mlir::norm;

/// The most row slots, and so partial rows of dgamma and dbeta: enough
/// blocks to fill a GPU, few enough that the partial rows stay small next
/// to x and dy (1024 x N x 4 bytes, against M x N x 2-3 x 2-4 bytes).
static constexpr int64_t kMaxRowSlots = 1024;
/// Threads per block of the kernel summing the partial rows.
static constexpr int64_t kColumnBlockSize = 256;

namespace {
/// The rows x N views (N for gamma and the parameter gradients, M for the
/// statistics; null when absent) and the partial rows, [S, N].
struct GradViews {
  Value input, outputGrad, residualGrad, gamma, mean, rstd;
  /// Recomputed statistics: the mean's offset d (its pivot p in `mean`).
  Value meanOffset;
  Value inputGrad, gammaGrad, betaGrad;
  Value gammaPartials, betaPartials;
};

/// Emits the body of launch 1 (the rows) for one gradient op.
class GradKernelEmitter {
public:
  GradKernelEmitter(OpBuilder &b, Location loc, NormGradOpInterface op,
                    const KernelPlan &plan, const GradViews &views,
                    Value numSlots, Value iterations)
      : b(b), loc(loc), op(op), plan(plan), views(views), numSlots(numSlots),
        iterations(iterations),
        computeType(getComputeElementType(op.getInputType().getElementType())),
        reducer(b, loc, plan, computeType) {}

  void emit(gpu::LaunchOp launch);

private:
  Value index(int64_t value) {
    return arith::ConstantIndexOp::create(b, loc, value);
  }
  Value zero() { return createFloatConstant(b, loc, computeType, 0.0); }
  Value both(Value lhs, Value rhs) {
    if (!lhs)
      return rhs;
    if (!rhs)
      return lhs;
    return arith::AndIOp::create(b, loc, lhs, rhs);
  }
  Value columnOf(Value vectorIndex) {
    return arith::MulIOp::create(b, loc, vectorIndex, index(plan.vectorWidth));
  }

  /// V elements of `view` at `indices` in the compute type; zeros where
  /// `valid` (null: always) is false.
  SmallVector<Value> load(Value view, ValueRange indices, Value valid);
  /// The row's saved or recomputed statistics (mean as the pivot).
  RowStatistics loadStatistics(Value row);

  /// The terms of V elements of a row.
  struct Terms {
    SmallVector<Value> dy, xhat, wdy;
  };
  Terms computeTerms(ArrayRef<Value> x, ArrayRef<Value> dy,
                     ArrayRef<Value> gamma, const RowStatistics &statistics);
  /// The row sums dx needs, per held vector: sum(wdy) (LayerNorm) and
  /// sum(wdy xhat).
  SmallVector<Value> sumTerms(ArrayRef<Terms> terms, ArrayRef<Value> valid);
  /// mean(wdy) (null for RMSNorm) and mean(wdy xhat) from the row's sums.
  std::pair<Value, Value> finishSums(ArrayRef<Value> threadSums);
  /// Stores dx for V columns at `column` of `row` (dr added), under `valid`.
  void storeInputGradient(const Terms &terms, Value row, Value loadRow,
                          Value column, Value valid,
                          const RowStatistics &statistics,
                          std::pair<Value, Value> means);
  /// This row's contributions to the partial rows, zeros unless `valid`:
  /// dy xhat, then dy, for those that exist.
  SmallVector<Value> partialTerms(const Terms &terms, Value valid);

  void emitHeldRows();
  void emitStreamedRows();

  OpBuilder &b;
  Location loc;
  NormGradOpInterface op;
  const KernelPlan &plan;
  GradViews views;
  Value numSlots, iterations;
  Type computeType;
  RowReducer reducer;

  Value threadInRow, slot, numRows, lastRow, numVectors, rowSize;
};
} // namespace

SmallVector<Value> GradKernelEmitter::load(Value view, ValueRange indices,
                                           Value valid) {
  auto loadConverted = [&]() {
    SmallVector<Value> values =
        loadVectorElements(b, loc, view, indices, plan.vectorWidth);
    for (Value &value : values)
      value = createFloatConversion(b, loc, value, computeType);
    return values;
  };
  if (!valid)
    return loadConverted();
  SmallVector<Type> types(plan.vectorWidth, computeType);
  auto ifOp = scf::IfOp::create(b, loc, types, valid, /*withElseRegion=*/true);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(ifOp.thenBlock());
  scf::YieldOp::create(b, loc, loadConverted());
  b.setInsertionPointToStart(ifOp.elseBlock());
  scf::YieldOp::create(b, loc, SmallVector<Value>(plan.vectorWidth, zero()));
  return SmallVector<Value>(ifOp.getResults());
}

RowStatistics GradKernelEmitter::loadStatistics(Value row) {
  auto scalar = [&](Value view) -> Value {
    if (!view)
      return Value();
    SmallVector<Value> indices;
    if (cast<MemRefType>(view.getType()).getRank() == 1)
      indices.push_back(row);
    Value value = memref::LoadOp::create(b, loc, view, indices);
    return createFloatConversion(b, loc, value, computeType);
  };
  // The saved mean is the pivot of the centring, with no offset; a
  // recomputed one is its pivot and offset.
  return RowStatistics{scalar(views.mean), scalar(views.meanOffset),
                       scalar(views.rstd)};
}

GradKernelEmitter::Terms
GradKernelEmitter::computeTerms(ArrayRef<Value> x, ArrayRef<Value> dy,
                                ArrayRef<Value> gamma,
                                const RowStatistics &statistics) {
  Terms terms;
  for (auto [i, xi] : llvm::enumerate(x)) {
    terms.dy.push_back(dy[i]);
    terms.xhat.push_back(createNormalized(b, loc, xi, statistics));
    terms.wdy.push_back(createGradientProduct(
        b, loc, dy[i], gamma.empty() ? Value() : gamma[i]));
  }
  return terms;
}

SmallVector<Value> GradKernelEmitter::sumTerms(ArrayRef<Terms> terms,
                                               ArrayRef<Value> valid) {
  SmallVector<SmallVector<Value>> wdy, dot;
  for (const Terms &t : terms) {
    wdy.push_back(t.wdy);
    SmallVector<Value> &products = dot.emplace_back();
    for (auto [w, xhat] : llvm::zip_equal(t.wdy, t.xhat))
      products.push_back(arith::MulFOp::create(b, loc, w, xhat));
  }
  auto identity = [](Value value) { return value; };
  SmallVector<Value> sums;
  if (op.isLayerNorm())
    sums.push_back(reducer.sumHeld(wdy, valid, identity));
  sums.push_back(reducer.sumHeld(dot, valid, identity));
  return sums;
}

std::pair<Value, Value>
GradKernelEmitter::finishSums(ArrayRef<Value> threadSums) {
  SmallVector<Value> sums = reducer.sumAcrossRow(threadSums, 0);
  // The next row reuses the exchange region: nobody may write it before
  // every warp has read it.
  if (plan.getWarpsPerRow() > 1)
    gpu::BarrierOp::create(b, loc);
  Value meanGradient =
      op.isLayerNorm() ? createRowMean(b, loc, sums.front(), rowSize) : Value();
  return {meanGradient, createRowMean(b, loc, sums.back(), rowSize)};
}

void GradKernelEmitter::storeInputGradient(const Terms &terms, Value row,
                                           Value loadRow, Value column,
                                           Value valid,
                                           const RowStatistics &statistics,
                                           std::pair<Value, Value> means) {
  emitIf(b, loc, valid, [&] {
    SmallVector<Value> dr;
    if (views.residualGrad)
      dr = load(views.residualGrad, {loadRow, column}, Value());
    SmallVector<Value> dx;
    for (auto [i, w] : llvm::enumerate(terms.wdy)) {
      Value value = createInputGradient(
          b, loc, w, terms.xhat[i], statistics.rstd, means.first, means.second);
      if (!dr.empty())
        value = arith::AddFOp::create(b, loc, value, dr[i]);
      dx.push_back(value);
    }
    storeVectorElements(b, loc, views.inputGrad, {row, column}, dx);
  });
}

SmallVector<Value> GradKernelEmitter::partialTerms(const Terms &terms,
                                                   Value valid) {
  SmallVector<Value> values;
  auto add = [&](Value value) {
    values.push_back(arith::SelectOp::create(b, loc, valid, value, zero()));
  };
  if (views.gammaPartials)
    for (auto [dy, xhat] : llvm::zip_equal(terms.dy, terms.xhat))
      add(arith::MulFOp::create(b, loc, dy, xhat));
  if (views.betaPartials)
    for (Value dy : terms.dy)
      add(dy);
  return values;
}

void GradKernelEmitter::emitHeldRows() {
  int64_t threads = plan.threadsPerRow;
  int64_t width = plan.vectorWidth;
  int64_t rowVectors =
      cast<MemRefType>(views.input.getType()).getShape().back() / width;
  SmallVector<Value> columns, valid;
  SmallVector<SmallVector<Value>> gamma;
  for (int64_t k = 0; k < plan.slotsPerThread; ++k) {
    Value vectorIndex =
        arith::AddIOp::create(b, loc, threadInRow, index(k * threads));
    Value cond;
    if ((k + 1) * threads > rowVectors)
      cond = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult,
                                   vectorIndex, numVectors);
    columns.push_back(columnOf(vectorIndex));
    valid.push_back(cond);
    // gamma is the same for every row of the slot: loaded once.
    gamma.push_back(views.gamma ? load(views.gamma, {columns.back()}, cond)
                                : SmallVector<Value>());
  }

  // The thread's share of the partial rows, carried across the rows.
  int64_t numPartials =
      (views.gammaPartials ? 1 : 0) + (views.betaPartials ? 1 : 0);
  int64_t perVector = numPartials * width;
  SmallVector<Value> init(plan.slotsPerThread * perVector, zero());
  // (Bounds created one per statement: argument order is unspecified, and
  // GCC and clang must build the same IR.)
  Value lower = index(0);
  Value step = index(1);
  auto loop = scf::ForOp::create(
      b, loc, lower, iterations, step, init,
      [&](OpBuilder &nested, Location, Value iteration, ValueRange acc) {
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPointToEnd(nested.getInsertionBlock());
        Value row = arith::AddIOp::create(
            b, loc, slot, arith::MulIOp::create(b, loc, iteration, numSlots));
        Value rowIsValid = arith::CmpIOp::create(
            b, loc, arith::CmpIPredicate::ult, row, numRows);
        Value loadRow = arith::MinUIOp::create(b, loc, row, lastRow);
        RowStatistics statistics = loadStatistics(loadRow);

        // Every vector of x and dy is loaded before any is used.
        SmallVector<SmallVector<Value>> x, dy;
        for (int64_t k = 0; k < plan.slotsPerThread; ++k) {
          x.push_back(load(views.input, {loadRow, columns[k]}, valid[k]));
          dy.push_back(load(views.outputGrad, {loadRow, columns[k]}, valid[k]));
        }
        SmallVector<Terms> terms;
        for (int64_t k = 0; k < plan.slotsPerThread; ++k)
          terms.push_back(computeTerms(x[k], dy[k], gamma[k], statistics));

        if (views.inputGrad) {
          std::pair<Value, Value> means = finishSums(sumTerms(terms, valid));
          for (int64_t k = 0; k < plan.slotsPerThread; ++k)
            storeInputGradient(terms[k], row, loadRow, columns[k],
                               both(valid[k], rowIsValid), statistics, means);
        }

        SmallVector<Value> next;
        for (int64_t k = 0; k < plan.slotsPerThread; ++k) {
          SmallVector<Value> add = partialTerms(terms[k], rowIsValid);
          for (auto [i, value] : llvm::enumerate(add))
            next.push_back(
                arith::AddFOp::create(b, loc, acc[k * perVector + i], value));
        }
        scf::YieldOp::create(b, loc, next);
      });

  // The slot's partial rows, stored once.
  if (!numPartials)
    return;
  for (int64_t k = 0; k < plan.slotsPerThread; ++k)
    emitIf(b, loc, valid[k], [&] {
      SmallVector<Value> mine(
          loop.getResults().slice(k * perVector, perVector));
      int64_t at = 0;
      for (Value partials : {views.gammaPartials, views.betaPartials}) {
        if (!partials)
          continue;
        storeVectorElements(b, loc, partials, {slot, columns[k]},
                            ArrayRef(mine).slice(at, width));
        at += width;
      }
    });
}

void GradKernelEmitter::emitStreamedRows() {
  Value step = index(plan.threadsPerRow);
  // Loops over this thread's vectors of the row, `body` given the column.
  auto sweep = [&](ValueRange init,
                   function_ref<SmallVector<Value>(Value, ValueRange)> body) {
    auto loop = scf::ForOp::create(
        b, loc, threadInRow, numVectors, step, init,
        [&](OpBuilder &nested, Location, Value vectorIndex, ValueRange acc) {
          OpBuilder::InsertionGuard guard(b);
          b.setInsertionPointToEnd(nested.getInsertionBlock());
          scf::YieldOp::create(b, loc, body(columnOf(vectorIndex), acc));
        });
    return SmallVector<Value>(loop.getResults());
  };
  SmallVector<Value> partials;
  for (Value value : {views.gammaPartials, views.betaPartials})
    if (value)
      partials.push_back(value);
  if (!partials.empty())
    sweep({}, [&](Value column, ValueRange) -> SmallVector<Value> {
      for (Value value : partials)
        storeVectorElements(b, loc, value, {slot, column},
                            SmallVector<Value>(plan.vectorWidth, zero()));
      return {};
    });

  Value lower = index(0);
  Value one = index(1);
  auto loop = scf::ForOp::create(b, loc, lower, iterations, one);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(loop.getBody());
  Value row = arith::AddIOp::create(
      b, loc, slot,
      arith::MulIOp::create(b, loc, loop.getInductionVar(), numSlots));
  Value rowIsValid =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, row, numRows);
  Value loadRow = arith::MinUIOp::create(b, loc, row, lastRow);
  RowStatistics statistics = loadStatistics(loadRow);
  auto loadTerms = [&](Value column) {
    SmallVector<Value> gamma;
    if (views.gamma)
      gamma = load(views.gamma, {column}, Value());
    SmallVector<Value> x = load(views.input, {loadRow, column}, Value());
    SmallVector<Value> dy = load(views.outputGrad, {loadRow, column}, Value());
    return computeTerms(x, dy, gamma, statistics);
  };

  // Sweep 1: the sums of dx, and the partial rows updated in memory (each
  // vector of them by its one owner).
  int64_t numSums = views.inputGrad ? (op.isLayerNorm() ? 2 : 1) : 0;
  SmallVector<Value> init(numSums, zero());
  SmallVector<Value> threadSums =
      sweep(init, [&](Value column, ValueRange acc) -> SmallVector<Value> {
        Terms terms = loadTerms(column);
        SmallVector<Value> add = partialTerms(terms, rowIsValid);
        for (auto [i, value] : llvm::enumerate(partials)) {
          SmallVector<Value> sum = load(value, {slot, column}, Value());
          for (int64_t e = 0; e < plan.vectorWidth; ++e)
            sum[e] = arith::AddFOp::create(b, loc, sum[e],
                                           add[i * plan.vectorWidth + e]);
          storeVectorElements(b, loc, value, {slot, column}, sum);
        }
        if (!numSums)
          return {};
        SmallVector<Value> sums = sumTerms({terms}, {Value()});
        for (auto [sum, previous] : llvm::zip_equal(sums, acc))
          sum = arith::AddFOp::create(b, loc, previous, sum);
        return sums;
      });
  if (!views.inputGrad)
    return;

  // Sweep 2: dx, from a second read of the row.
  std::pair<Value, Value> means = finishSums(threadSums);
  sweep({}, [&](Value column, ValueRange) -> SmallVector<Value> {
    storeInputGradient(loadTerms(column), row, loadRow, column, rowIsValid,
                       statistics, means);
    return {};
  });
}

void GradKernelEmitter::emit(gpu::LaunchOp launch) {
  std::tie(threadInRow, slot) = reducer.placeThread(launch);

  auto inputView = cast<MemRefType>(views.input.getType());
  numRows = memref::DimOp::create(b, loc, views.input, 0);
  lastRow = arith::SubIOp::create(b, loc, numRows, index(1));
  int64_t staticN = inputView.getDimSize(1);
  if (ShapedType::isDynamic(staticN)) {
    numVectors = memref::DimOp::create(b, loc, views.input, 1);
    rowSize = createRowSizeFromIndex(b, loc, computeType, numVectors);
  } else {
    numVectors = index(staticN / plan.vectorWidth);
    rowSize =
        arith::ConstantOp::create(b, loc, getRowSizeAttr(computeType, staticN));
  }

  if (plan.holdsRowInRegisters())
    emitHeldRows();
  else
    emitStreamedRows();
}

/// Emits launch 2: dgamma and dbeta, each the sum in slot order of its S
/// partial rows, one thread per vector of V columns.
static void emitColumnSums(OpBuilder &b, Location loc, const GradViews &views,
                           int64_t width, Value numSlots, Value numVectors) {
  Value blockSize = arith::ConstantIndexOp::create(b, loc, kColumnBlockSize);
  Value gridSize =
      b.createOrFold<arith::CeilDivUIOp>(loc, numVectors, blockSize);
  gpu::LaunchOp launch = createLaunch(b, loc, gridSize, blockSize);
  Value vectorIndex = arith::AddIOp::create(
      b, loc, arith::MulIOp::create(b, loc, launch.getBlockIds().x, blockSize),
      launch.getThreadIds().x);
  Value valid = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult,
                                      vectorIndex, numVectors);
  SmallVector<std::pair<Value, Value>> sums;
  for (auto [partials, destination] :
       {std::make_pair(views.gammaPartials, views.gammaGrad),
        std::make_pair(views.betaPartials, views.betaGrad)})
    if (partials)
      sums.push_back({partials, destination});
  emitIf(b, loc, valid, [&] {
    Value column = arith::MulIOp::create(
        b, loc, vectorIndex, arith::ConstantIndexOp::create(b, loc, width));
    Type computeType =
        cast<MemRefType>(sums.front().first.getType()).getElementType();
    Value zero = createFloatConstant(b, loc, computeType, 0.0);
    SmallVector<Value> init(sums.size() * width, zero);
    Value lower = arith::ConstantIndexOp::create(b, loc, 0);
    Value step = arith::ConstantIndexOp::create(b, loc, 1);
    auto loop = scf::ForOp::create(b, loc, lower, numSlots, step, init);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(loop.getBody());
      SmallVector<Value> next;
      for (auto [i, sum] : llvm::enumerate(sums)) {
        SmallVector<Value> partial = loadVectorElements(
            b, loc, sum.first, {loop.getInductionVar(), column}, width);
        for (int64_t e = 0; e < width; ++e)
          next.push_back(arith::AddFOp::create(
              b, loc, loop.getRegionIterArgs()[i * width + e], partial[e]));
      }
      scf::YieldOp::create(b, loc, next);
    }
    for (auto [i, sum] : llvm::enumerate(sums))
      storeVectorElements(
          b, loc, sum.second, {column},
          SmallVector<Value>(loop.getResults().slice(i * width, width)));
  });
}

/// Runs `body` under `count > 0` when `count` is not a constant, never when
/// it is the constant 0.
static void emitIfPositive(OpBuilder &b, Location loc, Value count,
                           function_ref<void()> body) {
  if (std::optional<int64_t> value = getConstantIntValue(count)) {
    if (*value > 0)
      body();
    return;
  }
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  emitIf(b, loc,
         arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ugt, count, zero),
         body);
}

LogicalResult
mlir::norm::lowerNormGradOpToGPU(RewriterBase &rewriter, NormGradOpInterface op,
                                 const ConvertNormToGPUOptions &options) {
  Location loc = op->getLoc();
  int64_t axis = op.getNormalizedAxis();
  Type inputType = op.getInputType().getElementType();
  Type computeType = getComputeElementType(inputType);

  SmallVector<MemRefType> vectorViews;
  for (const NamedOperand &operand : getNamedOperands(op)) {
    if (!operand.value)
      continue;
    FailureOr<MemRefType> view = getViewType(
        cast<MemRefType>(operand.value.getType()), operand.kind, axis);
    if (failed(view))
      return rewriter.notifyMatchFailure(op, "operand layout not collapsible");
    if (operand.kind != ViewKind::Rows)
      vectorViews.push_back(*view);
  }
  KernelPlan plan =
      planKernel(inputType, /*heldArrays=*/2, vectorViews, options);

  OpBuilder &b = rewriter;
  rewriter.setInsertionPoint(op);
  auto view = [&](Value value, ViewKind kind) -> Value {
    return value ? createView(b, loc, value, kind, axis) : Value();
  };
  GradViews views;
  views.input = view(op.getInput(), ViewKind::Matrix);
  views.outputGrad = view(op.getOutputGrad(), ViewKind::Matrix);
  views.residualGrad = view(op.getResidualGrad(), ViewKind::Matrix);
  views.gamma = view(op.getGamma(), ViewKind::Vector);
  views.mean = view(op.getMean(), ViewKind::Rows);
  views.rstd = view(op.getRstd(), ViewKind::Rows);
  views.inputGrad = view(op.getInputGradInit(), ViewKind::Matrix);
  views.gammaGrad = view(op.getGammaGradInit(), ViewKind::Vector);
  views.betaGrad = view(op.getBetaGradInit(), ViewKind::Vector);

  auto index = [&](int64_t value) -> Value {
    return arith::ConstantIndexOp::create(b, loc, value);
  };
  Value numRows = b.createOrFold<memref::DimOp>(loc, views.input, 0);
  Value rowLength = b.createOrFold<memref::DimOp>(loc, views.input, 1);
  SmallVector<Value> temporaries;
  auto statisticsType = MemRefType::get({ShapedType::kDynamic}, computeType);

  // Launch 0: recomputed statistics, by the forward kernel.
  if (op.recomputesStatistics()) {
    views.rstd = memref::AllocOp::create(b, loc, statisticsType, numRows);
    temporaries.push_back(views.rstd);
    if (op.isLayerNorm()) {
      // The mean as pivot and offset, so that x is centred as (x - p) - d,
      // as the reference centres it, never by the rounded mean.
      views.mean = memref::AllocOp::create(b, loc, statisticsType, numRows);
      views.meanOffset =
          memref::AllocOp::create(b, loc, statisticsType, numRows);
      temporaries.push_back(views.mean);
      temporaries.push_back(views.meanOffset);
    }
    NormOpInterface forward = createDetachedStatisticsOp(
        op, views.input, /*axis=*/1, views.mean, views.rstd);
    emitNormLaunch(b, forward, options, /*statisticsOnly=*/true,
                   views.meanOffset);
    forward->destroy();
  }

  // S row slots: one per row for dx alone, at most kMaxRowSlots with
  // partial rows to fill.
  bool wantsParameters = views.gammaGrad || views.betaGrad;
  Value wantedSlots = numRows;
  if (wantsParameters)
    wantedSlots =
        b.createOrFold<arith::MinUIOp>(loc, numRows, index(kMaxRowSlots));
  Value rowsPerBlock = index(plan.rowsPerBlock);
  Value numBlocks =
      b.createOrFold<arith::CeilDivUIOp>(loc, wantedSlots, rowsPerBlock);
  Value numSlots = b.createOrFold<arith::MulIOp>(loc, numBlocks, rowsPerBlock);
  if (wantsParameters) {
    auto partialType =
        MemRefType::get({ShapedType::kDynamic,
                         cast<MemRefType>(views.input.getType()).getDimSize(1)},
                        computeType);
    SmallVector<Value> sizes = {numSlots};
    if (partialType.isDynamicDim(1))
      sizes.push_back(rowLength);
    auto allocate = [&]() {
      Value partials = memref::AllocOp::create(b, loc, partialType, sizes);
      temporaries.push_back(partials);
      return partials;
    };
    if (views.gammaGrad)
      views.gammaPartials = allocate();
    if (views.betaGrad)
      views.betaPartials = allocate();
  }

  // Launch 1: the rows.
  emitIfPositive(b, loc, numRows, [&] {
    Value iterations =
        b.createOrFold<arith::CeilDivUIOp>(loc, numRows, numSlots);
    SmallVector<Type> workgroupBuffers;
    if (plan.getWarpsPerRow() > 1)
      workgroupBuffers.push_back(getWorkgroupBufferType(
          b.getContext(),
          plan.rowsPerBlock * plan.getWarpsPerRow() * kSharedFields,
          computeType));
    OpBuilder::InsertionGuard guard(b);
    gpu::LaunchOp launch = createLaunch(
        b, loc, numBlocks, index(plan.getBlockSize()), workgroupBuffers);
    GradKernelEmitter(b, loc, op, plan, views, numSlots, iterations)
        .emit(launch);
  });

  // Launch 2: dgamma and dbeta from the partial rows (zeros for no rows).
  if (wantsParameters) {
    Value numVectors =
        b.createOrFold<arith::DivUIOp>(loc, rowLength, index(plan.vectorWidth));
    emitIfPositive(b, loc, numVectors, [&] {
      OpBuilder::InsertionGuard guard(b);
      emitColumnSums(b, loc, views, plan.vectorWidth, numSlots, numVectors);
    });
  }

  for (Value temporary : temporaries)
    memref::DeallocOp::create(b, loc, temporary);
  rewriter.eraseOp(op);
  return success();
}
