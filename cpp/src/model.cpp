#include "eigennet/model.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "eigennet/losses.h"

namespace eigennet {
namespace {

constexpr Index kMaxValues = Index(1) << 40;

std::string node_error(std::size_t k, const std::string& what) {
  return "Node " + std::to_string(k) + ": " + what;
}

}  // namespace

GraphSpec GraphSpec::chain(Index n_inputs, std::vector<LayerSpec> layers) {
  GraphSpec g;
  g.input_widths = {n_inputs};
  for (std::size_t i = 0; i < layers.size(); ++i)
    g.nodes.push_back({static_cast<Index>(i), {static_cast<Index>(i)}});
  g.outputs = {static_cast<Index>(layers.size())};
  g.layers = std::move(layers);
  return g;
}

template <typename T>
Model<T>::Model(Index n_inputs, std::vector<LayerSpec> layers, std::unique_ptr<Backend<T>> backend,
                std::uint64_t seed)
    : Model(GraphSpec::chain(n_inputs, std::move(layers)), std::move(backend), seed) {}

template <typename T>
Model<T>::Model(GraphSpec graph, std::unique_ptr<Backend<T>> backend, std::uint64_t seed)
    : m_backend(std::move(backend)),
      m_rng(seed),
      m_dropout_seed(mix64(seed ^ 0xd1b54a32d192ed03ULL)) {
  plan(graph);
  m_params = Buffer<T>(*m_backend, m_n_params);
  m_grads = Buffer<T>(*m_backend, m_n_params);
  m_stats = Buffer<T>(*m_backend, m_n_stats);
  m_backend->fill(m_params.data(), m_n_params, T(0));
  m_backend->fill(m_grads.data(), m_n_params, T(0));
  m_backend->fill(m_stats.data(), m_n_stats, T(0));
  plan_backward();
}

template <typename T>
Index Model<T>::value_width(Index id) const {
  return id < m_n_in ? m_input_widths[static_cast<std::size_t>(id)]
                     : m_nodes[static_cast<std::size_t>(id - m_n_in)].width;
}

template <typename T>
void Model<T>::plan(const GraphSpec& g) {
  if (g.input_widths.empty()) throw std::invalid_argument("A model needs at least one input.");
  if (g.layers.empty() || g.nodes.empty())
    throw std::invalid_argument("A model needs at least one layer.");
  if (g.outputs.empty()) throw std::invalid_argument("A model needs at least one output.");
  m_input_widths = g.input_widths;
  m_n_in = static_cast<Index>(g.input_widths.size());
  for (Index w : m_input_widths) {
    if (w <= 0 || w > kMaxValues)
      throw std::invalid_argument("n_inputs must be positive, got " + std::to_string(w));
    m_n_inputs += w;
  }
  m_specs = g.layers;
  for (const LayerSpec& s : m_specs) m_layers.push_back(make_layer<T>(s));
  const std::size_t n_layers = m_layers.size();
  m_weights.resize(n_layers);
  m_layer_width.assign(n_layers, -1);
  m_param_offset.assign(n_layers, -1);
  m_param_size.assign(n_layers, 0);
  m_stats_offset.assign(n_layers, -1);
  m_trainable_next.assign(n_layers, true);
  for (std::size_t i = 0; i < n_layers; ++i) m_trainable_next[i] = m_specs[i].trainable;
  std::vector<std::vector<Index>> built_widths(n_layers);
  const Index n_values = m_n_in + static_cast<Index>(g.nodes.size());
  m_consumers.assign(static_cast<std::size_t>(n_values), 0);
  for (std::size_t k = 0; k < g.nodes.size(); ++k) {
    const NodeSpec& ns = g.nodes[k];
    const Index id = m_n_in + static_cast<Index>(k);
    if (ns.layer < 0 || ns.layer >= static_cast<Index>(n_layers))
      throw std::invalid_argument(
          node_error(k, "layer index " + std::to_string(ns.layer) + " is out of range"));
    if (ns.inputs.empty()) throw std::invalid_argument(node_error(k, "has no inputs"));
    std::vector<Index> widths;
    for (Index in : ns.inputs) {
      if (in < 0 || in >= id)
        throw std::invalid_argument(
            node_error(k, "input " + std::to_string(in) + " is not an earlier value"));
      widths.push_back(value_width(in));
      ++m_consumers[static_cast<std::size_t>(in)];
    }
    const std::size_t li = static_cast<std::size_t>(ns.layer);
    Node node;
    node.layer = ns.layer;
    node.inputs = ns.inputs;
    if (ns.training < -1 || ns.training > 1)
      throw std::invalid_argument(node_error(k, "training must be -1, 0 or 1"));
    node.training = ns.training;
    m_forced_training = m_forced_training || ns.training == 1;
    node.in.assign(ns.inputs.size(), nullptr);
    node.d_in.assign(ns.inputs.size(), nullptr);
    if (m_layer_width[li] < 0) {
      node.width = m_layers[li]->build(widths);
      if (node.width <= 0 || node.width > kMaxValues)
        throw std::invalid_argument(node_error(k, "output width out of range"));
      m_layer_width[li] = node.width;
      built_widths[li] = widths;
      m_weights[li] = m_layers[li]->weights();
    } else {
      if (widths != built_widths[li])
        throw std::invalid_argument(
            node_error(k, "layer " + std::to_string(li) +
                              " was built for other input shapes and cannot be "
                              "applied to these"));
      node.width = m_layer_width[li];
    }
    node.application = static_cast<std::uint64_t>(std::count_if(
        m_nodes.begin(), m_nodes.end(), [&](const Node& n) { return n.layer == ns.layer; }));
    m_nodes.push_back(std::move(node));
    if (m_layers[li]->has_activity()) m_activity_nodes.push_back(static_cast<Index>(k));
  }
  m_activity_zeros.assign(m_activity_nodes.size(), 0.0);
  for (std::size_t i = 0; i < n_layers; ++i) {
    if (m_layer_width[i] < 0)
      throw std::invalid_argument("Layer " + std::to_string(i) + " is not used by any node.");
    Index params = 0, stats = 0;
    for (const WeightSpec& w : m_weights[i]) {
      for (Index d : w.shape)
        if (d <= 0) throw std::invalid_argument("Layer " + std::to_string(i) + ": empty weight.");
      (w.state ? stats : params) += w.size();
    }
    if (params) m_param_offset[i] = m_n_params;
    if (stats) m_stats_offset[i] = m_n_stats;
    m_param_size[i] = params;
    m_n_params += params;
    m_n_stats += stats;
    if (m_n_params > kMaxValues || m_n_stats > kMaxValues)
      throw std::length_error("The model has too many parameters to allocate.");
  }
  for (Index out : g.outputs) {
    if (out < 0 || out >= n_values)
      throw std::invalid_argument("Output " + std::to_string(out) +
                                  " is not a value of the graph.");
    m_outputs.push_back(out);
    m_output_widths.push_back(value_width(out));
    m_n_outputs += value_width(out);
    ++m_consumers[static_cast<std::size_t>(out)];
  }
  m_values.assign(static_cast<std::size_t>(n_values), nullptr);
  m_written.assign(static_cast<std::size_t>(n_values), false);
  m_layer_written.assign(n_layers, false);
  plan_constraints();
}

template <typename T>
void Model<T>::plan_constraints() {
  // A layer's spec names a weight's constraint as "<weight>_constraint", with its parameters
  // "<weight>_constraint_<parameter>": every layer kind gets constraints without code of its own.
  m_constraints.clear();
  for (std::size_t i = 0; i < m_layers.size(); ++i) {
    for (const auto& [key, value] : m_specs[i].strs) {
      const std::size_t at = key.rfind("_constraint");
      if (at == std::string::npos || at + 11 != key.size()) continue;
      const std::string name = key.substr(0, at);
      if (std::none_of(m_weights[i].begin(), m_weights[i].end(),
                       [&](const WeightSpec& w) { return !w.state && w.name == name; }))
        throw std::invalid_argument("Layer " + std::to_string(i) + " has no trainable weight '" +
                                    name + "' for the constraint " + value);
    }
    Index offset = m_param_offset[i];
    for (const WeightSpec& w : m_weights[i]) {
      if (w.state) continue;
      const std::string key = w.name + "_constraint";
      if (m_specs[i].has(key)) {
        const LayerSpec& s = m_specs[i];
        ConstrainedWeight cw;
        cw.layer = i;
        cw.offset = offset;
        cw.c = make_constraint(s.get_str(key, ""), s.get_num(key + "_min_value", 0.0),
                               s.get_num(key + "_max_value", -1.0), s.get_num(key + "_rate", 1.0));
        fold_axis(w.shape, s.get_int(key + "_axis", 0), &cw.outer, &cw.reduce, &cw.inner);
        m_constraints.push_back(cw);
      }
      offset += w.size();
    }
  }
}

template <typename T>
void Model<T>::apply_constraints(Index first, Index last) {
  for (const ConstrainedWeight& cw : m_constraints) {
    const Index size = cw.outer * cw.reduce * cw.inner;
    if (!m_layers[cw.layer]->trainable() || cw.offset < first || cw.offset + size > last) continue;
    m_backend->constrain(cw.c, m_params.data() + cw.offset, cw.outer, cw.reduce, cw.inner);
  }
}

template <typename T>
void Model<T>::plan_backward() {
  // A value needs its gradient when a trainable parameter lies upstream of it.
  for (std::size_t i = 0; i < m_layers.size(); ++i) m_layers[i]->set_trainable(m_trainable_next[i]);
  std::vector<bool> trainable(m_layers.size());
  for (std::size_t i = 0; i < m_layers.size(); ++i) trainable[i] = m_layers[i]->trainable();
  mark_needs(trainable, false, m_needs_grad);
  m_segments.clear();
  m_variables.clear();
  m_n_trainable = 0;
  for (std::size_t i = 0; i < m_layers.size(); ++i) {
    if (!m_param_size[i] || !m_layers[i]->trainable()) continue;
    Index offset = m_param_offset[i];
    for (const WeightSpec& w : m_weights[i])
      if (!w.state) {
        m_variables.emplace_back(offset, w.size());
        offset += w.size();
      }
    if (!m_segments.empty() &&
        m_segments.back().first + m_segments.back().second == m_param_offset[i])
      m_segments.back().second += m_param_size[i];
    else
      m_segments.emplace_back(m_param_offset[i], m_param_size[i]);
    m_n_trainable += m_param_size[i];
  }
}

template <typename T>
void Model<T>::mark_needs(const std::vector<bool>& wanted, bool inputs,
                          std::vector<bool>& need) const {
  need.assign(m_values.size(), false);
  for (Index k = 0; k < m_n_in; ++k) need[static_cast<std::size_t>(k)] = inputs;
  for (std::size_t k = 0; k < m_nodes.size(); ++k) {
    const Node& n = m_nodes[k];
    const std::size_t li = static_cast<std::size_t>(n.layer);
    bool needed = m_param_size[li] > 0 && wanted[li];
    for (Index in : n.inputs) needed = needed || need[static_cast<std::size_t>(in)];
    need[static_cast<std::size_t>(m_n_in) + k] = needed;
  }
}

template <typename T>
void Model<T>::initialize(std::size_t i, std::size_t j, const Initializer& init) {
  const std::vector<WeightSpec>& ws = layer_weights(i);
  if (j >= ws.size())
    throw std::invalid_argument("Layer " + std::to_string(i) + " has no weight " +
                                std::to_string(j) + ".");
  Index offset = 0;
  for (std::size_t k = 0; k < j; ++k)
    if (ws[k].state == ws[j].state) offset += ws[k].size();
  const WeightSpec& w = ws[j];
  std::vector<T> host(static_cast<std::size_t>(w.size()));
  eigennet::initialize(init, w.fan_in, w.fan_out, host.data(), w.size(), m_rng);
  T* base = w.state ? m_stats.data() + m_stats_offset[i] : m_params.data() + m_param_offset[i];
  m_backend->copy_to_device(base + offset, host.data(), sizeof(T) * w.size());
  ++m_params_version;
}

template <typename T>
void Model<T>::initialize(std::size_t i, const Initializer& kernel, const Initializer& bias) {
  const std::vector<WeightSpec>& ws = layer_weights(i);
  if (ws.empty() || ws[0].state)
    throw std::invalid_argument("Layer " + std::to_string(i) + " has no weights to initialise.");
  initialize(i, 0, kernel);
  if (ws.size() > 1 && !ws[1].state) initialize(i, 1, bias);
}

template <typename T>
void Model<T>::get_params(T* out) const {
  m_backend->copy_to_host(out, m_params.data(), m_params.bytes());
}
template <typename T>
void Model<T>::set_params(const T* in) {
  m_backend->copy_to_device(m_params.data(), in, m_params.bytes());
  ++m_params_version;
}
template <typename T>
void Model<T>::get_stats(T* out) const {
  m_backend->copy_to_host(out, m_stats.data(), m_stats.bytes());
}
template <typename T>
void Model<T>::set_stats(const T* in) {
  m_backend->copy_to_device(m_stats.data(), in, m_stats.bytes());
}

template <typename T>
Index Model<T>::n_targets() const {
  Index n = 0;
  for (std::size_t o = 0; o < m_outputs.size(); ++o) {
    const bool sparse = o < m_losses.size() && is_sparse(m_losses[o].loss);
    n += sparse ? 1 : m_output_widths[o];
  }
  return n;
}

template <typename T>
Index Model<T>::n_acc() const {
  Index n = kAccOutputs + (m_outputs.size() > 1 ? static_cast<Index>(m_outputs.size()) : 0);
  for (std::size_t o = 0; o < m_losses.size(); ++o)
    for (const Metric& m : m_losses[o].metrics) n += metric_n_sums(m.spec, m_output_widths[o]);
  return n;
}

template <typename T>
void Model<T>::metric_results(const double* acc, std::vector<double>& out) const {
  Index slot = kAccOutputs + (m_outputs.size() > 1 ? static_cast<Index>(m_outputs.size()) : 0);
  for (std::size_t o = 0; o < m_losses.size(); ++o) {
    const Index width = m_output_widths[o];
    for (const Metric& m : m_losses[o].metrics) {
      const std::size_t at = out.size();
      out.resize(at + static_cast<std::size_t>(metric_result_size(m, width)));
      metric_result(m, width, acc + slot, out.data() + at);
      slot += metric_n_sums(m.spec, width);
    }
  }
}

template <typename T>
void Model<T>::check_labels(const T* Y, Index rows, Index row, Index n, Index classes) {
  for (Index j = 0; j < n; ++j) {
    const T v = Y[j * rows + row];
    if (!(v >= 0 && v < T(classes) && v == static_cast<T>(static_cast<Index>(v))))
      throw std::invalid_argument(
          "Sparse labels must be integers in [0, " + std::to_string(classes) + "), got " +
          std::to_string(static_cast<double>(v)) + " at index " + std::to_string(j));
  }
}

template <typename T>
void Model<T>::check_targets(const T* Y, Index n) const {
  const Index rows = n_targets();
  Index row = 0;
  for (std::size_t o = 0; o < m_losses.size(); ++o) {
    if (!is_sparse(m_losses[o].loss)) {
      row += m_output_widths[o];
      continue;
    }
    check_labels(Y, rows, row, n, m_output_widths[o]);
    ++row;
  }
}

template <typename T>
void Model<T>::compile(const LossSpec& loss, const OptimizerConfig& optimizer,
                       std::vector<Metric> metrics) {
  if (m_outputs.size() != 1)
    throw std::invalid_argument("This model has " + std::to_string(m_outputs.size()) +
                                " outputs: give one loss per output.");
  compile({OutputLoss{loss, 1.0, std::move(metrics), {}}}, optimizer);
}

template <typename T>
void Model<T>::compile(std::vector<OutputLoss> outputs, const OptimizerConfig& optimizer) {
  optimizer.validate();
  if (outputs.size() != m_outputs.size())
    throw std::invalid_argument("Expected one loss per output (" +
                                std::to_string(m_outputs.size()) + "), got " +
                                std::to_string(outputs.size()));
  for (std::size_t o = 0; o < outputs.size(); ++o) {
    const OutputLoss& l = outputs[o];
    if (!std::isfinite(l.weight) || l.weight < 0)
      throw std::invalid_argument("Loss weights must be finite and >= 0, got " +
                                  std::to_string(l.weight));
    for (const Metric& m : l.metrics) {
      if (metric_is_sparse(m.spec.kind) != is_sparse(l.loss))
        throw std::invalid_argument(std::string("Metric '") + metric_name(m.spec.kind) +
                                    "' does not fit the targets of loss '" +
                                    loss_name(l.loss.kind) + "'.");
      validate(m, m_output_widths[o]);
    }
    validate(l.loss, l.class_alpha, m_output_widths[o]);
    if (is_sparse(l.loss) && m_output_widths[o] < 2)
      throw std::invalid_argument("Sparse categorical cross-entropy needs at least 2 outputs.");
    // Integer labels travel as T: beyond 2^24 classes a float label is not exact.
    constexpr Index kExactFloat = Index(1) << 24;
    if (is_sparse(l.loss) && sizeof(T) == sizeof(float) && m_output_widths[o] > kExactFloat)
      throw std::invalid_argument(
          "Sparse labels of " + std::to_string(m_output_widths[o]) +
          " classes are not exact in float32 (above 2**24): use float64 (set_floatx) or "
          "one-hot targets.");
  }
  std::vector<std::vector<Buffer<T>>> thresholds(outputs.size());
  for (std::size_t o = 0; o < outputs.size(); ++o)
    for (const Metric& m : outputs[o].metrics) {
      const std::vector<double> constants = m.constants();
      const Index n = static_cast<Index>(constants.size());
      std::vector<T> host(constants.begin(), constants.end());
      thresholds[o].emplace_back(*m_backend, n);
      if (n) m_backend->copy_to_device(thresholds[o].back().data(), host.data(), n * sizeof(T));
    }
  m_thresholds = std::move(thresholds);
  m_class_alpha.clear();
  for (const OutputLoss& l : outputs) {
    const Index n = static_cast<Index>(l.class_alpha.size());
    const std::vector<T> host(l.class_alpha.begin(), l.class_alpha.end());
    m_class_alpha.emplace_back(*m_backend, n);
    if (n) m_backend->copy_to_device(m_class_alpha.back().data(), host.data(), n * sizeof(T));
  }
  m_losses = std::move(outputs);
  m_optimizer = optimizer;
  plan_backward();
  m_fused.assign(m_outputs.size(), false);
  m_fused_loss.assign(m_outputs.size(), LossKind::MeanSquaredError);
  for (std::size_t o = 0; o < m_outputs.size(); ++o) {
    m_fused_loss[o] = fusable_loss(o, m_losses[o].loss);
    m_fused[o] = m_fused_loss[o].kind != m_losses[o].loss.kind;
  }
  m_state = Buffer<T>(*m_backend, n_state());
  // Each trainable segment keeps its slots together: [seg 0 slot 0 | seg 0 slot 1 | seg 1 ...].
  const int slots = m_optimizer.n_slots();
  Index seg_base = 0;
  for (const auto& seg : m_segments) {
    for (int s = 0; s < slots; ++s)
      m_backend->fill(m_state.data() + seg_base + s * seg.second, seg.second,
                      static_cast<T>(m_optimizer.slot_initial_value(s)));
    seg_base += slots * seg.second;
  }
  m_step = 0;
  m_compiled = true;
}

template <typename T>
LossSpec Model<T>::fusable_loss(std::size_t o, const LossSpec& loss) {
  const Index id = m_outputs[o];
  Activation last = Activation::Linear;
  // Only a value the loss alone consumes (and no activity penalty) may hand the loss its
  // logits.
  if (id >= m_n_in && m_consumers[static_cast<std::size_t>(id)] == 1) {
    const Layer<T>& layer = *m_layers[static_cast<std::size_t>(node_of(id).layer)];
    if (!layer.has_activity()) last = layer.fusable_activation().kind;
  }
  LossSpec fused = loss;
  fused.kind = fused_loss(last, loss.kind);
  return fused;
}

template <typename T>
void Model<T>::get_state(T* out) const {
  m_backend->copy_to_host(out, m_state.data(), m_state.bytes());
}

template <typename T>
void Model<T>::set_optimizer(const OptimizerConfig& cfg) {
  cfg.validate();
  if (!m_compiled) throw std::invalid_argument("The model is not compiled: it has no optimizer.");
  if (cfg.kind != m_optimizer.kind)
    throw std::invalid_argument(std::string("The model was compiled with ") +
                                optimizer_name(m_optimizer.kind) + ", not " +
                                optimizer_name(cfg.kind) + ": compile it again to change it.");
  if (cfg.n_slots() != m_optimizer.n_slots() || cfg.rule_slots() != m_optimizer.rule_slots())
    throw std::invalid_argument(
        "This change needs other optimizer slots (" + std::to_string(m_optimizer.n_slots()) +
        " per weight now, " + std::to_string(cfg.n_slots()) +
        " after it): compile the model again to change use_ema, amsgrad, centered or whether "
        "SGD or RMSprop has momentum.");
  m_optimizer = cfg;
}

template <typename T>
void Model<T>::set_iterations(std::int64_t step) {
  check_iterations(step);
  m_step = step;
}

template <typename T>
void Model<T>::set_state(const T* in) {
  const int slots = m_optimizer.n_slots();
  Index base = 0;
  for (const auto& seg : m_segments)
    for (int s = 0; s < slots; ++s, base += seg.second) {
      const bool second_moment = m_optimizer.slot_nonnegative(s);
      for (Index i = base; i < base + seg.second; ++i)
        if (!std::isfinite(static_cast<double>(in[i])) || (second_moment && in[i] < T(0)))
          throw std::invalid_argument("Optimizer state value " +
                                      std::to_string(static_cast<double>(in[i])) + " at index " +
                                      std::to_string(i) + " is " +
                                      (second_moment ? "not a finite value >= 0 (a second "
                                                       "moment)"
                                                     : "not finite") +
                                      ": refusing the state.");
    }
  m_backend->copy_to_device(m_state.data(), in, m_state.bytes());
}

template <typename T>
void Model<T>::reserve(Index batch) {
  if (batch <= m_capacity) return;
  Device& d = *m_backend;
  Index max_width = 0;
  for (Node& n : m_nodes) {
    const Layer<T>& layer = *m_layers[static_cast<std::size_t>(n.layer)];
    n.out = Buffer<T>(d, n.width * batch);
    n.work = Buffer<T>(d, layer.workspace(batch));
    n.d = Buffer<T>(d, n.width * batch);
    max_width = std::max(max_width, n.width);
  }
  m_in_split.clear();
  if (m_n_in > 1)
    for (Index w : m_input_widths) m_in_split.emplace_back(d, w * batch);
  m_y_split.clear();
  if (m_outputs.size() > 1) {
    for (Index w : m_output_widths) m_y_split.emplace_back(d, w * batch);
    m_out_cat = Buffer<T>(d, m_n_outputs * batch);
  }
  std::size_t max_in = 1;
  for (const Node& n : m_nodes) max_in = std::max(max_in, n.inputs.size());
  m_tmp.clear();
  for (std::size_t k = 0; k < max_in + 1; ++k) m_tmp.emplace_back(d, max_width * batch);
  Index max_params = 0;
  for (Index p : m_param_size) max_params = std::max(max_params, p);
  if (m_tmp_grads.size() < max_params) m_tmp_grads = Buffer<T>(d, max_params);
  m_per_sample = Buffer<T>(d, batch);
  m_capacity = batch;
}

template <typename T>
ForwardArgs<T> Model<T>::forward_args(Node& n, Index batch, bool training) {
  const std::size_t li = static_cast<std::size_t>(n.layer);
  const Index po = m_param_offset[li], so = m_stats_offset[li];
  return ForwardArgs<T>{
      *m_backend, batch, n.training < 0 ? training : n.training == 1, n.in, n.out.data(),
      po >= 0 ? m_params.data() + po : nullptr, so >= 0 ? m_stats.data() + so : nullptr,
      n.work.data(),
      // The first application keeps the stream of a chain's layer i; later
      // ones get their own.
      mix64(m_dropout_seed + static_cast<std::uint64_t>(n.layer) + (n.application << 32)),
      m_dropout_counter};
}

template <typename T>
const T* Model<T>::forward(const T* X, Index batch, bool training) {
  reserve(batch);
  ++m_forward_id;
  if (m_n_in == 1) {
    m_values[0] = X;
  } else {
    Index row = 0;
    for (Index k = 0; k < m_n_in; ++k) {
      const Index w = m_input_widths[static_cast<std::size_t>(k)];
      T* dst = m_in_split[static_cast<std::size_t>(k)].data();
      m_backend->copy_rows(X, m_n_inputs, row, dst, w, 0, w, batch);
      m_values[static_cast<std::size_t>(k)] = dst;
      row += w;
    }
  }
  for (std::size_t k = 0; k < m_nodes.size(); ++k) {
    Node& n = m_nodes[k];
    for (std::size_t s = 0; s < n.inputs.size(); ++s)
      n.in[s] = m_values[static_cast<std::size_t>(n.inputs[s])];
    n.value =
        m_layers[static_cast<std::size_t>(n.layer)]->forward(forward_args(n, batch, training));
    m_values[static_cast<std::size_t>(m_n_in) + k] = n.value;
  }
  if (training || m_forced_training) ++m_dropout_counter;
  if (m_outputs.size() == 1) return m_values[static_cast<std::size_t>(m_outputs[0])];
  Index row = 0;
  for (std::size_t o = 0; o < m_outputs.size(); ++o) {
    const Index w = m_output_widths[o];
    m_backend->copy_rows(m_values[static_cast<std::size_t>(m_outputs[o])], w, 0, m_out_cat.data(),
                         m_n_outputs, row, w, batch);
    row += w;
  }
  return m_out_cat.data();
}

template <typename T>
void Model<T>::add_gradient(Index id, const T* grad, Index n) {
  if (grad != d_buffer(id)) m_backend->axpby(n, T(1), grad, T(1), d_buffer(id));
}

template <typename T>
T* Model<T>::d_target(Index id, std::size_t slot, const std::vector<bool>& need) {
  // The first contribution to a value's gradient is written in place, later ones are added.
  if (!need[static_cast<std::size_t>(id)]) return nullptr;
  if (!m_written[static_cast<std::size_t>(id)]) {
    m_written[static_cast<std::size_t>(id)] = true;
    return d_buffer(id);
  }
  return m_tmp[slot].data();
}

template <typename T>
void Model<T>::loss_and_metrics(const T* Y, Index batch, double* acc, bool with_grad, const T* w,
                                Index mean_over) {
  std::fill(m_written.begin(), m_written.end(), false);
  const Index rows = n_targets();
  const bool several = m_outputs.size() > 1;
  Index row = 0, metric_slot = kAccOutputs + (several ? static_cast<Index>(m_outputs.size()) : 0);
  for (std::size_t o = 0; o < m_outputs.size(); ++o) {
    const OutputLoss& l = m_losses[o];
    const Index id = m_outputs[o], width = m_output_widths[o];
    const Index n_t = is_sparse(l.loss) ? 1 : width;
    const T* Yo = Y;
    if (several) {
      m_backend->copy_rows(Y, rows, row, m_y_split[o].data(), n_t, 0, n_t, batch);
      Yo = m_y_split[o].data();
    }
    row += n_t;
    const T* A = m_values[static_cast<std::size_t>(id)];
    const T* P = A;
    if (m_fused[o]) {
      Node& n = node_of(id);
      P = m_layers[static_cast<std::size_t>(n.layer)]->logits(n.in, n.value, n.work.data());
    }
    T* grad = with_grad && id >= m_n_in ? d_target(id, 0, m_needs_grad) : nullptr;
    m_backend->loss(m_fused_loss[o], P, Yo,
                    l.class_alpha.empty() ? nullptr : m_class_alpha[o].data(), width, batch,
                    T(l.weight) / T(mean_over), m_per_sample.data(), grad);
    if (w) {
      // Keras's sum_over_batch_size: Σ w_i l_i / batch, gradient w_i dl_i.
      m_backend->multiply(m_per_sample.data(), w, m_per_sample.data(), batch);
      if (grad) m_backend->scale_columns(grad, width, batch, w);
    }
    if (grad) add_gradient(id, grad, width * batch);
    m_backend->sum_into(m_per_sample.data(), batch, l.weight, acc + kAccLoss);
    if (several) m_backend->sum_into(m_per_sample.data(), batch, 1.0, acc + kAccOutputs + o);
    for (std::size_t k = 0; k < l.metrics.size(); ++k) {
      const Metric& m = l.metrics[k];
      m_backend->accumulate_metric(m.spec, m_thresholds[o][k].data(), A, Yo,
                                   m.weighted ? w : nullptr, width, batch, acc + metric_slot);
      metric_slot += metric_n_sums(m.spec, width);
    }
  }
}

template <typename T>
void Model<T>::penalty(double weight, double* acc, bool with_grad) {
  for (std::size_t i = 0; i < m_layers.size(); ++i) {
    if (!m_param_size[i] || !m_layers[i]->trainable()) continue;
    const Index off = m_param_offset[i];
    m_layers[i]->penalty(*m_backend, m_params.data() + off,
                         with_grad ? m_grads.data() + off : nullptr, weight, acc + kAccPenalty);
  }
}

template <typename T>
void Model<T>::activity(Index batch, double* acc, bool with_grad, Index mean_over) {
  // (l1/b)·Σ|out| + (l2/b)·Σ out² is the loss term; times b in the batch's sums.
  const double b = static_cast<double>(mean_over);
  for (std::size_t k = 0; k < m_nodes.size(); ++k)
    if (m_layers[static_cast<std::size_t>(m_nodes[k].layer)]->has_activity())
      add_activity(k, batch, 1.0, b, b, acc + kAccPenalty, with_grad ? &m_needs_grad : nullptr);
}

template <typename T>
void Model<T>::add_activity(std::size_t k, Index batch, double coef, double divisor, double weight,
                            double* acc, const std::vector<bool>* need) {
  Node& n = m_nodes[k];
  const Layer<T>& layer = *m_layers[static_cast<std::size_t>(n.layer)];
  const std::size_t id = static_cast<std::size_t>(m_n_in) + k;
  const Index size = n.width * batch;
  T* grad = nullptr;
  if (need && (*need)[id]) {
    grad = n.d.data();
    if (!m_written[id]) m_backend->fill(grad, size, T(0));
    m_written[id] = true;
  }
  const double c = coef / divisor;
  m_backend->regularize(n.value, grad, size, c * layer.activity_l1(), c * layer.activity_l2(),
                        weight, acc);
}

template <typename T>
void Model<T>::clip_gradients(const OptimizerConfig& cfg, T* grads,
                              const std::vector<std::pair<Index, Index>>& ranges) {
  if (!(cfg.clipnorm > 0) && !(cfg.global_clipnorm > 0)) return;
  const Index n = static_cast<Index>(ranges.size());
  if (m_norms.size() < n) m_norms = Buffer<double>(*m_backend, n);
  for (Index k = 0; k < n; ++k) {
    const auto& [offset, size] = ranges[static_cast<std::size_t>(k)];
    if (cfg.clipnorm > 0) {
      m_backend->sum_squares(grads + offset, size, m_norms.data() + k, false);
      m_backend->scale_to_norm(grads + offset, size, m_norms.data() + k, cfg.clipnorm);
    } else {
      m_backend->sum_squares(grads + offset, size, m_norms.data(), k > 0);
    }
  }
  if (cfg.global_clipnorm > 0)
    for (const auto& [offset, size] : ranges)
      m_backend->scale_to_norm(grads + offset, size, m_norms.data(), cfg.global_clipnorm);
}

template <typename T>
void Model<T>::backward(Index batch, const std::vector<bool>& need,
                        const std::vector<bool>& fused) {
  std::fill(m_layer_written.begin(), m_layer_written.end(), false);
  for (std::size_t k = m_nodes.size(); k-- > 0;) {
    Node& n = m_nodes[k];
    const Index id = m_n_in + static_cast<Index>(k);
    if (!need[static_cast<std::size_t>(id)] || !m_written[static_cast<std::size_t>(id)]) continue;
    const std::size_t li = static_cast<std::size_t>(n.layer);
    std::vector<T*>& d_in = n.d_in;
    for (std::size_t s = 0; s < n.inputs.size(); ++s) d_in[s] = d_target(n.inputs[s], s + 1, need);
    const Index po = m_param_offset[li], so = m_stats_offset[li];
    T* grads = nullptr;
    if (po >= 0) grads = m_layer_written[li] ? m_tmp_grads.data() : m_grads.data() + po;
    bool logits_grad = false;
    for (std::size_t o = 0; o < m_outputs.size(); ++o)
      logits_grad = logits_grad || (fused[o] && m_outputs[o] == id);
    m_layers[li]->backward(BackwardArgs<T>{*m_backend, batch, n.in, n.value, n.d.data(),
                                           logits_grad, d_in,
                                           po >= 0 ? m_params.data() + po : nullptr, grads,
                                           so >= 0 ? m_stats.data() + so : nullptr, n.work.data()});
    if (po >= 0) {
      if (m_layer_written[li])
        m_backend->axpby(m_param_size[li], T(1), m_tmp_grads.data(), T(1), m_grads.data() + po);
      m_layer_written[li] = true;
    }
    for (std::size_t s = 0; s < n.inputs.size(); ++s) {
      const Index in = n.inputs[s];
      if (d_in[s]) add_gradient(in, d_in[s], value_width(in) * batch);
    }
  }
}

template <typename T>
void Model<T>::train_batch(const T* X, const T* Y, Index batch, double* acc, const T* w) {
  if (!m_compiled) throw std::logic_error("The model must be compiled before training.");
  forward(X, batch, true);
  loss_and_metrics(Y, batch, acc, true, w, batch);
  activity(batch, acc, true, batch);
  backward(batch, m_needs_grad, m_fused);
  penalty(static_cast<double>(batch), acc, true);
  apply_step();
}

template <typename T>
void Model<T>::zero_unreached_grads() {
  for (std::size_t i = 0; i < m_layers.size(); ++i)
    if (m_param_size[i] && !m_layer_written[i])
      m_backend->fill(m_grads.data() + m_param_offset[i], m_param_size[i], T(0));
}

template <typename T>
void Model<T>::apply_step() {
  clip_gradients(m_optimizer, m_grads.data(), m_variables);
  const double lr = m_optimizer.learning_rate.at(m_step);
  const Index slots = m_optimizer.n_slots();
  Index seg_base = 0;
  for (const auto& seg : m_segments) {
    m_backend->optimizer_step(m_optimizer, lr, m_step, m_params.data() + seg.first,
                              m_grads.data() + seg.first, m_state.data() + seg_base, seg.second);
    seg_base += slots * seg.second;
  }
  apply_constraints(0, m_n_params);
  ++m_step;
  ++m_params_version;
}

template <typename T>
void Model<T>::test_batch(const T* X, const T* Y, Index batch, double* acc, const T* w) {
  if (!m_compiled) throw std::logic_error("The model must be compiled before evaluating.");
  forward(X, batch, false);
  loss_and_metrics(Y, batch, acc, false, w, batch);
  activity(batch, acc, false, batch);
  penalty(static_cast<double>(batch), acc, false);
}

template class Model<float>;
template class Model<double>;

}  // namespace eigennet
