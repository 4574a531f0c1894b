#pragma once
// One sample column's loss value and gradient: the formulas both backends
// run (the CPU over columns in a loop, CUDA one thread per column), written once. Conventions in
// eigennet/losses.h. Columns are (n_out) entries of a column-major (n_out, batch) matrix; targets
// are n_out entries, or one integer label (stored as T) for sparse losses.
#include <algorithm>
#include <cmath>

#include "eigennet/activations.h"
#include "eigennet/config.h"
#include "eigennet/losses.h"

namespace eigennet::losses {

template <typename T>
struct Column {
  const T* p;      // n prediction entries (probabilities or logits)
  const T* y;      // targets: n entries, or one integer label
  T* g;            // n gradient entries, or null
  const T* alpha;  // n per-class weights of the categorical focal loss, or null: LossSpec::alpha
  Index n;
  T scale;  // gradient scale (1 / batch for a mean)
};

template <typename T>
EIGENNET_HD inline T clip(T p) {
  return std::min(std::max(p, T(kEpsilon)), T(1) - T(kEpsilon));
}

/// log Σ exp(z_i), shifted by the maximum.
template <typename T>
EIGENNET_HD inline T log_sum_exp(const T* z, Index n) {
  T m = z[0];
  for (Index i = 1; i < n; ++i) m = std::max(m, z[i]);
  T s = 0;
  for (Index i = 0; i < n; ++i) s += std::exp(z[i] - m);
  return m + std::log(s);
}

/// Keras's focal factor (1 - p_t)^γ of binary focal cross-entropy and its derivative in q (the
/// probability of class 1), p_t = y q + (1 - y)(1 - q). At 1 - p_t = 0 the derivative is taken
/// as 0 (it is infinite there for γ < 1).
template <typename T>
EIGENNET_HD inline void focal_factor(T q, T y, T gamma, T* f, T* df_dq) {
  const T u = T(1) - (y * q + (T(1) - y) * (T(1) - q));
  *f = gamma == T(0) ? T(1) : std::pow(u, gamma);
  *df_dq =
      gamma == T(0) || u <= T(0) ? T(0) : -gamma * std::pow(u, gamma - T(1)) * (T(2) * y - T(1));
}

template <typename T>
EIGENNET_HD inline T elementwise(const LossSpec& loss, const Column<T>& c) {
  const LossKind kind = loss.kind;
  T total = 0;
  // The per-sample value is a mean over outputs, but KL divergence's is a sum (as Keras's).
  const T per = kind == LossKind::KLDivergence ? T(1) : T(c.n);
  const T gs = c.scale / per;
  const T eps = T(kEpsilon);
  for (Index i = 0; i < c.n; ++i) {
    const T p = c.p[i], y = c.y[i];
    T v = 0, g = 0;
    switch (kind) {
      case LossKind::MeanSquaredError:
        v = (p - y) * (p - y);
        g = T(2) * (p - y);
        break;
      case LossKind::MeanAbsoluteError:
        v = std::abs(p - y);
        g = p > y ? T(1) : (p < y ? T(-1) : T(0));
        break;
      case LossKind::BinaryCrossentropy: {
        const T pc = clip(p);
        v = -(y * std::log(pc) + (T(1) - y) * std::log(T(1) - pc));
        g = pc == p ? -(y / pc) + (T(1) - y) / (T(1) - pc) : T(0);  // clipping stops the gradient
        break;
      }
      case LossKind::MeanSquaredLogarithmicError: {
        const T lp = std::log1p(std::max(p, eps)), ly = std::log1p(std::max(y, eps));
        v = (lp - ly) * (lp - ly);
        g = p > eps ? T(2) * (lp - ly) / (T(1) + p) : T(0);
        break;
      }
      case LossKind::MeanAbsolutePercentageError: {
        const T d = std::max(std::abs(y), eps);
        v = T(100) * std::abs(y - p) / d;
        g = T(100) * (p > y ? T(1) : (p < y ? T(-1) : T(0))) / d;
        break;
      }
      case LossKind::LogCosh: {  // x + softplus(-2x) - log 2: no overflow for large |x|
        const T x = p - y;
        v = x + softplus(T(-2) * x) - T(0.6931471805599453);
        g = std::tanh(x);
        break;
      }
      case LossKind::Huber: {
        const T d = T(loss.delta), x = p - y, ax = std::abs(x);
        v = ax <= d ? T(0.5) * x * x : d * (ax - T(0.5) * d);
        g = std::min(std::max(x, -d), d);
        break;
      }
      case LossKind::BinaryFocalCrossentropy:
      case LossKind::BinaryFocalCrossentropyLogits: {
        // Keras: the cross-entropy (clipped on probabilities, exact on logits) times the focal
        // factor of the unclipped probability, times y·α + (1 - y)(1 - α) when balanced.
        const bool logits = kind == LossKind::BinaryFocalCrossentropyLogits;
        const T q = logits ? sigmoid(p) : p, pc = clip(p);
        const T bce =
            logits ? log1p_exp(p) - p * y : -(y * std::log(pc) + (T(1) - y) * std::log(T(1) - pc));
        const T dbce = logits ? q - y : (pc == p ? -(y / pc) + (T(1) - y) / (T(1) - pc) : T(0));
        T f, df;
        focal_factor(q, y, T(loss.gamma), &f, &df);
        const T a = T(loss.alpha);
        const T w = loss.balanced ? y * a + (T(1) - y) * (T(1) - a) : T(1);
        v = w * f * bce;
        g = w * ((logits ? df * q * (T(1) - q) : df) * bce + f * dbce);
        break;
      }
      case LossKind::Hinge:
      case LossKind::SquaredHinge: {
        const T margin = std::max(T(1) - y * p, T(0));
        const bool squared = kind == LossKind::SquaredHinge;
        v = squared ? margin * margin : margin;
        g = margin > T(0) ? (squared ? T(-2) * y * margin : -y) : T(0);
        break;
      }
      case LossKind::Poisson:
        v = p - y * std::log(p + eps);
        g = T(1) - y / (p + eps);
        break;
      case LossKind::KLDivergence: {
        const T yc = std::min(std::max(y, eps), T(1)), pc = std::min(std::max(p, eps), T(1));
        v = yc * std::log(yc / pc);
        g = pc == p ? -yc / pc : T(0);  // clipping stops the gradient
        break;
      }
      default:  // BinaryCrossentropyLogits: max(z, 0) - z*y + log(1 + exp(-|z|))
        v = log1p_exp(p) - p * y;
        g = sigmoid(p) - y;
    }
    total += v;
    if (c.g) c.g[i] = gs * g;
  }
  return total / per;
}

/// Keras's cosine similarity loss, -ŷ·p̂ with x̂ = x / sqrt(max(Σx², 1e-12)).
/// dL/dp_i = -(ŷ_i - (ŷ·p̂) p̂_i) / |p| while Σp² > 1e-12 (the clamp is constant below it).
template <typename T>
EIGENNET_HD inline T cosine_similarity(const Column<T>& c) {
  T yy = 0, pp = 0, yp = 0;
  for (Index i = 0; i < c.n; ++i) {
    yy += c.y[i] * c.y[i];
    pp += c.p[i] * c.p[i];
    yp += c.y[i] * c.p[i];
  }
  const T ny = std::sqrt(std::max(yy, T(1e-12))), np = std::sqrt(std::max(pp, T(1e-12)));
  const T cos = yp / (ny * np);
  if (c.g)
    for (Index i = 0; i < c.n; ++i) {
      const T radial = pp > T(1e-12) ? cos * c.p[i] / np : T(0);
      c.g[i] = -c.scale * (c.y[i] / ny - radial) / np;
    }
  return -cos;
}

/// Keras's categorical hinge, max(neg - pos + 1, 0) with pos = Σ y p, neg = max (1 - y) p.
template <typename T>
EIGENNET_HD inline T categorical_hinge(const Column<T>& c) {
  T pos = 0;
  Index k = 0;
  for (Index i = 0; i < c.n; ++i) {
    pos += c.y[i] * c.p[i];
    if ((T(1) - c.y[i]) * c.p[i] > (T(1) - c.y[k]) * c.p[k]) k = i;
  }
  const T v = (T(1) - c.y[k]) * c.p[k] - pos + T(1);
  if (c.g)
    for (Index i = 0; i < c.n; ++i)
      c.g[i] = v > T(0) ? c.scale * ((i == k ? T(1) - c.y[k] : T(0)) - c.y[i]) : T(0);
  return std::max(v, T(0));
}

/// Categorical cross-entropy on probabilities: q = p / Σp, clipped; L = -Σ y log q.
/// With g_j = dL/dq_j, dL/dp_i = (g_i - Σ_j g_j q_j) / Σp.
template <typename T>
EIGENNET_HD inline T categorical_probs(const Column<T>& c, bool sparse) {
  T s = 0;
  for (Index i = 0; i < c.n; ++i) s += c.p[i];
  T total = 0, gq = 0;
  const Index label = sparse ? static_cast<Index>(c.y[0]) : -1;
  for (Index i = 0; i < c.n; ++i) {
    const T y = sparse ? T(i == label) : c.y[i];
    const T q = c.p[i] / s, qc = clip(q);
    total -= y * std::log(qc);
    const T g = (qc == q) ? -y / qc : T(0);
    gq += g * q;
    if (c.g) c.g[i] = g;  // dL/dq for now
  }
  if (c.g)
    for (Index i = 0; i < c.n; ++i) c.g[i] = c.scale * (c.g[i] - gq) / s;
  return total;
}

/// Keras's categorical focal cross-entropy: q = p / Σp (p = softmax(z) on logits), o = clip(q),
/// L = Σ α (1 - o)^γ (-y log o). With g_i = dL/do_i (0 where clipped), dL/dp_k = (g_k - Σ g q)
/// / Σp; on logits, through the softmax, dL/dz_k = p_k (G_k - Σ G p), G = dL/dp.
template <typename T>
EIGENNET_HD inline T categorical_focal(const LossSpec& loss, const Column<T>& c, bool logits) {
  const T lse = logits ? log_sum_exp(c.p, c.n) : T(0);
  auto prob = [&](Index i) { return logits ? std::exp(c.p[i] - lse) : c.p[i]; };
  T s = 0;
  for (Index i = 0; i < c.n; ++i) s += prob(i);
  const T gamma = T(loss.gamma);
  T total = 0, gq = 0, gp = 0;
  for (Index i = 0; i < c.n; ++i) {
    const T alpha = c.alpha ? c.alpha[i] : T(loss.alpha);
    const T pi = prob(i), q = pi / s, o = clip(q), y = c.y[i];
    const T u = T(1) - o, mod = gamma == T(0) ? T(1) : std::pow(u, gamma);
    total -= alpha * mod * y * std::log(o);
    T g = 0;
    if (o == q) {
      const T dmod = gamma == T(0) ? T(0) : -gamma * std::pow(u, gamma - T(1));
      g = -alpha * y * (dmod * std::log(o) + mod / o);
    }
    gq += g * q;
    gp += g * pi;
    if (c.g) c.g[i] = g;
  }
  if (c.g) {
    const T sum_gp = (gp - gq * s) / s;  // Σ_k G_k p_k
    for (Index i = 0; i < c.n; ++i) {
      const T G = (c.g[i] - gq) / s;
      c.g[i] = c.scale * (logits ? prob(i) * (G - sum_gp) : G);
    }
  }
  return total;
}

/// Categorical cross-entropy on logits: L = Σy · lse(z) - Σ y z; dL/dz = softmax(z) Σy - y.
template <typename T>
EIGENNET_HD inline T categorical_logits(const Column<T>& c, bool sparse) {
  const T lse = log_sum_exp(c.p, c.n);
  const Index label = sparse ? static_cast<Index>(c.y[0]) : -1;
  T sum_y = 0, yz = 0;
  for (Index i = 0; i < c.n; ++i) {
    const T y = sparse ? T(i == label) : c.y[i];
    sum_y += y;
    yz += y * c.p[i];
  }
  if (c.g)
    for (Index i = 0; i < c.n; ++i)
      c.g[i] = c.scale * (std::exp(c.p[i] - lse) * sum_y - (sparse ? T(i == label) : c.y[i]));
  return sum_y * lse - yz;
}

template <typename T>
EIGENNET_HD inline Index argmax(const T* p, Index n) {
  Index k = 0;
  for (Index i = 1; i < n; ++i)
    if (p[i] > p[k]) k = i;
  return k;
}

/// Sample j's loss value; its gradient column too when grad is set. class_alpha: (n_out) or null.
template <typename T>
EIGENNET_HD inline T loss_column(const LossSpec& loss, const T* P, const T* Y, const T* class_alpha,
                                 Index n_out, Index n_y, Index j, T grad_scale, T* grad) {
  const Column<T> c{P + j * n_out, Y + j * n_y, grad ? grad + j * n_out : nullptr,
                    class_alpha,   n_out,       grad_scale};
  switch (loss.kind) {
    case LossKind::CategoricalCrossentropy: return categorical_probs(c, false);
    case LossKind::SparseCategoricalCrossentropy: return categorical_probs(c, true);
    case LossKind::CategoricalCrossentropyLogits: return categorical_logits(c, false);
    case LossKind::SparseCategoricalCrossentropyLogits: return categorical_logits(c, true);
    case LossKind::CosineSimilarity: return cosine_similarity(c);
    case LossKind::CategoricalHinge: return categorical_hinge(c);
    case LossKind::CategoricalFocalCrossentropy: return categorical_focal(loss, c, false);
    case LossKind::CategoricalFocalCrossentropyLogits: return categorical_focal(loss, c, true);
    default: return elementwise(loss, c);
  }
}

}  // namespace eigennet::losses
