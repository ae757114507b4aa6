//===- fusion_driver.cpp - Times fused vs separate add + RMSNorm + cast ---===//
//
// Built by bench/fusion.py with -DROWS, -DCOLS, -DSCALE and -DGROUP, and
// linked with the norm-mlir kernels it compiled (serial and OpenMP variants):
//
//   fusion_bench THREADS MIN_TIME MIN_REPS
//
// Times, interleaved (one call of each per round, after two warm-up
// rounds, for at least MIN_TIME seconds and MIN_REPS rounds), the fused
// kernels against the unfused sequences -- a C++ add, the norm-mlir f32
// RMSNorm kernel, a C++ cast or quantisation -- and memcpy, then prints one
// JSON object per implementation with its median time. Fused and unfused
// results are compared first: residual sums bit for bit, outputs within a
// bf16 ulp / an int8 step (reported). The dynamic quantisation forms (scales
// per row, and per group of GROUP) are timed against norm-mlir's fused
// add + RMSNorm f32 kernel followed by a C++ dynamic quantisation kernel;
// their scales must agree to an f32 rounding.
//
//===----------------------------------------------------------------------===//

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <immintrin.h>
#include <omp.h>

namespace {

constexpr long kRows = ROWS;
constexpr long kCols = COLS;
constexpr long kCount = kRows * kCols;
constexpr float kScale = SCALE;
constexpr long kGroup = GROUP;
static_assert(kCols % kGroup == 0, "GROUP must divide COLS");

template <int Rank> struct Memref {
  void *allocated;
  void *aligned;
  int64_t offset;
  int64_t sizes[Rank];
  int64_t strides[Rank];
};
using Matrix = Memref<2>;
using Vector = Memref<1>;

} // namespace

extern "C" {
#define NORM_KERNELS(P)                                                        \
  void _mlir_ciface_##P##_fused_f32(Matrix *, Matrix *, Vector *, Matrix *,    \
                                    Matrix *);                                 \
  void _mlir_ciface_##P##_fused_bf16(Matrix *, Matrix *, Vector *, Matrix *,   \
                                     Matrix *);                                \
  void _mlir_ciface_##P##_fused_i8(Matrix *, Matrix *, Vector *, float,        \
                                   Matrix *, Matrix *);                        \
  void _mlir_ciface_##P##_norm_f32(Matrix *, Vector *, Matrix *);              \
  void _mlir_ciface_##P##_fused_dyn_i8(Matrix *, Matrix *, Vector *, Matrix *, \
                                       Matrix *, Vector *);                    \
  void _mlir_ciface_##P##_fused_group_i8(Matrix *, Matrix *, Vector *,         \
                                         Matrix *, Matrix *, Matrix *);
NORM_KERNELS(serial)
NORM_KERNELS(omp)
#undef NORM_KERNELS
}

