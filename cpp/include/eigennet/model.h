#pragma once
// A model: a directed acyclic graph of layer applications (nodes) over flat buffers, planned
// once. Several inputs and outputs are ordinary; a layer applied at several nodes keeps one set
// of weights and the gradients of its applications are summed.
//
// Buffers: every layer's parameters in layer order (Keras's weight order within a layer: a Dense
// kernel (units, n_inputs) column-major, i.e. Keras's (n_inputs, units) in C order, then its
// bias), their gradients, the optimizer slots of the trainable ones, and the non-trainable state
// ("stats": BatchNormalization's moving statistics, Normalization's mean and variance), which no
// optimizer touches. Inputs arrive as one (Σ input widths, batch) matrix, targets as one
// (Σ target rows, batch) matrix, in input and output order. Workspaces are sized for the largest
// batch seen and reused: nothing is allocated per batch.
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "eigennet/backend.h"
#include "eigennet/collective.h"
#include "eigennet/initializers.h"
#include "eigennet/layer.h"
#include "eigennet/optimizer.h"
#include "eigennet/rng.h"

namespace eigennet {

/// One application of layer `layer` to the values `inputs` (ids: graph inputs are 0..n_in-1,
/// node k is n_in + k; an input id must be smaller than the node's own).
struct NodeSpec {
  Index layer = 0;
  std::vector<Index> inputs;
  int training = -1;  // Keras's call-time training: -1 follows the pass, 0 never, 1 always
};

struct GraphSpec {
  std::vector<Index> input_widths;
  std::vector<LayerSpec> layers;
  std::vector<NodeSpec> nodes;  // in topological order
  std::vector<Index> outputs;   // value ids
  /// A chain: layer k applied to the output of layer k - 1.
  static GraphSpec chain(Index n_inputs, std::vector<LayerSpec> layers);
};

/// The loss of one output, its weight in the total, and its metrics.
struct OutputLoss {
  LossSpec loss = LossKind::MeanSquaredError;
  double weight = 1.0;
  std::vector<Metric> metrics;
  std::vector<double> class_alpha;  ///< (width) or empty: see validate(LossSpec, class_alpha)
};

/// One loss of a recorded forward pass that tape_gradient differentiates: coef / divisor times
/// the sum over samples of loss(Y, output) (times the sample weights when weighted).
struct TapeLoss {
  Index output = 0;
  LossSpec loss = LossKind::MeanSquaredError;
  double coef = 1.0, divisor = 1.0;
  bool weighted = false;
  std::vector<double> class_alpha;  ///< (width) or empty, as OutputLoss's
};

/// One variable's update by a hand-driven optimizer: parameters [offset, offset + size) with
/// their gradient and the optimizer's slots for them ((n_slots, size) row-major), host memory.
template <typename T>
struct HandUpdate {
  Index offset = 0, size = 0;
  const T* grad = nullptr;
  T* state = nullptr;
};

/// Slots of the accumulator a batch adds into: [total loss, penalty, per-output losses (only
/// with several outputs), the sums of output 0's metrics (metric_n_sums each), of output 1's, ...].
enum : int { kAccLoss = 0, kAccPenalty = 1, kAccOutputs = 2 };

template <typename T>
class Model {
 public:
  /// Throws std::invalid_argument naming the bad value (graph, sizes, rates) or std::bad_alloc.
  Model(GraphSpec graph, std::unique_ptr<Backend<T>> backend, std::uint64_t seed);
  Model(Index n_inputs, std::vector<LayerSpec> layers, std::unique_ptr<Backend<T>> backend,
        std::uint64_t seed);

