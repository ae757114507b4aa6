//===- CaptureExpr.cpp - Uniqued expression nodes for norm capture --------===//

#include "CaptureExpr.h"

#include "mlir/IR/AffineExpr.h"
#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/APFloat.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/bit.h"

#include <cmath>

using namespace mlir;
using namespace mlir::norm::capture;

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

/// `value` converted to `semantics` (round to nearest even) and back.
static double roundToSemantics(double value,
                               const llvm::fltSemantics &semantics) {
  llvm::APFloat f(value);
  bool losesInfo = false;
  f.convert(semantics, llvm::APFloat::rmNearestTiesToEven, &losesInfo);
  f.convert(llvm::APFloat::IEEEdouble(), llvm::APFloat::rmNearestTiesToEven,
            &losesInfo);
  return f.convertToDouble();
}

static double roundToType(double value, Type type) {
  if (auto floatType = dyn_cast<FloatType>(type))
    return roundToSemantics(value, floatType.getFloatSemantics());
  return value;
}

/// `a op b` computed in the semantics of the float type `type`.
static double foldInType(
    double a, double b, Type type,
    llvm::function_ref<void(llvm::APFloat &, const llvm::APFloat &)> op) {
  auto floatType = dyn_cast<FloatType>(type);
  if (!floatType)
    return 0.0;
  const llvm::fltSemantics &semantics = floatType.getFloatSemantics();
  bool losesInfo = false;
  llvm::APFloat x(a), y(b);
  x.convert(semantics, llvm::APFloat::rmNearestTiesToEven, &losesInfo);
  y.convert(semantics, llvm::APFloat::rmNearestTiesToEven, &losesInfo);
  op(x, y);
  x.convert(llvm::APFloat::IEEEdouble(), llvm::APFloat::rmNearestTiesToEven,
            &losesInfo);
  return x.convertToDouble();
}

static bool isInteger(double value) {
  return std::isfinite(value) && std::floor(value) == value;
}

static bool isOddInteger(double value) {
  return isInteger(value) && std::fmod(std::fabs(value), 2.0) == 1.0;
}

static bool isZero(Expr *e) {
  return e->is(ExprKind::Constant) && e->getNumber() == 0.0;
}

/// Orders the operands of a commutative node so both orders unique alike.
static void orderOperands(Expr *&a, Expr *&b) {
  if (std::less<Expr *>()(b, a))
    std::swap(a, b);
}

//===----------------------------------------------------------------------===//
// Expr
//===----------------------------------------------------------------------===//

static void profileExpr(llvm::FoldingSetNodeID &id, ExprKind kind, Type type,
                        Expr *lhs, Expr *rhs, double number, Value value,
                        AffineMap map, uint64_t dims, int64_t staticCount,
                        ArrayRef<DimRef> countDims) {
  id.AddInteger(static_cast<unsigned>(kind));
  id.AddPointer(type.getAsOpaquePointer());
  id.AddPointer(lhs);
  id.AddPointer(rhs);
  id.AddInteger(llvm::bit_cast<uint64_t>(number));
  id.AddPointer(value.getAsOpaquePointer());
  id.AddPointer(map.getAsOpaquePointer());
  id.AddInteger(dims);
  id.AddInteger(staticCount);
  id.AddInteger(countDims.size());
  for (const DimRef &ref : countDims) {
    id.AddPointer(ref.tensor.getAsOpaquePointer());
    id.AddInteger(ref.dim);
  }
}

void Expr::Profile(llvm::FoldingSetNodeID &id) const {
  profileExpr(id, kind, type, lhs, rhs, number, value, map, dims, staticCount,
              countDims);
}

//===----------------------------------------------------------------------===//
// ExprContext
//===----------------------------------------------------------------------===//

