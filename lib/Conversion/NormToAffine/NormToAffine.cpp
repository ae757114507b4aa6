//===- NormToAffine.cpp - Lower norm ops to vectorised affine loops -------===//
//
// Lowers `norm.layer_norm` and `norm.rms_norm` on memrefs to a loop over the
// rows whose body is straight vector code, so that each row is read from
// memory once and written once, and everything else happens in registers and
// the L1 cache:
//
//   for each row (affine.parallel):
//     p    = h[0], or 0 if h[0] is not finite               (LayerNorm)
//     s    = sum(h - p)       U vector accumulators        sweep 1
//     mean = p + reduce(s) / N
//     v    = sum(((h - mean) * c)^2)    or  sum((h * c)^2)  sweep 2 (or 1)
//     rstd = 1 / sqrt(reduce(v) + eps), NaN if reduce(v) is +inf
//     out  = (h - mean) * rstd * gamma + beta               last sweep
//
// with `h = round(input + residual)` and `c = 1/sqrt(N)`: the arithmetic of
// the reference decomposition, built by the same row-math layer
// (norm/Dialect/Norm/Utils/RowMath.h), so that the two agree to rounding,
// including exact results for constant rows. Each sweep walks the row in
// vectors of W lanes, unrolled U times with independent accumulators, and
// finishes with one masked vector when W does not divide N (RowSweeps.h);
// sweeps after the first find the row in the L1 or L2 cache. Non-temporal
// stores and prefetching are MemoryPolicy.h's.
//
// When eps may be tiny (see getTinyRowRescue), a row whose reduce(v) is
// below 2^-100 (f32) takes one more sweep, v' = sum(((h - mean) * K * c)^2)
// with K = 2^100, and rstd = K / sqrt(reduce(v') + eps K^2): squares of
// elements below ~1e-19 would otherwise be subnormal.
//
//===----------------------------------------------------------------------===//

#include "norm/Conversion/NormToAffine/NormToAffine.h"

#include "GradientLoops.h"
#include "MemoryPolicy.h"
#include "RowSweeps.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/IR/TypeUtilities.h"
#include "norm/Dialect/Norm/IR/NormOps.h"
#include "norm/Dialect/Norm/Utils/RowMath.h"
#include "llvm/TargetParser/Host.h"

namespace mlir {
namespace norm {
#define GEN_PASS_DEF_CONVERTNORMTOAFFINE
#include "norm/Conversion/Passes.h.inc"
} // namespace norm
} // namespace mlir

using namespace mlir;
using namespace mlir::norm;

unsigned mlir::norm::getHostVectorWidth() {
  llvm::StringMap<bool> features = llvm::sys::getHostCPUFeatures();
  if (features.lookup("avx512f"))
    return 16;
  if (features.lookup("avx"))
    return 8;
  return 4;
}

namespace {
/// Emits the row loops and sweeps of one norm op on memrefs.
class RowKernelEmitter {
public:
  RowKernelEmitter(OpBuilder &b, NormOpInterface op,
                   const ConvertNormToAffineOptions &options,
                   bool statisticsOnly = false, Value meanOffset = Value())
      : b(b), op(op), loc(op->getLoc()), options(options),
        statisticsOnly(statisticsOnly), meanOffset(meanOffset),
        rank(op.getInputType().getRank()), axis(op.getNormalizedAxis()),
        inputElementType(op.getInputType().getElementType()),
        computeType(getComputeElementType(inputElementType)) {}

  /// Emits the loops in place of the op (which the caller erases).
  void emit();

private:
  //--- Set-up ---------------------------------------------------------------
  /// Collapses the normalised dims of every full-shaped and parameter buffer
  /// into one where they are contiguous in all of them, and picks the number
  /// of lanes (one when a trailing dim is not unit-stride).
  void prepareViews();
  /// N as a compute-type float.
  Value getRowSizeAsFloat();

  //--- Element access -------------------------------------------------------
  /// Where `loadRow` finds `h = input (+ residual)`.
  enum class RowSource {
    /// Computes it from the input and the residual.
    Compute,
    /// Computes it and writes the rounded sum to residual_out (the first
    /// sweep).
    ComputeAndWrite,
    /// Reads it back from residual_out when there is one (later sweeps):
    /// one load instead of two, and right even when residual_out aliases
    /// the input or the residual.
    Reuse,
  };
  /// Loads `h` in the compute type.
  Value loadRow(OpBuilder &builder, ValueRange rowIvs, ValueRange normIvs,
                Value mask, RowSource source, int64_t numLanes = 0);
  /// Converts the compute-type output vector `y` to the output element type
  /// (createOutputConversion, lane by lane), quantised by the row's dynamic
  /// scale `rowScale` (a compute-type scalar) when it is given, else by the
  /// out_scale if any. For a non-temporal store, f32 -> bf16 rounds in
  /// integer arithmetic (see `roundToBF16Bits`).
  Value convertOutput(OpBuilder &builder, Value y, Type outputElementType,
                      bool nontemporal = false, Value rowScale = Value());
  /// `normIvs` with `start` (if any) added to the last: a group's element
  /// indices in its row.
  SmallVector<Value> offsetIndices(OpBuilder &builder, ValueRange normIvs,
                                   Value start) {
    SmallVector<Value> indices(normIvs);
    if (start)
      indices.back() =
          arith::AddIOp::create(builder, loc, indices.back(), start);
    return indices;
  }
  SmallVector<Value> fullIndices(ValueRange rowIvs, ValueRange normIvs) {
    SmallVector<Value> indices(rowIvs);
    indices.append(normIvs.begin(), normIvs.end());
    return indices;
  }

