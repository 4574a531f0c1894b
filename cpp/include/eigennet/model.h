#pragma once
// A feed-forward stack of Dense, Dropout and Activation layers over one flat parameter buffer.
//
// Parameters are laid out layer by layer in Keras's weight order: for each Dense layer its kernel
// (n_units, n_inputs) column-major, i.e. Keras's (n_inputs, n_units) in C order, then its bias
// (n_units). Gradients and optimizer slots use the same layout. Workspaces are sized for the
// largest batch seen and reused: nothing is allocated per batch.
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "eigennet/backend.h"
#include "eigennet/initializers.h"
#include "eigennet/optimizer.h"
#include "eigennet/rng.h"

namespace eigennet {

struct LayerSpec {
  LayerKind kind = LayerKind::Dense;
  Index n_units = 0;                           // Dense
  Activation activation = Activation::Linear;  // Dense, Activation
  bool use_bias = true;                        // Dense
  double l1 = 0.0, l2 = 0.0;                   // Dense: kernel regularisation
  double rate = 0.0;                           // Dropout
  bool has_seed = false;                       // Dropout: own mask stream
  std::uint64_t seed = 0;
};

/// Slots of the accumulator a batch adds into: [loss sum, penalty sum, metric sums...].
enum : int { kAccLoss = 0, kAccPenalty = 1, kAccMetrics = 2 };

template <typename T>
class Model {
 public:
  /// Throws std::invalid_argument naming the bad value (sizes, rates) or std::bad_alloc.
  Model(Index n_inputs, std::vector<LayerSpec> layers, std::unique_ptr<Backend<T>> backend,
        std::uint64_t seed);

  Index n_inputs() const { return m_n_inputs; }
  Index n_outputs() const { return m_widths.back(); }
  Index n_params() const { return m_n_params; }
  const std::vector<LayerSpec>& layers() const { return m_layers; }
  /// Output width of layer i. Throws std::out_of_range for i >= layers().size().
  Index width(std::size_t i) const { return m_widths.at(check_layer(i) + 1); }
  /// Offset of layer i's kernel in the flat buffer (its bias follows it), -1 if none. Throws
  /// std::out_of_range for i >= layers().size().
  Index param_offset(std::size_t i) const { return m_offsets.at(check_layer(i)); }
  Backend<T>& backend() { return *m_backend; }
  Rng& rng() { return m_rng; }
  /// Dropout masks of training step k are drawn from (layer seed, counter k).
  std::uint64_t dropout_counter() const { return m_dropout_counter; }
  std::uint64_t dropout_seed() const { return m_dropout_seed; }
  void set_dropout_stream(std::uint64_t seed, std::uint64_t counter) {
    m_dropout_seed = seed;
    m_dropout_counter = counter;
  }

  /// Draws layer i's kernel and bias from the given initialisers.
  void initialize(std::size_t i, const Initializer& kernel, const Initializer& bias);
  void get_params(T* host_out) const;
  void set_params(const T* host_in);

  /// Sets the loss, optimizer and metrics, and resets the optimizer state.
  void compile(LossKind loss, const OptimizerConfig& optimizer, std::vector<MetricKind> metrics);
  bool compiled() const { return m_compiled; }
  LossKind loss() const { return m_loss; }
  const OptimizerConfig& optimizer() const { return m_optimizer; }
  const std::vector<MetricKind>& metrics() const { return m_metrics; }
  /// Number of targets per sample: 1 for sparse labels, n_outputs() otherwise.
  Index n_targets() const { return is_sparse(m_loss) ? 1 : n_outputs(); }
  Index n_state() const { return m_optimizer.n_slots() * m_n_params; }
  std::int64_t iterations() const { return m_step; }
  void set_iterations(std::int64_t step) { m_step = step; }
  void get_state(T* host_out) const;
  void set_state(const T* host_in);
  /// Learning rate of the next step.
  double current_learning_rate() const { return m_optimizer.learning_rate.at(m_step); }
  void set_learning_rate(const Schedule& s) { m_optimizer.learning_rate = s; }

  /// Forward pass; returns the output (n_outputs, batch) in device memory, valid until the next
  /// call. X is (n_inputs, batch) device memory. Dropout is active only when training.
  const T* forward(const T* X, Index batch, bool training);
  /// One optimizer step on a batch; adds batch sums into acc (device doubles, see kAcc*).
  /// w (1, batch) and w_cols (n_outputs, batch), both or neither, weight each sample's loss
  /// and its gradient (Keras's sample_weight; metrics stay unweighted).
  void train_batch(const T* X, const T* Y, Index batch, double* acc, const T* w = nullptr,
                   const T* w_cols = nullptr);
  /// Loss and metric sums of a batch without updating, added into acc.
  void test_batch(const T* X, const T* Y, Index batch, double* acc, const T* w = nullptr);
  /// Size of the accumulator train_batch and test_batch write.
  Index n_acc() const { return kAccMetrics + static_cast<Index>(m_metrics.size()); }

 private:
  std::size_t check_layer(std::size_t i) const {
    if (i >= m_layers.size())
      throw std::out_of_range("Layer index " + std::to_string(i) +
                              " is out of range: the model has " + std::to_string(m_layers.size()) +
                              " layers.");
    return i;
  }

  void reserve(Index batch);
  void loss_and_metrics(const T* Y, Index batch, double* acc, bool with_grad, const T* w,
                        const T* w_cols);
  void penalty(double weight, double* acc, bool with_grad);
  void backward(Index batch);

  Index m_n_inputs;
  std::vector<LayerSpec> m_layers;
  std::vector<Index> m_widths;   // m_widths[0] = n_inputs, m_widths[i + 1] = layer i's output
  std::vector<Index> m_offsets;  // kernel offsets, -1 for layers without parameters
  Index m_n_params = 0;
  std::unique_ptr<Backend<T>> m_backend;
  Rng m_rng;
  std::uint64_t m_dropout_seed;
  std::uint64_t m_dropout_counter = 0;

  Buffer<T> m_params, m_grads, m_state;

  bool m_compiled = false;
  LossKind m_loss = LossKind::MeanSquaredError;
  LossKind m_fused_loss = LossKind::MeanSquaredError;  // what is computed, see fused_loss()
  bool m_fused = false;
  OptimizerConfig m_optimizer;
  std::vector<MetricKind> m_metrics;
  std::int64_t m_step = 0;

  // Workspace for up to m_capacity samples.
  Index m_capacity = 0;
  std::vector<Buffer<T>> m_Z, m_A, m_mask;  // per layer; empty where unused
  Buffer<T> m_dA, m_dB, m_per_sample;
  std::vector<const T*> m_in, m_out;  // per layer input and output of the last forward pass
};

extern template class Model<float>;
extern template class Model<double>;

}  // namespace eigennet
