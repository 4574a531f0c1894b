// The CUDA backend against the CPU backend: every Backend kernel on the same inputs, then whole
// training runs through Model and Trainer (recorded steps replayed as CUDA graphs, and not).
// Skipped at run time when the build has no CUDA backend or no GPU is present.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <numeric>
#include <string>
#include <vector>

#include "eigennet/backend.h"
#include "eigennet/losses.h"
#include "eigennet/model.h"
#include "eigennet/trainer.h"
#include "test_util.h"

namespace eigennet {
namespace {

using test::FloatTypes;
using test::uniform;

constexpr const auto& kActivations = test::kAllActivations;

template <typename T>
class CudaVsCpu : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!cuda_available()) GTEST_SKIP() << "no CUDA backend or no GPU";
    gpu = make_cuda_backend<T>();
    cpu = make_cpu_backend<T>();
  }

  template <typename E>
  Buffer<E> up(const std::vector<E>& v) {
    Buffer<E> b(*gpu, static_cast<Index>(v.size()));
    gpu->copy_to_device(b.data(), v.data(), b.bytes());
    return b;
  }
  template <typename E>
  std::vector<E> down(const Buffer<E>& b) {
    std::vector<E> v(static_cast<std::size_t>(b.size()));
    gpu->copy_to_host(v.data(), b.data(), b.bytes());
    return v;
  }
  Buffer<T> zeros(Index n) {
    Buffer<T> b(*gpu, n);
    gpu->fill(b.data(), n, T(0));
    return b;
  }

  /// |got - want| <= rtol·(|want| + max|want|), rtol a few hundred ulp of T.
  static void expect_close(const std::vector<T>& got, const std::vector<T>& want,
                           const std::string& what) {
    ASSERT_EQ(got.size(), want.size()) << what;
    const double rtol = std::is_same_v<T, float> ? 3e-5 : 1e-12;
    double scale = 0;
    for (T w : want) scale = std::max(scale, std::abs(static_cast<double>(w)));
    for (std::size_t i = 0; i < got.size(); ++i) {
      const double g = got[i], w = want[i];
      EXPECT_LE(std::abs(g - w), rtol * (std::abs(w) + scale)) << what << " entry " << i;
    }
  }

  std::unique_ptr<Backend<T>> gpu, cpu;
};

TYPED_TEST_SUITE(CudaVsCpu, FloatTypes);

TYPED_TEST(CudaVsCpu, DenseForwardFusesBiasAndEveryActivation) {
  using T = TypeParam;
  const Index units = 7, in = 5, batch = 9;
  const auto W = uniform<T>(units * in, -1, 1, 1), X = uniform<T>(in * batch, -2, 2, 2);
  const auto b = uniform<T>(units, -1, 1, 3);
  for (Activation act : kActivations) {
    for (bool bias : {true, false}) {
      std::vector<T> Z(units * batch), A(units * batch);
      T* a_cpu = act == Activation::Linear ? Z.data() : A.data();
      this->cpu->dense_forward(W.data(), bias ? b.data() : nullptr, X.data(), Z.data(), a_cpu,
                               units, in, batch, act);
      auto dW = this->up(W), dX = this->up(X), db = this->up(b);
      auto dZ = this->zeros(units * batch), dA = this->zeros(units * batch);
      T* a_gpu = act == Activation::Linear ? dZ.data() : dA.data();
      this->gpu->dense_forward(dW.data(), bias ? db.data() : nullptr, dX.data(), dZ.data(), a_gpu,
                               units, in, batch, act);
      const std::string what = std::string(activation_name(act)) + (bias ? " bias" : "");
      this->expect_close(this->down(dZ), Z, what + " Z");
      if (act != Activation::Linear) this->expect_close(this->down(dA), A, what + " A");
    }
  }
}

TYPED_TEST(CudaVsCpu, ActivationsAndDerivatives) {
  using T = TypeParam;
  const Index rows = 6, cols = 11, n = rows * cols;
  const auto Z = uniform<T>(n, -4, 4, 4), dA = uniform<T>(n, -1, 1, 5);
  for (Activation act : kActivations) {
    std::vector<T> A(n), dZ(n);
    this->cpu->activation_forward(act, Z.data(), A.data(), rows, cols);
    this->cpu->activation_backward(act, Z.data(), A.data(), dA.data(), dZ.data(), rows, cols);
    auto gZ = this->up(Z), gA = this->zeros(n), gdA = this->up(dA);
    this->gpu->activation_forward(act, gZ.data(), gA.data(), rows, cols);
    // In place, as Model calls it: dZ overwrites dA.
    this->gpu->activation_backward(act, gZ.data(), gA.data(), gdA.data(), gdA.data(), rows, cols);
    this->expect_close(this->down(gA), A, std::string(activation_name(act)) + " forward");
    this->expect_close(this->down(gdA), dZ, std::string(activation_name(act)) + " backward");
  }
}

