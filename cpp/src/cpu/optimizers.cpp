// Optimizer steps of the CPU backend: one pass over the flat parameter buffer (rules in
// eigennet/optimizer_rules.h), cut into fixed chunks so threads never change the result.
#include <cmath>

#include "cpu/kernels.h"
#include "cpu/parallel.h"
#include "eigennet/optimizer_rules.h"

namespace eigennet::cpu {

// Each update is a plain loop over [a, b) with restrict pointers and the constants in a local
// copy, so the compiler vectorises it (a lambda capture or a reference to the constants would
// hide that nothing aliases). Absent slots are a scratch value the rule does not touch.
template <OptimizerKind K, typename T>
void run(const UpdateConsts<T>& consts, T* __restrict w, const T* __restrict g, T* __restrict s0,
         T* __restrict s1, T* __restrict s2, Index a, Index b) {
  const UpdateConsts<T> c = consts;
  T unused0 = 0, unused1 = 0, unused2 = 0;
  if (s2) {
    for (Index i = a; i < b; ++i) step_one<K>(c, w[i], g[i], s0[i], s1[i], s2[i]);
  } else if (s1) {
    for (Index i = a; i < b; ++i) step_one<K>(c, w[i], g[i], s0[i], s1[i], unused2);
  } else if (s0) {
    for (Index i = a; i < b; ++i) step_one<K>(c, w[i], g[i], s0[i], unused1, unused2);
  } else {
    for (Index i = a; i < b; ++i) step_one<K>(c, w[i], g[i], unused0, unused1, unused2);
  }
}

/// use_ema's average over [a, b), while the chunk is in cache.
template <typename T>
void moving_average(const UpdateConsts<T>& consts, T* __restrict w, T* __restrict avg, Index a,
                    Index b) {
  const UpdateConsts<T> c = consts;
  for (Index i = a; i < b; ++i) ema_one(c, w[i], avg[i]);
}

template <typename T>
void optimizer_step(const OptimizerConfig& cfg, double lr, std::int64_t step, T* w, const T* g,
                    T* state, Index n) {
  const UpdateConsts<T> c = update_consts<T>(cfg, lr, step);
  const int slots = cfg.rule_slots();
  T* s0 = slots > 0 ? state : nullptr;
  T* s1 = slots > 1 ? state + n : nullptr;
  T* s2 = slots > 2 ? state + 2 * n : nullptr;
  T* avg = cfg.use_ema ? state + slots * n : nullptr;
  constexpr Index kChunk = 1 << 14;
  // Memory-bound: worth a second thread only for large models.
  const double work = static_cast<double>(n);
  switch (cfg.kind) {
#define EIGENNET_RUN_CASE(id, name)                          \
  case OptimizerKind::id:                                    \
    parallel_chunks(n, kChunk, work, [&](Index a, Index b) { \
      run<OptimizerKind::id>(c, w, g, s0, s1, s2, a, b);     \
      if (avg) moving_average(c, w, avg, a, b);              \
    });                                                      \
    break;
    EIGENNET_OPTIMIZERS(EIGENNET_RUN_CASE)
#undef EIGENNET_RUN_CASE
  }
}

template <typename T>
void regularize(const T* w, T* g, Index n, double l1, double l2, double weight, double* penalty) {
  double p1 = 0, p2 = 0;
  const T tl1 = static_cast<T>(l1), tl2 = static_cast<T>(2.0 * l2);
  for (Index i = 0; i < n; ++i) {
    if (g) g[i] += penalty_gradient(w[i], tl1, tl2);
    p1 += std::abs(static_cast<double>(w[i]));
    p2 += static_cast<double>(w[i]) * w[i];
  }
  *penalty += weight * (l1 * p1 + l2 * p2);
}

#define EIGENNET_INSTANTIATE(T)                                                                   \
  template void optimizer_step<T>(const OptimizerConfig&, double, std::int64_t, T*, const T*, T*, \
                                  Index);                                                         \
  template void regularize<T>(const T*, T*, Index, double, double, double, double*);
EIGENNET_INSTANTIATE(float)
EIGENNET_INSTANTIATE(double)
#undef EIGENNET_INSTANTIATE

}  // namespace eigennet::cpu
