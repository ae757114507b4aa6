//===- grad_driver.cpp - Times LayerNorm / RMSNorm gradient kernels -------===//
//
// Built by bench/grad.py, which generates bench_kernels.h (the table of the
// AOT-compiled gradient kernels). Times several implementations of the
// backward pass on every configuration given on the command line and prints
// one JSON object per implementation and configuration:
//
//   grad_bench --threads 1 --impls memcpy,norm,onednn layer_norm:f32:4096x768
//
// Each implementation computes dx, dgamma and (LayerNorm) dbeta from x, dy,
// gamma and the saved statistics (mean, rstd; computed here in float64 and
// stored as f32, as a forward kernel would have saved them):
//
//   memcpy          the same traffic, dx = x + dy streamed (no gradient)
//   twosweep        the least any kernel from saved statistics does: per
//                   row, s = sum(x dy) (x and dy from memory), then
//                   dx = x s + dy streamed (the row again, from cache).
//                   dx needs the row's sums first, so this bounds the
//                   kernels' structure, not their arithmetic (no gradient)
//   norm, norm_omp  norm-mlir's kernel (serial / openmp=true pipeline)
//   upstream[_omp]  the same IR through upstream MLIR's passes
//   onednn          dnnl::layer_normalization_backward (LayerNorm only)
//
// The implementations of one configuration run interleaved, one repetition
// of each per round, on the same buffers (every page touched before
// timing). Rounds go on for at least --min-time seconds and --min-reps
// rounds, after two warm-up rounds (the first is the check); each median is
// reported. Before timing, each implementation's dx is checked on a sample
// of rows, and its dgamma and dbeta on every column, against float64
// (max_err: dx relative to max(1, |ref|), the sums relative to
// max(sqrt(rows), |ref|)).
//
// As bench/driver.cpp, the driver is linked so that oneDNN's libgomp.so.1 is
// LLVM's libomp: one OpenMP runtime in the process.
//
//===----------------------------------------------------------------------===//

#include "bench_types.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <omp.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include <oneapi/dnnl/dnnl.hpp>

#include "bench_kernels.h"

namespace {

/// Streams (x, dy, dx together) above this many bytes use non-temporal
/// stores in the memcpy-equivalent loop: they cannot stay in the caches
/// between calls anyway (this machine's L3 is 32 MiB, shared).
constexpr double kStreamingBytes = 16.0 * (1 << 20);

struct Shape {
  std::string op, dtype;
  long rows = 0, n = 0;
  bool layerNorm() const { return op == "layer_norm"; }
  bool bf16() const { return dtype == "bf16"; }
  size_t width() const { return bf16() ? 2 : 4; }
  size_t elements() const { return size_t(rows) * size_t(n); }
  double eps() const { return layerNorm() ? 1e-5 : 1e-6; }
};

double clockSeconds() {
  timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return double(t.tv_sec) + 1e-9 * double(t.tv_nsec);
}

/// bf16 <-> float, round to nearest even.
float widen(uint16_t bits) {
  uint32_t wide = uint32_t(bits) << 16;
  float value;
  std::memcpy(&value, &wide, sizeof value);
  return value;
}
uint16_t narrow(float value) {
  if (value != value)
    return 0x7fc0;
  uint32_t wide;
  std::memcpy(&wide, &value, sizeof wide);
  return uint16_t((wide + 0x7fffu + ((wide >> 16) & 1u)) >> 16);
}

/// 64-byte aligned storage for `bytes`, written once so that its pages are
/// mapped before anything is timed.
class Storage {
public:
  explicit Storage(size_t bytes) : size(bytes) {
    ptr = std::aligned_alloc(64, (bytes + 63) & ~size_t(63));
    std::memset(ptr, 0, (bytes + 63) & ~size_t(63));
  }
  ~Storage() { std::free(ptr); }
  Storage(const Storage &) = delete;
  Storage &operator=(const Storage &) = delete;
  void *get() const { return ptr; }
  size_t bytes() const { return size; }
  /// All ones: NaN in f32 and in bf16, so that an element not written fails
  /// the check.
  void poison() { std::memset(ptr, 0xff, size); }

private:
  void *ptr;
  size_t size;
};

/// Element `i` of f32 (or, with `bf16`, bf16) data.
double elementAt(const void *data, bool bf16, size_t i) {
  return bf16 ? double(widen(static_cast<const uint16_t *>(data)[i]))
              : double(static_cast<const float *>(data)[i]);
}
void setElement(void *data, bool bf16, size_t i, double value) {
  if (bf16)
    static_cast<uint16_t *>(data)[i] = narrow(float(value));
  else
    static_cast<float *>(data)[i] = float(value);
}

//===----------------------------------------------------------------------===//
// The problem: inputs, saved statistics, destinations, reference
//===----------------------------------------------------------------------===//

struct Problem {
  Shape s;
  Storage x, dy, gamma;        // element type
  Storage mean, rstd, var;     // f32, one per row (var: oneDNN's statistic)
  Storage dx, dgamma, dbeta;   // element type
  std::vector<long> checkRows; // rows whose dx is checked
  std::vector<double> dxRef;   // their reference dx, row after row
  std::vector<double> dgammaRef, dbetaRef;

