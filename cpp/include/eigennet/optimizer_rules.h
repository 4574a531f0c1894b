#pragma once
// Keras 3's update rules (eigennet/optimizer.h), one parameter at a time, as formulas shared by
// every backend: the CPU backend runs them in plain loops the compiler vectorises, the CUDA
// backend in one kernel over the flat buffer. With the constants cast to T here, once, both give
// the same bits for the same inputs.
#include <cmath>
#include <cstdint>

#include "eigennet/optimizer.h"

namespace eigennet {

/// A step's constants in T: the learning rate, Adam's bias-corrected rate and the
/// hyperparameters.
template <typename T>
struct UpdateConsts {
  OptimizerKind kind;
  bool momentum;  // SGD: momentum != 0; RMSprop: momentum > 0
  bool nesterov;
  T lr, alpha;             // alpha = lr·√(1-β₂ᵗ)/(1-β₁ᵗ) for Adam, t = step + 1
  T mu, rho, eps, c1, c2;  // c1 = 1 - β₁, c2 = 1 - β₂
};

/// The constants of step `step` (updates done before it) at learning rate lr.
template <typename T>
UpdateConsts<T> update_consts(const OptimizerConfig& cfg, double lr, std::int64_t step) {
  const bool sgd = cfg.kind == OptimizerKind::SGD;
  double alpha = 0.0;
  if (cfg.kind == OptimizerKind::Adam) {
    const double t = static_cast<double>(step + 1);
    alpha = lr * std::sqrt(1.0 - std::pow(cfg.beta_2, t)) / (1.0 - std::pow(cfg.beta_1, t));
  }
  return {cfg.kind,
          sgd ? cfg.momentum != 0.0 : cfg.momentum > 0.0,
          cfg.nesterov,
          static_cast<T>(lr),
          static_cast<T>(alpha),
          static_cast<T>(cfg.momentum),
          static_cast<T>(cfg.rho),
          static_cast<T>(cfg.epsilon),
          static_cast<T>(1.0 - cfg.beta_1),
          static_cast<T>(1.0 - cfg.beta_2)};
}

/// One optimizer per specialisation: its state slots (count and starting value) and its update
/// of one parameter w with gradient g and slots s0, s1 (unused ones are scratch).
template <OptimizerKind K>
struct Rule;

/// SGD: w -= lr·g, or with momentum m = μm - lr·g; w += m (Nesterov: w += μm - lr·g).
template <>
struct Rule<OptimizerKind::SGD> {
  static int slots(const OptimizerConfig& c) { return c.momentum > 0.0 ? 1 : 0; }
  static double initial(const OptimizerConfig&, int) { return 0.0; }
  template <typename T>
  EIGENNET_HD static void update(const UpdateConsts<T>& c, T& w, T g, T& m, T&) {
    if (!c.momentum) {
      w -= c.lr * g;
      return;
    }
    m = c.mu * m - c.lr * g;
    w += c.nesterov ? c.mu * m - c.lr * g : m;
  }
};

/// Adam: m += (g - m)(1 - β₁); v += (g² - v)(1 - β₂); w -= α·m / (√v + ε).
template <>
struct Rule<OptimizerKind::Adam> {
  static int slots(const OptimizerConfig&) { return 2; }
  static double initial(const OptimizerConfig&, int) { return 0.0; }
  template <typename T>
  EIGENNET_HD static void update(const UpdateConsts<T>& c, T& w, T g, T& m, T& v) {
    m += (g - m) * c.c1;
    v += (g * g - v) * c.c2;
    w -= (m * c.alpha) / (std::sqrt(v) + c.eps);
  }
};

/// RMSprop: v = ρv + (1 - ρ)g²; inc = lr·g / √(v + ε); w -= inc, or m = μm + inc; w -= m.
template <>
struct Rule<OptimizerKind::RMSprop> {
  static int slots(const OptimizerConfig& c) { return c.momentum > 0.0 ? 2 : 1; }
  static double initial(const OptimizerConfig&, int) { return 0.0; }
  template <typename T>
  EIGENNET_HD static void update(const UpdateConsts<T>& c, T& w, T g, T& v, T& m) {
    v = c.rho * v + (T(1) - c.rho) * g * g;
    const T inc = c.lr * g / std::sqrt(v + c.eps);
    if (c.momentum) {
      m = c.mu * m + inc;
      w -= m;
    } else {
      w -= inc;
    }
  }
};

/// Adagrad: a += g²; w -= lr·g / √(a + ε), a starting at initial_accumulator_value.
template <>
struct Rule<OptimizerKind::Adagrad> {
  static int slots(const OptimizerConfig&) { return 1; }
  static double initial(const OptimizerConfig& c, int) { return c.initial_accumulator_value; }
  template <typename T>
  EIGENNET_HD static void update(const UpdateConsts<T>& c, T& w, T g, T& a, T&) {
    a += g * g;
    w -= c.lr * g / std::sqrt(a + c.eps);
  }
};

/// The update of any optimizer, for kernels that choose at run time (the CUDA kernel).
template <typename T>
EIGENNET_HD inline void update_any(const UpdateConsts<T>& c, T& w, T g, T& s0, T& s1) {
  switch (c.kind) {
#define EIGENNET_UPDATE_CASE(id, name) \
  case OptimizerKind::id: Rule<OptimizerKind::id>::update(c, w, g, s0, s1); break;
    EIGENNET_OPTIMIZERS(EIGENNET_UPDATE_CASE)
#undef EIGENNET_UPDATE_CASE
  }
}

/// Kernel regularisation of one weight: the gradient l1·sign(w) + 2·l2·w (tl2 = 2·l2 in T).
template <typename T>
EIGENNET_HD inline T penalty_gradient(T w, T l1, T tl2) {
  const T sign = w > T(0) ? T(1) : (w < T(0) ? T(-1) : T(0));
  return l1 * sign + tl2 * w;
}

}  // namespace eigennet
