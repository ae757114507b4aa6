// Hand-written LayerNorm and RMSNorm kernels: the instruction budget that
// norm-mlir's generated kernels are measured against (bench/gpu/sass_budget.py,
// python/tests/test_sass_budget.py). They are written the way the serving
// engines' kernels are: a row spread over TPR threads (RPB rows a block), each
// thread holding its K 16-byte vectors in registers, unpacked to f32; warp
// butterflies and one exchange through shared memory per sum; rsqrtf; FMAs;
// read-only loads for gamma and beta. The geometry is a template argument so
// that each is compiled with the geometry the generated kernel chose: the
// comparison is then of the code, not of the work split.
//
// They compute the textbook formulas (mean, then the mean square of x - mean),
// without the pivot or the tiny-row rescue, and assume rows % RPB == 0: a
// budget, not a library. When TPR does not divide the row's vectors, the
// last one of a thread may not exist: its load and store are guarded and it
// adds nothing. Compiled with `nvcc -cubin -arch=sm_90 -O3`.

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <stdint.h>

namespace {

// Unpacking and packing 16-byte vectors, in f32.
template <typename T> struct Pack;

template <> struct Pack<float> {
  static constexpr int kWidth = 4;
  static __device__ __forceinline__ void unpack(uint4 u, float *v) {
    v[0] = __uint_as_float(u.x);
    v[1] = __uint_as_float(u.y);
    v[2] = __uint_as_float(u.z);
    v[3] = __uint_as_float(u.w);
  }
  static __device__ __forceinline__ uint4 pack(const float *v) {
    return make_uint4(__float_as_uint(v[0]), __float_as_uint(v[1]),
                      __float_as_uint(v[2]), __float_as_uint(v[3]));
  }
};

// 16-bit types: eight a vector, two a 32-bit word, each widened and
// narrowed by the type's word functions.
template <typename Word> struct PackWords {
  static constexpr int kWidth = 8;
  static __device__ __forceinline__ void unpack(uint4 u, float *v) {
    Word::unpackWord(u.x, v);
    Word::unpackWord(u.y, v + 2);
    Word::unpackWord(u.z, v + 4);
    Word::unpackWord(u.w, v + 6);
  }
  static __device__ __forceinline__ uint4 pack(const float *v) {
    return make_uint4(Word::packWord(v), Word::packWord(v + 2),
                      Word::packWord(v + 4), Word::packWord(v + 6));
  }
};

template <> struct Pack<__nv_bfloat16> : PackWords<Pack<__nv_bfloat16>> {
  static __device__ __forceinline__ void unpackWord(uint32_t w, float *v) {
    v[0] = __uint_as_float(w << 16);
    v[1] = __uint_as_float(w & 0xffff0000u);
  }
  static __device__ __forceinline__ uint32_t packWord(const float *v) {
    __nv_bfloat162 h = __floats2bfloat162_rn(v[0], v[1]);
    return *reinterpret_cast<uint32_t *>(&h);
  }
};

template <> struct Pack<__half> : PackWords<Pack<__half>> {
  static __device__ __forceinline__ void unpackWord(uint32_t w, float *v) {
    float2 f = __half22float2(*reinterpret_cast<__half2 *>(&w));
    v[0] = f.x;
    v[1] = f.y;
  }
  static __device__ __forceinline__ uint32_t packWord(const float *v) {
    __half2 h = __floats2half2_rn(v[0], v[1]);
    return *reinterpret_cast<uint32_t *>(&h);
  }
};

// The sum of `value` over the TPR threads of a row: a butterfly within the
// warp, then, for rows of several warps, each warp's sum through `exchange`
// (one slot per warp of the block) read back by every thread.
template <int TPR, int RPB>
__device__ __forceinline__ float rowSum(float value, float *exchange) {
  constexpr int kLanes = TPR < 32 ? TPR : 32;
#pragma unroll
  for (int mask = kLanes / 2; mask > 0; mask /= 2)
    value += __shfl_xor_sync(0xffffffffu, value, mask);
  if constexpr (TPR > 32) {
    constexpr int kWarps = TPR / 32;
    int warp = threadIdx.x / 32;
    if (threadIdx.x % 32 == 0)
      exchange[warp] = value;
    __syncthreads();
    const float *rowWarps = exchange + (warp / kWarps) * kWarps;
    value = 0.0f;
#pragma unroll
    for (int w = 0; w < kWarps; ++w)
      value += rowWarps[w];
  }
  return value;
}

// One row of N elements, N a template argument, or (kDynamic) a run-time
// `n` of at most N, each thread then holding up to K vectors, each guarded
// by the row's run-time vector count (the kernel of a row-length bucket).
template <typename T, int N, int TPR, int RPB, bool kLayerNorm,
          bool kDynamic = false>
__device__ __forceinline__ void
normRow(const T *__restrict__ x, const T *__restrict__ gamma,
        const T *__restrict__ beta, T *__restrict__ y, float eps, int n = N) {
  constexpr int V = Pack<T>::kWidth;
  constexpr int kVectors = N / V;
  static_assert(kVectors * V == N, "N must be a multiple of V");
  constexpr int K = (kVectors + TPR - 1) / TPR;
  constexpr bool kPartial = kDynamic || K * TPR != kVectors;
  constexpr int kWarpsPerBlock = TPR * RPB / 32 > 0 ? TPR * RPB / 32 : 1;
  __shared__ __align__(16) float exchange[2][kWarpsPerBlock];

  const int vectors = kDynamic ? n / V : kVectors;
  const float invN = kDynamic ? __fdividef(1.0f, float(n)) : 1.0f / N;
  int t = threadIdx.x % TPR;
  size_t row = size_t(blockIdx.x) * RPB + threadIdx.x / TPR;
  const uint4 *in = reinterpret_cast<const uint4 *>(x + row * n);
  uint4 *out = reinterpret_cast<uint4 *>(y + row * n);
  auto has = [&](int k) { return !kPartial || k * TPR + t < vectors; };

  float v[K * V];
#pragma unroll
  for (int k = 0; k < K; ++k)
    Pack<T>::unpack(has(k) ? in[k * TPR + t] : make_uint4(0, 0, 0, 0),
                    v + k * V);

  float mean = 0.0f;
  if constexpr (kLayerNorm) {
    float s = 0.0f;
#pragma unroll
    for (int i = 0; i < K * V; ++i)
      s += v[i];
    mean = rowSum<TPR, RPB>(s, exchange[0]) * invN;
  }
  float q = 0.0f;
#pragma unroll
  for (int k = 0; k < K; ++k)
#pragma unroll
    for (int i = 0; i < V; ++i) {
      float d = v[k * V + i] - mean;
      v[k * V + i] = d;
      q = fmaf(d, has(k) ? d : 0.0f, q);
    }
  float rstd = rsqrtf(rowSum<TPR, RPB>(q, exchange[1]) * invN + eps);

#pragma unroll
  for (int k = 0; k < K; ++k) {
    if (!has(k))
      continue;
    float g[V], bt[V], o[V];
    Pack<T>::unpack(__ldg(reinterpret_cast<const uint4 *>(gamma) + k * TPR + t),
                    g);
    if constexpr (kLayerNorm)
      Pack<T>::unpack(
          __ldg(reinterpret_cast<const uint4 *>(beta) + k * TPR + t), bt);
#pragma unroll
    for (int i = 0; i < V; ++i)
      o[i] = kLayerNorm ? fmaf(v[k * V + i] * rstd, g[i], bt[i])
                        : v[k * V + i] * rstd * g[i];
    out[k * TPR + t] = Pack<T>::pack(o);
  }
}

} // namespace

