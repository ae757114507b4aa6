//===- RowMath.h - The arithmetic of one row of a norm op -------*- C++ -*-===//
//
// What a norm op computes for one row, stated once for every lowering. Each
// function builds arith/math ops at the builder's insertion point, in
// statement order, on scalars of the compute type or on vectors of it: the
// linalg decomposition calls them on the scalars of a generic's body, the
// CPU lowering on vectors of W lanes, the GPU lowering on each thread's
// registers. Which elements are summed, in what order and where (generics,
// vector sweeps, shuffles and barriers) is each lowering's schedule; what is
// done with the elements and the sums is here.
//
// For a row h of N elements in the compute type (f32, or f64 for f64):
//
//   p    = h[0], or 0 if it is not finite       createFinitePivot
//   d    = sum(h - p) / N                        createPivoted, createOffset
//   mean = p + d                                 createMean
//   x    = (h - p) - d  (RMSNorm: x = h)         createCentred
//   q    = sum((x c)^2),  c = 1/sqrt(N)          createScaledSquare
//   rstd = 1/sqrt(q + eps), NaN if q is +inf     createRstd
//   y    = x rstd gamma + beta                   createNormalizedOutput
//   out  = round(y), or quantise(y / s)          createOutputConversion
//
// with h = round(input + residual) (createRoundedResidualSum) and the
// tiny-row rescue for rows whose squares are subnormal (TinyRowRescue). The
// rationale is in docs/Rationale.md ("Numerics of the reference").
//
// The gradients are written on the same values: xhat is createNormalized,
// wdy = gamma * dy is createGradientProduct, the per-row means of wdy and
// wdy * xhat are createRowMean of their sums (as the offset d is of the
// pivoted sum), and dx is createInputGradient.
//
// Where the lowerings deliberately build different IR for the same
// arithmetic, the caller says which form it wants: RsqrtKind for 1/sqrt,
// `arith::FastMathFlags` for the products and sums that the CPU lets LLVM
// contract into FMAs.
//
//===----------------------------------------------------------------------===//

#ifndef NORM_DIALECT_NORM_UTILS_ROWMATH_H
#define NORM_DIALECT_NORM_UTILS_ROWMATH_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/OpDefinition.h"
#include "llvm/ADT/APFloat.h"

#include <optional>

