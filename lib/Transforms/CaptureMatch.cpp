//===- CaptureMatch.cpp - Recognise a norm in the expression view ---------===//
//
// The matcher proves, on the expression view, that a value is
//
//   LayerNorm:  ((h - mean(h)) * (var(h) + eps)^(-1/2)) * gamma + beta
//   RMSNorm:    (h * (mean(h^2) + eps)^(-1/2)) * gamma
//
// where mean(e) is a `Reduce` of e over exactly the normalised trailing dims
// scaled by 1/N, N is the product of those dims' sizes (a constant checked
// against the static shape, or counts read from `tensor.dim` of the same
// dims), var(h) is mean((h - mean(h))^2) or mean(h^2) - mean(h)^2 with both
// means of the same h, and eps is a positive constant or a run-time scalar
// added inside the power -1/2. gamma and beta vary only along the normalised
// dims. Products are flattened into factors with exponents first, so every
// association and order of the multiplications, divisions, reciprocals,
// square roots and powers is one case. h itself is compared as a multiset
// of factors (it may be a product, e.g. the output of another norm), and
// must in the end be one value the IR holds (or a residual add of two).
// Casts are looked through in the statistics (their precision is checked
// separately, CaptureForms.cpp), and truncations at the output no narrower
// than the output type: the op rounds once at the end.
//
//===----------------------------------------------------------------------===//

#include "CaptureMatcher.h"

#include "mlir/IR/AffineExpr.h"
#include "mlir/IR/Operation.h"
#include "mlir/IR/TypeUtilities.h"
#include "llvm/ADT/APFloat.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/ADT/SmallPtrSet.h"

#include <cmath>

using namespace mlir;
using namespace mlir::norm::capture;
using namespace mlir::norm::capture::detail;

bool Matcher::flatten(Expr *e, double exponent, CastMode mode,
                      SmallVectorImpl<Factor> &factors) {
  switch (e->getKind()) {
  case ExprKind::Mul:
    if (isInteger(exponent))
      return flatten(e->getLhs(), exponent, mode, factors) &&
             flatten(e->getRhs(), exponent, mode, factors);
    break;
  case ExprKind::Pow:
    // (b^p)^q = b^(pq) for any real b when q is an integer or p odd.
    if (isInteger(exponent) || isOddInteger(e->getNumber()))
      return flatten(e->getOperand(), e->getNumber() * exponent, mode, factors);
    break;
  case ExprKind::Ext:
    return flatten(e->getOperand(), exponent, mode, factors);
  case ExprKind::Trunc:
    if (mode == CastMode::Any) {
      noteTruncation(e->getType());
      return flatten(e->getOperand(), exponent, mode, factors);
    }
    return flatten(e->getOperand(), exponent, mode, factors);
  default:
    break;
  }
  for (Factor &factor : factors) {
    if (factor.base == e) {
      factor.exponent += exponent;
      return true;
    }
  }
  if (factors.size() >= kMaxFactors)
    return false;
  factors.push_back({e, exponent});
  return true;
}

bool Matcher::flattenAll(Expr *e, CastMode mode,
                         SmallVectorImpl<Factor> &factors) {
  if (!flatten(e, 1.0, mode, factors))
    return false;
  llvm::erase_if(factors, [](const Factor &f) { return f.exponent == 0.0; });
  return true;
}

