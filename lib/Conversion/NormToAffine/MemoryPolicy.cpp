//===- MemoryPolicy.cpp - How CPU row kernels use memory ------------------===//

#include "MemoryPolicy.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/Triple.h"

using namespace mlir;
using namespace mlir::norm;

/// The longest row (in bytes of the input type) whose residual_out is
/// streamed: the later sweeps re-read the input and residual rows, which
/// should still be in L2.
static constexpr int64_t kMaxStreamedRowBytes = 64 * 1024;

/// Whether the host, which the code is compiled for, is x86.
static bool isX86Host() {
  return llvm::Triple(llvm::sys::getProcessTriple()).isX86();
}

OpFoldResult mlir::norm::createAtLeastBytes(OpBuilder &b, Location loc,
                                            ArrayRef<OpFoldResult> sizes,
                                            int64_t elementBytes,
                                            int64_t threshold) {
  if (std::optional<SmallVector<int64_t>> staticSizes =
          getConstantIntValues(sizes)) {
    int64_t bytes = elementBytes;
    for (int64_t size : *staticSizes)
      bytes *= size;
    return b.getBoolAttr(bytes >= threshold);
  }
  Value bytes = arith::ConstantIndexOp::create(b, loc, elementBytes);
  for (OpFoldResult size : sizes) {
    Value sizeValue = getValueOrCreateConstantIndexOp(b, loc, size);
    bytes = arith::MulIOp::create(b, loc, bytes, sizeValue);
  }
  Value thresholdValue = arith::ConstantIndexOp::create(b, loc, threshold);
  return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::uge, bytes,
                               thresholdValue)
      .getResult();
}

OpFoldResult mlir::norm::decideParallelRows(OpBuilder &b, Location loc,
                                            bool parallel, int64_t threshold,
                                            ArrayRef<OpFoldResult> rowSizes,
                                            ArrayRef<OpFoldResult> normSizes,
                                            Value input) {
  if (!parallel || threshold <= 0)
    return b.getBoolAttr(parallel);
  // Forking threads costs microseconds; a decode step's few rows take less.
  SmallVector<OpFoldResult> sizes(rowSizes);
  sizes.append(normSizes.begin(), normSizes.end());
  int64_t elementBits =
      cast<MemRefType>(input.getType()).getElementTypeBitWidth();
  return createAtLeastBytes(b, loc, sizes, llvm::divideCeil(elementBits, 8),
                            threshold);
}

/// Decides whether the normalise sweep stores non-temporally: it needs
/// whole aligned vectors along one contiguous normalised dim, and an output
/// big enough not to be wanted in cache (`threshold` bytes; statically when
/// the shape is known, per call otherwise).
static void decideNontemporalOutput(OpBuilder &b, Location loc,
                                    int64_t threshold,
                                    ArrayRef<OpFoldResult> rowSizes,
                                    ArrayRef<OpFoldResult> normSizes,
                                    unsigned outputBits, StorePolicy &policy) {
  int64_t lanes = policy.lanes;
  // Vectors must be a power of two bytes long to be aligned (an odd
  // vector-width, e.g. 3, gives plain stores).
  if (threshold < 0 || lanes <= 1 || !llvm::isPowerOf2_64(lanes) ||
      normSizes.size() != 1 || outputBits % 8 != 0 ||
      !llvm::isPowerOf2_32(outputBits))
    return;
  SmallVector<OpFoldResult> sizes(rowSizes);
  sizes.append(normSizes.begin(), normSizes.end());
  OpFoldResult large =
      createAtLeastBytes(b, loc, sizes, outputBits / 8, threshold);
  if (auto value = dyn_cast<Value>(large))
    policy.useNontemporal = value;
  else
    policy.alwaysNontemporal =
        cast<BoolAttr>(cast<Attribute>(large)).getValue();
}

