//===- KernelEmitter.cpp - The body of a norm kernel on the GPU -----------===//
//
// In the `gpu.launch` of a norm op, a group of G threads normalises one row
// of N elements (R groups, and so R rows, per block; KernelPlan.h), on
// views of rows x N.
//
// Each thread owns the vectors j = k * G + t (k = 0, 1, ...) of V elements
// of its row, so that consecutive threads touch consecutive 16-byte chunks.
// When the row fits in registers (static N, 16 to 64 values a thread) the
// thread loads all of its vectors up front and keeps them; otherwise (long
// or dynamic rows) it streams them three times: sum, sum of squares, output.
//
// Statistics, in the compute type (f32, or f64 for f64), are the
// reference's (`--convert-norm-to-linalg`), built by the same row-math
// layer (norm/Dialect/Norm/Utils/RowMath.h):
//
//   S      = sum(h - P)   P: the row's first element (from lane 0 by a
//                         shuffle, or from memory when the row spans warps)
//   offset = S / N        the mean is P + offset, never rounded as a whole
//   xc     = fma(h - P, c, -(offset c)),  c = 1/sqrt(N)   (held in place of h)
//   q      = sum(xc^2)
//   rstd   = rsqrt(q + eps) (rsqrt.approx in f32), NaN if q is +inf
//   y      = xc (rstd / c) gamma + beta
//
// (the streamed rows compute ((h - P) - offset) rstd gamma + beta from
// memory instead). Products and sums carry `contract`, so that they become
// FMAs: docs/GPULowering.md ("Instructions") has the budget this keeps.
//
// A quantised output (i8 or f8E4M3FN, with the scalar out_scale s passed to
// the kernel as an argument in the compute type) is the reference's, lane by
// lane: y / s, then for i8 round half to even, clamp to [-128, 127] and 0 for
// NaN; for f8E4M3FN clamp to [-448, 448] and round once. The V results of a
// vector are stored together (V bytes: 4 for f32 inputs, 8 for 16-bit ones).
//
// Each sum is a butterfly of `gpu.shuffle xor` and adds within a warp
// (commutative, so every lane gets the same bits), then, for rows spread
// over several warps, one value per warp through workgroup memory and one
// barrier, combined by a butterfly over the warps' parts
// (RowReductions.h). A constant row gives S = 0 and q = 0, so its output
// is exactly beta; scaling by c before squaring keeps q in range for |x| up
// to ~1e19 in f32. RMSNorm only needs q = sum((h * c)^2).
//
// When eps may be tiny (see getTinyRowRescue), every thread also sums
// q' = sum((x * K * c)^2) of its centred elements x, with K = 2^100 (f32),
// and both sums cross the row together; a row whose q is below 2^-100
// takes rstd = K / sqrt(q' + eps K^2), as squares of elements below ~1e-19
// would otherwise be subnormal. No branch: every thread of a row computes
// the same q, but the rows of a warp or a block can differ.
//
// With no output (the statistics a gradient op recomputes), the kernel
// stops once mean and rstd are stored.
//
//===----------------------------------------------------------------------===//

#include "KernelEmitter.h"

#include "RowReductions.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "norm/Dialect/Norm/Utils/RowMath.h"

using namespace mlir;
using namespace mlir::norm;

namespace {
/// The kernels' products and sums may become fused multiply-adds: NVPTX
/// keeps `mul.rn`/`add.rn` apart otherwise, and ptxas does not contract
/// them.
constexpr arith::FastMathFlags kContract = arith::FastMathFlags::contract;

/// Emits the body of the launch for one norm op.
class KernelEmitter {
public:
  KernelEmitter(OpBuilder &b, Location loc, NormOpInterface op,
                const KernelPlan &plan, const KernelOperands &operands)
      : b(b), loc(loc), op(op), plan(plan), operands(operands),
        inputType(op.getInputType().getElementType()),
        computeType(getComputeElementType(inputType)),
        isLayerNorm(op.isLayerNorm()), reducer(b, loc, plan, computeType) {}

  /// Emits the kernel before the terminator of `launch`'s body.
  void emit(gpu::LaunchOp launch);

private:
  // Scalars.
  Value index(int64_t value) {
    return arith::ConstantIndexOp::create(b, loc, value);
  }
  Value constant(double value) {
    return createFloatConstant(b, loc, computeType, value);
  }
  /// `lhs && rhs` where a null condition stands for true.
  Value both(Value lhs, Value rhs);

  // Memory.
  void storeElements(Value view, ValueRange indices, ArrayRef<Value> values) {
    storeVectorElements(b, loc, view, indices, values);
  }
  /// h = input (+ residual, rounded to the input type) in the compute type
  /// for vector `vectorIndex` of the row; writes residual_out when asked
  /// (at `row`, under `rowIsValid`).
  SmallVector<Value> loadRowVector(Value vectorIndex, bool writeResidual);
  /// h = input (+ residual, rounded to it): `width` elements from column
  /// `column` on, in the compute type without a residual, in the input
  /// type with one.
  SmallVector<Value> loadInputSum(Value column, int64_t width);
  /// As loadRowVector, yielding zeros when `valid` is false.
  SmallVector<Value> loadRowVectorIf(Value valid, Value vectorIndex,
                                     bool writeResidual);
  /// The row's first element h[row, 0] in the compute type, read by this
  /// thread, as a finite pivot (createFinitePivot).
  Value loadRowPivot();

