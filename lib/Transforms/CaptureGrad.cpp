//===- CaptureGrad.cpp - Recognise norm gradients in the expression view --===//
//
// The input gradient of a LayerNorm or RMSNorm, as autodiff front ends
// decompose it (torch's native_layer_norm_backward, Liger's and torch's
// RMSNorm backward): with saved row statistics mean and rstd, xhat =
// (x - mean) rstd (RMSNorm: x rstd), wdy = gamma dy,
//
//   dx = rstd (wdy - mean(wdy) - xhat mean(wdy xhat)) (+ dr)
//   dx = rstd (wdy - xhat mean(wdy xhat))               (+ dr)   RMSNorm
//
// Gradient graphs spell this in many equivalent ways (torch multiplies by N
// and divides by N again, Liger folds rstd into xhat first, others
// distribute rstd over the difference), so the proof is by normal form: the
// root's expression is expanded into a polynomial (a sum of monomials with
// real coefficients) whose atoms are the values the IR reads (x, dy,
// gamma, mean, rstd, dr) and row sums; each sum's summand is expanded too,
// with the factors constant along the sum moved out of it. For each way of
// taking the IR's reads as x, dy, gamma, mean and rstd, the same expansion
// of the formula above must give the same polynomial, coefficients equal
// to f32 rounding of the constants (1/N, N). Every arithmetic node between
// the reads and the root must be f32 or wider (the op computes in f32);
// the root may round once to its type.
//
//===----------------------------------------------------------------------===//

#include "CaptureMatcher.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SetVector.h"

#include <cmath>
#include <map>

using namespace mlir;
using namespace mlir::norm::capture;
using namespace mlir::norm::capture::detail;

namespace {
/// A product of atoms raised to integer powers, sorted by atom.
using Monomial = SmallVector<std::pair<Expr *, int>, 4>;

struct MonomialLess {
  bool operator()(const Monomial &a, const Monomial &b) const {
    return std::lexicographical_compare(
        a.begin(), a.end(), b.begin(), b.end(),
        [](const std::pair<Expr *, int> &x, const std::pair<Expr *, int> &y) {
          return x.first != y.first ? x.first < y.first : x.second < y.second;
        });
  }
};

/// A polynomial: monomials with their coefficients.
using Polynomial = std::map<Monomial, double, MonomialLess>;

/// Expands expressions into polynomials over atoms.
class Expander {
public:
  Expander(ExprTranslator &translator, ShapedType spaceType)
      : ctx(translator.getContext()), translator(translator),
        shape(spaceType.getShape()),
        f64(Float64Type::get(spaceType.getContext())) {}

  /// The polynomial of `e`, or failure (too many terms, a count of a dim
  /// not tied to the space, arithmetic narrower than f32).
  FailureOr<Polynomial> expand(Expr *e);

  /// The canonical atom for the size of dim `dim` of the space: element
  /// counts (`tensor.dim` of any tensor tied to the space) and sums of
  /// constants over dynamic dims expand to powers of it, so that a
  /// dynamic N is a symbol of the normal form.
  Expr *sizeOf(unsigned dim) { return ctx.count(1, DimRef{Value(), dim}, f64); }

  /// 1/N for the dims `dims` of the space: a constant where they are
  /// static, times sizeOf(d)^-1 for each dynamic one.
  Expr *inverseCount(uint64_t dims) {
    double staticCount = 1.0;
    Expr *result = nullptr;
    for (unsigned d = 0; d < shape.size(); ++d) {
      if (!(dims & (uint64_t(1) << d)))
        continue;
      if (!ShapedType::isDynamic(shape[d])) {
        staticCount *= static_cast<double>(shape[d]);
        continue;
      }
      Expr *factor = ctx.pow(sizeOf(d), -1.0);
      result = result ? ctx.mul(result, factor) : factor;
    }
    Expr *constant = ctx.constant(1.0 / staticCount, f64);
    return result ? ctx.mul(constant, result) : constant;
  }

private:
  FailureOr<Polynomial> expandReduce(Expr *e);
  /// `count` (an element count) raised to `power`: its static part as the
  /// coefficient, its dims as powers of sizeOf.
  FailureOr<Polynomial> expandCount(Expr *count, int power);
  static Polynomial multiply(const Polynomial &a, const Polynomial &b);
  static void add(Polynomial &into, const Polynomial &p, double scale);
  Polynomial atom(Expr *e, int power = 1) {
    return Polynomial{{Monomial{{e, power}}, 1.0}};
  }
  /// The atom of a monomial's product (its factors in canonical order).
  Expr *product(const Monomial &m);

