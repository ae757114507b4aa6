//===- NormToGPU.cpp - Lower norm ops to GPU kernels ----------------------===//
//
// Rewrites a norm op on memrefs into a `gpu.launch` in which a group of G
// threads normalises one row of N elements (R groups, and so R rows, per
// block). Views of the operands collapse the row dims and the normalised
// dims, so the kernel always sees rows x N.
//
// Each thread owns the vectors j = k * G + t (k = 0, 1, ...) of V elements
// of its row, so that consecutive threads touch consecutive 16-byte chunks.
// When the row fits in registers (static N, 16 to 64 values a thread) the
// thread loads all of its vectors up front and keeps them; otherwise (long
// or dynamic rows) it streams them three times: sum, sum of squares, output.
//
// Statistics, in the compute type (f32, or f64 for f64), are the
// reference's (`--convert-norm-to-linalg`):
//
//   S      = sum(h - P)   P: the first element the warp holds (a shuffle);
//                         across warps, S_w + n_w * (P_w - P0) on warp 0's P0
//   offset = S / N        the mean is P0 + offset, never rounded as a whole
//   q      = sum((((h - P0) - offset) * c)^2),  c = 1/sqrt(N)
//   rstd   = 1/sqrt(q + eps), NaN if q is +inf
//   y      = ((h - P0) - offset) * rstd * gamma + beta
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
// barrier, read back in warp order by every thread. A constant row gives
// S = 0 and q = 0, so its output is exactly beta; scaling by c before
// squaring keeps q in range for |x| up to ~1e19 in f32. RMSNorm only needs
// q = sum((h * c)^2).
//
// When eps may be tiny (see getTinyRowRescue), every thread also sums
// q' = sum((x * K * c)^2) of its centred elements x, with K = 2^100 (f32),
// and both sums cross the row together; a row whose q is below 2^-100
// takes rstd = K / sqrt(q' + eps K^2), as squares of elements below ~1e-19
// would otherwise be subnormal. No branch: every thread of a row computes
// the same q, but the rows of a warp or a block can differ.
//
//===----------------------------------------------------------------------===//

#include "norm/Conversion/NormToGPU/NormToGPU.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "norm/Dialect/Norm/IR/NormOps.h"
#include "llvm/ADT/bit.h"
#include "llvm/Support/MathExtras.h"

#include <cmath>
#include <limits>

namespace mlir {
namespace norm {
#define GEN_PASS_DEF_CONVERTNORMTOGPU
#include "norm/Conversion/Passes.h.inc"
} // namespace norm
} // namespace mlir

using namespace mlir;
using namespace mlir::norm;

static constexpr int64_t kWarpSize = 32;
static constexpr int64_t kMaxBlockSize = 1024;
/// The widest load or store the kernels issue, in bytes.
static constexpr int64_t kMaxAccessBytes = 16;
/// Workgroup memory words per warp in each exchange region.
static constexpr int64_t kSharedFields = 3;
/// Threads per block when several short rows share a block.
static constexpr int64_t kDefaultBlockSize = 256;
/// Row elements a thread aims to hold when the geometry is chosen from N.
static constexpr int64_t kTargetElementsPerThread = 16;
/// Threads per row when a row is streamed: long static rows, dynamic rows.
static constexpr int64_t kStreamedStaticRowThreads = 512;
static constexpr int64_t kStreamedDynamicRowThreads = 256;

//===----------------------------------------------------------------------===//
// Operand views and the launch plan.
//===----------------------------------------------------------------------===//

static bool isSupportedElementType(Type type) {
  return type.isF16() || type.isBF16() || type.isF32() || type.isF64();
}

/// Whether `operand`'s elements can be loaded or stored by the kernel: the
/// float types above, and for a quantised output i8 and f8E4M3FN.
static bool isSupportedElementType(NormOpInterface op, Value operand,
                                   Type type) {
  if (isSupportedElementType(type))
    return true;
  return operand == op.getOutput() && op.hasQuantizedOutput() &&
         isQuantizedElementType(type);
}

static int64_t getByteWidth(Type type) {
  return type.getIntOrFloatBitWidth() / 8;
}

/// How an operand is reshaped for the kernel.
enum class ViewKind {
  /// Input-shaped: rows x N.
  Matrix,
  /// Normalised-shaped (gamma, beta): N.
  Vector,
  /// Row-shaped (mean, rstd): M, or rank 0 when there are no row dims.
  Rows,
};

/// Reassociation collapsing dims [begin, end) of a shape into one.
static ReassociationIndices getRange(int64_t begin, int64_t end) {
  ReassociationIndices group;
  for (int64_t d = begin; d < end; ++d)
    group.push_back(d);
  return group;
}

/// The groups `type` is collapsed with to get the view of `kind`, or none
/// when no collapse is needed. For a matrix with no row dims the collapse
/// gives N, expanded to 1 x N afterwards.
static SmallVector<ReassociationIndices>
getCollapseGroups(MemRefType type, ViewKind kind, int64_t axis) {
  int64_t rank = type.getRank();
  if (kind == ViewKind::Matrix && axis > 0) {
    if (rank == 2)
      return {};
    return {getRange(0, axis), getRange(axis, rank)};
  }
  if (rank <= 1)
    return {};
  return {getRange(0, rank)};
}

/// The type of the view of `kind` of an operand of `type`, or failure when
/// its layout does not allow the collapse.
static FailureOr<MemRefType> getViewType(MemRefType type, ViewKind kind,
                                         int64_t axis) {
  SmallVector<ReassociationIndices> groups =
      getCollapseGroups(type, kind, axis);
  MemRefType view = type;
  if (!groups.empty()) {
    if (!memref::CollapseShapeOp::isGuaranteedCollapsible(type, groups))
      return failure();
    view = memref::CollapseShapeOp::computeCollapsedType(type, groups);
  }
  if (kind == ViewKind::Matrix && axis == 0)
    return memref::ExpandShapeOp::computeExpandedType(
        view, {1, view.getDimSize(0)}, {{0, 1}});
  return view;
}

/// Builds the view of `kind` of `value` (see getViewType).
static Value createView(OpBuilder &b, Location loc, Value value, ViewKind kind,
                        int64_t axis) {
  auto type = cast<MemRefType>(value.getType());
  SmallVector<ReassociationIndices> groups =
      getCollapseGroups(type, kind, axis);
  if (!groups.empty())
    value = memref::CollapseShapeOp::create(b, loc, value, groups);
  if (kind != ViewKind::Matrix || axis != 0)
    return value;
  OpFoldResult n = memref::getMixedSize(b, loc, value, 0);
  return memref::ExpandShapeOp::create(
      b, loc,
      ArrayRef<int64_t>{1, cast<MemRefType>(value.getType()).getDimSize(0)},
      value, ArrayRef<ReassociationIndices>{{0, 1}},
      ArrayRef<OpFoldResult>{b.getIndexAttr(1), n});
}