  Index n_inputs() const { return m_n_inputs; }
  Index n_outputs() const { return m_n_outputs; }
  const std::vector<Index>& output_widths() const { return m_output_widths; }
  Index n_params() const { return m_n_params; }
  Index n_stats() const { return m_n_stats; }
  std::size_t n_layers() const { return m_layers.size(); }
  const LayerSpec& layer_spec(std::size_t i) const { return m_specs.at(check_layer(i)); }
  /// Output width of layer i's first application. Throws std::out_of_range for a bad i.
  Index width(std::size_t i) const { return m_layer_width.at(check_layer(i)); }
  /// Layer i's weights in Keras's order.
  const std::vector<WeightSpec>& layer_weights(std::size_t i) const {
    return m_weights.at(check_layer(i));
  }
  /// Offset of layer i's first parameter in the parameter buffer (-1 if none), and of its first
  /// state value in the stats buffer (-1 if none).
  Index param_offset(std::size_t i) const { return m_param_offset.at(check_layer(i)); }
  Index stats_offset(std::size_t i) const { return m_stats_offset.at(check_layer(i)); }
  Backend<T>& backend() { return *m_backend; }
  Rng& rng() { return m_rng; }
  /// Noise of training step k is drawn from (node seed, counter k).
  std::uint64_t dropout_counter() const { return m_dropout_counter; }
  std::uint64_t dropout_seed() const { return m_dropout_seed; }
  void set_dropout_stream(std::uint64_t seed, std::uint64_t counter) {
    m_dropout_seed = seed;
    m_dropout_counter = counter;
  }

  /// Draws weight j of layer i from the initialiser.
  void initialize(std::size_t i, std::size_t j, const Initializer& init);
  /// Draws a Dense-like layer's first two weights (kernel, bias when it has one).
  void initialize(std::size_t i, const Initializer& kernel, const Initializer& bias);
  void get_params(T* host_out) const;
  void set_params(const T* host_in);
  void get_stats(T* host_out) const;
  void set_stats(const T* host_in);

  /// Keras's trainable for layer i; it takes effect at the next compile, as in Keras.
  void set_trainable(std::size_t i, bool trainable) {
    m_trainable_next.at(check_layer(i)) = trainable;
  }
  bool trainable(std::size_t i) const { return m_trainable_next.at(check_layer(i)); }
  /// Parameters the optimizer updates (those of layers trainable at the last compile).
  Index n_trainable_params() const { return m_n_trainable; }

  /// Sets one loss per output, the optimizer, and resets the optimizer state.
  void compile(std::vector<OutputLoss> outputs, const OptimizerConfig& optimizer);
  /// A single-output compile.
  void compile(const LossSpec& loss, const OptimizerConfig& optimizer, std::vector<Metric> metrics);
  bool compiled() const { return m_compiled; }
  const std::vector<OutputLoss>& losses() const { return m_losses; }
  const OptimizerConfig& optimizer() const { return m_optimizer; }
  /// Rows of the targets: per output 1 for sparse labels, its width otherwise.
  Index n_targets() const;
  /// Throws std::invalid_argument naming the first sparse label (targets (n_targets, n)) that is
  /// not an integer class of its output.
  void check_targets(const T* Y, Index n) const;
  Index n_state() const { return m_optimizer.n_slots() * m_n_trainable; }
  std::int64_t iterations() const { return m_step; }
  /// Throws std::invalid_argument for a negative count (Adam's bias correction needs t >= 1).
  void set_iterations(std::int64_t step);
  void get_state(T* host_out) const;
  /// Throws std::invalid_argument, changing nothing, for a non-finite value or a negative
  /// second moment (Adam's v, RMSprop's v, Adagrad's accumulator), which would make the next
  /// step NaN.
  void set_state(const T* host_in);
  /// Learning rate of the next step.
  double current_learning_rate() const { return m_optimizer.learning_rate.at(m_step); }
  void set_learning_rate(const Schedule& s) { m_optimizer.learning_rate = s; }
  /// New hyperparameters for the compiled optimizer, read from the next step on (Keras reads
  /// them at every step). The slots stay: std::invalid_argument, changing nothing, when cfg is
  /// invalid, or has another kind or slot layout (use_ema, amsgrad, centered, momentum
  /// turned on or off), which need a new compile.
  void set_optimizer(const OptimizerConfig& cfg);