  //--- One row --------------------------------------------------------------
  /// The values the stages of a row pass on, in the compute type: vectors
  /// (`...Vector`, and the zero and c splats) or scalars.
  struct RowValues {
    ValueRange rowIvs;
    Value zeroVector, scale;
    /// LayerNorm: the pivot and offset splats, the offset d itself, and
    /// with one-pass-variance the pivoted sum of squares; null for RMSNorm.
    Value pivotVector, offsetVector, pivotedMean, pivotedSquares, meanScalar;
    /// LayerNorm: the pivot p itself.
    Value pivotScalar;
    /// Whether a sweep has written residual_out.
    bool residualWritten = false;
    Value sumSquares, rstdScalar;
  };
  /// Emits the computation of one row.
  void emitRow(OpBuilder &builder, ValueRange rowIvs);
  /// The row's first element in the compute type (0 for an empty dynamic
  /// row).
  Value loadFirstElement(OpBuilder &builder, ValueRange rowIvs);
  /// LayerNorm, sweep 1: the pivot and the pivoted sums (the mean, and with
  /// one-pass-variance the pivoted squares).
  void emitPivotedSums(OpBuilder &builder, RowValues &row);
  /// A sweep summing the scaled squares of the centred elements (multiplied
  /// by the vector `factor` first, for the tiny-row rescue), reduced.
  Value emitCentredSquares(OpBuilder &builder, const RowValues &row,
                           RowSource source, Value factor = Value());
  /// The scaled sum of squares: from the one-pass variance when it is
  /// accurate, otherwise from a centred sweep.
  void emitSumOfSquares(OpBuilder &builder, RowValues &row);
  /// rstd (with the tiny-row rescue's sweep when eps may need it), and the
  /// mean and rstd destinations.
  void emitRstd(OpBuilder &builder, RowValues &row);
  /// The row's statistics as vectors, for the output sweeps.
  RowStatistics getOutputStatistics(OpBuilder &builder, const RowValues &row);
  /// The output y (compute type, before conversion) at `normIvs`.
  Value emitOutputElement(OpBuilder &builder, const RowValues &row,
                          const RowStatistics &statistics, ValueRange normIvs,
                          Value mask);
  /// Dynamic quantisation: a sweep (of `groupSweeps`, over the row or, from
  /// `groupStart`, over a group) for amax, then the scale, stored into
  /// `scales` at `scaleIndices`; returns the scale in the compute type.
  Value emitDynamicScale(OpBuilder &builder, const RowValues &row,
                         const RowStatistics &statistics,
                         RowSweeps &groupSweeps, Value groupStart,
                         ValueRange scaleIndices);
  /// Per-group dynamic quantisation: a loop over the row's groups, each
  /// with its amax sweep, its scale and its quantising sweep.
  void emitGroupQuantizeSweeps(OpBuilder &builder, const RowValues &row);
  /// The last sweep: normalise and store, with the store policy's
  /// non-temporal stores and prefetches (after the amax sweep of per-token
  /// dynamic quantisation).
  void emitNormalizeSweep(OpBuilder &builder, const RowValues &row);

  OpBuilder &b;
  NormOpInterface op;
  Location loc;
  const ConvertNormToAffineOptions &options;
  /// Only the statistics sweeps and the mean/rstd destinations: the output
  /// is neither written nor read.
  bool statisticsOnly;
  /// With statisticsOnly, where the offset d goes; the mean destination then
  /// takes the pivot p, so that a reader centres as (h - p) - d.
  Value meanOffset;
  int64_t rank;
  int64_t axis;
  Type inputElementType;
  Type computeType;

  /// Buffers as walked: full-shaped ones are indexed by the row ivs then the
  /// normalised ivs, gamma and beta by the normalised ivs, mean and rstd by
  /// the row ivs. Null when absent.
  Value input, residual, gamma, beta, output, residualOutput, mean, rstd;
  /// Dynamic quantisation: the scales destination, indexed by the row ivs
  /// (and the group), and the scales' upper bound (null when absent).
  Value scales, scaleUb;
  SmallVector<OpFoldResult> rowSizes, normSizes;
  /// Lanes per vector of the compute type (1: scalar code in vector<1x..>)
  /// as the views allow; the store policy may widen them.
  int64_t lanes = 1;
  unsigned unroll = 1;
  /// Independent copies of the state of a statistics sweep carrying
  /// `stateSize` vectors. A row length known at compile time lets LLVM
  /// unroll a short row's sweep whole; one known only at run time does not,
  /// so its one-vector sweeps (sums of squares) keep up to 4x `unroll`
  /// copies, within half the vector registers (16 of AVX-512's 32, 8 of
  /// AVX2's 16): each loop step then covers more of the row, and the adds
  /// of more vectors overlap. LayerNorm's one-pass sweep (two vectors a
  /// copy) keeps `unroll`: 8 copies measured no faster (4096x768 and
  /// 256x768 on one thread, within 1.05x of the static kernel either way).
  unsigned getStatisticsCopies(unsigned stateSize) const;
  /// Whether every loop bound is a valid affine symbol.
  bool useAffine = true;
  /// Row-invariant values, in the compute type (outScale null unless the
  /// output is quantised).
  Value rowSize, invSqrtRowSize, epsilon, outScale;
  /// The tiny-row rescue's values (see getTinyRowRescue) when eps may need
  /// it; all null otherwise.
  TinyRowRescueValues rescueValues;
  /// Non-temporal stores and streamed residual_out.
  StorePolicy storePolicy;
  /// The loops and vector accesses, once the lanes are settled.
  std::optional<RowSweeps> sweeps;
  /// Set while emitting the streaming version of a row.
  bool emittingStreamedRow = false;
};
} // namespace