  // Statistics.
  /// The terms this thread sums for the row's sums of squares, given a
  /// centred element x: (x c)^2, and with the tiny-row rescue also
  /// (x scale c)^2.
  SmallVector<Value> squareTerms(Value x);
  /// The same terms for an element already scaled by c (x c):
  /// (x c)^2, and with the rescue (x c scale)^2.
  SmallVector<Value> squaresOfScaled(Value scaled);
  /// How many values squareTerms gives.
  size_t getNumSquareTerms() const { return rescueValues.scale ? 2 : 1; }
  /// rstd = 1/sqrt(var + eps) (NaN when var overflowed), from `sumsSq` (the
  /// row's sums of the squareTerms); stores the mean (pivot + offset) and
  /// rstd destinations.
  RowStatistics finalize(Value pivot, Value offset, ArrayRef<Value> sumsSq);
  /// The outputs y (compute type) of the elements `h` from column `column`
  /// on (gamma and beta loaded as wide).
  SmallVector<Value> outputValues(ArrayRef<Value> h, Value column,
                                  const RowStatistics &statistics);
  /// As outputValues, zeros when `valid` is false.
  SmallVector<Value> outputValuesIf(Value valid, ArrayRef<Value> h,
                                    Value column,
                                    const RowStatistics &statistics);
  /// Converts or quantises (by `scale`, a compute-type value, or else the
  /// out_scale) the outputs `y` from column `column` on and stores them.
  void storeOutputValues(ArrayRef<Value> y, Value column,
                         Value scale = Value());
  /// Normalises V elements of column vector `vectorIndex` and stores them,
  /// quantised by `scale` when it is given.
  void storeOutputVector(ArrayRef<Value> h, Value vectorIndex,
                         const RowStatistics &statistics,
                         Value scale = Value());
  /// The column of the first element of vector `vectorIndex`. For the
  /// thread's vector k (threadInRow + k T), that is the thread's first
  /// column plus a constant, which folds into the addresses' immediates.
  Value vectorColumn(Value vectorIndex);
  /// Per token: the scale of the row whose threads' largest |y| are
  /// `threadAmax`, stored by the row's first thread; in the compute type.
  Value emitRowScale(Value threadAmax);
  /// h of `width` elements from column `column` on, read again: from
  /// residual_out when there is one.
  SmallVector<Value> reloadElements(Value column, int64_t width);
  /// max(amax, |y|) over `y`.
  Value absMax(Value amax, ArrayRef<Value> y);
  /// The dynamic scale of a row or group whose largest |y| is `amax`,
  /// stored at `scaleIndices` of the scales under `cond` (and the row's
  /// validity); returned in the compute type.
  Value emitDynamicScale(Value amax, ValueRange scaleIndices, Value cond);
  /// Per-group dynamic quantisation, once the row's statistics are known:
  /// each thread takes groups t, t + G, ...: their amax and scale, then
  /// their quantised outputs, from the row read again (from cache).
  void emitGroupQuantization(const RowStatistics &statistics);
  /// The lanes holding one group of a held row, when a group is whole
  /// vectors of consecutive lanes (G / V, a power of two up to a warp that
  /// divides the row's threads); 0 otherwise.
  int64_t getLanesPerHeldGroup();
  /// Per-group dynamic quantisation of a held row from its registers: each
  /// vector's amax, a butterfly of maxima over the group's lanes, the
  /// group's scale (stored by its first lane), the quantised vector.
  void emitHeldGroupQuantization(ArrayRef<SmallVector<Value>> held,
                                 ArrayRef<Value> valid,
                                 ArrayRef<Value> vectorIndices,
                                 const RowStatistics &heldStatistics);
  /// The held row's output: stored, or quantised per token by the scale of
  /// the row's amax, or per group. The held values are normalised with
  /// `heldStatistics` (for a LayerNorm, x c with rstd / c); per group the
  /// row is read again and normalised with `statistics`.
  void emitHeldOutput(ArrayRef<SmallVector<Value>> held, ArrayRef<Value> valid,
                      ArrayRef<Value> vectorIndices,
                      const RowStatistics &statistics,
                      const RowStatistics &heldStatistics);

  void emitHeldRow();
  void emitStreamedRow();
  /// Calls `body(k)` for each of the thread's held vectors k from `k` on,
  /// on a valid row, under `valid[k]`, each guard nested in the one
  /// before: a thread's vectors exist up to its last (`valid[k]` implies
  /// `valid[k - 1]`), and the addresses computed for one vector are there
  /// for the next instead of being computed again in a sibling block.
  void emitNestedSlots(ArrayRef<Value> valid, function_ref<void(size_t)> body,
                       size_t k = 0);

  OpBuilder &b;
  Location loc;
  NormOpInterface op;
  const KernelPlan &plan;
  KernelOperands operands;
  Type inputType;
  Type computeType;
  bool isLayerNorm;
  /// The row's sums; holds the thread's place in the row.
  RowReducer reducer;
  /// The tiny-row rescue's values when eps may need it, all null otherwise
  /// (set up by emit()).
  TinyRowRescueValues rescueValues;

  // Per-thread values set up by emit().
  Value threadInRow;
  /// The column of the thread's first vector: threadInRow V.
  Value threadColumn;
  /// The input, residual, output and residual_out as the row's accesses
  /// address them, at `rowIndices(column)`: with a run-time row stride,
  /// 1-D views of the row at loadRow, whose start is computed once (stores
  /// into them are guarded by rowIsValid, where loadRow is the row); with
  /// a static one the [rows, N] views, whose row and column offsets LLVM
  /// folds into one 32-bit value.
  Value inputRow, residualRow, outputRow, residualOutputRow;
  bool usesRowViews = false;
  SmallVector<Value> rowIndices(Value column) {
    if (usesRowViews)
      return {column};
    return {loadRow, column};
  }
  /// How the row's accesses address the [rows, N] view `view` (null if
  /// null): a 1-D view of row loadRow when usesRowViews, else `view`.
  Value createRowView(Value view);
  Value row, loadRow, rowIsValid;
  Value numVectors;
};
} // namespace