StorePolicy mlir::norm::decideStorePolicy(
    OpBuilder &b, Location loc, int64_t nontemporalThreshold, int64_t lanes,
    ArrayRef<OpFoldResult> rowSizes, ArrayRef<OpFoldResult> normSizes,
    Value input, Value residual, Value output, Value residualOutput) {
  StorePolicy policy;
  policy.lanes = lanes;
  // Non-temporal stores are x86's streaming stores (their fence is x86's):
  // elsewhere the threshold is ignored.
  int64_t threshold = isX86Host() ? nontemporalThreshold : -1;
  unsigned outputBits =
      cast<MemRefType>(output.getType()).getElementTypeBitWidth();
  decideNontemporalOutput(b, loc, threshold, rowSizes, normSizes, outputBits,
                          policy);

  // A non-temporal store of less than 64 bytes of a type narrower than 32
  // bits loses its hint in LLVM (a truncating store, or one fed by the bf16
  // conversion, becomes a plain store): such outputs take vectors of a
  // whole cache line, stored as one.
  if (policy.mayUseNontemporal() && outputBits < 32)
    policy.lanes = std::max<int64_t>(policy.lanes, 512 / outputBits);

  // residual_out streams with the output when every row is whole vectors of
  // a static length small enough for the later sweeps to find the input
  // and residual rows in cache.
  std::optional<int64_t> rowLength =
      normSizes.size() == 1 ? getConstantIntValue(normSizes.front())
                            : std::nullopt;
  int64_t inputBits =
      cast<MemRefType>(input.getType()).getElementTypeBitWidth();
  if (residualOutput && policy.alwaysNontemporal && rowLength &&
      *rowLength * inputBits / 8 <= kMaxStreamedRowBytes &&
      inputBits % 8 == 0 && llvm::isPowerOf2_64(inputBits)) {
    if (inputBits < 32)
      policy.lanes = std::max<int64_t>(policy.lanes, 512 / inputBits);
    policy.streamResidual = *rowLength % policy.lanes == 0;
  }
  if (!policy.streamResidual)
    return policy;
  Value overlapsInput = createMayOverlap(b, loc, residualOutput, input);
  Value overlapsResidual = createMayOverlap(b, loc, residualOutput, residual);
  Value overlaps =
      arith::OrIOp::create(b, loc, overlapsInput, overlapsResidual);
  Value trueValue = arith::ConstantOp::create(b, loc, b.getBoolAttr(true));
  policy.residualStreamable =
      arith::XOrIOp::create(b, loc, overlaps, trueValue);
  return policy;
}

Value mlir::norm::createStreamsResidualRow(OpBuilder &b, Location loc,
                                           const StorePolicy &policy,
                                           Value residualOutput,
                                           ValueRange rowIvs) {
  // Every vector of the row is aligned when its first one is (the row
  // length is a multiple of the lanes).
  int64_t inputBits =
      cast<MemRefType>(residualOutput.getType()).getElementTypeBitWidth();
  int64_t alignment = std::min(kCacheLineBytes, policy.lanes * inputBits / 8);
  Value address = createRowAddress(b, loc, residualOutput, rowIvs);
  Value alignmentValue = arith::ConstantIndexOp::create(b, loc, alignment);
  Value misalignment = arith::RemUIOp::create(b, loc, address, alignmentValue);
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value aligned = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                                        misalignment, zero);
  return arith::AndIOp::create(b, loc, policy.residualStreamable, aligned);
}

void mlir::norm::emitStoreFence(OpBuilder &b, Location loc,
                                const StorePolicy &policy) {
  // Non-temporal stores are weakly ordered: an sfence orders them before
  // anything the caller does next, as memcpy does after its streaming
  // stores. (LLVM lowers `fence seq_cst` to a locked instruction on some
  // x86 targets, which does not order them.) Other threads' rows are
  // ordered by the barrier that ends a parallel loop.
  auto createFence = [&](OpBuilder &builder) {
    LLVM::CallIntrinsicOp::create(builder, loc,
                                  builder.getStringAttr("llvm.x86.sse.sfence"),
                                  ValueRange());
  };
  if (policy.alwaysNontemporal) {
    createFence(b);
    return;
  }
  if (!policy.useNontemporal)
    return;
  scf::IfOp::create(b, loc, policy.useNontemporal,
                    [&](OpBuilder &nested, Location) {
                      createFence(nested);
                      scf::YieldOp::create(nested, loc);
                    });
}

