/* CPU stand-in for the CUDA runtime wrappers (mgpu*) and the NVVM
 * intrinsics a norm kernel uses, so that the output of --norm-gpu-pipeline
 * (format=llvm) runs on the host: every GPU thread is a POSIX thread, the
 * threads of one block run concurrently (blocks run one after another),
 * `bar.sync` is a barrier over the block and `shfl.sync.bfly` an exchange
 * through a per-warp buffer between two barriers over the warp.
 *
 * The kernels themselves are compiled from their LLVM IR (see emulator.py),
 * which also generates `emu_kernels`: one trampoline per kernel unpacking
 * the CUDA-style parameter array, and `emu_modules`: the size and FNV-1a
 * hash of each kernel module's bytes, by which mgpuModuleLoad knows which
 * module the host code loads (kernels of different modules may share a
 * name, as on a GPU), and its name, by which the device harness asks
 * (emuModuleGetFunction). */

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void (*EmuTrampoline)(void **params);
struct EmuKernel {
  int module;
  const char *name;
  EmuTrampoline call;
};
struct EmuModule {
  const char *name;
  uint64_t size;
  uint64_t hash;
};
extern const struct EmuKernel emu_kernels[];
extern const int emu_num_kernels;
extern const struct EmuModule emu_modules[];
extern const int emu_num_modules;

enum { kWarpSize = 32, kMaxThreads = 1024 };

static __thread int32_t threadId;
static __thread int32_t blockId;
static int32_t blockSize;
static int32_t gridSize;
static pthread_barrier_t blockBarrier;
static struct {
  pthread_barrier_t barrier;
  uint64_t slots[kWarpSize];
} warps[kMaxThreads / kWarpSize];

static void fail(const char *message) {
  fprintf(stderr, "gpu emulator: %s\n", message);
  abort();
}

int32_t emu_tid_x(void) { return threadId; }
int32_t emu_ctaid_x(void) { return blockId; }
int32_t emu_ntid_x(void) { return blockSize; }
int32_t emu_nctaid_x(void) { return gridSize; }
int32_t emu_zero(void) { return 0; }
int32_t emu_one(void) { return 1; }

void emu_barrier(int32_t id) {
  (void)id;
  pthread_barrier_wait(&blockBarrier);
}
void emu_barrier0(void) { pthread_barrier_wait(&blockBarrier); }

/* shfl.sync with a full mask and clamp 31: lane i gets lane i ^ offset
 * (bfly) or lane `offset` (idx). Every lane of the warp must take part, as
 * on the GPU. */
static uint64_t shuffle(uint64_t bits, int32_t mask, int32_t offset,
                        int32_t clamp, int isXor) {
  if (mask != -1 || clamp != 31)
    fail("only full-warp shuffles are emulated");
  int warp = threadId / kWarpSize, lane = threadId % kWarpSize;
  int source = (isXor ? lane ^ offset : offset) & (kWarpSize - 1);
  warps[warp].slots[lane] = bits;
  pthread_barrier_wait(&warps[warp].barrier);
  uint64_t result = warps[warp].slots[source];
  pthread_barrier_wait(&warps[warp].barrier);
  return result;
}

static float shuffleF32(int32_t mask, float value, int32_t offset,
                        int32_t clamp, int isXor) {
  uint32_t bits;
  memcpy(&bits, &value, sizeof(bits));
  bits = (uint32_t)shuffle(bits, mask, offset, clamp, isXor);
  memcpy(&value, &bits, sizeof(bits));
  return value;
}

/* rsqrt.approx.f32 (RsqrtKind::Approximate). The hardware's value is within
   2 ulp of 1/sqrt(x) (what CUDA documents for rsqrtf, this
   instruction); the emulator gives the correctly rounded one, so it
   checks the kernels' logic, and the tolerances leave room for the
   approximation. */
float emu_rsqrt_approx_f32(float x) {
  return (float)(1.0 / __builtin_sqrt((double)x));
}

float emu_shfl_bfly_f32(int32_t mask, float value, int32_t offset,
                        int32_t clamp) {
  return shuffleF32(mask, value, offset, clamp, 1);
}
float emu_shfl_idx_f32(int32_t mask, float value, int32_t lane, int32_t clamp) {
  return shuffleF32(mask, value, lane, clamp, 0);
}
int32_t emu_shfl_bfly_i32(int32_t mask, int32_t value, int32_t offset,
                          int32_t clamp) {
  return (int32_t)(uint32_t)shuffle((uint32_t)value, mask, offset, clamp, 1);
}
int32_t emu_shfl_idx_i32(int32_t mask, int32_t value, int32_t lane,
                         int32_t clamp) {
  return (int32_t)(uint32_t)shuffle((uint32_t)value, mask, lane, clamp, 0);
}

/* float -> bfloat (round to nearest even), which LLVM calls for fptrunc on
 * x86; older compiler runtimes (libgcc 12) lack it. */
