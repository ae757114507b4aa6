//===- ExpandFp8Casts.cpp - arith.truncf to f8E4M3FN as integer ops -------===//
//
// Rewrites `arith.truncf %x : S to f8E4M3FN` (S one of f16, bf16, f32, f64)
// into integer arithmetic on the bits of `x`, for targets whose LLVM lowering
// has no 8-bit float conversion. With `a` the bits of |x|, M the mantissa
// width of S and B its exponent bias:
//
//   |x| >= 2^-6 (normal in f8E4M3FN): round the mantissa to 3 bits, to
//     nearest even, by adding 2^(M-4) - 1 plus the lowest kept bit, then
//     rebias the exponent from B to 7: bits = (a_rounded >> (M-3)) - (B-7)*8.
//     A carry out of the mantissa correctly bumps the exponent.
//   |x| <  2^-6 (subnormal or zero): |x| + 2^(M-9) in S rounds |x| to a
//     multiple of 2^-9 (the spacing of S at 2^(M-9)); the difference of the
//     bit patterns is the f8E4M3FN subnormal bit pattern (0 to 8, where 8 is
//     the smallest normal).
//   NaN, and anything that rounds above 448 (bits 0x7E), becomes NaN (0x7F),
//   as APFloat converts (the format has no infinity). The sign is copied.
//
//===----------------------------------------------------------------------===//

#include "norm/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/IR/TypeUtilities.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir {
namespace norm {
#define GEN_PASS_DEF_NORMEXPANDFP8CASTS
#include "norm/Transforms/Passes.h.inc"
} // namespace norm
} // namespace mlir

using namespace mlir;
using namespace mlir::norm;

namespace {
/// Builds scalar or splat-vector constants shaped like a given value.
class ConstantBuilder {
public:
  ConstantBuilder(PatternRewriter &rewriter, Location loc, Type shapeLike)
      : rewriter(rewriter), loc(loc), shape(dyn_cast<VectorType>(shapeLike)) {}

  /// `type` (a scalar type) shaped like the source value.
  Type get(Type type) const {
    if (shape)
      return VectorType(shape).clone(type);
    return type;
  }

  Value integer(Type type, uint64_t value) const {
    return constant(rewriter.getIntegerAttr(
        type, APInt(type.getIntOrFloatBitWidth(), value)));
  }

  Value floating(Type type, const APFloat &value) const {
    return constant(rewriter.getFloatAttr(type, value));
  }

private:
  Value constant(TypedAttr scalar) const {
    if (!shape)
      return arith::ConstantOp::create(rewriter, loc, scalar);
    auto vectorType = VectorType(shape).clone(scalar.getType());
    return arith::ConstantOp::create(
        rewriter, loc, DenseElementsAttr::get(vectorType, scalar));
  }