TYPED_TEST(CudaVsCpu, DenseBackwardProductsAndBiasGradient) {
  using T = TypeParam;
  const Index units = 13, in = 70, batch = 37;
  const auto W = uniform<T>(units * in, -1, 1, 6), X = uniform<T>(in * batch, -1, 1, 7);
  const auto dZ = uniform<T>(units * batch, -1, 1, 8);
  for (bool with_db : {true, false}) {
    for (bool with_dx : {true, false}) {
      std::vector<T> dW(units * in), db(units), dX(in * batch);
      this->cpu->dense_backward(W.data(), X.data(), dZ.data(), dW.data(),
                                with_db ? db.data() : nullptr, with_dx ? dX.data() : nullptr, units,
                                in, batch);
      auto gW = this->up(W), gX = this->up(X), gdZ = this->up(dZ);
      auto gdW = this->zeros(units * in), gdb = this->zeros(units), gdX = this->zeros(in * batch);
      this->gpu->dense_backward(gW.data(), gX.data(), gdZ.data(), gdW.data(),
                                with_db ? gdb.data() : nullptr, with_dx ? gdX.data() : nullptr,
                                units, in, batch);
      this->expect_close(this->down(gdW), dW, "dW");
      if (with_db) this->expect_close(this->down(gdb), db, "db");
      if (with_dx) this->expect_close(this->down(gdX), dX, "dX");
    }
  }
}

/// Predictions and targets that suit each loss: probabilities or logits, labels or one-hot.
template <typename T>
void loss_inputs(LossKind kind, Index n_out, Index batch, std::vector<T>& P, std::vector<T>& Y) {
  const bool logits = kind == LossKind::BinaryCrossentropyLogits ||
                      kind == LossKind::CategoricalCrossentropyLogits ||
                      kind == LossKind::SparseCategoricalCrossentropyLogits ||
                      kind == LossKind::BinaryFocalCrossentropyLogits ||
                      kind == LossKind::CategoricalFocalCrossentropyLogits ||
                      kind == LossKind::MeanSquaredError || kind == LossKind::MeanAbsoluteError;
  P = logits ? uniform<T>(n_out * batch, -3, 3, 9) : uniform<T>(n_out * batch, 0.01, 0.99, 9);
  Rng rng(10);
  if (is_sparse(kind)) {
    Y.resize(batch);
    for (auto& y : Y) y = static_cast<T>(rng.below(static_cast<std::uint64_t>(n_out)));
  } else if (kind == LossKind::CategoricalCrossentropy ||
             kind == LossKind::CategoricalCrossentropyLogits ||
             kind == LossKind::CategoricalFocalCrossentropy ||
             kind == LossKind::CategoricalFocalCrossentropyLogits) {
    Y.assign(n_out * batch, T(0));
    for (Index j = 0; j < batch; ++j)
      Y[j * n_out + static_cast<Index>(rng.below(static_cast<std::uint64_t>(n_out)))] = T(1);
  } else {
    Y = uniform<T>(n_out * batch, 0, 1, 11);
  }
}