Value KernelEmitter::both(Value lhs, Value rhs) {
  if (!lhs)
    return rhs;
  if (!rhs)
    return lhs;
  return arith::AndIOp::create(b, loc, lhs, rhs);
}

MemRefType mlir::norm::getWorkgroupBufferType(MLIRContext *context,
                                              int64_t size, Type elementType) {
  auto workgroup =
      gpu::AddressSpaceAttr::get(context, gpu::AddressSpace::Workgroup);
  return MemRefType::get({size}, elementType, MemRefLayoutAttrInterface(),
                         workgroup);
}

gpu::LaunchOp mlir::norm::createLaunch(OpBuilder &b, Location loc,
                                       Value gridSize, Value blockSize,
                                       ArrayRef<Type> workgroupBuffers) {
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  auto launch = gpu::LaunchOp::create(
      b, loc, gridSize, one, one, blockSize, one, one,
      /*dynamicSharedMemorySize=*/nullptr, /*asyncTokenType=*/nullptr,
      /*asyncDependencies=*/ValueRange(), workgroupBuffers);
  Block &body = launch.getBody().front();
  if (body.empty() || !body.back().hasTrait<OpTrait::IsTerminator>()) {
    b.setInsertionPointToEnd(&body);
    gpu::TerminatorOp::create(b, loc);
  }
  b.setInsertionPoint(body.getTerminator());
  return launch;
}

/// One aligned `width`-element vector load of `view` at `indices`.
static Value loadVector(OpBuilder &b, Location loc, Value view,
                        ValueRange indices, int64_t width) {
  Type elementType = cast<MemRefType>(view.getType()).getElementType();
  int64_t alignment =
      std::min(kMaxAccessBytes, width * getByteWidth(elementType));
  return vector::LoadOp::create(b, loc, VectorType::get({width}, elementType),
                                view, indices,
                                /*nontemporal=*/false, llvm::Align(alignment));
}

SmallVector<Value> mlir::norm::loadVectorElements(OpBuilder &b, Location loc,
                                                  Value view,
                                                  ValueRange indices,
                                                  int64_t width) {
  if (width == 1)
    return {memref::LoadOp::create(b, loc, view, indices)};
  Value vector = loadVector(b, loc, view, indices, width);
  SmallVector<Value> elements;
  for (int64_t i = 0; i < width; ++i)
    elements.push_back(vector::ExtractOp::create(b, loc, vector, i));
  return elements;
}

SmallVector<Value> mlir::norm::loadVectorElementsAs(OpBuilder &b, Location loc,
                                                    Value view,
                                                    ValueRange indices,
                                                    int64_t width,
                                                    Type computeType) {
  Type elementType = cast<MemRefType>(view.getType()).getElementType();
  if (!elementType.isBF16() || !computeType.isF32() || width % 2) {
    SmallVector<Value> elements =
        loadVectorElements(b, loc, view, indices, width);
    for (Value &element : elements)
      element = createFloatConversion(b, loc, element, computeType);
    return elements;
  }
  // A bf16 is the high half of the f32 of the same value: per 32-bit word
  // of two, the low element shifted up and the high one masked, one
  // integer instruction each.
  Value vector = loadVector(b, loc, view, indices, width);
  Type i32 = b.getI32Type();
  Value words = vector::BitCastOp::create(
      b, loc, VectorType::get({width / 2}, i32), vector);
  Value shift = arith::ConstantIntOp::create(b, loc, i32, 16);
  Value highMask = arith::ConstantIntOp::create(
      b, loc, i32, static_cast<int32_t>(0xffff0000u));
  SmallVector<Value> elements;
  for (int64_t i = 0; i < width / 2; ++i) {
    Value word = vector::ExtractOp::create(b, loc, words, i);
    Value low = arith::ShLIOp::create(b, loc, word, shift);
    Value high = arith::AndIOp::create(b, loc, word, highMask);
    elements.push_back(arith::BitcastOp::create(b, loc, computeType, low));
    elements.push_back(arith::BitcastOp::create(b, loc, computeType, high));
  }
  return elements;
}

void mlir::norm::storeVectorElements(OpBuilder &b, Location loc, Value view,
                                     ValueRange indices,
                                     ArrayRef<Value> values) {
  auto type = cast<MemRefType>(view.getType());
  Type elementType = type.getElementType();
  SmallVector<Value> converted;
  for (Value value : values)
    converted.push_back(createFloatConversion(b, loc, value, elementType));
  int64_t width = values.size();
  if (width == 1) {
    memref::StoreOp::create(b, loc, converted.front(), view, indices);
    return;
  }
  auto vectorType = VectorType::get({width}, elementType);
  int64_t alignment =
      std::min(kMaxAccessBytes, width * getByteWidth(elementType));
  Value vector = vector::FromElementsOp::create(b, loc, vectorType, converted);
  vector::StoreOp::create(b, loc, vector, view, indices,
                          /*nontemporal=*/false, llvm::Align(alignment));
}

Value KernelEmitter::createRowView(Value view) {
  if (!view || !usesRowViews)
    return view;
  auto type = cast<MemRefType>(view.getType());
  SmallVector<OpFoldResult> offsets{loadRow, b.getIndexAttr(0)};
  SmallVector<OpFoldResult> sizes{b.getIndexAttr(1),
                                  memref::getMixedSize(b, loc, view, 1)};
  SmallVector<OpFoldResult> strides(2, b.getIndexAttr(1));
  auto rowType = memref::SubViewOp::inferRankReducedResultType(
      {type.getDimSize(1)}, type, offsets, sizes, strides);
  return memref::SubViewOp::create(b, loc, rowType, view, offsets, sizes,
                                   strides);
}

