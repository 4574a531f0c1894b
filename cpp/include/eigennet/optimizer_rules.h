#pragma once
// Keras 3's update rules (eigennet/optimizer.h), one parameter at a time, as formulas shared by
// every backend: the CPU backend runs them in plain loops the compiler vectorises, the CUDA
// backend in one kernel over the flat buffer. With the constants cast to T here, once, both give
// the same bits for the same inputs.
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "eigennet/optimizer.h"

namespace eigennet {

/// A step's constants in T: the learning rate, the step's bias corrections and the
/// hyperparameters.
template <typename T>
struct UpdateConsts {
  OptimizerKind kind;
  bool momentum;  // SGD: momentum != 0; RMSprop: momentum > 0
  bool nesterov;
  bool amsgrad, centered;  // Adam, RMSprop
  T lr, alpha;  // alpha: Adam lr·√(1-β₂ᵗ)/(1-β₁ᵗ), Adamax lr/(1-β₁ᵗ), Nadam 1/(1-β₂ᵗ)
  T mu, rho, eps, c1, c2;         // c1 = 1 - β₁, c2 = 1 - β₂
  T b1, b2;                       // β₁, β₂ (Adamax, Lion)
  T wd, clip;                     // weight decay, clipvalue (0: none)
  T k1, k2;                       // Nadam: m̂ = k1·m + k2·g
  T power, l1, l2, shrink, beta;  // Ftrl: lr_power and the three regularisation strengths
  T ema_m;                        // use_ema: this step's momentum (0 at the first step)
  bool ema_overwrite;             // use_ema: w = avg after this step
};

/// This step's values that change from step to step, in double (the CUDA kernel reads them per
/// replay and casts them as update_consts does): lr, alpha, k1, k2, the moving average's
/// momentum and whether it overwrites the weights (1) or not (0).
struct StepValues {
  double lr, alpha, k1, k2, ema_m, ema_overwrite;
};

/// Nadam's momentum schedule μ_t = β₁(1 - ½·0.96ᵗ) and the product Π_{k≤t} μ_k: the product's
/// factors beyond k = 1000 differ from β₁ by less than 1e-17, so a table of 1000 log terms
/// gives it for any t.
inline double nadam_mu(double beta_1, double t) { return beta_1 * (1.0 - 0.5 * std::pow(0.96, t)); }
double nadam_mu_product(double beta_1, std::int64_t t);

StepValues step_values(const OptimizerConfig& cfg, double lr, std::int64_t step);

/// The constants of step `step` (updates done before it) at learning rate lr.
template <typename T>
UpdateConsts<T> update_consts(const OptimizerConfig& cfg, double lr, std::int64_t step) {
  const bool sgd = cfg.kind == OptimizerKind::SGD;
  const StepValues v = step_values(cfg, lr, step);
  return {cfg.kind,
          sgd ? cfg.momentum != 0.0 : cfg.momentum > 0.0,
          cfg.nesterov,
          cfg.amsgrad,
          cfg.centered,
          static_cast<T>(v.lr),
          static_cast<T>(v.alpha),
          static_cast<T>(cfg.momentum),
          static_cast<T>(cfg.rho),
          static_cast<T>(cfg.epsilon),
          static_cast<T>(1.0 - cfg.beta_1),
          static_cast<T>(1.0 - cfg.beta_2),
          static_cast<T>(cfg.beta_1),
          static_cast<T>(cfg.beta_2),
          static_cast<T>(cfg.weight_decay),
          static_cast<T>(cfg.clipvalue),
          static_cast<T>(v.k1),
          static_cast<T>(v.k2),
          static_cast<T>(cfg.lr_power),
          static_cast<T>(cfg.l1),
          static_cast<T>(cfg.l2),
          static_cast<T>(cfg.l2_shrinkage),
          static_cast<T>(cfg.beta),
          static_cast<T>(v.ema_m),
          v.ema_overwrite != 0.0};
}

/// One optimizer per specialisation: its state slots (count and starting value) and its update
/// of one parameter w with gradient g and slots s0, s1, s2 (unused ones are scratch).
template <OptimizerKind K>
struct Rule;

/// SGD: w -= lr·g, or with momentum m = μm - lr·g; w += m (Nesterov: w += μm - lr·g).
template <>
struct Rule<OptimizerKind::SGD> {
  static int slots(const OptimizerConfig& c) { return c.momentum > 0.0 ? 1 : 0; }
  static double initial(const OptimizerConfig&, int) { return 0.0; }
  static bool nonnegative(int) { return false; }
  template <typename T>
  EIGENNET_HD static void update(const UpdateConsts<T>& c, T& w, T g, T& m, T&, T&) {
    if (!c.momentum) {
      w -= c.lr * g;
      return;
    }
    m = c.mu * m - c.lr * g;
    w += c.nesterov ? c.mu * m - c.lr * g : m;
  }
};

/// Adam's moments (Adam, Nadam): m += (g - m)(1 - β₁); v += (g² - v)(1 - β₂).
template <typename T>
EIGENNET_HD inline void adam_moments(const UpdateConsts<T>& c, T g, T& m, T& v) {
  m += (g - m) * c.c1;
  v += (g * g - v) * c.c2;
}

/// Adam: the moments, then w -= α·m / (√v + ε); with amsgrad v̂ = max(v̂, v) replaces v.
template <>
struct Rule<OptimizerKind::Adam> {
  static int slots(const OptimizerConfig& c) { return c.amsgrad ? 3 : 2; }
  static double initial(const OptimizerConfig&, int) { return 0.0; }
  static bool nonnegative(int slot) { return slot >= 1; }
  template <typename T>
  EIGENNET_HD static void update(const UpdateConsts<T>& c, T& w, T g, T& m, T& v, T& v_hat) {
    adam_moments(c, g, m, v);
    if (c.amsgrad) {
      v_hat = std::max(v_hat, v);
      w -= (m * c.alpha) / (std::sqrt(v_hat) + c.eps);
      return;
    }
    w -= (m * c.alpha) / (std::sqrt(v) + c.eps);
  }
};

/// RMSprop: v = ρv + (1 - ρ)g²; inc = lr·g / √(v + ε); w -= inc, or m = μm + inc; w -= m.
/// Centered: ḡ = ρḡ + (1 - ρ)g and inc = lr·g / √(v - ḡ² + ε). Slots v, m, ḡ (m unused without
/// momentum, ḡ only when centered).
template <>
struct Rule<OptimizerKind::RMSprop> {
  static int slots(const OptimizerConfig& c) { return c.centered ? 3 : (c.momentum > 0.0 ? 2 : 1); }
  static double initial(const OptimizerConfig&, int) { return 0.0; }
  static bool nonnegative(int slot) { return slot == 0; }
  template <typename T>
  EIGENNET_HD static void update(const UpdateConsts<T>& c, T& w, T g, T& v, T& m, T& mg) {
    v = c.rho * v + (T(1) - c.rho) * g * g;
    T denominator = v + c.eps;
    if (c.centered) {
      mg = c.rho * mg + (T(1) - c.rho) * g;
      denominator = v - mg * mg + c.eps;
    }
    const T inc = c.lr * g / std::sqrt(denominator);
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
  static bool nonnegative(int) { return true; }
  template <typename T>
  EIGENNET_HD static void update(const UpdateConsts<T>& c, T& w, T g, T& a, T&, T&) {
    a += g * g;
    w -= c.lr * g / std::sqrt(a + c.eps);
  }
};

/// Adamax: m += (g - m)(1 - β₁); u = max(β₂u, |g|); w -= α·m / (u + ε), α = lr/(1 - β₁ᵗ).
template <>
struct Rule<OptimizerKind::Adamax> {
  static int slots(const OptimizerConfig&) { return 2; }
  static double initial(const OptimizerConfig&, int) { return 0.0; }
  static bool nonnegative(int slot) { return slot == 1; }
  template <typename T>
  EIGENNET_HD static void update(const UpdateConsts<T>& c, T& w, T g, T& m, T& u, T&) {
    m += (g - m) * c.c1;
    u = std::max(c.b2 * u, std::abs(g));
    w -= (c.alpha * m) / (u + c.eps);
  }
};

/// Nadam (Keras 3): Adam's moments, then m̂ = k1·m + k2·g, v̂ = v/(1 - β₂ᵗ) (alpha);
/// w -= lr·m̂ / (√v̂ + ε).
template <>
struct Rule<OptimizerKind::Nadam> {
  static int slots(const OptimizerConfig&) { return 2; }
  static double initial(const OptimizerConfig&, int) { return 0.0; }
  static bool nonnegative(int slot) { return slot == 1; }
  template <typename T>
  EIGENNET_HD static void update(const UpdateConsts<T>& c, T& w, T g, T& m, T& v, T&) {
    adam_moments(c, g, m, v);
    const T m_hat = c.k1 * m + c.k2 * g;
    w -= (m_hat * c.lr) / (std::sqrt(v * c.alpha) + c.eps);
  }
};

/// Lion: w -= lr·sign(β₁m + (1 - β₁)g); m = β₂m + (1 - β₂)g.
template <>
struct Rule<OptimizerKind::Lion> {
  static int slots(const OptimizerConfig&) { return 1; }
  static double initial(const OptimizerConfig&, int) { return 0.0; }
  static bool nonnegative(int) { return false; }
  template <typename T>
  EIGENNET_HD static void update(const UpdateConsts<T>& c, T& w, T g, T& m, T&, T&) {
    const T u = m * c.b1 + g * c.c1;
    w -= c.lr * (u > T(0) ? T(1) : (u < T(0) ? T(-1) : T(0)));
    m = m * c.b2 + g * c.c2;
  }
};

/// Adadelta: a = ρa + (1 - ρ)g²; Δ = -√(d + ε)·g / √(a + ε); d = ρd + (1 - ρ)Δ²; w += lr·Δ.
template <>
struct Rule<OptimizerKind::Adadelta> {
  static int slots(const OptimizerConfig&) { return 2; }
  static double initial(const OptimizerConfig&, int) { return 0.0; }
  static bool nonnegative(int) { return true; }
  template <typename T>
  EIGENNET_HD static void update(const UpdateConsts<T>& c, T& w, T g, T& a, T& d, T&) {
    a = c.rho * a + (T(1) - c.rho) * (g * g);
    const T delta = -(std::sqrt(d + c.eps) * g) / std::sqrt(a + c.eps);
    d = c.rho * d + (T(1) - c.rho) * (delta * delta);
    w += c.lr * delta;
  }
};

/// Ftrl (McMahan et al., Keras's form): accumulator n (starts at initial_accumulator_value) and
/// linear z (starts at 0).
template <>
struct Rule<OptimizerKind::Ftrl> {
  static int slots(const OptimizerConfig&) { return 2; }
  static double initial(const OptimizerConfig& c, int slot) {
    return slot == 0 ? c.initial_accumulator_value : 0.0;
  }
  static bool nonnegative(int slot) { return slot == 0; }
  template <typename T>
  EIGENNET_HD static void update(const UpdateConsts<T>& c, T& w, T g, T& n, T& z, T&) {
    const T l2 = c.l2 + c.beta / (T(2) * c.lr);
    const T n_new = n + g * g;
    const T p_new = std::pow(n_new, -c.power), p_old = std::pow(n, -c.power);
    z += g + T(2) * c.shrink * w - (p_new - p_old) / c.lr * w;
    const T quadratic = p_new / c.lr + T(2) * l2;
    w = (std::min(std::max(z, -c.l1), c.l1) - z) / quadratic;
    n = n_new;
  }
};

/// Keras's order around every rule: clip the gradient, decay the weight, then the update.
template <OptimizerKind K, typename T>
EIGENNET_HD inline void step_one(const UpdateConsts<T>& c, T& w, T g, T& s0, T& s1, T& s2) {
  if (c.clip > T(0)) g = std::min(std::max(g, -c.clip), c.clip);
  if (c.wd != T(0)) w -= w * c.wd * c.lr;
  Rule<K>::update(c, w, g, s0, s1, s2);
}

/// Keras's moving average of a weight after its update (use_ema), before any constraint:
/// avg = m·avg + (1 - m)·w, then w = avg on an overwrite step.
template <typename T>
EIGENNET_HD inline void ema_one(const UpdateConsts<T>& c, T& w, T& avg) {
  avg = c.ema_m * avg + (T(1) - c.ema_m) * w;
  if (c.ema_overwrite) w = avg;
}

/// The update of any optimizer, for kernels that choose at run time (the CUDA kernel).
template <typename T>
EIGENNET_HD inline void update_any(const UpdateConsts<T>& c, T& w, T g, T& s0, T& s1, T& s2) {
  switch (c.kind) {
#define EIGENNET_UPDATE_CASE(id, name) \
  case OptimizerKind::id: step_one<OptimizerKind::id>(c, w, g, s0, s1, s2); break;
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