TYPED_TEST(CudaVsCpu, FusedLossValuesAndGradients) {
  using T = TypeParam;
  const Index n_out = 5, batch = 150;
  for (LossKind kind :
       {LossKind::MeanSquaredError, LossKind::MeanAbsoluteError, LossKind::BinaryCrossentropy,
        LossKind::BinaryCrossentropyLogits, LossKind::CategoricalCrossentropy,
        LossKind::CategoricalCrossentropyLogits, LossKind::SparseCategoricalCrossentropy,
        LossKind::SparseCategoricalCrossentropyLogits, LossKind::BinaryFocalCrossentropy,
        LossKind::BinaryFocalCrossentropyLogits, LossKind::CategoricalFocalCrossentropy,
        LossKind::CategoricalFocalCrossentropyLogits}) {
    std::vector<T> P, Y;
    loss_inputs(kind, n_out, batch, P, Y);
    std::vector<T> per(batch), grad(n_out * batch);
    this->cpu->loss(kind, P.data(), Y.data(), nullptr, n_out, batch, T(1) / T(batch), per.data(),
                    grad.data());
    auto gP = this->up(P), gY = this->up(Y);
    auto gper = this->zeros(batch), ggrad = this->zeros(n_out * batch), gper2 = this->zeros(batch);
    this->gpu->loss(kind, gP.data(), gY.data(), nullptr, n_out, batch, T(1) / T(batch), gper.data(),
                    ggrad.data());
    this->gpu->loss(kind, gP.data(), gY.data(), nullptr, n_out, batch, T(1), gper2.data(), nullptr);
    this->expect_close(this->down(gper), per, std::string(loss_name(kind)) + " values");
    this->expect_close(this->down(ggrad), grad, std::string(loss_name(kind)) + " gradient");
    this->expect_close(this->down(gper2), per, std::string(loss_name(kind)) + " without grad");
  }
}

TYPED_TEST(CudaVsCpu, MetricsAndSums) {
  using T = TypeParam;
  const Index n_out = 4, batch = 300;
  const auto A = uniform<T>(n_out * batch, 0, 1, 12);
  const auto w = uniform<T>(batch, 0, 2, 14);
  Metric listed(MetricKind::Precision);
  listed.thresholds = {0.1, 0.5, 0.9};
  listed.spec.n_thresholds = 3;
  Metric auc(MetricKind::AUC);
  auc.spec.spacing = ThresholdSpacing::EvenWithEpsilon;
  auc.spec.n_thresholds = 200;
  Metric multi = auc;
  multi.spec.multi_label = true;
  multi.spec.curve = AucCurve::PR;
  Metric top(MetricKind::Recall);
  top.spec.top_k = 2;
  top.thresholds = {kMetricNegInf};
  Metric fbeta(MetricKind::FBetaScore);
  fbeta.spec.argmax = true;
  MetricSpec top3(MetricKind::SparseTopKCategoricalAccuracy);
  top3.k = 3;
  MetricSpec ids = top3;  // labels compared with the "ids" A holds (none match: all zero)
  ids.sorted_ids = true;
  Metric weighted_auc = auc;
  weighted_auc.spec.label_weighted = true;
  weighted_auc.label_weights = {0.5, 1.0, 0.0, 2.0};
  for (const Metric& m : std::vector<Metric>{
           MetricKind::BinaryAccuracy, MetricKind::CategoricalAccuracy,
           MetricKind::SparseCategoricalAccuracy, MetricKind::MeanSquaredError,
           MetricKind::MeanAbsoluteError, MetricKind::MeanSquaredLogarithmicError, top3, ids,
           listed, auc, multi, top, fbeta, MetricKind::R2Score, weighted_auc}) {
    std::vector<T> P, Y;
    const bool sparse = metric_is_sparse(m.spec.kind);
    loss_inputs(
        sparse ? LossKind::SparseCategoricalCrossentropy
               : (m.spec.kind == MetricKind::CategoricalAccuracy ? LossKind::CategoricalCrossentropy
                                                                 : LossKind::BinaryCrossentropy),
        n_out, batch, P, Y);
    if (m.spec.kind != MetricKind::R2Score && !sparse)
      for (auto& y : Y) y = y > T(0.5) ? T(1) : T(0);
    const std::vector<double> constants = m.constants();
    const std::vector<T> t(constants.begin(), constants.end());
    const Index n_sums = metric_n_sums(m.spec, n_out);
    for (const T* weights : {static_cast<const T*>(nullptr), w.data()}) {
      std::vector<double> sums(static_cast<std::size_t>(n_sums), 0.25);
      this->cpu->accumulate_metric(m.spec, t.data(), A.data(), Y.data(), weights, n_out, batch,
                                   sums.data());
      auto gA = this->up(A), gY = this->up(Y), gt = this->up(t), gw = this->up(w);
      auto gsums = this->up(std::vector<double>(static_cast<std::size_t>(n_sums), 0.25));
      this->gpu->accumulate_metric(m.spec, gt.data(), gA.data(), gY.data(),
                                   weights ? gw.data() : nullptr, n_out, batch, gsums.data());
      const auto got = this->down(gsums);
      for (Index k = 0; k < n_sums; ++k)
        EXPECT_NEAR(got[static_cast<std::size_t>(k)], sums[static_cast<std::size_t>(k)],
                    1e-9 * (1 + std::abs(sums[static_cast<std::size_t>(k)])))
            << metric_name(m.spec.kind) << " sum " << k;
    }
  }
  // sum_into: *acc += weight · Σ x, accumulated in double.
  const auto x = uniform<T>(100000, -1, 1, 13);
  double want = 0.5;
  this->cpu->sum_into(x.data(), static_cast<Index>(x.size()), 3.0, &want);
  auto gx = this->up(x);
  auto acc = this->up(std::vector<double>{0.5});
  this->gpu->sum_into(gx.data(), static_cast<Index>(x.size()), 3.0, acc.data());
  EXPECT_NEAR(this->down(acc)[0], want, 1e-12 * std::abs(want) + 1e-9);
}