/// Whether `view` (rows x N or N) can be accessed `width` elements at a time
/// at columns that are multiples of `width`, each access aligned to its size
/// (up to 16 bytes), given a 16-byte aligned base pointer.
static bool allowsVectorAccess(MemRefType view, int64_t width) {
  if (width == 1)
    return true;
  int64_t rowSize = view.getShape().back();
  if (ShapedType::isDynamic(rowSize) || rowSize % width != 0)
    return false;
  SmallVector<int64_t> strides;
  int64_t offset;
  if (failed(view.getStridesAndOffset(strides, offset)) || strides.back() != 1)
    return false;
  int64_t bytes = getByteWidth(view.getElementType());
  int64_t alignment = std::min(kMaxAccessBytes, width * bytes);
  auto isAligned = [&](int64_t elements) {
    return !ShapedType::isDynamic(elements) &&
           (elements * bytes) % alignment == 0;
  };
  if (!isAligned(offset))
    return false;
  return llvm::all_of(ArrayRef(strides).drop_back(), isAligned);
}

/// An operand of the op with its role, for diagnostics and views.
struct NamedOperand {
  Value value;
  StringRef name;
  ViewKind kind;
};

/// The op's shaped operands, present or not, in a fixed order.
static SmallVector<NamedOperand, 8> getNamedOperands(NormOpInterface op) {
  return {{op.getInput(), "input", ViewKind::Matrix},
          {op.getResidual(), "residual", ViewKind::Matrix},
          {op.getGamma(), "gamma", ViewKind::Vector},
          {op.getBeta(), "beta", ViewKind::Vector},
          {op.getOutput(), "output", ViewKind::Matrix},
          {op.getResidualOutput(), "residual_out", ViewKind::Matrix},
          {op.getMean(), "mean", ViewKind::Rows},
          {op.getRstd(), "rstd", ViewKind::Rows}};
}

/// Whether `type`'s memory space is one the kernel can address as global
/// memory (none, or `#gpu.address_space<global>`).
static bool isGlobalMemorySpace(MemRefType type) {
  Attribute space = type.getMemorySpace();
  if (!space)
    return true;
  auto gpuSpace = dyn_cast<gpu::AddressSpaceAttr>(space);
  return gpuSpace && gpuSpace.getValue() == gpu::AddressSpace::Global;
}

namespace {
/// How one norm op maps onto a launch: V elements per access, G threads per
/// row, R rows per block, and K vectors held by each thread (0: streamed).
struct KernelPlan {
  int64_t vectorWidth = 1;
  int64_t threadsPerRow = kWarpSize;
  int64_t rowsPerBlock = 1;
  int64_t slotsPerThread = 0;

  int64_t getBlockSize() const { return threadsPerRow * rowsPerBlock; }
  int64_t getWarpsPerRow() const {
    return std::max<int64_t>(1, threadsPerRow / kWarpSize);
  }
  bool holdsRowInRegisters() const { return slotsPerThread > 0; }
};
} // namespace

/// Whether G threads can share a row: the butterfly needs a power of two up
/// to a warp, or whole warps.
static bool isValidThreadsPerRow(int64_t threads) {
  if (threads <= 0 || threads > kMaxBlockSize)
    return false;
  if (threads <= kWarpSize)
    return llvm::isPowerOf2_64(threads);
  return threads % kWarpSize == 0;
}

/// The largest valid threads-per-row value not above `threads` that divides
/// `blockSize` (a multiple of the warp size).
static int64_t fitThreadsPerRow(int64_t threads, int64_t blockSize) {
  threads = std::min(threads, blockSize);
  if (threads <= kWarpSize)
    return static_cast<int64_t>(
        llvm::bit_floor(static_cast<uint64_t>(threads)));
  threads = threads / kWarpSize * kWarpSize;
  while (blockSize % threads != 0)
    threads -= kWarpSize;
  return threads;
}

/// Registers (32-bit words) of row data a thread may hold in a block of
/// `blockSize` threads: 3/8 of what ptxas can give a thread (64K registers
/// per block, at most 255 each), at most 64; the rest goes to gamma, beta,
/// addresses and the temporaries of the second pass. At 1024 threads
/// (64 registers) that is 16: ptxas for sm_90 spills with 24.
static int64_t getMaxHeldWords(int64_t blockSize) {
  if (blockSize >= kMaxBlockSize)
    return 16;
  return std::min<int64_t>(64, 65536 / blockSize * 3 / 8);
}

static KernelPlan planKernel(NormOpInterface op,
                             ArrayRef<MemRefType> vectorViews,
                             const ConvertNormToGPUOptions &options) {
  KernelPlan plan;
  Type inputType = op.getInputType().getElementType();
  Type computeType = getComputeElementType(inputType);
  int64_t rowSize = vectorViews.front().getShape().back();

  int64_t maxWidth = options.vectorWidth
                         ? options.vectorWidth
                         : kMaxAccessBytes / getByteWidth(inputType);
  plan.vectorWidth =
      static_cast<int64_t>(llvm::bit_floor(static_cast<uint64_t>(maxWidth)));
  while (plan.vectorWidth > 1 &&
         !llvm::all_of(vectorViews, [&](MemRefType view) {
           return allowsVectorAccess(view, plan.vectorWidth);
         }))
    plan.vectorWidth /= 2;

  int64_t blockSize = options.blockSize;
  int64_t rowsPerBlock = options.rowsPerBlock;
  // Settles G and R from the preferred G and the options. Blocks are always
  // whole warps: the butterfly shuffles every lane of a warp.
  auto finish = [&](int64_t threadsPerRow) {
    if (blockSize && rowsPerBlock) {
      threadsPerRow = blockSize / rowsPerBlock;
    } else if (blockSize) {
      threadsPerRow = fitThreadsPerRow(threadsPerRow, blockSize);
    } else if (rowsPerBlock) {
      threadsPerRow = std::min(threadsPerRow, kMaxBlockSize / rowsPerBlock);
      threadsPerRow = threadsPerRow <= kWarpSize
                          ? static_cast<int64_t>(llvm::bit_floor(
                                static_cast<uint64_t>(threadsPerRow)))
                          : threadsPerRow / kWarpSize * kWarpSize;
      if (threadsPerRow * rowsPerBlock < kWarpSize)
        threadsPerRow = kWarpSize / rowsPerBlock;
    }
    plan.threadsPerRow = threadsPerRow;
    if (rowsPerBlock)
      plan.rowsPerBlock = rowsPerBlock;
    else if (blockSize)
      plan.rowsPerBlock = blockSize / threadsPerRow;
    else
      plan.rowsPerBlock =
          std::max<int64_t>(1, kDefaultBlockSize / threadsPerRow);
    assert(plan.getBlockSize() % kWarpSize == 0 &&
           plan.getBlockSize() <= kMaxBlockSize && "not whole warps");
  };

  if (ShapedType::isDynamic(rowSize)) {
    finish(kStreamedDynamicRowThreads);
    return plan;
  }

  int64_t numVectors = rowSize / plan.vectorWidth;
  int64_t slotsTarget =
      std::max<int64_t>(1, kTargetElementsPerThread / plan.vectorWidth);
  int64_t wanted = llvm::divideCeil(numVectors, slotsTarget);
  int64_t threadsPerRow =
      wanted <= kWarpSize
          ? static_cast<int64_t>(llvm::PowerOf2Ceil(wanted))
          : std::min<int64_t>(kMaxBlockSize, llvm::alignTo(wanted, kWarpSize));
  finish(threadsPerRow);

  int64_t slots = llvm::divideCeil(numVectors, plan.threadsPerRow);
  int64_t wordsPerElement = computeType.getIntOrFloatBitWidth() / 32;
  if (slots * plan.vectorWidth * wordsPerElement <=
      getMaxHeldWords(plan.getBlockSize())) {
    plan.slotsPerThread = slots;
    return plan;
  }
  // Too long for registers: stream it with as many threads as allowed.
  if (!options.blockSize && !options.rowsPerBlock) {
    plan.threadsPerRow = kStreamedStaticRowThreads;
    plan.rowsPerBlock = 1;
  }
  return plan;
}