__attribute__((weak)) __bf16 __truncsfbf2(float value) {
  uint32_t bits;
  memcpy(&bits, &value, sizeof(bits));
  uint16_t half;
  if ((bits & 0x7fffffffu) > 0x7f800000u)
    half = (uint16_t)((bits >> 16) | 0x40u);
  else
    half = (uint16_t)((bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16);
  __bf16 result;
  memcpy(&result, &half, sizeof(result));
  return result;
}

/* ---- The mgpu* entry points the host code calls. ---- */

/* What the host code did with streams, for tests of who owns them
 * (emuPrintStreamUse): streams it made, synchronised and destroyed, and
 * the streams its launches went on (the first and the last). Made streams
 * are 1, 2, 3, ... */
static long emu_streams_created, emu_stream_syncs, emu_streams_destroyed;
static long emu_launches;
static void *emu_first_launch_stream, *emu_last_launch_stream;

void *mgpuStreamCreate(void) { return (void *)(intptr_t)++emu_streams_created; }
void mgpuStreamDestroy(void *stream) {
  (void)stream;
  ++emu_streams_destroyed;
}
void mgpuStreamSynchronize(void *stream) {
  (void)stream;
  ++emu_stream_syncs;
}
void emuPrintStreamUse(void) {
  printf("streams: created %ld, synchronised %ld, destroyed %ld; launches "
         "%ld, first on %ld, last on %ld\n",
         emu_streams_created, emu_stream_syncs, emu_streams_destroyed,
         emu_launches, (long)(intptr_t)emu_first_launch_stream,
         (long)(intptr_t)emu_last_launch_stream);
  fflush(stdout);
}
/* Module handles are 1 + the module's index in emu_modules; 0 stands for
 * any module (a JIT load, which gives no size). */
static uint64_t fnv1a(const unsigned char *bytes, uint64_t size) {
  uint64_t hash = 14695981039346656037ull;
  for (uint64_t i = 0; i < size; ++i)
    hash = (hash ^ bytes[i]) * 1099511628211ull;
  return hash;
}
void *mgpuModuleLoad(void *data, size_t size) {
  uint64_t hash = fnv1a(data, size);
  for (int i = 0; i < emu_num_modules; ++i)
    if (emu_modules[i].size == size && emu_modules[i].hash == hash)
      return (void *)(intptr_t)(i + 1);
  fail("the host code loads a kernel module the emulator was not built with");
  return NULL;
}
void *mgpuModuleLoadJIT(void *data, int optLevel) {
  (void)data;
  (void)optLevel;
  return (void *)0;
}
void mgpuModuleUnload(void *module) { (void)module; }

void *mgpuModuleGetFunction(void *module, const char *name) {
  int index = (int)(intptr_t)module - 1;
  for (int i = 0; i < emu_num_kernels; ++i)
    if ((index < 0 || emu_kernels[i].module == index) &&
        strcmp(emu_kernels[i].name, name) == 0)
      return (void *)&emu_kernels[i];
  fprintf(stderr, "gpu emulator: no kernel named %s\n", name);
  abort();
}

void *emuModuleGetFunction(const char *module, const char *name) {
  for (int i = 0; i < emu_num_modules; ++i)
    if (strcmp(emu_modules[i].name, module) == 0)
      return mgpuModuleGetFunction((void *)(intptr_t)(i + 1), name);
  fprintf(stderr, "gpu emulator: no kernel module named %s\n", module);
  abort();
}

void *mgpuMemAlloc(uint64_t size, void *stream, _Bool isHostShared) {
  (void)stream;
  (void)isHostShared;
  void *ptr = NULL;
  if (posix_memalign(&ptr, 256, size ? size : 1))
    fail("out of memory");
  return ptr;
}
void mgpuMemFree(void *ptr, void *stream) {
  (void)stream;
  free(ptr);
}
void mgpuMemcpy(void *dst, void *src, size_t size, void *stream) {
  (void)stream;
  memmove(dst, src, size);
}

struct ThreadArgs {
  const struct EmuKernel *kernel;
  void **params;
  int32_t thread;
  int32_t block;
};

static void *runThread(void *opaque) {
  struct ThreadArgs *args = opaque;
  threadId = args->thread;
  blockId = args->block;
  args->kernel->call(args->params);
  return NULL;
}

void mgpuLaunchKernel(void *function, intptr_t gridX, intptr_t gridY,
                      intptr_t gridZ, intptr_t blockX, intptr_t blockY,
                      intptr_t blockZ, int32_t smem, void *stream,
                      void **params, void **extra, size_t paramsCount) {
  if (emu_launches++ == 0)
    emu_first_launch_stream = stream;
  emu_last_launch_stream = stream;
  (void)extra;
  (void)paramsCount;
  if (gridY != 1 || gridZ != 1 || blockY != 1 || blockZ != 1)
    fail("only 1-d launches are emulated");
  if (blockX <= 0 || blockX > kMaxThreads || blockX % kWarpSize != 0)
    fail("block size must be whole warps, at most 1024 threads");
  if (gridX <= 0)
    fail("empty grid (CUDA rejects it)");
  if (smem != 0)
    fail("dynamic shared memory is not emulated");
  const struct EmuKernel *kernel = function;
  blockSize = (int32_t)blockX;
  gridSize = (int32_t)gridX;
  pthread_t threads[kMaxThreads];
  struct ThreadArgs args[kMaxThreads];
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 1 << 20);
  for (intptr_t block = 0; block < gridX; ++block) {
    pthread_barrier_init(&blockBarrier, NULL, (unsigned)blockX);
    for (intptr_t w = 0; w < blockX / kWarpSize; ++w)
      pthread_barrier_init(&warps[w].barrier, NULL, kWarpSize);
    for (intptr_t t = 0; t < blockX; ++t) {
      args[t] = (struct ThreadArgs){kernel, params, (int32_t)t, (int32_t)block};
      if (pthread_create(&threads[t], &attr, runThread, &args[t]))
        fail("cannot create a thread");
    }
    for (intptr_t t = 0; t < blockX; ++t)
      pthread_join(threads[t], NULL);
    pthread_barrier_destroy(&blockBarrier);
    for (intptr_t w = 0; w < blockX / kWarpSize; ++w)
      pthread_barrier_destroy(&warps[w].barrier);
  }
  pthread_attr_destroy(&attr);
}