TYPED_TEST(CudaVsCpu, RegularizationAndOptimizers) {
  using T = TypeParam;
  const Index n = 70001;  // several blocks, and not a multiple of any of them
  const auto w0 = uniform<T>(n, -1, 1, 14), g0 = uniform<T>(n, -1, 1, 15);
  std::vector<T> g = g0;
  double pen = 1.0;
  this->cpu->regularize(w0.data(), g.data(), n, 1e-3, 2e-2, 32.0, &pen);
  auto gw = this->up(w0), gg = this->up(g0);
  auto gpen = this->up(std::vector<double>{1.0});
  this->gpu->regularize(gw.data(), gg.data(), n, 1e-3, 2e-2, 32.0, gpen.data());
  this->gpu->regularize(gw.data(), nullptr, n, 1e-3, 2e-2, 32.0, gpen.data());
  this->expect_close(this->down(gg), g, "regularised gradient");
  EXPECT_NEAR(this->down(gpen)[0], 2 * pen - 1, 1e-10 * pen);

  std::vector<OptimizerConfig> configs(7);
  configs[1].momentum = 0.9;
  configs[2].momentum = 0.9;
  configs[2].nesterov = true;
  configs[3].kind = OptimizerKind::Adam;
  configs[4].kind = OptimizerKind::RMSprop;
  configs[5].kind = OptimizerKind::RMSprop;
  configs[5].momentum = 0.5;
  configs[6].kind = OptimizerKind::Adagrad;
  for (const OptimizerConfig& cfg : configs) {
    const Index n_state = cfg.n_slots() * n;
    std::vector<T> w = w0, state(n_state, T(cfg.slot_initial_value(0)));
    auto dw = this->up(w0), dg = this->up(g0);
    auto ds = this->up(state);
    for (std::int64_t step = 0; step < 3; ++step) {
      const double lr = 0.01 / (1.0 + static_cast<double>(step));
      this->cpu->optimizer_step(cfg, lr, step, w.data(), g0.data(), state.data(), n);
      this->gpu->optimizer_step(cfg, lr, step, dw.data(), dg.data(), ds.data(), n);
    }
    const std::string what = std::string(optimizer_name(cfg.kind)) + " momentum " +
                             std::to_string(cfg.momentum) + (cfg.nesterov ? " nesterov" : "");
    this->expect_close(this->down(dw), w, what + " params");
    if (n_state > 0) this->expect_close(this->down(ds), state, what + " state");
  }
}

TYPED_TEST(CudaVsCpu, DropoutFillMultiplyAreExact) {
  using T = TypeParam;
  const Index n = 5000;
  const auto in = uniform<T>(n, -1, 1, 16);
  std::vector<T> out(n), mask(n), prod(n);
  this->cpu->dropout_forward(in.data(), out.data(), mask.data(), n, 0.3, 77, 5);
  this->cpu->multiply(out.data(), mask.data(), prod.data(), n);
  auto gin = this->up(in), gout = this->zeros(n), gmask = this->zeros(n), gprod = this->zeros(n);
  this->gpu->dropout_forward(gin.data(), gout.data(), gmask.data(), n, 0.3, 77, 5);
  this->gpu->multiply(gout.data(), gmask.data(), gprod.data(), n);
  EXPECT_EQ(this->down(gmask), mask);
  EXPECT_EQ(this->down(gout), out);
  EXPECT_EQ(this->down(gprod), prod);
  this->gpu->fill(gprod.data(), n, T(2.5));
  EXPECT_EQ(this->down(gprod), std::vector<T>(n, T(2.5)));
}

