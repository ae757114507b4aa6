// Types shared by the benchmark driver and the generated kernel table.
#ifndef NORM_BENCH_TYPES_H
#define NORM_BENCH_TYPES_H

#include <cstdint>

/// A ranked memref descriptor as MLIR's C interface passes it.
template <int Rank> struct Memref {
  void *allocated;
  void *aligned;
  int64_t offset;
  int64_t sizes[Rank];
  int64_t strides[Rank];
};

/// One AOT-compiled kernel: `_mlir_ciface_<impl>_<op>_<dtype>_<rows>x<n>`.
struct KernelEntry {
  const char *impl;
  const char *op;
  const char *dtype;
  long rows;
  long n;
  bool hasBeta;
  void *fn;
};

#endif // NORM_BENCH_TYPES_H
