#pragma once
// Loss functions: per-sample value and gradient in one pass, as scalar helpers shared by backends.
//
// Conventions follow Keras: the per-sample value of an element-wise loss (mse, mae, binary
// cross-entropy) is the mean over the outputs; the batch loss is the mean over samples.
// Probabilities are clipped to [1e-7, 1 - 1e-7]; categorical cross-entropy on probabilities
// first renormalises each row to sum to one. Logit forms never clip: they use log-sum-exp and
// log-sigmoid, which are exact for any finite logit.
#include <algorithm>
#include <cmath>

#include "eigennet/config.h"

namespace eigennet {

/// log(1 + exp(x)) without overflow.
template <typename T>
EIGENNET_HD inline T log1p_exp(T x) {
  return std::max(x, T(0)) + std::log1p(std::exp(-std::abs(x)));
}

/// The fused form of (last activation, loss), or the loss itself when there is none: a sigmoid
/// followed by binary cross-entropy on probabilities is computed from the logits (gradient p - y),
/// likewise softmax with categorical or sparse categorical cross-entropy.
inline LossKind fused_loss(Activation last, LossKind loss) {
  if (last == Activation::Sigmoid && loss == LossKind::BinaryCrossentropy)
    return LossKind::BinaryCrossentropyLogits;
  if (last == Activation::Softmax && loss == LossKind::CategoricalCrossentropy)
    return LossKind::CategoricalCrossentropyLogits;
  if (last == Activation::Softmax && loss == LossKind::SparseCategoricalCrossentropy)
    return LossKind::SparseCategoricalCrossentropyLogits;
  return loss;
}

}  // namespace eigennet