  PatternRewriter &rewriter;
  Location loc;
  VectorType shape;
};

struct ExpandTruncFToF8E4M3FN : public OpRewritePattern<arith::TruncFOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(arith::TruncFOp op,
                                PatternRewriter &rewriter) const override {
    Type resultElementType = getElementTypeOrSelf(op.getType());
    if (!isa<Float8E4M3FNType>(resultElementType))
      return rewriter.notifyMatchFailure(op, "not a truncation to f8E4M3FN");
    // Scalars and vectors only: the expansion bitcasts, and arith.bitcast
    // cannot reshape a tensor (tensors are lowered to linalg loops first).
    if (!isa<FloatType, VectorType>(op.getIn().getType()))
      return rewriter.notifyMatchFailure(op, "not a scalar or vector");
    auto sourceType = cast<FloatType>(getElementTypeOrSelf(op.getIn()));
    if (!sourceType.isF16() && !sourceType.isBF16() && !sourceType.isF32() &&
        !sourceType.isF64())
      return rewriter.notifyMatchFailure(op, "unsupported source type");
    if (std::optional<arith::RoundingMode> mode = op.getRoundingmode();
        mode && *mode != arith::RoundingMode::to_nearest_even)
      return rewriter.notifyMatchFailure(op, "not round to nearest even");

    Location loc = op.getLoc();
    ConstantBuilder cst(rewriter, loc, op.getIn().getType());
    const llvm::fltSemantics &sem = sourceType.getFloatSemantics();
    unsigned width = sourceType.getWidth();
    unsigned mantissa = APFloat::semanticsPrecision(sem) - 1;
    int bias = 1 - APFloat::semanticsMinExponent(sem);
    unsigned shift = mantissa - 3;
    Type intType = cst.get(rewriter.getIntegerType(width));
    Type i8Type = cst.get(rewriter.getI8Type());
    Type intScalar = rewriter.getIntegerType(width);
    auto bitsOf = [&](const APFloat &value) {
      return value.bitcastToAPInt().getZExtValue();
    };

    Value bits = arith::BitcastOp::create(rewriter, loc, intType, op.getIn());
    uint64_t signMask = uint64_t(1) << (width - 1);
    Value magnitude = arith::AndIOp::create(
        rewriter, loc, bits, cst.integer(intScalar, signMask - 1));

    // Normal range: round the mantissa to 3 bits and rebias the exponent.
    Value mantissaShifted = arith::ShRUIOp::create(
        rewriter, loc, magnitude, cst.integer(intScalar, shift));
    Value lowestKept = arith::AndIOp::create(rewriter, loc, mantissaShifted,
                                             cst.integer(intScalar, 1));
    Value rounded = arith::AddIOp::create(
        rewriter, loc,
        arith::AddIOp::create(
            rewriter, loc, magnitude,
            cst.integer(intScalar, (uint64_t(1) << (shift - 1)) - 1)),
        lowestKept);
    Value roundedShifted = arith::ShRUIOp::create(
        rewriter, loc, rounded, cst.integer(intScalar, shift));
    Value normal =
        arith::SubIOp::create(rewriter, loc, roundedShifted,
                              cst.integer(intScalar, uint64_t(bias - 7) << 3));

    // Subnormal range: let the float adder round to a multiple of 2^-9.
    APFloat magicValue = APFloat::getOne(sem);
    magicValue =
        scalbn(magicValue, int(mantissa) - 9, APFloat::rmNearestTiesToEven);
    Value absolute = arith::BitcastOp::create(rewriter, loc,
                                              op.getIn().getType(), magnitude);
    Value sum = arith::AddFOp::create(rewriter, loc, absolute,
                                      cst.floating(sourceType, magicValue));
    Value sumBits = arith::BitcastOp::create(rewriter, loc, intType, sum);
    Value subnormal = arith::SubIOp::create(
        rewriter, loc, sumBits, cst.integer(intScalar, bitsOf(magicValue)));

    APFloat smallestNormal =
        scalbn(APFloat::getOne(sem), -6, APFloat::rmNearestTiesToEven);
    Value isSubnormal = arith::CmpIOp::create(
        rewriter, loc, arith::CmpIPredicate::ult, magnitude,
        cst.integer(intScalar, bitsOf(smallestNormal)));
    Value result =
        arith::SelectOp::create(rewriter, loc, isSubnormal, subnormal, normal);

    // NaN in, or too large after rounding: NaN out.
    Value isNan = arith::CmpIOp::create(
        rewriter, loc, arith::CmpIPredicate::ugt, magnitude,
        cst.integer(intScalar, bitsOf(APFloat::getInf(sem))));
    Value tooLarge =
        arith::CmpIOp::create(rewriter, loc, arith::CmpIPredicate::ugt, result,
                              cst.integer(intScalar, 0x7E));
    Value isInvalid = arith::OrIOp::create(rewriter, loc, isNan, tooLarge);
    result = arith::SelectOp::create(rewriter, loc, isInvalid,
                                     cst.integer(intScalar, 0x7F), result);

    // Copy the sign into bit 7.
    Value sign = arith::ShRUIOp::create(rewriter, loc, bits,
                                        cst.integer(intScalar, width - 8));
    sign = arith::AndIOp::create(rewriter, loc, sign,
                                 cst.integer(intScalar, 0x80));
    result = arith::OrIOp::create(rewriter, loc, result, sign);
    Value narrow = arith::TruncIOp::create(rewriter, loc, i8Type, result);
    rewriter.replaceOpWithNewOp<arith::BitcastOp>(op, op.getType(), narrow);
    return success();
  }
};

struct NormExpandFp8CastsPass
    : public norm::impl::NormExpandFp8CastsBase<NormExpandFp8CastsPass> {
  void runOnOperation() override {
    // Nothing to expand in most modules: skip the rewrite driver (which
    // would visit, and try to fold, every op) unless a truncation to
    // f8E4M3FN is there.
    WalkResult found = getOperation()->walk([](arith::TruncFOp op) {
      return isa<Float8E4M3FNType>(getElementTypeOrSelf(op.getType()))
                 ? WalkResult::interrupt()
                 : WalkResult::advance();
    });
    if (!found.wasInterrupted())
      return;
    RewritePatternSet patterns(&getContext());
    populateExpandFp8CastsPatterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};
} // namespace

void mlir::norm::populateExpandFp8CastsPatterns(RewritePatternSet &patterns) {
  patterns.add<ExpandTruncFToF8E4M3FN>(patterns.getContext());
}