  static constexpr size_t kMaxTerms = 64;
  ExprContext &ctx;
  ExprTranslator &translator;
  ArrayRef<int64_t> shape;
  Type f64;
  DenseMap<Expr *, Polynomial> memo;
};
} // namespace

Polynomial Expander::multiply(const Polynomial &a, const Polynomial &b) {
  Polynomial result;
  for (const auto &[ma, ca] : a) {
    for (const auto &[mb, cb] : b) {
      Monomial m(ma);
      for (const std::pair<Expr *, int> &factor : mb) {
        auto it = llvm::find_if(m, [&](const std::pair<Expr *, int> &f) {
          return f.first == factor.first;
        });
        if (it != m.end())
          it->second += factor.second;
        else
          m.push_back(factor);
      }
      llvm::erase_if(
          m, [](const std::pair<Expr *, int> &f) { return f.second == 0; });
      llvm::sort(
          m, [](const std::pair<Expr *, int> &x,
                const std::pair<Expr *, int> &y) { return x.first < y.first; });
      result[m] += ca * cb;
    }
  }
  return result;
}

void Expander::add(Polynomial &into, const Polynomial &p, double scale) {
  for (const auto &[m, c] : p)
    into[m] += scale * c;
}

Expr *Expander::product(const Monomial &m) {
  Expr *result = nullptr;
  for (const auto &[atom, power] : m) {
    Expr *factor = power == 1 ? atom : ctx.pow(atom, power);
    result = result ? ctx.mul(result, factor) : factor;
  }
  return result;
}

FailureOr<Polynomial> Expander::expandCount(Expr *count, int power) {
  Monomial m;
  for (const DimRef &ref : count->getCountDims()) {
    std::optional<unsigned> dim =
        ref.tensor ? translator.resolveDim(ref.tensor, ref.dim)
                   : std::optional<unsigned>(ref.dim);
    if (!dim)
      return failure();
    Expr *size = sizeOf(*dim);
    auto it = llvm::find_if(
        m, [&](const std::pair<Expr *, int> &f) { return f.first == size; });
    if (it != m.end())
      it->second += power;
    else
      m.push_back({size, power});
  }
  llvm::erase_if(m,
                 [](const std::pair<Expr *, int> &f) { return f.second == 0; });
  llvm::sort(m,
             [](const std::pair<Expr *, int> &x,
                const std::pair<Expr *, int> &y) { return x.first < y.first; });
  return Polynomial{
      {m, std::pow(static_cast<double>(count->getStaticCount()), power)}};
}

FailureOr<Polynomial> Expander::expandReduce(Expr *e) {
  FailureOr<Polynomial> body = expand(e->getOperand());
  if (failed(body))
    return failure();
  uint64_t dims = e->getReducedDims();
  Polynomial result;
  for (const auto &[m, c] : *body) {
    Monomial outside, inside;
    for (const auto &factor : m)
      ((factor.first->getDeps() & dims) ? inside : outside).push_back(factor);
    double coefficient = c;
    if (inside.empty()) {
      // A sum of something constant along the dims: times their count (a
      // dynamic dim's size as its symbol).
      for (unsigned d = 0; d < shape.size(); ++d) {
        if (!(dims & (uint64_t(1) << d)))
          continue;
        if (ShapedType::isDynamic(shape[d]))
          outside.push_back({sizeOf(d), 1});
        else
          coefficient *= static_cast<double>(shape[d]);
      }
      llvm::sort(outside, [](const std::pair<Expr *, int> &x,
                             const std::pair<Expr *, int> &y) {
        return x.first < y.first;
      });
    } else {
      outside.push_back({ctx.reduce(product(inside), dims), 1});
      llvm::sort(outside, [](const std::pair<Expr *, int> &x,
                             const std::pair<Expr *, int> &y) {
        return x.first < y.first;
      });
    }
    result[outside] += coefficient;
  }
  return result;
}

