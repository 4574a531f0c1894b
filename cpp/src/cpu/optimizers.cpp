// Optimizer steps of the CPU backend: one pass over the flat parameter buffer (rules in
// eigennet/optimizer.h), cut into fixed chunks so threads never change the result.
#include <cmath>

#include "cpu/kernels.h"
#include "cpu/parallel.h"

namespace eigennet::cpu {

// Each update is a plain loop over [a, b) with restrict pointers, so the compiler vectorises it
// (lambda captures would hide the no-alias guarantee).
template <typename T>
void sgd(T* __restrict w, const T* __restrict g, T* __restrict m, Index a, Index b, T lr, T mu,
         bool nesterov) {
  if (!m) {
    for (Index i = a; i < b; ++i) w[i] -= lr * g[i];
  } else if (nesterov) {
    for (Index i = a; i < b; ++i) {
      m[i] = mu * m[i] - lr * g[i];
      w[i] += mu * m[i] - lr * g[i];
    }
  } else {
    for (Index i = a; i < b; ++i) {
      m[i] = mu * m[i] - lr * g[i];
      w[i] += m[i];
    }
  }
}

template <typename T>
void adam(T* __restrict w, const T* __restrict g, T* __restrict m, T* __restrict v, Index a,
          Index b, T alpha, T c1, T c2, T eps) {
  for (Index i = a; i < b; ++i) {
    m[i] += (g[i] - m[i]) * c1;
    v[i] += (g[i] * g[i] - v[i]) * c2;
    w[i] -= (m[i] * alpha) / (std::sqrt(v[i]) + eps);
  }
}

template <typename T>
void rmsprop(T* __restrict w, const T* __restrict g, T* __restrict v, T* __restrict m, Index a,
             Index b, T lr, T rho, T mu, T eps) {
  for (Index i = a; i < b; ++i) {
    v[i] = rho * v[i] + (T(1) - rho) * g[i] * g[i];
    const T inc = lr * g[i] / std::sqrt(v[i] + eps);
    if (m) {
      m[i] = mu * m[i] + inc;
      w[i] -= m[i];
    } else {
      w[i] -= inc;
    }
  }
}

template <typename T>
void adagrad(T* __restrict w, const T* __restrict g, T* __restrict acc, Index a, Index b, T lr,
             T eps) {
  for (Index i = a; i < b; ++i) {
    acc[i] += g[i] * g[i];
    w[i] -= lr * g[i] / std::sqrt(acc[i] + eps);
  }
}

template <typename T>
void optimizer_step(const OptimizerConfig& cfg, double lr_d, std::int64_t step, T* w, const T* g,
                    T* state, Index n) {
  const T lr = static_cast<T>(lr_d), eps = static_cast<T>(cfg.epsilon);
  T* s0 = state;
  T* s1 = state + n;
  constexpr Index kChunk = 1 << 14;
  // Memory-bound: worth a second thread only for large models.
  const double work = static_cast<double>(n);
  switch (cfg.kind) {
    case OptimizerKind::SGD: {
      T* m = cfg.momentum == 0.0 ? nullptr : s0;
      const T mu = static_cast<T>(cfg.momentum);
      parallel_chunks(n, kChunk, work,
                      [&](Index a, Index b) { sgd(w, g, m, a, b, lr, mu, cfg.nesterov); });
      break;
    }
    case OptimizerKind::Adam: {
      const double t = static_cast<double>(step + 1);
      const T alpha = static_cast<T>(lr_d * std::sqrt(1.0 - std::pow(cfg.beta_2, t)) /
                                     (1.0 - std::pow(cfg.beta_1, t)));
      const T c1 = static_cast<T>(1.0 - cfg.beta_1), c2 = static_cast<T>(1.0 - cfg.beta_2);
      parallel_chunks(n, kChunk, work,
                      [&](Index a, Index b) { adam(w, g, s0, s1, a, b, alpha, c1, c2, eps); });
      break;
    }
    case OptimizerKind::RMSprop: {
      T* m = cfg.momentum > 0.0 ? s1 : nullptr;
      const T rho = static_cast<T>(cfg.rho), mu = static_cast<T>(cfg.momentum);
      parallel_chunks(n, kChunk, work,
                      [&](Index a, Index b) { rmsprop(w, g, s0, m, a, b, lr, rho, mu, eps); });
      break;
    }
    case OptimizerKind::Adagrad:
      parallel_chunks(n, kChunk, work, [&](Index a, Index b) { adagrad(w, g, s0, a, b, lr, eps); });
      break;
  }
}

template <typename T>
void regularize(const T* w, T* g, Index n, double l1, double l2, double weight, double* penalty) {
  double p1 = 0, p2 = 0;
  const T tl1 = static_cast<T>(l1), tl2 = static_cast<T>(2.0 * l2);
  for (Index i = 0; i < n; ++i) {
    const T sign = w[i] > T(0) ? T(1) : (w[i] < T(0) ? T(-1) : T(0));
    if (g) g[i] += tl1 * sign + tl2 * w[i];
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
