// Model and Trainer end to end: a hand-computed SGD step, whole-model gradients against finite
// differences, XOR, determinism (same seed, 1 vs 2 threads), dropout, schedules and errors.
#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>
#include <vector>

#include "eigennet/backend.h"
#include "eigennet/model.h"
#include "eigennet/trainer.h"
#include "test_backends.h"
#include "test_util.h"

namespace eigennet {
namespace {

using test::FloatTypes;
using test::near_rel;

LayerSpec dense(Index units, Activation act = Activation::Linear, double l1 = 0, double l2 = 0) {
  LayerSpec l = dense_spec(units, act);
  l.nums = {{"l1", l1}, {"l2", l2}};
  return l;
}

LayerSpec dropout(double rate) { return dropout_spec(rate); }

LayerSpec activation(Activation act) { return activation_spec(act); }

/// spec with Keras's activity_regularizer L1L2(l1, l2) on its output.
LayerSpec with_activity(LayerSpec spec, double l1, double l2) {
  spec.nums["activity_l1"] = l1;
  spec.nums["activity_l2"] = l2;
  return spec;
}

/// relu with Keras's negative_slope, threshold and max_value, as an activation layer.
LayerSpec relu_layer(double slope, double threshold, double max_value) {
  LayerSpec s = activation_spec(Activation::Relu);
  s.nums = {{"negative_slope", slope}, {"threshold", threshold}, {"max_value", max_value}};
  return s;
}

OptimizerConfig sgd(double lr) {
  OptimizerConfig c;
  c.kind = OptimizerKind::SGD;
  c.learning_rate.initial = lr;
  return c;
}

OptimizerConfig adam(double lr) {
  OptimizerConfig c;
  c.kind = OptimizerKind::Adam;
  c.learning_rate.initial = lr;
  return c;
}

template <typename T>
std::unique_ptr<Model<T>> make_model(Index n_inputs, std::vector<LayerSpec> layers,
                                     std::uint64_t seed,
                                     test::DeviceKind device = test::DeviceKind::Cpu) {
  auto m =
      std::make_unique<Model<T>>(n_inputs, std::move(layers), test::model_backend<T>(device), seed);
  for (std::size_t i = 0; i < m->n_layers(); ++i)
    if (m->param_offset(i) >= 0)
      m->initialize(i, Initializer::from_name("glorot_uniform"), Initializer::from_name("zeros"));
  return m;
}

template <typename T>
std::vector<T> params(const Model<T>& m) {
  std::vector<T> p(m.n_params());
  m.get_params(p.data());
  return p;
}

/// Random integer labels in [0, n_classes), stored as T.
template <typename T>
std::vector<T> labels(Index n, Index n_classes, std::uint64_t seed) {
  Rng rng(seed);
  std::vector<T> y(n);
  for (auto& v : y) v = static_cast<T>(rng.below(static_cast<std::uint64_t>(n_classes)));
  return y;
}

/// Model::forward on host data: x (n_inputs, batch) in, the output (n_outputs, batch) back.
template <typename T>
std::vector<T> forward_host(Model<T>& m, const std::vector<T>& x, Index batch, bool training) {
  Buffer<T> dx(m.backend(), static_cast<Index>(x.size()));
  m.backend().copy_to_device(dx.data(), x.data(), dx.bytes());
  const T* out = m.forward(dx.data(), batch, training);
  std::vector<T> host(static_cast<std::size_t>(m.n_outputs() * batch));
  m.backend().copy_to_host(host.data(), out, host.size() * sizeof(T));
  return host;
}

template <typename Param>
class ModelTest : public ::testing::Test {
 protected:
  using T = typename Param::Scalar;
  void SetUp() override {
    if (!test::device_present(Param::device)) GTEST_SKIP() << "no CUDA backend or no GPU";
  }
  static std::unique_ptr<Model<T>> model(Index n_inputs, std::vector<LayerSpec> layers,
                                         std::uint64_t seed) {
    return make_model<T>(n_inputs, std::move(layers), seed, Param::device);
  }
  static std::unique_ptr<Backend<T>> backend() { return test::model_backend<T>(Param::device); }
};
TYPED_TEST_SUITE(ModelTest, test::Backends, test::BackendNames);

TYPED_TEST(ModelTest, LayoutAndWidths) {
  using T = typename TypeParam::Scalar;
  LayerSpec no_bias = dense(2);
  no_bias.ints["use_bias"] = 0;
  Model<T> m(3, {dense(4, Activation::Relu), dropout(0.5), no_bias}, this->backend(), 0);
  EXPECT_EQ(m.n_params(), 3 * 4 + 4 + 4 * 2);
  EXPECT_EQ(m.param_offset(0), 0);
  EXPECT_EQ(m.param_offset(1), -1);
  EXPECT_EQ(m.param_offset(2), 16);
  EXPECT_EQ(m.width(1), 4);
  EXPECT_EQ(m.n_outputs(), 2);
  // Parameters start at zero until initialised.
  EXPECT_EQ(params(m), std::vector<T>(m.n_params(), T(0)));
}

TYPED_TEST(ModelTest, OneSgdStepByHand) {
  using T = typename TypeParam::Scalar;
  // Z = w·x + b with w = (1, 2), b = 0.5 on x = (1,0), (0,1), (1,1) and y = (1, 2, 3): every
  // error is 0.5, so MSE = 0.25, dL/dz = 2 * 0.5 / 3 = 1/3, dL/dw = (2/3, 2/3), dL/db = 1.
  Model<T> m(2, {dense(1)}, this->backend(), 0);
  const std::vector<T> p0 = {1, 2, T(0.5)};
  m.set_params(p0.data());
  m.compile(LossKind::MeanSquaredError, sgd(0.1), {MetricKind::MeanAbsoluteError});
  const std::vector<T> x = {1, 0, 0, 1, 1, 1}, y = {1, 2, 3};
  DataSet<T> data(m.backend(), x.data(), 2, y.data(), 1, 3);
  Trainer<T> trainer(m);
  const PassResult r = trainer.fit_epoch(data, 3, false);
  EXPECT_EQ(r.samples, 3);
  EXPECT_EQ(r.batches, 1);
  EXPECT_TRUE(near_rel(r.loss, 0.25, test::tol<T>()));
  ASSERT_EQ(r.metrics.size(), 1u);
  EXPECT_TRUE(near_rel(r.metrics[0], 0.5, test::tol<T>()));
  const std::vector<T> p1 = params(m);
  EXPECT_TRUE(near_rel(p1[0], 1 - 0.1 * 2 / 3, test::tol<T>()));
  EXPECT_TRUE(near_rel(p1[1], 2 - 0.1 * 2 / 3, test::tol<T>()));
  EXPECT_TRUE(near_rel(p1[2], 0.4, test::tol<T>()));
  EXPECT_EQ(m.iterations(), 1);
}

struct ModelGradCase {
  const char* name;
  std::vector<LayerSpec> layers;
  LossKind loss;
};

// With SGD at lr = 1 one step moves the parameters by exactly -dL/dθ, so the model's whole
// backward pass (fused losses, activation layers, regularisation) can be checked against finite
// differences of the loss that evaluate() reports.
class ModelGradientTest
    : public ::testing::TestWithParam<std::tuple<ModelGradCase, test::DeviceKind>> {};

TEST_P(ModelGradientTest, SgdStepMatchesFiniteDifferences) {
  const ModelGradCase& c = std::get<0>(GetParam());
  const test::DeviceKind device = std::get<1>(GetParam());
  if (!test::device_present(device)) GTEST_SKIP() << "no CUDA backend or no GPU";
  const Index n_in = 3, n = 6;
  auto m = make_model<double>(n_in, c.layers, 5, device);
  m->compile(c.loss, sgd(1.0), {});
  const Index n_out = m->n_outputs();
  const std::vector<double> x = test::uniform<double>(n_in * n, -1, 1, 61);
  std::vector<double> y;
  if (is_sparse(c.loss)) {
    y = labels<double>(n, n_out, 62);
  } else if (c.loss == LossKind::CategoricalCrossentropy) {
    for (double label : labels<double>(n, n_out, 62))
      for (Index k = 0; k < n_out; ++k) y.push_back(k == label ? 1.0 : 0.0);
  } else if (c.loss == LossKind::MeanSquaredError) {
    y = test::uniform<double>(n_out * n, -1, 1, 63);
  } else {
    y = test::uniform<double>(n_out * n, 0, 1, 63);
  }
  DataSet<double> data(m->backend(), x.data(), n_in, y.data(), m->n_targets(), n);
  Trainer<double> trainer(*m);
  std::vector<double> theta = params(*m);
  auto loss = [&] {
    m->set_params(theta.data());
    return trainer.evaluate(data, n).loss;
  };
  const std::vector<double> numeric = test::numeric_gradient(loss, theta);
  m->set_params(theta.data());
  trainer.fit_epoch(data, n, false);
  const std::vector<double> after = params(*m);
  std::vector<double> analytic(theta.size());
  for (std::size_t i = 0; i < theta.size(); ++i) analytic[i] = theta[i] - after[i];
  test::expect_gradients_match(analytic, numeric, 1e-6, c.name);
}

INSTANTIATE_TEST_SUITE_P(
    Architectures, ModelGradientTest,
    ::testing::Combine(
        ::testing::Values(
            ModelGradCase{"tanh_softmax_sparse",
                          {dense(5, Activation::Tanh), dense(4, Activation::Softmax)},
                          LossKind::SparseCategoricalCrossentropy},
            ModelGradCase{"sigmoid_activation_layer_bce",
                          {dense(5, Activation::Elu), dense(1), activation(Activation::Sigmoid)},
                          LossKind::BinaryCrossentropy},
            ModelGradCase{"gelu_l1_l2_mse",
                          {dense(5, Activation::Gelu, 0.01, 0.02), dropout(0.0), dense(2)},
                          LossKind::MeanSquaredError},
            ModelGradCase{"activation_layers_categorical",
                          {dense(4, Activation::Sigmoid), activation(Activation::Tanh),
                           dense(3, Activation::Softmax)},
                          LossKind::CategoricalCrossentropy},
            ModelGradCase{"softmax_mse_unfused",
                          {dense(4, Activation::Softplus), dense(3, Activation::Softmax)},
                          LossKind::MeanSquaredError},
            ModelGradCase{
                "sigmoid_bce_probs_fused",
                {dense(4, Activation::LeakyRelu, 0.0, 0.1), dense(2, Activation::Sigmoid)},
                LossKind::BinaryCrossentropy},
            // The activity penalties' gradients, and a softmax output that keeps its
            // probabilities (no fused logits) because its activity is penalised.
            ModelGradCase{
                "activity_relu_arguments_categorical",
                {with_activity(dense(5, Activation::Tanh), 0.02, 0.05), relu_layer(0.3, 0.1, 0.6),
                 dense(4), with_activity(activation(Activation::Softmax), 0.0, 0.4)},
                LossKind::CategoricalCrossentropy}),
        test::AllDevices()),
    [](const auto& info) {
      return std::string(std::get<0>(info.param).name) +
             test::device_suffix(std::get<1>(info.param));
    });

TYPED_TEST(ModelTest, FusedSigmoidBceEqualsLogitsLoss) {
  using T = typename TypeParam::Scalar;
  const Index n = 16;
  const std::vector<T> x = test::uniform<T>(4 * n, -1, 1, 71);
  std::vector<T> y = labels<T>(n, 2, 72);
  auto run = [&](Activation last, LossKind loss) {
    auto m = this->model(4, {dense(3, Activation::Tanh), dense(1, last)}, 3);
    m->compile(loss, sgd(0.5), {});
    DataSet<T> data(m->backend(), x.data(), 4, y.data(), 1, n);
    Trainer<T> trainer(*m);
    const double l = trainer.fit_epoch(data, 5, false).loss;
    return std::make_pair(l, params(*m));
  };
  const auto fused = run(Activation::Sigmoid, LossKind::BinaryCrossentropy);
  const auto logits = run(Activation::Linear, LossKind::BinaryCrossentropyLogits);
  EXPECT_EQ(fused.first, logits.first);
  EXPECT_EQ(fused.second, logits.second);
}

TYPED_TEST(ModelTest, LearnsXorWithAdam) {
  using T = typename TypeParam::Scalar;
  auto m = this->model(2, {dense(4, Activation::Tanh), dense(1, Activation::Sigmoid)}, 1);
  m->compile(LossKind::BinaryCrossentropy, adam(0.05), {MetricKind::BinaryAccuracy});
  const std::vector<T> x = {0, 0, 0, 1, 1, 0, 1, 1}, y = {0, 1, 1, 0};
  DataSet<T> data(m->backend(), x.data(), 2, y.data(), 1, 4);
  Trainer<T> trainer(*m);
  for (int epoch = 0; epoch < 1000; ++epoch) trainer.fit_epoch(data, 4, true);
  const PassResult r = trainer.evaluate(data, 4);
  EXPECT_LT(r.loss, 0.05);
  ASSERT_EQ(r.metrics.size(), 1u);
  EXPECT_EQ(r.metrics[0], 1.0);
  std::vector<T> out(4);
  ASSERT_TRUE(trainer.predict(data, 3, out.data()));
  for (int i = 0; i < 4; ++i) EXPECT_EQ(out[i] > T(0.5), y[i] == T(1)) << "sample " << i;
}

/// Trains a model with dropout and shuffling for a few epochs; returns its parameters.
template <typename T>
std::vector<T> train_small(std::uint64_t seed, test::DeviceKind device) {
  auto m = make_model<T>(6, {dense(8, Activation::Relu), dropout(0.3), dense(3)}, seed, device);
  m->compile(LossKind::SparseCategoricalCrossentropyLogits, adam(0.01),
             {MetricKind::SparseCategoricalAccuracy});
  const Index n = 50;
  const std::vector<T> x = test::uniform<T>(6 * n, -1, 1, 81);
  const std::vector<T> y = labels<T>(n, 3, 82);
  DataSet<T> data(m->backend(), x.data(), 6, y.data(), 1, n);
  Trainer<T> trainer(*m);
  for (int epoch = 0; epoch < 3; ++epoch) trainer.fit_epoch(data, 8, true);
  return params(*m);
}

TYPED_TEST(ModelTest, SameSeedGivesBitwiseIdenticalParams) {
  using T = typename TypeParam::Scalar;
  const auto device = TypeParam::device;
  const std::vector<T> a = train_small<T>(17, device), b = train_small<T>(17, device);
  const std::vector<T> c = train_small<T>(18, device);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
}

struct ThreadCase {
  Index hidden1, hidden2, batch;
};

// Threads share out fixed panels, so 1 and 2 threads must give the same bits. The 256-unit
// cases have >= 2 x 65536 multiply-adds per product, so the second thread really runs; batch 37
// leaves a last batch of one sample (1000 = 27 * 37 + 1).
class ThreadDeterminismTest : public ::testing::TestWithParam<ThreadCase> {};

TEST_P(ThreadDeterminismTest, OneAndTwoThreadsGiveIdenticalParams) {
  const ThreadCase c = GetParam();
  const Index n_in = 20, n = 1000;
  const std::vector<float> x = test::uniform<float>(n_in * n, -1, 1, 91);
  const std::vector<float> y = labels<float>(n, 3, 92);
  auto train = [&](int threads) {
    set_num_threads(threads);
    auto m = make_model<float>(n_in,
                               {dense(c.hidden1, Activation::Relu),
                                dense(c.hidden2, Activation::Tanh), dense(3, Activation::Softmax)},
                               2024);
    m->compile(LossKind::SparseCategoricalCrossentropy, adam(0.001), {});
    DataSet<float> data(m->backend(), x.data(), n_in, y.data(), 1, n);
    Trainer<float> trainer(*m);
    double loss = 0;
    for (int epoch = 0; epoch < 3; ++epoch) loss = trainer.fit_epoch(data, c.batch, true).loss;
    return std::make_pair(loss, params(*m));
  };
  const auto one = train(1);
  const auto two = train(2);
  set_num_threads(1);
  EXPECT_EQ(one.first, two.first);
  EXPECT_EQ(one.second, two.second);
}

INSTANTIATE_TEST_SUITE_P(Shapes, ThreadDeterminismTest,
                         ::testing::Values(ThreadCase{64, 32, 128}, ThreadCase{64, 32, 37},
                                           ThreadCase{256, 128, 256}, ThreadCase{256, 128, 37}),
                         [](const auto& info) {
                           const ThreadCase& c = info.param;
                           return std::to_string(c.hidden1) + "_" + std::to_string(c.hidden2) +
                                  "_batch" + std::to_string(c.batch);
                         });

TYPED_TEST(ModelTest, DropoutTrainingAndInference) {
  using T = typename TypeParam::Scalar;
  const double rate = 0.3;
  const Index width = 1000, batch = 100;
  Model<T> m(width, {dropout(rate)}, this->backend(), 4);
  const std::vector<T> x(width * batch, T(2));
  const std::vector<T> out = forward_host(m, x, batch, true);
  const T kept = static_cast<T>(2 / (1 - rate));
  Index zeros = 0;
  for (Index i = 0; i < width * batch; ++i) {
    if (out[i] == T(0))
      ++zeros;
    else
      ASSERT_EQ(out[i], kept) << i;
  }
  // 100k Bernoulli(0.3) draws: standard error 0.00145.
  EXPECT_NEAR(static_cast<double>(zeros) / (width * batch), rate, 0.01);
  EXPECT_NE(forward_host(m, x, batch, true), out);  // a new mask per batch
  EXPECT_EQ(forward_host(m, x, batch, false), x);
}

TYPED_TEST(ModelTest, SeededDropoutIgnoresModelSeed) {
  using T = typename TypeParam::Scalar;
  LayerSpec d = dropout(0.5);
  d.ints["seed"] = 99;
  const std::vector<T> x(64, T(1));
  Model<T> a(64, {d}, this->backend(), 1), b(64, {d}, this->backend(), 2);
  EXPECT_EQ(forward_host(a, x, 1, true), forward_host(b, x, 1, true));
}

class ModelDropout : public ::testing::TestWithParam<test::DeviceKind> {};

TEST_P(ModelDropout, BackwardUsesTheForwardMask) {
  if (!test::device_present(GetParam())) GTEST_SKIP() << "no CUDA backend or no GPU";
  // out = mask ⊙ (W·x + b) with the seeded layer's first mask (counter 0), MSE against y. The
  // SGD lr = 1 step must equal finite differences of that loss with the mask held fixed.
  const Index n_in = 3, units = 4, n = 5;
  const double rate = 0.5;
  LayerSpec d = dropout(rate);
  d.ints["seed"] = 11;
  auto m = make_model<double>(n_in, {dense(units), d}, 6, GetParam());
  m->compile(LossKind::MeanSquaredError, sgd(1.0), {});
  const std::vector<double> x = test::uniform<double>(n_in * n, -1, 1, 111);
  const std::vector<double> y = test::uniform<double>(units * n, -1, 1, 112);
  std::vector<double> mask(units * n);
  for (Index k = 0; k < units * n; ++k)
    mask[k] = hashed_uniform(11, 0, static_cast<std::uint64_t>(k)) >= rate ? 1 / (1 - rate) : 0;
  std::vector<double> theta = params(*m);
  auto loss = [&] {
    double s = 0;
    for (Index j = 0; j < n; ++j)
      for (Index i = 0; i < units; ++i) {
        double z = theta[units * n_in + i];
        for (Index k = 0; k < n_in; ++k) z += theta[k * units + i] * x[j * n_in + k];
        const double e = mask[j * units + i] * z - y[j * units + i];
        s += e * e;
      }
    return s / (units * n);
  };
  const std::vector<double> numeric = test::numeric_gradient(loss, theta);
  DataSet<double> data(m->backend(), x.data(), n_in, y.data(), units, n);
  Trainer<double> trainer(*m);
  const PassResult r = trainer.fit_epoch(data, n, false);
  EXPECT_TRUE(near_rel(r.loss, loss(), 1e-12));
  const std::vector<double> after = params(*m);
  std::vector<double> analytic(theta.size());
  for (std::size_t i = 0; i < theta.size(); ++i) analytic[i] = theta[i] - after[i];
  test::expect_gradients_match(analytic, numeric, 1e-6, "dropout");
}

INSTANTIATE_TEST_SUITE_P(Devices, ModelDropout, test::AllDevices(), [](const auto& info) {
  return test::device_suffix(info.param).substr(1);
});

TYPED_TEST(ModelTest, LargerPassesBetweenEpochsDoNotChangeTraining) {
  using T = typename TypeParam::Scalar;
  // predict and evaluate with a larger batch regrow the workspaces but must not touch the
  // parameters, the optimizer state or the random streams.
  const Index n = 40;
  const std::vector<T> x = test::uniform<T>(5 * n, -1, 1, 121);
  const std::vector<T> y = labels<T>(n, 3, 122);
  auto train = [&](bool interleave) {
    auto m = this->model(5, {dense(6, Activation::Relu), dropout(0.2), dense(3)}, 7);
    m->compile(LossKind::SparseCategoricalCrossentropyLogits, adam(0.01), {});
    DataSet<T> data(m->backend(), x.data(), 5, y.data(), 1, n);
    Trainer<T> trainer(*m);
    std::vector<T> out(3 * n);
    for (int epoch = 0; epoch < 3; ++epoch) {
      trainer.fit_epoch(data, 8, true);
      if (interleave) {
        trainer.predict(data, n, out.data());
        trainer.evaluate(data, n);
      }
    }
    return params(*m);
  };
  EXPECT_EQ(train(false), train(true));
}

TYPED_TEST(ModelTest, DropoutKernel) {
  using T = typename TypeParam::Scalar;
  auto be = test::kernel_backend<T>(TypeParam::device);
  const Index n = 1000;
  const std::vector<T> in = test::uniform<T>(n, -1, 1, 5);
  std::vector<T> out(n), mask(n);
  be->dropout_forward(in.data(), out.data(), mask.data(), n, 0.75, 7, 3);
  for (Index i = 0; i < n; ++i) {
    const bool keep = hashed_uniform(7, 3, static_cast<std::uint64_t>(i)) >= 0.75;
    ASSERT_EQ(mask[i], keep ? T(4) : T(0)) << i;
    ASSERT_EQ(out[i], in[i] * mask[i]) << i;
  }
}

TYPED_TEST(ModelTest, PredictMatchesForwardAcrossShortBatches) {
  using T = typename TypeParam::Scalar;
  auto m = this->model(3, {dense(5, Activation::Tanh), dense(2, Activation::Softmax)}, 8);
  const Index n = 10;
  const std::vector<T> x = test::uniform<T>(3 * n, -1, 1, 101);
  DataSet<T> data(m->backend(), x.data(), 3, nullptr, 0, n);
  Trainer<T> trainer(*m);
  std::vector<T> out(2 * n);
  ASSERT_TRUE(trainer.predict(data, 4, out.data()));
  const std::vector<T> all = forward_host(*m, x, n, false);
  for (Index i = 0; i < 2 * n; ++i) EXPECT_TRUE(near_rel(out[i], all[i], test::tol<T>())) << i;
}

TYPED_TEST(ModelTest, ScheduleDrivesEachStep) {
  using T = typename TypeParam::Scalar;
  // lr 0.1 for step 0 and 0 afterwards: only the first batch moves the weights.
  OptimizerConfig opt = sgd(0.1);
  opt.learning_rate.kind = Schedule::Kind::PiecewiseConstant;
  opt.learning_rate.boundaries = {0};
  opt.learning_rate.values = {0.1, 0.0};
  auto m = this->model(2, {dense(1)}, 3);
  m->compile(LossKind::MeanSquaredError, opt, {});
  const std::vector<T> x = {1, 0, 0, 1}, y = {1, -1};
  DataSet<T> data(m->backend(), x.data(), 2, y.data(), 1, 2);
  Trainer<T> trainer(*m);
  const std::vector<T> p0 = params(*m);
  EXPECT_EQ(m->current_learning_rate(), 0.1);
  trainer.fit_epoch(data, 2, false);
  const std::vector<T> p1 = params(*m);
  EXPECT_NE(p1, p0);
  EXPECT_EQ(m->current_learning_rate(), 0.0);
  trainer.fit_epoch(data, 1, false);
  EXPECT_EQ(params(*m), p1);
  EXPECT_EQ(m->iterations(), 3);
}

TYPED_TEST(ModelTest, ProgressCanStopAPass) {
  using T = typename TypeParam::Scalar;
  auto m = this->model(2, {dense(1)}, 3);
  m->compile(LossKind::MeanSquaredError, sgd(0.1), {});
  const std::vector<T> x(2 * 10, T(1)), y(10, T(0));
  DataSet<T> data(m->backend(), x.data(), 2, y.data(), 1, 10);
  Trainer<T> trainer(*m);
  int calls = 0;
  const PassResult r = trainer.fit_epoch(
      data, 2, false,
      [&](const PassResult&) {
        ++calls;
        return false;
      },
      0.0);
  EXPECT_TRUE(r.stopped);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(r.batches, 1);
  EXPECT_EQ(r.samples, 2);
  EXPECT_EQ(m->iterations(), 1);
}

TYPED_TEST(ModelTest, CompileResetsOptimizerState) {
  using T = typename TypeParam::Scalar;
  auto m = this->model(2, {dense(3)}, 3);
  m->compile(LossKind::MeanSquaredError, adam(0.1), {});
  EXPECT_EQ(m->n_state(), 2 * m->n_params());
  const std::vector<T> x = {1, 2, 3, 4}, y = {1, 0, 1, 0, 1, 0};
  DataSet<T> data(m->backend(), x.data(), 2, y.data(), 3, 2);
  Trainer<T> trainer(*m);
  trainer.fit_epoch(data, 2, false);
  std::vector<T> state(m->n_state());
  m->get_state(state.data());
  EXPECT_NE(state, std::vector<T>(state.size(), T(0)));
  OptimizerConfig ada;
  ada.kind = OptimizerKind::Adagrad;
  m->compile(LossKind::MeanSquaredError, ada, {});
  EXPECT_EQ(m->iterations(), 0);
  state.resize(m->n_state());
  m->get_state(state.data());
  EXPECT_EQ(state, std::vector<T>(m->n_params(), T(0.1)));
}

TEST(ModelErrors, InvalidLayersThrow) {
  auto build = [](Index n_inputs, std::vector<LayerSpec> layers) {
    Model<float> m(n_inputs, std::move(layers), make_cpu_backend<float>(), 0);
  };
  EXPECT_THROW(build(3, {dense(0)}), std::invalid_argument);
  EXPECT_THROW(build(3, {dense(-3)}), std::invalid_argument);
  EXPECT_THROW(build(3, {dense(4), dropout(1.0)}), std::invalid_argument);
  EXPECT_THROW(build(3, {dropout(-0.1)}), std::invalid_argument);
  EXPECT_THROW(build(3, {dropout(std::nan(""))}), std::invalid_argument);
  EXPECT_THROW(build(3, {dense(2, Activation::Linear, -1.0, 0.0)}), std::invalid_argument);
  EXPECT_THROW(build(3, {with_activity(dense(2), -0.1, 0.0)}), std::invalid_argument);
  EXPECT_THROW(build(3, {with_activity(dense(2), 0.0, std::nan(""))}), std::invalid_argument);
  EXPECT_THROW(build(3, {relu_layer(std::nan(""), 0, 1)}), std::invalid_argument);
  LayerSpec tanh_with_slope = activation_spec(Activation::Tanh);
  tanh_with_slope.nums["negative_slope"] = 0.1;
  EXPECT_THROW(build(3, {tanh_with_slope}), std::invalid_argument);
  EXPECT_THROW(build(0, {dense(2)}), std::invalid_argument);
  EXPECT_THROW(build(3, {}), std::invalid_argument);
  EXPECT_NO_THROW(build(3, {dense(4), dropout(0.0), dense(1)}));
}

TEST(ModelErrors, TrainerArgumentsThrow) {
  auto m = make_model<float>(2, {dense(3, Activation::Softmax)}, 0);
  const std::vector<float> x(2 * 4, 1.0f), y(4, 1.0f), x3(3 * 4, 1.0f);
  DataSet<float> data(m->backend(), x.data(), 2, y.data(), 1, 4);
  Trainer<float> trainer(*m);
  EXPECT_THROW(trainer.fit_epoch(data, 2, false), std::logic_error);  // not compiled
  EXPECT_THROW(
      m->compile(LossKind::SparseCategoricalCrossentropy, sgd(0.1), {MetricKind::BinaryAccuracy}),
      std::invalid_argument);
  m->compile(LossKind::SparseCategoricalCrossentropy, sgd(0.1),
             {MetricKind::SparseCategoricalAccuracy});
  EXPECT_THROW(trainer.fit_epoch(data, 0, false), std::invalid_argument);
  EXPECT_THROW(trainer.fit_epoch(data, -1, true), std::invalid_argument);
  EXPECT_THROW(trainer.evaluate(data, 0), std::invalid_argument);
  std::vector<float> out(3 * 4);
  EXPECT_THROW(trainer.predict(data, 0, out.data()), std::invalid_argument);
  DataSet<float> wide(m->backend(), x3.data(), 3, y.data(), 1, 4);
  EXPECT_THROW(trainer.fit_epoch(wide, 2, false), std::invalid_argument);
  DataSet<float> one_hot(m->backend(), x3.data(), 2, x3.data(), 3, 4);
  EXPECT_THROW(trainer.fit_epoch(one_hot, 2, false), std::invalid_argument);
  DataSet<float> no_y(m->backend(), x.data(), 2, nullptr, 0, 4);
  EXPECT_THROW(trainer.fit_epoch(no_y, 2, false), std::invalid_argument);
  EXPECT_THROW(DataSet<float>(m->backend(), x.data(), 2, y.data(), 1, 0), std::invalid_argument);
  auto single = make_model<float>(2, {dense(1)}, 0);
  EXPECT_THROW(single->compile(LossKind::SparseCategoricalCrossentropy, sgd(0.1), {}),
               std::invalid_argument);
}

TEST(ModelErrors, ThreadsAndCuda) {
  EXPECT_THROW(set_num_threads(0), std::invalid_argument);
  set_num_threads(1);
  EXPECT_EQ(num_threads(), 1);
  if (!cuda_available()) {
    EXPECT_THROW(make_cuda_backend<float>(), std::runtime_error);
  }
}

}  // namespace
}  // namespace eigennet
