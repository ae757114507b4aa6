//===- CaptureMatcher.h - The norm matcher's internals ----------*- C++ -*-===//
//
// The matcher of CaptureMatch.cpp (core proofs) and CaptureForms.cpp (the
// distributed output, the precision of statistics, row statistics for
// --norm-fuse): factors, means, statistics and the `Matcher` class. Private
// to lib/Transforms.
//
//===----------------------------------------------------------------------===//

#ifndef NORM_LIB_TRANSFORMS_CAPTUREMATCHER_H
#define NORM_LIB_TRANSFORMS_CAPTUREMATCHER_H

#include "CaptureMatch.h"

#include "mlir/IR/TypeUtilities.h"
#include "llvm/ADT/APFloat.h"

#include <cmath>

namespace mlir {
namespace norm {
namespace capture {
namespace detail {

/// `base ^ exponent`, one factor of a flattened product.
struct Factor {
  Expr *base;
  double exponent;
};

/// Which casts flattening looks through.
enum class CastMode {
  /// Statistics: every float cast (their precision is checked separately,
  /// see `findNarrowStatistic`).
  Statistics,
  /// Widening and narrowing casts, recording the narrowest (output path).
  Any,
};

/// The precision (f32's) below which statistics change the numbers of a
/// captured op: it computes them in f32 or wider.
inline constexpr unsigned kStatisticsPrecision = 24;

/// A sum over `dims` scaled to a mean, raised to `power`: `body` are the
/// factors of the summand that vary along `dims`, `summand` the summand
/// without the factors that do not.
struct MeanInfo {
  SmallVector<Factor, 2> body;
  Expr *summand = nullptr;
  uint64_t dims = 0;
  double power = 0.0;
};

/// The statistics under the square root.
struct Stats {
  bool isLayerNorm = false;
  /// The normalised tensor h (without widening casts), if it is one node,
  /// and the factors of h (compared as a multiset: h may be a product).
  Expr *h = nullptr;
  SmallVector<Factor, 2> factors;
  uint64_t dims = 0;
};

inline constexpr unsigned kMaxFactors = 16;

inline bool isInteger(double value) {
  return std::isfinite(value) && std::floor(value) == value;
}

inline bool isOddInteger(double value) {
  return isInteger(value) && std::fmod(std::fabs(value), 2.0) == 1.0;
}

inline unsigned precisionOf(Type type) {
  if (auto floatType = dyn_cast<FloatType>(type))
    return llvm::APFloat::semanticsPrecision(floatType.getFloatSemantics());
  return 53;
}

inline bool isCast(Expr *e) {
  return e->is(ExprKind::Ext) || e->is(ExprKind::Trunc);
}

inline Expr *stripCasts(Expr *e) {
  while (isCast(e))
    e = e->getOperand();
  return e;
}

/// Whether the two factor lists are the same multiset, `b`'s exponents
/// scaled by `scale`.
inline bool sameFactors(ArrayRef<Factor> a, ArrayRef<Factor> b,
                        double scale = 1.0) {
  if (a.size() != b.size())
    return false;
  return llvm::all_of(a, [&](const Factor &fa) {
    return llvm::any_of(b, [&](const Factor &fb) {
      return fa.base == fb.base && fa.exponent == fb.exponent * scale;
    });
  });
}

/// Whether `e` is a constant or an element count (part of a mean's 1/N).
inline bool isScale(Expr *e) {
  return e->is(ExprKind::Constant) || e->is(ExprKind::Count);
}

/// `e` without constant and count factors (and casts) at its top.
inline Expr *peelScale(Expr *e) {
  e = stripCasts(e);
  while (e->is(ExprKind::Mul)) {
    if (isScale(e->getLhs()))
      e = stripCasts(e->getRhs());
    else if (isScale(e->getRhs()))
      e = stripCasts(e->getLhs());
    else
      break;
  }
  return e;
}

/// `b` if `e` is `b^2` or `b*b`.
inline Expr *squareBase(Expr *e) {
  e = stripCasts(e);
  if (e->is(ExprKind::Pow) && e->getNumber() == 2.0)
    return stripCasts(e->getOperand());
  if (e->is(ExprKind::Mul) && e->getLhs() == e->getRhs())
    return stripCasts(e->getLhs());
  return nullptr;
}

class Matcher {
public:
  Matcher(ExprTranslator &translator, ShapedType rootType)
      : translator(translator), rootType(rootType),
        rank(static_cast<unsigned>(rootType.getRank())) {}

  FailureOr<NormMatch> match(Expr *root);
  /// See `matchRowStatistic`.
  LogicalResult matchStatistic(Expr *statistic, RowStatistic kind,
                               const StatisticTarget &target);

  StringRef reason = "not a norm";

private:
  LogicalResult fail(StringRef why) {
    reason = why;
    return failure();
  }

  /// Appends the factors of `e ^ exponent` to `factors`.
  bool flatten(Expr *e, double exponent, CastMode mode,
               SmallVectorImpl<Factor> &factors);
  bool flattenAll(Expr *e, CastMode mode, SmallVectorImpl<Factor> &factors);
  FailureOr<NormMatch> matchAffine(Expr *product, Expr *shift);
  /// The output as a sum of distributed terms, `x * s - m * s (+ beta)`.
  FailureOr<NormMatch> matchDistributed(Expr *core);
  FailureOr<NormMatch> matchWithInverseStd(ArrayRef<Factor> factors,
                                           const Factor &inverseStd,
                                           Expr *shift);
  FailureOr<MeanInfo> analyzeMean(Expr *e);
  LogicalResult checkScale(ArrayRef<Factor> scale, uint64_t dims, double power);
  FailureOr<Stats> analyzeStats(Expr *s);
  /// Succeeds if `e` is the mean over `dims` of the product of `h`.
  LogicalResult matchMeanOf(Expr *e, ArrayRef<Factor> h, uint64_t dims);
  /// The factors of `e` (casts looked through).
  SmallVector<Factor, 2> factorsOf(Expr *e) {
    SmallVector<Factor, 2> factors;
    if (!flattenAll(e, CastMode::Statistics, factors))
      factors.clear();
    return factors;
  }
  /// The node of the statistics `roots` (not looking into the normalised
  /// tensor) computed in a type narrower than f32 whose op comes first in
  /// the program, if any.
  Expr *findNarrowStatistic(ArrayRef<Expr *> roots, const Stats &stats);
  Value matchParam(Expr *e, unsigned axis);
  LogicalResult matchEpsilon(Expr *e, NormMatch &result);
  LogicalResult resolveInput(Expr *h, NormMatch &result);
  bool isIdentityRead(Expr *e);
  void noteTruncation(Type type) {
    narrowestTruncation = std::min(narrowestTruncation, precisionOf(type));
  }

  ExprTranslator &translator;
  ShapedType rootType;
  unsigned rank;
  unsigned narrowestTruncation = ~0u;
};

} // namespace detail
} // namespace capture
} // namespace norm
} // namespace mlir

#endif // NORM_LIB_TRANSFORMS_CAPTUREMATCHER_H
