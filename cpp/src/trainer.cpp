#include "eigennet/trainer.h"

#include <chrono>
#include <stdexcept>
#include <vector>

namespace eigennet {

template <typename T>
DataSet<T>::DataSet(Device& device, const T* x, Index n_inputs, const T* y, Index n_targets,
                    Index n)
    : m_x(x), m_y(y), m_n_inputs(n_inputs), m_n_targets(n_targets), m_n(n) {
  if (n <= 0)
    throw std::invalid_argument("A data set needs at least one sample, got " + std::to_string(n));
  if (device.is_host()) return;
  m_x_copy = Buffer<T>(device, n_inputs * n);
  device.copy_to_device(m_x_copy.data(), x, m_x_copy.bytes());
  m_x = m_x_copy.data();
  if (y) {
    m_y_copy = Buffer<T>(device, n_targets * n);
    device.copy_to_device(m_y_copy.data(), y, m_y_copy.bytes());
    m_y = m_y_copy.data();
  }
}

template <typename T>
void DataSet<T>::set_sample_weights(Device& device, const T* w) {
  m_w = Buffer<T>(device, m_n);
  device.copy_to_device(m_w.data(), w, m_w.bytes());
}

namespace {

/// Holds a pass's plan for the pass only, also when it throws.
struct PlanScope {
  PlanScope(ShardPlan& held, const ShardPlan& plan) : held(held) { held = plan; }
  ~PlanScope() { held = ShardPlan{}; }
  ShardPlan& held;
};

}  // namespace

template <typename T>
Trainer<T>::Trainer(Model<T>& model) : m_model(model) {}

template <typename T>
void Trainer<T>::check_same_pass(Index n, Index batch_size, bool shuffle) {
  Collective& c = *m_plan.collective;
  const std::size_t k = 3, blocks = static_cast<std::size_t>(c.size());
  m_gathered.assign(k * blocks, 0);
  std::int64_t* mine = m_gathered.data() + k * static_cast<std::size_t>(c.rank());
  mine[0] = n;
  mine[1] = batch_size;
  mine[2] = shuffle;
  c.allgather(m_gathered.data(), sizeof(std::int64_t) * k);
  bool same = true;
  for (std::size_t i = k; i < m_gathered.size(); ++i)
    same = same && m_gathered[i] == m_gathered[i % k];
  if (same) return;
  std::string per;
  for (std::size_t r = 0; r < blocks; ++r)
    per += (r ? ", " : "") + std::string("process ") + std::to_string(r) + ": (" +
           std::to_string(m_gathered[k * r]) + ", " + std::to_string(m_gathered[k * r + 1]) + ", " +
           std::to_string(m_gathered[k * r + 2]) + ")";
  throw std::invalid_argument(
      "Every process of a data-parallel epoch passes as many samples, the same batch_size and "
      "the same shuffle. Received (samples, batch_size, shuffle) per " +
      per);
}

template <typename T>
PassResult Trainer<T>::summarize(Index samples, Index local, Index batches, bool gather) {
  Backend<T>& be = m_model.backend();
  const Index n_acc = m_model.n_acc(), blocks = m_plan.shards;
  m_host_acc.resize(static_cast<std::size_t>(n_acc * blocks));
  be.copy_to_host(m_host_acc.data(), m_acc.data(), sizeof(double) * n_acc * blocks);
  Index rows = local;  // behind the sums
  if (blocks > 1) {
    Index first = m_plan.first, last = m_plan.first + m_plan.count;
    if (m_plan.collective && gather) {
      m_plan.collective->allgather(m_host_acc.data(), sizeof(double) * n_acc);
      first = 0;
      last = blocks;
      rows = samples;
      if (m_plan.own_data) {
        m_gathered.assign(static_cast<std::size_t>(blocks), 0);
        m_gathered[static_cast<std::size_t>(m_plan.first)] = local;
        m_plan.collective->allgather(m_gathered.data(), sizeof(std::int64_t));
        rows = 0;
        for (std::int64_t r : m_gathered) rows += r;
      }
    }
    // Block `first` gathers the others, in shard order.
    double* total = m_host_acc.data() + first * n_acc;
    for (Index b = first + 1; b < last; ++b)
      for (Index k = 0; k < n_acc; ++k)
        total[k] += m_host_acc[static_cast<std::size_t>(b * n_acc + k)];
    if (first > 0) std::copy(total, total + n_acc, m_host_acc.data());
    m_host_acc.resize(static_cast<std::size_t>(n_acc));
  }
  PassResult r;
  r.samples = rows;
  r.batches = batches;
  const double n = rows > 0 ? static_cast<double>(rows) : 1.0;
  r.loss = (m_host_acc[kAccLoss] + m_host_acc[kAccPenalty]) / n;
  const Index outputs = static_cast<Index>(m_model.output_widths().size());
  const Index n_losses = outputs > 1 ? outputs : 0;
  for (Index k = kAccOutputs; k < kAccOutputs + n_losses; ++k)
    r.metrics.push_back(m_host_acc[k] / n);
  m_model.metric_results(m_host_acc.data(), r.metrics);
  r.sums = m_host_acc;
  return r;
}

template <typename T>
template <typename Step>
PassResult Trainer<T>::run(const DataSet<T>& data, Index batch_size, const std::int64_t* order,
                           Step step, const ProgressFn& progress, double interval,
                           bool gather_progress) {
  if (batch_size <= 0)
    throw std::invalid_argument("batch_size must be positive, got " + std::to_string(batch_size));
  if (data.n_inputs() != m_model.n_inputs())
    throw std::invalid_argument("Expected " + std::to_string(m_model.n_inputs()) +
                                " input features, got " + std::to_string(data.n_inputs()));
  Backend<T>& be = m_model.backend();
  const Index n = data.size(), n_in = data.n_inputs(), n_y = data.n_targets();
  batch_size = std::min(batch_size, n);
  const Index n_acc = m_model.n_acc() * m_plan.shards;  // a block per shard
  if (m_acc.size() < n_acc) m_acc = Buffer<double>(be, n_acc);
  m_host_acc.assign(static_cast<std::size_t>(n_acc), 0.0);  // reuses its capacity
  be.copy_to_device(m_acc.data(), m_host_acc.data(), sizeof(double) * n_acc);
  // On a device every batch is gathered into the same buffers, in order when not shuffling, so
  // that each step reads fixed addresses and the backend can replay a recorded step.
  if (!order && !be.is_host()) {
    if (m_identity.size() < n) {
      std::vector<std::int64_t> iota(static_cast<std::size_t>(n));
      for (Index i = 0; i < n; ++i) iota[static_cast<std::size_t>(i)] = i;
      m_identity = Buffer<std::int64_t>(be, n);
      be.copy_to_device(m_identity.data(), iota.data(), m_identity.bytes());
    }
    order = m_identity.data();
  }
  if (order && m_xb.size() < batch_size * n_in) m_xb = Buffer<T>(be, batch_size * n_in);
  if (order && data.y() && m_yb.size() < batch_size * n_y) m_yb = Buffer<T>(be, batch_size * n_y);
  if (order && data.weights() && m_wb.size() < batch_size) m_wb = Buffer<T>(be, batch_size);

  using Clock = std::chrono::steady_clock;
  auto last = Clock::now();
  Index samples = 0, local = 0, batches = 0;
  for (Index start = 0; start < n; start += batch_size) {
    const Index b = std::min(batch_size, n - start);
    be.begin_step();
    const T* xb = data.x() + start * n_in;
    const T* yb = data.y() ? data.y() + start * n_y : nullptr;
    const T* wb = data.weights() ? data.weights() + start : nullptr;
    if (order) {
      be.gather_columns(data.x(), n_in, order, start, b, m_xb.data());
      xb = m_xb.data();
      if (yb) {
        be.gather_columns(data.y(), n_y, order, start, b, m_yb.data());
        yb = m_yb.data();
      }
      if (wb) {
        be.gather_columns(data.weights(), 1, order, start, b, m_wb.data());
        wb = m_wb.data();
      }
    }
    step(xb, yb, wb, b, start);
    be.end_step();
    samples += b;
    local += m_plan.local(b);
    ++batches;
    if (progress) {
      const auto now = Clock::now();
      const bool done = start + b >= n;
      if (done || std::chrono::duration<double>(now - last).count() >= interval) {
        last = now;
        PassResult r = summarize(samples, local, batches, gather_progress && interval == 0.0);
        if (!progress(r) && !done) {
          r.stopped = true;
          return r;
        }
      }
    }
  }
  return summarize(samples, local, batches, true);
}

template <typename T>
PassResult Trainer<T>::fit_epoch(const DataSet<T>& data, Index batch_size, bool shuffle,
                                 const ProgressFn& progress, double interval,
                                 const ShardPlan& plan) {
  if (!data.y()) throw std::invalid_argument("fit needs targets y.");
  if (data.n_targets() != m_model.n_targets())
    throw std::invalid_argument("Expected " + std::to_string(m_model.n_targets()) +
                                " target columns, got " + std::to_string(data.n_targets()));
  if (plan.shards < 1 || plan.shards > kMaxShards)
    throw std::invalid_argument("A batch splits into 1 to " + std::to_string(kMaxShards) +
                                " shards, got " + std::to_string(plan.shards));
  const PlanScope scope(m_plan, plan);
  if (plan.collective) check_same_pass(data.size(), batch_size, shuffle);
  const std::int64_t* order = nullptr;
  if (shuffle) {
    if (m_order.size() < data.size())
      m_order = Buffer<std::int64_t>(m_model.backend(), data.size());
    m_model.backend().permutation(m_order.data(), data.size(), m_model.rng().next());
    order = m_order.data();
  }
  if (!plan.split()) {
    auto step = [&](const T* x, const T* y, const T* w, Index b, Index) {
      m_model.train_batch(x, y, b, m_acc.data(), w);
    };
    return run(data, batch_size, order, step, progress, interval, true);
  }
  auto step = [&](const T* x, const T* y, const T* w, Index b, Index) {
    m_model.train_shards(x, y, b, m_acc.data(), w, m_plan);
  };
  return run(data, batch_size, order, step, progress, interval, true);
}

template <typename T>
PassResult Trainer<T>::evaluate(const DataSet<T>& data, Index batch_size,
                                const ProgressFn& progress, double interval,
                                const ShardPlan& plan) {
  if (!data.y()) throw std::invalid_argument("evaluate needs targets y.");
  if (data.n_targets() != m_model.n_targets())
    throw std::invalid_argument("Expected " + std::to_string(m_model.n_targets()) +
                                " target columns, got " + std::to_string(data.n_targets()));
  if (plan.split() && !(plan.collective && plan.own_data && plan.count == 1))
    throw std::invalid_argument(
        "evaluate splits only across processes that each pass their own data.");
  const PlanScope scope(m_plan, plan);
  auto step = [&](const T* x, const T* y, const T* w, Index b, Index) {
    m_model.test_batch(x, y, b, m_acc.data() + m_plan.first * m_model.n_acc(), w);
  };
  // The processes' data may differ in size, so their steps too: only the end gathers.
  return run(data, batch_size, nullptr, step, progress, interval, false);
}

template <typename T>
bool Trainer<T>::predict(const DataSet<T>& data, Index batch_size, T* out,
                         const ProgressFn& progress, double interval, bool training) {
  const Index n_out = m_model.n_outputs();
  auto step = [&](const T* x, const T*, const T*, Index b, Index start) {
    const T* A = m_model.forward(x, b, training);
    m_model.backend().copy_to_host(out + start * n_out, A, sizeof(T) * n_out * b);
  };
  return !run(data, batch_size, nullptr, step, progress, interval, false).stopped;
}

template class DataSet<float>;
template class DataSet<double>;
template class Trainer<float>;
template class Trainer<double>;

}  // namespace eigennet
