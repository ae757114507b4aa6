//===- RowStatistics.h - Recognise separately computed norm statistics ----===//
//
// Used by --norm-fuse to find, next to a norm op, another chain of ops that
// computes the same per-row mean or rstd of the same input, so that the
// chain can be replaced by the op's own mean / rstd result.
//
//===----------------------------------------------------------------------===//

#ifndef NORM_LIB_TRANSFORMS_ROWSTATISTICS_H
#define NORM_LIB_TRANSFORMS_ROWSTATISTICS_H

#include "norm/Dialect/Norm/IR/NormOps.h"

#include <optional>

namespace mlir {
namespace norm {

enum class StatisticKind { Mean, Rstd };

/// A value that computes one of a norm op's statistics.
struct StatisticMatch {
  StatisticKind kind;
  Value value;
};

/// Finds a row-shaped value, computed from `op`'s input (or input and
/// residual) by ops other than `op`, that equals `op`'s mean (LayerNorm) or
/// rstd up to rounding, where `op` does not produce that result yet. The
/// chain may be written with `arith`/`math` ops on tensors and any `linalg`
/// structured ops (generic, reduce, broadcast, fill, named elementwise),
/// split and nested in any way, with f16/bf16 values extended to f32:
///
///   mean = sum(h) / N               (or * (1/N))
///   var  = sum((h - mean)^2) / N    (LayerNorm; the square as d * d)
///   ms   = sum(h * h) / N           (RMSNorm)
///   rstd = rsqrt(var + eps)         (or 1 / sqrt(...)), eps equal to the op's
///
/// over exactly the normalised dims, with N the op's static row size. Only
/// values with a live use are returned; rstd before mean.
std::optional<StatisticMatch> findSeparateStatistic(NormOpInterface op);

} // namespace norm
} // namespace mlir

#endif // NORM_LIB_TRANSFORMS_ROWSTATISTICS_H
