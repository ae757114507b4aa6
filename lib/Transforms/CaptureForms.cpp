//===- CaptureForms.cpp - Other forms the norm matcher proves -------------===//
//
// Beyond the core proof of CaptureMatch.cpp: the precision of a chain's
// statistics, the distributed output `x * s - m * s + beta`, and row
// statistics (a mean or rstd computed by a chain of its own, for
// --norm-fuse).
//
//===----------------------------------------------------------------------===//

#include "CaptureMatcher.h"

#include "mlir/IR/Operation.h"
#include "llvm/ADT/SmallPtrSet.h"

using namespace mlir;
using namespace mlir::norm::capture;
using namespace mlir::norm::capture::detail;

/// Whether `a` comes before `b` in the program (both in one function).
static bool isBefore(Operation *a, Operation *b) {
  Region *region = a->getParentRegion();
  while (region && !region->isAncestor(b->getParentRegion()))
    region = region->getParentRegion();
  if (!region || !region->hasOneBlock())
    return false;
  Block &block = region->front();
  Operation *ancestorA = block.findAncestorOpInBlock(*a);
  Operation *ancestorB = block.findAncestorOpInBlock(*b);
  if (ancestorA != ancestorB)
    return ancestorA->isBeforeInBlock(ancestorB);
  return a->getBlock() == b->getBlock() && a->isBeforeInBlock(b);
}

Expr *Matcher::findNarrowStatistic(ArrayRef<Expr *> roots, const Stats &stats) {
  Expr *first = nullptr;
  SmallVector<Expr *> worklist(roots);
  llvm::SmallPtrSet<Expr *, 32> seen;
  while (!worklist.empty()) {
    Expr *e = worklist.pop_back_val();
    if (!seen.insert(e).second || e == stats.h)
      continue;
    bool check = true;
    switch (e->getKind()) {
    case ExprKind::Constant:
    case ExprKind::Scalar:
    case ExprKind::Load:
    case ExprKind::Count:
      continue;
    case ExprKind::Ext:
      check = false;
      break;
    case ExprKind::Mul:
    case ExprKind::Pow:
      // The normalised tensor itself may be a product (a norm's output).
      if (sameFactors(factorsOf(e), stats.factors))
        continue;
      break;
    default:
      break;
    }
    // The narrow op that comes first in the program is the one named.
    if (check && precisionOf(e->getType()) < kStatisticsPrecision) {
      Operation *op = translator.getOrigin(e);
      Operation *firstOp = first ? translator.getOrigin(first) : nullptr;
      if (!first || (op && (!firstOp || isBefore(op, firstOp))))
        first = e;
    }
    if (Expr *lhs = e->getLhs())
      worklist.push_back(lhs);
    if (Expr *rhs = e->getRhs())
      worklist.push_back(rhs);
  }
  return first;
}

/// Appends the additive terms of `e` (through `+`, `-` and negation) with
/// their signs to `terms`; false if there are more than `kMaxTerms`.
static bool collectTerms(Expr *e, double sign,
                         SmallVectorImpl<std::pair<Expr *, double>> &terms) {
  constexpr unsigned kMaxTerms = 4;
  if (e->is(ExprKind::Add))
    return collectTerms(e->getLhs(), sign, terms) &&
           collectTerms(e->getRhs(), sign, terms);
  if (e->is(ExprKind::Sub))
    return collectTerms(e->getLhs(), sign, terms) &&
           collectTerms(e->getRhs(), -sign, terms);
  if (e->is(ExprKind::Mul) && e->getRhs()->isConstant(-1.0))
    return collectTerms(e->getLhs(), -sign, terms);
  if (e->is(ExprKind::Mul) && e->getLhs()->isConstant(-1.0))
    return collectTerms(e->getRhs(), -sign, terms);
  if (terms.size() >= kMaxTerms)
    return false;
  terms.push_back({e, sign});
  return true;
}