  explicit Problem(const Shape &shape)
      : s(shape), x(s.elements() * s.width()), dy(s.elements() * s.width()),
        gamma(s.n * s.width()), mean(s.rows * 4), rstd(s.rows * 4),
        var(s.rows * 4), dx(s.elements() * s.width()), dgamma(s.n * s.width()),
        dbeta(s.n * s.width()) {
    fill();
    saveStatistics();
    buildReference();
  }

  const float *rowMean() const {
    return static_cast<const float *>(mean.get());
  }
  const float *rowRstd() const {
    return static_cast<const float *>(rstd.get());
  }

  /// x ~ U(-2, 2), dy ~ U(-1, 1), gamma ~ U(0.5, 1.5), from splitmix64 (a
  /// power-of-two LCG would make the columns, a power-of-two stride apart,
  /// far from random: dgamma and dbeta sum down the columns).
  void fill() {
    uint64_t counter = 0;
    auto next = [&] {
      uint64_t z = ++counter * 0x9e3779b97f4a7c15ull;
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
      return double((z ^ (z >> 31)) >> 11) * 0x1.0p-53;
    };
    for (size_t i = 0; i < s.elements(); ++i) {
      setElement(x.get(), s.bf16(), i, 4 * next() - 2);
      setElement(dy.get(), s.bf16(), i, 2 * next() - 1);
    }
    for (long i = 0; i < s.n; ++i)
      setElement(gamma.get(), s.bf16(), i, 0.5 + next());
  }

  /// The statistics a forward pass saves, in float64 from the (rounded)
  /// inputs: LayerNorm mean and variance of the row, RMSNorm its mean
  /// square; rstd = 1 / sqrt(var + eps).
  void saveStatistics() {
    auto *m = static_cast<float *>(mean.get());
    auto *r = static_cast<float *>(rstd.get());
    auto *v = static_cast<float *>(var.get());
    for (long row = 0; row < s.rows; ++row) {
      size_t base = size_t(row) * s.n;
      double mu = 0, sq = 0;
      if (s.layerNorm()) {
        for (long i = 0; i < s.n; ++i)
          mu += elementAt(x.get(), s.bf16(), base + i);
        mu /= double(s.n);
      }
      for (long i = 0; i < s.n; ++i) {
        double d = elementAt(x.get(), s.bf16(), base + i) - mu;
        sq += d * d;
      }
      m[row] = float(mu);
      v[row] = float(sq / double(s.n));
      r[row] = float(1 / std::sqrt(sq / double(s.n) + s.eps()));
    }
  }

  /// xhat of element i of `row`, from the saved (f32) statistics.
  double xhat(long row, long i) const {
    double mu = s.layerNorm() ? double(rowMean()[row]) : 0.0;
    return (elementAt(x.get(), s.bf16(), size_t(row) * s.n + i) - mu) *
           double(rowRstd()[row]);
  }