TYPED_TEST(CudaVsCpu, PermutationIsValidDeterministicAndGathers) {
  using T = TypeParam;
  const Index n = 10007, rows = 3;
  Buffer<std::int64_t> a(*this->gpu, n), b(*this->gpu, n), c(*this->gpu, n);
  this->gpu->permutation(a.data(), n, 42);
  this->gpu->permutation(b.data(), n, 42);
  this->gpu->permutation(c.data(), n, 43);
  const auto pa = this->down(a), pb = this->down(b), pc = this->down(c);
  EXPECT_EQ(pa, pb);
  EXPECT_NE(pa, pc);
  std::vector<std::int64_t> sorted = pa, iota(n);
  std::sort(sorted.begin(), sorted.end());
  std::iota(iota.begin(), iota.end(), 0);
  EXPECT_EQ(sorted, iota);

  const auto src = uniform<T>(rows * n, -1, 1, 17);
  std::vector<T> dst(rows * 100);
  this->cpu->gather_columns(src.data(), rows, pa.data(), 500, 100, dst.data());
  auto gsrc = this->up(src), gdst = this->zeros(rows * 100);
  this->gpu->gather_columns(gsrc.data(), rows, a.data(), 500, 100, gdst.data());
  EXPECT_EQ(this->down(gdst), dst);
}

TYPED_TEST(CudaVsCpu, FusedCallSequencesMatchTheCpu) {
  // The CUDA backend fuses these pairs of calls into one kernel each.
  using T = TypeParam;
  const Index n_out = 6, batch = 70, units = 24, in = 9;
  std::vector<T> P, Y;
  loss_inputs(LossKind::SparseCategoricalCrossentropyLogits, n_out, batch, P, Y);
  std::vector<T> per(batch), grad(n_out * batch);
  double acc_cpu[3] = {0.25, 0.5, 0.75};
  this->cpu->loss(LossKind::SparseCategoricalCrossentropyLogits, P.data(), Y.data(), nullptr, n_out,
                  batch, T(1) / T(batch), per.data(), grad.data());
  this->cpu->sum_into(per.data(), batch, 1.0, acc_cpu);
  this->cpu->accumulate_metric(MetricKind::SparseCategoricalAccuracy, nullptr, P.data(), Y.data(),
                               nullptr, n_out, batch, acc_cpu + 1);
  auto gP = this->up(P), gY = this->up(Y), gper = this->zeros(batch);
  auto ggrad = this->zeros(n_out * batch);
  auto gacc = this->up(std::vector<double>{0.25, 0.5, 0.75});
  this->gpu->loss(LossKind::SparseCategoricalCrossentropyLogits, gP.data(), gY.data(), nullptr,
                  n_out, batch, T(1) / T(batch), gper.data(), ggrad.data());
  this->gpu->sum_into(gper.data(), batch, 1.0, gacc.data());
  this->gpu->accumulate_metric(MetricKind::SparseCategoricalAccuracy, nullptr, gP.data(), gY.data(),
                               nullptr, n_out, batch, gacc.data() + 1);
  this->expect_close(this->down(gper), per, "loss values");
  this->expect_close(this->down(ggrad), grad, "loss gradient");
  const auto acc = this->down(gacc);
  EXPECT_NEAR(acc[0], acc_cpu[0], 1e-5 * std::abs(acc_cpu[0]));
  EXPECT_EQ(acc[1], acc_cpu[1]);
  EXPECT_EQ(acc[2], acc_cpu[2]);

  // Activation derivative in place, then the dense layer's backward with its bias gradient.
  const auto W = uniform<T>(units * in, -1, 1, 20), X = uniform<T>(in * batch, -1, 1, 21);
  const auto Z = uniform<T>(units * batch, -2, 2, 22), dA = uniform<T>(units * batch, -1, 1, 23);
  for (Activation act : {Activation::Relu, Activation::Gelu, Activation::Tanh}) {
    std::vector<T> A(units * batch), d = dA, dW(units * in), db(units), dX(in * batch);
    this->cpu->activation_forward(act, Z.data(), A.data(), units, batch);
    this->cpu->activation_backward(act, Z.data(), A.data(), d.data(), d.data(), units, batch);
    this->cpu->dense_backward(W.data(), X.data(), d.data(), dW.data(), db.data(), dX.data(), units,
                              in, batch);
    auto gW = this->up(W), gX = this->up(X), gZ = this->up(Z), gA = this->up(A), gd = this->up(dA);
    auto gdW = this->zeros(units * in), gdb = this->zeros(units), gdX = this->zeros(in * batch);
    this->gpu->activation_backward(act, gZ.data(), gA.data(), gd.data(), gd.data(), units, batch);
    this->gpu->dense_backward(gW.data(), gX.data(), gd.data(), gdW.data(), gdb.data(), gdX.data(),
                              units, in, batch);
    const std::string what = activation_name(act);
    this->expect_close(this->down(gd), d, what + " dZ");
    this->expect_close(this->down(gdb), db, what + " db");
    this->expect_close(this->down(gdW), dW, what + " dW");
    this->expect_close(this->down(gdX), dX, what + " dX");
  }

  // A batch's inputs and targets, gathered in the same order.
  std::vector<std::int64_t> order(batch);
  for (Index j = 0; j < batch; ++j) order[j] = (j * 37) % batch;
  std::vector<T> xb(in * 20), yb(20);
  this->cpu->gather_columns(X.data(), in, order.data(), 13, 20, xb.data());
  this->cpu->gather_columns(Y.data(), 1, order.data(), 13, 20, yb.data());
  auto gorder = this->up(order), gX = this->up(X);
  auto gxb = this->zeros(in * 20), gyb = this->zeros(20);
  this->gpu->gather_columns(gX.data(), in, gorder.data(), 13, 20, gxb.data());
  this->gpu->gather_columns(gY.data(), 1, gorder.data(), 13, 20, gyb.data());
  EXPECT_EQ(this->down(gxb), xb);
  EXPECT_EQ(this->down(gyb), yb);
}

