// Data-parallel training steps (Model::train_shards through Trainer::fit_epoch): one shard is
// train_batch bit for bit, k shards sum to the whole batch's gradient, and two "processes"
// (threads, each with its own model, joined by an in-memory Collective) reach the weights and
// logs of the shards computed in turn, bit for bit, with dropout, shuffling and a short batch;
// processes that each pass their own rows of every batch reach them too, and evaluate gathers
// every process's own data.
#include <gtest/gtest.h>

#include <condition_variable>
#include <cstring>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "eigennet/model.h"
#include "eigennet/trainer.h"
#include "test_backends.h"
#include "test_util.h"

namespace eigennet {
namespace {

/// Ranks of one process joined through shared memory: each allgather waits for every rank.
class Room {
 public:
  explicit Room(Index size) : m_size(size), m_blocks(static_cast<std::size_t>(size)) {}
  void allgather(Index rank, void* all, std::size_t bytes) {
    std::unique_lock<std::mutex> lock(m_mutex);
    const std::uint64_t round = m_round;
    auto* mine = static_cast<unsigned char*>(all) + rank * bytes;
    m_blocks[static_cast<std::size_t>(rank)].assign(mine, mine + bytes);
    if (++m_arrived == m_size) {
      m_arrived = 0;
      m_done = m_blocks;
      ++m_round;
      m_cv.notify_all();
    } else {
      m_cv.wait(lock, [&] { return m_round != round; });
    }
    for (Index r = 0; r < m_size; ++r)
      std::memcpy(static_cast<unsigned char*>(all) + r * bytes,
                  m_done[static_cast<std::size_t>(r)].data(), bytes);
  }
  /// Through allgather: every process's whole send buffer, then each takes its block.
  void alltoall(Index rank, const void* send, void* recv, std::size_t bytes) {
    std::vector<unsigned char> all(static_cast<std::size_t>(m_size) * m_size * bytes);
    const std::size_t row = static_cast<std::size_t>(m_size) * bytes;
    std::memcpy(all.data() + rank * row, send, row);
    allgather(rank, all.data(), row);
    for (Index r = 0; r < m_size; ++r)
      std::memcpy(static_cast<unsigned char*>(recv) + r * bytes,
                  all.data() + r * row + rank * bytes, bytes);
  }

 private:
  Index m_size, m_arrived = 0;
  std::uint64_t m_round = 0;
  std::vector<std::vector<unsigned char>> m_blocks, m_done;
  std::mutex m_mutex;
  std::condition_variable m_cv;
};

class RoomCollective final : public Collective {
 public:
  RoomCollective(Room& room, Index rank, Index size) : m_room(room), m_rank(rank), m_size(size) {}
  Index rank() const override { return m_rank; }
  Index size() const override { return m_size; }
  void allgather(void* all, std::size_t bytes) override { m_room.allgather(m_rank, all, bytes); }
  void alltoall(const void* send, void* recv, std::size_t bytes) override {
    m_room.alltoall(m_rank, send, recv, bytes);
  }

 private:
  Room& m_room;
  Index m_rank, m_size;
};

struct Outcome {
  std::vector<double> params;
  std::vector<double> losses, accuracies;
};

constexpr Index kInputs = 5, kClasses = 3, kSamples = 61;

/// The samples a run passes (all kSamples when empty), its batch size and shuffle.
struct Feed {
  std::vector<Index> rows;
  Index batch = 16;
  bool shuffle = true;
};

template <typename T>
std::unique_ptr<Model<T>> classifier(test::DeviceKind device, double rate) {
  LayerSpec hidden = dense_spec(7, Activation::Tanh);
  hidden.nums = {{"l1", 0.0}, {"l2", 0.01}};
  auto model = std::make_unique<Model<T>>(
      kInputs,
      std::vector<LayerSpec>{hidden, dropout_spec(rate), dense_spec(kClasses, Activation::Softmax)},
      test::model_backend<T>(device), 5);
  Model<T>& m = *model;
  for (std::size_t i = 0; i < m.n_layers(); ++i)
    if (m.param_offset(i) >= 0)
      m.initialize(i, Initializer::from_name("glorot_uniform"), Initializer::from_name("zeros"));
  OptimizerConfig adam;
  adam.kind = OptimizerKind::Adam;
  adam.learning_rate.initial = 0.05;
  m.compile(LossKind::SparseCategoricalCrossentropy, adam, {MetricKind::SparseCategoricalAccuracy});
  return model;
}

/// Inputs (kInputs, n), labels and sample weights (n) of the given rows of the samples.
template <typename T>
struct Samples {
  explicit Samples(std::vector<Index> rows) {
    if (rows.empty())
      for (Index i = 0; i < kSamples; ++i) rows.push_back(i);
    const std::vector<T> all = test::uniform<T>(kInputs * kSamples, -1, 1, 3);
    for (Index i : rows) {
      x.insert(x.end(), all.begin() + i * kInputs, all.begin() + (i + 1) * kInputs);
      y.push_back(static_cast<T>((i * 7) % kClasses));
      w.push_back(static_cast<T>(0.5 + (i % 4) * 0.25));
    }
  }
  Index size() const { return static_cast<Index>(y.size()); }
  std::vector<T> x, y, w;
};

template <typename T>
Outcome train(const ShardPlan& plan, bool plain, test::DeviceKind device, double rate,
              const Feed& feed = {}) {
  const std::unique_ptr<Model<T>> model = classifier<T>(device, rate);
  Model<T>& m = *model;
  const Samples<T> s(feed.rows);
  DataSet<T> data(m.backend(), s.x.data(), kInputs, s.y.data(), 1, s.size());
  data.set_sample_weights(m.backend(), s.w.data());
  Trainer<T> trainer(m);
  Outcome run;
  for (int epoch = 0; epoch < 3; ++epoch) {
    // 61 = 4 · 16 - 3: a short last batch of 13 samples.
    const PassResult r = plain ? trainer.fit_epoch(data, feed.batch, feed.shuffle)
                               : trainer.fit_epoch(data, feed.batch, feed.shuffle, {}, 0.1, plan);
    run.losses.push_back(r.loss);
    run.accuracies.push_back(r.metrics.at(0));
  }
  std::vector<T> p(static_cast<std::size_t>(m.n_params()));
  m.get_params(p.data());
  run.params.assign(p.begin(), p.end());
  return run;
}

ShardPlan local(Index shards) {
  ShardPlan p;
  p.shards = shards;
  p.count = shards;
  return p;
}

template <typename Param>
class ParallelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!test::device_present(Param::device)) GTEST_SKIP() << "no CUDA backend or no GPU";
  }
};
TYPED_TEST_SUITE(ParallelTest, test::Backends, test::BackendNames);

