// Custom training loops: a recorded forward pass, the gradient of losses of its outputs (or of
// any dL/dy the caller computed), and optimizer steps over gradients the caller hands back.
// The gradient runs the same loss, backward and penalty operations as train_batch, and the step
// the same optimizer_step, so a loop of tape_gradient + apply_gradients is train_batch's update.
#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "eigennet/losses.h"
#include "eigennet/model.h"

namespace eigennet {
namespace {

/// Grows b to at least n elements (staging for host arguments: nothing is allocated per call
/// once the largest batch has been seen).
template <typename E>
void at_least(Buffer<E>& b, Device& d, Index n) {
  if (b.size() < n) b = Buffer<E>(d, n);
}

}  // namespace

template <typename T>
const T* Model<T>::tape_forward(const T* X, Index batch, bool training) {
  if (batch <= 0)
    throw std::invalid_argument("The batch must hold at least one sample, got " +
                                std::to_string(batch));
  at_least(m_tape_x, *m_backend, m_n_inputs * batch);
  m_backend->copy_to_device(m_tape_x.data(), X, sizeof(T) * m_n_inputs * batch);
  const T* out = forward(m_tape_x.data(), batch, training);
  m_tape_id = m_forward_id;
  m_tape_batch = batch;
  return out;
}

template <typename T>
void Model<T>::activity_values(double* out) {
  if (m_tape_batch == 0 || m_tape_id != m_forward_id)
    throw std::invalid_argument(
        "activity_values needs the activations of a tape_forward, and another forward pass has "
        "run since (record the call again).");
  const std::size_t n = m_activity_nodes.size();
  if (n == 0) return;
  at_least(m_activity_acc, *m_backend, static_cast<Index>(n));
  m_backend->copy_to_device(m_activity_acc.data(), m_activity_zeros.data(), sizeof(double) * n);
  for (std::size_t j = 0; j < n; ++j)
    add_activity(static_cast<std::size_t>(m_activity_nodes[j]), m_tape_batch, 1.0,
                 static_cast<double>(m_tape_batch), 1.0, m_activity_acc.data() + j, nullptr);
  m_backend->copy_to_host(out, m_activity_acc.data(), sizeof(double) * n);
}

template <typename T>
void Model<T>::get_grads(T* out) const {
  m_backend->copy_to_host(out, m_grads.data(), m_grads.bytes());
}

template <typename T>
Index Model<T>::tape_target_rows(const std::vector<TapeLoss>& losses) const {
  Index rows = 0;
  for (const TapeLoss& t : losses) {
    if (t.output < 0 || t.output >= static_cast<Index>(m_outputs.size()))
      throw std::invalid_argument("Loss output " + std::to_string(t.output) +
                                  " is out of range: the model has " +
                                  std::to_string(m_outputs.size()) + " outputs.");
    if (!std::isfinite(t.coef) || !std::isfinite(t.divisor) || t.divisor <= 0)
      throw std::invalid_argument("A loss's coefficient must be finite and its divisor positive.");
    const Index width = m_output_widths[static_cast<std::size_t>(t.output)];
    if (is_sparse(t.loss) && width < 2)
      throw std::invalid_argument("Sparse categorical cross-entropy needs at least 2 outputs.");
    validate(t.loss, t.class_alpha, width);
    rows += is_sparse(t.loss) ? 1 : width;
  }
  return rows;
}

template <typename T>
Index Model<T>::check_tape(const std::vector<TapeLoss>& losses, const T* Y,
                           const std::vector<std::pair<Index, double>>& penalties,
                           const std::vector<bool>& wanted) const {
  if (m_tape_batch == 0 || m_tape_id != m_forward_id)
    throw std::invalid_argument(
        "tape_gradient needs the activations of a tape_forward, and another forward pass has "
        "run since (record the call again).");
  if (wanted.size() != m_layers.size())
    throw std::invalid_argument("wanted must hold one flag per layer (" +
                                std::to_string(m_layers.size()) + "), got " +
                                std::to_string(wanted.size()));
  const Index y_rows = tape_target_rows(losses);
  if (y_rows > 0 && !Y) throw std::invalid_argument("The losses need targets Y.");
  for (const auto& [layer, coef] : penalties)
    if (layer < 0 || layer >= static_cast<Index>(m_layers.size()) || !std::isfinite(coef))
      throw std::invalid_argument("Penalty of layer " + std::to_string(layer) +
                                  " is out of range or not finite.");
  // Sparse labels index the outputs: check them before any kernel reads them.
  Index row = 0;
  for (const TapeLoss& t : losses) {
    const Index width = m_output_widths[static_cast<std::size_t>(t.output)];
    if (is_sparse(t.loss)) check_labels(Y, y_rows, row, m_tape_batch, width);
    row += is_sparse(t.loss) ? 1 : width;
  }
  return y_rows;
}

template <typename T>
void Model<T>::tape_gradient(const std::vector<TapeLoss>& losses, const T* Y, const T* w,
                             const T* dY, const std::vector<std::pair<Index, double>>& penalties,
                             const std::vector<bool>& wanted, T* dX,
                             const std::vector<std::pair<Index, double>>& activity) {
  const Index y_rows = check_tape(losses, Y, penalties, wanted);
  for (const auto& [node, coef] : activity)
    if (node < 0 || node >= static_cast<Index>(m_nodes.size()) || !std::isfinite(coef) ||
        !m_layers[static_cast<std::size_t>(m_nodes[static_cast<std::size_t>(node)].layer)]
             ->has_activity())
      throw std::invalid_argument("Activity term of node " + std::to_string(node) +
                                  " is not a node with an activity regulariser, or its "
                                  "coefficient is not finite.");
  const Index batch = m_tape_batch;
  mark_needs(wanted, dX != nullptr, m_tape_need);
  Device& d = *m_backend;
  if (dX) {
    m_in_grad.resize(static_cast<std::size_t>(m_n_in));
    for (std::size_t k = 0; k < m_in_grad.size(); ++k)
      at_least(m_in_grad[k], d, m_input_widths[k] * batch);
  }
  // Host arguments to the device.
  const Index n_terms = static_cast<Index>(losses.size());
  if (y_rows) {
    at_least(m_tape_y, d, y_rows * batch);
    d.copy_to_device(m_tape_y.data(), Y, sizeof(T) * y_rows * batch);
  }
  if (w && n_terms) {
    at_least(m_tape_w, d, n_terms * batch);
    d.copy_to_device(m_tape_w.data(), w, sizeof(T) * n_terms * batch);
  }
  if (dY) {
    at_least(m_tape_dy, d, m_n_outputs * batch);
    d.copy_to_device(m_tape_dy.data(), dY, sizeof(T) * m_n_outputs * batch);
  }
  std::vector<T>& alpha = m_tape_alpha_host;
  alpha.clear();
  for (const TapeLoss& t : losses)
    alpha.insert(alpha.end(), t.class_alpha.begin(), t.class_alpha.end());
  if (!alpha.empty()) {
    at_least(m_tape_alpha, d, static_cast<Index>(alpha.size()));
    d.copy_to_device(m_tape_alpha.data(), alpha.data(), sizeof(T) * alpha.size());
  }
  std::fill(m_written.begin(), m_written.end(), false);
  seed_tape_losses(losses, y_rows, w != nullptr, dY != nullptr);
  if (dY) {
    Index row = 0;
    for (std::size_t o = 0; o < m_outputs.size(); ++o) {
      const Index id = m_outputs[o], width = m_output_widths[o];
      T* grad = d_target(id, 0, m_tape_need);
      if (grad) {
        m_backend->copy_rows(m_tape_dy.data(), m_n_outputs, row, grad, width, 0, width, batch);
        add_gradient(id, grad, width * batch);
      }
      row += width;
    }
  }
  if (!activity.empty()) at_least(m_tape_acc, d, 1);  // their value, which nobody reads here
  for (const auto& [node, coef] : activity)
    add_activity(static_cast<std::size_t>(node), batch, coef, static_cast<double>(batch), 1.0,
                 m_tape_acc.data(), &m_tape_need);
  backward(batch, m_tape_need, m_tape_fused);
  zero_unreached_grads();
  add_tape_penalties(penalties);
  if (dX) copy_input_gradient(dX);
}

template <typename T>
void Model<T>::seed_tape_losses(const std::vector<TapeLoss>& losses, Index y_rows, bool weighted,
                                bool with_dy) {
  const Index batch = m_tape_batch;
  std::vector<int>& terms = m_tape_terms;  // per output: its loss terms
  terms.assign(m_outputs.size(), 0);
  for (const TapeLoss& t : losses) ++terms[static_cast<std::size_t>(t.output)];
  // An output with one loss and nothing else hands it its logits, as train_batch does.
  m_tape_fused.assign(m_outputs.size(), false);
  Index row = 0, alpha_at = 0;
  for (std::size_t t = 0; t < losses.size(); ++t) {
    const TapeLoss& l = losses[t];
    const T* alpha = l.class_alpha.empty() ? nullptr : m_tape_alpha.data() + alpha_at;
    alpha_at += static_cast<Index>(l.class_alpha.size());
    const std::size_t o = static_cast<std::size_t>(l.output);
    const Index id = m_outputs[o], width = m_output_widths[o];
    const Index n_t = is_sparse(l.loss) ? 1 : width;
    const T* Yt = m_tape_y.data();
    if (losses.size() > 1) {
      at_least(m_tape_yt, *m_backend, n_t * batch);
      m_backend->copy_rows(m_tape_y.data(), y_rows, row, m_tape_yt.data(), n_t, 0, n_t, batch);
      Yt = m_tape_yt.data();
    }
    row += n_t;
    const LossSpec kind = terms[o] == 1 && !with_dy ? fusable_loss(o, l.loss) : l.loss;
    m_tape_fused[o] = kind.kind != l.loss.kind;
    const T* P = m_values[static_cast<std::size_t>(id)];
    if (m_tape_fused[o]) {
      Node& n = node_of(id);
      P = m_layers[static_cast<std::size_t>(n.layer)]->logits(n.in, n.value, n.work.data());
    }
    T* grad = d_target(id, 0, m_tape_need);
    if (!grad) continue;
    m_backend->loss(kind, P, Yt, alpha, width, batch, T(l.coef) / T(l.divisor), m_per_sample.data(),
                    grad);
    if (l.weighted && weighted)
      m_backend->scale_columns(grad, width, batch, m_tape_w.data() + static_cast<Index>(t) * batch);
    add_gradient(id, grad, width * batch);
  }
}

template <typename T>
void Model<T>::add_tape_penalties(const std::vector<std::pair<Index, double>>& penalties) {
  at_least(m_tape_acc, *m_backend, 1);  // the penalty's value, which nobody reads here
  for (const auto& [layer, coef] : penalties) {
    const std::size_t li = static_cast<std::size_t>(layer);
    if (!m_param_size[li]) continue;
    T* g = m_grads.data() + m_param_offset[li];
    const T* p = m_params.data() + m_param_offset[li];
    if (coef == 1.0) {  // train_batch's own addition
      m_layers[li]->penalty(*m_backend, p, g, 1.0, m_tape_acc.data());
    } else {
      m_backend->fill(m_tmp_grads.data(), m_param_size[li], T(0));
      m_layers[li]->penalty(*m_backend, p, m_tmp_grads.data(), 1.0, m_tape_acc.data());
      m_backend->axpby(m_param_size[li], T(coef), m_tmp_grads.data(), T(1), g);
    }
  }
}

template <typename T>
void Model<T>::copy_input_gradient(T* dX) {
  const Index batch = m_tape_batch;
  at_least(m_tape_dx, *m_backend, m_n_inputs * batch);
  Index row = 0;
  for (Index k = 0; k < m_n_in; ++k) {
    const Index w = m_input_widths[static_cast<std::size_t>(k)];
    if (m_written[static_cast<std::size_t>(k)])
      m_backend->copy_rows(m_in_grad[static_cast<std::size_t>(k)].data(), w, 0, m_tape_dx.data(),
                           m_n_inputs, row, w, batch);
    else  // no path from this input to the target
      for (Index j = 0; j < batch; ++j)
        m_backend->fill(m_tape_dx.data() + j * m_n_inputs + row, w, T(0));
    row += w;
  }
  m_backend->copy_to_host(dX, m_tape_dx.data(), sizeof(T) * m_n_inputs * batch);
}

template <typename T>
void Model<T>::apply_gradients(const OptimizerConfig& cfg, std::int64_t step,
                               const std::vector<HandUpdate<T>>& updates) {
  cfg.validate();
  check_iterations(step);
  for (const HandUpdate<T>& u : updates)
    if (u.offset < 0 || u.size <= 0 || u.offset > m_n_params || u.size > m_n_params - u.offset ||
        !u.grad || (!u.state && cfg.n_slots() > 0))
      throw std::invalid_argument("An update of " + std::to_string(u.size) +
                                  " parameters at offset " + std::to_string(u.offset) +
                                  " is not a range of the model's " + std::to_string(m_n_params) +
                                  " parameters.");
  const double lr = cfg.learning_rate.at(step);
  const Index slots = cfg.n_slots();
  Device& d = *m_backend;
  // Host memory is read where it is, unless clipping changes it; a device gets a copy in the
  // gradient buffer.
  const bool clip = cfg.clipnorm > 0 || cfg.global_clipnorm > 0;
  if (clip) {
    m_hand_ranges.clear();  // keeps its capacity: no allocation per step
    for (const HandUpdate<T>& u : updates) {
      d.copy_to_device(m_grads.data() + u.offset, u.grad, sizeof(T) * u.size);
      m_hand_ranges.emplace_back(u.offset, u.size);
    }
    clip_gradients(cfg, m_grads.data(), m_hand_ranges);
  }
  for (const HandUpdate<T>& u : updates) {
    const T* g = u.grad;
    if (!d.is_host() || clip) {
      if (!clip) d.copy_to_device(m_grads.data() + u.offset, u.grad, sizeof(T) * u.size);
      g = m_grads.data() + u.offset;
    }
    T* state = u.state;
    if (!d.is_host() && slots > 0) {
      at_least(m_hand_state, d, std::max<Index>(1, slots * u.size));
      d.copy_to_device(m_hand_state.data(), u.state, sizeof(T) * slots * u.size);
      state = m_hand_state.data();
    }
    m_backend->optimizer_step(cfg, lr, step, m_params.data() + u.offset, g, state, u.size);
    if (!d.is_host() && slots > 0) d.copy_to_host(u.state, state, sizeof(T) * slots * u.size);
    apply_constraints(u.offset, u.offset + u.size);  // Keras constrains what it updated
  }
  ++m_params_version;
}

// model.h declares Model<T> extern (instantiated in model.cpp), which also stops the implicit
// instantiation of the members defined here: they are instantiated one by one.
// clang-format off
#define EIGENNET_TAPE_MEMBERS(T) \
  template const T* Model<T>::tape_forward(const T*, Index, bool); \
  template void Model<T>::get_grads(T*) const; \
  template Index Model<T>::tape_target_rows(const std::vector<TapeLoss>&) const; \
  template Index Model<T>::check_tape(const std::vector<TapeLoss>&, const T*, \
                                      const std::vector<std::pair<Index, double>>&, \
                                      const std::vector<bool>&) const; \
  template void Model<T>::tape_gradient(const std::vector<TapeLoss>&, const T*, const T*, \
                                        const T*, const std::vector<std::pair<Index, double>>&, \
                                        const std::vector<bool>&, T*, \
                                        const std::vector<std::pair<Index, double>>&); \
  template void Model<T>::activity_values(double*); \
  template void Model<T>::seed_tape_losses(const std::vector<TapeLoss>&, Index, bool, bool); \
  template void Model<T>::add_tape_penalties(const std::vector<std::pair<Index, double>>&); \
  template void Model<T>::copy_input_gradient(T*); \
  template void Model<T>::apply_gradients(const OptimizerConfig&, std::int64_t, \
                                          const std::vector<HandUpdate<T>>&);
// clang-format on
EIGENNET_TAPE_MEMBERS(float)
EIGENNET_TAPE_MEMBERS(double)
#undef EIGENNET_TAPE_MEMBERS

}  // namespace eigennet