// One kernel per benchmark variant of the device harness
// (norm_mlir.gpu.generate.bench_specs), with the geometry norm-mlir's plan
// gives it: hand_<op>_<type>_<N>_t<TPR>_r<RPB>.
#define NORM_KERNEL(OP, TYPE, T, N, TPR, RPB, LAYER)                           \
  extern "C" __global__ void __launch_bounds__(TPR *RPB)                       \
      hand_##OP##_##TYPE##_##N##_t##TPR##_r##RPB(                              \
          const T *__restrict__ x, const T *__restrict__ gamma,                \
          const T *__restrict__ beta, T *__restrict__ y, float eps) {          \
    normRow<T, N, TPR, RPB, LAYER>(x, gamma, beta, y, eps);                    \
  }

// Both ops of one type, row length and geometry; every type.
#define BOTH_OPS(KERNEL, TYPE, T, N, TPR, RPB)                                 \
  KERNEL(layer_norm, TYPE, T, N, TPR, RPB, true)                               \
  KERNEL(rms_norm, TYPE, T, N, TPR, RPB, false)
#define EVERY_TYPE(KERNELS)                                                    \
  KERNELS(f32, float) KERNELS(f16, __half) KERNELS(bf16, __nv_bfloat16)

#define NORM_KERNELS(TYPE, T)                                                  \
  BOTH_OPS(NORM_KERNEL, TYPE, T, 768, 64, 4)                                   \
  BOTH_OPS(NORM_KERNEL, TYPE, T, 4096, 256, 1)                                 \
  BOTH_OPS(NORM_KERNEL, TYPE, T, 8192, 512, 1)
EVERY_TYPE(NORM_KERNELS)

// The kernels of the row-length buckets of a ?x? norm (the row length n
// known only at run time, at most B), with the geometry norm-mlir's plan
// gives the static kernel of a B-element row:
// hand_<op>_<type>_upto<B>_t<TPR>_r<RPB>.
#define NORM_BUCKET_KERNEL(OP, TYPE, T, B, TPR, RPB, LAYER)                    \
  extern "C" __global__ void __launch_bounds__(TPR *RPB)                       \
      hand_##OP##_##TYPE##_upto##B##_t##TPR##_r##RPB(                          \
          const T *__restrict__ x, const T *__restrict__ gamma,                \
          const T *__restrict__ beta, T *__restrict__ y, float eps, int n) {   \
    normRow<T, B, TPR, RPB, LAYER, true>(x, gamma, beta, y, eps, n);           \
  }

#define NORM_BUCKET_KERNELS(TYPE, T)                                           \
  BOTH_OPS(NORM_BUCKET_KERNEL, TYPE, T, 1024, 64, 4)                           \
  BOTH_OPS(NORM_BUCKET_KERNEL, TYPE, T, 2048, 128, 2)                          \
  BOTH_OPS(NORM_BUCKET_KERNEL, TYPE, T, 4096, 256, 1)                          \
  BOTH_OPS(NORM_BUCKET_KERNEL, TYPE, T, 8192, 512, 1)
EVERY_TYPE(NORM_BUCKET_KERNELS)
