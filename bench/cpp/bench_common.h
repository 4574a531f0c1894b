#pragma once
// Shared pieces of the benchmark programs: thread selection, random data and a main() that
// reports the thread count in the benchmark context.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "eigennet/config.h"
#include "eigennet/rng.h"

namespace eigennet::bench {

/// n values uniform in [lo, hi) from a fixed seed.
inline std::vector<float> uniform(std::size_t n, double lo, double hi, std::uint64_t seed) {
  Rng rng(seed);
  std::vector<float> v(n);
  for (auto& x : v) x = static_cast<float>(lo + (hi - lo) * rng.uniform());
  return v;
}

/// n integer labels in [0, n_classes) stored as float, from a fixed seed.
inline std::vector<float> labels(std::size_t n, std::uint64_t n_classes, std::uint64_t seed) {
  Rng rng(seed);
  std::vector<float> v(n);
  for (auto& x : v) x = static_cast<float>(rng.below(n_classes));
  return v;
}

/// Sets eigennet's thread count from --threads=N (removed from argv) or EIGENNET_THREADS,
/// default 1, then runs the benchmarks Google Benchmark's flags select.
inline int run(int argc, char** argv) {
  int threads = 1;
  if (const char* env = std::getenv("EIGENNET_THREADS")) threads = std::atoi(env);
  int kept = 1;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--threads=", 10) == 0) {
      threads = std::atoi(argv[i] + 10);
      continue;
    }
#ifdef EIGENNET_BENCH_MIN_TIME_IS_SECONDS
    if (std::strncmp(argv[i], "--benchmark_min_time=", 21) == 0) {
      const std::size_t len = std::strlen(argv[i]);
      if (len > 21 && argv[i][len - 1] == 's') argv[i][len - 1] = '\0';
    }
#endif
    argv[kept++] = argv[i];
  }
  argc = kept;
  if (threads < 1) {
    std::fprintf(stderr, "The thread count must be a positive integer, got %d.\n", threads);
    return 1;
  }
  set_num_threads(threads);
  benchmark::AddCustomContext("eigennet_threads", std::to_string(num_threads()));
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

/// A rate counter of `flops` floating-point operations per iteration, shown as GFLOP per second.
inline benchmark::Counter gflops(double flops) {
  return benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

}  // namespace eigennet::bench