SmallVector<Value> KernelEmitter::loadInputSum(Value column, int64_t width) {
  SmallVector<Value> x = loadVectorElementsAs(
      b, loc, inputRow, rowIndices(column), width, computeType);
  if (!operands.residual)
    return x;
  // h = x + r, rounded to the input type: what residual_out holds.
  SmallVector<Value> r = loadVectorElementsAs(
      b, loc, residualRow, rowIndices(column), width, computeType);
  SmallVector<Value> h;
  for (auto [xi, ri] : llvm::zip_equal(x, r))
    h.push_back(
        createRoundedResidualSum(b, loc, xi, ri, computeType, inputType));
  return h;
}

Value KernelEmitter::vectorColumn(Value vectorIndex) {
  if (vectorIndex == threadInRow)
    return threadColumn;
  auto add = vectorIndex.getDefiningOp<arith::AddIOp>();
  if (std::optional<int64_t> offset = add && add.getLhs() == threadInRow
                                          ? getConstantIntValue(add.getRhs())
                                          : std::nullopt)
    return arith::AddIOp::create(
        b, loc, threadColumn, index(*offset * plan.vectorWidth),
        arith::IntegerOverflowFlags::nsw | arith::IntegerOverflowFlags::nuw);
  return arith::MulIOp::create(b, loc, vectorIndex, index(plan.vectorWidth));
}

SmallVector<Value> KernelEmitter::loadRowVector(Value vectorIndex,
                                                bool writeResidual) {
  Value column = vectorColumn(vectorIndex);
  SmallVector<Value> h = loadInputSum(column, plan.vectorWidth);
  if (operands.residual && writeResidual && operands.residualOutput)
    emitIf(b, loc, rowIsValid,
           [&] { storeElements(residualOutputRow, rowIndices(column), h); });
  for (Value &value : h)
    value = createFloatConversion(b, loc, value, computeType);
  return h;
}

SmallVector<Value> KernelEmitter::loadRowVectorIf(Value valid,
                                                  Value vectorIndex,
                                                  bool writeResidual) {
  if (!valid)
    return loadRowVector(vectorIndex, writeResidual);
  SmallVector<Type> types(plan.vectorWidth, computeType);
  auto ifOp = scf::IfOp::create(b, loc, types, valid, /*withElseRegion=*/true);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(ifOp.thenBlock());
    scf::YieldOp::create(b, loc, loadRowVector(vectorIndex, writeResidual));
    b.setInsertionPointToStart(ifOp.elseBlock());
    scf::YieldOp::create(b, loc,
                         SmallVector<Value>(plan.vectorWidth, constant(0.0)));
  }
  return SmallVector<Value>(ifOp.getResults());
}

Value KernelEmitter::loadRowPivot() {
  Value firstIndex = index(0);
  Value first =
      memref::LoadOp::create(b, loc, inputRow, rowIndices(firstIndex));
  Value pivot = createFloatConversion(b, loc, first, computeType);
  if (operands.residual) {
    Value residualIndex = index(0);
    Value r =
        memref::LoadOp::create(b, loc, residualRow, rowIndices(residualIndex));
    Value h =
        createRoundedResidualSum(b, loc, pivot, r, computeType, inputType);
    pivot = createFloatConversion(b, loc, h, computeType);
  }
  return createFinitePivot(b, loc, pivot);
}

SmallVector<Value> KernelEmitter::squareTerms(Value x) {
  SmallVector<Value> terms = {
      createScaledSquare(b, loc, x, operands.invSqrtN, Value(), kContract)};
  if (rescueValues.scale)
    terms.push_back(createScaledSquare(b, loc, x, operands.invSqrtN,
                                       rescueValues.scale, kContract));
  return terms;
}

SmallVector<Value> KernelEmitter::squaresOfScaled(Value scaled) {
  SmallVector<Value> terms = {createSquare(b, loc, scaled, kContract)};
  if (rescueValues.scale) {
    Value rescaled = arith::MulFOp::create(b, loc, scaled, rescueValues.scale);
    terms.push_back(createSquare(b, loc, rescaled, kContract));
  }
  return terms;
}

RowStatistics KernelEmitter::finalize(Value pivot, Value offset,
                                      ArrayRef<Value> sumsSq) {
  RowStatistics statistics{pivot, offset, Value()};
  Value sumSq = sumsSq.front();
  // rsqrt.approx in f32, sqrt and a division in f64: see RsqrtKind.
  statistics.rstd =
      createRstd(b, loc, sumSq, operands.eps, RsqrtKind::Approximate);
  if (rescueValues.scale) {
    // A tiny row (the same bits in every thread of the row) takes the
    // rstd of its rescaled squares. Both sums are always formed: no branch
    // around the shuffles and barriers, and the usual eps never gets here.
    Value rescued = createRescuedRstd(b, loc, rescueValues, sumsSq.back(),
                                      RsqrtKind::Approximate);
    Value tiny = createIsTinyRow(b, loc, rescueValues, sumSq);
    statistics.rstd =
        arith::SelectOp::create(b, loc, tiny, rescued, statistics.rstd);
  }

  if (!operands.mean && !operands.rstd)
    return statistics;
  Value isFirst = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                                        threadInRow, index(0));
  emitIf(b, loc, both(isFirst, rowIsValid), [&] {
    auto store = [&](Value view, Value value) {
      auto type = cast<MemRefType>(view.getType());
      SmallVector<Value> indices;
      if (type.getRank() == 1)
        indices.push_back(row);
      Value converted =
          createFloatConversion(b, loc, value, type.getElementType());
      memref::StoreOp::create(b, loc, converted, view, indices);
    };
    if (operands.mean && operands.meanOffset) {
      store(operands.mean, statistics.pivot);
      store(operands.meanOffset, statistics.offset);
    } else if (operands.mean) {
      Value mean = createMean(b, loc, statistics.pivot, statistics.offset);
      store(operands.mean, mean);
    }
    if (operands.rstd)
      store(operands.rstd, statistics.rstd);
  });
  return statistics;
}

