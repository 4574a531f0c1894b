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

/// g(z) for every activation but softmax (which needs a whole column).
template <typename T>
EIGENNET_HD inline T activate(Activation act, T z) {
  switch (act) {
    case Activation::Sigmoid: return sigmoid(z);
    case Activation::Tanh: return std::tanh(z);
    case Activation::Relu: return z > T(0) ? z : T(0);
    case Activation::LeakyRelu: return z > T(0) ? z : T(kLeakyReluSlope) * z;
    case Activation::Elu: return z > T(0) ? z : std::expm1(z);
    // erf form of GELU: z * Phi(z), Phi the standard normal CDF. Phi(z) = erfc(-z/√2)/2
    // avoids the cancellation in 1 + erf(z/√2) for negative z.
    case Activation::Gelu: return T(0.5) * z * std::erfc(-z * T(0.7071067811865476));
    case Activation::Softplus: return std::max(z, T(0)) + std::log1p(std::exp(-std::abs(z)));
    case Activation::Linear:
    case Activation::Softmax: break;
  }
  return z;
}

/// g'(z) given z and a = g(z), for every activation but softmax.
template <typename T>
EIGENNET_HD inline T activation_derivative(Activation act, T z, T a) {
  switch (act) {
    case Activation::Sigmoid: return a * (T(1) - a);
    case Activation::Tanh: return T(1) - a * a;
    case Activation::Relu: return z > T(0) ? T(1) : T(0);
    case Activation::LeakyRelu: return z > T(0) ? T(1) : T(kLeakyReluSlope);
    case Activation::Elu: return z > T(0) ? T(1) : a + T(1);  // d/dz expm1(z) = exp(z) = a + 1
    case Activation::Gelu: {
      // d/dz z*Phi(z) = Phi(z) + z*phi(z)
      const T phi = T(0.3989422804014327) * std::exp(T(-0.5) * z * z);
      return T(0.5) * std::erfc(-z * T(0.7071067811865476)) + z * phi;
    }
    case Activation::Softplus: return sigmoid(z);
    case Activation::Linear:
    case Activation::Softmax: break;
  }
  return T(1);
}

}  // namespace eigennet