  /// Forward pass; returns the outputs (n_outputs, batch) in device memory, valid until the next
  /// call. X is (n_inputs, batch) device memory. Noise layers are active only when training.
  const T* forward(const T* X, Index batch, bool training);
  /// One optimizer step on a batch; adds batch sums into acc (device doubles, see kAcc*).
  /// w (1, batch), when given, weights each sample's loss and its gradient (Keras's
  /// sample_weight), and the weighted metrics.
  void train_batch(const T* X, const T* Y, Index batch, double* acc, const T* w = nullptr);
  /// One optimizer step on a batch split as plan says (model_parallel.cpp). X (n_in, batch),
  /// Y (n_y, batch) and w (1, batch) are the whole batch's, as train_batch's, or with
  /// plan.own_data this process's shard of the global batch (device memory). acc holds
  /// plan.shards blocks of n_acc() doubles: each shard computed here adds its sums into its
  /// block, the weight penalties go into block 0. The gradient is the sum, in shard order, of
  /// every shard's gradient of the loss over the global batch (Keras's mean over
  /// plan.global(batch) samples); plan.collective gathers the shards other processes
  /// computed. Each shard draws its own noise (dropout) stream.
  void train_shards(const T* X, const T* Y, Index batch, double* acc, const T* w,
                    const ShardPlan& plan);
  /// Loss and metric sums of a batch without updating, added into acc.
  void test_batch(const T* X, const T* Y, Index batch, double* acc, const T* w = nullptr);
  /// Size of the accumulator train_batch and test_batch write.
  Index n_acc() const;
  /// Every output's metric results (metric_result) from a host copy of the accumulator, in
  /// output and metric order, appended to out.
  void metric_results(const double* acc, std::vector<double>& out) const;

  // A custom training loop (model_tape.cpp): a recorded forward pass, the gradient of losses of
  // its outputs, and optimizer steps with gradients and slots the caller holds.
  /// forward() on a copy of X (host (n_inputs, batch)) that stays valid for tape_gradient;
  /// returns the outputs (n_outputs, batch) in device memory.
  const T* tape_forward(const T* X, Index batch, bool training);
  /// Samples of the last tape_forward (0 before any).
  Index tape_batch() const { return m_tape_batch; }
  /// Rows of the targets tape_gradient takes for these losses; throws std::invalid_argument
  /// naming a bad output index, coefficient or divisor.
  Index tape_target_rows(const std::vector<TapeLoss>& losses) const;
  /// Counts forward passes: tape_gradient needs the last one to be a tape_forward.
  std::uint64_t forward_id() const { return m_forward_id; }
  /// Counts writes of the parameters (set_params, initialize, train_batch, apply_gradients).
  std::uint64_t params_version() const { return m_params_version; }
  /// Gradients of Σ_t losses[t] + Σ_o ⟨dY_o, output_o⟩ + Σ_(l, c) c · penalty_l at the last
  /// tape_forward, into the gradient buffer (get_grads; zero for layers not reached). Y is host
  /// (Σ_t target rows of t, batch), w host or null: per term a row of batch weights (row-major
  /// (n_terms, batch)), dY host (n_outputs, batch) or null; wanted[i]: layer i's parameter
  /// gradients are needed; dX host (n_inputs, batch): the inputs' gradient, when not null. Throws
  /// std::invalid_argument naming a bad value. activity: (node, c), c times the node's activity
  /// penalty (activity_values) joins the sum.
  void tape_gradient(const std::vector<TapeLoss>& losses, const T* Y, const T* w, const T* dY,
                     const std::vector<std::pair<Index, double>>& penalties,
                     const std::vector<bool>& wanted, T* dX,
                     const std::vector<std::pair<Index, double>>& activity = {});
  /// The nodes whose layer has an activity regulariser, in node order.
  const std::vector<Index>& activity_nodes() const { return m_activity_nodes; }
  /// Each activity node's penalty (l1·Σ|out| + l2·Σ out²) / batch at the last tape_forward, in
  /// activity_nodes order, into host out.
  void activity_values(double* out);
  void get_grads(T* host_out) const;
  /// One step of cfg at iteration step (its learning rate there) on each update's parameters.
  void apply_gradients(const OptimizerConfig& cfg, std::int64_t step,
                       const std::vector<HandUpdate<T>>& updates);