Expr *ExprContext::get(ExprKind kind, Type type, Expr *lhs, Expr *rhs,
                       double number, Value value, AffineMap map, uint64_t dims,
                       int64_t staticCount, ArrayRef<DimRef> countDims) {
  llvm::FoldingSetNodeID id;
  profileExpr(id, kind, type, lhs, rhs, number, value, map, dims, staticCount,
              countDims);
  void *insertPos = nullptr;
  if (Expr *existing = nodes.FindNodeOrInsertPos(id, insertPos))
    return existing;

  auto *expr = new (allocator.Allocate<Expr>()) Expr();
  expr->kind = kind;
  expr->type = type;
  expr->lhs = lhs;
  expr->rhs = rhs;
  expr->number = number;
  expr->value = value;
  expr->map = map;
  expr->dims = dims;
  expr->staticCount = staticCount;
  if (!countDims.empty()) {
    DimRef *copy = allocator.Allocate<DimRef>(countDims.size());
    llvm::uninitialized_copy(countDims, copy);
    expr->countDims = ArrayRef<DimRef>(copy, countDims.size());
  }

  switch (kind) {
  case ExprKind::Constant:
  case ExprKind::Scalar:
  case ExprKind::Count:
    expr->deps = 0;
    break;
  case ExprKind::Load:
    for (AffineExpr result : map.getResults())
      if (auto dim = dyn_cast<AffineDimExpr>(result))
        expr->deps |= uint64_t(1) << dim.getPosition();
    break;
  case ExprKind::Reduce:
    expr->deps = lhs->getDeps() & ~dims;
    break;
  default:
    expr->deps = lhs->getDeps() | (rhs ? rhs->getDeps() : 0);
    break;
  }
  nodes.InsertNode(expr, insertPos);
  return expr;
}

Expr *ExprContext::constant(double value, Type type) {
  return get(ExprKind::Constant, type, nullptr, nullptr,
             roundToType(value, type), Value(), AffineMap(), 0, 0, {});
}

Expr *ExprContext::scalar(Value value) {
  return get(ExprKind::Scalar, value.getType(), nullptr, nullptr, 0.0, value,
             AffineMap(), 0, 0, {});
}

Expr *ExprContext::load(Value tensor, AffineMap map) {
  auto type = cast<ShapedType>(tensor.getType());
  SmallVector<AffineExpr> results(map.getResults());
  MLIRContext *context = map.getContext();
  for (auto [dim, result] : llvm::enumerate(results))
    if (type.getDimSize(dim) == 1)
      result = getAffineConstantExpr(0, context);
  AffineMap canonical = AffineMap::get(rank, 0, results, context);
  return get(ExprKind::Load, type.getElementType(), nullptr, nullptr, 0.0,
             tensor, canonical, 0, 0, {});
}

Expr *ExprContext::count(int64_t staticCount, ArrayRef<DimRef> dims,
                         Type type) {
  if (dims.empty() && isa<FloatType>(type))
    return constant(static_cast<double>(staticCount), type);
  SmallVector<DimRef> sorted(dims);
  llvm::sort(sorted, [](const DimRef &a, const DimRef &b) {
    if (a.tensor != b.tensor)
      return std::less<void *>()(a.tensor.getAsOpaquePointer(),
                                 b.tensor.getAsOpaquePointer());
    return a.dim < b.dim;
  });
  return get(ExprKind::Count, type, nullptr, nullptr, 0.0, Value(), AffineMap(),
             0, staticCount, sorted);
}

Expr *ExprContext::add(Expr *a, Expr *b) {
  if (a->is(ExprKind::Constant) && b->is(ExprKind::Constant))
    return constant(foldInType(a->getNumber(), b->getNumber(), a->getType(),
                               [](llvm::APFloat &x, const llvm::APFloat &y) {
                                 x.add(y, llvm::APFloat::rmNearestTiesToEven);
                               }),
                    a->getType());
  if (isZero(a))
    return b;
  if (isZero(b))
    return a;
  // a + b * (-1) is a - b.
  auto negated = [](Expr *e) -> Expr * {
    if (!e->is(ExprKind::Mul))
      return nullptr;
    if (e->getLhs()->isConstant(-1.0))
      return e->getRhs();
    if (e->getRhs()->isConstant(-1.0))
      return e->getLhs();
    return nullptr;
  };
  if (Expr *nb = negated(b))
    return sub(a, nb);
  if (Expr *na = negated(a))
    return sub(b, na);
  orderOperands(a, b);
  return get(ExprKind::Add, a->getType(), a, b, 0.0, Value(), AffineMap(), 0, 0,
             {});
}

Expr *ExprContext::sub(Expr *a, Expr *b) {
  if (a->is(ExprKind::Constant) && b->is(ExprKind::Constant))
    return constant(foldInType(a->getNumber(), b->getNumber(), a->getType(),
                               [](llvm::APFloat &x, const llvm::APFloat &y) {
                                 x.subtract(y,
                                            llvm::APFloat::rmNearestTiesToEven);
                               }),
                    a->getType());
  if (isZero(b))
    return a;
  return get(ExprKind::Sub, a->getType(), a, b, 0.0, Value(), AffineMap(), 0, 0,
             {});
}

