#pragma once
// Activation functions and their exact derivatives, as scalar formulas shared by every backend.
//
// Each is written in a form that cannot overflow for |z| up to 1e4 (and far beyond): sigmoid
// exponentiates only non-positive numbers, softplus uses max(z, 0) + log1p(exp(-|z|)), softmax
// subtracts the column maximum. Derivatives take both z (pre-activation) and a = g(z), using
// whichever is cheaper and more accurate.
#include <algorithm>
#include <cmath>

#include "eigennet/config.h"
#include "eigennet/tensor.h"

namespace eigennet {

template <typename T>
EIGENNET_HD inline T sigmoid(T z) {
  if (z >= T(0)) return T(1) / (T(1) + std::exp(-z));
  const T e = std::exp(z);
  return e / (T(1) + e);
}

// SELU's constants (Klambauer et al. 2017, as Keras has them).
constexpr double kSeluAlpha = 1.6732632423543772848170429916717;
constexpr double kSeluScale = 1.0507009873554804934193349852946;

template <typename T>
EIGENNET_HD inline T softplus(T z) {
  return std::max(z, T(0)) + std::log1p(std::exp(-std::abs(z)));
}

/// Keras 3's hard sigmoid: relu6(z + 3) / 6, i.e. z/6 + 1/2 clipped to [0, 1].
template <typename T>
EIGENNET_HD inline T hard_sigmoid(T z) {
  return std::min(std::max(z / T(6) + T(0.5), T(0)), T(1));
}

/// Keras's relu(z, negative_slope, max_value, threshold), as Keras composes it: leaky_relu when
/// only the slope is set; otherwise (z > threshold ? z : 0) (max(z, 0) without a threshold),
/// clipped to [0, max_value] when it is set, minus slope·max(threshold - z, 0).
template <typename T>
EIGENNET_HD inline T relu(const ActivationSpec& p, T z) {
  const T slope = T(p.negative_slope), t = T(p.threshold);
  // Without a slope nothing is subtracted (0·∞ would be NaN at z = -∞).
  const bool sloped = p.negative_slope != 0.0;
  if (p.threshold == 0.0 && !p.has_max) return z > T(0) ? z : (sloped ? slope * z : T(0));
  T y = p.threshold != 0.0 ? (z > t ? z : T(0)) : (z > T(0) ? z : T(0));
  if (p.has_max) y = std::min(std::max(y, T(0)), T(p.max_value));
  return sloped ? y - slope * std::max(t - z, T(0)) : y;
}

/// relu's derivative; at the kinks that of the flat side (as relu6's).
template <typename T>
EIGENNET_HD inline T relu_derivative(const ActivationSpec& p, T z) {
  const T slope = T(p.negative_slope), t = T(p.threshold);
  if (p.threshold == 0.0 && !p.has_max) return z > T(0) ? T(1) : slope;
  const bool pass = z > t && (!p.has_max || (z > T(0) && z < T(p.max_value)));
  return (pass ? T(1) : T(0)) + (t - z > T(0) ? slope : T(0));
}

/// g(z) for every activation but softmax (which needs a whole column).
template <typename T>
EIGENNET_HD inline T activate(const ActivationSpec& act, T z) {
  switch (act.kind) {
    case Activation::Sigmoid: return sigmoid(z);
    case Activation::Tanh: return std::tanh(z);
    case Activation::Relu:
    case Activation::LeakyRelu: return relu(act, z);
    case Activation::Elu: return z > T(0) ? z : T(act.alpha) * std::expm1(z);
    // erf form of GELU: z * Phi(z), Phi the standard normal CDF. Phi(z) = erfc(-z/√2)/2
    // avoids the cancellation in 1 + erf(z/√2) for negative z.
    case Activation::Gelu: return T(0.5) * z * std::erfc(-z * T(0.7071067811865476));
    case Activation::Softplus: return softplus(z);
    case Activation::Selu: return T(kSeluScale) * (z > T(0) ? z : T(kSeluAlpha) * std::expm1(z));
    case Activation::Silu: return z * sigmoid(z);
    case Activation::Mish: return z * std::tanh(softplus(z));
    case Activation::HardSigmoid: return hard_sigmoid(z);
    case Activation::HardSilu: return z * hard_sigmoid(z);
    case Activation::Relu6: return std::min(std::max(z, T(0)), T(6));
    case Activation::Softsign: return z / (std::abs(z) + T(1));
    case Activation::Exponential: return std::exp(z);
    case Activation::Linear:
    case Activation::Softmax:
    case Activation::LogSoftmax: break;
  }
  return z;
}

/// g'(z) given z and a = g(z), for every activation but softmax.
template <typename T>
EIGENNET_HD inline T activation_derivative(const ActivationSpec& act, T z, T a) {
  switch (act.kind) {
    case Activation::Sigmoid: return a * (T(1) - a);
    case Activation::Tanh: return T(1) - a * a;
    case Activation::Relu:
    case Activation::LeakyRelu: return relu_derivative(act, z);
    // d/dz alpha·expm1(z) = alpha·exp(z) = a + alpha
    case Activation::Elu: return z > T(0) ? T(1) : a + T(act.alpha);
    case Activation::Gelu: {
      // d/dz z*Phi(z) = Phi(z) + z*phi(z)
      const T phi = T(0.3989422804014327) * std::exp(T(-0.5) * z * z);
      return T(0.5) * std::erfc(-z * T(0.7071067811865476)) + z * phi;
    }
    case Activation::Softplus: return sigmoid(z);
    // d/dz scale·alpha·expm1(z) = scale·alpha·exp(z) = a + scale·alpha
    case Activation::Selu: return z > T(0) ? T(kSeluScale) : a + T(kSeluScale * kSeluAlpha);
    case Activation::Silu: {
      const T s = sigmoid(z);
      return s + z * s * (T(1) - s);
    }
    case Activation::Mish: {  // d/dz z·tanh(sp(z)) = t + z·(1 - t²)·sigmoid(z), t = tanh(sp)
      const T t = std::tanh(softplus(z));
      return t + z * (T(1) - t * t) * sigmoid(z);
    }
    // The kinks get the derivative of the flat side, as relu6's gradient does at 0 and 6.
    case Activation::HardSigmoid: return z > T(-3) && z < T(3) ? T(1) / T(6) : T(0);
    case Activation::HardSilu:
      return z <= T(-3) ? T(0) : (z >= T(3) ? T(1) : (T(2) * z + T(3)) / T(6));
    case Activation::Relu6: return z > T(0) && z < T(6) ? T(1) : T(0);
    case Activation::Softsign: {
      const T d = std::abs(z) + T(1);
      return T(1) / (d * d);
    }
    case Activation::Exponential: return a;
    case Activation::Linear:
    case Activation::Softmax:
    case Activation::LogSoftmax: break;
  }
  return T(1);
}

/// Activations over a whole column (one sample's units) rather than element-wise.
EIGENNET_HD inline bool per_column(const ActivationSpec& act) {
  return act.kind == Activation::Softmax || act.kind == Activation::LogSoftmax;
}

/// a = g(z) over one column of n units: softmax exp(z - m) / Σ exp(z - m), log_softmax
/// z - m - log Σ exp(z - m), m the column's maximum (exp never overflows). Sequential sums:
/// the same order on every backend.
template <typename T>
EIGENNET_HD inline void column_forward(const ActivationSpec& act, const T* z, T* a, Index n) {
  T m = z[0];
  for (Index i = 1; i < n; ++i) m = z[i] > m ? z[i] : m;
  T s = 0;
  if (act.kind == Activation::Softmax) {
    for (Index i = 0; i < n; ++i) s += (a[i] = std::exp(z[i] - m));
    const T inv = T(1) / s;
    for (Index i = 0; i < n; ++i) a[i] *= inv;
    return;
  }
  for (Index i = 0; i < n; ++i) s += std::exp(z[i] - m);
  const T shift = m + std::log(s);
  for (Index i = 0; i < n; ++i) a[i] = z[i] - shift;
}

/// dz = J_gᵀ·da over one column, from a = g(z): softmax a ⊙ (da - <da, a>), log_softmax
/// da - exp(a)·Σ da. dz may equal da.
template <typename T>
EIGENNET_HD inline void column_backward(const ActivationSpec& act, const T* a, const T* da, T* dz,
                                        Index n) {
  T s = 0;
  if (act.kind == Activation::Softmax) {
    for (Index i = 0; i < n; ++i) s += da[i] * a[i];
    for (Index i = 0; i < n; ++i) dz[i] = a[i] * (da[i] - s);
    return;
  }
  for (Index i = 0; i < n; ++i) s += da[i];
  for (Index i = 0; i < n; ++i) dz[i] = da[i] - std::exp(a[i]) * s;
}

}  // namespace eigennet
