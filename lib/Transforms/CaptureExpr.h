//===- CaptureExpr.h - Expression view of decomposed norms ------*- C++ -*-===//
//
// `--norm-capture` does not match IR spellings directly. Every spelling of a
// decomposed norm (linalg.generic chains, fused or not; linalg named ops;
// TOSA; arith/math on tensors; reshapes between them) is first translated
// into one small algebraic view, and the matcher (CaptureMatch.cpp) works on
// that view only.
//
// An `Expr` describes the value of a tensor at one point `p` of an iteration
// space of rank R, the space of the candidate root (the norm's output). Its
// leaves are constants, run-time scalars, element reads `v[map(p)]` of
// tensors the translation does not look through, and element counts taken
// from `tensor.dim`. Its inner nodes are `+`, `-`, `*`, real powers,
// float casts and `Reduce`: the sum of its operand over a set of dims of the
// space (those dims are bound by the sum; the result does not depend on
// them). Division, reciprocal, sqrt and rsqrt are powers; negation is a
// product with -1.
//
// Nodes are uniqued, so two spellings of the same math are the same pointer:
// the mean recomputed in a fused generic and the mean of its own generic,
// `x*x` and `x^2`. Rounding is not modelled: the view is the real-number
// meaning of the IR (casts are kept so the matcher can reason about
// precision).
//
//===----------------------------------------------------------------------===//

#ifndef NORM_LIB_TRANSFORMS_CAPTUREEXPR_H
#define NORM_LIB_TRANSFORMS_CAPTUREEXPR_H

#include "mlir/IR/AffineMap.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Types.h"
#include "mlir/IR/Value.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/FoldingSet.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/Support/Allocator.h"

#include <functional>

namespace mlir {
class Operation;

namespace norm {
namespace capture {

/// The kinds of expression nodes.
enum class ExprKind : uint8_t {
  /// A float constant (`getNumber()`, rounded to `getType()`).
  Constant,
  /// A run-time scalar SSA value (`getValue()`), e.g. an eps argument.
  Scalar,
  /// The element `getValue()[getMap()(p)]` of a tensor.
  Load,
  /// An element count: `getStaticCount()` times the product of the sizes of
  /// `getCountDims()`, as an integer, index or float (after `sitofp`).
  Count,
  /// A widening float cast to `getType()`.
  Ext,
  /// A narrowing float cast to `getType()`.
  Trunc,
  /// `getOperand()` raised to the constant real `getNumber()`.
  Pow,
  /// The sum of `getOperand()` over the dims in `getReducedDims()`.
  Reduce,
  Add,
  Sub,
  Mul,
  /// NaN-propagating minimum / maximum (`arith.minimumf` / `maximumf`).
  Min,
  Max,
  /// Rounding to the nearest integer, ties to even (`math.roundeven`).
  RoundEven,
  /// Conversion to the signed integer type `getType()` (`arith.fptosi`).
  ToInt,
};

/// One dimension of one tensor, as read by `tensor.dim`.
struct DimRef {
  Value tensor;
  unsigned dim;
  bool operator==(const DimRef &other) const {
    return tensor == other.tensor && dim == other.dim;
  }
};

/// A uniqued node of the expression view. Create them with `ExprContext`.
class Expr : public llvm::FoldingSetNode {
public:
  ExprKind getKind() const { return kind; }
  Type getType() const { return type; }
  /// The operand of a unary node, the left operand of a binary one.
  Expr *getOperand() const { return lhs; }
  Expr *getLhs() const { return lhs; }
  Expr *getRhs() const { return rhs; }
  /// The value of a constant, the exponent of a power.
  double getNumber() const { return number; }
  Value getValue() const { return value; }
  AffineMap getMap() const { return map; }
  uint64_t getReducedDims() const { return dims; }
  int64_t getStaticCount() const { return staticCount; }
  ArrayRef<DimRef> getCountDims() const { return countDims; }
  /// The dims of the iteration space this expression varies with.
  uint64_t getDeps() const { return deps; }