Expr *ExprContext::mul(Expr *a, Expr *b) {
  if (a->is(ExprKind::Constant) && b->is(ExprKind::Constant))
    return constant(foldInType(a->getNumber(), b->getNumber(), a->getType(),
                               [](llvm::APFloat &x, const llvm::APFloat &y) {
                                 x.multiply(y,
                                            llvm::APFloat::rmNearestTiesToEven);
                               }),
                    a->getType());
  if (a->isConstant(1.0))
    return b;
  if (b->isConstant(1.0))
    return a;
  orderOperands(a, b);
  return get(ExprKind::Mul, a->getType(), a, b, 0.0, Value(), AffineMap(), 0, 0,
             {});
}

Expr *ExprContext::div(Expr *a, Expr *b) {
  if (a->is(ExprKind::Constant) && b->is(ExprKind::Constant))
    return constant(foldInType(a->getNumber(), b->getNumber(), a->getType(),
                               [](llvm::APFloat &x, const llvm::APFloat &y) {
                                 x.divide(y,
                                          llvm::APFloat::rmNearestTiesToEven);
                               }),
                    a->getType());
  return mul(a, pow(b, -1.0));
}

Expr *ExprContext::neg(Expr *a) { return mul(a, constant(-1.0, a->getType())); }

Expr *ExprContext::pow(Expr *a, double exponent) {
  if (exponent == 1.0)
    return a;
  if (a->is(ExprKind::Constant) && isInteger(exponent))
    return constant(std::pow(a->getNumber(), exponent), a->getType());
  if (a->is(ExprKind::Pow) &&
      (isInteger(exponent) || isOddInteger(a->getNumber())))
    return pow(a->getOperand(), a->getNumber() * exponent);
  return get(ExprKind::Pow, a->getType(), a, nullptr, exponent, Value(),
             AffineMap(), 0, 0, {});
}

Expr *ExprContext::ext(Expr *a, Type type) {
  if (a->getType() == type)
    return a;
  if (a->is(ExprKind::Constant))
    return constant(a->getNumber(), type);
  if (a->is(ExprKind::Count))
    return count(a->getStaticCount(), a->getCountDims(), type);
  if (a->is(ExprKind::Ext))
    return ext(a->getOperand(), type);
  return get(ExprKind::Ext, type, a, nullptr, 0.0, Value(), AffineMap(), 0, 0,
             {});
}

Expr *ExprContext::trunc(Expr *a, Type type) {
  if (a->getType() == type)
    return a;
  if (a->is(ExprKind::Constant))
    return constant(a->getNumber(), type);
  if (a->is(ExprKind::Count))
    return count(a->getStaticCount(), a->getCountDims(), type);
  if (a->is(ExprKind::Ext) && a->getOperand()->getType() == type)
    return a->getOperand();
  return get(ExprKind::Trunc, type, a, nullptr, 0.0, Value(), AffineMap(), 0, 0,
             {});
}

Expr *ExprContext::min(Expr *a, Expr *b) {
  orderOperands(a, b);
  return get(ExprKind::Min, a->getType(), a, b, 0.0, Value(), AffineMap(), 0, 0,
             {});
}

Expr *ExprContext::max(Expr *a, Expr *b) {
  orderOperands(a, b);
  return get(ExprKind::Max, a->getType(), a, b, 0.0, Value(), AffineMap(), 0, 0,
             {});
}

Expr *ExprContext::roundEven(Expr *a) {
  return get(ExprKind::RoundEven, a->getType(), a, nullptr, 0.0, Value(),
             AffineMap(), 0, 0, {});
}

Expr *ExprContext::toInt(Expr *a, Type type) {
  return get(ExprKind::ToInt, type, a, nullptr, 0.0, Value(), AffineMap(), 0,
             0, {});
}

Expr *ExprContext::reduce(Expr *body, uint64_t reducedDims) {
  if (body->is(ExprKind::Reduce) && (body->getReducedDims() & reducedDims) == 0)
    return reduce(body->getOperand(), body->getReducedDims() | reducedDims);
  return get(ExprKind::Reduce, body->getType(), body, nullptr, 0.0, Value(),
             AffineMap(), reducedDims, 0, {});
}
