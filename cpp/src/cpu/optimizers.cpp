// Optimizer steps of the CPU backend: one pass over the flat parameter buffer (rules in
// eigennet/optimizer_rules.h), cut into fixed chunks so threads never change the result.
#include <cmath>

#include "cpu/kernels.h"
#include "cpu/parallel.h"
#include "eigennet/optimizer_rules.h"

namespace eigennet::cpu {

// Each update is a plain loop over [a, b) with restrict pointers and the constants in a local
// copy, so the compiler vectorises it (a lambda capture or a reference to the constants would
// hide that nothing aliases). The rules themselves are eigennet/optimizer_rules.h's.
template <typename T>
void sgd(const UpdateConsts<T>& consts, T* __restrict w, const T* __restrict g, T* __restrict m,
         Index a, Index b) {
  const UpdateConsts<T> c = consts;
  if (!m) {
    T unused = 0;
    for (Index i = a; i < b; ++i) sgd_rule(c, w[i], g[i], unused);
  } else {
    for (Index i = a; i < b; ++i) sgd_rule(c, w[i], g[i], m[i]);
  }
}

template <typename T>
void adam(const UpdateConsts<T>& consts, T* __restrict w, const T* __restrict g, T* __restrict m,
          T* __restrict v, Index a, Index b) {
  const UpdateConsts<T> c = consts;
  for (Index i = a; i < b; ++i) adam_rule(c, w[i], g[i], m[i], v[i]);
}

template <typename T>
void rmsprop(const UpdateConsts<T>& consts, T* __restrict w, const T* __restrict g, T* __restrict v,
             T* __restrict m, Index a, Index b) {
  const UpdateConsts<T> c = consts;
  if (!m) {
    T unused = 0;
    for (Index i = a; i < b; ++i) rmsprop_rule(c, w[i], g[i], v[i], unused);
  } else {
    for (Index i = a; i < b; ++i) rmsprop_rule(c, w[i], g[i], v[i], m[i]);
  }
}

template <typename T>
void adagrad(const UpdateConsts<T>& consts, T* __restrict w, const T* __restrict g,
             T* __restrict acc, Index a, Index b) {
  const UpdateConsts<T> c = consts;
  for (Index i = a; i < b; ++i) adagrad_rule(c, w[i], g[i], acc[i]);
}

template <typename T>
void optimizer_step(const OptimizerConfig& cfg, double lr, std::int64_t step, T* w, const T* g,
                    T* state, Index n) {
  const UpdateConsts<T> c = update_consts<T>(cfg, lr, step);
  T* s0 = state;
  T* s1 = state + n;
  constexpr Index kChunk = 1 << 14;
  // Memory-bound: worth a second thread only for large models.
  const double work = static_cast<double>(n);
  switch (cfg.kind) {
    case OptimizerKind::SGD: {
      T* m = c.momentum ? s0 : nullptr;
      parallel_chunks(n, kChunk, work, [&](Index a, Index b) { sgd(c, w, g, m, a, b); });
      break;
    }
    case OptimizerKind::Adam:
      parallel_chunks(n, kChunk, work, [&](Index a, Index b) { adam(c, w, g, s0, s1, a, b); });
      break;
    case OptimizerKind::RMSprop: {
      T* m = c.momentum ? s1 : nullptr;
      parallel_chunks(n, kChunk, work, [&](Index a, Index b) { rmsprop(c, w, g, s0, m, a, b); });
      break;
    }
    case OptimizerKind::Adagrad:
      parallel_chunks(n, kChunk, work, [&](Index a, Index b) { adagrad(c, w, g, s0, a, b); });
      break;
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
