//===- KernelPlan.cpp - How a norm op maps onto a GPU launch --------------===//

#include "KernelPlan.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "llvm/ADT/bit.h"
#include "llvm/Support/MathExtras.h"

using namespace mlir;
using namespace mlir::norm;

/// Threads per block when several short rows share a block.
static constexpr int64_t kDefaultBlockSize = 256;
/// Row elements a thread aims to hold when the geometry is chosen from N.
static constexpr int64_t kTargetElementsPerThread = 16;
/// Threads per row when a row is streamed: long static rows, dynamic rows.
static constexpr int64_t kStreamedStaticRowThreads = 512;
static constexpr int64_t kStreamedDynamicRowThreads = 256;

//===----------------------------------------------------------------------===//
// Operand views
//===----------------------------------------------------------------------===//

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

FailureOr<MemRefType> mlir::norm::getViewType(MemRefType type, ViewKind kind,
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

Value mlir::norm::createView(OpBuilder &b, Location loc, Value value,
                             ViewKind kind, int64_t axis) {
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
/// (up to 16 bytes), given a 16-byte aligned base pointer. With
/// `assumeDynamic`, sizes, strides and offsets known only at run time are
/// taken to allow it (the caller checks them: emitVectorAccessCheck).
static bool allowsVectorAccess(MemRefType view, int64_t width,
                               bool assumeDynamic) {
  if (width == 1)
    return true;
  int64_t rowSize = view.getShape().back();
  if (ShapedType::isDynamic(rowSize) ? !assumeDynamic : rowSize % width != 0)
    return false;
  SmallVector<int64_t> strides;
  int64_t offset;
  if (failed(view.getStridesAndOffset(strides, offset)) || strides.back() != 1)
    return false;
  int64_t bytes = getByteWidth(view.getElementType());
  int64_t alignment = std::min(kMaxAccessBytes, width * bytes);
  auto isAligned = [&](int64_t elements) {
    if (ShapedType::isDynamic(elements))
      return assumeDynamic;
    return (elements * bytes) % alignment == 0;
  };
  if (!isAligned(offset))
    return false;
  return llvm::all_of(ArrayRef(strides).drop_back(), isAligned);
}

Value mlir::norm::emitVectorAccessCheck(OpBuilder &b, Location loc,
                                        ValueRange views, int64_t width) {
  Value ok = arith::ConstantIntOp::create(b, loc, /*value=*/1, /*width=*/1);
  if (width == 1)
    return ok;
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  auto isMultiple = [&](Value value, int64_t factor) -> Value {
    Value divisor = arith::ConstantIndexOp::create(b, loc, factor);
    Value rem = b.createOrFold<arith::RemUIOp>(loc, value, divisor);
    return b.createOrFold<arith::CmpIOp>(loc, arith::CmpIPredicate::eq, rem,
                                         zero);
  };
  auto both = [&](Value condition) {
    ok = b.createOrFold<arith::AndIOp>(loc, ok, condition);
  };
  for (Value view : views) {
    auto type = cast<MemRefType>(view.getType());
    int64_t bytes = getByteWidth(type.getElementType());
    int64_t alignment = std::min(kMaxAccessBytes, width * bytes);
    auto metadata = memref::ExtractStridedMetadataOp::create(b, loc, view);
    // Whole vectors in a row, and every row starting where a vector may.
    both(isMultiple(metadata.getSizes().back(), width));
    for (Value stride : metadata.getStrides().drop_back())
      both(isMultiple(stride, alignment / bytes));
    // Element 0 at an address aligned to the access.
    Value base = memref::ExtractAlignedPointerAsIndexOp::create(b, loc, view);
    Value offsetBytes = b.createOrFold<arith::MulIOp>(
        loc, metadata.getOffset(),
        arith::ConstantIndexOp::create(b, loc, bytes));
    Value address = b.createOrFold<arith::AddIOp>(loc, base, offsetBytes);
    both(isMultiple(address, alignment));
  }
  return ok;
}

SmallVector<NamedOperand, 9> mlir::norm::getNamedOperands(NormOpInterface op) {
  return {{op.getInput(), "input", ViewKind::Matrix},
          {op.getResidual(), "residual", ViewKind::Matrix},
          {op.getGamma(), "gamma", ViewKind::Vector},
          {op.getBeta(), "beta", ViewKind::Vector},
          {op.getOutput(), "output", ViewKind::Matrix},
          {op.getResidualOutput(), "residual_out", ViewKind::Matrix},
          {op.getMean(), "mean", ViewKind::Rows},
          {op.getRstd(), "rstd", ViewKind::Rows},
          // Per group, rows x groups.
          {op.getScales(), "scales",
           op.getGroupSize() ? ViewKind::Matrix : ViewKind::Rows}};
}

SmallVector<NamedOperand, 9>
mlir::norm::getNamedOperands(NormGradOpInterface op) {
  return {{op.getInput(), "input", ViewKind::Matrix},
          {op.getOutputGrad(), "output gradient", ViewKind::Matrix},
          {op.getResidualGrad(), "residual_grad", ViewKind::Matrix},
          {op.getGamma(), "gamma", ViewKind::Vector},
          {op.getMean(), "mean", ViewKind::Rows},
          {op.getRstd(), "rstd", ViewKind::Rows},
          {op.getInputGradInit(), "input gradient (dx)", ViewKind::Matrix},
          {op.getGammaGradInit(), "gamma gradient (dgamma)", ViewKind::Vector},
          {op.getBetaGradInit(), "beta gradient (dbeta)", ViewKind::Vector}};
}

bool mlir::norm::isGlobalMemorySpace(MemRefType type) {
  Attribute space = type.getMemorySpace();
  if (!space)
    return true;
  auto gpuSpace = dyn_cast<gpu::AddressSpaceAttr>(space);
  return gpuSpace && gpuSpace.getValue() == gpu::AddressSpace::Global;
}

//===----------------------------------------------------------------------===//
// The launch plan
//===----------------------------------------------------------------------===//

bool mlir::norm::isValidThreadsPerRow(int64_t threads) {
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

ArrayRef<int64_t> mlir::norm::getRowLengthBuckets() {
  // The hidden sizes of most models fall in or just below one of these;
  // each bucket is one more kernel per op.
  static constexpr int64_t kBuckets[] = {1024, 2048, 4096, 8192};
  return kBuckets;
}

KernelPlan mlir::norm::planKernel(Type inputType, int64_t heldArrays,
                                  ArrayRef<MemRefType> vectorViews,
                                  const ConvertNormToGPUOptions &options,
                                  bool assumeDynamic, int64_t rowSizeBound) {
  KernelPlan plan;
  Type computeType = getComputeElementType(inputType);
  int64_t rowSize = vectorViews.front().getShape().back();

  int64_t maxWidth = options.vectorWidth
                         ? options.vectorWidth
                         : kMaxAccessBytes / getByteWidth(inputType);
  plan.vectorWidth =
      static_cast<int64_t>(llvm::bit_floor(static_cast<uint64_t>(maxWidth)));
  while (plan.vectorWidth > 1 &&
         !llvm::all_of(vectorViews, [&](MemRefType view) {
           return allowsVectorAccess(view, plan.vectorWidth, assumeDynamic);
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
    if (!rowSizeBound) {
      finish(kStreamedDynamicRowThreads);
      return plan;
    }
    rowSize = rowSizeBound;
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
  if (slots * plan.vectorWidth * wordsPerElement * heldArrays <=
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