Value mlir::norm::createRowAddress(OpBuilder &b, Location loc, Value buffer,
                                   ValueRange rowIvs) {
  auto type = cast<MemRefType>(buffer.getType());
  auto metadata = memref::ExtractStridedMetadataOp::create(b, loc, buffer);
  Value base = memref::ExtractAlignedPointerAsIndexOp::create(b, loc, buffer);
  Value linear = metadata.getOffset();
  for (auto [iv, stride] : llvm::zip(rowIvs, metadata.getStrides())) {
    Value step = arith::MulIOp::create(b, loc, iv, stride);
    linear = arith::AddIOp::create(b, loc, linear, step);
  }
  Value bytes =
      arith::ConstantIndexOp::create(b, loc, type.getElementTypeBitWidth() / 8);
  Value offset = arith::MulIOp::create(b, loc, linear, bytes);
  return arith::AddIOp::create(b, loc, base, offset);
}

Value mlir::norm::createMayOverlap(OpBuilder &b, Location loc, Value lhs,
                                   Value rhs) {
  // [first, last] byte of each view: base + offset, plus sum((size-1) *
  // stride) elements; a negative stride counts as overlapping.
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  Value negative = arith::ConstantOp::create(b, loc, b.getBoolAttr(false));
  auto span = [&](Value buffer) -> std::pair<Value, Value> {
    auto type = cast<MemRefType>(buffer.getType());
    Value bytes = arith::ConstantIndexOp::create(
        b, loc, type.getElementTypeBitWidth() / 8);
    auto metadata = memref::ExtractStridedMetadataOp::create(b, loc, buffer);
    Value base = memref::ExtractAlignedPointerAsIndexOp::create(b, loc, buffer);
    Value extent = zero;
    for (auto [size, stride] :
         llvm::zip(metadata.getSizes(), metadata.getStrides())) {
      Value isNegative = arith::CmpIOp::create(
          b, loc, arith::CmpIPredicate::slt, stride, zero);
      negative = arith::OrIOp::create(b, loc, negative, isNegative);
      Value last = arith::SubIOp::create(b, loc, size, one);
      Value step = arith::MulIOp::create(b, loc, last, stride);
      extent = arith::AddIOp::create(b, loc, extent, step);
    }
    Value offsetBytes =
        arith::MulIOp::create(b, loc, metadata.getOffset(), bytes);
    Value first = arith::AddIOp::create(b, loc, base, offsetBytes);
    Value count = arith::AddIOp::create(b, loc, extent, one);
    Value countBytes = arith::MulIOp::create(b, loc, count, bytes);
    Value length = arith::SubIOp::create(b, loc, countBytes, one);
    Value lastByte = arith::AddIOp::create(b, loc, first, length);
    return {first, lastByte};
  };
  auto [lhsFirst, lhsLast] = span(lhs);
  auto [rhsFirst, rhsLast] = span(rhs);
  Value lhsStartsBeforeRhsEnds = arith::CmpIOp::create(
      b, loc, arith::CmpIPredicate::ule, lhsFirst, rhsLast);
  Value rhsStartsBeforeLhsEnds = arith::CmpIOp::create(
      b, loc, arith::CmpIPredicate::ule, rhsFirst, lhsLast);
  Value overlap = arith::AndIOp::create(b, loc, lhsStartsBeforeRhsEnds,
                                        rhsStartsBeforeLhsEnds);
  return arith::OrIOp::create(b, loc, overlap, negative);
}

