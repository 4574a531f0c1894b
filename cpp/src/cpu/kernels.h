#pragma once
// Kernels of the CPU backend (Eigen + OpenMP). Shapes and maths are documented on the matching
// methods of Backend in eigennet/backend.h; these are the implementations it forwards to.
#include <cstdint>

#include "eigennet/config.h"
#include "eigennet/metrics.h"
#include "eigennet/optimizer.h"
#include "eigennet/tensor.h"

namespace eigennet::cpu {

template <typename T>
void activation_forward(ActivationSpec act, const T* Z, T* A, Index rows, Index cols);
template <typename T>
void activation_backward(ActivationSpec act, const T* Z, const T* A, const T* dA, T* dZ, Index rows,
                         Index cols);
template <typename T>
void dense_forward(const T* W, const T* b, const T* X, T* Z, T* A, Index n_units, Index n_inputs,
                   Index batch, ActivationSpec act);
template <typename T>
void dense_backward(const T* W, const T* X, const T* dZ, T* dW, T* db, T* dX, Index n_units,
                    Index n_inputs, Index batch);
template <typename T>
void loss(const LossSpec& spec, const T* P, const T* Y, const T* class_alpha, Index n_out,
          Index batch, T grad_scale, T* per_sample, T* grad);
template <typename T>
void accumulate_metric(const MetricSpec& spec, const T* thresholds, const T* A, const T* Y,
                       const T* w, Index n_out, Index batch, double* acc);
template <typename T>
void optimizer_step(const OptimizerConfig& cfg, double lr, std::int64_t step, T* params,
                    const T* grads, T* state, Index n);
template <typename T>
void regularize(const T* w, T* grad, Index n, double l1, double l2, double weight, double* penalty);

}  // namespace eigennet::cpu