namespace {

struct Kernels {
  void (*fusedF32)(Matrix *, Matrix *, Vector *, Matrix *, Matrix *);
  void (*fusedBF16)(Matrix *, Matrix *, Vector *, Matrix *, Matrix *);
  void (*fusedI8)(Matrix *, Matrix *, Vector *, float, Matrix *, Matrix *);
  void (*norm)(Matrix *, Vector *, Matrix *);
  void (*fusedDynI8)(Matrix *, Matrix *, Vector *, Matrix *, Matrix *,
                     Vector *);
  void (*fusedGroupI8)(Matrix *, Matrix *, Vector *, Matrix *, Matrix *,
                       Matrix *);
};

const Kernels kSerial = {
    _mlir_ciface_serial_fused_f32,    _mlir_ciface_serial_fused_bf16,
    _mlir_ciface_serial_fused_i8,     _mlir_ciface_serial_norm_f32,
    _mlir_ciface_serial_fused_dyn_i8, _mlir_ciface_serial_fused_group_i8};
const Kernels kOpenMP = {
    _mlir_ciface_omp_fused_f32,    _mlir_ciface_omp_fused_bf16,
    _mlir_ciface_omp_fused_i8,     _mlir_ciface_omp_norm_f32,
    _mlir_ciface_omp_fused_dyn_i8, _mlir_ciface_omp_fused_group_i8};

double now() {
  timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

/// A 64-byte aligned buffer of `count` T, every page touched.
template <typename T> struct Buffer {
  T *data;
  explicit Buffer(long count) {
    size_t bytes = (count * sizeof(T) + 63) / 64 * 64;
    data = static_cast<T *>(std::aligned_alloc(64, bytes));
    std::memset(data, 0, bytes);
  }
  ~Buffer() { std::free(data); }
  Buffer(const Buffer &) = delete;
  Buffer &operator=(const Buffer &) = delete;
  Matrix matrix() { return {data, data, 0, {kRows, kCols}, {kCols, 1}}; }
  Vector vector() { return {data, data, 0, {kCols}, {1}}; }
};

//===----------------------------------------------------------------------===//
// The separate kernels of the unfused sequence: 16-lane vector loops (clang
// vector extensions: AVX-512 here, split on narrower ISAs) with
// non-temporal stores (as the norm kernel uses for large outputs), rows
// split between threads. COLS must be a multiple of 16 and rows 64-byte
// aligned (true of the benchmark shapes).
//===----------------------------------------------------------------------===//

typedef float F32x16 __attribute__((vector_size(64)));
typedef uint32_t U32x16 __attribute__((vector_size(64)));
typedef int32_t I32x16 __attribute__((vector_size(64)));
typedef uint16_t U16x16 __attribute__((vector_size(32)));
typedef int8_t I8x16 __attribute__((vector_size(16)));
typedef uint32_t U32x4 __attribute__((vector_size(16)));
static_assert(kCols % 16 == 0, "COLS must be a multiple of 16");

int gThreads = 1;

template <typename T> T load(const void *p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

void addKernel(const float *x, const float *r, float *h) {
#pragma omp parallel for num_threads(gThreads) schedule(static)
  for (long row = 0; row < kRows; ++row)
    for (long i = row * kCols; i < (row + 1) * kCols; i += 16)
      __builtin_nontemporal_store(load<F32x16>(x + i) + load<F32x16>(r + i),
                                  reinterpret_cast<F32x16 *>(h + i));
  _mm_sfence();
}

/// f32 -> bf16, round to nearest even, NaN kept quiet.
void castKernel(const float *y, uint16_t *out) {
#pragma omp parallel for num_threads(gThreads) schedule(static)
  for (long row = 0; row < kRows; ++row) {
    for (long i = row * kCols; i < (row + 1) * kCols; i += 16) {
      F32x16 v = load<F32x16>(y + i);
      U32x16 bits = load<U32x16>(y + i);
      U32x16 rounded = (bits + 0x7fff + ((bits >> 16) & 1)) >> 16;
      rounded = v != v ? U32x16() + 0x7fc0 : rounded;
      __builtin_nontemporal_store(__builtin_convertvector(rounded, U16x16),
                                  reinterpret_cast<U16x16 *>(out + i));
    }
  }
  _mm_sfence();
}

/// y / scale, round half to even, saturate, NaN -> 0: the op's semantics.
void quantKernel(const float *y, int8_t *out) {
#pragma omp parallel for num_threads(gThreads) schedule(static)
  for (long row = 0; row < kRows; ++row) {
    for (long i = row * kCols; i < (row + 1) * kCols; i += 16) {
      F32x16 q = __builtin_elementwise_roundeven(load<F32x16>(y + i) / kScale);
      q = __builtin_elementwise_min(__builtin_elementwise_max(q, F32x16() - 128),
                                    F32x16() + 127);
      q = q != q ? F32x16() : q;
      I32x16 wide = __builtin_convertvector(q, I32x16);
      // The empty asm keeps the backend from folding the narrowing into a
      // (temporal) truncating store.
      U32x4 bytes = __builtin_bit_cast(U32x4, __builtin_convertvector(wide, I8x16));
      asm("" : "+x"(bytes));
      __builtin_nontemporal_store(bytes, reinterpret_cast<U32x4 *>(out + i));
    }
  }
  _mm_sfence();
}

/// Dynamic quantisation of y, as the op defines it (no floor, no bound):
/// per group of `group` elements (a row when it is COLS), scale = amax|y| /
/// 127, stored, then y / scale quantised as quantKernel does. Two passes
/// over each group, the second from cache.
void dynamicQuantKernel(const float *y, int8_t *out, float *scales,
                        long group) {
#pragma omp parallel for num_threads(gThreads) schedule(static)
  for (long row = 0; row < kRows; ++row) {
    for (long g = 0; g < kCols / group; ++g) {
      long begin = row * kCols + g * group;
      F32x16 amax = F32x16();
      for (long i = begin; i < begin + group; i += 16)
        amax = __builtin_elementwise_maximum(
            amax, __builtin_elementwise_abs(load<F32x16>(y + i)));
      float m = 0;
      for (int lane = 0; lane < 16; ++lane)
        m = __builtin_elementwise_maximum(m, amax[lane]);
      float scale = m / 127.0f;
      scales[row * (kCols / group) + g] = scale;
      for (long i = begin; i < begin + group; i += 16) {
        F32x16 q = __builtin_elementwise_roundeven(load<F32x16>(y + i) / scale);
        q = __builtin_elementwise_min(
            __builtin_elementwise_max(q, F32x16() - 128), F32x16() + 127);
        q = q != q ? F32x16() : q;
        I32x16 wide = __builtin_convertvector(q, I32x16);
        U32x4 bytes =
            __builtin_bit_cast(U32x4, __builtin_convertvector(wide, I8x16));
        asm("" : "+x"(bytes));
        __builtin_nontemporal_store(bytes, reinterpret_cast<U32x4 *>(out + i));
      }
    }
  }
  _mm_sfence();
}

void copyKernel(const float *x, float *h) {
#pragma omp parallel num_threads(gThreads)
  {
    long chunk = (kCount + omp_get_num_threads() - 1) / omp_get_num_threads();
    long begin = std::min(kCount, chunk * omp_get_thread_num());
    long end = std::min(kCount, begin + chunk);
    std::memcpy(h + begin, x + begin, (end - begin) * sizeof(float));
  }
}

//===----------------------------------------------------------------------===//
// Timing.
//===----------------------------------------------------------------------===//

struct Impl {
  std::string name;
  double bytes;
  /// Runs once; adds the time of each part (unfused sequences) to `parts`.
  std::function<void(std::map<std::string, double> &)> run;
  std::vector<double> times;
  std::map<std::string, std::vector<double>> partTimes;
  double maxDiff = 0;
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

} // namespace

int main(int argc, char **argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s THREADS MIN_TIME MIN_REPS\n", argv[0]);
    return 2;
  }
  gThreads = std::atoi(argv[1]);
  double minTime = std::atof(argv[2]);
  int minReps = std::atoi(argv[3]);
  const Kernels &k = gThreads > 1 ? kOpenMP : kSerial;

  Buffer<float> x(kCount), r(kCount), w(kCols);
  Buffer<float> fusedH(kCount), unfusedH(kCount), fusedF32(kCount),
      unfusedF32(kCount);
  Buffer<uint16_t> fusedBF16(kCount), unfusedBF16(kCount);
  Buffer<int8_t> fusedI8(kCount), unfusedI8(kCount);
  uint64_t state = 42;
  auto uniform = [&] {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return float((state >> 40) * (1.0 / (1ull << 24))) * 2.0f - 1.0f;
  };
  for (long i = 0; i < kCount; ++i) {
    x.data[i] = uniform();
    r.data[i] = uniform();
  }
  for (long i = 0; i < kCols; ++i)
    w.data[i] = 1.0f + 0.5f * uniform();

  Matrix xm = x.matrix(), rm = r.matrix(), fhm = fusedH.matrix(),
         uhm = unfusedH.matrix(), ff32 = fusedF32.matrix(),
         uf32 = unfusedF32.matrix(), fbf16 = fusedBF16.matrix(),
         fi8 = fusedI8.matrix();
  Vector wm = w.vector();
  const double n = double(kCount), gammaBytes = 4.0 * kCols;
  auto timed = [](std::map<std::string, double> &parts, const char *part,
                  const std::function<void()> &body) {
    double start = now();
    body();
    parts[part] += now() - start;
  };
  auto add = [&](std::map<std::string, double> &parts) {
    timed(parts, "add", [&] { addKernel(x.data, r.data, unfusedH.data); });
  };
  auto norm = [&](std::map<std::string, double> &parts) {
    timed(parts, "norm", [&] { k.norm(&uhm, &wm, &uf32); });
  };

  std::vector<Impl> impls;
  impls.push_back({"memcpy", 8 * n, [&](std::map<std::string, double> &) {
                     copyKernel(x.data, unfusedH.data);
                   }});
  impls.push_back({"fused_f32", 16 * n + gammaBytes,
                   [&](std::map<std::string, double> &) {
                     k.fusedF32(&xm, &rm, &wm, &ff32, &fhm);
                   }});
  impls.push_back({"unfused_f32", (12 + 8) * n + gammaBytes,
                   [&](std::map<std::string, double> &parts) {
                     add(parts);
                     norm(parts);
                   }});
  impls.push_back({"fused_bf16", 14 * n + gammaBytes,
                   [&](std::map<std::string, double> &) {
                     k.fusedBF16(&xm, &rm, &wm, &fbf16, &fhm);
                   }});
  impls.push_back({"unfused_bf16", (12 + 8 + 6) * n + gammaBytes,
                   [&](std::map<std::string, double> &parts) {
                     add(parts);
                     norm(parts);
                     timed(parts, "cast", [&] {
                       castKernel(unfusedF32.data, unfusedBF16.data);
                     });
                   }});
  impls.push_back({"fused_i8", 13 * n + gammaBytes,
                   [&](std::map<std::string, double> &) {
                     k.fusedI8(&xm, &rm, &wm, kScale, &fi8, &fhm);
                   }});
  impls.push_back({"unfused_i8", (12 + 8 + 5) * n + gammaBytes,
                   [&](std::map<std::string, double> &parts) {
                     add(parts);
                     norm(parts);
                     timed(parts, "cast", [&] {
                       quantKernel(unfusedF32.data, unfusedI8.data);
                     });
                   }});
  // Dynamic quantisation: fused, against the fused add + norm f32 kernel
  // followed by a separate quantisation kernel.
  const long groupsPerRow = kCols / kGroup;
  Buffer<float> fusedScales(kRows * groupsPerRow),
      unfusedScales(kRows * groupsPerRow);
  Vector fsv = {fusedScales.data, fusedScales.data, 0, {kRows}, {1}};
  Matrix fsm = {fusedScales.data,
                fusedScales.data,
                0,
                {kRows, groupsPerRow},
                {groupsPerRow, 1}};
  const double scaleBytes = 4.0 * kRows;
  impls.push_back({"fused_dyn_i8", 13 * n + gammaBytes + scaleBytes,
                   [&](std::map<std::string, double> &) {
                     k.fusedDynI8(&xm, &rm, &wm, &fi8, &fhm, &fsv);
                   }});
  impls.push_back({"separate_dyn_i8", 16 * n + 5 * n + gammaBytes + scaleBytes,
                   [&](std::map<std::string, double> &parts) {
                     timed(parts, "norm",
                           [&] { k.fusedF32(&xm, &rm, &wm, &uf32, &uhm); });
                     timed(parts, "quant", [&] {
                       dynamicQuantKernel(unfusedF32.data, unfusedI8.data,
                                          unfusedScales.data, kCols);
                     });
                   }});
  impls.push_back({"fused_group_i8",
                   13 * n + gammaBytes + scaleBytes * groupsPerRow,
                   [&](std::map<std::string, double> &) {
                     k.fusedGroupI8(&xm, &rm, &wm, &fi8, &fhm, &fsm);
                   }});
  impls.push_back({"separate_group_i8",
                   16 * n + 5 * n + gammaBytes + scaleBytes * groupsPerRow,
                   [&](std::map<std::string, double> &parts) {
                     timed(parts, "norm",
                           [&] { k.fusedF32(&xm, &rm, &wm, &uf32, &uhm); });
                     timed(parts, "quant", [&] {
                       dynamicQuantKernel(unfusedF32.data, unfusedI8.data,
                                          unfusedScales.data, kGroup);
                     });
                   }});

  // Fused against unfused, form by form: the sums bit for bit, the outputs
  // within a bf16 ulp / an int8 step.
  std::map<std::string, double> ignored;
  for (int form = 0; form < 3; ++form) {
    impls[1 + 2 * form].run(ignored);
    impls[2 + 2 * form].run(ignored);
    if (std::memcmp(fusedH.data, unfusedH.data, kCount * sizeof(float))) {
      std::fprintf(stderr, "%s: residual sums differ\n",
                   impls[1 + 2 * form].name.c_str());
      return 1;
    }
    double diff = 0;
    for (long i = 0; i < kCount; ++i) {
      double d;
      if (form == 0)
        d = std::fabs(double(fusedF32.data[i]) - unfusedF32.data[i]);
      else if (form == 1)
        d = std::abs(int(fusedBF16.data[i]) - int(unfusedBF16.data[i]));
      else
        d = std::abs(int(fusedI8.data[i]) - int(unfusedI8.data[i]));
      diff = std::max(diff, d);
    }
    impls[1 + 2 * form].maxDiff = diff;
    if ((form == 1 || form == 2) && diff > 1) {
      std::fprintf(stderr, "%s: outputs differ by %g\n",
                   impls[1 + 2 * form].name.c_str(), diff);
      return 1;
    }
  }
  // The dynamic forms: sums bit for bit, scales to an f32 rounding (the
  // fused kernel's amax is of unrounded outputs), outputs within a step.
  for (int form = 0; form < 2; ++form) {
    Impl &fused = impls[7 + 2 * form], &separate = impls[8 + 2 * form];
    fused.run(ignored);
    separate.run(ignored);
    long scales = form ? kRows * groupsPerRow : kRows;
    double scaleDiff = 0, diff = 0;
    for (long i = 0; i < scales; ++i)
      scaleDiff = std::max(
          scaleDiff,
          std::fabs(double(fusedScales.data[i]) - unfusedScales.data[i]) /
              std::max(1e-30, double(unfusedScales.data[i])));
    for (long i = 0; i < kCount; ++i)
      diff = std::max(diff, double(std::abs(int(fusedI8.data[i]) -
                                            int(unfusedI8.data[i]))));
    fused.maxDiff = diff;
    if (std::memcmp(fusedH.data, unfusedH.data, kCount * sizeof(float)) ||
        scaleDiff > 1e-6 || diff > 1) {
      std::fprintf(stderr, "%s: sums, scales (%g) or outputs (%g) differ\n",
                   fused.name.c_str(), scaleDiff, diff);
      return 1;
    }
  }

  for (int warm = 0; warm < 2; ++warm)
    for (Impl &impl : impls)
      impl.run(ignored);
  double start = now();
  for (int round = 0; round < minReps || now() - start < minTime; ++round) {
    for (Impl &impl : impls) {
      std::map<std::string, double> parts;
      double t0 = now();
      impl.run(parts);
      impl.times.push_back(now() - t0);
      for (auto &[part, seconds] : parts)
        impl.partTimes[part].push_back(seconds);
    }
  }

  for (Impl &impl : impls) {
    double t = median(impl.times);
    std::printf("{\"impl\": \"%s\", \"threads\": %d, \"rows\": %ld, "
                "\"n\": %ld, \"median_s\": %.6f, \"bytes\": %.0f, "
                "\"gbps\": %.3f, \"reps\": %zu, \"max_diff\": %g, "
                "\"parts_ms\": {",
                impl.name.c_str(), gThreads, kRows, kCols, t, impl.bytes,
                impl.bytes / t * 1e-9, impl.times.size(), impl.maxDiff);
    bool first = true;
    for (auto &[part, times] : impl.partTimes) {
      std::printf("%s\"%s\": %.3f", first ? "" : ", ", part.c_str(),
                  median(times) * 1e3);
      first = false;
    }
    std::printf("}}\n");
  }
  return 0;
}