FailureOr<Polynomial> Expander::expand(Expr *e) {
  auto cached = memo.find(e);
  if (cached != memo.end())
    return cached->second;
  auto narrow = [](Expr *node) {
    return precisionOf(node->getType()) < kStatisticsPrecision;
  };
  FailureOr<Polynomial> result = failure();
  switch (e->getKind()) {
  case ExprKind::Constant:
    result = Polynomial{{Monomial(), e->getNumber()}};
    break;
  case ExprKind::Ext:
  case ExprKind::Trunc: {
    // A rounding to a narrow type inside the arithmetic changes its
    // numbers; a cast of a read (an f16/bf16 input) does not.
    Expr *operand = e->getOperand();
    if (e->is(ExprKind::Trunc) && narrow(e) &&
        !stripCasts(operand)->is(ExprKind::Load))
      return failure();
    result = expand(operand);
    break;
  }
  case ExprKind::Add:
  case ExprKind::Sub:
  case ExprKind::Mul: {
    if (narrow(e))
      return failure();
    FailureOr<Polynomial> a = expand(e->getLhs());
    FailureOr<Polynomial> b = expand(e->getRhs());
    if (failed(a) || failed(b))
      return failure();
    if (e->is(ExprKind::Mul)) {
      result = multiply(*a, *b);
      break;
    }
    Polynomial sum = *a;
    add(sum, *b, e->is(ExprKind::Add) ? 1.0 : -1.0);
    result = sum;
    break;
  }
  case ExprKind::Pow: {
    if (narrow(e))
      return failure();
    double exponent = e->getNumber();
    if (isInteger(exponent) && exponent >= 1.0 && exponent <= 4.0) {
      FailureOr<Polynomial> base = expand(e->getOperand());
      if (failed(base))
        return failure();
      Polynomial power = *base;
      for (int i = 1; i < static_cast<int>(exponent); ++i)
        power = multiply(power, *base);
      result = power;
    } else if (isInteger(exponent) &&
               stripCasts(e->getOperand())->is(ExprKind::Load)) {
      // 1/v of a read, e.g. a saved standard deviation.
      result = atom(stripCasts(e->getOperand()), static_cast<int>(exponent));
    } else if (isInteger(exponent) &&
               stripCasts(e->getOperand())->is(ExprKind::Count)) {
      // 1/N with N counted at run time.
      result =
          expandCount(stripCasts(e->getOperand()), static_cast<int>(exponent));
    } else {
      result = atom(e);
    }
    break;
  }
  case ExprKind::Reduce:
    if (narrow(e))
      return failure();
    result = expandReduce(e);
    break;
  case ExprKind::Count:
    result = expandCount(e, 1);
    break;
  default:
    result = atom(e);
    break;
  }
  if (failed(result))
    return failure();
  // Drop cancelled terms.
  for (auto it = result->begin(); it != result->end();) {
    if (it->second == 0.0)
      it = result->erase(it);
    else
      ++it;
  }
  if (result->size() > kMaxTerms)
    return failure();
  memo[e] = *result;
  return result;
}

/// `a - b`, without the monomials whose coefficients agree to the rounding
/// of the f32 constants that spell them (1/N, N).
static Polynomial difference(const Polynomial &a, const Polynomial &b) {
  Polynomial result;
  auto note = [&](const Monomial &m) {
    auto ia = a.find(m);
    auto ib = b.find(m);
    double ca = ia != a.end() ? ia->second : 0.0;
    double cb = ib != b.end() ? ib->second : 0.0;
    double scale = std::max(std::fabs(ca), std::fabs(cb));
    if (std::fabs(ca - cb) > scale * std::ldexp(1.0, -20))
      result[m] = ca - cb;
  };
  for (const auto &[m, c] : a)
    note(m);
  for (const auto &[m, c] : b)
    if (!a.count(m))
      note(m);
  return result;
}