SmallVector<Value> mlir::norm::createPrefetchRowIndices(
    OpBuilder &b, Location loc, bool prefetch, bool hasResidual, int64_t lanes,
    ValueRange rowIvs, ArrayRef<OpFoldResult> rowSizes, int64_t distance) {
  // The next row along the innermost row dim (clamped to the last) is
  // prefetched as this one is normalised, so that its loads overlap this
  // row's stores. Not with a residual: the rows the normalise sweep re-reads
  // (x and r, or x + r) and the next ones do not fit in L1 together, and
  // the hardware prefetcher does better alone (bench/fusion.py, 16384x4096
  // f32 -> bf16: 29.9 ms without, 36.5 ms prefetching x and r).
  if (!prefetch || hasResidual || rowIvs.empty() || lanes <= 1)
    return {};
  SmallVector<Value> nextRowIvs(rowIvs);
  MLIRContext *ctx = b.getContext();
  OpFoldResult rows = rowSizes.back();
  AffineExpr d0 = getAffineDimExpr(0, ctx);
  SmallVector<AffineExpr> bounds = {d0 + distance};
  SmallVector<Value> operands = {rowIvs.back()};
  if (auto dynamicRows = dyn_cast<Value>(rows)) {
    bounds.push_back(getAffineSymbolExpr(0, ctx) - 1);
    operands.push_back(dynamicRows);
  } else {
    bounds.push_back(
        getAffineConstantExpr(*getConstantIntValue(rows) - 1, ctx));
  }
  nextRowIvs.back() = affine::AffineMinOp::create(
      b, loc, AffineMap::get(1, operands.size() - 1, bounds, ctx), operands);
  return nextRowIvs;
}

void mlir::norm::emitRowPrefetches(OpBuilder &b, Location loc, Value input,
                                   ValueRange prefetchRowIvs,
                                   ValueRange normIvs, int64_t lanes,
                                   unsigned locality) {
  // A step of wide vectors spans several lines.
  int64_t elementBytes = std::max<int64_t>(
      1, cast<MemRefType>(input.getType()).getElementTypeBitWidth() / 8);
  for (int64_t offset = 0; offset < lanes * elementBytes;
       offset += kCacheLineBytes) {
    SmallVector<Value> indices(normIvs);
    if (offset != 0) {
      Value elements =
          arith::ConstantIndexOp::create(b, loc, offset / elementBytes);
      indices.back() = arith::AddIOp::create(b, loc, indices.back(), elements);
    }
    SmallVector<Value> fullIndices(prefetchRowIvs);
    fullIndices.append(indices);
    memref::PrefetchOp::create(b, loc, input, fullIndices,
                               /*isWrite=*/false, std::min(3u, locality),
                               /*isDataCache=*/true);
  }
}

Value mlir::norm::roundToBF16Bits(OpBuilder &b, Location loc, Value y) {
  auto type = cast<VectorType>(y.getType());
  auto i32Type = type.clone(b.getI32Type());
  auto splat = [&](uint32_t value) -> Value {
    return arith::ConstantOp::create(
        b, loc, i32Type,
        DenseElementsAttr::get(i32Type, b.getI32IntegerAttr(value)));
  };
  Value bits = arith::BitcastOp::create(b, loc, i32Type, y);
  Value high = arith::ShRUIOp::create(b, loc, bits, splat(16));
  Value lowestKept = arith::AndIOp::create(b, loc, high, splat(1));
  Value biased = arith::AddIOp::create(b, loc, bits, splat(0x7fff));
  biased = arith::AddIOp::create(b, loc, biased, lowestKept);
  Value rounded = arith::ShRUIOp::create(b, loc, biased, splat(16));
  Value quietNan = arith::OrIOp::create(b, loc, high, splat(0x40));
  Value isNan = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UNO, y, y);
  rounded = arith::SelectOp::create(b, loc, isNan, quietNan, rounded);
  Value narrow =
      arith::TruncIOp::create(b, loc, type.clone(b.getI16Type()), rounded);
  return arith::BitcastOp::create(b, loc, type.clone(b.getBF16Type()), narrow);
}
