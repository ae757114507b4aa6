/* Calls kernels compiled ahead of time by norm-opt --norm-cpu-pipeline,
 * mlir-translate and clang through their C interfaces, and compares the
 * results with a float64 reference. Prints one line per kernel. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct {
  float *allocated, *aligned;
  int64_t offset, sizes[2], strides[2];
} Memref2D;
typedef struct {
  float *allocated, *aligned;
  int64_t offset, sizes[1], strides[1];
} Memref1D;

void _mlir_ciface_layer_norm(Memref2D *x, Memref1D *g, Memref1D *b,
                             Memref2D *o);
void _mlir_ciface_rms_norm(Memref2D *x, Memref2D *out);

static double uniform(unsigned *seed) {
  *seed = *seed * 1103515245u + 12345u;
  return ((*seed >> 8) & 0xffff) / 65536.0 * 4 - 2;
}

static double check(const float *x, const float *g, const float *b,
                    const float *y, long rows, long n, double eps, int ln) {
  double worst = 0;
  for (long r = 0; r < rows; ++r) {
    double mean = 0, var = 0;
    for (long i = 0; i < n && ln; ++i)
      mean += x[r * n + i];
    mean /= n;
    for (long i = 0; i < n; ++i)
      var += (x[r * n + i] - mean) * (x[r * n + i] - mean);
    double rstd = 1 / sqrt(var / n + eps);
    for (long i = 0; i < n; ++i) {
      double want =
          (x[r * n + i] - mean) * rstd * (g ? g[i] : 1) + (b ? b[i] : 0);
      double err = fabs(y[r * n + i] - want);
      if (!(err <= worst))
        worst = isnan(err) ? INFINITY : err;
    }
  }
  return worst;
}

static void report(const char *name, double err, double tol) {
  printf("%s: %s (max |err| %.3g)\n", name, err <= tol ? "ok" : "FAIL", err);
}

int main(void) {
  unsigned seed = 1;
  long rows = 33, n = 4099;
  float *x = malloc(sizeof(float) * rows * n),
        *y = malloc(sizeof(float) * rows * n);
  float *g = malloc(sizeof(float) * n), *b = malloc(sizeof(float) * n);
  for (long i = 0; i < rows * n; ++i)
    x[i] = uniform(&seed);
  for (long i = 0; i < n; ++i) {
    g[i] = 1 + uniform(&seed) / 4;
    b[i] = uniform(&seed) / 4;
  }
  Memref2D xm = {x, x, 0, {rows, n}, {n, 1}}, ym = {y, y, 0, {rows, n}, {n, 1}};
  Memref1D gm = {g, g, 0, {n}, {1}}, bm = {b, b, 0, {n}, {1}};
  _mlir_ciface_layer_norm(&xm, &gm, &bm, &ym);
  report("layer_norm", check(x, g, b, y, rows, n, 1e-5, 1), 1e-5 * 12);

  long rows2 = 37, n2 = 768;
  Memref2D x2 = {x, x, 0, {rows2, n2}, {n2, 1}},
           y2 = {y, y, 0, {rows2, n2}, {n2, 1}};
  _mlir_ciface_rms_norm(&x2, &y2);
  report("rms_norm", check(x, NULL, NULL, y, rows2, n2, 1e-6, 0), 1e-5 * 10);
  free(x);
  free(y);
  free(g);
  free(b);
  return 0;
}