  bool is(ExprKind k) const { return kind == k; }
  bool isConstant(double v) const {
    return kind == ExprKind::Constant && number == v;
  }

  void Profile(llvm::FoldingSetNodeID &id) const;

private:
  friend class ExprContext;
  ExprKind kind;
  Type type;
  Expr *lhs = nullptr;
  Expr *rhs = nullptr;
  double number = 0.0;
  Value value;
  AffineMap map;
  uint64_t dims = 0;
  int64_t staticCount = 0;
  ArrayRef<DimRef> countDims;
  uint64_t deps = 0;
};

/// Owns and uniques the nodes of one expression view over an iteration space
/// of shape `shape` (rank at most 64; dynamic sizes allowed). The factory
/// methods fold constants and apply the exact algebraic identities listed at
/// each of them; anything else is kept as written.
class ExprContext {
public:
  explicit ExprContext(ArrayRef<int64_t> shape)
      : shape(shape), rank(shape.size()) {}
  ExprContext(const ExprContext &) = delete;
  ExprContext &operator=(const ExprContext &) = delete;

  unsigned getRank() const { return rank; }
  /// The sizes of the dims of the space.
  ArrayRef<int64_t> getShape() const { return shape; }
  /// The mask of all dims of the space.
  uint64_t getAllDims() const {
    return rank >= 64 ? ~uint64_t(0) : (uint64_t(1) << rank) - 1;
  }

  /// `value` rounded to the float type `type`.
  Expr *constant(double value, Type type);
  Expr *scalar(Value value);
  /// `tensor[map(p)]` (a tensor, or a memref's content where it is read).
  /// Indices into static unit dims are made 0, so that broadcast and
  /// non-broadcast reads of a unit dim are the same node.
  Expr *load(Value tensor, AffineMap map);
  /// A count; one without dims and of float type is a constant.
  Expr *count(int64_t staticCount, ArrayRef<DimRef> dims, Type type);

  /// Folds constants; `a + 0 = a`; `a + b*(-1) = a - b`.
  Expr *add(Expr *a, Expr *b);
  /// Folds constants; `a - 0 = a`.
  Expr *sub(Expr *a, Expr *b);
  /// Folds constants; `a * 1 = a`.
  Expr *mul(Expr *a, Expr *b);
  /// `a * b^-1`.
  Expr *div(Expr *a, Expr *b);
  /// `a * -1`.
  Expr *neg(Expr *a);
  /// Folds constants to integer powers; `a^1 = a`; `(a^p)^q = a^(pq)` when
  /// that holds for every real a (q an integer, or p an odd integer).
  Expr *pow(Expr *a, double exponent);
  /// Folds constants and counts; merges nested extensions.
  Expr *ext(Expr *a, Type type);
  /// Folds constants and counts; `trunc(ext(a)) = a` back to a's own type.
  Expr *trunc(Expr *a, Type type);
  /// Merges a sum of a sum over disjoint dims into one.
  Expr *reduce(Expr *body, uint64_t reducedDims);
  /// `min(a, b)` / `max(a, b)`, NaN-propagating (operands ordered).
  Expr *min(Expr *a, Expr *b);
  Expr *max(Expr *a, Expr *b);
  Expr *roundEven(Expr *a);
  /// `a` converted to the signed integer type `type`.
  Expr *toInt(Expr *a, Type type);

private:
  Expr *get(ExprKind kind, Type type, Expr *lhs, Expr *rhs, double number,
            Value value, AffineMap map, uint64_t dims, int64_t staticCount,
            ArrayRef<DimRef> countDims);

