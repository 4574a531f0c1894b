// Optimizer steps of the CPU backend: one pass over the flat parameter buffer (rules in
// eigennet/optimizer.h), cut into fixed chunks so threads never change the result.
#include <cmath>

#include "cpu/kernels.h"
#include "cpu/parallel.h"

namespace eigennet::cpu {

template <typename T>
void optimizer_step(const OptimizerConfig& cfg, double lr_d, std::int64_t step, T* w, const T* g,
                    T* state, Index n) {
  const T lr = static_cast<T>(lr_d), eps = static_cast<T>(cfg.epsilon);
  T* s0 = state;
  T* s1 = state + n;
  constexpr Index kChunk = 1 << 14;
  const double work = static_cast<double>(n) * 4;
  switch (cfg.kind) {
    case OptimizerKind::SGD: {
      const T mu = static_cast<T>(cfg.momentum);
      parallel_chunks(n, kChunk, work, [&](Index a, Index b) {
        if (cfg.momentum == 0.0) {
          for (Index i = a; i < b; ++i) w[i] -= lr * g[i];
        } else if (cfg.nesterov) {
          for (Index i = a; i < b; ++i) {
            s0[i] = mu * s0[i] - lr * g[i];
            w[i] += mu * s0[i] - lr * g[i];
          }
        } else {
          for (Index i = a; i < b; ++i) {
            s0[i] = mu * s0[i] - lr * g[i];
            w[i] += s0[i];
          }
        }
      });
      break;
    }
    case OptimizerKind::Adam: {
      const double t = static_cast<double>(step + 1);
      const T alpha = static_cast<T>(lr_d * std::sqrt(1.0 - std::pow(cfg.beta_2, t)) /
                                     (1.0 - std::pow(cfg.beta_1, t)));
      const T c1 = static_cast<T>(1.0 - cfg.beta_1), c2 = static_cast<T>(1.0 - cfg.beta_2);
      parallel_chunks(n, kChunk, work, [&](Index a, Index b) {
        for (Index i = a; i < b; ++i) {
          s0[i] += (g[i] - s0[i]) * c1;
          s1[i] += (g[i] * g[i] - s1[i]) * c2;
          w[i] -= (s0[i] * alpha) / (std::sqrt(s1[i]) + eps);
        }
      });
      break;
    }
    case OptimizerKind::RMSprop: {
      const T rho = static_cast<T>(cfg.rho), mu = static_cast<T>(cfg.momentum);
      parallel_chunks(n, kChunk, work, [&](Index a, Index b) {
        for (Index i = a; i < b; ++i) {
          s0[i] = rho * s0[i] + (T(1) - rho) * g[i] * g[i];
          const T inc = lr * g[i] / std::sqrt(s0[i] + eps);
          if (cfg.momentum > 0.0) {
            s1[i] = mu * s1[i] + inc;
            w[i] -= s1[i];
          } else {
            w[i] -= inc;
          }
        }
      });
      break;
    }
    case OptimizerKind::Adagrad:
      parallel_chunks(n, kChunk, work, [&](Index a, Index b) {
        for (Index i = a; i < b; ++i) {
          s0[i] += g[i] * g[i];
          w[i] -= lr * g[i] / std::sqrt(s0[i] + eps);
        }
      });
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

#define EIGENNET_INSTANTIATE(T)                                                                \
  template void optimizer_step<T>(const OptimizerConfig&, double, std::int64_t, T*, const T*,  \
                                  T*, Index);                                                  \
  template void regularize<T>(const T*, T*, Index, double, double, double, double*);
EIGENNET_INSTANTIATE(float)
EIGENNET_INSTANTIATE(double)
#undef EIGENNET_INSTANTIATE

}  // namespace eigennet::cpu
