//===- driver.cpp - Times LayerNorm / RMSNorm implementations -------------===//
//
// Times several implementations on every configuration given on the command
// line and prints one JSON object per implementation and configuration:
//
//   bench --threads 1 --impls memcpy,norm,onednn layer_norm:f32:4096x768 ...
//
// The implementations of one configuration run interleaved, one repetition
// of each per round, on the same buffers (pages touched before timing), so
// that a machine shared with other work slows them alike and their ratios
// stay meaningful. Rounds go on for at least --min-time seconds and
// --min-reps rounds, after two warm-up rounds; each median is reported.
// Before timing, each implementation's output is checked on its first rows
// and its last against a float64 reference (max_err).
//
// memcpy, the plain loop and the MLIR kernels built with `openmp=true` use
// LLVM's libomp; the driver is linked so that oneDNN's libgomp.so.1 is
// LLVM's libomp too (its GOMP_* compatibility layer): one OpenMP runtime in
// the process.
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
#include <vector>

#include <omp.h>

#include <oneapi/dnnl/dnnl.hpp>

#include "bench_kernels.h"

namespace {

struct Config {
  std::string op, dtype;
  long rows, n;
  bool isLayerNorm() const { return op == "layer_norm"; }
  bool isBF16() const { return dtype == "bf16"; }
  size_t elementBytes() const { return isBF16() ? 2 : 4; }
  double eps() const { return isLayerNorm() ? 1e-5 : 1e-6; }
};

double now() {
  timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

float bf16ToFloat(uint16_t v) {
  uint32_t bits = uint32_t(v) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

uint16_t floatToBF16(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  if (std::isnan(f))
    return 0x7fc0;
  bits += 0x7fff + ((bits >> 16) & 1);
  return uint16_t(bits >> 16);
}

/// A buffer of `count` elements of the config's type, 64-byte aligned.
struct Buffer {
  void *data = nullptr;
  size_t bytes = 0;
  Buffer(size_t count, size_t elementBytes) {
    bytes = count * elementBytes;
    size_t rounded = (bytes + 63) / 64 * 64;
    data = std::aligned_alloc(64, rounded);
    std::memset(data, 0, rounded); // touch every page before timing
  }
  ~Buffer() { std::free(data); }
  Buffer(const Buffer &) = delete;
  Buffer &operator=(const Buffer &) = delete;
};

double load(const Config &c, const void *p, size_t i) {
  if (c.isBF16())
    return bf16ToFloat(static_cast<const uint16_t *>(p)[i]);
  return static_cast<const float *>(p)[i];
}

void storeValue(const Config &c, void *p, size_t i, double v) {
  if (c.isBF16())
    static_cast<uint16_t *>(p)[i] = floatToBF16(float(v));
  else
    static_cast<float *>(p)[i] = float(v);
}

//===----------------------------------------------------------------------===//
// Implementations
//===----------------------------------------------------------------------===//

/// The plain loop one would write: three passes per row in float, rows
/// split between threads.
template <typename T, typename Load, typename Store>
void plainLoop(const Config &c, const T *x, const T *g, const T *b, T *y,
               int threads, Load ld, Store st) {
  const long n = c.n;
  const float eps = float(c.eps());
  const bool ln = c.isLayerNorm();
#pragma omp parallel for num_threads(threads) schedule(static)
  for (long r = 0; r < c.rows; ++r) {
    const T *xr = x + r * n;
    T *yr = y + r * n;
    float mean = 0;
    if (ln) {
      float sum = 0;
      for (long i = 0; i < n; ++i)
        sum += ld(xr[i]);
      mean = sum / n;
    }
    float sq = 0;
    for (long i = 0; i < n; ++i) {
      float d = ld(xr[i]) - mean;
      sq += d * d;
    }
    float rstd = 1.0f / std::sqrt(sq / n + eps);
    if (ln)
      for (long i = 0; i < n; ++i)
        yr[i] = st((ld(xr[i]) - mean) * rstd * ld(g[i]) + ld(b[i]));
    else
      for (long i = 0; i < n; ++i)
        yr[i] = st(ld(xr[i]) * rstd * ld(g[i]));
  }
}

void runPlain(const Config &c, void *x, void *g, void *b, void *y,
              int threads) {
  if (c.isBF16())
    plainLoop(
        c, (uint16_t *)x, (uint16_t *)g, (uint16_t *)b, (uint16_t *)y, threads,
        [](uint16_t v) { return bf16ToFloat(v); },
        [](float v) { return floatToBF16(v); });
  else
    plainLoop(
        c, (float *)x, (float *)g, (float *)b, (float *)y, threads,
        [](float v) { return v; }, [](float v) { return v; });
}

void runMemcpy(void *dst, const void *src, size_t bytes, int threads) {
  if (threads == 1) {
    std::memcpy(dst, src, bytes);
    return;
  }
#pragma omp parallel num_threads(threads)
  {
    int t = omp_get_thread_num(), nt = omp_get_num_threads();
    size_t chunk = (bytes / nt + 63) / 64 * 64;
    size_t begin = std::min(bytes, chunk * t);
    size_t end = std::min(bytes, begin + chunk);
    std::memcpy((char *)dst + begin, (const char *)src + begin, end - begin);
  }
}

const KernelEntry *findKernel(const std::string &impl, const Config &c) {
  for (int i = 0; i < kNumKernels; ++i) {
    const KernelEntry &k = kKernels[i];
    if (impl == k.impl && c.op == k.op && c.dtype == k.dtype &&
        c.rows == k.rows && c.n == k.n)
      return &k;
  }
  return nullptr;
}

Memref<2> matrix(void *p, const Config &c) {
  return {p, p, 0, {c.rows, c.n}, {c.n, 1}};
}
Memref<1> row(void *p, const Config &c) { return {p, p, 0, {c.n}, {1}}; }

void runKernel(const KernelEntry &k, const Config &c, void *x, void *g, void *b,
               void *y) {
  Memref<2> xm = matrix(x, c), ym = matrix(y, c);
  Memref<1> gm = row(g, c), bm = row(b, c);
  if (k.hasBeta)
    reinterpret_cast<void (*)(void *, void *, void *, void *)>(k.fn)(&xm, &gm,
                                                                     &bm, &ym);
  else
    reinterpret_cast<void (*)(void *, void *, void *)>(k.fn)(&xm, &gm, &ym);
}

//===----------------------------------------------------------------------===//
// Checking and timing
//===----------------------------------------------------------------------===//

/// Max |y - reference| over a few rows (float64 reference).
double maxError(const Config &c, const void *x, const void *g, const void *b,
                const void *y) {
  std::vector<long> rows;
  for (long r = 0; r < std::min(c.rows, 8L); ++r)
    rows.push_back(r);
  rows.push_back(c.rows - 1);
  double worst = 0;
  for (long r : rows) {
    double mean = 0, sq = 0;
    if (c.isLayerNorm()) {
      for (long i = 0; i < c.n; ++i)
        mean += load(c, x, r * c.n + i);
      mean /= c.n;
    }
    for (long i = 0; i < c.n; ++i) {
      double d = load(c, x, r * c.n + i) - mean;
      sq += d * d;
    }
    double rstd = 1 / std::sqrt(sq / c.n + c.eps());
    for (long i = 0; i < c.n; ++i) {
      double want = (load(c, x, r * c.n + i) - mean) * rstd * load(c, g, i);
      if (c.isLayerNorm())
        want += load(c, b, i);
      double err = std::fabs(load(c, y, r * c.n + i) - want);
      if (!(err <= worst))
        worst = std::isnan(err) ? INFINITY : err;
    }
  }
  return worst;
}

bool parseConfig(const char *text, Config &c) {
  char op[32], dtype[16];
  if (std::sscanf(text, "%31[a-z_]:%15[a-z0-9]:%ldx%ld", op, dtype, &c.rows,
                  &c.n) != 4)
    return false;
  c.op = op;
  c.dtype = dtype;
  return true;
}

/// oneDNN's layer_normalization primitive (inference; scale and shift in
/// f32, as oneDNN requires). RMSNorm is not in oneDNN 2.6.
struct OneDNN {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
  dnnl::layer_normalization_forward prim;
  dnnl::memory src, dst, scale, shift;
  std::vector<float> scaleData, shiftData;

  OneDNN(const Config &c, void *x, void *g, void *b, void *y) {
    using namespace dnnl;
    auto dt = c.isBF16() ? memory::data_type::bf16 : memory::data_type::f32;
    memory::desc md({c.rows, c.n}, dt, memory::format_tag::ab);
    memory::desc pmd({c.n}, memory::data_type::f32, memory::format_tag::a);
    layer_normalization_forward::desc desc(
        prop_kind::forward_inference, md, float(c.eps()),
        normalization_flags::use_scale | normalization_flags::use_shift);
    layer_normalization_forward::primitive_desc pd(desc, engine);
    prim = layer_normalization_forward(pd);
    src = memory(md, engine, x);
    dst = memory(md, engine, y);
    scaleData.resize(c.n);
    shiftData.resize(c.n);
    for (long i = 0; i < c.n; ++i) {
      scaleData[i] = float(load(c, g, i));
      shiftData[i] = float(load(c, b, i));
    }
    scale = memory(pmd, engine, scaleData.data());
    shift = memory(pmd, engine, shiftData.data());
  }
  void run() {
    prim.execute(stream, {{DNNL_ARG_SRC, src},
                          {DNNL_ARG_DST, dst},
                          {DNNL_ARG_SCALE, scale},
                          {DNNL_ARG_SHIFT, shift}});
    stream.wait();
  }
};

/// One implementation, ready to run on one configuration.
struct Runner {
  std::string name;
  std::function<void()> run;
  bool checked = true;
  std::vector<double> times;
  double maxErr = 0;
};

std::vector<std::string> split(const std::string &text) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string::npos)
      comma = text.size();
    if (comma > start)
      parts.push_back(text.substr(start, comma - start));
    start = comma + 1;
  }
  return parts;
}

} // namespace

