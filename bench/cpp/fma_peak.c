/* The single-precision FMA peak of one core: independent multiply-adds on the widest registers
 * this machine has. Always compiled for the machine that runs it (-march=native), unlike
 * eigennet, so it measures the hardware rather than a kernel set. bench_gemm links it;
 * bench/python/bench.py builds it alone with -DFMA_PEAK_MAIN and prints GFLOP/s. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#if defined(__AVX512F__)
#define W 16
#elif defined(__AVX__)
#define W 8
#else
#define W 4
#endif
#define CHAINS                                                                      \
  12 /* > FMA latency x FMA ports (4 x 2 on current x86 cores); 14 registers in use \
      */

typedef float vec __attribute__((vector_size(W * 4)));

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* GFLOP/s (2 flops per FMA lane) of the best of `reps` runs of about `seconds` each. */
double fma_peak_gflops(double seconds, int reps) {
  const vec a = (vec){} + 0.999f, b = (vec){} + 1e-3f;
  double best = 0.0;
  long iters = 1 << 16;
  for (int r = 0; r < reps; ++r) {
    vec acc[CHAINS];
    for (int i = 0; i < CHAINS; ++i) acc[i] = (vec){} + (float)i;
    double t0 = now(), t = 0.0;
    long done = 0;
    while ((t = now() - t0) < seconds) {
      for (long it = 0; it < iters; ++it) {
#pragma GCC unroll 12
        for (int i = 0; i < CHAINS; ++i) acc[i] = acc[i] * a + b; /* contracted to one FMA */
      }
      done += iters;
    }
    float sink = 0.0f;
    for (int i = 0; i < CHAINS; ++i)
      for (int l = 0; l < W; ++l) sink += acc[i][l];
    const double gflops = 2.0 * W * CHAINS * (double)done / t / 1e9 + (sink == -1.0f ? 1e-30 : 0.0);
    if (gflops > best) best = gflops;
  }
  return best;
}

#ifdef FMA_PEAK_MAIN
int main(int argc, char** argv) {
  const double seconds = argc > 1 ? atof(argv[1]) : 0.2;
  printf("%.3f\n", fma_peak_gflops(seconds, 5));
  return 0;
}
#endif
