//===- RowStatistics.cpp - Recognise separately computed norm statistics --===//
//
// Candidates are the row-shaped values downstream of a norm op's inputs.
// Each is read, in the expression view of the capture (CaptureExpr.h), along
// the leading dims of the norm's iteration space, and proved to be the op's
// mean or rstd by the capture's matcher (`matchRowStatistic`): every
// spelling capture reads (linalg, TOSA, arith/math, reshapes) is read here
// too.
//
//===----------------------------------------------------------------------===//

#include "RowStatistics.h"

#include "CaptureMatch.h"

#include "mlir/IR/AffineMap.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "llvm/ADT/SetVector.h"

using namespace mlir;
using namespace mlir::norm;
using namespace mlir::norm::capture;

/// Whether `op` and everything that uses its results, transitively, is
/// free of side effects and ends unused (so it will be erased).
static bool isDeadOp(Operation *op, unsigned depth = 0) {
  if (depth > 16 || !wouldOpBeTriviallyDead(op))
    return false;
  for (Value result : op->getResults())
    for (Operation *user : result.getUsers())
      if (!isDeadOp(user, depth + 1))
        return false;
  return true;
}

std::optional<StatisticMatch>
mlir::norm::findSeparateStatistic(NormOpInterface op) {
  int64_t axis = op.getNormalizedAxis();
  int64_t rank = op.getInputType().getRank();
  ArrayRef<int64_t> normalizedShape =
      op.getInputType().getShape().drop_front(axis);
  if (ShapedType::isDynamicShape(normalizedShape))
    return std::nullopt;
  bool wantMean = op.isLayerNorm() && !op.getMean();
  bool wantRstd = !op.getRstd();
  if (!wantMean && !wantRstd)
    return std::nullopt;

  // The op's own residual sum result, if it has one.
  Value residualSum;
  if (op.getResidualOutput())
    residualSum = op->getResult(1);

  // Row-shaped values downstream of the op's inputs, breadth first.
  SmallVector<Value> roots = {op.getInput()};
  if (op.getResidual())
    roots.push_back(op.getResidual());
  if (residualSum)
    roots.push_back(residualSum);
  llvm::SetVector<Operation *> visited;
  SmallVector<Value> candidates;
  SmallVector<Value> frontier = roots;
  for (unsigned level = 0; level < 12 && !frontier.empty(); ++level) {
    SmallVector<Value> next;
    for (Value value : frontier) {
      for (Operation *user : value.getUsers()) {
        if (user == op.getOperation() || isa<NormOpInterface>(user) ||
            visited.size() > 256 || !visited.insert(user))
          continue;
        for (Value result : user->getResults()) {
          next.push_back(result);
          auto type = dyn_cast<RankedTensorType>(result.getType());
          if (type && type.getRank() == axis &&
              isa<FloatType>(type.getElementType()))
            candidates.push_back(result);
        }
      }
    }
    frontier = std::move(next);
  }

  // A statistic the op itself reads (say, as gamma) cannot become its result.
  auto isReplaceable = [&](Value value) {
    return !llvm::is_contained(op->getOperands(), value) &&
           llvm::any_of(value.getUsers(),
                        [](Operation *user) { return !isDeadOp(user); });
  };
  // Proves `candidate` is the op's statistic `kind`, in a view of its own.
  ShapedType inputType = op.getInputType();
  auto matches = [&](Value candidate, RowStatistic kind) {
    ExprContext context(inputType.getShape());
    ExprTranslator translator(context);
    MLIRContext *mlirContext = op->getContext();
    AffineMap identity = AffineMap::getMultiDimIdentityMap(rank, mlirContext);
    StatisticTarget target;
    target.isLayerNorm = op.isLayerNorm();
    target.axis = axis;
    if (std::optional<APFloat> value = op.getEpsilon())
      target.epsilon = value->convertToDouble();
    target.epsValue = op.getEpsValue();
    Expr *input = translator.translate(op.getInput(), identity);
    if (Value residual = op.getResidual())
      input = context.add(input, translator.translate(residual, identity));
    target.inputs.push_back(input);
    if (residualSum)
      target.inputs.push_back(translator.translate(residualSum, identity));
    SmallVector<AffineExpr> leading;
    for (int64_t dim = 0; dim < axis; ++dim)
      leading.push_back(getAffineDimExpr(dim, mlirContext));
    AffineMap rows = AffineMap::get(rank, 0, leading, mlirContext);
    Expr *statistic = translator.translate(candidate, rows);
    return succeeded(
        matchRowStatistic(translator, statistic, inputType, kind, target));
  };
  if (wantRstd)
    for (Value candidate : candidates)
      if (isReplaceable(candidate) && matches(candidate, RowStatistic::Rstd))
        return StatisticMatch{StatisticKind::Rstd, candidate};
  if (wantMean)
    for (Value candidate : candidates)
      if (isReplaceable(candidate) && matches(candidate, RowStatistic::Mean))
        return StatisticMatch{StatisticKind::Mean, candidate};
  return std::nullopt;
}