//===----------------------------------------------------------------------===//
// Set-up
//===----------------------------------------------------------------------===//

void RowKernelEmitter::prepareViews() {
  input = op.getInput();
  residual = op.getResidual();
  gamma = op.getGamma();
  beta = op.getBeta();
  output = op.getOutput();
  residualOutput = op.getResidualOutput();
  mean = op.getMean();
  rstd = op.getRstd();
  scales = op.getScales();
  scaleUb = op.getScaleUb();

  SmallVector<Value *> fullShaped = {&input, &residual, &output,
                                     &residualOutput};
  SmallVector<Value *> params = {&gamma, &beta};
  auto forEachPresent = [](ArrayRef<Value *> values, auto fn) {
    for (Value *value : values)
      if (*value)
        fn(*value);
  };

  // Collapse [axis, rank) into one dim where every buffer allows it.
  if (rank - axis > 1) {
    SmallVector<ReassociationIndices> fullReassoc, paramReassoc(1);
    for (int64_t d = 0; d < axis; ++d)
      fullReassoc.push_back({d});
    fullReassoc.emplace_back();
    for (int64_t d = axis; d < rank; ++d) {
      fullReassoc.back().push_back(d);
      paramReassoc.front().push_back(d - axis);
    }
    bool collapsible = true;
    forEachPresent(fullShaped, [&](Value v) {
      collapsible &= memref::CollapseShapeOp::isGuaranteedCollapsible(
          cast<MemRefType>(v.getType()), fullReassoc);
    });
    forEachPresent(params, [&](Value v) {
      collapsible &= memref::CollapseShapeOp::isGuaranteedCollapsible(
          cast<MemRefType>(v.getType()), paramReassoc);
    });
    if (collapsible) {
      for (Value *v : fullShaped)
        if (*v)
          *v = memref::CollapseShapeOp::create(b, loc, *v, fullReassoc);
      for (Value *v : params)
        if (*v)
          *v = memref::CollapseShapeOp::create(b, loc, *v, paramReassoc);
    }
  }

  SmallVector<OpFoldResult> sizes = memref::getMixedSizes(b, loc, input);
  int64_t viewAxis = axis;
  rowSizes.assign(sizes.begin(), sizes.begin() + viewAxis);
  normSizes.assign(sizes.begin() + viewAxis, sizes.end());

  // Vector accesses need a unit stride in the trailing dim of every buffer
  // they touch.
  bool unitStride = true;
  forEachPresent(fullShaped, [&](Value v) {
    unitStride &= cast<MemRefType>(v.getType()).isLastDimUnitStride();
  });
  forEachPresent(params, [&](Value v) {
    unitStride &= cast<MemRefType>(v.getType()).isLastDimUnitStride();
  });
  unsigned width =
      options.vectorWidth ? options.vectorWidth : getHostVectorWidth();
  unsigned computeBits = computeType.getIntOrFloatBitWidth();
  lanes = unitStride ? std::max<int64_t>(1, width * 32 / computeBits) : 1;
  unroll = std::max(1u, options.unroll);

  for (OpFoldResult size : llvm::concat<OpFoldResult>(rowSizes, normSizes))
    if (auto value = dyn_cast<Value>(size))
      useAffine &= affine::isValidSymbol(value);
}

unsigned RowKernelEmitter::getStatisticsCopies(unsigned stateSize) const {
  bool runTimeLength = llvm::any_of(
      normSizes, [](OpFoldResult size) { return isa<Value>(size); });
  if (!runTimeLength || stateSize > 1)
    return unroll;
  unsigned registers =
      static_cast<unsigned>(lanes * computeType.getIntOrFloatBitWidth() / 32);
  return std::max(unroll, std::min(4 * unroll, registers));
}

Value RowKernelEmitter::getRowSizeAsFloat() {
  if (std::optional<SmallVector<int64_t>> staticSizes =
          getConstantIntValues(normSizes)) {
    int64_t n = 1;
    for (int64_t size : *staticSizes)
      n *= size;
    return arith::ConstantOp::create(b, loc, getRowSizeAttr(computeType, n));
  }
  // The product starts from 1 here (createRowSize starts from the first
  // size; the same N).
  Value n = arith::ConstantIndexOp::create(b, loc, 1);
  for (OpFoldResult size : normSizes) {
    Value dim = getValueOrCreateConstantIndexOp(b, loc, size);
    n = arith::MulIOp::create(b, loc, n, dim);
  }
  return createRowSizeFromIndex(b, loc, computeType, n);
}

