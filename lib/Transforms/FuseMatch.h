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

/// Per-token dynamic quantisation of `y` (the norm's output, of type
/// `computeType`, f32), normalised over `[axis, rank)`, as a front end
/// spells it:
///   amax  = max-reduction over the normalised dims of |y| (abs in the
///           reduction's body or an elementwise op before it), from 0 or
///           -inf, with maximumf
///   scale = min(max(amax / qmax, floor), ub), each step optional but in
///           that order, qmax the quantised type's (127, 448), divided
///   q     = the quantisation of matchQuantization, dividing y by scale
///           read at the element's row
/// `consumer` computes q. `scale` is the scale tensor (shaped like the
/// rows, or keeping the normalised dims as units); `floor` 0 when absent;
/// `bound` the upper bound (a scalar or a constant), null when absent.
struct DynamicQuantization {
  Value scale;
  double floor = 0.0;
  Value bound;
  std::optional<double> constantBound;
};
std::optional<DynamicQuantization> matchDynamicQuantization(Operation *consumer,
                                                            Value y,
                                                            Type computeType,
                                                            int64_t axis);

/// `view`, a `tensor.expand_shape` of `y` (normalised over its last dim
/// alone, N long) into `[rows..., N/G, G]`: the rows kept, the normalised
/// dim split into groups of G consecutive elements, G static. Returns G.
/// Per-group quantisation reads the norm's output through such a view.
std::optional<int64_t> matchGroupView(Operation *view, Value y, int64_t axis);

} // namespace fuse
} // namespace norm
} // namespace mlir

#endif // NORM_LIB_TRANSFORMS_FUSEMATCH_H
