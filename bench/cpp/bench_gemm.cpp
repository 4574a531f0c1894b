// The matrix products of one training step of W1, W2 and W3 (bench/README.md), each as one whole
// product, through every kernel set's own float GEMM this CPU can run and, when the environment
// variable EIGENNET_OPENBLAS names an OpenBLAS library (scipy-openblas32 or NumPy's bundled
// scipy-openblas64), through its cblas_sgemm: the measurement behind which products eigennet
// uses. Also the core's FMA peak (fma_peak.c, compiled for this machine). 1 thread: run with
// OPENBLAS_NUM_THREADS=1. Counters: GFLOP/s and the fraction of the FMA peak.
#include <dlfcn.h>

#include <cstdint>
#include <string>
#include <vector>

#include "bench_common.h"
#include "cpu/kernel_set.h"

extern "C" double fma_peak_gflops(double seconds, int reps);

namespace eigennet::bench {
namespace {

struct Product {
  Index m, n, k;
  bool a_transposed, b_transposed;  // dL/dW = dZ · Xᵀ, dL/dX = Wᵀ · dZ
};

// Forward Z = W·X, backward dW = dZ·Xᵀ for every layer and dX = Wᵀ·dZ for all but the first.
std::vector<Product> step_products(const std::vector<Index>& sizes, Index batch) {
  std::vector<Product> out;
  for (std::size_t l = 0; l + 1 < sizes.size(); ++l) {
    const Index in = sizes[l], units = sizes[l + 1];
    out.push_back({units, batch, in, false, false});
    out.push_back({units, in, batch, false, true});
    if (l > 0) out.push_back({in, batch, units, true, false});
  }
  return out;
}

double peak() {
  static const double p = fma_peak_gflops(0.2, 5);
  return p;
}

using SgemmFn = void (*)(int, int, int, std::int64_t, std::int64_t, std::int64_t, float,
                         const float*, std::int64_t, const float*, std::int64_t, float, float*,
                         std::int64_t);
using Sgemm32Fn = void (*)(int, int, int, int, int, int, float, const float*, int, const float*,
                           int, float, float*, int);

struct OpenBlas {
  void* sgemm = nullptr;
  bool ilp64 = false;
};

OpenBlas load_openblas() {
  OpenBlas ob;
  const char* path = std::getenv("EIGENNET_OPENBLAS");
  if (!path || !*path) return ob;
  void* lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!lib) return ob;
  for (const char* name : {"scipy_cblas_sgemm64_", "cblas_sgemm64_"})
    if ((ob.sgemm = dlsym(lib, name))) return ob.ilp64 = true, ob;
  for (const char* name : {"scipy_cblas_sgemm", "cblas_sgemm"})
    if ((ob.sgemm = dlsym(lib, name))) return ob;
  return ob;
}

struct Operands {
  std::vector<std::vector<float>> a, b, c;
  explicit Operands(const std::vector<Product>& ps) {
    std::uint64_t seed = 1;
    for (const Product& p : ps) {
      a.push_back(uniform(static_cast<std::size_t>(p.m * p.k), -1, 1, seed++));
      b.push_back(uniform(static_cast<std::size_t>(p.k * p.n), -1, 1, seed++));
      c.emplace_back(static_cast<std::size_t>(p.m * p.n));
    }
  }
};

double flops(const std::vector<Product>& ps) {
  double f = 0;
  for (const Product& p : ps) f += 2.0 * p.m * p.n * p.k;
  return f;
}

void report(benchmark::State& state, const std::vector<Product>& ps) {
  state.counters["GFLOP/s"] = gflops(flops(ps));
  state.counters["peak_GFLOP/s"] = peak();
}

void own(benchmark::State& state, const cpu::KernelTable* set, std::vector<Product> ps) {
  Operands ops(ps);
  for (auto _ : state) {
    for (std::size_t i = 0; i < ps.size(); ++i) {
      const Product& p = ps[i];
      // Column-major operands; a transposed one is stored as its transpose.
      set->gemm(p.m, p.n, p.k, ops.a[i].data(), p.a_transposed ? p.k : 1, p.a_transposed ? 1 : p.m,
                ops.b[i].data(), p.b_transposed ? p.n : 1, p.b_transposed ? 1 : p.k,
                ops.c[i].data(), p.m, false);
    }
    benchmark::ClobberMemory();
  }
  report(state, ps);
}

void openblas(benchmark::State& state, OpenBlas ob, std::vector<Product> ps) {
  Operands ops(ps);
  constexpr int kColMajor = 102, kNoTrans = 111, kTrans = 112;
  for (auto _ : state) {
    for (std::size_t i = 0; i < ps.size(); ++i) {
      const Product& p = ps[i];
      const int ta = p.a_transposed ? kTrans : kNoTrans, tb = p.b_transposed ? kTrans : kNoTrans;
      const Index lda = p.a_transposed ? p.k : p.m, ldb = p.b_transposed ? p.n : p.k;
      if (ob.ilp64)
        reinterpret_cast<SgemmFn>(ob.sgemm)(kColMajor, ta, tb, p.m, p.n, p.k, 1.0f, ops.a[i].data(),
                                            lda, ops.b[i].data(), ldb, 0.0f, ops.c[i].data(), p.m);
      else
        reinterpret_cast<Sgemm32Fn>(ob.sgemm)(
            kColMajor, ta, tb, static_cast<int>(p.m), static_cast<int>(p.n), static_cast<int>(p.k),
            1.0f, ops.a[i].data(), static_cast<int>(lda), ops.b[i].data(), static_cast<int>(ldb),
            0.0f, ops.c[i].data(), static_cast<int>(p.m));
    }
    benchmark::ClobberMemory();
  }
  report(state, ps);
}

void register_all() {
  struct Step {
    const char* name;
    std::vector<Index> sizes;
    Index batch;
  };
  const std::vector<Step> steps = {
      {"W1_b32", {784, 256, 128, 10}, 32},       {"W1_b128", {784, 256, 128, 10}, 128},
      {"W1_b1024", {784, 256, 128, 10}, 1024},   {"W2_b128", {784, 1024, 1024, 10}, 128},
      {"W2_b1024", {784, 1024, 1024, 10}, 1024}, {"W3_b32", {30, 64, 64, 1}, 32},
  };
  const OpenBlas ob = load_openblas();
  for (const Step& s : steps) {
    const auto ps = step_products(s.sizes, s.batch);
    for (const cpu::KernelTable* set : cpu::runnable_kernel_sets())
      benchmark::RegisterBenchmark(
          (std::string("StepProducts/") + s.name + "/" + set->name).c_str(), own, set, ps)
          ->UseRealTime();
    if (ob.sgemm)
      benchmark::RegisterBenchmark((std::string("StepProducts/") + s.name + "/openblas").c_str(),
                                   openblas, ob, ps)
          ->UseRealTime();
  }
  benchmark::RegisterBenchmark("FmaPeak", [](benchmark::State& state) {
    for (auto _ : state) benchmark::DoNotOptimize(peak());
    state.counters["peak_GFLOP/s"] = peak();
  })->Iterations(1);
}

}  // namespace
}  // namespace eigennet::bench

int main(int argc, char** argv) {
  eigennet::bench::register_all();
  return eigennet::bench::run(argc, argv);
}