//===----------------------------------------------------------------------===//
// Element access
//===----------------------------------------------------------------------===//

Value RowKernelEmitter::loadRow(OpBuilder &builder, ValueRange rowIvs,
                                ValueRange normIvs, Value mask,
                                RowSource source, int64_t numLanes) {
  SmallVector<Value> indices = fullIndices(rowIvs, normIvs);
  if (residualOutput && source == RowSource::Reuse && !emittingStreamedRow) {
    Value h = sweeps->load(builder, residualOutput, indices, mask, numLanes);
    return createFloatConversion(builder, loc, h, computeType);
  }
  Value x = sweeps->load(builder, input, indices, mask, numLanes);
  if (!residual)
    return createFloatConversion(builder, loc, x, computeType);
  Value r = sweeps->load(builder, residual, indices, mask, numLanes);
  Value sum = createResidualSum(builder, loc, x, r, computeType);
  // h is what the input type holds: round the sum once to it.
  bool nontemporal = emittingStreamedRow && !mask;
  Value h = nontemporal && inputElementType.isBF16() && computeType.isF32()
                ? roundToBF16Bits(builder, loc, sum)
                : createFloatConversion(builder, loc, sum, inputElementType);
  if (residualOutput && source == RowSource::ComputeAndWrite)
    sweeps->store(builder, h, residualOutput, indices, mask, nontemporal);
  return createFloatConversion(builder, loc, h, computeType);
}

Value RowKernelEmitter::convertOutput(OpBuilder &builder, Value y,
                                      Type outputElementType, bool nontemporal,
                                      Value rowScale) {
  if (nontemporal && outputElementType.isBF16() && computeType.isF32())
    return roundToBF16Bits(builder, loc, y);
  Value byScale = rowScale ? rowScale : outScale;
  if (!byScale)
    return createFloatConversion(builder, loc, y, outputElementType);
  Value scale = vector::BroadcastOp::create(builder, loc, y.getType(), byScale);
  return createQuantized(builder, loc, y, scale, outputElementType);
}

//===----------------------------------------------------------------------===//
// One row
//===----------------------------------------------------------------------===//

void RowKernelEmitter::emitRow(OpBuilder &builder, ValueRange rowIvs) {
  RowValues row;
  row.rowIvs = rowIvs;
  VectorType computeVector = sweeps->vectorOf(computeType);
  row.zeroVector = arith::ConstantOp::create(
      builder, loc, computeVector, builder.getZeroAttr(computeVector));
  row.scale =
      vector::BroadcastOp::create(builder, loc, computeVector, invSqrtRowSize);
  if (op.isLayerNorm())
    emitPivotedSums(builder, row);
  emitSumOfSquares(builder, row);
  emitRstd(builder, row);
  if (!statisticsOnly)
    emitNormalizeSweep(builder, row);
}

Value RowKernelEmitter::loadFirstElement(OpBuilder &builder,
                                         ValueRange rowIvs) {
  SmallVector<Value> firstIndices;
  Value zeroIndex = arith::ConstantIndexOp::create(builder, loc, 0);
  firstIndices.assign(normSizes.size(), zeroIndex);
  auto loadFirst = [&](OpBuilder &nb) {
    // Before sweep 1 writes residual_out: computed, not reused.
    Value first =
        loadRow(nb, rowIvs, firstIndices, Value(), RowSource::Compute, 1);
    return vector::ExtractOp::create(nb, loc, first, ArrayRef<int64_t>{0})
        .getResult();
  };
  if (getConstantIntValues(normSizes))
    return loadFirst(builder);
  // A dynamic row may be empty.
  Value nonEmpty =
      arith::ConstantOp::create(builder, loc, builder.getBoolAttr(true));
  for (OpFoldResult size : normSizes) {
    auto value = dyn_cast<Value>(size);
    if (!value)
      continue;
    Value isNonZero = arith::CmpIOp::create(
        builder, loc, arith::CmpIPredicate::ne, value, zeroIndex);
    nonEmpty = arith::AndIOp::create(builder, loc, nonEmpty, isNonZero);
  }
  auto ifOp = scf::IfOp::create(
      builder, loc, nonEmpty,
      [&](OpBuilder &nb, Location) {
        scf::YieldOp::create(nb, loc, loadFirst(nb));
      },
      [&](OpBuilder &nb, Location) {
        scf::YieldOp::create(
            nb, loc,
            arith::ConstantOp::create(nb, loc, nb.getZeroAttr(computeType))
                .getResult());
      });
  return ifOp.getResult(0);
}