//===----------------------------------------------------------------------===//
// Kernel body.
//===----------------------------------------------------------------------===//

namespace {
/// The operand views and host-side scalars the kernel body uses.
struct KernelOperands {
  Value input, residual, gamma, beta, output, residualOutput, mean, rstd;
  /// Epsilon and c = 1/sqrt(N) in the compute type: host values when only
  /// known at run time, otherwise constants created in the kernel.
  Value eps, invSqrtN;
  FloatAttr epsConstant, invSqrtNConstant;
  /// N, the row length, in the compute type (same convention).
  Value rowSize;
  FloatAttr rowSizeConstant;
  /// The quantised output's scale in the compute type (a host value), or
  /// null.
  Value outScale;
};

/// What a row is normalised with: y = ((h - pivot) - offset) * rstd, where
/// pivot + offset is the mean (LayerNorm), or y = h * rstd (RMSNorm, pivot
/// and offset null). Keeping the mean in two parts keeps h - mean exact to
/// the last bit of the offset even when the mean is large.
struct RowScale {
  Value pivot, offset, rstd;
};

/// Emits the body of the launch for one norm op.
class KernelEmitter {
public:
  KernelEmitter(OpBuilder &b, Location loc, NormOpInterface op,
                const KernelPlan &plan, const KernelOperands &operands)
      : b(b), loc(loc), op(op), plan(plan), operands(operands),
        inputType(op.getInputType().getElementType()),
        computeType(getComputeElementType(inputType)),
        isLayerNorm(op.isLayerNorm()) {}

  /// Emits the kernel before the terminator of `launch`'s body.
  void emit(gpu::LaunchOp launch);

private:
  // Scalars.
  Value index(int64_t value) {
    return arith::ConstantIndexOp::create(b, loc, value);
  }
  Value constant(double value) {
    return arith::ConstantOp::create(b, loc,
                                     b.getFloatAttr(computeType, value));
  }
  Value convert(Value value, Type type);
  Value add(Value lhs, Value rhs) {
    return arith::AddFOp::create(b, loc, lhs, rhs);
  }
  Value sub(Value lhs, Value rhs) {
    return arith::SubFOp::create(b, loc, lhs, rhs);
  }
  Value mul(Value lhs, Value rhs) {
    return arith::MulFOp::create(b, loc, lhs, rhs);
  }
  Value div(Value lhs, Value rhs) {
    return arith::DivFOp::create(b, loc, lhs, rhs);
  }
  Value select(Value cond, Value lhs, Value rhs) {
    return arith::SelectOp::create(b, loc, cond, lhs, rhs);
  }
  /// The pivot `p` if it is finite, else 0, so that the pivoted sums of a
  /// row holding inf give its IEEE mean (see docs/Rationale.md, "Non-finite
  /// rows") rather than inf - inf.
  Value finitePivot(Value p) {
    Value inf = constant(std::numeric_limits<double>::infinity());
    Value negInf = constant(-std::numeric_limits<double>::infinity());
    Value belowInf =
        arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OLT, p, inf);
    Value aboveNegInf =
        arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT, p, negInf);
    Value isFinite = arith::AndIOp::create(b, loc, belowInf, aboveNegInf);
    Value zero = constant(0.0);
    return select(isFinite, p, zero);
  }
  /// `lhs && rhs` where a null condition stands for true.
  Value both(Value lhs, Value rhs);
  /// Pairwise sum of `values`.
  Value sumTree(ArrayRef<Value> values);
  /// Runs `body` under `cond` (unconditionally when it is null).
  void emitIf(Value cond, function_ref<void()> body);

  // Memory.
  /// Loads V elements of `view` at `indices` (the last one the column).
  SmallVector<Value> loadElements(Value view, ValueRange indices);
  /// Stores `values` (converted to `view`'s element type) at `indices`.
  void storeElements(Value view, ValueRange indices, ArrayRef<Value> values);
  /// h = input (+ residual, rounded to the input type) in the compute type
  /// for vector `vectorIndex` of the row; writes residual_out when asked
  /// (at `row`, under `rowIsValid`).
  SmallVector<Value> loadRowVector(Value vectorIndex, bool writeResidual);
  /// As loadRowVector, yielding zeros when `valid` is false.
  SmallVector<Value> loadRowVectorIf(Value valid, Value vectorIndex);

  // Statistics.
  /// Sum over the elements of `vectors` whose `valid` flag holds (null:
  /// always) of `term(element)`.
  Value sumHeld(ArrayRef<SmallVector<Value>> vectors, ArrayRef<Value> valid,
                function_ref<Value(Value)> term);
  /// As sumHeld, for `terms` giving one or more values per element: the sum
  /// of each.
  SmallVector<Value>
  sumHeldTerms(ArrayRef<SmallVector<Value>> vectors, ArrayRef<Value> valid,
               function_ref<SmallVector<Value>(Value)> terms);
  /// Sum of `value` over the lanes of the warp that hold the row (a
  /// butterfly of shuffles; the same bits in every lane). A constant is the
  /// same in every lane and is multiplied instead.
  Value sumAcrossLanes(Value value);
  /// Lane 0 of each warp stores `fields` in workgroup region `region`; after
  /// a barrier, returns the fields of every warp of the row, in warp order.
  SmallVector<SmallVector<Value>> exchangeAcrossWarps(ArrayRef<Value> fields,
                                                      int64_t region);
  /// Sums of `values` over all threads of the row (one exchange for all),
  /// in an order that gives every thread the same bits.
  SmallVector<Value> sumAcrossRow(ArrayRef<Value> values, int64_t region);
  /// The terms this thread sums for the row's sums of squares, given a
  /// centred element x: (x c)^2, and with the tiny-row rescue also
  /// (x scale c)^2.
  SmallVector<Value> squareTerms(Value x);
  /// How many values squareTerms gives.
  size_t getNumSquareTerms() const { return rescueValues.scale ? 2 : 1; }
  /// rstd = 1/sqrt(var + eps) (NaN when var overflowed), from `sumsSq` (the
  /// row's sums of the squareTerms); stores the mean (pivot + offset) and
  /// rstd destinations.
  RowScale finalize(Value pivot, Value offset, ArrayRef<Value> sumsSq);
  /// The output element for `y` (compute type): `y` itself, to be rounded
  /// by the store, or its quantisation by out_scale.
  Value quantize(Value y, Type outputElementType);
  /// Normalises V elements of column vector `vectorIndex` and stores them.
  void storeOutputVector(ArrayRef<Value> h, Value vectorIndex,
                         const RowScale &scale);

  void emitHeldRow();
  void emitStreamedRow();

  OpBuilder &b;
  Location loc;
  NormOpInterface op;
  const KernelPlan &plan;
  KernelOperands operands;
  Type inputType;
  Type computeType;
  bool isLayerNorm;
  /// The tiny-row rescue's values when eps may need it, all null otherwise
  /// (set up by emit()).
  TinyRowRescueValues rescueValues;

  // Per-thread values set up by emit().
  Value threadInRow, laneInWarp, warpInRow, rowGroup;
  Value row, loadRow, rowIsValid;
  Value numVectors;
  Value sharedStats;
};
} // namespace

