#include "eigennet/model.h"

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "eigennet/losses.h"

namespace eigennet {
namespace {

std::string layer_error(std::size_t i, const std::string& what) {
  return "Layer " + std::to_string(i) + ": " + what;
}

}  // namespace

template <typename T>
Model<T>::Model(Index n_inputs, std::vector<LayerSpec> layers, std::unique_ptr<Backend<T>> backend,
                std::uint64_t seed)
    : m_n_inputs(n_inputs),
      m_layers(std::move(layers)),
      m_backend(std::move(backend)),
      m_rng(seed),
      m_dropout_seed(mix64(seed ^ 0xd1b54a32d192ed03ULL)) {
  if (n_inputs <= 0)
    throw std::invalid_argument("n_inputs must be positive, got " + std::to_string(n_inputs));
  if (m_layers.empty()) throw std::invalid_argument("A model needs at least one layer.");
  constexpr Index kMaxParams = Index(1) << 40;
  m_widths.push_back(n_inputs);
  for (std::size_t i = 0; i < m_layers.size(); ++i) {
    const LayerSpec& l = m_layers[i];
    const Index in = m_widths.back();
    m_offsets.push_back(-1);
    switch (l.kind) {
      case LayerKind::Dense: {
        if (l.n_units <= 0)
          throw std::invalid_argument(
              layer_error(i, "units must be positive, got " + std::to_string(l.n_units)));
        if (l.n_units > kMaxParams / in)
          throw std::length_error(layer_error(i, "a kernel of " + std::to_string(in) + " x " +
                                                     std::to_string(l.n_units) + " is too large"));
        if (!(std::isfinite(l.l1) && l.l1 >= 0.0 && std::isfinite(l.l2) && l.l2 >= 0.0))
          throw std::invalid_argument(layer_error(i,
                                                  "regularisation factors must be finite and "
                                                  ">= 0, got l1=" +
                                                      std::to_string(l.l1) +
                                                      " l2=" + std::to_string(l.l2)));
        m_offsets.back() = m_n_params;
        m_n_params += l.n_units * in + (l.use_bias ? l.n_units : 0);
        if (m_n_params > kMaxParams)
          throw std::length_error("The model has too many parameters to allocate.");
        m_widths.push_back(l.n_units);
        break;
      }
      case LayerKind::Dropout:
        if (!(l.rate >= 0.0 && l.rate < 1.0))
          throw std::invalid_argument(
              layer_error(i, "dropout rate must be in [0, 1), got " + std::to_string(l.rate)));
        m_widths.push_back(in);
        break;
      case LayerKind::Activation: m_widths.push_back(in); break;
    }
  }
  m_params = Buffer<T>(*m_backend, m_n_params);
  m_grads = Buffer<T>(*m_backend, m_n_params);
  m_backend->fill(m_params.data(), m_n_params, T(0));
  m_backend->fill(m_grads.data(), m_n_params, T(0));
  m_Z.resize(m_layers.size());
  m_A.resize(m_layers.size());
  m_mask.resize(m_layers.size());
  m_in.assign(m_layers.size(), nullptr);
  m_out.assign(m_layers.size(), nullptr);
}

template <typename T>
void Model<T>::initialize(std::size_t i, const Initializer& kernel, const Initializer& bias) {
  if (i >= m_layers.size() || m_offsets[i] < 0)
    throw std::invalid_argument("Layer " + std::to_string(i) + " has no weights to initialise.");
  const Index in = m_widths[i], units = m_widths[i + 1];
  std::vector<T> host(static_cast<std::size_t>(units * in + units));
  eigennet::initialize(kernel, in, units, host.data(), units * in, m_rng);
  Index n = units * in;
  if (m_layers[i].use_bias) {
    eigennet::initialize(bias, units, units, host.data() + n, units, m_rng);
    n += units;
  }
  m_backend->copy_to_device(m_params.data() + m_offsets[i], host.data(), sizeof(T) * n);
}

template <typename T>
void Model<T>::get_params(T* out) const {
  m_backend->copy_to_host(out, m_params.data(), m_params.bytes());
}

template <typename T>
void Model<T>::set_params(const T* in) {
  m_backend->copy_to_device(m_params.data(), in, m_params.bytes());
}

template <typename T>
void Model<T>::compile(LossKind loss, const OptimizerConfig& optimizer,
                       std::vector<MetricKind> metrics) {
  optimizer.validate();
  for (MetricKind m : metrics) {
    const bool sparse_metric = m == MetricKind::SparseCategoricalAccuracy;
    if (sparse_metric != is_sparse(loss))
      throw std::invalid_argument(std::string("Metric '") + metric_name(m) +
                                  "' does not fit the targets of loss '" + loss_name(loss) + "'.");
  }
  if (is_sparse(loss) && n_outputs() < 2)
    throw std::invalid_argument("Sparse categorical cross-entropy needs at least 2 outputs.");
  m_loss = loss;
  m_optimizer = optimizer;
  m_metrics = std::move(metrics);
  Activation last = Activation::Linear;
  const LayerSpec& l = m_layers.back();
  if (l.kind != LayerKind::Dropout) last = l.activation;
  m_fused_loss = fused_loss(last, loss);
  m_fused = m_fused_loss != loss;
  m_state = Buffer<T>(*m_backend, n_state());
  for (int s = 0; s < m_optimizer.n_slots(); ++s)
    m_backend->fill(m_state.data() + s * m_n_params, m_n_params,
                    static_cast<T>(m_optimizer.slot_initial_value(s)));
  m_step = 0;
  m_compiled = true;
}

template <typename T>
void Model<T>::get_state(T* out) const {
  m_backend->copy_to_host(out, m_state.data(), m_state.bytes());
}

template <typename T>
void Model<T>::set_state(const T* in) {
  m_backend->copy_to_device(m_state.data(), in, m_state.bytes());
}

template <typename T>
void Model<T>::reserve(Index batch) {
  if (batch <= m_capacity) return;
  Device& d = *m_backend;
  Index max_width = m_n_inputs;
  for (std::size_t i = 0; i < m_layers.size(); ++i) {
    const LayerSpec& l = m_layers[i];
    const Index n = width(i) * batch;
    max_width = std::max(max_width, width(i));
    m_Z[i] = l.kind == LayerKind::Dense ? Buffer<T>(d, n) : Buffer<T>();
    const bool own_output = (l.kind == LayerKind::Dense && l.activation != Activation::Linear) ||
                            l.kind != LayerKind::Dense;
    m_A[i] = own_output ? Buffer<T>(d, n) : Buffer<T>();
    m_mask[i] = l.kind == LayerKind::Dropout ? Buffer<T>(d, n) : Buffer<T>();
  }
  m_dA = Buffer<T>(d, max_width * batch);
  m_dB = Buffer<T>(d, max_width * batch);
  m_per_sample = Buffer<T>(d, batch);
  m_capacity = batch;
}

template <typename T>
const T* Model<T>::forward(const T* X, Index batch, bool training) {
  reserve(batch);
  const T* in = X;
  for (std::size_t i = 0; i < m_layers.size(); ++i) {
    const LayerSpec& l = m_layers[i];
    const Index w = width(i);
    m_in[i] = in;
    switch (l.kind) {
      case LayerKind::Dense: {
        T* Z = m_Z[i].data();
        T* A = l.activation == Activation::Linear ? Z : m_A[i].data();
        const T* W = m_params.data() + m_offsets[i];
        const T* b = l.use_bias ? W + w * m_widths[i] : nullptr;
        m_backend->dense_forward(W, b, in, Z, A, w, m_widths[i], batch, l.activation);
        in = A;
        break;
      }
      case LayerKind::Dropout:
        if (training && l.rate > 0.0) {
          const std::uint64_t seed = l.has_seed ? l.seed : mix64(m_dropout_seed + i);
          m_backend->dropout_forward(in, m_A[i].data(), m_mask[i].data(), w * batch, l.rate, seed,
                                     m_dropout_counter);
          in = m_A[i].data();
        }
        break;
      case LayerKind::Activation:
        m_backend->activation_forward(l.activation, in, m_A[i].data(), w, batch);
        in = m_A[i].data();
        break;
    }
    m_out[i] = in;
  }
  if (training) ++m_dropout_counter;
  return in;
}

template <typename T>
void Model<T>::loss_and_metrics(const T* Y, Index batch, double* acc, bool with_grad, const T* w,
                                const T* w_cols) {
  const std::size_t last = m_layers.size() - 1;
  // The fused form takes the last layer's logits: a Dense layer's Z, an Activation layer's input.
  const T* P = m_out[last];
  if (m_fused) P = m_layers[last].kind == LayerKind::Dense ? m_Z[last].data() : m_in[last];
  T* grad = with_grad ? m_dA.data() : nullptr;
  m_backend->loss(m_fused_loss, P, Y, n_outputs(), batch, T(1) / T(batch), m_per_sample.data(),
                  grad);
  if (w) {
    // Keras's sum_over_batch_size: Σ w_i l_i / batch, gradient w_i dl_i.
    m_backend->multiply(m_per_sample.data(), w, m_per_sample.data(), batch);
    if (grad) m_backend->multiply(grad, w_cols, grad, n_outputs() * batch);
  }
  m_backend->sum_into(m_per_sample.data(), batch, 1.0, acc + kAccLoss);
  for (std::size_t k = 0; k < m_metrics.size(); ++k) {
    m_backend->metric(m_metrics[k], m_out[last], Y, n_outputs(), batch, m_per_sample.data());
    m_backend->sum_into(m_per_sample.data(), batch, 1.0, acc + kAccMetrics + k);
  }
}

template <typename T>
void Model<T>::penalty(double weight, double* acc, bool with_grad) {
  for (std::size_t i = 0; i < m_layers.size(); ++i) {
    const LayerSpec& l = m_layers[i];
    if (l.kind != LayerKind::Dense || (l.l1 == 0.0 && l.l2 == 0.0)) continue;
    const Index off = m_offsets[i];
    m_backend->regularize(m_params.data() + off, with_grad ? m_grads.data() + off : nullptr,
                          width(i) * m_widths[i], l.l1, l.l2, weight, acc + kAccPenalty);
  }
}

template <typename T>
void Model<T>::backward(Index batch) {
  std::size_t first = m_layers.size();
  for (std::size_t i = 0; i < m_layers.size() && first == m_layers.size(); ++i)
    if (m_offsets[i] >= 0) first = i;
  T* d = m_dA.data();  // dL/d(output of layer i), then dL/dZ in place
  T* other = m_dB.data();
  for (std::size_t i = m_layers.size(); i-- > first;) {
    const LayerSpec& l = m_layers[i];
    const Index w = width(i), in_w = m_widths[i];
    const bool already_dZ = m_fused && i + 1 == m_layers.size();
    switch (l.kind) {
      case LayerKind::Dense: {
        if (!already_dZ)
          m_backend->activation_backward(l.activation, m_Z[i].data(), m_out[i], d, d, w, batch);
        const T* W = m_params.data() + m_offsets[i];
        T* dW = m_grads.data() + m_offsets[i];
        T* db = l.use_bias ? dW + w * in_w : nullptr;
        T* dX = i > first ? other : nullptr;
        m_backend->dense_backward(W, m_in[i], d, dW, db, dX, w, in_w, batch);
        std::swap(d, other);
        break;
      }
      case LayerKind::Dropout:
        if (l.rate > 0.0) m_backend->multiply(d, m_mask[i].data(), d, w * batch);
        break;
      case LayerKind::Activation:
        if (!already_dZ)
          m_backend->activation_backward(l.activation, m_in[i], m_out[i], d, d, w, batch);
        break;
    }
  }
}

template <typename T>
void Model<T>::train_batch(const T* X, const T* Y, Index batch, double* acc, const T* w,
                           const T* w_cols) {
  if (!m_compiled) throw std::logic_error("The model must be compiled before training.");
  forward(X, batch, true);
  loss_and_metrics(Y, batch, acc, true, w, w_cols);
  backward(batch);
  penalty(static_cast<double>(batch), acc, true);
  m_backend->optimizer_step(m_optimizer, m_optimizer.learning_rate.at(m_step), m_step,
                            m_params.data(), m_grads.data(), m_state.data(), m_n_params);
  ++m_step;
}

template <typename T>
void Model<T>::test_batch(const T* X, const T* Y, Index batch, double* acc, const T* w) {
  if (!m_compiled) throw std::logic_error("The model must be compiled before evaluating.");
  forward(X, batch, false);
  loss_and_metrics(Y, batch, acc, false, w, nullptr);
  penalty(static_cast<double>(batch), acc, false);
}

template class Model<float>;
template class Model<double>;

}  // namespace eigennet
