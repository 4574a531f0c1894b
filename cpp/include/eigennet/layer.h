#pragma once
// The interface of every layer kind, and the registry that is the only list of kinds.
//
// A layer is built once for the widths of its inputs; it then declares its weights (trainable
// parameters in the model's parameter buffer, non-trainable state such as moving statistics in
// the state buffer) and the workspace one application needs per sample. forward and backward
// work on views: every matrix is column-major (width, batch), one column per sample (tensor.h).
// A layer applied at several nodes of a graph runs forward and backward once per node, on that
// node's views; the graph sums the gradients.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "eigennet/backend.h"
#include "eigennet/initializers.h"

namespace eigennet {

/// A layer's configuration: its registry name and named arguments. Every key must be one the
/// kind knows (make_layer throws std::invalid_argument naming an unknown one), so that nothing
/// is silently ignored.
struct LayerSpec {
  std::string kind;                          // registry name: "dense", "batch_normalization", ...
  std::map<std::string, std::int64_t> ints;  // "units", "seed", "axis", ...
  std::map<std::string, double> nums;        // "rate", "momentum", "epsilon", "l2", ...
  std::map<std::string, std::string> strs;   // "activation"
  bool trainable = true;

  std::int64_t get_int(const std::string& key, std::int64_t fallback) const;
  double get_num(const std::string& key, double fallback) const;
  const std::string& get_str(const std::string& key, const std::string& fallback) const;
  bool has(const std::string& key) const;
};

/// One weight of a layer, in Keras's order and shape (a Dense kernel is (n_inputs, units) in C
/// order, i.e. (units, n_inputs) column-major).
struct WeightSpec {
  std::string name;               // "kernel", "bias", "gamma", "moving_mean", ...
  std::vector<Index> shape;       // Keras's shape
  bool state = false;             // non-trainable state (state buffer), never optimised
  Index fan_in = 1, fan_out = 1;  // for the variance-scaling initialisers
  Index size() const;
};

/// What forward sees. in[k] is (in_widths[k], batch); out is this node's own (width, batch)
/// buffer; params and state are this layer's slices of the model's buffers (null when empty);
/// work is this node's workspace of workspace(batch) elements, kept until its backward.
template <typename T>
struct ForwardArgs {
  Backend<T>& be;
  Index batch;
  bool training;
  const std::vector<const T*>& in;
  T* out;
  const T* params;
  T* state;
  T* work;
  std::uint64_t seed;     // this node's noise stream (dropout, noise layers)
  std::uint64_t counter;  // training step
};

/// What backward sees: the forward pass's views plus d_out = dL/d(out) (width, batch), which the
/// layer may overwrite. It writes dL/d(in[k]) into d_in[k] (null when nobody needs it) and its
/// parameter gradients into grads (overwriting: the graph sums over nodes). With logits_grad,
/// d_out already holds the gradient with respect to the pre-activation (a fused loss).
template <typename T>
struct BackwardArgs {
  Backend<T>& be;
  Index batch;
  const std::vector<const T*>& in;
  const T* out;
  T* d_out;
  bool logits_grad;
  const std::vector<T*>& d_in;
  const T* params;
  T* grads;
  const T* state;
  T* work;
};

template <typename T>
class Layer {
 public:
  virtual ~Layer() = default;
  /// Checks the input widths and returns the output width (std::invalid_argument otherwise).
  virtual Index build(const std::vector<Index>& in_widths) = 0;
  /// The weights, once built.
  virtual std::vector<WeightSpec> weights() const { return {}; }
  /// Elements of workspace one application needs for a batch.
  virtual Index workspace(Index batch) const { return 0 * batch; }
  /// Computes the output and returns it: a.out, or a.in[0] for a layer that passes it through.
  virtual const T* forward(const ForwardArgs<T>& a) = 0;
  virtual void backward(const BackwardArgs<T>& a) = 0;
  /// The activation a loss may fuse with (then logits() feeds the loss and backward receives
  /// logits_grad), Linear when none.
  virtual ActivationSpec fusable_activation() const { return Activation::Linear; }
  /// The pre-activation of the last forward at a node's views (in, out, work as in forward).
  virtual const T* logits(const std::vector<const T*>& in, const T*, const T*) const {
    return in[0];
  }
  /// Adds weight·penalty into *acc and, with grads, its gradient (kernel regularisers).
  virtual void penalty(Backend<T>&, const T*, T*, double, double*) const {}
  /// Keras's trainable: a frozen layer's parameters get no updates and no penalty, and
  /// BatchNormalization then runs in inference mode.
  bool trainable() const { return m_trainable; }
  void set_trainable(bool t) { m_trainable = t; }
  /// Keras's activity_regularizer, spec keys "activity_l1"/"activity_l2" of any kind: at every
  /// node (l1·Σ|out| + l2·Σ out²) / batch joins the loss, frozen or not (Model::activity).
  double activity_l1() const { return m_activity_l1; }
  double activity_l2() const { return m_activity_l2; }
  bool has_activity() const { return m_activity_l1 != 0.0 || m_activity_l2 != 0.0; }
  void set_activity(double l1, double l2) {
    m_activity_l1 = l1;
    m_activity_l2 = l2;
  }

 private:
  bool m_trainable = true;
  double m_activity_l1 = 0.0, m_activity_l2 = 0.0;
};

/// A new layer of the registered kind. Throws std::invalid_argument for an unknown kind, an
/// unknown argument or a bad value, naming it.
template <typename T>
std::unique_ptr<Layer<T>> make_layer(const LayerSpec& spec);

/// The registered kinds, for error messages and tests.
std::vector<std::string> layer_kinds();

/// Specs of the common kinds for C++ callers (Python builds its own from Keras's arguments).
LayerSpec dense_spec(Index units, Activation act = Activation::Linear, bool use_bias = true);
LayerSpec dropout_spec(double rate);
LayerSpec activation_spec(Activation act);

}  // namespace eigennet