Value KernelEmitter::convert(Value value, Type type) {
  Type from = value.getType();
  if (from == type)
    return value;
  unsigned fromWidth = from.getIntOrFloatBitWidth();
  unsigned toWidth = type.getIntOrFloatBitWidth();
  if (fromWidth < toWidth)
    return arith::ExtFOp::create(b, loc, type, value);
  if (fromWidth > toWidth)
    return arith::TruncFOp::create(b, loc, type, value);
  // f16 <-> bf16: through f32.
  Value wide = arith::ExtFOp::create(b, loc, b.getF32Type(), value);
  return arith::TruncFOp::create(b, loc, type, wide);
}

Value KernelEmitter::both(Value lhs, Value rhs) {
  if (!lhs)
    return rhs;
  if (!rhs)
    return lhs;
  return arith::AndIOp::create(b, loc, lhs, rhs);
}

Value KernelEmitter::sumTree(ArrayRef<Value> values) {
  SmallVector<Value> level(values);
  while (level.size() > 1) {
    SmallVector<Value> next;
    for (size_t i = 0; i + 1 < level.size(); i += 2)
      next.push_back(add(level[i], level[i + 1]));
    if (level.size() % 2)
      next.push_back(level.back());
    level = std::move(next);
  }
  return level.front();
}

void KernelEmitter::emitIf(Value cond, function_ref<void()> body) {
  if (!cond)
    return body();
  auto ifOp = scf::IfOp::create(b, loc, cond, /*withElseRegion=*/false);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(ifOp.thenBlock()->getTerminator());
  body();
}

SmallVector<Value> KernelEmitter::loadElements(Value view, ValueRange indices) {
  auto type = cast<MemRefType>(view.getType());
  Type elementType = type.getElementType();
  int64_t width = plan.vectorWidth;
  if (width == 1)
    return {memref::LoadOp::create(b, loc, view, indices)};
  auto vectorType = VectorType::get({width}, elementType);
  int64_t alignment =
      std::min(kMaxAccessBytes, width * getByteWidth(elementType));
  Value vector =
      vector::LoadOp::create(b, loc, vectorType, view, indices,
                             /*nontemporal=*/false, llvm::Align(alignment));
  SmallVector<Value> elements;
  for (int64_t i = 0; i < width; ++i)
    elements.push_back(vector::ExtractOp::create(b, loc, vector, i));
  return elements;
}

void KernelEmitter::storeElements(Value view, ValueRange indices,
                                  ArrayRef<Value> values) {
  auto type = cast<MemRefType>(view.getType());
  Type elementType = type.getElementType();
  SmallVector<Value> converted;
  for (Value value : values)
    converted.push_back(convert(value, elementType));
  int64_t width = plan.vectorWidth;
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

SmallVector<Value> KernelEmitter::loadRowVector(Value vectorIndex,
                                                bool writeResidual) {
  Value column =
      arith::MulIOp::create(b, loc, vectorIndex, index(plan.vectorWidth));
  SmallVector<Value> x = loadElements(operands.input, {loadRow, column});
  if (!operands.residual) {
    for (Value &value : x)
      value = convert(value, computeType);
    return x;
  }
  // h = x + r, rounded to the input type: what residual_out holds.
  SmallVector<Value> r = loadElements(operands.residual, {loadRow, column});
  SmallVector<Value> h;
  for (auto [xi, ri] : llvm::zip_equal(x, r)) {
    Value wideX = convert(xi, computeType);
    Value wideR = convert(ri, computeType);
    h.push_back(convert(add(wideX, wideR), inputType));
  }
  if (writeResidual && operands.residualOutput)
    emitIf(rowIsValid, [&] {
      storeElements(operands.residualOutput, {row, column}, h);
    });
  for (Value &value : h)
    value = convert(value, computeType);
  return h;
}

SmallVector<Value> KernelEmitter::loadRowVectorIf(Value valid,
                                                  Value vectorIndex) {
  if (!valid)
    return loadRowVector(vectorIndex, /*writeResidual=*/true);
  SmallVector<Type> types(plan.vectorWidth, computeType);
  auto ifOp = scf::IfOp::create(b, loc, types, valid, /*withElseRegion=*/true);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(ifOp.thenBlock());
    scf::YieldOp::create(b, loc,
                         loadRowVector(vectorIndex, /*writeResidual=*/true));
    b.setInsertionPointToStart(ifOp.elseBlock());
    scf::YieldOp::create(b, loc,
                         SmallVector<Value>(plan.vectorWidth, constant(0.0)));
  }
  return SmallVector<Value>(ifOp.getResults());
}

Value KernelEmitter::sumHeld(ArrayRef<SmallVector<Value>> vectors,
                             ArrayRef<Value> valid,
                             function_ref<Value(Value)> term) {
  return sumHeldTerms(
             vectors, valid,
             [&](Value value) -> SmallVector<Value> { return {term(value)}; })
      .front();
}

SmallVector<Value>
KernelEmitter::sumHeldTerms(ArrayRef<SmallVector<Value>> vectors,
                            ArrayRef<Value> valid,
                            function_ref<SmallVector<Value>(Value)> terms) {
  // sums[i]: the per-vector sums of term i.
  SmallVector<SmallVector<Value>> sums;
  for (auto [h, cond] : llvm::zip_equal(vectors, valid)) {
    SmallVector<SmallVector<Value>> perTerm;
    for (Value value : h) {
      SmallVector<Value> values = terms(value);
      perTerm.resize(values.size());
      for (auto [list, term] : llvm::zip_equal(perTerm, values))
        list.push_back(term);
    }
    sums.resize(perTerm.size());
    for (auto [list, termValues] : llvm::zip_equal(sums, perTerm)) {
      Value sum = sumTree(termValues);
      list.push_back(cond ? select(cond, sum, constant(0.0)) : sum);
    }
  }
  SmallVector<Value> result;
  for (ArrayRef<Value> list : sums)
    result.push_back(sumTree(list));
  return result;
}

Value KernelEmitter::sumAcrossLanes(Value value) {
  int64_t lanes = std::min(plan.threadsPerRow, kWarpSize);
  if (matchPattern(value, m_Constant()))
    return b.createOrFold<arith::MulFOp>(loc, value, constant(lanes));
  // a + b == b + a bit for bit, so both partners of each step agree.
  for (int64_t offset = lanes / 2; offset >= 1; offset /= 2) {
    Value partner = gpu::ShuffleOp::create(b, loc, value, offset, kWarpSize,
                                           gpu::ShuffleMode::XOR)
                        .getShuffleResult();
    value = add(value, partner);
  }
  return value;
}