TYPED_TEST(ParallelTest, OneShardIsTrainBatch) {
  using T = typename TypeParam::Scalar;
  ShardPlan one = local(1);
  Room room(1);
  RoomCollective alone(room, 0, 1);
  one.collective = &alone;  // split() is true: train_shards runs, with one shard
  if (TypeParam::device != test::DeviceKind::Cpu) one.collective = nullptr;
  const Outcome a = train<T>({}, true, TypeParam::device, 0.3);
  const Outcome b = train<T>(one, false, TypeParam::device, 0.3);
  EXPECT_EQ(a.params, b.params);
  EXPECT_EQ(a.losses, b.losses);
  EXPECT_EQ(a.accuracies, b.accuracies);
}

TYPED_TEST(ParallelTest, ShardsSumToTheBatchGradient) {
  using T = typename TypeParam::Scalar;
  const double tol = std::is_same_v<T, double> ? 1e-12 : 2e-5;
  const Outcome a = train<T>({}, true, TypeParam::device, 0.0);
  for (Index shards : {2, 3, 20}) {  // 20 > 13: the short batch leaves some shards empty
    const Outcome b = train<T>(local(shards), false, TypeParam::device, 0.0);
    for (std::size_t i = 0; i < a.params.size(); ++i)
      EXPECT_NEAR(a.params[i], b.params[i], tol * (1 + std::abs(a.params[i]))) << shards;
    for (std::size_t e = 0; e < a.losses.size(); ++e) {
      EXPECT_NEAR(a.losses[e], b.losses[e], tol * a.losses[e]) << shards;
      EXPECT_EQ(a.accuracies[e], b.accuracies[e]) << shards;
    }
  }
}

/// Runs f(rank, plan) for every rank of `size` threads joined by one Room.
template <typename F>
void in_processes(Index size, bool own_data, F f) {
  Room room(size);
  std::vector<std::thread> threads;
  for (Index r = 0; r < size; ++r)
    threads.emplace_back([&, r] {
      RoomCollective c(room, r, size);
      ShardPlan p;
      p.shards = size;
      p.first = r;
      p.collective = &c;
      p.own_data = own_data;
      f(r, p);
    });
  for (auto& t : threads) t.join();
}

TEST(Parallel, ProcessesEqualShardsComputedInTurn) {
  for (Index size : {2, 3, 4}) {  // 66 parameters: 4 chunks of 17, the last padded
    const Outcome in_turn = train<double>(local(size), false, test::DeviceKind::Cpu, 0.3);
    std::vector<Outcome> runs(static_cast<std::size_t>(size));
    in_processes(size, false, [&](Index r, const ShardPlan& p) {
      runs[static_cast<std::size_t>(r)] = train<double>(p, false, test::DeviceKind::Cpu, 0.3);
    });
    for (const Outcome& r : runs) {
      EXPECT_EQ(r.params, in_turn.params) << size;
      EXPECT_EQ(r.losses, in_turn.losses) << size;
      EXPECT_EQ(r.accuracies, in_turn.accuracies) << size;
    }
  }
}

