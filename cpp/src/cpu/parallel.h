#pragma once
// Deterministic parallel loops: work is cut into fixed chunks whose boundaries never depend on the
// thread count, and each chunk is computed by one thread. Which thread does not matter, so chunks
// are handed out dynamically and the thread count may change from call to call.
//
// Threads sharing a loaded machine: when another process takes a core, one of our threads can
// be descheduled for a whole time slice (milliseconds) while the caller waits at the end of the
// loop. The caller notices (it sat idle for most of the loop) and backs off to one thread for
// 20 ms, then tries again.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>

#include "eigennet/config.h"
#ifdef _OPENMP
#include <omp.h>
#endif

namespace eigennet::cpu {

/// Columns per panel of a matrix product; fixed so results do not depend on the thread count.
constexpr Index kPanel = 64;
/// Below this many multiply-adds per thread, waking another thread costs more than it saves
/// (measured: a parallel region costs a few µs even with spinning threads).
constexpr double kMinWorkPerThread = 1 << 18;

/// Threads worth using for n_chunks chunks of total `work` multiply-adds.
inline int threads_for(Index n_chunks, double work) {
  const double by_work = work / kMinWorkPerThread;
  const Index t = std::min<Index>(
      {static_cast<Index>(num_threads()), n_chunks, static_cast<Index>(std::max(1.0, by_work))});
  return static_cast<int>(std::max<Index>(1, t));
}

/// Shared back-off state: until when loops run on one thread, and consecutive contended loops.
struct Contention {
  std::atomic<std::int64_t> backoff_until{0};  // steady_clock nanoseconds
  std::atomic<int> strikes{0};
  static constexpr int kStrikes = 2;  // contended loops in a row before backing off
  static constexpr std::int64_t kBackoff = 20'000'000;  // ns on one thread before trying again
  static constexpr double kMinWait = 2e-5;  // s of caller idling that count as contention
};

inline Contention& contention() {
  static Contention c;
  return c;
}

inline std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

/// Calls f(begin, end) for each chunk [begin, end) of [0, n) in steps of `chunk`.
template <typename F>
void parallel_chunks(Index n, Index chunk, double work, F&& f) {
  const Index n_chunks = (n + chunk - 1) / chunk;
  int t = threads_for(n_chunks, work);
  Contention& state = contention();
  if (t > 1 && now_ns() < state.backoff_until.load(std::memory_order_relaxed)) t = 1;
  if (t <= 1) {
    for (Index c = 0; c < n_chunks; ++c) f(c * chunk, std::min(n, (c + 1) * chunk));
    return;
  }
#ifdef _OPENMP
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  double caller_busy = 0.0;
#pragma omp parallel for schedule(dynamic, 1) num_threads(t) reduction(+ : caller_busy)
  for (Index c = 0; c < n_chunks; ++c) {
    const bool caller = omp_get_thread_num() == 0;
    const auto t0 = caller ? Clock::now() : Clock::time_point();
    f(c * chunk, std::min(n, (c + 1) * chunk));
    if (caller) caller_busy += std::chrono::duration<double>(Clock::now() - t0).count();
  }
  const double total = std::chrono::duration<double>(Clock::now() - start).count();
  const double idle = total - caller_busy;
  if (idle > Contention::kMinWait && idle > 0.6 * total) {
    if (state.strikes.fetch_add(1, std::memory_order_relaxed) + 1 >= Contention::kStrikes) {
      state.backoff_until.store(now_ns() + Contention::kBackoff, std::memory_order_relaxed);
      state.strikes.store(0, std::memory_order_relaxed);
    }
  } else {
    state.strikes.store(0, std::memory_order_relaxed);
  }
#else
  for (Index c = 0; c < n_chunks; ++c) f(c * chunk, std::min(n, (c + 1) * chunk));
#endif
}

}  // namespace eigennet::cpu