  SmallVector<int64_t> shape;
  unsigned rank;
  llvm::BumpPtrAllocator allocator;
  llvm::FoldingSet<Expr> nodes;
};

/// A read of a memref by a chain op: the buffer, the op reading it, and
/// whether the translation left the content opaque (a `Load` of the buffer,
/// which is true only while nothing writes the buffer).
struct BufferRead {
  Value buffer;
  Operation *reader;
  bool opaque;
};

/// Translates tensor values of the IR into expressions. One translator
/// serves one match attempt: it memoises every value it translated, records
/// which ops it looked through, which tensor value each expression was
/// materialised as, and which tensor dims are dims of the iteration space.
///
/// Translation is exact: anything it does not understand (an unknown op, a
/// body it cannot read, a shape it cannot prove) becomes a `Load` of the
/// value, which is always a true description of it.
///
/// Memrefs (linalg on buffers, CaptureBuffers.cpp): a buffer read by an op
/// holds what its last writer before that op in the block wrote, which is
/// translated like a tensor result; a buffer nothing wrote before is read as
/// a `Load`. Anything the translation cannot prove about buffers (a view, a
/// writer that is not a linalg op, an op with unknown effects, in-place
/// reads at other indices than written) poisons the translation: no capture
/// may rest on it.
class ExprTranslator {
public:
  explicit ExprTranslator(ExprContext &ctx) : ctx(ctx) {}
  /// A translator that looks only through the ops `lookThrough` accepts;
  /// the results of others are read as `Load`s (fusion matches one op and
  /// its operands as they are).
  ExprTranslator(ExprContext &ctx,
                 std::function<bool(Operation *)> lookThrough)
      : ctx(ctx), lookThrough(std::move(lookThrough)) {}

  ExprContext &getContext() { return ctx; }
  /// The expression of `tensor` read at `map(p)` (`map` goes from the
  /// iteration space to the tensor's dims, with dim or constant-0 results).
  Expr *translate(Value tensor, AffineMap map);
  /// The expression of what the linalg op `writer`, on buffers, writes into
  /// its init `init`, read at `map(p)`.
  Expr *translateWrite(Operation *writer, unsigned init, AffineMap map);
  /// Whether buffer IR was met that the translation cannot reason about.
  bool isPoisoned() const { return poisoned; }
  /// Every read of a memref the translation made.
  ArrayRef<BufferRead> getBufferReads() const { return bufferReads; }
  /// The expression of a scalar (float, integer or index) value.
  Expr *translateScalar(Value scalar);

  /// The ops translated so far (not counting constants), in visit order.
  ArrayRef<Operation *> getVisitedOps() const {
    return visitedOps.getArrayRef();
  }
  bool wasVisited(Operation *op) const { return visitedOps.contains(op); }
  /// A tensor value of rank R whose identity read is `expr`, if any.
  Value getMaterializedValue(Expr *expr) const {
    return materialized.lookup(expr);
  }
  /// The dim of the iteration space that dim `dim` of `tensor` was read
  /// along, if it was read along exactly one.
  std::optional<unsigned> resolveDim(Value tensor, unsigned dim) const;
  /// The first op translated into `expr` (a payload's scalar op rather than
  /// its linalg op; for a sum, the payload's accumulating add), if any.
  Operation *getOrigin(Expr *expr) const { return origins.lookup(expr); }

private:
  friend class BodyTranslator;
  /// A tensor (`translate`) or a buffer read by `reader`.
  Expr *translateOperand(Value value, AffineMap map, Operation *reader);
  Expr *translateBuffer(Value buffer, AffineMap map, Operation *reader);
  Expr *translateOp(Operation *op, Value result, AffineMap map);
  Expr *translateLinalg(Operation *op, unsigned resultNumber, AffineMap map);
  Expr *translateTosa(Operation *op, Value result, AffineMap map);
  Expr *translateElementwise(Operation *op, AffineMap map);
  Expr *translateReshape(Operation *op, Value result, AffineMap map);
  Expr *makeLoad(Value tensor, AffineMap map);
  /// Records `value` (a tensor, or a buffer's content) as the value of
  /// `expr` if `map` reads it whole, and which dims of the space its dims
  /// are.
  void noteWholeRead(Value value, AffineMap map, Expr *expr);
  void noteDim(Value tensor, unsigned dim, unsigned spaceDim);
  void noteOrigin(Expr *expr, Operation *op) { origins.try_emplace(expr, op); }