 private:
  struct Node {
    Index layer;
    std::vector<Index> inputs;
    int training = -1;
    Index width = 0;
    std::uint64_t application = 0;  // how many earlier nodes apply the same layer
    Buffer<T> out, work, d;
    std::vector<const T*> in;  // views of the last forward
    std::vector<T*> d_in;      // where its backward writes the inputs' gradients
    const T* value = nullptr;  // its output in the last forward
  };
  std::size_t check_layer(std::size_t i) const {
    if (i >= m_layers.size())
      throw std::out_of_range("Layer index " + std::to_string(i) +
                              " is out of range: the model has " + std::to_string(m_layers.size()) +
                              " layers.");
    return i;
  }
  /// Throws std::invalid_argument naming the first label in row `row` of Y (rows, n) that is
  /// not an integer class in [0, classes).
  static void check_labels(const T* Y, Index rows, Index row, Index n, Index classes);
  Node& node_of(Index id) { return m_nodes[static_cast<std::size_t>(id - m_n_in)]; }
  Index value_width(Index id) const;
  void plan(const GraphSpec& g);
  void plan_backward();
  void plan_constraints();
  /// Applies the constraints of trainable weights lying inside parameters [first, last).
  void apply_constraints(Index first, Index last);
  void reserve(Index batch);
  ForwardArgs<T> forward_args(Node& n, Index batch, bool training);
  /// The losses divide by `mean_over` samples: batch, or for a shard the whole batch's.
  void loss_and_metrics(const T* Y, Index batch, double* acc, bool with_grad, const T* w,
                        Index mean_over);
  void penalty(double weight, double* acc, bool with_grad);
  /// The activity penalties of the last forward pass (their loss terms over mean_over samples,
  /// as the losses') into acc[kAccPenalty] times mean_over, their gradients into the nodes' d
  /// buffers with grad (after the losses').
  void activity(Index batch, double* acc, bool with_grad, Index mean_over);
  /// coef / divisor times node k's activity sum of the last forward pass (batch samples),
  /// times weight, into *acc; its gradient into the node's d where need (per value id) says.
  void add_activity(std::size_t k, Index batch, double coef, double divisor, double weight,
                    double* acc, const std::vector<bool>* need);
  /// The end of a training step, after the gradients: clipping, the optimizer, constraints.
  void apply_step();
  /// After backward: the layers it did not reach get a zero gradient (not an older one).
  void zero_unreached_grads();
  /// Keras's clipnorm (each range of grads on its own) or global_clipnorm (all of them).
  void clip_gradients(const OptimizerConfig& cfg, T* grads,
                      const std::vector<std::pair<Index, Index>>& ranges);
  /// need: per value id, its gradient is wanted; fused: per output, its loss took logits.
  void backward(Index batch, const std::vector<bool>& need, const std::vector<bool>& fused);
  T* d_target(Index id, std::size_t slot, const std::vector<bool>& need);
  /// Adds grad (n values) into value id's gradient unless it was written there in place.
  void add_gradient(Index id, const T* grad, Index n);
  T* d_buffer(Index id) {
    return id < m_n_in ? m_in_grad[static_cast<std::size_t>(id)].data() : node_of(id).d.data();
  }
  /// need: per value id, whether a layer with wanted[layer] (and parameters), or an input
  /// when `inputs`, lies upstream of it.
  void mark_needs(const std::vector<bool>& wanted, bool inputs, std::vector<bool>& need) const;
  // tape_gradient's steps (model_tape.cpp); check_tape returns the target rows.
  Index check_tape(const std::vector<TapeLoss>& losses, const T* Y,
                   const std::vector<std::pair<Index, double>>& penalties,
                   const std::vector<bool>& wanted) const;
  void seed_tape_losses(const std::vector<TapeLoss>& losses, Index y_rows, bool weighted,
                        bool with_dy);
  void add_tape_penalties(const std::vector<std::pair<Index, double>>& penalties);
  void copy_input_gradient(T* dX);
  /// Whether output o's loss may take its layer's logits (a value only the loss consumes).
  LossSpec fusable_loss(std::size_t o, const LossSpec& loss);