void RowKernelEmitter::emitPivotedSums(OpBuilder &builder, RowValues &row) {
  // Elements are centred as (h - p) - d, never as h - (p + d): the rounded
  // mean p + d is off by up to half an ulp of a large mean, which swamps a
  // short row's small spread.
  auto contract = arith::FastMathFlags::contract;
  VectorType computeVector = sweeps->vectorOf(computeType);
  Value first = loadFirstElement(builder, row.rowIvs);
  Value pivot = createFinitePivot(builder, loc, first);
  row.pivotScalar = pivot;
  row.pivotVector =
      vector::BroadcastOp::create(builder, loc, computeVector, pivot);
  // With one-pass-variance, sweep 1 also sums ((h - p) * c)^2.
  SmallVector<Value> init = {row.zeroVector};
  if (options.onePassVariance)
    init.push_back(row.zeroVector);
  auto sums = sweeps->sweep(
      builder, init, getStatisticsCopies(init.size()),
      [&](OpBuilder &nb, ValueRange normIvs, Value mask,
          ValueRange state) -> SmallVector<Value> {
        Value h =
            loadRow(nb, row.rowIvs, normIvs, mask, RowSource::ComputeAndWrite);
        Value pivoted = createPivoted(nb, loc, h, row.pivotVector);
        Value d = sweeps->zeroMasked(nb, pivoted, mask);
        SmallVector<Value> next = {arith::AddFOp::create(nb, loc, state[0], d)};
        if (state.size() > 1) {
          Value t = createScaledElement(nb, loc, d, row.scale);
          Value square = createSquare(nb, loc, t, contract);
          next.push_back(
              arith::AddFOp::create(nb, loc, state[1], square, contract));
        }
        return next;
      });
  row.residualWritten = true;
  Value sum = sweeps->reduceSum(builder, sums);
  row.pivotedMean = createOffset(builder, loc, sum, rowSize);
  if (options.onePassVariance)
    row.pivotedSquares = sweeps->reduceSum(builder, sums, 1);
  row.meanScalar = createMean(builder, loc, pivot, row.pivotedMean);
  row.offsetVector =
      vector::BroadcastOp::create(builder, loc, computeVector, row.pivotedMean);
}

Value RowKernelEmitter::emitCentredSquares(OpBuilder &builder,
                                           const RowValues &row,
                                           RowSource source, Value factor) {
  auto contract = arith::FastMathFlags::contract;
  auto squares = sweeps->sweep(
      builder, {row.zeroVector}, getStatisticsCopies(1),
      [&](OpBuilder &nb, ValueRange normIvs, Value mask,
          ValueRange state) -> SmallVector<Value> {
        Value h = loadRow(nb, row.rowIvs, normIvs, mask, source);
        Value x = createCentred(nb, loc, h, row.pivotVector, row.offsetVector);
        Value scaled = createScaledElement(nb, loc, x, row.scale, factor);
        Value t = sweeps->zeroMasked(nb, scaled, mask);
        Value square = createSquare(nb, loc, t, contract);
        return {arith::AddFOp::create(nb, loc, state[0], square, contract)};
      });
  return sweeps->reduceSum(builder, squares);
}

void RowKernelEmitter::emitSumOfSquares(OpBuilder &builder, RowValues &row) {
  RowSource source =
      row.residualWritten ? RowSource::Reuse : RowSource::ComputeAndWrite;
  if (!row.pivotedSquares) {
    row.sumSquares = emitCentredSquares(builder, row, source);
    return;
  }
  // var = sum(((h - p) c)^2) - ((mean - p))^2, kept when the subtraction
  // loses at most 4 bits (the pivot lies within ~3.9 standard deviations of
  // the mean: always so for a constant row, nearly always for sampled
  // data). Otherwise, or for NaN, the centred sweep.
  OnePassVariance onePass =
      createOnePassVariance(builder, loc, row.pivotedSquares, row.pivotedMean);
  auto ifOp = scf::IfOp::create(
      builder, loc, onePass.isAccurate,
      [&](OpBuilder &nb, Location) {
        scf::YieldOp::create(nb, loc, onePass.variance);
      },
      [&](OpBuilder &nb, Location) {
        scf::YieldOp::create(nb, loc, emitCentredSquares(nb, row, source));
      });
  row.sumSquares = ifOp.getResult(0);
}

void RowKernelEmitter::emitRstd(OpBuilder &builder, RowValues &row) {
  row.rstdScalar =
      createRstd(builder, loc, row.sumSquares, epsilon, RsqrtKind::Rsqrt);
  if (rescueValues.scale) {
    // A tiny row: its squares again, from the elements times a power of
    // two, in one more sweep (which the usual row never runs).
    Value tiny = createIsTinyRow(builder, loc, rescueValues, row.sumSquares);
    Value rstdUsual = row.rstdScalar;
    auto ifOp = scf::IfOp::create(
        builder, loc, tiny,
        [&](OpBuilder &nb, Location) {
          Value factor = vector::BroadcastOp::create(
              nb, loc, sweeps->vectorOf(computeType), rescueValues.scale);
          Value rescaled =
              emitCentredSquares(nb, row, RowSource::Reuse, factor);
          Value rescued = createRescuedRstd(nb, loc, rescueValues, rescaled,
                                            RsqrtKind::Rsqrt);
          scf::YieldOp::create(nb, loc, rescued);
        },
        [&](OpBuilder &nb, Location) {
          scf::YieldOp::create(nb, loc, rstdUsual);
        });
    row.rstdScalar = ifOp.getResult(0);
  }

  auto storeStatistic = [&](Value buffer, Value value) {
    Type elementType = cast<MemRefType>(buffer.getType()).getElementType();
    Value converted = createFloatConversion(builder, loc, value, elementType);
    memref::StoreOp::create(builder, loc, converted, buffer, row.rowIvs);
  };
  if (mean && meanOffset) {
    storeStatistic(mean, row.pivotScalar);
    storeStatistic(meanOffset, row.pivotedMean);
  } else if (mean) {
    storeStatistic(mean, row.meanScalar);
  }
  if (rstd)
    storeStatistic(rstd, row.rstdScalar);
}