SmallVector<Value>
KernelEmitter::outputValues(ArrayRef<Value> h, Value column,
                            const RowStatistics &statistics) {
  int64_t width = h.size();
  SmallVector<Value> gamma, beta;
  if (operands.gamma)
    gamma = loadVectorElementsAs(b, loc, operands.gamma, {column}, width,
                                 computeType);
  if (operands.beta)
    beta = loadVectorElementsAs(b, loc, operands.beta, {column}, width,
                                computeType);
  SmallVector<Value> y;
  for (auto [i, value] : llvm::enumerate(h))
    y.push_back(createNormalizedOutput(
        b, loc, value, statistics, operands.gamma ? gamma[i] : Value(),
        operands.beta ? beta[i] : Value(), kContract));
  return y;
}

SmallVector<Value>
KernelEmitter::outputValuesIf(Value valid, ArrayRef<Value> h, Value column,
                              const RowStatistics &statistics) {
  if (!valid)
    return outputValues(h, column, statistics);
  SmallVector<Type> types(h.size(), computeType);
  auto ifOp = scf::IfOp::create(b, loc, types, valid, /*withElseRegion=*/true);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(ifOp.thenBlock());
    scf::YieldOp::create(b, loc, outputValues(h, column, statistics));
    b.setInsertionPointToStart(ifOp.elseBlock());
    scf::YieldOp::create(b, loc, SmallVector<Value>(h.size(), constant(0.0)));
  }
  return SmallVector<Value>(ifOp.getResults());
}

void KernelEmitter::storeOutputValues(ArrayRef<Value> y, Value column,
                                      Value scale) {
  Type outputElementType =
      cast<MemRefType>(operands.output.getType()).getElementType();
  if (!scale)
    scale = operands.outScale;
  // Quantised here, or rounded by the store.
  SmallVector<Value> out(y);
  if (scale)
    for (Value &value : out)
      value = createQuantized(b, loc, value, scale, outputElementType);
  storeElements(outputRow, rowIndices(column), out);
}

void KernelEmitter::storeOutputVector(ArrayRef<Value> h, Value vectorIndex,
                                      const RowStatistics &statistics,
                                      Value scale) {
  Value column = vectorColumn(vectorIndex);
  storeOutputValues(outputValues(h, column, statistics), column, scale);
}

SmallVector<Value> KernelEmitter::reloadElements(Value column, int64_t width) {
  SmallVector<Value> h = operands.residualOutput
                             ? loadVectorElements(b, loc, residualOutputRow,
                                                  rowIndices(column), width)
                             : loadInputSum(column, width);
  for (Value &value : h)
    value = createFloatConversion(b, loc, value, computeType);
  return h;
}

Value KernelEmitter::absMax(Value amax, ArrayRef<Value> y) {
  for (Value value : y)
    amax = createAbsMaxStep(b, loc, amax, value);
  return amax;
}

Value KernelEmitter::emitDynamicScale(Value amax, ValueRange scaleIndices,
                                      Value cond) {
  Type outputElementType =
      cast<MemRefType>(operands.output.getType()).getElementType();
  Value scale = createDynamicScale(b, loc, amax, outputElementType,
                                   op.getMinScale(), operands.scaleUb);
  emitIf(b, loc, both(cond, rowIsValid), [&] {
    memref::StoreOp::create(b, loc, scale, operands.scales, scaleIndices);
  });
  return createFloatConversion(b, loc, scale, computeType);
}

Value KernelEmitter::emitRowScale(Value threadAmax) {
  Value amax = reducer.maxAcrossRow(threadAmax, getNumExchangeRegions(op) - 1);
  Value isFirst = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                                        threadInRow, index(0));
  SmallVector<Value> rowIndex;
  if (cast<MemRefType>(operands.scales.getType()).getRank() == 1)
    rowIndex.push_back(row);
  return emitDynamicScale(amax, rowIndex, isFirst);
}

void KernelEmitter::emitGroupQuantization(const RowStatistics &statistics) {
  // The row is read again by other threads than those that wrote its
  // residual_out: make their writes visible first.
  if (operands.residualOutput)
    gpu::BarrierOp::create(b, loc);
  int64_t g = static_cast<int64_t>(*op.getGroupSize());
  // Accesses as wide as the groups' alignment allows.
  int64_t width = g % plan.vectorWidth == 0 ? plan.vectorWidth : 1;
  Value n = memref::DimOp::create(b, loc, operands.input, 1);
  Value numGroups = arith::DivUIOp::create(b, loc, n, index(g));
  // Over the group's elements, `width` at a time: f(column, y).
  auto forEachOutput =
      [&](Value start, ValueRange init,
          function_ref<SmallVector<Value>(Value, ArrayRef<Value>, ValueRange)>
              body) {
        Value end = arith::AddIOp::create(b, loc, start, index(g));
        auto loop = scf::ForOp::create(
            b, loc, start, end, index(width), init,
            [&](OpBuilder &nested, Location, Value column, ValueRange acc) {
              OpBuilder::InsertionGuard guard(b);
              b.setInsertionPointToEnd(nested.getInsertionBlock());
              SmallVector<Value> y = outputValues(reloadElements(column, width),
                                                  column, statistics);
              scf::YieldOp::create(b, loc, body(column, y, acc));
            });
        return SmallVector<Value>(loop.getResults());
      };
  scf::ForOp::create(
      b, loc, threadInRow, numGroups, index(plan.threadsPerRow), ValueRange(),
      [&](OpBuilder &nested, Location, Value group, ValueRange) {
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPointToEnd(nested.getInsertionBlock());
        Value start = arith::MulIOp::create(b, loc, group, index(g));
        Value amax = forEachOutput(start, {constant(0.0)},
                                   [&](Value, ArrayRef<Value> y,
                                       ValueRange acc) -> SmallVector<Value> {
                                     return {absMax(acc.front(), y)};
                                   })[0];
        Value scale = emitDynamicScale(amax, {row, group}, Value());
        forEachOutput(start, {},
                      [&](Value column, ArrayRef<Value> y,
                          ValueRange) -> SmallVector<Value> {
                        emitIf(b, loc, rowIsValid,
                               [&] { storeOutputValues(y, column, scale); });
                        return {};
                      });
        scf::YieldOp::create(b, loc);
      });
}

