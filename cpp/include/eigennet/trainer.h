#pragma once
// Whole passes over a data set in one C++ call: a training epoch (shuffle, then for every batch
// forward, loss, backward, update), evaluate, and predict. The data set is copied to the device
// once (not at all on the CPU) and reused for every epoch.
#include <algorithm>
#include <cstdint>
#include <functional>
#include <mutex>
#include <vector>

#include "eigennet/model.h"

namespace eigennet {

/// Running totals reported to a progress function and returned at the end of a pass.
struct PassResult {
  Index samples = 0;  // samples processed
  Index batches = 0;  // batches processed
  double loss = 0.0;  // mean loss (regularisation included) over processed samples
  // With several outputs each output's mean loss first, then every output's metric results in
  // order (metric_result_size values each).
  std::vector<double> metrics;
  std::vector<double> sums;  // the accumulator the results come from (Model::n_acc values)
  bool stopped = false;      // the progress function asked to stop
};

/// Called at most every `interval` seconds and after the last batch; returning false stops the
/// pass after the current batch (used for Ctrl-C and callbacks).
using ProgressFn = std::function<bool(const PassResult&)>;

/// Inputs (n_inputs, n) and targets (n_targets, n) resident on the model's device.
template <typename T>
class DataSet {
 public:
  /// x and y are host memory; y may be null (predict only). They must outlive the DataSet when
  /// the device is the host (no copy is made then).
  DataSet(Device& device, const T* x, Index n_inputs, const T* y, Index n_targets, Index n);
  /// Per-sample loss weights w (n, host memory), copied to the device as a row (1, n).
  void set_sample_weights(Device& device, const T* w);
  const T* x() const { return m_x; }
  const T* y() const { return m_y; }
  const T* weights() const { return m_w.size() ? m_w.data() : nullptr; }
  Index size() const { return m_n; }
  Index n_inputs() const { return m_n_inputs; }
  Index n_targets() const { return m_n_targets; }

 private:
  Buffer<T> m_x_copy, m_y_copy, m_w;
  const T* m_x;
  const T* m_y;
  Index m_n_inputs, m_n_targets, m_n;
};

template <typename T>
class Trainer {
 public:
  explicit Trainer(Model<T>& model);

  /// One epoch over data in batches of batch_size (the last may be short), each batch split as
  /// plan says (Model::train_shards). With a collective every process passes the same data
  /// (with plan.own_data: as many samples of its own) and takes the same batches, which is
  /// checked first; the sums behind the result, and behind the progress reports when interval
  /// is 0 (else this process's shards alone), are over every process's shards.
  PassResult fit_epoch(const DataSet<T>& data, Index batch_size, bool shuffle,
                       const ProgressFn& progress = {}, double interval = 0.1,
                       const ShardPlan& plan = {});
  /// Mean loss and metrics over data. With a plan, which must have a collective and own_data,
  /// every process evaluates its own data (of any size) and the result is over all of it; the
  /// progress reports are then this process's alone.
  PassResult evaluate(const DataSet<T>& data, Index batch_size, const ProgressFn& progress = {},
                      double interval = 0.1, const ShardPlan& plan = {});
  /// Writes outputs (n_outputs, n) to host memory `out`; returns false if stopped. With
  /// `training`, dropout is active (Keras's `model(x, training=True)`).
  bool predict(const DataSet<T>& data, Index batch_size, T* out, const ProgressFn& progress = {},
               double interval = 0.1, bool training = false);

  /// Serialises passes on one model: concurrent callers wait their turn.
  std::mutex& mutex() { return m_mutex; }

 private:
  template <typename Step>
  PassResult run(const DataSet<T>& data, Index batch_size, const std::int64_t* order, Step step,
                 const ProgressFn& progress, double interval, bool gather_progress);
  /// The result from the accumulator's blocks, added in shard order, over the `local` samples
  /// this process computed; when `gather`, first gathered from the other processes, and over
  /// all the `samples` of the steps (or with own data, every process's).
  PassResult summarize(Index samples, Index local, Index batches, bool gather);
  /// Throws, on every process alike, unless all pass data of n samples, the same batch_size
  /// and shuffle.
  void check_same_pass(Index n, Index batch_size, bool shuffle);

  Model<T>& m_model;
  ShardPlan m_plan;  // of the running fit_epoch; one shard otherwise
  Buffer<double> m_acc;
  Buffer<std::int64_t> m_order;
  Buffer<std::int64_t> m_identity;  // 0, 1, 2, ...: in-order gathers on a device
  Buffer<T> m_xb, m_yb, m_wb;
  std::vector<double> m_host_acc;
  std::vector<std::int64_t> m_gathered;  // one block per process
  std::mutex m_mutex;
};

extern template class Trainer<float>;
extern template class Trainer<double>;

}  // namespace eigennet