/// Whether `atom` reads a tensor whole over a space of shape `shape`: each
/// dim along its own dim, or a static unit dim at 0 (the translation reads
/// unit dims at 0 whatever the IR spells).
static bool isFullRead(Expr *atom, ArrayRef<int64_t> shape) {
  if (!atom->is(ExprKind::Load) ||
      atom->getMap().getNumResults() != shape.size())
    return false;
  for (auto [dim, result] : llvm::enumerate(atom->getMap().getResults())) {
    if (auto d = dyn_cast<AffineDimExpr>(result); d && d.getPosition() == dim)
      continue;
    if (shape[dim] == 1 && isa<AffineConstantExpr>(result))
      continue;
    return false;
  }
  return true;
}

/// The atoms of the top-level monomials of `p` and of the row sums in them.
static void collectAtoms(const Polynomial &p, llvm::SetVector<Expr *> &atoms) {
  for (const auto &[m, c] : p)
    for (const auto &[atom, power] : m)
      atoms.insert(atom);
}

/// Proves that `rstd`, an inverse square root along the rows, is the rstd
/// of the norm of `x` (`layerNorm`, normalised from `axis`) with the
/// epsilon added under its root, and records that epsilon in `match`.
static LogicalResult matchRecomputedRstd(ExprTranslator &translator, Expr *rstd,
                                         ShapedType rootType, bool layerNorm,
                                         unsigned axis, Expr *x,
                                         GradMatch &match) {
  Expr *radicand = stripCasts(rstd->getOperand());
  if (!radicand->is(ExprKind::Add))
    return failure();
  for (Expr *eps : {radicand->getLhs(), radicand->getRhs()}) {
    eps = stripCasts(eps);
    StatisticTarget target;
    target.isLayerNorm = layerNorm;
    target.axis = axis;
    target.inputs.push_back(x);
    if (eps->is(ExprKind::Constant))
      target.epsilon = eps->getNumber();
    else if (eps->is(ExprKind::Scalar) && isa<FloatType>(eps->getType()))
      target.epsValue = eps->getValue();
    else
      continue;
    if (failed(matchRowStatistic(translator, rstd, rootType, RowStatistic::Rstd,
                                 target)))
      continue;
    match.epsilon = target.epsilon;
    match.epsScalar = target.epsValue;
    return success();
  }
  return failure();
}