LogicalResult Matcher::checkScale(ArrayRef<Factor> scale, uint64_t dims,
                                  double power) {
  double product = 1.0;
  unsigned precision = 53;
  SmallVector<double> dimExponents(rank, 0.0);
  for (const Factor &factor : scale) {
    Expr *base = factor.base;
    if (base->is(ExprKind::Constant)) {
      product *= std::pow(base->getNumber(), factor.exponent);
      precision = std::min(precision, precisionOf(base->getType()));
      continue;
    }
    product *=
        std::pow(static_cast<double>(base->getStaticCount()), factor.exponent);
    for (const DimRef &ref : base->getCountDims()) {
      std::optional<unsigned> dim = translator.resolveDim(ref.tensor, ref.dim);
      if (!dim)
        return fail("N reads a dim not tied to the normalised tensor");
      dimExponents[*dim] += factor.exponent;
    }
  }
  // N = (sizes of dims counted symbolically) * expected.
  double expected = 1.0;
  for (unsigned dim = 0; dim < rank; ++dim) {
    bool reduced = dims & (uint64_t(1) << dim);
    if (!reduced) {
      if (dimExponents[dim] != 0.0)
        return fail("N counts a dim that is not reduced");
      continue;
    }
    if (dimExponents[dim] == -power)
      continue;
    if (dimExponents[dim] != 0.0)
      return fail("N counts a reduced dim the wrong number of times");
    int64_t size = rootType.getDimSize(dim);
    if (ShapedType::isDynamic(size))
      return fail("N is a constant but a reduced dim is dynamic");
    expected *= static_cast<double>(size);
  }
  double error = std::fabs(product * std::pow(expected, power) - 1.0);
  double tolerance = power * std::ldexp(1.0, 2 - static_cast<int>(precision));
  if (error > tolerance)
    return fail("the divisor is not the number of reduced elements");
  return success();
}

FailureOr<MeanInfo> Matcher::analyzeMean(Expr *e) {
  SmallVector<Factor> factors;
  if (!flattenAll(e, CastMode::Statistics, factors))
    return fail("too many factors");
  Expr *sum = nullptr;
  double power = 0.0;
  SmallVector<Factor> scale;
  for (const Factor &factor : factors) {
    if (factor.base->is(ExprKind::Reduce)) {
      if (sum)
        return fail("a product of two sums is not a mean");
      sum = factor.base;
      power = factor.exponent;
      continue;
    }
    if (factor.base->is(ExprKind::Constant) ||
        factor.base->is(ExprKind::Count)) {
      scale.push_back(factor);
      continue;
    }
    return fail("a sum is scaled by something other than 1/N");
  }
  if (!sum || power < 1.0 || !isInteger(power))
    return fail("no sum");

  MeanInfo info;
  info.dims = sum->getReducedDims();
  info.power = power;
  info.summand = peelScale(sum->getOperand());
  SmallVector<Factor> summand;
  if (!flattenAll(sum->getOperand(), CastMode::Statistics, summand))
    return fail("too many factors");
  for (const Factor &factor : summand) {
    // Constants and counts are part of the scale; everything else, even if
    // constant along the sum (a row statistic), is part of what is averaged.
    if (isScale(factor.base))
      scale.push_back({factor.base, factor.exponent * power});
    else
      info.body.push_back(factor);
  }
  if (failed(checkScale(scale, info.dims, power)))
    return failure();
  return info;
}

LogicalResult Matcher::matchMeanOf(Expr *e, ArrayRef<Factor> h, uint64_t dims) {
  FailureOr<MeanInfo> mean = analyzeMean(e);
  if (failed(mean))
    return failure();
  if (mean->power != 1.0)
    return fail("the subtracted value is not a mean");
  if (h.empty() || !sameFactors(mean->body, h))
    return fail("the mean subtracted is the mean of another tensor");
  if (mean->dims != dims)
    return fail("the mean and the variance reduce different dims");
  return success();
}

FailureOr<Stats> Matcher::analyzeStats(Expr *s) {
  s = stripCasts(s);
  // mean(h^2) - mean(h)^2.
  if (s->is(ExprKind::Sub)) {
    FailureOr<MeanInfo> square = analyzeMean(s->getLhs());
    FailureOr<MeanInfo> mean = analyzeMean(s->getRhs());
    if (failed(square) || failed(mean))
      return failure();
    if (square->power != 1.0 || mean->power != 2.0)
      return fail("a difference under the root that is not E[h^2]-E[h]^2");
    if (!sameFactors(square->body, mean->body, 2.0))
      return fail("E[h^2] and E[h]^2 of different tensors");
    if (square->dims != mean->dims)
      return fail("E[h^2] and E[h]^2 reduce different dims");
    return Stats{true, mean->summand, mean->body, square->dims};
  }

  FailureOr<MeanInfo> meanSquare = analyzeMean(s);
  if (failed(meanSquare))
    return failure();
  if (meanSquare->power != 1.0)
    return fail("the value under the root is not a mean");
  ArrayRef<Factor> body = meanSquare->body;
  // mean((h - mean(h))^2).
  if (body.size() == 1 && body.front().exponent == 2.0 &&
      body.front().base->is(ExprKind::Sub)) {
    Expr *centred = body.front().base;
    Expr *h = stripCasts(centred->getLhs());
    SmallVector<Factor, 2> hFactors = factorsOf(h);
    StringRef rmsReason = reason;
    if (succeeded(matchMeanOf(centred->getRhs(), hFactors, meanSquare->dims)))
      return Stats{true, h, hFactors, meanSquare->dims};
    reason = rmsReason;
  }
  // The mean square of h: the summand is h*h or h^2 (so its factors are
  // those of h, exponents doubled).
  Expr *h = squareBase(meanSquare->summand);
  if (h)
    h = peelScale(h);
  SmallVector<Factor, 2> hFactors;
  if (h)
    hFactors = factorsOf(h);
  if (!h || hFactors.empty() || !sameFactors(body, hFactors, 2.0))
    return fail("the value under the root is not a mean of squares");
  return Stats{false, h, hFactors, meanSquare->dims};
}