int64_t KernelEmitter::getLanesPerHeldGroup() {
  int64_t g = static_cast<int64_t>(*op.getGroupSize());
  if (g % plan.vectorWidth)
    return 0;
  int64_t lanes = g / plan.vectorWidth;
  if (!llvm::isPowerOf2_64(lanes) || lanes > kWarpSize ||
      plan.threadsPerRow % lanes)
    return 0;
  return lanes;
}

void KernelEmitter::emitHeldGroupQuantization(
    ArrayRef<SmallVector<Value>> held, ArrayRef<Value> valid,
    ArrayRef<Value> vectorIndices, const RowStatistics &heldStatistics) {
  // Vector j = k T + t of the row is in group j / L (L = G / V lanes), and
  // the L lanes of a group hold it in the same slot k. A group is whole
  // vectors, so it exists or not as a whole (G divides N), and every lane
  // reaches the shuffles.
  int64_t lanes = getLanesPerHeldGroup();
  Value laneInGroup = arith::RemUIOp::create(b, loc, threadInRow, index(lanes));
  Value isFirstOfGroup = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                                               laneInGroup, index(0));
  for (size_t k = 0; k < held.size(); ++k) {
    Value column = vectorColumn(vectorIndices[k]);
    SmallVector<Value> y =
        outputValuesIf(valid[k], held[k], column, heldStatistics);
    Value amax = reducer.maxAcrossLanes(absMax(constant(0.0), y), lanes);
    Value group =
        arith::DivUIOp::create(b, loc, vectorIndices[k], index(lanes));
    Value scale =
        emitDynamicScale(amax, {row, group}, both(valid[k], isFirstOfGroup));
    emitIf(b, loc, both(valid[k], rowIsValid),
           [&] { storeOutputValues(y, column, scale); });
  }
}

void KernelEmitter::emitHeldOutput(ArrayRef<SmallVector<Value>> held,
                                   ArrayRef<Value> valid,
                                   ArrayRef<Value> vectorIndices,
                                   const RowStatistics &statistics,
                                   const RowStatistics &heldStatistics) {
  if (op.getGroupSize()) {
    if (getLanesPerHeldGroup())
      emitHeldGroupQuantization(held, valid, vectorIndices, heldStatistics);
    else
      emitGroupQuantization(statistics);
    return;
  }
  // y of every held element (in registers) before any store: the gamma and
  // beta loads are not ordered behind the output's stores. Without dynamic
  // quantisation, a vector that may not exist (the last) is normalised
  // under its store's guard instead.
  SmallVector<SmallVector<Value>> ys;
  SmallVector<Value> columns;
  Value amax = constant(0.0);
  for (auto [h, cond, vectorIndex] :
       llvm::zip_equal(held, valid, vectorIndices)) {
    columns.push_back(vectorColumn(vectorIndex));
    if (cond && !operands.scales) {
      ys.emplace_back();
      continue;
    }
    ys.push_back(outputValuesIf(cond, h, columns.back(), heldStatistics));
    if (operands.scales)
      amax = absMax(amax, ys.back());
  }
  // Per token: the row's amax and scale, then the quantised outputs.
  Value scale;
  if (operands.scales)
    scale = emitRowScale(amax);
  emitNestedSlots(valid, [&](size_t k) {
    if (ys[k].empty())
      ys[k] = outputValues(held[k], columns[k], heldStatistics);
    storeOutputValues(ys[k], columns[k], scale);
  });
}

void KernelEmitter::emitNestedSlots(ArrayRef<Value> valid,
                                    function_ref<void(size_t)> body, size_t k) {
  if (k == valid.size())
    return;
  emitIf(b, loc, both(valid[k], k ? Value() : rowIsValid), [&] {
    body(k);
    emitNestedSlots(valid, body, k + 1);
  });
}