TEST(Parallel, OwnDataEqualsTheirRowsOfEveryBatch) {
  // 60 = 3 · 16 + 12: every global batch, the short one too, splits evenly between 2 or 4.
  Feed whole;
  for (Index i = 0; i < 60; ++i) whole.rows.push_back(i);
  whole.shuffle = false;
  for (Index size : {2, 4}) {
    const Outcome in_turn = train<double>(local(size), false, test::DeviceKind::Cpu, 0.3, whole);
    std::vector<Outcome> runs(static_cast<std::size_t>(size));
    in_processes(size, true, [&](Index r, const ShardPlan& p) {
      Feed own;  // rank r's rows of every global batch
      own.shuffle = false;
      own.batch = 16 / size;
      for (Index start = 0; start < 60; start += 16) {
        const Index per = std::min<Index>(16, 60 - start) / size;
        for (Index i = start + r * per; i < start + (r + 1) * per; ++i) own.rows.push_back(i);
      }
      runs[static_cast<std::size_t>(r)] = train<double>(p, false, test::DeviceKind::Cpu, 0.3, own);
    });
    for (const Outcome& r : runs) {
      EXPECT_EQ(r.params, in_turn.params) << size;
      EXPECT_EQ(r.losses, in_turn.losses) << size;
      EXPECT_EQ(r.accuracies, in_turn.accuracies) << size;
    }
  }
}

TEST(Parallel, EvaluateGathersEveryProcessesOwnData) {
  const std::unique_ptr<Model<double>> one = classifier<double>(test::DeviceKind::Cpu, 0.0);
  const Samples<double> all({});
  DataSet<double> data(one->backend(), all.x.data(), kInputs, all.y.data(), 1, all.size());
  data.set_sample_weights(one->backend(), all.w.data());
  const PassResult whole = Trainer<double>(*one).evaluate(data, 7);
  std::vector<PassResult> parts(3);
  in_processes(3, true, [&](Index r, const ShardPlan& p) {
    const std::unique_ptr<Model<double>> m = classifier<double>(test::DeviceKind::Cpu, 0.0);
    std::vector<Index> rows;  // 61 = 25 + 20 + 16 rows: unequal parts, unequal steps
    for (Index i = r == 0 ? 0 : r == 1 ? 25 : 45; i < (r == 0 ? 25 : r == 1 ? 45 : 61); ++i)
      rows.push_back(i);
    const Samples<double> s(rows);
    DataSet<double> d(m->backend(), s.x.data(), kInputs, s.y.data(), 1, s.size());
    d.set_sample_weights(m->backend(), s.w.data());
    parts[static_cast<std::size_t>(r)] = Trainer<double>(*m).evaluate(d, 7, {}, 0.1, p);
  });
  for (const PassResult& r : parts) {
    EXPECT_EQ(r.samples, kSamples);
    EXPECT_NEAR(r.loss, whole.loss, 1e-13 * whole.loss);
    EXPECT_EQ(r.metrics, whole.metrics);  // the accuracy: a count over all 61
  }
}

TEST(Parallel, UnequalProcessesThrowOnEveryOne) {
  std::vector<int> threw(2, 0);
  in_processes(2, true, [&](Index r, const ShardPlan& p) {
    Feed own;
    for (Index i = 0; i < 20 + r; ++i) own.rows.push_back(i);  // 20 and 21 samples
    try {
      train<double>(p, false, test::DeviceKind::Cpu, 0.0, own);
    } catch (const std::invalid_argument& e) {
      threw[static_cast<std::size_t>(r)] =
          std::string(e.what()).find("process 0: (20, 16, 1), process 1: (21, 16, 1)") !=
          std::string::npos;
    }
  });
  EXPECT_EQ(threw, std::vector<int>({1, 1}));
}

TEST(Parallel, BadPlansThrow) {
  Model<double> m(2, {dense_spec(1)}, make_cpu_backend<double>(), 1);
  OptimizerConfig sgd;
  m.compile(LossKind::MeanSquaredError, sgd, {});
  const std::vector<double> x(8, 0.5), y(4, 1.0);
  std::vector<double> acc(static_cast<std::size_t>(m.n_acc() * 4), 0.0);
  ShardPlan p = local(2);
  p.first = 1;  // shards [1, 3) of 2
  EXPECT_THROW(m.train_shards(x.data(), y.data(), 4, acc.data(), nullptr, p),
               std::invalid_argument);
  Room room(2);
  RoomCollective c(room, 1, 2);
  p = local(2);
  p.collective = &c;  // a collective with two shards computed here
  EXPECT_THROW(m.train_shards(x.data(), y.data(), 4, acc.data(), nullptr, p),
               std::invalid_argument);
  p = local(1);
  p.own_data = true;  // its own data, but no processes to gather
  EXPECT_THROW(m.train_shards(x.data(), y.data(), 4, acc.data(), nullptr, p),
               std::invalid_argument);
  DataSet<double> data(m.backend(), x.data(), 2, y.data(), 1, 4);
  EXPECT_THROW(Trainer<double>(m).evaluate(data, 2, {}, 0.1, local(2)), std::invalid_argument);
}

}  // namespace
}  // namespace eigennet