bool Matcher::isIdentityRead(Expr *e) {
  if (!e->is(ExprKind::Load))
    return false;
  auto type = cast<ShapedType>(e->getValue().getType());
  if (type.getRank() != rank)
    return false;
  for (auto [dim, result] : llvm::enumerate(e->getMap().getResults())) {
    if (auto d = dyn_cast<AffineDimExpr>(result); d && d.getPosition() == dim)
      continue;
    if (type.getDimSize(dim) == 1 && rootType.getDimSize(dim) == 1)
      continue;
    return false;
  }
  return true;
}

Value Matcher::matchParam(Expr *e, unsigned axis) {
  if (!e->is(ExprKind::Load))
    return Value();
  auto type = cast<ShapedType>(e->getValue().getType());
  int64_t normalized = rank - axis;
  int64_t leading = type.getRank() - normalized;
  if (leading < 0)
    return Value();
  ArrayRef<AffineExpr> results = e->getMap().getResults();
  for (int64_t dim = 0; dim < leading; ++dim)
    if (type.getDimSize(dim) != 1)
      return Value();
  for (int64_t i = 0; i < normalized; ++i) {
    AffineExpr result = results[leading + i];
    if (auto d = dyn_cast<AffineDimExpr>(result);
        d && d.getPosition() == axis + i)
      continue;
    if (type.getDimSize(leading + i) == 1 && rootType.getDimSize(axis + i) == 1)
      continue;
    return Value();
  }
  return e->getValue();
}

LogicalResult Matcher::matchEpsilon(Expr *e, NormMatch &result) {
  while (e->is(ExprKind::Ext) || e->is(ExprKind::Trunc))
    e = e->getOperand();
  if (e->is(ExprKind::Constant)) {
    double value = e->getNumber();
    if (!std::isfinite(value) || value <= 0.0)
      return fail("epsilon is not a positive constant");
    result.epsilon = value;
    return success();
  }
  if (e->is(ExprKind::Scalar) && isa<FloatType>(e->getType())) {
    result.epsScalar = e->getValue();
    return success();
  }
  if (e->is(ExprKind::Load)) {
    auto type = cast<ShapedType>(e->getValue().getType());
    if (type.hasStaticShape() && type.getNumElements() == 1) {
      result.epsTensor = e->getValue();
      return success();
    }
  }
  return fail("the value added under the root is not a scalar epsilon");
}