void KernelEmitter::emitHeldRow() {
  int64_t threads = plan.threadsPerRow;
  // With a row length known only at run time (a bucket's kernel), any of
  // the thread's vectors may be missing.
  int64_t rowSize =
      cast<MemRefType>(operands.input.getType()).getShape().back();
  bool dynamicRow = ShapedType::isDynamic(rowSize);
  int64_t rowVectors = dynamicRow ? 0 : rowSize / plan.vectorWidth;

  // A LayerNorm row that spans warps is centred on its first element, read
  // by every thread; a row within a warp on its first lane's element.
  bool loadsPivot = isLayerNorm && plan.getWarpsPerRow() > 1;
  Value pivot;
  if (loadsPivot)
    pivot = loadRowPivot();
  // In place (residual_out is the residual, as in vLLM's
  // fused_add_rms_norm), the thread owning column 0 would overwrite
  // r[row, 0] while others read it for the pivot: residual_out is written
  // after a barrier, which the row's loads are in flight across.
  bool defersResidual =
      loadsPivot && operands.residual && operands.residualOutput;

  // Load every vector this thread owns before using any: K independent
  // loads in flight, and each element read from global memory once.
  SmallVector<SmallVector<Value>> held;
  SmallVector<Value> valid, vectorIndices;
  for (int64_t k = 0; k < plan.slotsPerThread; ++k) {
    Value vectorIndex =
        arith::AddIOp::create(b, loc, threadInRow, index(k * threads));
    Value cond;
    if (dynamicRow || (k + 1) * threads > rowVectors)
      cond = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult,
                                   vectorIndex, numVectors);
    held.push_back(loadRowVectorIf(cond, vectorIndex, !defersResidual));
    valid.push_back(cond);
    vectorIndices.push_back(vectorIndex);
  }
  if (defersResidual) {
    gpu::BarrierOp::create(b, loc);
    emitNestedSlots(valid, [&](size_t k) {
      storeElements(residualOutputRow,
                    rowIndices(vectorColumn(vectorIndices[k])), held[k]);
    });
  }
  if (!isLayerNorm) {
    // A vector that does not exist was loaded as zeros, whose squares add
    // nothing: no mask.
    SmallVector<Value> always(valid.size());
    SmallVector<Value> sumsSq = reducer.sumHeldTerms(
        held, always, [&](Value h) { return squareTerms(h); });
    RowStatistics statistics =
        finalize(Value(), Value(), reducer.sumAcrossRow(sumsSq, 0));
    if (!operands.output)
      return;
    emitHeldOutput(held, valid, vectorIndices, statistics, statistics);
    return;
  }

  // Pass 1, the mean's offset from the pivot P: d = sum(h - P) / N. Within
  // a warp, P is the first element of the row group's first lane (a
  // shuffle). A constant row gives d = 0 exactly.
  if (!loadsPivot) {
    Value firstLane = index(0);
    if (threads < kWarpSize)
      firstLane =
          arith::SubIOp::create(b, loc, reducer.laneInWarp, threadInRow);
    Value lane = arith::IndexCastOp::create(b, loc, b.getI32Type(), firstLane);
    Value width = arith::ConstantIntOp::create(b, loc, kWarpSize, 32);
    Value first = gpu::ShuffleOp::create(b, loc, held.front().front(), lane,
                                         width, gpu::ShuffleMode::IDX)
                      .getShuffleResult();
    pivot = createFinitePivot(b, loc, first);
  }
  // The held values become h - P.
  for (SmallVector<Value> &vector : held)
    for (Value &value : vector)
      value = createPivoted(b, loc, value, pivot);
  Value shiftedSum = reducer.sumAcrossRow(
      {reducer.sumHeld(held, valid, [](Value d) { return d; })}, 0)[0];
  Value offset =
      createOffsetFromReciprocal(b, loc, shiftedSum, operands.invRowSize);

  // Pass 2, over the same registers, which become x c = fma(h - P, c,
  // -(d c)): q = sum((x c)^2).
  Value scaledOffset = arith::MulFOp::create(b, loc, offset, operands.invSqrtN);
  for (SmallVector<Value> &vector : held)
    for (Value &value : vector)
      value =
          createScaledCentred(b, loc, value, operands.invSqrtN, scaledOffset);
  SmallVector<Value> sumsSq = reducer.sumHeldTerms(
      held, valid, [&](Value scaled) { return squaresOfScaled(scaled); });
  RowStatistics statistics =
      finalize(pivot, offset, reducer.sumAcrossRow(sumsSq, 1));
  if (!operands.output)
    return;
  // y = (x c) (rstd / c) gamma + beta.
  RowStatistics heldStatistics{Value(), Value(),
                               createUnscaledRstd(b, loc, statistics.rstd,
                                                  operands.rowSize,
                                                  operands.invSqrtN)};
  emitHeldOutput(held, valid, vectorIndices, statistics, heldStatistics);
}

void KernelEmitter::emitStreamedRow() {
  Value step = index(plan.threadsPerRow);
  Value zero = constant(0.0);

  // h for vector `vectorIndex` when it was read before: from residual_out
  // when there is one (it holds h, and may alias the residual).
  auto reloadRowVector = [&](Value vectorIndex) {
    Value column =
        arith::MulIOp::create(b, loc, vectorIndex, index(plan.vectorWidth));
    return reloadElements(column, plan.vectorWidth);
  };
  // Sums over this thread's vectors of each of the `numTerms` `terms`,
  // reading them with `load`.
  auto sumStreamed = [&](function_ref<SmallVector<Value>(Value)> load,
                         size_t numTerms,
                         function_ref<SmallVector<Value>(Value)> terms) {
    auto loop = scf::ForOp::create(
        b, loc, threadInRow, numVectors, step,
        SmallVector<Value>(numTerms, zero),
        [&](OpBuilder &nested, Location, Value vectorIndex, ValueRange acc) {
          OpBuilder::InsertionGuard guard(b);
          b.setInsertionPointToEnd(nested.getInsertionBlock());
          SmallVector<Value> sums =
              reducer.sumHeldTerms({load(vectorIndex)}, {Value()}, terms);
          for (auto [sum, previous] : llvm::zip_equal(sums, acc))
            sum = arith::AddFOp::create(b, loc, previous, sum);
          scf::YieldOp::create(b, loc, sums);
        });
    return SmallVector<Value>(loop.getResults());
  };
  auto firstRead = [&](Value vectorIndex) {
    return loadRowVector(vectorIndex, /*writeResidual=*/true);
  };

  RowStatistics statistics;
  if (!isLayerNorm) {
    SmallVector<Value> sumsSq =
        sumStreamed(firstRead, getNumSquareTerms(),
                    [&](Value h) { return squareTerms(h); });
    statistics = finalize(Value(), Value(), reducer.sumAcrossRow(sumsSq, 0));
  } else {
    // Every thread reads the row's first element as the common pivot.
    Value pivot = loadRowPivot();
    // The first read writes h into residual_out, which may be the
    // residual's buffer (in place, as vLLM's fused_add_rms_norm): the thread
    // that owns column 0 would then overwrite r[row, 0] while the row's
    // other threads still read it for this pivot, and they would disagree
    // on the pivot. Every thread of the block reads its pivot before any
    // writes (the streamed path only; its rows are long).
    if (operands.residualOutput)
      gpu::BarrierOp::create(b, loc);
    SmallVector<Value> shiftedSums =
        sumStreamed(firstRead, 1, [&](Value h) -> SmallVector<Value> {
          return {createPivoted(b, loc, h, pivot)};
        });
    Value shiftedSum = reducer.sumAcrossRow(shiftedSums, 0).front();
    Value offset =
        createOffsetFromReciprocal(b, loc, shiftedSum, operands.invRowSize);
    SmallVector<Value> sumsSq =
        sumStreamed(reloadRowVector, getNumSquareTerms(), [&](Value h) {
          return squareTerms(createCentred(b, loc, h, pivot, offset));
        });
    statistics = finalize(pivot, offset, reducer.sumAcrossRow(sumsSq, 1));
  }

  if (!operands.output)
    return;
  if (op.getGroupSize()) {
    emitGroupQuantization(statistics);
    return;
  }
  // Per token: the row's amax from one more read of the row, and its
  // scale.
  Value scale;
  if (operands.scales) {
    auto loop = scf::ForOp::create(
        b, loc, threadInRow, numVectors, step, ValueRange{zero},
        [&](OpBuilder &nested, Location, Value vectorIndex, ValueRange acc) {
          OpBuilder::InsertionGuard guard(b);
          b.setInsertionPointToEnd(nested.getInsertionBlock());
          SmallVector<Value> h = reloadRowVector(vectorIndex);
          SmallVector<Value> y =
              outputValues(h, vectorColumn(vectorIndex), statistics);
          scf::YieldOp::create(b, loc, absMax(acc.front(), y));
        });
    scale = emitRowScale(loop.getResult(0));
  }
  // The output, from a last read of the row.
  scf::ForOp::create(
      b, loc, threadInRow, numVectors, step, ValueRange(),
      [&](OpBuilder &nested, Location, Value vectorIndex, ValueRange) {
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPointToEnd(nested.getInsertionBlock());
        SmallVector<Value> h = reloadRowVector(vectorIndex);
        emitIf(b, loc, rowIsValid,
               [&] { storeOutputVector(h, vectorIndex, statistics, scale); });
        scf::YieldOp::create(b, loc);
      });
}