int main(int argc, char **argv) {
  std::vector<std::string> impls;
  int threads = 1, minReps = 5, maxReps = 200;
  double minTime = 0.4;
  std::vector<Config> configs;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--impls" && i + 1 < argc)
      impls = split(argv[++i]);
    else if (arg == "--threads" && i + 1 < argc)
      threads = std::atoi(argv[++i]);
    else if (arg == "--min-time" && i + 1 < argc)
      minTime = std::atof(argv[++i]);
    else if (arg == "--min-reps" && i + 1 < argc)
      minReps = std::atoi(argv[++i]);
    else if (arg == "--max-reps" && i + 1 < argc)
      maxReps = std::atoi(argv[++i]);
    else {
      Config c;
      if (!parseConfig(argv[i], c)) {
        std::fprintf(stderr, "bad argument %s\n", argv[i]);
        return 2;
      }
      configs.push_back(c);
    }
  }
  omp_set_num_threads(threads);

  for (const Config &c : configs) {
    size_t count = size_t(c.rows) * c.n;
    Buffer x(count, c.elementBytes()), y(count, c.elementBytes());
    Buffer g(c.n, c.elementBytes()), b(c.n, c.elementBytes());
    unsigned seed = 12345;
    auto uniform = [&] {
      seed = seed * 1103515245u + 12345u;
      return ((seed >> 8) & 0xffff) / 65536.0;
    };
    for (size_t i = 0; i < count; ++i)
      storeValue(c, x.data, i, 4 * uniform() - 2);
    for (long i = 0; i < c.n; ++i) {
      storeValue(c, g.data, i, 0.5 + uniform());
      storeValue(c, b.data, i, uniform() - 0.5);
    }

    std::vector<Runner> runners;
    std::unique_ptr<OneDNN> dnn;
    for (const std::string &impl : impls) {
      Runner r;
      r.name = impl;
      if (impl == "memcpy") {
        r.checked = false;
        r.run = [&] { runMemcpy(y.data, x.data, x.bytes, threads); };
      } else if (impl == "noop") {
        // Nothing: the floor of the timing itself (two clock reads).
        r.checked = false;
        r.run = [] {};
      } else if (impl == "cpp") {
        r.run = [&] { runPlain(c, x.data, g.data, b.data, y.data, threads); };
      } else if (impl == "onednn") {
        if (!c.isLayerNorm())
          continue; // oneDNN 2.6 has no RMSNorm
        dnn = std::make_unique<OneDNN>(c, x.data, g.data, b.data, y.data);
        r.run = [&] { dnn->run(); };
      } else {
        const KernelEntry *k = findKernel(impl, c);
        if (!k) {
          std::fprintf(stderr, "no kernel %s for %s:%s:%ldx%ld\n", impl.c_str(),
                       c.op.c_str(), c.dtype.c_str(), c.rows, c.n);
          return 1;
        }
        r.run = [&, k] { runKernel(*k, c, x.data, g.data, b.data, y.data); };
      }
      runners.push_back(std::move(r));
    }

    // Check each implementation's output, then warm up.
    for (Runner &r : runners) {
      std::memset(y.data, 0xff, y.bytes);
      r.run();
      if (r.checked)
        r.maxErr = maxError(c, x.data, g.data, b.data, y.data);
      r.run();
    }
    // Interleaved rounds.
    double start = now();
    for (int round = 0; round < maxReps; ++round) {
      if (round >= minReps && now() - start >= minTime)
        break;
      for (Runner &r : runners) {
        double t0 = now();
        r.run();
        r.times.push_back(now() - t0);
      }
    }

    for (Runner &r : runners) {
      double bytes = 2.0 * count * c.elementBytes();
      if (r.name != "memcpy") // gamma (and beta) are read too
        bytes += (c.isLayerNorm() ? 2.0 : 1.0) * c.n * c.elementBytes();
      std::vector<double> sorted = r.times;
      std::sort(sorted.begin(), sorted.end());
      double median = sorted[sorted.size() / 2];
      std::printf("{\"impl\": \"%s\", \"op\": \"%s\", \"dtype\": \"%s\", "
                  "\"rows\": %ld, \"n\": %ld, \"threads\": %d, "
                  "\"median_s\": %.9g, \"min_s\": %.9g, \"reps\": %zu, "
                  "\"gbps\": %.4f, \"max_err\": %.3g}\n",
                  r.name.c_str(), c.op.c_str(), c.dtype.c_str(), c.rows, c.n,
                  threads, median, sorted.front(), r.times.size(),
                  bytes / median / 1e9, r.maxErr);
    }
    std::fflush(stdout);
  }
  return 0;
}