LogicalResult Matcher::resolveInput(Expr *h, NormMatch &result) {
  auto compatible = [&](Value v) {
    auto type = cast<ShapedType>(v.getType());
    return type.getRank() == rank && succeeded(verifyCompatibleShape(
                                         type.getShape(), rootType.getShape()));
  };
  if (isIdentityRead(h)) {
    result.input = h->getValue();
    return success(compatible(result.input));
  }
  Value materialized = translator.getMaterializedValue(h);
  // A residual add in the addends' own type.
  if (h->is(ExprKind::Add) && isIdentityRead(h->getLhs()) &&
      isIdentityRead(h->getRhs()) && h->getLhs()->getType() == h->getType() &&
      h->getRhs()->getType() == h->getType()) {
    Value a = h->getLhs()->getValue();
    Value b = h->getRhs()->getValue();
    // Deterministic order: the value defined first is the input.
    auto position = [](Value v) -> std::pair<int, Operation *> {
      if (auto arg = dyn_cast<BlockArgument>(v))
        return {static_cast<int>(arg.getArgNumber()), nullptr};
      return {-1, v.getDefiningOp()};
    };
    auto [aArg, aOp] = position(a);
    auto [bArg, bOp] = position(b);
    bool swap = false;
    if (!aOp && !bOp)
      swap = bArg < aArg;
    else if (aOp && !bOp)
      swap = true;
    else if (aOp && bOp && aOp->getBlock() == bOp->getBlock())
      swap = bOp->isBeforeInBlock(aOp);
    if (swap)
      std::swap(a, b);
    if (a.getType() == b.getType() && compatible(a)) {
      result.input = a;
      result.residual = b;
      result.materializedInput = materialized;
      return success();
    }
  }
  if (materialized && compatible(materialized)) {
    result.input = materialized;
    return success();
  }
  // A widened copy of h that the IR holds (an f16 input extended to f32,
  // then reshaped): the op reads that; it computes in f32 anyway.
  MLIRContext *context = rootType.getContext();
  for (Type wide : {Type(Float32Type::get(context)),
                    Type(Float64Type::get(context))}) {
    if (precisionOf(wide) <= precisionOf(h->getType()))
      continue;
    Value copy = translator.getMaterializedValue(
        translator.getContext().ext(h, wide));
    if (copy && compatible(copy)) {
      result.input = copy;
      return success();
    }
  }
  return fail("the normalised tensor is not a value of the IR");
}

FailureOr<NormMatch> Matcher::matchAffine(Expr *product, Expr *shift) {
  unsigned savedTruncation = narrowestTruncation;
  llvm::scope_exit restore([&] { narrowestTruncation = savedTruncation; });
  SmallVector<Factor> factors;
  if (!flattenAll(product, CastMode::Any, factors))
    return fail("too many factors");

  // The inverse standard deviation is a factor (stats + eps)^(-1/2); there
  // may be several candidates (a norm of a norm), each is tried.
  bool sawCandidate = false;
  for (const Factor &factor : factors) {
    if (factor.exponent != -0.5)
      continue;
    sawCandidate = true;
    unsigned truncation = narrowestTruncation;
    FailureOr<NormMatch> result = matchWithInverseStd(factors, factor, shift);
    if (succeeded(result))
      return result;
    narrowestTruncation = truncation;
  }
  if (!sawCandidate)
    return fail("no (variance + eps)^(-1/2) factor");
  return failure();
}