FailureOr<NormMatch> Matcher::matchDistributed(Expr *core) {
  // x * s - m * s + beta, the form of tf.nn.batch_normalization (Keras'
  // LayerNormalization): the two terms sharing the factors s are
  // (x - m) * s, which matchAffine then proves a norm of; the third is the
  // shift. Exact in real arithmetic; the chain's own x * s - m * s cancels
  // where the op's centring does not.
  SmallVector<std::pair<Expr *, double>> terms;
  if (!collectTerms(core, 1.0, terms) || terms.size() < 2 || terms.size() > 3)
    return fail("not a sum of a scaled input and a scaled mean");
  ExprContext &ctx = translator.getContext();
  for (unsigned i = 0; i < terms.size(); ++i) {
    for (unsigned j = 0; j < terms.size(); ++j) {
      if (i == j || terms[i].second != 1.0 || terms[j].second != -1.0)
        continue;
      SmallVector<Factor> a, b;
      if (!flattenAll(terms[i].first, CastMode::Any, a) ||
          !flattenAll(terms[j].first, CastMode::Any, b))
        continue;
      // The shared factors s, and what is left of each term.
      SmallVector<Factor> shared;
      for (Factor &fa : a) {
        auto it = llvm::find_if(b, [&](const Factor &fb) {
          return fb.base == fa.base && fb.exponent == fa.exponent;
        });
        if (it == b.end())
          continue;
        shared.push_back(fa);
        b.erase(it);
        fa.exponent = 0.0;
      }
      llvm::erase_if(a, [](const Factor &f) { return f.exponent == 0.0; });
      if (shared.empty() || a.empty() || b.empty())
        continue;
      auto product = [&](ArrayRef<Factor> factors) {
        Expr *e = nullptr;
        for (const Factor &f : factors) {
          Expr *term = ctx.pow(f.base, f.exponent);
          e = e ? ctx.mul(e, term) : term;
        }
        return e;
      };
      // In statement order: nodes are uniqued by address, and C++ leaves
      // the order of a call's arguments unspecified.
      Expr *scaledInput = product(a);
      Expr *scaledMean = product(b);
      Expr *scale = product(shared);
      Expr *scaled = ctx.mul(ctx.sub(scaledInput, scaledMean), scale);
      Expr *shift = nullptr;
      if (terms.size() == 3) {
        const auto &rest = terms[3 - i - j];
        if (rest.second != 1.0)
          continue;
        shift = rest.first;
      }
      unsigned truncation = narrowestTruncation;
      FailureOr<NormMatch> result = matchAffine(scaled, shift);
      if (succeeded(result))
        return result;
      narrowestTruncation = truncation;
    }
  }
  return failure();
}

LogicalResult Matcher::matchStatistic(Expr *statistic, RowStatistic kind,
                                      const StatisticTarget &target) {
  uint64_t all = rank == 64 ? ~uint64_t(0) : (uint64_t(1) << rank) - 1;
  uint64_t normalized = all & ~((uint64_t(1) << target.axis) - 1);
  auto isTargetInput = [&](ArrayRef<Factor> h) {
    return llvm::any_of(target.inputs, [&](Expr *input) {
      return sameFactors(factorsOf(input), h);
    });
  };
  auto checkPrecision = [&](Expr *root, const Stats &stats) {
    if (findNarrowStatistic({root}, stats))
      return fail("statistics narrower than f32");
    return success();
  };

  if (kind == RowStatistic::Mean) {
    FailureOr<MeanInfo> mean = analyzeMean(statistic);
    if (failed(mean))
      return failure();
    if (mean->power != 1.0 || mean->dims != normalized ||
        !isTargetInput(mean->body))
      return fail("not the mean of the norm's input");
    Stats stats{true, mean->summand, mean->body, mean->dims};
    return checkPrecision(statistic, stats);
  }

  // rstd: one factor (stats + eps)^(-1/2), nothing else but a unit constant.
  SmallVector<Factor> factors;
  if (!flattenAll(statistic, CastMode::Statistics, factors))
    return fail("too many factors");
  double constant = 1.0;
  Expr *radicand = nullptr;
  for (const Factor &factor : factors) {
    if (factor.base->is(ExprKind::Constant)) {
      constant *= std::pow(factor.base->getNumber(), factor.exponent);
      continue;
    }
    if (factor.exponent != -0.5 || radicand)
      return fail("not an inverse square root");
    radicand = stripCasts(factor.base);
  }
  if (!radicand || radicand->getKind() != ExprKind::Add ||
      std::fabs(constant - 1.0) > 1e-7)
    return fail("not an inverse square root of a sum");
  for (auto [s, eps] :
       {std::make_pair(radicand->getLhs(), radicand->getRhs()),
        std::make_pair(radicand->getRhs(), radicand->getLhs())}) {
    NormMatch epsMatch;
    if (failed(matchEpsilon(eps, epsMatch)))
      continue;
    bool sameEps =
        target.epsilon
            ? epsMatch.epsilon &&
                  std::fabs(*epsMatch.epsilon - *target.epsilon) <=
                      1e-3 * *target.epsilon
            : epsMatch.epsScalar && epsMatch.epsScalar == target.epsValue;
    if (!sameEps)
      continue;
    FailureOr<Stats> stats = analyzeStats(s);
    if (failed(stats) || stats->isLayerNorm != target.isLayerNorm ||
        stats->dims != normalized || !isTargetInput(stats->factors))
      continue;
    return checkPrecision(statistic, *stats);
  }
  return fail("not the rstd of the norm's input");
}

LogicalResult mlir::norm::capture::matchRowStatistic(
    ExprTranslator &translator, Expr *statistic, ShapedType spaceType,
    RowStatistic kind, const StatisticTarget &target) {
  if (spaceType.getRank() < 1 || spaceType.getRank() > 64)
    return failure();
  Matcher matcher(translator, spaceType);
  return matcher.matchStatistic(statistic, kind, target);
}