FailureOr<GradMatch>
mlir::norm::capture::matchInputGradient(ExprTranslator &translator, Expr *root,
                                        ShapedType rootType,
                                        StringRef &reason) {
  ExprContext &ctx = translator.getContext();
  unsigned rank = rootType.getRank();
  Expander expander(translator, rootType);
  // The root may round once, to its own type.
  Expr *core = root;
  while (core->is(ExprKind::Trunc) || core->is(ExprKind::Ext))
    core = core->getOperand();
  FailureOr<Polynomial> actual = expander.expand(core);
  if (failed(actual)) {
    reason = "not a polynomial in f32 or wider";
    return failure();
  }

  // The normalised dims: those every row sum reduces, a suffix.
  uint64_t dims = 0;
  llvm::SetVector<Expr *> atoms;
  collectAtoms(*actual, atoms);
  for (Expr *atom : atoms) {
    if (!atom->is(ExprKind::Reduce))
      continue;
    if (dims && atom->getReducedDims() != dims) {
      reason = "row sums over different dims";
      return failure();
    }
    dims = atom->getReducedDims();
  }
  if (!dims) {
    reason = "no row sum";
    return failure();
  }
  unsigned axis = llvm::countr_zero(dims);
  uint64_t all = rank == 64 ? ~uint64_t(0) : (uint64_t(1) << rank) - 1;
  if (dims != (all & ~((uint64_t(1) << axis) - 1))) {
    reason = "the row sums do not reduce the trailing dims";
    return failure();
  }
  uint64_t rowDims = all & ~dims;

  // Candidates: full reads (x, dy, dr), reads along the normalised dims
  // (gamma), row statistics (mean, rstd). Sums' summands hold x, dy, gamma.
  llvm::SetVector<Expr *> inner;
  for (Expr *atom : atoms)
    if (atom->is(ExprKind::Reduce)) {
      FailureOr<Polynomial> body = expander.expand(atom->getOperand());
      if (succeeded(body))
        collectAtoms(*body, inner);
    }
  SmallVector<Expr *> full, params, rows;
  for (Expr *atom : llvm::concat<Expr *const>(atoms, inner)) {
    if (!atom->is(ExprKind::Load))
      continue;
    uint64_t deps = atom->getDeps();
    if (isFullRead(atom, rootType.getShape())) {
      full.push_back(atom);
      continue;
    }
    // Constant along every dim (all rows of a unit dim): gamma or a
    // statistic.
    if ((deps & ~dims) == 0)
      params.push_back(atom);
    if ((deps & ~rowDims) == 0)
      rows.push_back(atom);
  }
  llvm::sort(full);
  full.erase(std::unique(full.begin(), full.end()), full.end());
  llvm::sort(params);
  params.erase(std::unique(params.begin(), params.end()), params.end());
  llvm::sort(rows);
  rows.erase(std::unique(rows.begin(), rows.end()), rows.end());
  // Statistics recomputed from x (JAX): an inverse square root along the
  // rows, proven below to be x's rstd.
  SmallVector<Expr *> rstds(rows);
  for (Expr *atom : atoms)
    if (atom->is(ExprKind::Pow) && atom->getNumber() == -0.5 &&
        (atom->getDeps() & ~rowDims) == 0 && !llvm::is_contained(rstds, atom))
      rstds.push_back(atom);

  Type f64 = Float64Type::get(rootType.getContext());
  Expr *invN = expander.inverseCount(dims);
  auto meanOf = [&](Expr *e) { return ctx.mul(ctx.reduce(e, dims), invN); };
  SmallVector<Expr *> gammas(params);
  gammas.push_back(nullptr);
  SmallVector<Expr *> noMean = {nullptr};
  for (bool layerNorm : {true, false}) {
    for (Expr *x : full)
      for (Expr *dy : full) {
        if (x == dy)
          continue;
        for (Expr *gamma : gammas)
          for (Expr *rstd : rstds) {
            bool saved = rstd->is(ExprKind::Load);
            // Recomputed: the mean is x's, the one candidate.
            SmallVector<Expr *> recomputedMean = {
                layerNorm ? meanOf(ctx.ext(x, f64)) : nullptr};
            ArrayRef<Expr *> means = !saved ? ArrayRef<Expr *>(recomputedMean)
                                     : layerNorm ? ArrayRef<Expr *>(rows)
                                                 : ArrayRef<Expr *>(noMean);
            for (Expr *mean : means) {
              if (mean == rstd && layerNorm)
                continue;
              // The formula in f64, over the reads (casts are looked
              // through by the expansion).
              auto wide = [&](Expr *e) {
                return e->getType() == f64 ? e : ctx.ext(e, f64);
              };
              Expr *wdy = gamma ? ctx.mul(wide(dy), wide(gamma)) : wide(dy);
              Expr *centred =
                  layerNorm ? ctx.sub(wide(x), wide(mean)) : wide(x);
              Expr *xhat = ctx.mul(centred, wide(rstd));
              Expr *inner =
                  ctx.sub(wdy, ctx.mul(xhat, meanOf(ctx.mul(wdy, xhat))));
              if (layerNorm)
                inner = ctx.sub(inner, meanOf(wdy));
              FailureOr<Polynomial> expected =
                  expander.expand(ctx.mul(wide(rstd), inner));
              if (failed(expected))
                continue;
              // What is left over must be nothing, or one full read: the
              // residual gradient added into dx.
              Polynomial leftover = difference(*actual, *expected);
              Expr *residual = nullptr;
              if (leftover.size() == 1) {
                const auto &[m, c] = *leftover.begin();
                if (m.size() != 1 || m.front().second != 1 ||
                    std::fabs(c - 1.0) > std::ldexp(1.0, -20) ||
                    !llvm::is_contained(full, m.front().first) ||
                    m.front().first == x || m.front().first == dy)
                  continue;
                residual = m.front().first;
              } else if (!leftover.empty()) {
                continue;
              }
              GradMatch match;
              match.isLayerNorm = layerNorm;
              match.axis = axis;
              match.input = x->getValue();
              match.outputGrad = dy->getValue();
              match.gamma = gamma ? gamma->getValue() : Value();
              match.residualGrad = residual ? residual->getValue() : Value();
              if (saved) {
                match.mean = mean ? mean->getValue() : Value();
                match.rstd = rstd->getValue();
                return match;
              }
              if (succeeded(matchRecomputedRstd(translator, rstd, rootType,
                                                layerNorm, axis, x, match)))
                return match;
            }
          }
      }
  }
  reason = "not the input gradient of a norm";
  return failure();
}