  /// A memoised translation, the depth it was made at, and whether the
  /// depth or budget limit cut part of it short.
  struct MemoEntry {
    Expr *expr;
    unsigned depth;
    bool partial;
  };
  /// Whether `entry` may be reused at the current depth; sets `expr`.
  bool lookupMemo(const MemoEntry *entry, Expr *&expr) const;
  /// Enters the translation of an op if the depth and budget allow.
  bool enter();

  ExprContext &ctx;
  std::function<bool(Operation *)> lookThrough;
  DenseMap<std::pair<Value, AffineMap>, MemoEntry> tensorMemo;
  DenseMap<Value, MemoEntry> scalarMemo;
  /// What a buffer writer (op, init) wrote, read at a map.
  DenseMap<std::tuple<Operation *, unsigned, AffineMap>, MemoEntry> writeMemo;
  SmallVector<BufferRead> bufferReads;
  bool poisoned = false;
  DenseMap<Expr *, Value> materialized;
  DenseMap<Expr *, Operation *> origins;
  /// Per tensor dim, the space dim it was read along, or -1 if several.
  DenseMap<std::pair<Value, unsigned>, int> dimOrigins;
  llvm::SetVector<Operation *> visitedOps;
  unsigned depth = 0;
  unsigned budget = 1024;
  /// How many translations the depth or budget limit cut short so far.
  unsigned cutoffs = 0;
};

/// Whether `result` (a result of an indexing map) reads a dim of `size`
/// elements along dim `dim` of an iteration space whose size there is
/// `spaceSize`: `d<dim>`, or 0 for a unit dim where the space's dim is a
/// unit too (torch-mlir's broadcast spelling).
bool readsAlongDim(AffineExpr result, unsigned dim, int64_t size,
                   int64_t spaceSize);

/// Whether reading a tensor (or memref) of `type` at `map` reads it whole,
/// element for element, over an iteration space of shape `space`: each dim
/// read along its own dim of the space, or a unit dim read at 0
/// (torch-mlir's broadcast spelling) where the space's dim is a unit too.
bool isWholeRead(AffineMap map, ShapedType type, ArrayRef<int64_t> space);

/// `map` with the results indexing static unit dims of `type` made 0: the
/// only index such a dim has, whatever the read spells.
AffineMap canonicalizeUnitDims(AffineMap map, ShapedType type);

/// Applies the scalar semantics of an elementwise op (arith, math or TOSA)
/// to operand expressions. Returns null for ops outside the view.
Expr *applyElementwiseOp(ExprContext &ctx, Operation *op,
                         ArrayRef<Expr *> operands);

/// How a tensor summed over the leading dims of a space (a norm's dgamma or
/// dbeta over the rows) is read: the space (x's static shape), the map
/// reading the tensor in it (its trailing dims) and how many leading dims
/// are summed away.
struct ColumnSumView {
  SmallVector<int64_t> space;
  AffineMap readMap;
  unsigned rows = 0;
};

/// The ColumnSumView of `value`: a result of a linalg op whose init map is
/// its loops' trailing dims (the other loops are summed), or a
/// `tosa.reshape` to the trailing dims of a chain of keepdim
/// `tosa.reduce_sum`s over every leading axis (torch-mlir's TOSA spelling).
/// Failure for anything else; the sum itself is for the caller to prove.
FailureOr<ColumnSumView> getColumnSumView(Value value);

} // namespace capture
} // namespace norm
} // namespace mlir

#endif // NORM_LIB_TRANSFORMS_CAPTUREEXPR_H