namespace mlir {
namespace norm {

//===----------------------------------------------------------------------===//
// Element types
//===----------------------------------------------------------------------===//

/// The element type statistics are accumulated in for an input of
/// `elementType`: f64 for f64, f32 for everything narrower.
Type getComputeElementType(Type elementType);

/// Whether `elementType` is a quantised output type: `i8` or `f8E4M3FN`
/// (both need an `out_scale`).
bool isQuantizedElementType(Type elementType);

/// Whether the lowerings can load, store and compute from elements of
/// `elementType`: f16, bf16, f32 and f64, and for the output of an op with
/// an out_scale (`isQuantizedOutput`) also the quantised types. Other float
/// types (f8 inputs, tf32, f80) would leave conversions that do not lower to
/// LLVM.
bool isLowerableElementType(Type elementType, bool isQuantizedOutput = false);

//===----------------------------------------------------------------------===//
// Constants and conversions
//===----------------------------------------------------------------------===//

/// A constant `value` of the float type, or float vector type (a splat),
/// `type`.
Value createFloatConstant(OpBuilder &b, Location loc, Type type, double value);

/// Converts the float scalar or vector `value` to the element type
/// `elementType` (the same shape): `arith.extf` or `arith.truncf`, and for
/// two formats of one width (f16 <-> bf16) both, through f32, which rounds
/// once. Returns `value` when it already has that element type.
Value createFloatConversion(OpBuilder &b, Location loc, Value value,
                            Type elementType);

/// The constant `epsilon` as the statistics use it: rounded to nearest even
/// in `computeType`.
FloatAttr getEpsilonAttr(Type computeType, llvm::APFloat epsilon);

/// eps in `computeType`: the run-time float scalar `epsValue` converted, or
/// when it is null a constant of `epsilon` (getEpsilonAttr).
Value createEpsilon(OpBuilder &b, Location loc, Type computeType,
                    Value epsValue, std::optional<llvm::APFloat> epsilon);

/// The static row length `rowSize` in `computeType`.
FloatAttr getRowSizeAttr(Type computeType, int64_t rowSize);

/// N in `computeType` from the normalised sizes: a constant when they are
/// all static, otherwise their product (each size times the next, from the
/// first) converted with createRowSizeFromIndex.
Value createRowSize(OpBuilder &b, Location loc, Type computeType,
                    ArrayRef<OpFoldResult> normalizedSizes);

/// N in `computeType` from the index `numElements` (`arith.index_castui` to
/// i64, then `arith.uitofp`).
Value createRowSizeFromIndex(OpBuilder &b, Location loc, Type computeType,
                             Value numElements);

/// c = 1/sqrt(N) from N (`rowSize`, in the compute type): a constant 1, its
/// `math.sqrt`, and the division.
Value createInvSqrtRowSize(OpBuilder &b, Location loc, Value rowSize);

/// c = 1/sqrt(N) for the static row length `rowSize`, folded: the same
/// correctly rounded square root and division in `computeType` as
/// createInvSqrtRowSize.
FloatAttr getInvSqrtRowSizeAttr(Type computeType, int64_t rowSize);

//===----------------------------------------------------------------------===//
// Statistics
//===----------------------------------------------------------------------===//

/// The pivot p of a row whose first element is `first`: `first` when it is
/// finite, otherwise 0, so that the pivoted sums of a row holding inf give
/// its IEEE mean rather than inf - inf (docs/Rationale.md, "Non-finite
/// rows").
Value createFinitePivot(OpBuilder &b, Location loc, Value first);

/// h - p, the term of the pivoted sum.
Value createPivoted(OpBuilder &b, Location loc, Value h, Value pivot);

/// d = sum(h - p) / N, the mean's offset from the pivot.
Value createOffset(OpBuilder &b, Location loc, Value pivotedSum, Value rowSize);

/// d = sum(h - p) * (1/N), for a lowering that multiplies by 1/N
/// (`invRowSize`) rather than divides (the GPU, where a division is about
/// 20 instructions): within an ulp or two of createOffset, and exact where
/// N is a power of two.
Value createOffsetFromReciprocal(OpBuilder &b, Location loc, Value pivotedSum,
                                 Value invRowSize);

/// 1/N for the static row length `rowSize`, correctly rounded in
/// `computeType`.
FloatAttr getInvRowSizeAttr(Type computeType, int64_t rowSize);

/// 1/N from c = 1/sqrt(N) (`invSqrtRowSize`) when N is known only at run
/// time: c * c, within a few ulp, without a division.
Value createInvRowSizeFromInvSqrt(OpBuilder &b, Location loc,
                                  Value invSqrtRowSize);

/// sum / N, the mean of a row from its sum in the compute type (d from the
/// pivoted sum; mean(wdy) and mean(wdy * xhat) for the gradients).
Value createRowMean(OpBuilder &b, Location loc, Value sum, Value rowSize);

/// mean = p + d. Only stored: the elements are centred by p and d in turn
/// (createCentred), never by the rounded mean.
Value createMean(OpBuilder &b, Location loc, Value pivot, Value offset);

/// The centred element x = (h - p) - d, or h itself when `pivot` is null
/// (RMSNorm), or h - p when `offset` is null (a saved mean taken as the
/// pivot, by the gradients). Centring by p and then d keeps h - mean exact to
/// the last bit of d even when the mean is large.
Value createCentred(OpBuilder &b, Location loc, Value h, Value pivot,
                    Value offset);

/// x c, the element scaled by c = 1/sqrt(N) before it is squared; with the
/// tiny-row rescue's `rescueScale` k, (x k) c.
Value createScaledElement(OpBuilder &b, Location loc, Value x,
                          Value invSqrtRowSize, Value rescueScale = Value());

/// x c for the centred element x = (h - p) - d, from h - p (`pivoted`) and
/// d c (`scaledOffset`) in one rounding: fma(h - p, c, -(d c)), where
/// createScaledElement of createCentred rounds twice. The GPU's held rows
/// keep x c in registers: it is squared for the variance and scaled by
/// rstd / c (createUnscaledRstd) for the output.
Value createScaledCentred(OpBuilder &b, Location loc, Value pivoted,
                          Value invSqrtRowSize, Value scaledOffset);

/// t * t, with `flags` (the CPU passes `contract` so that the square and
/// its accumulation may become an FMA).
Value createSquare(OpBuilder &b, Location loc, Value t,
                   arith::FastMathFlags flags = arith::FastMathFlags::none);

/// (x c)^2, or ((x k) c)^2 given `rescueScale`: a term of the scaled sum of
/// squares, whose sum is the variance (mean square) itself and stays in
/// range for |x| up to ~1e19 in f32.
Value createScaledSquare(
    OpBuilder &b, Location loc, Value x, Value invSqrtRowSize,
    Value rescueScale = Value(),
    arith::FastMathFlags flags = arith::FastMathFlags::none);

/// The variance from the pivoted sums of one sweep, and whether to trust it.
struct OnePassVariance {
  /// q_p - d^2, with q_p = sum(((h - p) c)^2).
  Value variance;
  /// The i1 `d^2 <= 15/16 q_p`: the subtraction lost at most 4 bits (the
  /// pivot lies within ~3.9 standard deviations of the mean); false for NaN.
  Value isAccurate;
};

/// The one-pass variance from `pivotedSquares` (q_p) and the offset d.
OnePassVariance createOnePassVariance(OpBuilder &b, Location loc,
                                      Value pivotedSquares, Value offset);

//===----------------------------------------------------------------------===//
// rstd
//===----------------------------------------------------------------------===//

/// How a lowering spells 1/sqrt(v). Both forms compute the same value once
/// lowered: the CPU pipeline lowers `math.rsqrt` to `llvm.sqrt` and a
/// division, and the GPU pipeline (`norm-gpu-sqrt-to-llvm`) lowers either
/// form to `llvm.sqrt` and a division, NVPTX's correctly rounded `sqrt.rn`
/// and `div.rn`.
enum class RsqrtKind {
  /// `math.rsqrt` (the reference decomposition and the CPU lowering).
  Rsqrt,
  /// `math.sqrt`, then `arith.divf` (the GPU lowering): the kernel says
  /// what the PTX does, without relying on `norm-gpu-sqrt-to-llvm` to keep
  /// `convert-gpu-to-nvvm` from making `math.rsqrt` a libdevice call
  /// (`__nv_rsqrtf`, which is not correctly rounded).
  SqrtThenDivide,
  /// `math.rsqrt` with `afn` (the GPU lowering for f32):
  /// `norm-gpu-sqrt-to-llvm` makes it NVPTX's `rsqrt.approx.f32`, one
  /// instruction within 2 ulp (as CUDA documents `rsqrtf`), where
  /// `sqrt.rn` and `div.rn` take about 20 and two slow paths. f64 keeps
  /// the correctly rounded form.
  Approximate,
};

/// 1/sqrt(`x`) in the form `kind`.
Value createReciprocalSqrt(OpBuilder &b, Location loc, Value x, RsqrtKind kind);

/// rstd = 1/sqrt(q + eps) from the scaled sum of squares q
/// (`sumOfSquares`), or NaN when q is +inf: only a non-finite element can
/// make it overflow, and for RMSNorm rstd = 0 would silently zero the
/// row's finite elements.
Value createRstd(OpBuilder &b, Location loc, Value sumOfSquares, Value eps,
                 RsqrtKind kind);

/// The constants of the tiny-row rescue. A row whose centred elements are
/// all far below the square root of the compute type's smallest normal
/// number (|x| < ~1e-19 in f32) has squares that are subnormal, with few
/// significant bits, and a sum of squares q that is off by up to ~1e-3
/// relative. Where q < `threshold` and eps < `epsBound` (a larger eps swamps
/// any error in such a q), the lowerings sum the squares again with every
/// centred element multiplied by `scale`, a power of two (so exactly), to
/// get q', and take rstd = scale / sqrt(q' + eps * scale * scale). Nothing
/// overflows: q < threshold bounds every scaled element, and eps < epsBound
/// bounds eps * scale^2. For rows of up to 2^26 elements, a q of at least
/// `threshold` is accurate to the compute type's precision as computed.
struct TinyRowRescue {
  llvm::APFloat threshold, scale, epsBound;
};

/// The tiny-row rescue's constants in `computeType`, or std::nullopt when
/// eps is the constant `epsilon` and at least `epsBound` there (as every
/// usual epsilon is), so that no row can need it. A run-time eps (no
/// `epsilon`) may always need it.
std::optional<TinyRowRescue>
getTinyRowRescue(Type computeType, std::optional<llvm::APFloat> epsilon);

/// The tiny-row rescue's row-invariant values, in the type of eps: its
/// scale and threshold, eps * scale^2, and for a run-time eps the i1
/// `eps < epsBound` (null for a constant eps, which getTinyRowRescue has
/// checked).
struct TinyRowRescueValues {
  Value scale, threshold, scaledEps, epsIsSmall;
};

/// Creates the values of `rescue` for `eps` at the insertion point.
TinyRowRescueValues createTinyRowRescueValues(OpBuilder &b, Location loc,
                                              const TinyRowRescue &rescue,
                                              Value eps, bool runTimeEps);

/// The i1 that a row whose scaled sum of squares is `sumOfSquares` takes the
/// rescue.
Value createIsTinyRow(OpBuilder &b, Location loc,
                      const TinyRowRescueValues &rescue, Value sumOfSquares);

/// The rescued rstd = scale / sqrt(q' + eps scale^2), from q' the scaled sum
/// of squares of the centred elements times the rescue's scale
/// (`rescaledSumOfSquares`), in the form `kind` (Rsqrt, Approximate:
/// scale * rsqrt(..); SqrtThenDivide: scale / sqrt(..)).
Value createRescuedRstd(OpBuilder &b, Location loc,
                        const TinyRowRescueValues &rescue,
                        Value rescaledSumOfSquares, RsqrtKind kind);

/// rstd / c = rstd * sqrt(N), what an element already scaled by c
/// (createScaledCentred) is multiplied by: `rstd * (N * c)`, with sqrt(N)
/// as N * c (a constant when N is).
Value createUnscaledRstd(OpBuilder &b, Location loc, Value rstd, Value rowSize,
                         Value invSqrtRowSize);

//===----------------------------------------------------------------------===//
// The output
//===----------------------------------------------------------------------===//

/// What a row is normalised with: the mean as pivot + offset (both null for
/// RMSNorm) and rstd, scalars of the compute type or vectors of it.
struct RowStatistics {
  Value pivot, offset, rstd;
};

/// x * rstd, the normalised element (xhat) of the row element `h`.
Value createNormalized(OpBuilder &b, Location loc, Value h,
                       const RowStatistics &statistics);

/// y * gamma, `gamma` converted to `y`'s element type first; with `flags`.
Value createGammaProduct(
    OpBuilder &b, Location loc, Value y, Value gamma,
    arith::FastMathFlags flags = arith::FastMathFlags::none);

/// y + beta, `beta` converted to `y`'s element type first; with `flags`.
Value createBetaSum(OpBuilder &b, Location loc, Value y, Value beta,
                    arith::FastMathFlags flags = arith::FastMathFlags::none);

/// The output in the compute type, x * rstd * gamma + beta, for the row
/// element `h`; `gamma` and `beta` (in their storage type) may be null.
/// `flags` go on the gamma product and the beta sum.
Value createNormalizedOutput(
    OpBuilder &b, Location loc, Value h, const RowStatistics &statistics,
    Value gamma, Value beta,
    arith::FastMathFlags flags = arith::FastMathFlags::none);

/// x + r in `computeType` (both converted to it first), before it is
/// rounded to the input type.
Value createResidualSum(OpBuilder &b, Location loc, Value x, Value r,
                        Type computeType);

/// h = round(x + r): the residual sum rounded once to `inputElementType`,
/// what residual_out holds and what is normalised.
Value createRoundedResidualSum(OpBuilder &b, Location loc, Value x, Value r,
                               Type computeType, Type inputElementType);

/// Quantises `y` (compute type) by the scale `outScale` (the same type and
/// shape) to `outputElementType`: q = y / s, then for i8 round half to
/// even, clamp to [-128, 127] (`maximumf`/`minimumf`, which propagate NaN),
/// NaN to 0 and `fptosi`; for f8E4M3FN clamp to [-448, 448] and one
/// rounding `truncf` (NaN stays NaN). Saturating first puts every input,
/// infinities included, in range of the conversion.
Value createQuantized(OpBuilder &b, Location loc, Value y, Value outScale,
                      Type outputElementType);

//===----------------------------------------------------------------------===//
// Dynamic quantisation
//===----------------------------------------------------------------------===//
//
// With scales computed from the output itself (per row, or per group of G
// consecutive elements of a row), for each row or group g:
//
//   amax     = max over g of |y|      createAbsMaxStep, then a max reduction
//   scale[g] = min(max(amax / qmax, min_scale), scale_ub)
//                                     createDynamicScale (in f32, stored)
//   out      = quantise(y / scale[g]) createQuantized
//
// qmax is the quantised type's largest magnitude (getQuantizedMaximum). A
// NaN in the group makes amax and the scale NaN (maximumf propagates it),
// so its elements quantise as NaN does.

/// qmax of the quantised type `outputElementType`: 127 for i8, 448 for
/// f8E4M3FN.
double getQuantizedMaximum(Type outputElementType);

/// max(`amax`, |`y`|), NaN-propagating (`math.absf`, `arith.maximumf`).
Value createAbsMaxStep(OpBuilder &b, Location loc, Value amax, Value y);

/// The f32 scale of a row or group whose largest magnitude is the scalar
/// `amax` (compute type): min(max(amax / qmax, minScale), scaleUb), with
/// no floor when `minScale` is absent and no bound when `scaleUb` (a float
/// scalar) is null. Computed in f32, the type it is stored in, so that the
/// stored scale is the one the elements are divided by.
Value createDynamicScale(OpBuilder &b, Location loc, Value amax,
                         Type outputElementType,
                         std::optional<llvm::APFloat> minScale, Value scaleUb);

/// The output element of `y`: quantised by `outScale` when it is given,
/// otherwise rounded to `outputElementType` (createFloatConversion).
Value createOutputConversion(OpBuilder &b, Location loc, Value y,
                             Type outputElementType, Value outScale);

//===----------------------------------------------------------------------===//
// Gradients
//===----------------------------------------------------------------------===//
//
// For the gradient dy of a row's output, with xhat the normalised element
// (createNormalized, from the recomputed statistics or from a saved mean as
// the pivot) and wdy = gamma * dy:
//
//   dx     = rstd (wdy - mean(wdy) - xhat mean(wdy xhat))   LayerNorm
//   dx     = rstd (wdy - xhat mean(wdy xhat))               RMSNorm
//   dgamma = sum over rows of dy xhat,  dbeta = sum over rows of dy
//
// with the row means createRowMean of sums in the compute type.

/// wdy = gamma * dy (`gamma` converted to dy's type), or dy when `gamma` is
/// null; with `flags`.
Value createGradientProduct(
    OpBuilder &b, Location loc, Value dy, Value gamma,
    arith::FastMathFlags flags = arith::FastMathFlags::none);

/// dx = rstd * ((wdy - mean(wdy)) - xhat * mean(wdy * xhat)) for one
/// element, from the row's `meanGradient` (mean(wdy), null for RMSNorm) and
/// `meanGradientDotNormalized` (mean(wdy * xhat)); `flags` on the products.
Value createInputGradient(
    OpBuilder &b, Location loc, Value wdy, Value xhat, Value rstd,
    Value meanGradient, Value meanGradientDotNormalized,
    arith::FastMathFlags flags = arith::FastMathFlags::none);

} // namespace norm
} // namespace mlir

#endif // NORM_DIALECT_NORM_UTILS_ROWMATH_H