RowStatistics RowKernelEmitter::getOutputStatistics(OpBuilder &builder,
                                                    const RowValues &row) {
  Value rstdVector = vector::BroadcastOp::create(
      builder, loc, sweeps->vectorOf(computeType), row.rstdScalar);
  return RowStatistics{row.pivotVector, row.offsetVector, rstdVector};
}

Value RowKernelEmitter::emitOutputElement(OpBuilder &builder,
                                          const RowValues &row,
                                          const RowStatistics &statistics,
                                          ValueRange normIvs, Value mask) {
  auto contract = arith::FastMathFlags::contract;
  Value h = loadRow(builder, row.rowIvs, normIvs, mask, RowSource::Reuse);
  Value y = createNormalized(builder, loc, h, statistics);
  if (gamma) {
    Value g = sweeps->load(builder, gamma, normIvs, mask);
    y = createGammaProduct(builder, loc, y, g, contract);
  }
  if (beta) {
    Value c = sweeps->load(builder, beta, normIvs, mask);
    y = createBetaSum(builder, loc, y, c, contract);
  }
  return y;
}

Value RowKernelEmitter::emitDynamicScale(
    OpBuilder &builder, const RowValues &row, const RowStatistics &statistics,
    RowSweeps &groupSweeps, Value groupStart, ValueRange scaleIndices) {
  // amax of |y| over the row or group (which the sweeps before found in
  // cache), then its scale, stored; returns it in the compute type.
  VectorType computeVector = sweeps->vectorOf(computeType);
  Value zero = arith::ConstantOp::create(builder, loc, computeVector,
                                         builder.getZeroAttr(computeVector));
  auto maxima = groupSweeps.sweep(
      builder, {zero}, unroll,
      [&](OpBuilder &nb, ValueRange normIvs, Value mask,
          ValueRange state) -> SmallVector<Value> {
        Value y = emitOutputElement(
            nb, row, statistics, offsetIndices(nb, normIvs, groupStart), mask);
        y = groupSweeps.zeroMasked(nb, y, mask);
        return {createAbsMaxStep(nb, loc, state[0], y)};
      });
  Value amax = groupSweeps.reduceMax(builder, maxima);
  Type outputElementType = cast<MemRefType>(output.getType()).getElementType();
  Value scale = createDynamicScale(builder, loc, amax, outputElementType,
                                   op.getMinScale(), scaleUb);
  memref::StoreOp::create(builder, loc, scale, scales, scaleIndices);
  return createFloatConversion(builder, loc, scale, computeType);
}

void RowKernelEmitter::emitGroupQuantizeSweeps(OpBuilder &builder,
                                               const RowValues &row) {
  // Per group of G elements: its amax sweep and its quantising sweep, both
  // over elements the statistics sweeps left in cache.
  RowStatistics statistics = getOutputStatistics(builder, row);
  int64_t g = static_cast<int64_t>(*op.getGroupSize());
  Type outputElementType = cast<MemRefType>(output.getType()).getElementType();
  RowSweeps groupSweeps(loc, rowSizes, {builder.getIndexAttr(g)},
                        sweeps->getLanes(), useAffine);
  AffineExpr n = builder.getAffineSymbolExpr(0);
  sweeps->emitFor(
      builder, normSizes.back(), builder.getAffineConstantExpr(0),
      n.floorDiv(g), 1, {},
      [&](OpBuilder &nb, Value group, ValueRange) -> SmallVector<Value> {
        Value start = arith::MulIOp::create(
            nb, loc, group, arith::ConstantIndexOp::create(nb, loc, g));
        SmallVector<Value> scaleIndices(row.rowIvs);
        scaleIndices.push_back(group);
        Value scale = emitDynamicScale(nb, row, statistics, groupSweeps, start,
                                       scaleIndices);
        groupSweeps.sweep(
            nb, {}, unroll,
            [&](OpBuilder &inner, ValueRange normIvs, Value mask,
                ValueRange) -> SmallVector<Value> {
              SmallVector<Value> indices = offsetIndices(inner, normIvs, start);
              Value y =
                  emitOutputElement(inner, row, statistics, indices, mask);
              Value out = convertOutput(inner, y, outputElementType,
                                        /*nontemporal=*/false, scale);
              groupSweeps.store(inner, out, output,
                                fullIndices(row.rowIvs, indices), mask);
              return {};
            });
        return {};
      });
}

