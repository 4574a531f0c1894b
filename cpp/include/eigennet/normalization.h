#pragma once
// Normalisation over one line of a column-major (rows, cols) matrix, as formulas shared by every
// backend: a line is a row (one feature across the batch: BatchNormalization) or a column (one
// sample across its features: LayerNormalization). Element i of a line sits at x[i * step].
//
//   x̂ = (x - μ) · r,   y = γ ⊙ x̂ + β,   r = 1 / sqrt(v + ε)   (Normalization: 1 / max(sqrt(v), ε))
//
// with μ and the biased variance v of the line (Keras's moments), or given statistics. γ and β
// are either one value per line (per-feature affine of BatchNormalization) or indexed along it
// (LayerNormalization): their step says which (0: constant along the line).
#include <cmath>

#include "eigennet/config.h"

namespace eigennet {

/// Which statistics normalise: per feature over the batch, or per sample over the features.
enum class NormAxis { Batch, Features };

template <typename T>
EIGENNET_HD inline T norm_inv_std(T var, double eps, bool eps_outside) {
  if (eps_outside) {
    const T s = std::sqrt(var > T(0) ? var : T(0));
    return T(1) / (s > T(eps) ? s : T(eps));
  }
  return T(1) / std::sqrt(var + T(eps));
}

/// Mean and biased variance of a line of n elements, in two passes (no cancellation).
template <typename T>
EIGENNET_HD inline void line_moments(const T* x, Index n, Index step, T* mean, T* var) {
  T s = 0;
  for (Index i = 0; i < n; ++i) s += x[i * step];
  const T m = s / T(n);
  T q = 0;
  for (Index i = 0; i < n; ++i) {
    const T d = x[i * step] - m;
    q += d * d;
  }
  *mean = m;
  *var = q / T(n);
}

/// y_i = γ_i · (x_i - μ) · r + β_i along a line; gamma and beta may be null (1 and 0).
template <typename T>
EIGENNET_HD inline void normalize_line(const T* x, T* y, Index n, Index step, T mean, T r,
                                       const T* gamma, Index g_step, const T* beta, Index b_step) {
  for (Index i = 0; i < n; ++i) {
    const T g = gamma ? gamma[i * g_step] : T(1);
    const T b = beta ? beta[i * b_step] : T(0);
    y[i * step] = g * (x[i * step] - mean) * r + b;
  }
}

/// dL/dx along a line from dL/dy. With batch statistics μ and v depend on the line itself:
///   dx̂ = γ ⊙ dy,   dx = r/n · (n·dx̂ - Σdx̂ - x̂ · Σ(dx̂ ⊙ x̂));
/// with given (constant) statistics dx = r · dx̂.
template <typename T>
EIGENNET_HD inline void normalize_line_backward(const T* x, const T* dy, T* dx, Index n, Index step,
                                                T mean, T r, const T* gamma, Index g_step,
                                                bool batch_stats) {
  T s1 = 0, s2 = 0;
  if (batch_stats)
    for (Index i = 0; i < n; ++i) {
      const T g = gamma ? gamma[i * g_step] : T(1);
      const T d = g * dy[i * step];
      s1 += d;
      s2 += d * (x[i * step] - mean) * r;
    }
  const T inv_n = T(1) / T(n);
  for (Index i = 0; i < n; ++i) {
    const T g = gamma ? gamma[i * g_step] : T(1);
    const T d = g * dy[i * step];
    if (batch_stats) {
      const T xh = (x[i * step] - mean) * r;
      dx[i * step] = r * inv_n * (T(n) * d - s1 - xh * s2);
    } else {
      dx[i * step] = r * d;
    }
  }
}

/// dγ = Σ dy ⊙ x̂ and dβ = Σ dy along one row (a feature) of n columns, where column j uses the
/// statistics mean[j * m_step], var[j * m_step] (m_step 0: one pair for the whole row).
template <typename T>
EIGENNET_HD inline void affine_grads_row(const T* x, const T* dy, Index n, Index step,
                                         const T* mean, const T* var, Index m_step, double eps,
                                         bool eps_outside, T* dgamma, T* dbeta) {
  T sg = 0, sb = 0;
  for (Index j = 0; j < n; ++j) {
    const T r = norm_inv_std(var[j * m_step], eps, eps_outside);
    sg += dy[j * step] * (x[j * step] - mean[j * m_step]) * r;
    sb += dy[j * step];
  }
  if (dgamma) *dgamma = sg;
  if (dbeta) *dbeta = sb;
}

}  // namespace eigennet