  // First, so that every buffer below is freed while the backend still exists.
  std::unique_ptr<Backend<T>> m_backend;
  Index m_n_in = 0, m_n_inputs = 0, m_n_outputs = 0;
  std::vector<Index> m_input_widths, m_outputs, m_output_widths;
  std::vector<LayerSpec> m_specs;
  std::vector<std::unique_ptr<Layer<T>>> m_layers;
  std::vector<std::vector<WeightSpec>> m_weights;
  std::vector<Index> m_layer_width, m_param_offset, m_param_size, m_stats_offset;
  std::vector<bool> m_trainable_next;
  std::vector<Node> m_nodes;
  std::vector<Index> m_consumers;  // per value id: uses as a node input or output
  std::vector<bool> m_needs_grad;  // per value id: some trainable parameter is upstream
  Index m_n_params = 0, m_n_stats = 0, m_n_trainable = 0;
  std::vector<std::pair<Index, Index>> m_segments;     // trainable (offset, size) ranges
  std::vector<std::pair<Index, Index>> m_variables;    // each trainable weight's (offset, size)
  Buffer<double> m_norms;                              // clipnorm's squared norms, one per variable
  std::vector<std::pair<Index, Index>> m_hand_ranges;  // apply_gradients' variables
  struct ConstrainedWeight {
    std::size_t layer = 0;
    Index offset = 0, outer = 1, reduce = 1, inner = 1;  // Keras's shape around the axis
    Constraint c;
  };
  std::vector<ConstrainedWeight> m_constraints;
  Rng m_rng;
  std::uint64_t m_dropout_seed;
  std::uint64_t m_dropout_counter = 0;

  Buffer<T> m_params, m_grads, m_state, m_stats;

  bool m_compiled = false;
  std::vector<OutputLoss> m_losses;
  std::vector<bool> m_fused;  // per output: the loss takes its layer's logits
  std::vector<LossSpec> m_fused_loss;
  std::vector<std::vector<Buffer<T>>> m_thresholds;  // per output and metric, its list as T
  std::vector<Buffer<T>> m_class_alpha;              // per output, its loss's class_alpha as T
  OptimizerConfig m_optimizer;
  std::int64_t m_step = 0;

  // Workspace for up to m_capacity samples.
  Index m_capacity = 0;
  std::vector<Buffer<T>> m_in_split, m_y_split, m_tmp;
  Buffer<T> m_out_cat, m_per_sample, m_tmp_grads;
  Buffer<T> m_shard_grads;         // train_shards' staging (model_parallel.cpp)
  std::vector<const T*> m_values;  // per value id, the last forward's
  std::vector<bool> m_written, m_layer_written;
  bool m_forced_training = false;  // some node is always in training mode

  // Custom loops: the recorded input, the inputs' gradients and staging for host arguments.
  std::uint64_t m_forward_id = 0, m_params_version = 0, m_tape_id = 0;
  Index m_tape_batch = 0;
  Buffer<T> m_tape_x, m_tape_y, m_tape_yt, m_tape_w, m_tape_dy, m_tape_dx, m_hand_state;
  Buffer<T> m_tape_alpha;  // the tape losses' class_alpha, one after another
  std::vector<T> m_tape_alpha_host;
  std::vector<Buffer<T>> m_in_grad;
  std::vector<bool> m_tape_need, m_tape_fused;
  std::vector<int> m_tape_terms;
  Buffer<double> m_tape_acc;
  Buffer<double> m_activity_acc;  // activity_values' sums, one per activity node
  std::vector<Index> m_activity_nodes;
  std::vector<double> m_activity_zeros;  // as many as activity nodes: clears m_activity_acc
};

extern template class Model<float>;
extern template class Model<double>;

}  // namespace eigennet