LayerSpec l2_dense(Index units, Activation act, double l2) {
  LayerSpec l = dense_spec(units, act);
  l.nums["l2"] = l2;
  return l;
}

/// A classifier with dropout and L2 trained for three epochs; returns its parameters and the
/// last epoch's loss.
template <typename T>
std::pair<std::vector<T>, double> train(std::unique_ptr<Backend<T>> backend, bool shuffle) {
  const Index n_in = 20, n = 500;
  Model<T> model(n_in,
                 {l2_dense(64, Activation::Relu, 1e-3), dropout_spec(0.25),
                  dense_spec(32, Activation::Tanh), dense_spec(4, Activation::Softmax)},
                 std::move(backend), 9);
  for (std::size_t i = 0; i < model.n_layers(); ++i)
    if (model.param_offset(i) >= 0)
      model.initialize(i, Initializer::from_name("glorot_uniform"),
                       Initializer::from_name("zeros"));
  OptimizerConfig adam;
  adam.kind = OptimizerKind::Adam;
  adam.learning_rate.initial = 0.01;
  model.compile(LossKind::SparseCategoricalCrossentropy, adam,
                {MetricKind::SparseCategoricalAccuracy});
  const auto x = uniform<T>(n_in * n, -1, 1, 18);
  std::vector<T> y(n);
  for (Index j = 0; j < n; ++j) y[j] = T(x[j * n_in] + x[j * n_in + 1] > 0 ? 1 : 0) + T(j % 2 * 2);
  DataSet<T> data(model.backend(), x.data(), n_in, y.data(), 1, n);
  Trainer<T> trainer(model);
  PassResult r;
  for (int epoch = 0; epoch < 3; ++epoch) r = trainer.fit_epoch(data, 32, shuffle);
  std::vector<T> p(model.n_params());
  model.get_params(p.data());
  return {p, r.loss};
}

TYPED_TEST(CudaVsCpu, TrainingMatchesCpuAndGraphsMatchDirectLaunches) {
  using T = TypeParam;
  const auto [p_cpu, loss_cpu] = train<T>(make_cpu_backend<T>(), false);
  const auto [p_gpu, loss_gpu] = train<T>(make_cuda_backend<T>(), false);
  this->expect_close(p_gpu, p_cpu, "parameters after 3 epochs");
  EXPECT_NEAR(loss_gpu, loss_cpu, (std::is_same_v<T, float> ? 1e-4 : 1e-10) * loss_cpu);

  const auto shuffled = train<T>(make_cuda_backend<T>(), true);
  EXPECT_EQ(train<T>(make_cuda_backend<T>(), true).first, shuffled.first);
  setenv("EIGENNET_CUDA_GRAPHS", "0", 1);
  const auto direct = train<T>(make_cuda_backend<T>(), true);
  unsetenv("EIGENNET_CUDA_GRAPHS");
  EXPECT_EQ(direct.first, shuffled.first);
  EXPECT_EQ(direct.second, shuffled.second);
}

}  // namespace
}  // namespace eigennet