SmallVector<SmallVector<Value>>
KernelEmitter::exchangeAcrossWarps(ArrayRef<Value> fields, int64_t region) {
  // Workgroup memory: per region, kSharedFields words per warp of each row
  // group of the block.
  int64_t warps = plan.getWarpsPerRow();
  int64_t regionBase = region * plan.rowsPerBlock * warps * kSharedFields;
  Value regionStart = index(regionBase);
  Value rowOffset =
      arith::MulIOp::create(b, loc, rowGroup, index(warps * kSharedFields));
  Value rowBase = arith::AddIOp::create(b, loc, regionStart, rowOffset);
  auto slotOf = [&](Value warp, int64_t field) -> Value {
    Value base = arith::AddIOp::create(
        b, loc, rowBase,
        arith::MulIOp::create(b, loc, warp, index(kSharedFields)));
    return arith::AddIOp::create(b, loc, base, index(field));
  };
  Value isLeader = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                                         laneInWarp, index(0));
  emitIf(isLeader, [&] {
    for (auto [i, value] : llvm::enumerate(fields))
      memref::StoreOp::create(b, loc, value, sharedStats,
                              ValueRange{slotOf(warpInRow, i)});
  });
  gpu::BarrierOp::create(b, loc);
  SmallVector<SmallVector<Value>> parts;
  for (int64_t w = 0; w < warps; ++w) {
    SmallVector<Value> &part = parts.emplace_back();
    for (size_t i = 0; i < fields.size(); ++i)
      part.push_back(memref::LoadOp::create(b, loc, sharedStats,
                                            ValueRange{slotOf(index(w), i)}));
  }
  return parts;
}

SmallVector<Value> KernelEmitter::sumAcrossRow(ArrayRef<Value> values,
                                               int64_t region) {
  SmallVector<Value> sums;
  for (Value value : values)
    sums.push_back(sumAcrossLanes(value));
  if (plan.getWarpsPerRow() == 1)
    return sums;
  SmallVector<SmallVector<Value>> parts = exchangeAcrossWarps(sums, region);
  sums = parts.front();
  for (ArrayRef<Value> part : ArrayRef(parts).drop_front())
    for (auto [sum, value] : llvm::zip_equal(sums, part))
      sum = add(sum, value);
  return sums;
}

SmallVector<Value> KernelEmitter::squareTerms(Value x) {
  Value c = operands.invSqrtN;
  Value scaled = mul(x, c);
  SmallVector<Value> terms = {mul(scaled, scaled)};
  if (rescueValues.scale) {
    Value rescaled = mul(mul(x, rescueValues.scale), c);
    terms.push_back(mul(rescaled, rescaled));
  }
  return terms;
}

RowScale KernelEmitter::finalize(Value pivot, Value offset,
                                 ArrayRef<Value> sumsSq) {
  RowScale scale{pivot, offset, Value()};
  Value sumSq = sumsSq.front();
  // rstd = 1/sqrt(var + eps), NaN when the mean square overflowed (a
  // non-finite input). sqrt and a division rather than rsqrt: both are
  // correctly rounded on NVPTX.
  Value sum = add(sumSq, operands.eps);
  Value one = constant(1.0);
  Value root = math::SqrtOp::create(b, loc, sum);
  scale.rstd = div(one, root);
  const llvm::fltSemantics &semantics =
      cast<FloatType>(computeType).getFloatSemantics();
  Value inf = arith::ConstantOp::create(
      b, loc, b.getFloatAttr(computeType, APFloat::getInf(semantics)));
  Value nan = arith::ConstantOp::create(
      b, loc, b.getFloatAttr(computeType, APFloat::getNaN(semantics)));
  Value overflowed =
      arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ, sumSq, inf);
  scale.rstd = select(overflowed, nan, scale.rstd);
  if (rescueValues.scale) {
    // A tiny row (the same bits in every thread of the row) takes the
    // rstd of its rescaled squares. Both sums are always formed: no branch
    // around the shuffles and barriers, and the usual eps never gets here.
    Value rescued =
        div(rescueValues.scale,
            math::SqrtOp::create(b, loc,
                                 add(sumsSq.back(), rescueValues.scaledEps)));
    scale.rstd = select(createIsTinyRow(b, loc, rescueValues, sumSq), rescued,
                        scale.rstd);
  }

  if (!operands.mean && !operands.rstd)
    return scale;
  Value isFirst = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                                        threadInRow, index(0));
  emitIf(both(isFirst, rowIsValid), [&] {
    auto store = [&](Value view, Value value) {
      auto type = cast<MemRefType>(view.getType());
      SmallVector<Value> indices;
      if (type.getRank() == 1)
        indices.push_back(row);
      memref::StoreOp::create(b, loc, convert(value, type.getElementType()),
                              view, indices);
    };
    if (operands.mean)
      store(operands.mean, add(scale.pivot, scale.offset));
    if (operands.rstd)
      store(operands.rstd, scale.rstd);
  });
  return scale;
}

Value KernelEmitter::quantize(Value y, Type outputElementType) {
  if (!operands.outScale)
    return y;
  Value q = div(y, operands.outScale);
  if (isa<FloatType>(outputElementType)) {
    // f8E4M3FN: saturate to the largest finite value, then round once (NaN
    // stays NaN).
    q = arith::MaximumFOp::create(b, loc, q, constant(-448.0));
    q = arith::MinimumFOp::create(b, loc, q, constant(448.0));
    return arith::TruncFOp::create(b, loc, outputElementType, q);
  }
  // i8: round half to even, saturate, NaN to 0.
  Value isNan = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UNO, q, q);
  q = math::RoundEvenOp::create(b, loc, q);
  q = arith::MaximumFOp::create(b, loc, q, constant(-128.0));
  q = arith::MinimumFOp::create(b, loc, q, constant(127.0));
  q = select(isNan, constant(0.0), q);
  return arith::FPToSIOp::create(b, loc, outputElementType, q);
}

void KernelEmitter::storeOutputVector(ArrayRef<Value> h, Value vectorIndex,
                                      const RowScale &scale) {
  Value column =
      arith::MulIOp::create(b, loc, vectorIndex, index(plan.vectorWidth));
  Type outputElementType =
      cast<MemRefType>(operands.output.getType()).getElementType();
  SmallVector<Value> gamma, beta;
  if (operands.gamma)
    gamma = loadElements(operands.gamma, {column});
  if (operands.beta)
    beta = loadElements(operands.beta, {column});
  SmallVector<Value> y;
  for (auto [i, value] : llvm::enumerate(h)) {
    Value out = value;
    if (scale.pivot)
      out = sub(sub(value, scale.pivot), scale.offset);
    out = mul(out, scale.rstd);
    if (operands.gamma)
      out = mul(out, convert(gamma[i], computeType));
    if (operands.beta)
      out = add(out, convert(beta[i], computeType));
    y.push_back(quantize(out, outputElementType));
  }
  storeElements(operands.output, {row, column}, y);
}