  /// Float64 gradients: dgamma, dbeta over every row; dx on the first 8
  /// rows, every (rows / 32)-th row and the last.
  void buildReference() {
    dgammaRef.assign(s.n, 0.0);
    dbetaRef.assign(s.n, 0.0);
    for (long row = 0; row < s.rows; ++row)
      for (long i = 0; i < s.n; ++i) {
        double d = elementAt(dy.get(), s.bf16(), size_t(row) * s.n + i);
        dgammaRef[i] += d * xhat(row, i);
        dbetaRef[i] += d;
      }
    long stride = std::max(1L, s.rows / 32);
    for (long row = 0; row < s.rows; ++row)
      if (row < 8 || row % stride == 0 || row == s.rows - 1)
        checkRows.push_back(row);
    for (long row : checkRows) {
      double sumW = 0, sumWX = 0;
      std::vector<double> w(s.n);
      for (long i = 0; i < s.n; ++i) {
        w[i] = elementAt(gamma.get(), s.bf16(), i) *
               elementAt(dy.get(), s.bf16(), size_t(row) * s.n + i);
        sumW += w[i];
        sumWX += w[i] * xhat(row, i);
      }
      double meanW = s.layerNorm() ? sumW / double(s.n) : 0.0;
      double meanWX = sumWX / double(s.n);
      for (long i = 0; i < s.n; ++i)
        dxRef.push_back(double(rowRstd()[row]) *
                        (w[i] - meanW - xhat(row, i) * meanWX));
    }
  }
};

/// Worst error of one output: |got - ref| / max(floor, |ref|).
double worst(double current, double got, double ref, double floor) {
  double err = std::fabs(got - ref) / std::max(floor, std::fabs(ref));
  if (std::isnan(err))
    return INFINITY;
  return std::max(current, err);
}

struct Errors {
  double dx = 0, dgamma = 0, dbeta = 0;
  double max() const { return std::max(dx, std::max(dgamma, dbeta)); }
};

/// Errors of the destinations against the reference. `paramsF32`: dgamma
/// and dbeta hold f32 (oneDNN's) instead of the element type.
Errors check(const Problem &p, const void *dgamma, const void *dbeta,
             bool paramsF32) {
  const Shape &s = p.s;
  Errors e;
  size_t k = 0;
  for (long row : p.checkRows)
    for (long i = 0; i < s.n; ++i, ++k)
      e.dx = worst(e.dx, elementAt(p.dx.get(), s.bf16(), size_t(row) * s.n + i),
                   p.dxRef[k], 1.0);
  bool paramsBF16 = s.bf16() && !paramsF32;
  double floor = std::sqrt(double(s.rows));
  for (long i = 0; i < s.n; ++i) {
    e.dgamma = worst(e.dgamma, elementAt(dgamma, paramsBF16, i), p.dgammaRef[i],
                     floor);
    if (s.layerNorm())
      e.dbeta =
          worst(e.dbeta, elementAt(dbeta, paramsBF16, i), p.dbetaRef[i], floor);
  }
  return e;
}

//===----------------------------------------------------------------------===//
// Implementations
//===----------------------------------------------------------------------===//

/// dx = x + dy over 64-byte vectors (bf16: the bits added as integers; only
/// the traffic matters), rows split between threads.
template <typename T>
void streamAdd(const void *a, const void *b, void *out, size_t count,
               int threads, bool nonTemporal) {
  typedef T Vector __attribute__((vector_size(64)));
  constexpr size_t lanes = 64 / sizeof(T);
  const long vectors = long(count / lanes);
  const auto *va = static_cast<const Vector *>(a);
  const auto *vb = static_cast<const Vector *>(b);
  auto *vo = static_cast<Vector *>(out);
  if (nonTemporal) {
#pragma omp parallel for num_threads(threads) schedule(static)
    for (long i = 0; i < vectors; ++i)
      __builtin_nontemporal_store(va[i] + vb[i], &vo[i]);
#if defined(__x86_64__)
    _mm_sfence();
#endif
  } else {
#pragma omp parallel for num_threads(threads) schedule(static)
    for (long i = 0; i < vectors; ++i)
      vo[i] = va[i] + vb[i];
  }
  for (size_t i = size_t(vectors) * lanes; i < count; ++i)
    static_cast<T *>(out)[i] =
        T(static_cast<const T *>(a)[i] + static_cast<const T *>(b)[i]);
}

/// Per row: s = sum(a b) over the row, then out = a s + b over the row
/// again (from cache), the rows split between threads. The traffic and the
/// two sweeps of a gradient kernel, with its arithmetic left out (bf16: the
/// bits as integers, as streamAdd's).
template <typename T>
void twoSweeps(const void *a, const void *b, void *out, long rows, long n,
               int threads, bool nonTemporal) {
  typedef T Vector __attribute__((vector_size(64)));
  constexpr long lanes = 64 / sizeof(T);
  const long vectors = n / lanes;
#pragma omp parallel for num_threads(threads) schedule(static)
  for (long r = 0; r < rows; ++r) {
    const auto *ra =
        reinterpret_cast<const Vector *>(static_cast<const T *>(a) + r * n);
    const auto *rb =
        reinterpret_cast<const Vector *>(static_cast<const T *>(b) + r * n);
    auto *ro = reinterpret_cast<Vector *>(static_cast<T *>(out) + r * n);
    Vector sum = {};
    for (long i = 0; i < vectors; ++i)
      sum += ra[i] * rb[i];
    T s = 0;
    for (long l = 0; l < lanes; ++l)
      s += sum[l];
    for (long i = 0; i < vectors; ++i) {
      Vector value = ra[i] * s + rb[i];
      if (nonTemporal)
        __builtin_nontemporal_store(value, &ro[i]);
      else
        ro[i] = value;
    }
  }
#if defined(__x86_64__)
  if (nonTemporal)
    _mm_sfence();
#endif
}

void runTwoSweeps(Problem &p, int threads) {
  // Rows of whole vectors only: the shapes timed here are.
  bool nonTemporal = 3.0 * double(p.x.bytes()) > kStreamingBytes;
  if (p.s.bf16())
    twoSweeps<uint16_t>(p.x.get(), p.dy.get(), p.dx.get(), p.s.rows, p.s.n,
                        threads, nonTemporal);
  else
    twoSweeps<float>(p.x.get(), p.dy.get(), p.dx.get(), p.s.rows, p.s.n,
                     threads, nonTemporal);
}

void runStream(Problem &p, int threads) {
  bool nonTemporal = 3.0 * double(p.x.bytes()) > kStreamingBytes;
  if (p.s.bf16())
    streamAdd<uint16_t>(p.x.get(), p.dy.get(), p.dx.get(), p.s.elements(),
                        threads, nonTemporal);
  else
    streamAdd<float>(p.x.get(), p.dy.get(), p.dx.get(), p.s.elements(), threads,
                     nonTemporal);
}

const KernelEntry *lookup(const std::string &impl, const Shape &s) {
  for (int i = 0; i < kNumKernels; ++i) {
    const KernelEntry &k = kKernels[i];
    if (impl == k.impl && s.op == k.op && s.dtype == k.dtype &&
        s.rows == k.rows && s.n == k.n)
      return &k;
  }
  return nullptr;
}

/// Calls a gradient kernel through its C interface. bench_kernels.h only
/// names the symbols; the arguments are (memref descriptors):
///   LayerNorm: x, dy, gamma, mean, rstd, dx, dgamma, dbeta
///   RMSNorm:   x, dy, gamma, rstd, dx, dgamma
void callKernel(const KernelEntry &k, Problem &p) {
  const Shape &s = p.s;
  auto full = [&](const Storage &b) {
    return Memref<2>{b.get(), b.get(), 0, {s.rows, s.n}, {s.n, 1}};
  };
  auto vec = [](const Storage &b, long size) {
    return Memref<1>{b.get(), b.get(), 0, {size}, {1}};
  };
  Memref<2> x = full(p.x), dy = full(p.dy), dx = full(p.dx);
  Memref<1> gamma = vec(p.gamma, s.n), mean = vec(p.mean, s.rows),
            rstd = vec(p.rstd, s.rows), dgamma = vec(p.dgamma, s.n),
            dbeta = vec(p.dbeta, s.n);
  if (k.hasBeta) {
    using Fn = void (*)(void *, void *, void *, void *, void *, void *, void *,
                        void *);
    reinterpret_cast<Fn>(k.fn)(&x, &dy, &gamma, &mean, &rstd, &dx, &dgamma,
                               &dbeta);
  } else {
    using Fn = void (*)(void *, void *, void *, void *, void *, void *);
    reinterpret_cast<Fn>(k.fn)(&x, &dy, &gamma, &rstd, &dx, &dgamma);
  }
}

/// oneDNN's layer_normalization_backward (prop_kind::backward: diff_src,
/// diff_scale and diff_shift), from the saved mean and variance. Scale and
/// its gradients are f32, as oneDNN 2.6 requires.
struct OneDNNBackward {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
  dnnl::layer_normalization_backward prim;
  std::vector<float> scale, shift, dScale, dShift;
  std::unordered_map<int, dnnl::memory> args;

