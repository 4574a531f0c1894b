// Graph models and the layers beyond Dense: every layer's backward pass against finite
// differences of the training-mode loss, shared layers, several inputs and outputs, frozen
// layers, call-time training, and the registry's checks. Each runs on the CPU and on the CUDA
// slot (the CPU behind HostShim without a GPU).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "eigennet/model.h"
#include "eigennet/trainer.h"
#include "test_backends.h"
#include "test_util.h"

namespace eigennet {
namespace {

LayerSpec spec(const std::string& kind, std::map<std::string, std::int64_t> ints = {},
               std::map<std::string, double> nums = {},
               std::map<std::string, std::string> strs = {}) {
  LayerSpec s;
  s.kind = kind;
  s.ints = std::move(ints);
  s.nums = std::move(nums);
  s.strs = std::move(strs);
  return s;
}

LayerSpec dense(Index units, const std::string& act = "linear") {
  return spec("dense", {{"units", units}}, {}, {{"activation", act}});
}

OptimizerConfig sgd(double lr) {
  OptimizerConfig c;
  c.kind = OptimizerKind::SGD;
  c.learning_rate.initial = lr;
  return c;
}

struct GraphCase {
  const char* name;
  std::function<GraphSpec()> graph;
  std::vector<OutputLoss> losses;
  std::vector<bool> integer_inputs;  // per input: indices in [0, 5) for an Embedding
};

std::vector<OutputLoss> one(LossKind k) { return {OutputLoss{k, 1.0, {}, {}}}; }

/// Inputs (Σ widths, n), integer-valued for Embedding inputs, and targets for the losses.
template <typename T>
std::pair<std::vector<T>, std::vector<T>> data_for(const GraphCase& c, const Model<T>& m, Index n) {
  const GraphSpec g = c.graph();
  Index rows = 0;
  for (Index w : g.input_widths) rows += w;
  std::vector<T> x = test::uniform<T>(rows * n, -1, 1, 81);
  Rng rng(82);
  for (Index j = 0; j < n; ++j) {
    Index r = 0;
    for (std::size_t k = 0; k < g.input_widths.size(); ++k) {
      for (Index i = 0; i < g.input_widths[k]; ++i, ++r)
        if (k < c.integer_inputs.size() && c.integer_inputs[k])
          x[j * rows + r] = static_cast<T>(rng.below(5));
    }
  }
  std::vector<T> y;
  const Index n_t = m.n_targets();
  for (Index j = 0; j < n; ++j)
    for (std::size_t o = 0; o < c.losses.size(); ++o) {
      const Index w = m.output_widths()[o];
      if (is_sparse(c.losses[o].loss))
        y.push_back(static_cast<T>(rng.below(static_cast<std::uint64_t>(w))));
      else
        for (Index i = 0; i < w; ++i) y.push_back(static_cast<T>(rng.uniform()));
    }
  EXPECT_EQ(static_cast<Index>(y.size()), n_t * n);
  return {x, y};
}

template <typename T>
std::unique_ptr<Model<T>> build(const GraphSpec& g, test::DeviceKind device, std::uint64_t seed) {
  auto m = std::make_unique<Model<T>>(g, test::model_backend<T>(device), seed);
  for (std::size_t i = 0; i < m->n_layers(); ++i)
    for (std::size_t j = 0; j < m->layer_weights(i).size(); ++j) {
      const WeightSpec& w = m->layer_weights(i)[j];
      Initializer init = Initializer::from_name(w.state ? "ones" : "glorot_uniform");
      if (!w.state && w.shape.size() == 1) {
        init = Initializer::from_name("random_uniform");
        init.a = 0.5;
        init.b = 1.5;
      }
      m->initialize(i, j, init);
    }
  if (m->n_stats() > 0) {  // moving statistics / Normalization's: means 0.1, variances 2
    std::vector<T> stats(static_cast<std::size_t>(m->n_stats()));
    for (std::size_t i = 0; i < m->n_layers(); ++i) {
      Index o = m->stats_offset(i);
      for (const WeightSpec& w : m->layer_weights(i))
        if (w.state) {
          const bool variance = w.name.find("variance") != std::string::npos;
          for (Index k = 0; k < w.size(); ++k) stats[o + k] = variance ? T(2) : T(0.1);
          o += w.size();
        }
    }
    m->set_stats(stats.data());
  }
  return m;
}

std::vector<double> params_of(const Model<double>& m) {
  std::vector<double> p(m.n_params());
  m.get_params(p.data());
  return p;
}

class GraphGradientTest : public ::testing::TestWithParam<std::tuple<GraphCase, test::DeviceKind>> {
};

// SGD at lr = 1 moves the parameters by exactly -dL/dθ of the training-mode loss; lr = 0 gives
// that loss without moving them (noise-free layers only, so it is a function of θ).
TEST_P(GraphGradientTest, SgdStepMatchesFiniteDifferences) {
  const GraphCase& c = std::get<0>(GetParam());
  const test::DeviceKind device = std::get<1>(GetParam());
  if (!test::device_present(device)) GTEST_SKIP() << "no CUDA backend or no GPU";
  const Index n = 7;
  auto m = build<double>(c.graph(), device, 5);
  m->compile(c.losses, sgd(0.0));
  const auto [x, y] = data_for(c, *m, n);
  DataSet<double> data(m->backend(), x.data(), m->n_inputs(), y.data(), m->n_targets(), n);
  Trainer<double> trainer(*m);
  std::vector<double> theta = params_of(*m);
  auto loss = [&] {
    m->set_params(theta.data());
    return trainer.fit_epoch(data, n, false).loss;
  };
  const std::vector<double> numeric = test::numeric_gradient(loss, theta);
  m->compile(c.losses, sgd(1.0));
  m->set_params(theta.data());
  trainer.fit_epoch(data, n, false);
  const std::vector<double> after = params_of(*m);
  std::vector<double> analytic(theta.size());
  for (std::size_t i = 0; i < theta.size(); ++i) analytic[i] = theta[i] - after[i];
  test::expect_gradients_match(analytic, numeric, 1e-6, c.name);
}

// A custom loop's step (tape_forward, tape_gradient of the compiled losses with the penalties,
// apply_gradients with caller-held slots) is train_batch's update, bit for bit.
TEST_P(GraphGradientTest, TapeStepEqualsTrainBatch) {
  const GraphCase& c = std::get<0>(GetParam());
  const test::DeviceKind device = std::get<1>(GetParam());
  if (!test::device_present(device)) GTEST_SKIP() << "no CUDA backend or no GPU";
  const Index n = 6;
  OptimizerConfig adam = sgd(0.05);
  adam.kind = OptimizerKind::Adam;
  auto fitted = build<double>(c.graph(), device, 5);
  auto looped = build<double>(c.graph(), device, 5);
  fitted->compile(c.losses, adam);
  const auto [x, y] = data_for(c, *fitted, n);
  DataSet<double> data(fitted->backend(), x.data(), fitted->n_inputs(), y.data(),
                       fitted->n_targets(), n);
  Trainer<double> trainer(*fitted);
  std::vector<TapeLoss> terms;
  for (std::size_t o = 0; o < c.losses.size(); ++o)
    terms.push_back(TapeLoss{static_cast<Index>(o), c.losses[o].loss, c.losses[o].weight,
                             static_cast<double>(n), false, c.losses[o].class_alpha});
  std::vector<std::pair<Index, double>> penalties;
  for (std::size_t i = 0; i < looped->n_layers(); ++i)
    penalties.emplace_back(static_cast<Index>(i), 1.0);
  std::vector<std::pair<Index, double>> activity;  // every activity penalty, as train_batch's
  for (Index node : looped->activity_nodes()) activity.emplace_back(node, 1.0);
  const std::vector<bool> wanted(looped->n_layers(), true);
  std::vector<double> grads(looped->n_params());
  std::vector<double> slots(2 * looped->n_params(), 0.0);
  for (int step = 0; step < 3; ++step) {
    trainer.fit_epoch(data, n, false);
    looped->tape_forward(x.data(), n, true);
    looped->tape_gradient(terms, y.data(), nullptr, nullptr, penalties, wanted, nullptr, activity);
    looped->get_grads(grads.data());
    looped->apply_gradients(
        adam, step, {HandUpdate<double>{0, looped->n_params(), grads.data(), slots.data()}});
  }
  const std::vector<double> a = params_of(*fitted), b = params_of(*looped);
  for (std::size_t i = 0; i < a.size(); ++i) ASSERT_EQ(a[i], b[i]) << c.name << " " << i;
}

GraphSpec chain(Index n_in, std::vector<LayerSpec> layers) {
  return GraphSpec::chain(n_in, std::move(layers));
}

INSTANTIATE_TEST_SUITE_P(
    Layers, GraphGradientTest,
    ::testing::Combine(
        ::testing::Values(
            GraphCase{"batch_normalization",
                      [] {
                        return chain(3, {dense(4, "tanh"), spec("batch_normalization"),
                                         dense(3, "softmax")});
                      },
                      one(LossKind::SparseCategoricalCrossentropy),
                      {}},
            GraphCase{"batch_normalization_no_scale",
                      [] {
                        return chain(
                            3, {dense(4), spec("batch_normalization", {{"scale", 0}}), dense(2)});
                      },
                      one(LossKind::MeanSquaredError),
                      {}},
            GraphCase{"layer_normalization",
                      [] {
                        return chain(3, {dense(5, "elu"), spec("layer_normalization"), dense(2)});
                      },
                      one(LossKind::MeanSquaredError),
                      {}},
            GraphCase{"normalization",
                      [] {
                        return chain(3, {dense(4), spec("normalization"), dense(1, "sigmoid")});
                      },
                      one(LossKind::BinaryCrossentropy),
                      {}},
            GraphCase{"residual_add_shared",
                      // h = d(x); out = Dense(1)(h + d(h)): d applied twice, its gradients summed.
                      [] {
                        GraphSpec g;
                        g.input_widths = {3};
                        g.layers = {dense(3, "tanh"), spec("add"), dense(1)};
                        g.nodes = {{0, {0}}, {0, {1}}, {1, {1, 2}}, {2, {3}}};
                        g.outputs = {4};
                        return g;
                      },
                      one(LossKind::MeanSquaredError),
                      {}},
            GraphCase{"activity_shared",
                      // The shared Dense's activity penalty at both of its nodes, and the
                      // output's.
                      [] {
                        GraphSpec g;
                        g.input_widths = {3};
                        LayerSpec shared = dense(3, "tanh"), out = dense(2);
                        shared.nums = {{"activity_l1", 0.02}, {"activity_l2", 0.05}};
                        out.nums = {{"activity_l2", 0.1}};
                        g.layers = {shared, spec("add"), out};
                        g.nodes = {{0, {0}}, {0, {1}}, {1, {1, 2}}, {2, {3}}};
                        g.outputs = {4};
                        return g;
                      },
                      one(LossKind::MeanSquaredError),
                      {}},
            GraphCase{"focal_class_alpha",
                      [] { return chain(3, {dense(4, "tanh"), dense(3, "softmax")}); },
                      {OutputLoss{LossKind::CategoricalFocalCrossentropy, 1.0, {}, {0.3, 1.2, 0.8}}},
                      {}},
            GraphCase{"embedding_concatenate_two_inputs",
                      [] {
                        GraphSpec g;
                        g.input_widths = {3, 2};
                        g.layers = {dense(2, "relu"),
                                    spec("embedding", {{"input_dim", 5}, {"output_dim", 2}}),
                                    spec("concatenate"), dense(1, "sigmoid")};
                        g.nodes = {{0, {0}}, {1, {1}}, {2, {2, 3}}, {3, {4}}};
                        g.outputs = {5};
                        return g;
                      },
                      one(LossKind::BinaryCrossentropy),
                      {false, true}},
            GraphCase{"merges",
                      [] {
                        GraphSpec g;
                        g.input_widths = {3};
                        g.layers = {dense(2),         dense(2, "sigmoid"), spec("multiply"),
                                    spec("subtract"), spec("average"),     spec("concatenate"),
                                    dense(1)};
                        g.nodes = {{0, {0}},    {1, {0}},       {2, {1, 2}}, {3, {1, 2}},
                                   {4, {1, 2}}, {5, {3, 4, 5}}, {6, {6}}};
                        g.outputs = {7};
                        return g;
                      },
                      one(LossKind::MeanSquaredError),
                      {}},
            GraphCase{"maximum_minimum_three_inputs",
                      [] {
                        GraphSpec g;
                        g.input_widths = {3};
                        g.layers = {dense(2),        dense(2, "tanh"), dense(2, "sigmoid"),
                                    spec("maximum"), spec("minimum"),  spec("concatenate"),
                                    dense(1)};
                        g.nodes = {{0, {0}},    {1, {0}},    {2, {0}}, {3, {1, 2, 3}},
                                   {4, {1, 2}}, {5, {4, 5}}, {6, {6}}};
                        g.outputs = {7};
                        return g;
                      },
                      one(LossKind::MeanSquaredError),
                      {}},
            GraphCase{"two_outputs_weighted",
                      [] {
                        GraphSpec g;
                        g.input_widths = {3};
                        g.layers = {dense(4, "tanh"), dense(3, "softmax"), dense(1)};
                        g.nodes = {{0, {0}}, {1, {1}}, {2, {1}}};
                        g.outputs = {2, 3};
                        return g;
                      },
                      {OutputLoss{LossKind::SparseCategoricalCrossentropy, 0.3, {}, {}},
                       OutputLoss{LossKind::MeanSquaredError, 2.0, {}, {}}},
                      {}}),
        test::AllDevices()),
    [](const auto& info) {
      return std::string(std::get<0>(info.param).name) +
             test::device_suffix(std::get<1>(info.param));
    });

class GraphTest : public ::testing::TestWithParam<test::DeviceKind> {
 protected:
  void SetUp() override {
    if (!test::device_present(GetParam())) GTEST_SKIP() << "no CUDA backend or no GPU";
  }
};

TEST_P(GraphTest, FrozenLayerKeepsItsWeightsAndHasNoOptimizerState) {
  auto m = build<double>(chain(3, {dense(4, "tanh"), dense(2)}), GetParam(), 3);
  m->set_trainable(0, false);
  EXPECT_EQ(m->n_trainable_params(), 3 * 4 + 4 + 4 * 2 + 2);  // until compile
  OptimizerConfig adam = sgd(0.1);
  adam.kind = OptimizerKind::Adam;
  m->compile(LossKind::MeanSquaredError, adam, {});
  EXPECT_EQ(m->n_trainable_params(), 4 * 2 + 2);
  EXPECT_EQ(m->n_state(), 2 * (4 * 2 + 2));
  const std::vector<double> x = test::uniform<double>(3 * 8, -1, 1, 1),
                            y = test::uniform<double>(2 * 8, -1, 1, 2);
  DataSet<double> data(m->backend(), x.data(), 3, y.data(), 2, 8);
  Trainer<double> trainer(*m);
  const std::vector<double> before = params_of(*m);
  trainer.fit_epoch(data, 4, true);
  const std::vector<double> after = params_of(*m);
  for (Index i = 0; i < 16; ++i) EXPECT_EQ(after[i], before[i]) << i;
  bool moved = false;
  for (Index i = 16; i < m->n_params(); ++i) moved = moved || after[i] != before[i];
  EXPECT_TRUE(moved);
}

TEST_P(GraphTest, BatchNormalizationMovingStatisticsFollowKeras) {
  // One training step on a batch with mean μ and biased variance σ²: moving = 0.99·moving +
  // 0.01·batch (Keras's momentum); inference then normalises with the moving statistics and
  // epsilon inside the square root.
  GraphSpec g = chain(2, {spec("batch_normalization")});
  auto m = build<double>(g, GetParam(), 1);
  const std::vector<double> ones(4, 1.0), zeros(4, 0.0);
  std::vector<double> p = {1.0, 1.0, 0.0, 0.0};  // gamma, beta
  m->set_params(p.data());
  const std::vector<double> st = {0.0, 0.0, 1.0, 1.0};  // moving mean, moving variance
  m->set_stats(st.data());
  m->compile(LossKind::MeanSquaredError, sgd(0.0), {});
  const std::vector<double> x = {1, 10, 2, 20, 3, 30, 6, 60};  // feature 0: 1 2 3 6
  const std::vector<double> y(8, 0.0);
  DataSet<double> data(m->backend(), x.data(), 2, y.data(), 2, 4);
  Trainer<double> trainer(*m);
  trainer.fit_epoch(data, 4, false);
  std::vector<double> stats(4);
  m->get_stats(stats.data());
  const double mean0 = 3.0, var0 = (4 + 1 + 0 + 9) / 4.0;
  EXPECT_NEAR(stats[0], 0.01 * mean0, 1e-12);
  EXPECT_NEAR(stats[1], 0.01 * 10 * mean0, 1e-12);
  EXPECT_NEAR(stats[2], 0.99 + 0.01 * var0, 1e-12);
  EXPECT_NEAR(stats[3], 0.99 + 0.01 * 100 * var0, 1e-9);
  std::vector<double> out(8);
  trainer.predict(data, 4, out.data());
  for (int j = 0; j < 4; ++j)
    for (int r = 0; r < 2; ++r)
      EXPECT_NEAR(out[j * 2 + r], (x[j * 2 + r] - stats[r]) / std::sqrt(stats[2 + r] + 1e-3),
                  1e-12);
}

TEST_P(GraphTest, CallTimeTrainingForcesDropoutInPredict) {
  GraphSpec g = chain(64, {spec("dropout", {}, {{"rate", 0.5}})});
  g.nodes[0].training = 1;
  auto m = build<double>(g, GetParam(), 2);
  const std::vector<double> x(64, 1.0);
  DataSet<double> data(m->backend(), x.data(), 64, nullptr, 0, 1);
  Trainer<double> trainer(*m);
  std::vector<double> a(64), b(64);
  trainer.predict(data, 1, a.data());
  trainer.predict(data, 1, b.data());
  int zeros = 0;
  for (double v : a) {
    EXPECT_TRUE(v == 0.0 || v == 2.0);
    zeros += v == 0.0;
  }
  EXPECT_GT(zeros, 10);
  EXPECT_LT(zeros, 54);
  EXPECT_NE(a, b);  // a new mask per call
}

TEST_P(GraphTest, TwoOutputsReportEachLossAndTheWeightedTotal) {
  GraphSpec g;
  g.input_widths = {2};
  g.layers = {dense(1), dense(1)};
  g.nodes = {{0, {0}}, {1, {0}}};
  g.outputs = {1, 2};
  auto m = build<double>(g, GetParam(), 4);
  const std::vector<double> p = {1, 0, 0.5, 0, 1, -1};  // out0 = x0 + 0.5, out1 = x1 - 1
  m->set_params(p.data());
  m->compile({OutputLoss{LossKind::MeanSquaredError, 0.5, {MetricKind::MeanAbsoluteError}, {}},
              OutputLoss{LossKind::MeanAbsoluteError, 2.0, {}, {}}},
             sgd(0.0));
  EXPECT_EQ(m->n_acc(), kAccOutputs + 2 + 2);  // a mean metric sums Σ w·v and Σ w
  const std::vector<double> x = {0, 0, 1, 2}, y = {1, 0, 1, 3};  // errors 0.5|1 and 0.5|2
  DataSet<double> data(m->backend(), x.data(), 2, y.data(), 2, 2);
  Trainer<double> trainer(*m);
  const PassResult r = trainer.evaluate(data, 2);
  const double mse = (0.25 + 0.25) / 2, mae = (1 + 2) / 2.0;
  ASSERT_EQ(r.metrics.size(), 3u);
  EXPECT_NEAR(r.metrics[0], mse, 1e-12);
  EXPECT_NEAR(r.metrics[1], mae, 1e-12);
  EXPECT_NEAR(r.metrics[2], 0.5, 1e-12);  // output 0's MAE
  EXPECT_NEAR(r.loss, 0.5 * mse + 2.0 * mae, 1e-12);
}

TEST_P(GraphTest, BadGraphsAndArgumentsAreRefused) {
  auto make = [&](GraphSpec g) {
    return Model<double>(g, test::model_backend<double>(GetParam()), 0);
  };
  GraphSpec g = chain(3, {dense(2)});
  g.nodes[0].inputs = {1};  // not an earlier value
  EXPECT_THROW(make(g), std::invalid_argument);
  g = chain(3, {dense(2)});
  g.nodes[0].layer = 4;
  EXPECT_THROW(make(g), std::invalid_argument);
  g = chain(3, {dense(2)});
  g.outputs = {9};
  EXPECT_THROW(make(g), std::invalid_argument);
  g = chain(3, {spec("dense", {{"units", 2}, {"unit", 3}})});  // unknown argument
  EXPECT_THROW(make(g), std::invalid_argument);
  g = chain(3, {spec("conv2d")});
  EXPECT_THROW(make(g), std::invalid_argument);
  g = chain(3, {spec("add")});  // one input
  EXPECT_THROW(make(g), std::invalid_argument);
  g = chain(3, {spec("batch_normalization", {}, {{"epsilon", -1.0}})});
  EXPECT_THROW(make(g), std::invalid_argument);
  // A layer applied to inputs of another width than it was built for.
  g.input_widths = {3, 4};
  g.layers = {dense(2)};
  g.nodes = {{0, {0}}, {0, {1}}};
  g.outputs = {2, 3};
  EXPECT_THROW(make(g), std::invalid_argument);
}

INSTANTIATE_TEST_SUITE_P(Devices, GraphTest, test::AllDevices(), [](const auto& info) {
  return test::device_suffix(info.param).substr(1);
});

TEST(LayerRegistry, ListsEveryKindOnce) {
  const std::vector<std::string> kinds = layer_kinds();
  for (const char* k : {"dense", "dropout", "activation", "identity", "add", "subtract", "multiply",
                        "average", "concatenate", "batch_normalization", "layer_normalization",
                        "normalization", "embedding", "gaussian_noise", "gaussian_dropout"})
    EXPECT_EQ(std::count(kinds.begin(), kinds.end(), std::string(k)), 1) << k;
}

TEST(NoiseLayers, GaussianNoiseAndDropoutHaveTheirMoments) {
  const Index n = 20000;
  for (const char* kind : {"gaussian_noise", "gaussian_dropout"}) {
    LayerSpec s = std::string(kind) == "gaussian_noise" ? spec(kind, {}, {{"stddev", 0.5}})
                                                        : spec(kind, {}, {{"rate", 0.2}});
    Model<double> m(1, {s}, make_cpu_backend<double>(), 3);
    m.compile(LossKind::MeanSquaredError, sgd(0.0), {});
    const std::vector<double> x(n, 2.0);
    const double* out = m.forward(x.data(), n, true);
    double mean = 0, sq = 0;
    for (Index i = 0; i < n; ++i) mean += out[i] / n;
    for (Index i = 0; i < n; ++i) sq += (out[i] - mean) * (out[i] - mean) / n;
    // x + N(0, 0.25), or x · N(1, 0.2 / 0.8): mean 2, variance 0.25 or 4 · 0.25.
    const double var = std::string(kind) == "gaussian_noise" ? 0.25 : 1.0;
    EXPECT_NEAR(mean, 2.0, 0.03) << kind;
    EXPECT_NEAR(sq, var, 0.05 * var) << kind;
    const double* eval = m.forward(x.data(), n, false);
    for (Index i = 0; i < n; ++i) ASSERT_EQ(eval[i], 2.0) << kind;
  }
}

}  // namespace
}  // namespace eigennet
