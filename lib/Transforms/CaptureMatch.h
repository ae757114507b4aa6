//===- CaptureMatch.h - Recognise a norm in the expression view -*- C++ -*-===//

#ifndef NORM_LIB_TRANSFORMS_CAPTUREMATCH_H
#define NORM_LIB_TRANSFORMS_CAPTUREMATCH_H

#include "CaptureExpr.h"

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/Support/LLVM.h"

#include <optional>

namespace mlir {
namespace norm {
namespace capture {

/// What a proven capture replaces the root by: the operands of one
/// `norm.layer_norm` / `norm.rms_norm` computing the root's value.
struct NormMatch {
  bool isLayerNorm = false;
  /// The first normalised dim.
  unsigned axis = 0;
  /// The tensor normalised, or the two addends of a residual add (the add
  /// in their own element type, as the op's `residual` rounds).
  Value input;
  Value residual;
  /// When the normalised tensor is a residual add that also exists as a
  /// value: that value (the builder uses it if something else needs it).
  Value materializedInput;
  /// Scale and shift, shaped like the normalised dims, possibly with extra
  /// leading unit dims (to be collapsed).
  Value gamma;
  Value beta;
  /// Exactly one of: a constant eps, a run-time scalar, a one-element
  /// tensor holding it.
  std::optional<double> epsilon;
  Value epsScalar;
  Value epsTensor;
  /// The first statistics arithmetic (sum, mean, variance, eps, root, or a
  /// rounding among them) done in a type narrower than f32, and that type;
  /// null if none. The op computes its statistics in f32 or wider, so
  /// capturing such a chain changes its numbers.
  Operation *narrowStatistic = nullptr;
  Type narrowType;
};

/// A statistic of a norm op that a chain of its own computes.
enum class RowStatistic { Mean, Rstd };

/// What a row statistic must be the statistic of: a norm over the trailing
/// dims from `axis` of the tensor whose expression is one of `inputs` (the
/// norm's input; with a residual, the sum in the input's type, and the
/// op's own residual sum result), with the norm's epsilon (a constant, as
/// rounded to any float type, or the run-time scalar `epsValue`).
struct StatisticTarget {
  bool isLayerNorm = false;
  unsigned axis = 0;
  SmallVector<Expr *, 2> inputs;
  std::optional<double> epsilon;
  Value epsValue;
};

/// Proves that `statistic`, the expression of a row-shaped value read along
/// the leading `target.axis` dims of a space of type `spaceType` (the
/// norm's input type), is the target's mean, or its rstd
/// `(var + eps)^(-1/2)` (var the biased variance for LayerNorm, the mean
/// square for RMSNorm; rsqrt, 1/sqrt, any association). Statistics computed
/// in a type narrower than f32 do not match: the op's are f32 or wider.
LogicalResult matchRowStatistic(ExprTranslator &translator, Expr *statistic,
                                ShapedType spaceType, RowStatistic kind,
                                const StatisticTarget &target);

/// What a proven gradient capture replaces the root by: the operands of a
/// `norm.layer_norm_grad` / `norm.rms_norm_grad` computing dx.
struct GradMatch {
  bool isLayerNorm = false;
  unsigned axis = 0;
  /// The values read as x, dy, gamma, the saved mean (LayerNorm) and rstd,
  /// and a residual gradient added into dx (null when absent). The row
  /// statistics may carry unit dims in the normalised positions.
  Value input, outputGrad, gamma, mean, rstd, residualGrad;
  /// When the statistics are recomputed from x (mean and rstd null): the
  /// epsilon of their root, a constant or a run-time scalar.
  std::optional<double> epsilon;
  Value epsScalar;
  /// Whether the root is dgamma (a sum over the rows), not dx.
  bool isGammaGrad = false;
};

/// Proves that `root`, the expression over a space of type `spaceType` (x's
/// shape) of a value read along the normalised dims only, is a norm's
/// dgamma: the sum over the row dims `rowDims` (the leading dims) of
/// dy * xhat, with saved or recomputed statistics (CaptureGrad.cpp). On
/// failure sets `reason`.
FailureOr<GradMatch> matchGammaGradient(ExprTranslator &translator, Expr *root,
                                        ShapedType spaceType, uint64_t rowDims,
                                        StringRef &reason);

/// Proves that `root`, the expression of a tensor of type `rootType` read at
/// the identity, is the input gradient of a LayerNorm or RMSNorm, with
/// saved statistics or statistics recomputed from x (CaptureGrad.cpp). On
/// failure sets `reason`.
FailureOr<GradMatch> matchInputGradient(ExprTranslator &translator, Expr *root,
                                        ShapedType rootType, StringRef &reason);

/// Proves that `root`, the expression of a tensor of type `rootType` read at
/// the identity, is a LayerNorm or RMSNorm of a tensor the IR holds, and
/// returns its operands. On failure sets `reason`.
FailureOr<NormMatch> matchNorm(ExprTranslator &translator, Expr *root,
                               ShapedType rootType, StringRef &reason);

} // namespace capture
} // namespace norm
} // namespace mlir

#endif // NORM_LIB_TRANSFORMS_CAPTUREMATCH_H