  explicit OneDNNBackward(Problem &p) {
    using namespace dnnl;
    const Shape &s = p.s;
    auto dt = s.bf16() ? memory::data_type::bf16 : memory::data_type::f32;
    memory::desc data({s.rows, s.n}, dt, memory::format_tag::ab);
    memory::desc stat({s.rows}, memory::data_type::f32, memory::format_tag::a);
    memory::desc param({s.n}, memory::data_type::f32, memory::format_tag::a);
    auto flags =
        normalization_flags::use_scale | normalization_flags::use_shift;
    layer_normalization_forward::desc fwd(prop_kind::forward_training, data,
                                          stat, float(s.eps()), flags);
    layer_normalization_forward::primitive_desc fwdPd(fwd, engine);
    layer_normalization_backward::desc bwd(prop_kind::backward, data, data,
                                           stat, float(s.eps()), flags);
    layer_normalization_backward::primitive_desc pd(bwd, engine, fwdPd);
    prim = layer_normalization_backward(pd);
    scale.resize(s.n);
    shift.assign(s.n, 0.0f);
    dScale.resize(s.n);
    dShift.resize(s.n);
    for (long i = 0; i < s.n; ++i)
      scale[i] = float(elementAt(p.gamma.get(), s.bf16(), i));
    args = {{DNNL_ARG_SRC, memory(data, engine, p.x.get())},
            {DNNL_ARG_DIFF_DST, memory(data, engine, p.dy.get())},
            {DNNL_ARG_MEAN, memory(stat, engine, p.mean.get())},
            {DNNL_ARG_VARIANCE, memory(stat, engine, p.var.get())},
            {DNNL_ARG_SCALE, memory(param, engine, scale.data())},
            {DNNL_ARG_SHIFT, memory(param, engine, shift.data())},
            {DNNL_ARG_DIFF_SRC, memory(data, engine, p.dx.get())},
            {DNNL_ARG_DIFF_SCALE, memory(param, engine, dScale.data())},
            {DNNL_ARG_DIFF_SHIFT, memory(param, engine, dShift.data())}};
  }
  void run() {
    prim.execute(stream, args);
    stream.wait();
  }
  void poison() {
    std::fill(dScale.begin(), dScale.end(), NAN);
    std::fill(dShift.begin(), dShift.end(), NAN);
  }
};

/// One implementation, ready to run on one configuration.
struct Contender {
  std::string name;
  std::function<void()> run;
  std::function<Errors()> verify; // empty: nothing to check (memcpy, twosweep)
  std::vector<double> times;
  Errors errors;
};

bool parseShape(const char *text, Shape &s) {
  char op[32], dtype[16];
  if (std::sscanf(text, "%31[a-z_]:%15[a-z0-9]:%ldx%ld", op, dtype, &s.rows,
                  &s.n) != 4)
    return false;
  s.op = op;
  s.dtype = dtype;
  return s.rows > 0 && s.n > 0;
}

std::vector<std::string> splitList(const std::string &text) {
  std::vector<std::string> items;
  std::string item;
  for (char ch : text + ",") {
    if (ch != ',') {
      item += ch;
    } else if (!item.empty()) {
      items.push_back(item);
      item.clear();
    }
  }
  return items;
}

/// The contenders for one problem, in the order asked for; oneDNN is
/// left out (with a note) where it has no such primitive.
bool prepare(const std::vector<std::string> &impls, Problem &p, int threads,
             std::unique_ptr<OneDNNBackward> &dnn,
             std::vector<Contender> &out) {
  const Shape &s = p.s;
  for (const std::string &impl : impls) {
    Contender c;
    c.name = impl;
    if (impl == "memcpy") {
      c.run = [&p, threads] { runStream(p, threads); };
    } else if (impl == "twosweep") {
      if (s.n % (64 / long(s.width())) != 0) {
        std::fprintf(stderr, "twosweep: rows of whole 64-byte vectors only\n");
        continue;
      }
      c.run = [&p, threads] { runTwoSweeps(p, threads); };
    } else if (impl == "onednn") {
      if (!s.layerNorm())
        continue; // oneDNN 2.6 has no RMSNorm
      try {
        dnn = std::make_unique<OneDNNBackward>(p);
      } catch (const dnnl::error &e) {
        std::fprintf(stderr, "onednn: no backward for %s %s %ldx%ld: %s\n",
                     s.op.c_str(), s.dtype.c_str(), s.rows, s.n, e.what());
        continue;
      }
      // dx is the shared destination; dScale and dShift are oneDNN's own.
      OneDNNBackward *d = dnn.get();
      c.run = [d] { d->run(); };
      c.verify = [&p, d] {
        return check(p, d->dScale.data(), d->dShift.data(), true);
      };
    } else {
      const KernelEntry *k = lookup(impl, s);
      if (!k) {
        std::fprintf(stderr, "no kernel %s for %s:%s:%ldx%ld\n", impl.c_str(),
                     s.op.c_str(), s.dtype.c_str(), s.rows, s.n);
        return false;
      }
      c.run = [k, &p] { callKernel(*k, p); };
      c.verify = [&p] {
        return check(p, p.dgamma.get(), p.dbeta.get(), false);
      };
    }
    out.push_back(std::move(c));
  }
  return true;
}

} // namespace