void KernelEmitter::emit(gpu::LaunchOp launch) {
  int64_t rows = plan.rowsPerBlock;
  std::tie(threadInRow, row) = reducer.placeThread(launch);
  threadColumn = arith::MulIOp::create(
      b, loc, threadInRow, index(plan.vectorWidth),
      arith::IntegerOverflowFlags::nsw | arith::IntegerOverflowFlags::nuw);

  // The last block may hold fewer than R rows: its spare groups compute on
  // a copy of the last row (so every thread reaches the barrier and the
  // shuffles) and store nothing.
  auto inputView = cast<MemRefType>(operands.input.getType());
  int64_t staticRows = inputView.getDimSize(0);
  loadRow = row;
  if (rows > 1 && (ShapedType::isDynamic(staticRows) || staticRows % rows)) {
    Value numRows = memref::DimOp::create(b, loc, operands.input, 0);
    rowIsValid =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, row, numRows);
    Value lastRow = arith::SubIOp::create(b, loc, numRows, index(1));
    loadRow = arith::MinUIOp::create(b, loc, row, lastRow);
  }
  usesRowViews = ShapedType::isDynamic(inputView.getDimSize(1));
  inputRow = createRowView(operands.input);
  residualRow = createRowView(operands.residual);
  outputRow = createRowView(operands.output);
  residualOutputRow = createRowView(operands.residualOutput);

  int64_t rowSize = inputView.getDimSize(1);
  if (ShapedType::isDynamic(rowSize)) {
    // V > 1 only behind the host's check that V divides N.
    numVectors = memref::DimOp::create(b, loc, operands.input, 1);
    if (plan.vectorWidth > 1)
      numVectors =
          arith::DivUIOp::create(b, loc, numVectors, index(plan.vectorWidth));
  } else
    numVectors = index(rowSize / plan.vectorWidth);

  if (operands.epsConstant)
    operands.eps = arith::ConstantOp::create(b, loc, operands.epsConstant);
  if (operands.invSqrtNConstant)
    operands.invSqrtN =
        arith::ConstantOp::create(b, loc, operands.invSqrtNConstant);
  if (std::optional<TinyRowRescue> rescue =
          getTinyRowRescue(computeType, op.getEpsilon()))
    rescueValues = createTinyRowRescueValues(b, loc, *rescue, operands.eps,
                                             /*runTimeEps=*/!!op.getEpsValue());
  if (operands.rowSizeConstant)
    operands.rowSize =
        arith::ConstantOp::create(b, loc, operands.rowSizeConstant);
  // 1/N for the mean's offset (LayerNorm only).
  if (isLayerNorm && operands.invRowSizeConstant)
    operands.invRowSize =
        arith::ConstantOp::create(b, loc, operands.invRowSizeConstant);
  else if (isLayerNorm)
    operands.invRowSize =
        createInvRowSizeFromInvSqrt(b, loc, operands.invSqrtN);

  if (plan.holdsRowInRegisters())
    emitHeldRow();
  else
    emitStreamedRow();
}

int64_t mlir::norm::getNumExchangeRegions(NormOpInterface op) {
  int64_t regions = op.isLayerNorm() ? 2 : 1;
  if (op.hasDynamicQuantization() && !op.getGroupSize())
    ++regions;
  return regions;
}

void mlir::norm::emitNormKernel(OpBuilder &b, Location loc, NormOpInterface op,
                                const KernelPlan &plan,
                                const KernelOperands &operands,
                                gpu::LaunchOp launch) {
  KernelEmitter(b, loc, op, plan, operands).emit(launch);
}