void KernelEmitter::emitHeldRow() {
  int64_t threads = plan.threadsPerRow;
  int64_t rowVectors =
      cast<MemRefType>(operands.input.getType()).getShape().back() /
      plan.vectorWidth;

  // Load every vector this thread owns before using any: K independent
  // loads in flight, and each element read from global memory once.
  SmallVector<SmallVector<Value>> held;
  SmallVector<Value> valid, vectorIndices;
  for (int64_t k = 0; k < plan.slotsPerThread; ++k) {
    Value vectorIndex =
        arith::AddIOp::create(b, loc, threadInRow, index(k * threads));
    Value cond;
    if ((k + 1) * threads > rowVectors)
      cond = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult,
                                   vectorIndex, numVectors);
    held.push_back(loadRowVectorIf(cond, vectorIndex));
    valid.push_back(cond);
    vectorIndices.push_back(vectorIndex);
  }
  if (!isLayerNorm) {
    SmallVector<Value> sumsSq =
        sumHeldTerms(held, valid, [&](Value h) { return squareTerms(h); });
    RowScale scale = finalize(Value(), Value(), sumAcrossRow(sumsSq, 0));
    for (int64_t k = 0; k < plan.slotsPerThread; ++k)
      emitIf(both(valid[k], rowIsValid),
             [&] { storeOutputVector(held[k], vectorIndices[k], scale); });
    return;
  }

  // Pass 1, the mean: S = sum(h - P) with P the first element of the part
  // of the row this warp holds (lane 0's, or the row group's first lane's),
  // from a shuffle. Warps then rebase their sums on warp 0's pivot P0:
  // S_w + n_w (P_w - P0). A constant row gives S = 0 exactly.
  Value firstLane = index(0);
  if (threads < kWarpSize)
    firstLane = arith::SubIOp::create(b, loc, laneInWarp, threadInRow);
  Value lane = arith::IndexCastOp::create(b, loc, b.getI32Type(), firstLane);
  Value width = arith::ConstantIntOp::create(b, loc, kWarpSize, 32);
  Value pivot = finitePivot(gpu::ShuffleOp::create(b, loc,
                                                    held.front().front(), lane,
                                                    width, gpu::ShuffleMode::IDX)
                                .getShuffleResult());
  Value shiftedSum = sumAcrossLanes(
      sumHeld(held, valid, [&](Value h) { return sub(h, pivot); }));
  Value rowPivot = pivot;
  if (plan.getWarpsPerRow() > 1) {
    SmallVector<Value> counts;
    for (Value cond : valid) {
      Value width = constant(plan.vectorWidth);
      counts.push_back(cond ? select(cond, width, constant(0.0)) : width);
    }
    Value count = counts.front();
    for (Value next : ArrayRef(counts).drop_front())
      count = b.createOrFold<arith::AddFOp>(loc, count, next);
    count = sumAcrossLanes(count);
    SmallVector<SmallVector<Value>> parts =
        exchangeAcrossWarps({shiftedSum, pivot, count}, 0);
    rowPivot = parts.front()[1];
    shiftedSum = parts.front()[0];
    for (ArrayRef<Value> part : ArrayRef(parts).drop_front()) {
      Value rebase = mul(part[2], sub(part[1], rowPivot));
      shiftedSum = add(shiftedSum, add(part[0], rebase));
    }
  }
  Value offset = div(shiftedSum, operands.rowSize);

  // Pass 2, over the same registers: q = sum((((h - P0) - offset) * c)^2).
  SmallVector<Value> sumsSq = sumHeldTerms(held, valid, [&](Value h) {
    return squareTerms(sub(sub(h, rowPivot), offset));
  });
  RowScale scale = finalize(rowPivot, offset, sumAcrossRow(sumsSq, 1));
  for (int64_t k = 0; k < plan.slotsPerThread; ++k)
    emitIf(both(valid[k], rowIsValid),
           [&] { storeOutputVector(held[k], vectorIndices[k], scale); });
}

void KernelEmitter::emitStreamedRow() {
  Value step = index(plan.threadsPerRow);
  Value zero = constant(0.0);

  // h for vector `vectorIndex` when it was read before: from residual_out
  // when there is one (it holds h, and may alias the residual).
  auto reloadRowVector = [&](Value vectorIndex) {
    if (!operands.residualOutput)
      return loadRowVector(vectorIndex, /*writeResidual=*/false);
    Value column =
        arith::MulIOp::create(b, loc, vectorIndex, index(plan.vectorWidth));
    SmallVector<Value> h =
        loadElements(operands.residualOutput, {loadRow, column});
    for (Value &value : h)
      value = convert(value, computeType);
    return h;
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
              sumHeldTerms({load(vectorIndex)}, {Value()}, terms);
          for (auto [sum, previous] : llvm::zip_equal(sums, acc))
            sum = add(previous, sum);
          scf::YieldOp::create(b, loc, sums);
        });
    return SmallVector<Value>(loop.getResults());
  };
  auto firstRead = [&](Value vectorIndex) {
    return loadRowVector(vectorIndex, /*writeResidual=*/true);
  };

  RowScale scale;
  if (!isLayerNorm) {
    SmallVector<Value> sumsSq =
        sumStreamed(firstRead, getNumSquareTerms(),
                    [&](Value h) { return squareTerms(h); });
    scale = finalize(Value(), Value(), sumAcrossRow(sumsSq, 0));
  } else {
    // Every thread reads the row's first element as the common pivot.
    Value pivot = convert(memref::LoadOp::create(b, loc, operands.input,
                                                 ValueRange{loadRow, index(0)}),
                          computeType);
    if (operands.residual) {
      Value r = memref::LoadOp::create(b, loc, operands.residual,
                                       ValueRange{loadRow, index(0)});
      pivot = convert(convert(add(pivot, convert(r, computeType)), inputType),
                      computeType);
    }
    pivot = finitePivot(pivot);
    Value shiftedSum =
        sumAcrossRow(sumStreamed(firstRead, 1,
                                 [&](Value h) -> SmallVector<Value> {
                                   return {sub(h, pivot)};
                                 }),
                     0)
            .front();
    Value offset = div(shiftedSum, operands.rowSize);
    SmallVector<Value> sumsSq =
        sumStreamed(reloadRowVector, getNumSquareTerms(), [&](Value h) {
          return squareTerms(sub(sub(h, pivot), offset));
        });
    scale = finalize(pivot, offset, sumAcrossRow(sumsSq, 1));
  }

  // The output, from a last read of the row.
  scf::ForOp::create(
      b, loc, threadInRow, numVectors, step, ValueRange(),
      [&](OpBuilder &nested, Location, Value vectorIndex, ValueRange) {
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPointToEnd(nested.getInsertionBlock());
        SmallVector<Value> h = reloadRowVector(vectorIndex);
        emitIf(rowIsValid, [&] { storeOutputVector(h, vectorIndex, scale); });
        scf::YieldOp::create(b, loc);
      });
}

void KernelEmitter::emit(gpu::LaunchOp launch) {
  Value threadId = launch.getThreadIds().x;
  Value blockId = launch.getBlockIds().x;
  int64_t threads = plan.threadsPerRow;
  int64_t rows = plan.rowsPerBlock;

  if (rows > 1) {
    rowGroup = arith::DivUIOp::create(b, loc, threadId, index(threads));
    threadInRow = arith::RemUIOp::create(b, loc, threadId, index(threads));
    row = arith::AddIOp::create(
        b, loc, arith::MulIOp::create(b, loc, blockId, index(rows)), rowGroup);
  } else {
    rowGroup = index(0);
    threadInRow = threadId;
    row = blockId;
  }
  laneInWarp = arith::RemUIOp::create(b, loc, threadId, index(kWarpSize));
  if (threads > kWarpSize)
    warpInRow = arith::DivUIOp::create(b, loc, threadInRow, index(kWarpSize));

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

  int64_t rowSize = inputView.getDimSize(1);
  if (ShapedType::isDynamic(rowSize))
    numVectors = memref::DimOp::create(b, loc, operands.input, 1);
  else
    numVectors = index(rowSize / plan.vectorWidth);

  if (!launch.getWorkgroupAttributions().empty())
    sharedStats = launch.getWorkgroupAttributions().front();
  if (operands.epsConstant)
    operands.eps = arith::ConstantOp::create(b, loc, operands.epsConstant);
  if (operands.invSqrtNConstant)
    operands.invSqrtN =
        arith::ConstantOp::create(b, loc, operands.invSqrtNConstant);
  if (std::optional<TinyRowRescue> rescue = getTinyRowRescue(op))
    rescueValues = createTinyRowRescueValues(b, loc, *rescue, operands.eps,
                                             /*runTimeEps=*/!!op.getEpsValue());
  if (operands.rowSizeConstant)
    operands.rowSize =
        arith::ConstantOp::create(b, loc, operands.rowSizeConstant);

  if (plan.holdsRowInRegisters())
    emitHeldRow();
  else
    emitStreamedRow();
}