void RowKernelEmitter::emitNormalizeSweep(OpBuilder &builder,
                                          const RowValues &row) {
  if (op.getGroupSize()) {
    emitGroupQuantizeSweeps(builder, row);
    return;
  }
  int64_t lanes = sweeps->getLanes();
  RowStatistics statistics = getOutputStatistics(builder, row);
  Type outputElementType = cast<MemRefType>(output.getType()).getElementType();
  // Per-token dynamic quantisation: the row's scale, from one more sweep.
  Value rowScale;
  if (scales)
    rowScale = emitDynamicScale(builder, row, statistics, *sweeps, Value(),
                                row.rowIvs);
  SmallVector<Value> prefetchRowIvs = createPrefetchRowIndices(
      builder, loc, options.prefetch, !!residual, lanes, row.rowIvs, rowSizes);
  auto normalise = [&](OpBuilder &nb, ValueRange normIvs, Value mask,
                       bool nontemporal) {
    if (!prefetchRowIvs.empty())
      emitRowPrefetches(nb, loc, input, prefetchRowIvs, normIvs, lanes,
                        options.prefetchLocality);
    Value y = emitOutputElement(nb, row, statistics, normIvs, mask);
    Value out = convertOutput(nb, y, outputElementType, nontemporal, rowScale);
    sweeps->store(nb, out, output, fullIndices(row.rowIvs, normIvs), mask,
                  nontemporal);
  };
  auto regularSweep = [&](OpBuilder &nb) {
    sweeps->sweep(nb, {}, unroll,
                  [&](OpBuilder &inner, ValueRange normIvs, Value mask,
                      ValueRange) -> SmallVector<Value> {
                    normalise(inner, normIvs, mask, /*nontemporal=*/false);
                    return {};
                  });
  };
  auto nontemporalSweep = [&](OpBuilder &nb) {
    int64_t elementBytes =
        cast<MemRefType>(output.getType()).getElementTypeBitWidth() / 8;
    Value address = createRowAddress(nb, loc, output, row.rowIvs);
    sweeps->sweepAligned(
        nb, address, elementBytes,
        [&](OpBuilder &inner, Value index, Value mask, bool nontemporal) {
          normalise(inner, index, mask, nontemporal);
        });
  };
  if (storePolicy.alwaysNontemporal) {
    nontemporalSweep(builder);
    return;
  }
  if (!storePolicy.useNontemporal) {
    regularSweep(builder);
    return;
  }
  scf::IfOp::create(
      builder, loc, storePolicy.useNontemporal,
      [&](OpBuilder &nb, Location) {
        nontemporalSweep(nb);
        scf::YieldOp::create(nb, loc);
      },
      [&](OpBuilder &nb, Location) {
        regularSweep(nb);
        scf::YieldOp::create(nb, loc);
      });
}

void RowKernelEmitter::emit() {
  prepareViews();
  rowSize = getRowSizeAsFloat();
  invSqrtRowSize = createInvSqrtRowSize(b, loc, rowSize);
  epsilon =
      createEpsilon(b, loc, computeType, op.getEpsValue(), op.getEpsilon());
  if (std::optional<TinyRowRescue> rescue =
          getTinyRowRescue(computeType, op.getEpsilon()))
    rescueValues = createTinyRowRescueValues(b, loc, *rescue, epsilon,
                                             /*runTimeEps=*/!!op.getEpsValue());
  if (Value scale = op.getOutScale())
    outScale = createFloatConversion(b, loc, scale, computeType);

  storePolicy = decideStorePolicy(
      b, loc, statisticsOnly ? -1 : options.nontemporalThreshold, lanes,
      rowSizes, normSizes, input, residual, output, residualOutput);
  sweeps.emplace(loc, rowSizes, normSizes, storePolicy.lanes, useAffine);
  OpFoldResult parallel =
      decideParallelRows(b, loc, options.parallel, options.parallelThreshold,
                         rowSizes, normSizes, input);
  sweeps->emitRowLoops(b, parallel,
                       [&](OpBuilder &builder, ValueRange rowIvs) {
                         if (!storePolicy.streamResidual) {
                           emitRow(builder, rowIvs);
                           return;
                         }
                         Value stream = createStreamsResidualRow(
                             builder, loc, storePolicy, residualOutput, rowIvs);
                         scf::IfOp::create(
                             builder, loc, stream,
                             [&](OpBuilder &nb, Location) {
                               emittingStreamedRow = true;
                               emitRow(nb, rowIvs);
                               emittingStreamedRow = false;
                               scf::YieldOp::create(nb, loc);
                             },
                             [&](OpBuilder &nb, Location) {
                               emitRow(nb, rowIvs);
                               scf::YieldOp::create(nb, loc);
                             });
                       });
  emitStoreFence(b, loc, storePolicy);
}

void mlir::norm::emitNormStatisticsLoops(
    OpBuilder &b, NormOpInterface op, const ConvertNormToAffineOptions &options,
    Value meanOffset) {
  RowKernelEmitter(b, op, options, /*statisticsOnly=*/true, meanOffset).emit();
}

//===----------------------------------------------------------------------===//
// Pattern and pass
//===----------------------------------------------------------------------===//

/// Why the CPU lowering cannot take `op`'s element types, or an empty
/// string. The row kernels compute in f32 (f64 for f64) and load and store
/// what the LLVM dialect can: f16, bf16, f32 and f64, and the quantised
/// output types (i8, f8E4M3FN, expanded by norm-expand-fp8-casts). Other
/// float types (f8 inputs, tf32, f80, ...) would leave conversions that do
/// not lower to LLVM.
static std::string getUnsupportedTypeReason(NormOpInterface op) {
  std::pair<StringRef, Value> operands[] = {
      {"input", op.getInput()},
      {"residual", op.getResidual()},
      {"gamma", op.getGamma()},
      {"beta", op.getBeta()},
      {"eps", op.getEpsValue()},
      {"out_scale", op.getOutScale()},
      {"scale_ub", op.getScaleUb()},
      {"scales", op.getScales()},
      {"residual_out", op.getResidualOutput()},
      {"mean", op.getMean()},
      {"rstd", op.getRstd()},
      {"output", op.getOutput()}};
  for (auto [name, value] : operands) {
    if (!value)
      continue;
    Type type = getElementTypeOrSelf(value);
    if (isLowerableElementType(type, /*isQuantizedOutput=*/name == "output" &&
                                         op.hasQuantizedOutput()))
      continue;
    std::string reason;
    llvm::raw_string_ostream os(reason);
    os << "expects f16, bf16, f32 or f64 elements in the " << name
       << " to lower it to CPU code, got '" << type << "'";
    return reason;
  }
  return "";
}

