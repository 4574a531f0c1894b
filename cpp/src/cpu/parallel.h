#pragma once
// Deterministic parallel loops: work is cut into fixed chunks whose boundaries never depend on the
// thread count, and each chunk is computed by one thread. Reductions combine chunk results in
// chunk order on the calling thread.
#include <algorithm>

#include "eigennet/config.h"

namespace eigennet::cpu {

/// Columns per panel of a matrix product; fixed so results do not depend on the thread count.
constexpr Index kPanel = 64;
/// Below this many multiply-adds per chunk a second thread costs more than it saves.
constexpr double kMinWorkPerThread = 1 << 16;

/// Threads worth using for n_chunks chunks of total `work` multiply-adds.
inline int threads_for(Index n_chunks, double work) {
  const double by_work = work / kMinWorkPerThread;
  const Index t = std::min<Index>(
      {static_cast<Index>(num_threads()), n_chunks, static_cast<Index>(std::max(1.0, by_work))});
  return static_cast<int>(std::max<Index>(1, t));
}

/// Calls f(begin, end) for each chunk [begin, end) of [0, n) in steps of `chunk`.
template <typename F>
void parallel_chunks(Index n, Index chunk, double work, F&& f) {
  const Index n_chunks = (n + chunk - 1) / chunk;
  const int t = threads_for(n_chunks, work);
  if (t <= 1) {
    for (Index c = 0; c < n_chunks; ++c) f(c * chunk, std::min(n, (c + 1) * chunk));
    return;
  }
#pragma omp parallel for schedule(static) num_threads(t)
  for (Index c = 0; c < n_chunks; ++c) f(c * chunk, std::min(n, (c + 1) * chunk));
}

}  // namespace eigennet::cpu
