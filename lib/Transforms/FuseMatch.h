//===- FuseMatch.h - What --norm-fuse absorbs, in the expression view -----===//
//
// The neighbours of a norm op that `--norm-fuse` absorbs, recognised in the
// expression view of the capture (CaptureExpr.h): one op (an add producing
// the input; a multiply, add, cast or quantisation consuming the output),
// read over the norm's iteration space, looking through that op alone (and
// the broadcasts feeding it). Every spelling the view reads (arith and math
// on tensors, any linalg structured op, TOSA with its broadcasting) is
// recognised alike.
//
//===----------------------------------------------------------------------===//

#ifndef NORM_LIB_TRANSFORMS_FUSEMATCH_H
#define NORM_LIB_TRANSFORMS_FUSEMATCH_H

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Operation.h"

#include <optional>

namespace mlir {
namespace norm {
namespace fuse {

/// `sum = input + residual`, element for element, both in `sum`'s own type,
/// computed by `sum`'s defining op; `input` is the op's first operand of
/// the two (a linalg op's first input).
struct ResidualSum {
  Value input;
  Value residual;
};
std::optional<ResidualSum> matchResidualSum(Value sum);

/// A tensor that varies only along the normalised dims `[axis, rank)`: of
/// the normalised shape, or with `leadingUnitDims` unit dims before it
/// (TOSA's rank-equal broadcasting), to be collapsed.
struct RowOperand {
  Value value;
  int64_t leadingUnitDims = 0;
};

/// `consumer`'s result as `y * w` (`isAdd`: `y + w`), `y` read element for
/// element and `w` broadcast along the rows, all of `y`'s type.
std::optional<RowOperand> matchAffineConsumer(Operation *consumer, Value y,
                                              int64_t axis, bool isAdd);

/// The float type `consumer` rounds `y` to (to nearest even), element for
/// element and narrower than `y`'s; null if it does not.
FloatType matchOutputCast(Operation *consumer, Value y);

/// `consumer`'s result as a quantisation of `y` (perhaps extended to the
/// compute type) by one scale for the whole tensor, divided in the compute
/// type:
///   i8:       fptosi(clamp(roundeven(y / s), -128, 127)) (or rounding after
///             the clamp)
///   f8E4M3FN: truncf(clamp(y / s, -448, 448))
/// with NaN-propagating min/max. The scale is a tensor read at index 0
/// (`scaleIsTensor`), a scalar, or a constant.
struct Quantization {
  Value scale;
  bool scaleIsTensor = false;
};
std::optional<Quantization> matchQuantization(Operation *consumer, Value y,
                                              Type computeType);

} // namespace fuse
} // namespace norm
} // namespace mlir

#endif // NORM_LIB_TRANSFORMS_FUSEMATCH_H