namespace {
/// Replaces a norm op on memrefs by its row loops.
struct LowerNormOpToAffine : public OpInterfaceRewritePattern<NormOpInterface> {
  LowerNormOpToAffine(MLIRContext *context,
                      const ConvertNormToAffineOptions &options)
      : OpInterfaceRewritePattern(context), options(options) {}

  LogicalResult matchAndRewrite(NormOpInterface op,
                                PatternRewriter &rewriter) const override {
    if (op.hasPureTensorSemantics())
      return rewriter.notifyMatchFailure(op, "expects an op on memrefs");
    std::string unsupported = getUnsupportedTypeReason(op);
    if (!unsupported.empty())
      return rewriter.notifyMatchFailure(op, unsupported);
    RowKernelEmitter(rewriter, op, options).emit();
    rewriter.eraseOp(op);
    return success();
  }

  ConvertNormToAffineOptions options;
};

/// Replaces a gradient op on memrefs by the loops of its decomposition.
struct LowerNormGradOpToAffine
    : public OpInterfaceRewritePattern<NormGradOpInterface> {
  LowerNormGradOpToAffine(MLIRContext *context,
                          const ConvertNormToAffineOptions &options)
      : OpInterfaceRewritePattern(context), options(options) {}

  LogicalResult matchAndRewrite(NormGradOpInterface op,
                                PatternRewriter &rewriter) const override {
    if (op.hasPureTensorSemantics())
      return rewriter.notifyMatchFailure(op, "expects an op on memrefs");
    std::string unsupported = getUnsupportedGradTypeReason(op);
    if (!unsupported.empty())
      return rewriter.notifyMatchFailure(op, unsupported);
    return lowerNormGradOpToAffine(rewriter, op, options);
  }

  ConvertNormToAffineOptions options;
};

struct ConvertNormToAffinePass
    : public norm::impl::ConvertNormToAffineBase<ConvertNormToAffinePass> {
  using Base::Base;

  /// The pass's options as the patterns take them.
  ConvertNormToAffineOptions getLoweringOptions() const {
    ConvertNormToAffineOptions passOptions;
    passOptions.vectorWidth = vectorWidth;
    passOptions.unroll = unroll;
    passOptions.parallel = parallel;
    passOptions.parallelThreshold = parallelThreshold;
    passOptions.nontemporalThreshold = nontemporalThreshold;
    passOptions.prefetch = prefetch;
    passOptions.prefetchLocality = prefetchLocality;
    passOptions.onePassVariance = onePassVariance;
    return passOptions;
  }

  void runOnOperation() override {
    SmallVector<Operation *> normOps;
    getOperation()->walk([&](Operation *op) {
      if (isa<NormOpInterface, NormGradOpInterface>(op))
        normOps.push_back(op);
    });
    ConvertNormToAffineOptions passOptions = getLoweringOptions();
    IRRewriter rewriter(&getContext());
    bool failedAny = false;
    for (Operation *op : normOps) {
      auto grad = dyn_cast<NormGradOpInterface>(op);
      if (cast<DestinationStyleOpInterface>(op).hasPureTensorSemantics()) {
        op->emitOpError("must be bufferized before --convert-norm-to-affine "
                        "(it lowers norm ops on memrefs)");
        failedAny = true;
        continue;
      }
      std::string unsupported =
          grad ? getUnsupportedGradTypeReason(grad)
               : getUnsupportedTypeReason(cast<NormOpInterface>(op));
      if (!unsupported.empty()) {
        op->emitOpError(unsupported);
        failedAny = true;
        continue;
      }
      if (grad) {
        if (failed(lowerNormGradOpToAffine(rewriter, grad, passOptions))) {
          op->emitOpError("could not be lowered to loops");
          failedAny = true;
        }
        continue;
      }
      rewriter.setInsertionPoint(op);
      RowKernelEmitter(rewriter, cast<NormOpInterface>(op), passOptions).emit();
      rewriter.eraseOp(op);
    }
    if (failedAny)
      signalPassFailure();
  }
};
} // namespace

FailureOr<ConvertNormToAffineOptions> mlir::norm::parseNormToAffineOptions(
    StringRef text, function_ref<LogicalResult(const Twine &)> errorHandler) {
  ConvertNormToAffinePass pass;
  if (failed(pass.initializeOptions(text, errorHandler)))
    return failure();
  return pass.getLoweringOptions();
}

void mlir::norm::populateNormToAffineConversionPatterns(
    RewritePatternSet &patterns, const ConvertNormToAffineOptions &options) {
  patterns.add<LowerNormOpToAffine>(patterns.getContext(), options);
  patterns.add<LowerNormGradOpToAffine>(patterns.getContext(), options);
}