//===----------------------------------------------------------------------===//
// Checks and the rewrite.
//===----------------------------------------------------------------------===//

LogicalResult
mlir::norm::checkNormToGPUOptions(const ConvertNormToGPUOptions &options,
                                  std::string *whyNot) {
  std::string message;
  llvm::raw_string_ostream os(message);
  int64_t blockSize = options.blockSize;
  int64_t rowsPerBlock = options.rowsPerBlock;
  int64_t vectorWidth = options.vectorWidth;
  if (blockSize && (blockSize < kWarpSize || blockSize > kMaxBlockSize ||
                    blockSize % kWarpSize != 0))
    os << "block-size must be a multiple of " << kWarpSize << " from "
       << kWarpSize << " to " << kMaxBlockSize << ", got " << blockSize;
  else if (rowsPerBlock < 0 || rowsPerBlock > kMaxBlockSize)
    os << "rows-per-block must be from 1 to " << kMaxBlockSize << ", got "
       << rowsPerBlock;
  else if (!blockSize && rowsPerBlock && !llvm::isPowerOf2_64(rowsPerBlock))
    os << "rows-per-block must be a power of two when block-size is not "
          "given, got "
       << rowsPerBlock;
  else if (blockSize && rowsPerBlock &&
           (blockSize % rowsPerBlock != 0 ||
            !isValidThreadsPerRow(blockSize / rowsPerBlock)))
    os << "block-size / rows-per-block (" << blockSize << " / " << rowsPerBlock
       << ") must be a power of two up to " << kWarpSize << " or a multiple of "
       << kWarpSize;
  else if (vectorWidth < 0 || vectorWidth > 16 ||
           (vectorWidth && !llvm::isPowerOf2_64(vectorWidth)))
    os << "vector-width must be a power of two up to 16, got " << vectorWidth;
  if (message.empty())
    return success();
  if (whyNot)
    *whyNot = std::move(message);
  return failure();
}

LogicalResult mlir::norm::checkNormOpLowerableToGPU(NormOpInterface op,
                                                    std::string *whyNot) {
  std::string message;
  llvm::raw_string_ostream os(message);
  auto fail = [&]() {
    if (whyNot)
      *whyNot = std::move(message);
    return failure();
  };
  if (op.hasPureTensorSemantics()) {
    os << "expects memref operands; bufferize the op before lowering it to "
          "GPU code";
    return fail();
  }
  if (op->getParentOfType<gpu::LaunchOp>() ||
      op->getParentOfType<gpu::GPUFuncOp>() ||
      op->getParentOfType<gpu::GPUModuleOp>()) {
    os << "is already in GPU code; only host code can launch a kernel";
    return fail();
  }

  if (Value scale = op.getOutScale();
      scale && !isSupportedElementType(scale.getType())) {
    os << "expects an f16, bf16, f32 or f64 out_scale to lower it to GPU "
          "code, got '"
       << scale.getType() << "'";
    return fail();
  }

  int64_t axis = op.getNormalizedAxis();
  for (const NamedOperand &operand : getNamedOperands(op)) {
    if (!operand.value)
      continue;
    auto type = cast<MemRefType>(operand.value.getType());
    if (!isSupportedElementType(op, operand.value, type.getElementType())) {
      os << "expects f16, bf16, f32 or f64 elements in the " << operand.name;
      if (operand.value == op.getOutput())
        os << " (or i8 or f8E4M3FN with an out_scale)";
      os << " to lower it to GPU code, got '" << type.getElementType() << "'";
      return fail();
    }
    if (!isGlobalMemorySpace(type)) {
      os << "expects the " << operand.name
         << " in global memory, got memory space " << type.getMemorySpace();
      return fail();
    }
    if (failed(getViewType(type, operand.kind, axis))) {
      os << "expects the " << operand.name
         << " to be contiguous within its row dimensions and within its "
            "normalised dimensions, got '"
         << type << "'";
      return fail();
    }
  }
  return success();
}

/// `value`, a host float scalar, converted to `type` (f16 <-> bf16 through
/// f64, which rounds once).
static Value convertHostScalar(OpBuilder &b, Location loc, Value value,
                               Type type) {
  unsigned from = value.getType().getIntOrFloatBitWidth();
  unsigned to = type.getIntOrFloatBitWidth();
  if (from < to)
    return arith::ExtFOp::create(b, loc, type, value);
  if (from > to)
    return arith::TruncFOp::create(b, loc, type, value);
  if (value.getType() == type)
    return value;
  return arith::TruncFOp::create(
      b, loc, type, arith::ExtFOp::create(b, loc, b.getF64Type(), value));
}