int main(int argc, char **argv) {
  std::vector<std::string> impls;
  int threads = 1, minReps = 5, maxReps = 200;
  double minTime = 0.4;
  std::vector<Shape> shapes;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    bool hasValue = i + 1 < argc;
    if (arg == "--impls" && hasValue)
      impls = splitList(argv[++i]);
    else if (arg == "--threads" && hasValue)
      threads = std::atoi(argv[++i]);
    else if (arg == "--min-time" && hasValue)
      minTime = std::atof(argv[++i]);
    else if (arg == "--min-reps" && hasValue)
      minReps = std::atoi(argv[++i]);
    else if (arg == "--max-reps" && hasValue)
      maxReps = std::atoi(argv[++i]);
    else if (Shape s; parseShape(argv[i], s))
      shapes.push_back(s);
    else {
      std::fprintf(stderr, "bad argument %s\n", argv[i]);
      return 2;
    }
  }
  omp_set_num_threads(threads);

  for (const Shape &s : shapes) {
    Problem p(s);
    std::unique_ptr<OneDNNBackward> dnn;
    std::vector<Contender> contenders;
    if (!prepare(impls, p, threads, dnn, contenders))
      return 1;

    // Check each implementation on poisoned destinations, then warm up.
    for (Contender &c : contenders) {
      p.dx.poison();
      p.dgamma.poison();
      p.dbeta.poison();
      if (dnn)
        dnn->poison();
      c.run();
      if (c.verify)
        c.errors = c.verify();
      c.run();
    }
    // Interleaved rounds.
    double start = clockSeconds();
    for (int round = 0; round < maxReps; ++round) {
      if (round >= minReps && clockSeconds() - start >= minTime)
        break;
      for (Contender &c : contenders) {
        double t0 = clockSeconds();
        c.run();
        c.times.push_back(clockSeconds() - t0);
      }
    }

    // Bytes: x and dy read, dx written; gamma, the statistics, dgamma and
    // dbeta (n or rows elements) are left out, for every implementation.
    double bytes = 3.0 * double(s.elements()) * double(s.width());
    for (Contender &c : contenders) {
      std::vector<double> sorted = c.times;
      std::sort(sorted.begin(), sorted.end());
      double median = sorted[sorted.size() / 2];
      std::printf(
          "{\"impl\": \"%s\", \"op\": \"%s\", \"dtype\": \"%s\", "
          "\"rows\": %ld, \"n\": %ld, \"threads\": %d, \"median_s\": %.9g, "
          "\"min_s\": %.9g, \"reps\": %zu, \"gbps\": %.4f, \"max_err\": %.3g, "
          "\"err_dx\": %.3g, \"err_dgamma\": %.3g, \"err_dbeta\": %.3g, "
          "\"checked\": %s}\n",
          c.name.c_str(), s.op.c_str(), s.dtype.c_str(), s.rows, s.n, threads,
          median, sorted.front(), c.times.size(), bytes / median / 1e9,
          c.errors.max(), c.errors.dx, c.errors.dgamma, c.errors.dbeta,
          c.verify ? "true" : "false");
    }
    std::fflush(stdout);
  }
  return 0;
}