FailureOr<GradMatch>
mlir::norm::capture::matchGammaGradient(ExprTranslator &translator, Expr *root,
                                        ShapedType spaceType, uint64_t rowDims,
                                        StringRef &reason) {
  ExprContext &ctx = translator.getContext();
  unsigned rank = spaceType.getRank();
  uint64_t all = rank == 64 ? ~uint64_t(0) : (uint64_t(1) << rank) - 1;
  unsigned axis = llvm::popcount(rowDims);
  Expr *core = root;
  while (core->is(ExprKind::Trunc) || core->is(ExprKind::Ext))
    core = core->getOperand();
  if (!core->is(ExprKind::Reduce) || core->getReducedDims() != rowDims ||
      rowDims != (uint64_t(1) << axis) - 1 || axis == 0 || axis >= rank) {
    reason = "not a sum over the leading dims";
    return failure();
  }
  Expander expander(translator, spaceType);
  FailureOr<Polynomial> actual = expander.expand(core->getOperand());
  if (failed(actual)) {
    reason = "not a polynomial in f32 or wider";
    return failure();
  }
  llvm::SetVector<Expr *> atoms;
  collectAtoms(*actual, atoms);
  SmallVector<Expr *> full, rows;
  for (Expr *atom : atoms) {
    uint64_t deps = atom->getDeps();
    if (isFullRead(atom, spaceType.getShape()))
      full.push_back(atom);
    else if ((deps & ~rowDims) == 0 &&
             (atom->is(ExprKind::Load) ||
              (atom->is(ExprKind::Pow) && atom->getNumber() == -0.5)))
      rows.push_back(atom);
  }
  Type f64 = Float64Type::get(spaceType.getContext());
  auto wide = [&](Expr *e) {
    return e->getType() == f64 ? e : ctx.ext(e, f64);
  };
  uint64_t normalized = all & ~rowDims;
  Expr *invN = expander.inverseCount(normalized);
  SmallVector<Expr *> noMean = {nullptr};
  for (bool layerNorm : {true, false})
    for (Expr *x : full)
      for (Expr *dy : full) {
        if (x == dy)
          continue;
        for (Expr *rstd : rows) {
          bool saved = rstd->is(ExprKind::Load);
          SmallVector<Expr *> recomputedMean = {
              layerNorm ? ctx.mul(ctx.reduce(wide(x), normalized), invN)
                        : nullptr};
          ArrayRef<Expr *> means = !saved ? ArrayRef<Expr *>(recomputedMean)
                                   : layerNorm ? ArrayRef<Expr *>(rows)
                                               : ArrayRef<Expr *>(noMean);
          for (Expr *mean : means) {
            if (layerNorm &&
                (mean == rstd || (saved && !mean->is(ExprKind::Load))))
              continue;
            Expr *centred = layerNorm ? ctx.sub(wide(x), wide(mean)) : wide(x);
            FailureOr<Polynomial> expected = expander.expand(
                ctx.mul(wide(dy), ctx.mul(centred, wide(rstd))));
            if (failed(expected) || !difference(*actual, *expected).empty())
              continue;
            GradMatch match;
            match.isLayerNorm = layerNorm;
            match.isGammaGrad = true;
            match.axis = axis;
            match.input = x->getValue();
            match.outputGrad = dy->getValue();
            if (saved) {
              match.mean = mean ? mean->getValue() : Value();
              match.rstd = rstd->getValue();
              return match;
            }
            if (succeeded(matchRecomputedRstd(translator, rstd, spaceType,
                                              layerNorm, axis, x, match)))
              return match;
          }
        }
      }
  reason = "not the dgamma of a norm";
  return failure();
}