LogicalResult
mlir::norm::lowerNormOpToGPULaunch(RewriterBase &rewriter, NormOpInterface op,
                                   const ConvertNormToGPUOptions &options) {
  Location loc = op->getLoc();
  int64_t axis = op.getNormalizedAxis();
  Type inputType = op.getInputType().getElementType();
  Type computeType = getComputeElementType(inputType);

  // Views of everything accessed V elements at a time decide V.
  SmallVector<MemRefType> vectorViews;
  for (const NamedOperand &operand : getNamedOperands(op)) {
    if (!operand.value || operand.kind == ViewKind::Rows)
      continue;
    FailureOr<MemRefType> view = getViewType(
        cast<MemRefType>(operand.value.getType()), operand.kind, axis);
    if (failed(view))
      return rewriter.notifyMatchFailure(op, "operand layout not collapsible");
    vectorViews.push_back(*view);
  }
  KernelPlan plan = planKernel(op, vectorViews, options);

  rewriter.setInsertionPoint(op);
  KernelOperands operands;
  auto view = [&](Value value, ViewKind kind) -> Value {
    if (!value)
      return {};
    return createView(rewriter, loc, value, kind, axis);
  };
  operands.input = view(op.getInput(), ViewKind::Matrix);
  operands.residual = view(op.getResidual(), ViewKind::Matrix);
  operands.gamma = view(op.getGamma(), ViewKind::Vector);
  operands.beta = view(op.getBeta(), ViewKind::Vector);
  operands.output = view(op.getOutput(), ViewKind::Matrix);
  operands.residualOutput = view(op.getResidualOutput(), ViewKind::Matrix);
  operands.mean = view(op.getMean(), ViewKind::Rows);
  operands.rstd = view(op.getRstd(), ViewKind::Rows);

  // Host-side scalars: epsilon and c = 1/sqrt(N) in the compute type.
  auto computeFloat = cast<FloatType>(computeType);
  if (Value eps = op.getEpsValue()) {
    operands.eps = convertHostScalar(rewriter, loc, eps, computeType);
  } else {
    APFloat epsilon = *op.getEpsilon();
    bool losesInfo;
    epsilon.convert(computeFloat.getFloatSemantics(),
                    APFloat::rmNearestTiesToEven, &losesInfo);
    operands.epsConstant = FloatAttr::get(computeType, epsilon);
  }
  // The kernel divides by the quantised output's scale in the compute type,
  // as the reference does: converted once here, passed as an argument.
  if (Value scale = op.getOutScale())
    operands.outScale = convertHostScalar(rewriter, loc, scale, computeType);
  auto inputView = cast<MemRefType>(operands.input.getType());
  int64_t rowSize = inputView.getDimSize(1);
  if (!ShapedType::isDynamic(rowSize)) {
    // The same roundings as computing 1/sqrt(N) in the compute type.
    double c = computeType.isF64()
                   ? 1.0 / std::sqrt(static_cast<double>(rowSize))
                   : static_cast<double>(
                         1.0f / std::sqrt(static_cast<float>(rowSize)));
    operands.invSqrtNConstant = rewriter.getFloatAttr(computeType, c);
    operands.rowSizeConstant =
        rewriter.getFloatAttr(computeType, static_cast<double>(rowSize));
  } else {
    Value n = memref::DimOp::create(rewriter, loc, operands.input, 1);
    Value n64 =
        arith::IndexCastUIOp::create(rewriter, loc, rewriter.getI64Type(), n);
    Value nFloat = arith::UIToFPOp::create(rewriter, loc, computeType, n64);
    operands.rowSize = nFloat;
    Value one = arith::ConstantOp::create(
        rewriter, loc, rewriter.getFloatAttr(computeType, 1.0));
    operands.invSqrtN = arith::DivFOp::create(
        rewriter, loc, one, math::SqrtOp::create(rewriter, loc, nFloat));
  }

  // One block per R rows; nothing to launch for zero rows.
  int64_t numRows = inputView.getDimSize(0);
  if (numRows == 0) {
    rewriter.eraseOp(op);
    return success();
  }
  Value rowCount;
  if (ShapedType::isDynamic(numRows))
    rowCount = memref::DimOp::create(rewriter, loc, operands.input, 0);
  else
    rowCount = arith::ConstantIndexOp::create(rewriter, loc, numRows);
  Value one = arith::ConstantIndexOp::create(rewriter, loc, 1);
  Value gridSize = rowCount;
  if (plan.rowsPerBlock > 1)
    gridSize = rewriter.createOrFold<arith::CeilDivUIOp>(
        loc, rowCount,
        arith::ConstantIndexOp::create(rewriter, loc, plan.rowsPerBlock));
  Value blockSize =
      arith::ConstantIndexOp::create(rewriter, loc, plan.getBlockSize());

  OpBuilder::InsertionGuard guard(rewriter);
  if (ShapedType::isDynamic(numRows)) {
    Value zero = arith::ConstantIndexOp::create(rewriter, loc, 0);
    Value hasRows = arith::CmpIOp::create(
        rewriter, loc, arith::CmpIPredicate::ugt, rowCount, zero);
    auto ifOp = scf::IfOp::create(rewriter, loc, hasRows,
                                  /*withElseRegion=*/false);
    rewriter.setInsertionPoint(ifOp.thenBlock()->getTerminator());
  }

  SmallVector<Type> workgroupBuffers;
  if (plan.getWarpsPerRow() > 1) {
    // One exchange region for RMSNorm, two (the sum, then the sum of
    // squares) for LayerNorm.
    int64_t fields = (op.isLayerNorm() ? 2 : 1) * kSharedFields;
    auto workgroup = gpu::AddressSpaceAttr::get(rewriter.getContext(),
                                                gpu::AddressSpace::Workgroup);
    workgroupBuffers.push_back(
        MemRefType::get({plan.rowsPerBlock * plan.getWarpsPerRow() * fields},
                        computeType, MemRefLayoutAttrInterface(), workgroup));
  }
  auto launch = gpu::LaunchOp::create(
      rewriter, loc, gridSize, one, one, blockSize, one, one,
      /*dynamicSharedMemorySize=*/nullptr, /*asyncTokenType=*/nullptr,
      /*asyncDependencies=*/ValueRange(), workgroupBuffers);
  Block &body = launch.getBody().front();
  if (body.empty() || !body.back().hasTrait<OpTrait::IsTerminator>()) {
    rewriter.setInsertionPointToEnd(&body);
    gpu::TerminatorOp::create(rewriter, loc);
  }
  rewriter.setInsertionPoint(body.getTerminator());
  KernelEmitter(rewriter, loc, op, plan, operands).emit(launch);

  rewriter.eraseOp(op);
  return success();
}

namespace {
/// Replaces a norm op on memrefs by a `gpu.launch` computing it.
struct NormOpToGPULaunch : public OpInterfaceRewritePattern<NormOpInterface> {
  NormOpToGPULaunch(MLIRContext *context,
                    const ConvertNormToGPUOptions &options)
      : OpInterfaceRewritePattern(context), options(options) {}

  LogicalResult matchAndRewrite(NormOpInterface op,
                                PatternRewriter &rewriter) const override {
    std::string whyNot;
    if (failed(checkNormToGPUOptions(options, &whyNot)) ||
        failed(checkNormOpLowerableToGPU(op, &whyNot)))
      return rewriter.notifyMatchFailure(op, whyNot);
    return lowerNormOpToGPULaunch(rewriter, op, options);
  }

  ConvertNormToGPUOptions options;
};

struct ConvertNormToGPUPass
    : public norm::impl::ConvertNormToGPUBase<ConvertNormToGPUPass> {
  using Base::Base;

  /// The pass's options as the patterns take them.
  ConvertNormToGPUOptions getLoweringOptions() const {
    return {blockSize, rowsPerBlock, vectorWidth};
  }

  void runOnOperation() override {
    ConvertNormToGPUOptions options = getLoweringOptions();
    std::string whyNot;
    if (failed(checkNormToGPUOptions(options, &whyNot))) {
      getOperation()->emitError("convert-norm-to-gpu: ") << whyNot;
      return signalPassFailure();
    }

    // Check every op first, so that nothing is rewritten when one of them
    // cannot be.
    SmallVector<NormOpInterface> normOps;
    getOperation()->walk([&](NormOpInterface op) { normOps.push_back(op); });
    bool anyRefused = false;
    for (NormOpInterface op : normOps) {
      if (succeeded(checkNormOpLowerableToGPU(op, &whyNot)))
        continue;
      op->emitOpError() << whyNot;
      anyRefused = true;
    }
    if (anyRefused)
      return signalPassFailure();

    IRRewriter rewriter(&getContext());
    for (NormOpInterface op : normOps) {
      if (succeeded(lowerNormOpToGPULaunch(rewriter, op, options)))
        continue;
      op->emitOpError("could not be lowered to a GPU kernel");
      return signalPassFailure();
    }
  }
};
} // namespace

FailureOr<ConvertNormToGPUOptions> mlir::norm::parseNormToGPUOptions(
    StringRef text, function_ref<LogicalResult(const Twine &)> errorHandler) {
  ConvertNormToGPUPass pass;
  if (failed(pass.initializeOptions(text, errorHandler)))
    return failure();
  return pass.getLoweringOptions();
}

void mlir::norm::populateNormToGPUConversionPatterns(
    RewritePatternSet &patterns, const ConvertNormToGPUOptions &options) {
  patterns.add<NormOpToGPULaunch>(patterns.getContext(), options);
}