FailureOr<NormMatch> Matcher::matchWithInverseStd(ArrayRef<Factor> factors,
                                                  const Factor &inverseStd,
                                                  Expr *shift) {
  Expr *radicand = stripCasts(inverseStd.base);
  if (!radicand->is(ExprKind::Add))
    return fail("no epsilon added under the square root");

  NormMatch result;
  FailureOr<Stats> stats = failure();
  for (auto [s, eps] :
       {std::make_pair(radicand->getLhs(), radicand->getRhs()),
        std::make_pair(radicand->getRhs(), radicand->getLhs())}) {
    NormMatch attempt;
    if (failed(matchEpsilon(eps, attempt)))
      continue;
    stats = analyzeStats(s);
    if (succeeded(stats)) {
      result = attempt;
      break;
    }
  }
  if (failed(stats))
    return failure();

  uint64_t dims = stats->dims;
  unsigned axis = llvm::countr_zero(dims);
  uint64_t all = rank == 64 ? ~uint64_t(0) : (uint64_t(1) << rank) - 1;
  if (dims == 0 || dims != (all & ~((uint64_t(1) << axis) - 1)))
    return fail("the reduced dims are not the trailing dims");
  result.isLayerNorm = stats->isLayerNorm;
  result.axis = axis;

  // The other factors: the centred (LayerNorm) or plain (RMSNorm) input,
  // gamma, constants that multiply to 1.
  Expr *centringMean = nullptr;
  SmallVector<Factor> rest;
  for (const Factor &factor : factors)
    if (&factor != &inverseStd)
      rest.push_back(factor);
  if (result.isLayerNorm) {
    auto centred = llvm::find_if(rest, [&](const Factor &f) {
      return f.exponent == 1.0 && f.base->is(ExprKind::Sub) &&
             sameFactors(factorsOf(stripCasts(f.base->getLhs())),
                         stats->factors);
    });
    if (centred == rest.end())
      return fail("the output does not scale the centred input");
    centringMean = centred->base->getRhs();
    if (failed(matchMeanOf(centringMean, stats->factors, dims)))
      return failure();
    rest.erase(centred);
  } else {
    for (const Factor &hFactor : stats->factors) {
      auto it = llvm::find_if(
          rest, [&](const Factor &f) { return f.base == hFactor.base; });
      if (it == rest.end() || it->exponent < hFactor.exponent)
        return fail("the output does not scale the normalised input");
      it->exponent -= hFactor.exponent;
    }
    llvm::erase_if(rest, [](const Factor &f) { return f.exponent == 0.0; });
  }

  double constant = 1.0;
  for (const Factor &factor : rest) {
    Expr *base = factor.base;
    if (base->is(ExprKind::Constant)) {
      constant *= std::pow(base->getNumber(), factor.exponent);
      continue;
    }
    if (factor.exponent == 1.0 && !result.gamma) {
      if (Value gamma = matchParam(base, axis)) {
        result.gamma = gamma;
        continue;
      }
    }
    return fail("an extra factor in the output");
  }
  if (std::fabs(constant - 1.0) > 1e-7)
    return fail("the output is scaled by a constant");

  if (shift) {
    if (!result.isLayerNorm)
      return fail("RMSNorm has no shift");
    while (shift->is(ExprKind::Ext) || shift->is(ExprKind::Trunc)) {
      if (shift->is(ExprKind::Trunc))
        noteTruncation(shift->getType());
      shift = shift->getOperand();
    }
    result.beta = matchParam(shift, axis);
    if (!result.beta)
      return fail("the added value is not a shift along the normalised dims");
  }
  if (result.gamma && result.beta &&
      getElementTypeOrSelf(result.gamma.getType()) !=
          getElementTypeOrSelf(result.beta.getType()))
    return fail("gamma and beta have different element types");

  if (narrowestTruncation < precisionOf(rootType.getElementType()))
    return fail("the chain rounds to a type narrower than its result");
  if (!stats->h)
    return fail("the normalised tensor is not one value");
  if (failed(resolveInput(stats->h, result)))
    return failure();

  SmallVector<Expr *, 2> statistics = {inverseStd.base};
  if (centringMean)
    statistics.push_back(centringMean);
  if (Expr *narrow = findNarrowStatistic(statistics, *stats)) {
    result.narrowStatistic = translator.getOrigin(narrow);
    result.narrowType = narrow->getType();
  }
  return result;
}

FailureOr<NormMatch> Matcher::match(Expr *root) {
  Expr *core = root;
  while (core->is(ExprKind::Ext) || core->is(ExprKind::Trunc)) {
    if (core->is(ExprKind::Trunc))
      noteTruncation(core->getType());
    core = core->getOperand();
  }
  if (core->is(ExprKind::Add) || core->is(ExprKind::Sub)) {
    StringRef firstReason;
    if (core->is(ExprKind::Add)) {
      for (auto [product, shift] :
           {std::make_pair(core->getLhs(), core->getRhs()),
            std::make_pair(core->getRhs(), core->getLhs())}) {
        FailureOr<NormMatch> result = matchAffine(product, shift);
        if (succeeded(result))
          return result;
        if (firstReason.empty())
          firstReason = reason;
      }
    }
    FailureOr<NormMatch> result = matchDistributed(core);
    if (succeeded(result))
      return result;
    reason = firstReason.empty() ? reason : firstReason;
    return failure();
  }
  return matchAffine(core, nullptr);
}

FailureOr<NormMatch> mlir::norm::capture::matchNorm(ExprTranslator &translator,
                                                    Expr *root,
                                                    ShapedType rootType,
                                                    StringRef &reason) {
  if (rootType.getRank() < 1 || rootType.getRank() > 64)
    return failure();
  Matcher matcher(translator, rootType);
  FailureOr<NormMatch> result = matcher.match(root);
  if (failed(result))
    reason = matcher.reason;
  return result;
}
