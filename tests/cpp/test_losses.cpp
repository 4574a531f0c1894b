// Loss and metric kernels: values against closed forms (clipping, large logits), gradients of every
// LossKind against finite differences, and the fused (activation, loss) mapping.
#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>
#include <vector>

#include "eigennet/backend.h"
#include "eigennet/losses.h"
#include "test_backends.h"
#include "test_util.h"

namespace eigennet {
namespace {

using test::FloatTypes;
using test::near_rel;
using test::tol;

template <typename Param>
class LossTest : public test::OnBackend<Param> {
 protected:
  using T = typename Param::Scalar;

  /// Per-sample values and the gradient of grad_scale * Σ per_sample; P is (n_out, batch).
  struct Result {
    std::vector<T> values, grad;
  };
  Result run(LossKind kind, const std::vector<T>& P, const std::vector<T>& Y, Index n_out,
             T grad_scale = T(1)) {
    const Index batch = static_cast<Index>(P.size()) / n_out;
    Result r{std::vector<T>(batch), std::vector<T>(P.size())};
    this->be->loss(kind, P.data(), Y.data(), nullptr, n_out, batch, grad_scale, r.values.data(),
                   r.grad.data());
    return r;
  }
  void expect_values(const std::vector<T>& actual, const std::vector<double>& expected,
                     double rtol = tol<T>()) {
    ASSERT_EQ(actual.size(), expected.size());
    for (std::size_t i = 0; i < actual.size(); ++i)
      EXPECT_TRUE(near_rel(actual[i], expected[i], rtol)) << "entry " << i;
  }
};
TYPED_TEST_SUITE(LossTest, test::Backends, test::BackendNames);

TYPED_TEST(LossTest, MeanSquaredError) {
  // Per-sample value is the mean over outputs: ((1-0)^2 + 0 + (3-5)^2) / 3; grad 2(p - y) / 3.
  const auto r = this->run(LossKind::MeanSquaredError, {1, 2, 3}, {0, 2, 5}, 3);
  this->expect_values(r.values, {5.0 / 3});
  this->expect_values(r.grad, {2.0 / 3, 0.0, -4.0 / 3});
}

TYPED_TEST(LossTest, MeanAbsoluteError) {
  using T = typename TypeParam::Scalar;
  const auto r = this->run(LossKind::MeanAbsoluteError, {1, 2, 3}, {0, T(2.5), 5}, 3);
  this->expect_values(r.values, {3.5 / 3});
  this->expect_values(r.grad, {1.0 / 3, -1.0 / 3, -1.0 / 3});
}

TYPED_TEST(LossTest, BinaryCrossentropyOnProbabilities) {
  using T = typename TypeParam::Scalar;
  // Two samples of one output: (p=0.9, y=1) and (p=0.9, y=0).
  const auto r = this->run(LossKind::BinaryCrossentropy, {T(0.9), T(0.9)}, {1, 0}, 1);
  this->expect_values(r.values, {-std::log(0.9), -std::log(0.1)});
  this->expect_values(r.grad, {-1 / 0.9, 1 / 0.1}, 10 * tol<T>());
  // Two outputs in one sample: the per-sample value is their mean.
  const auto m = this->run(LossKind::BinaryCrossentropy, {T(0.9), T(0.2)}, {1, 0}, 2);
  this->expect_values(m.values, {-(std::log(0.9) + std::log(0.8)) / 2});
}

TYPED_TEST(LossTest, BinaryCrossentropyClipsAtEpsilon) {
  using T = typename TypeParam::Scalar;
  // p = 0 and p = 1 are clipped to [1e-7, 1 - 1e-7] (1 - 1e-7 rounded to T), and the clipped
  // entries pass no gradient.
  const double hi = static_cast<double>(T(1) - T(kEpsilon));
  const auto r = this->run(LossKind::BinaryCrossentropy, {0, 0, 1, 1}, {1, 0, 0, 1}, 1);
  ASSERT_TRUE(std::isfinite(r.values[0]) && std::isfinite(r.values[2]));
  EXPECT_TRUE(near_rel(r.values[0], -std::log(1e-7), 10 * tol<T>()));
  EXPECT_NEAR(r.values[1], -std::log(hi), 1e-13);
  EXPECT_TRUE(near_rel(r.values[2], -std::log(1 - hi), 10 * tol<T>()));
  EXPECT_NEAR(r.values[3], -std::log(hi), 1e-13);
  for (T g : r.grad) EXPECT_EQ(g, T(0));
}

TYPED_TEST(LossTest, BinaryCrossentropyLogitsIsStable) {
  using T = typename TypeParam::Scalar;
  const T big = T(1e4);
  const auto r =
      this->run(LossKind::BinaryCrossentropyLogits, {big, -big, big, -big, 0}, {1, 1, 0, 0, 1}, 1);
  for (T v : r.values) ASSERT_TRUE(std::isfinite(v));
  this->expect_values(r.values, {0.0, 1e4, 1e4, 0.0, std::log(2.0)});
  // Gradient sigmoid(z) - y.
  this->expect_values(r.grad, {0.0, -1.0, 1.0, 0.0, -0.5});
}

TYPED_TEST(LossTest, BinaryCrossentropyLogitsMatchesProbabilities) {
  using T = typename TypeParam::Scalar;
  // BCE(sigmoid(z), y) equals the logits form while sigmoid(z) stays inside the clip range.
  const double z = 1.3, y = 0.25, p = 1 / (1 + std::exp(-z));
  const auto r = this->run(LossKind::BinaryCrossentropyLogits, {T(z)}, {T(y)}, 1);
  this->expect_values(r.values, {-(y * std::log(p) + (1 - y) * std::log(1 - p))});
  this->expect_values(r.grad, {p - y});
}

TYPED_TEST(LossTest, CategoricalCrossentropyRenormalisesRows) {
  using T = typename TypeParam::Scalar;
  // p sums to 2, so q = (0.2, 0.3, 0.5); L = -log 0.3. With g = dL/dq = (0, -1/0.3, 0) and
  // Σ g q = -1: dL/dp = (g + 1) / 2.
  const auto r = this->run(LossKind::CategoricalCrossentropy, {T(0.4), T(0.6), 1}, {0, 1, 0}, 3);
  this->expect_values(r.values, {-std::log(0.3)});
  this->expect_values(r.grad, {0.5, (1 - 1 / 0.3) / 2, 0.5}, 10 * tol<T>());
  const auto s = this->run(LossKind::SparseCategoricalCrossentropy, {T(0.4), T(0.6), 1}, {1}, 3);
  this->expect_values(s.values, {-std::log(0.3)});
  this->expect_values(s.grad, {0.5, (1 - 1 / 0.3) / 2, 0.5}, 10 * tol<T>());
}

TYPED_TEST(LossTest, CategoricalCrossentropyClipsZeroProbability) {
  using T = typename TypeParam::Scalar;
  const auto r = this->run(LossKind::CategoricalCrossentropy, {0, T(0.5), T(0.5)}, {1, 0, 0}, 3);
  ASSERT_TRUE(std::isfinite(r.values[0]));
  EXPECT_TRUE(near_rel(r.values[0], -std::log(1e-7), 10 * tol<T>()));
  for (T g : r.grad) EXPECT_TRUE(std::isfinite(g));
}

TYPED_TEST(LossTest, CategoricalCrossentropyLogits) {
  using T = typename TypeParam::Scalar;
  // softmax(0, ln 2, ln 5) = (1, 2, 5) / 8: L = -log(5/8), gradient softmax - y.
  const auto r = this->run(LossKind::CategoricalCrossentropyLogits,
                           {0, T(std::log(2.0)), T(std::log(5.0))}, {0, 0, 1}, 3);
  this->expect_values(r.values, {-std::log(5.0 / 8)});
  this->expect_values(r.grad, {1.0 / 8, 2.0 / 8, 5.0 / 8 - 1});
  // Soft labels: L = Σy · lse(z) - Σ y z.
  const auto soft = this->run(LossKind::CategoricalCrossentropyLogits,
                              {0, T(std::log(2.0)), T(std::log(5.0))}, {T(0.25), T(0.75), 0}, 3);
  this->expect_values(soft.values, {std::log(8.0) - 0.75 * std::log(2.0)});
}

TYPED_TEST(LossTest, CategoricalLogitsStableForHugeLogits) {
  using T = typename TypeParam::Scalar;
  const T big = T(1e4);
  const auto r = this->run(LossKind::CategoricalCrossentropyLogits, {big, 0, -big}, {0, 1, 0}, 3);
  this->expect_values(r.values, {1e4});
  this->expect_values(r.grad, {1.0, -1.0, 0.0});
  const auto s = this->run(LossKind::SparseCategoricalCrossentropyLogits,
                           {big, 0, -big, -big, 0, big}, {1, 2}, 3);
  this->expect_values(s.values, {1e4, 0.0});
  this->expect_values(s.grad, {1.0, -1.0, 0.0, 0.0, 0.0, 0.0});
}

TYPED_TEST(LossTest, GradScaleAndNullGradient) {
  using T = typename TypeParam::Scalar;
  const std::vector<T> P = {1, 2, 3, 4}, Y = {0, 0, 0, 0};
  const auto r = this->run(LossKind::MeanSquaredError, P, Y, 2, T(0.5));
  this->expect_values(r.values, {2.5, 12.5});
  this->expect_values(r.grad, {0.5, 1.0, 1.5, 2.0});  // 0.5 * 2p / 2
  std::vector<T> values(2);
  this->be->loss(LossKind::MeanSquaredError, P.data(), Y.data(), nullptr, 2, 2, T(1), values.data(),
                 nullptr);
  this->expect_values(values, {2.5, 12.5});
}

struct GradientCase {
  LossSpec kind;
  double p_lo, p_hi;     // range of predictions
  const char* tag = "";  // names a case with parameters
  std::vector<double> class_alpha = {};
};

LossSpec with(LossKind kind, double delta, double alpha, double gamma, bool balanced) {
  LossSpec s(kind);
  s.delta = delta;
  s.alpha = alpha;
  s.gamma = gamma;
  s.balanced = balanced;
  return s;
}

// Σ per_sample over a (3, 4) batch, differentiated numerically in every prediction.
class LossGradientTest
    : public ::testing::TestWithParam<std::tuple<GradientCase, test::DeviceKind>> {};

TEST_P(LossGradientTest, MatchesFiniteDifferences) {
  const GradientCase c = std::get<0>(GetParam());
  const test::DeviceKind device = std::get<1>(GetParam());
  if (!test::device_present(device)) GTEST_SKIP() << "no CUDA backend or no GPU";
  auto be = test::kernel_backend<double>(device);
  const Index n_out = 3, batch = 4;
  std::vector<double> P = test::uniform<double>(n_out * batch, c.p_lo, c.p_hi, 31);
  std::vector<double> Y;
  switch (c.kind.kind) {
    case LossKind::MeanAbsoluteError:
    case LossKind::MeanAbsolutePercentageError:
      // Keep |p - y| >= 0.1 so no difference crosses the kink.
      Y = test::uniform_away_from_zero(P.size(), -1, 1, 0.1, 32);
      for (std::size_t i = 0; i < P.size(); ++i) Y[i] += P[i];
      break;
    case LossKind::SparseCategoricalCrossentropy:
    case LossKind::SparseCategoricalCrossentropyLogits: Y = {0, 2, 1, 2}; break;
    case LossKind::Hinge:
    case LossKind::SquaredHinge:
      // Labels ±1 and predictions away from the kink at y·p = 1.
      Y.resize(P.size());
      for (std::size_t i = 0; i < P.size(); ++i) {
        Y[i] = i % 2 ? 1.0 : -1.0;
        if (std::abs(1.0 - Y[i] * P[i]) < 0.05) P[i] += 0.1;
      }
      break;
    case LossKind::CategoricalCrossentropy:
    case LossKind::CategoricalCrossentropyLogits:
    case LossKind::CategoricalFocalCrossentropy:
    case LossKind::CategoricalFocalCrossentropyLogits:
      // One one-hot column and three soft ones.
      Y = {0, 1, 0, 0.2, 0.3, 0.5, 0.6, 0.4, 0.0, 0.1, 0.1, 0.8};
      break;
    default: Y = test::uniform<double>(P.size(), 0, 1, 33);
  }
  std::vector<double> values(batch), grad(P.size());
  const double* alpha = c.class_alpha.empty() ? nullptr : c.class_alpha.data();
  auto loss = [&] {
    std::vector<double> v(batch);
    be->loss(c.kind, P.data(), Y.data(), alpha, n_out, batch, 1.0, v.data(), nullptr);
    double s = 0;
    for (double x : v) s += x;
    return s;
  };
  be->loss(c.kind, P.data(), Y.data(), alpha, n_out, batch, 1.0, values.data(), grad.data());
  test::expect_gradients_match(grad, test::numeric_gradient(loss, P), 1e-6, loss_name(c.kind.kind));
}

INSTANTIATE_TEST_SUITE_P(
    AllLosses, LossGradientTest,
    ::testing::Combine(
        ::testing::Values(
            GradientCase{LossKind::MeanSquaredError, -2, 2},
            GradientCase{LossKind::MeanAbsoluteError, -2, 2},
            GradientCase{LossKind::BinaryCrossentropy, 0.05, 0.95},
            GradientCase{LossKind::BinaryCrossentropyLogits, -4, 4},
            // Unnormalised rows, so the gradient carries the renormalisation.
            GradientCase{LossKind::CategoricalCrossentropy, 0.1, 1.0},
            GradientCase{LossKind::CategoricalCrossentropyLogits, -4, 4},
            GradientCase{LossKind::SparseCategoricalCrossentropy, 0.1, 1.0},
            GradientCase{LossKind::SparseCategoricalCrossentropyLogits, -4, 4},
            GradientCase{LossKind::MeanSquaredLogarithmicError, 0.05, 3},
            GradientCase{LossKind::MeanAbsolutePercentageError, -2, 2},
            GradientCase{LossKind::LogCosh, -3, 3}, GradientCase{LossKind::Huber, -3, 3},
            GradientCase{LossKind::Hinge, -3, 3}, GradientCase{LossKind::SquaredHinge, -3, 3},
            GradientCase{LossKind::Poisson, 0.1, 3},
            GradientCase{LossKind::KLDivergence, 0.05, 0.95},
            GradientCase{LossKind::CosineSimilarity, -2, 2},
            // Targets in [0, 1] and predictions far apart: no ties at the max.
            GradientCase{LossKind::CategoricalHinge, -3, 3},
            GradientCase{with(LossKind::Huber, 0.4, 0.25, 2, false), -3, 3, "_d04"},
            GradientCase{with(LossKind::Huber, 2.5, 0.25, 2, false), -3, 3, "_d25"},
            GradientCase{LossKind::BinaryFocalCrossentropy, 0.05, 0.95},
            GradientCase{LossKind::BinaryFocalCrossentropyLogits, -4, 4},
            GradientCase{with(LossKind::BinaryFocalCrossentropy, 1, 0.3, 0.7, true), 0.05, 0.95,
                         "_balanced"},
            GradientCase{with(LossKind::BinaryFocalCrossentropyLogits, 1, 0.3, 3.5, true), -4, 4,
                         "_balanced"},
            GradientCase{LossKind::CategoricalFocalCrossentropy, 0.1, 1.0},
            GradientCase{LossKind::CategoricalFocalCrossentropyLogits, -4, 4},
            GradientCase{with(LossKind::CategoricalFocalCrossentropyLogits, 1, 0.6, 0.5, false), -4,
                         4, "_g05"},
            GradientCase{
                LossKind::CategoricalFocalCrossentropy, 0.1, 1.0, "_class_alpha", {0.2, 1.5, 0.7}},
            GradientCase{LossKind::CategoricalFocalCrossentropyLogits,
                         -4,
                         4,
                         "_class_alpha",
                         {0.2, 1.5, 0.7}}),
        test::AllDevices()),
    [](const auto& info) {
      return std::string(loss_name(std::get<0>(info.param).kind.kind)) +
             std::get<0>(info.param).tag + test::device_suffix(std::get<1>(info.param));
    });

// A weight per class scales each class's term of the sum: with alpha = e_k only class k's term
// is left, so the loss with any alpha is Σ_k alpha_k · loss(e_k); equal weights are the scalar.
TYPED_TEST(LossTest, CategoricalFocalClassAlphaWeighsEachClassTerm) {
  using T = typename TypeParam::Scalar;
  const Index n_out = 3, batch = 2;
  const std::vector<T> P = {0.2, 0.5, 0.3, 0.6, 0.1, 0.3}, Y = {0, 1, 0, 0.5, 0.2, 0.3};
  auto values = [&](LossSpec spec, const std::vector<T>& alpha, std::vector<T>* grad) {
    std::vector<T> v(batch);
    this->be->loss(spec, P.data(), Y.data(), alpha.empty() ? nullptr : alpha.data(), n_out, batch,
                   T(1), v.data(), grad ? grad->data() : nullptr);
    return v;
  };
  for (LossKind kind :
       {LossKind::CategoricalFocalCrossentropy, LossKind::CategoricalFocalCrossentropyLogits}) {
    const std::vector<T> alpha = {0.2, 1.5, 0.7};
    std::vector<T> grad(P.size()), expected_grad(P.size(), T(0));
    const std::vector<T> v = values(kind, alpha, &grad);
    std::vector<double> expected(batch, 0.0);
    for (Index k = 0; k < n_out; ++k) {
      std::vector<T> unit(n_out, T(0)), g(P.size());
      unit[k] = T(1);
      const std::vector<T> vk = values(kind, unit, &g);
      for (Index j = 0; j < batch; ++j) expected[j] += double(alpha[k]) * double(vk[j]);
      for (std::size_t i = 0; i < g.size(); ++i) expected_grad[i] += alpha[k] * g[i];
    }
    this->expect_values(v, expected);
    this->expect_values(grad, std::vector<double>(expected_grad.begin(), expected_grad.end()));
    this->expect_values(values(with(kind, 1, 0.4, 2, false), {}, nullptr), [&] {
      const std::vector<T> same = values(kind, {0.4, 0.4, 0.4}, nullptr);
      return std::vector<double>(same.begin(), same.end());
    }());
  }
}

template <typename Param>
class MetricTest : public LossTest<Param> {
 protected:
  using T = typename Param::Scalar;

  /// The metric's result over A (n_out, batch) and Y, accumulated in two batches (the first
  /// sample, then the rest) to check that sums carry over.
  std::vector<T> run_metric(const Metric& m, const std::vector<T>& A, const std::vector<T>& Y,
                            Index n_out, const std::vector<T>& w = {}) {
    validate(m, n_out);
    const Index batch = static_cast<Index>(A.size()) / n_out;
    const Index n_y = metric_is_sparse(m.spec.kind) ? 1 : n_out;
    std::vector<double> sums(static_cast<std::size_t>(metric_n_sums(m.spec, n_out)), 0.0);
    const std::vector<double> constants = m.constants();
    const std::vector<T> t(constants.begin(), constants.end());
    const T* wp = w.empty() ? nullptr : w.data();
    this->be->accumulate_metric(m.spec, t.data(), A.data(), Y.data(), wp, n_out, 1, sums.data());
    this->be->accumulate_metric(m.spec, t.data(), A.data() + n_out, Y.data() + n_y,
                                wp ? wp + 1 : nullptr, n_out, batch - 1, sums.data());
    std::vector<double> r(static_cast<std::size_t>(metric_result_size(m, n_out)));
    metric_result(m, n_out, sums.data(), r.data());
    return std::vector<T>(r.begin(), r.end());
  }
};
TYPED_TEST_SUITE(MetricTest, test::Backends, test::BackendNames);

TYPED_TEST(MetricTest, HandComputedValues) {
  using T = typename TypeParam::Scalar;
  // Binary accuracy thresholds at p > 0.5, so 0.5 counts as class 0.
  this->expect_values(
      this->run_metric(MetricKind::BinaryAccuracy, {T(0.7), T(0.2), T(0.5)}, {1, 0, 1}, 3),
      {2.0 / 3});
  const std::vector<T> A = {T(0.1), T(0.7), T(0.2), T(0.5), T(0.3), T(0.2)};
  this->expect_values(this->run_metric(MetricKind::CategoricalAccuracy, A, {0, 1, 0, 0, 0, 1}, 3),
                      {0.5});
  this->expect_values(this->run_metric(MetricKind::SparseCategoricalAccuracy, A, {1, 0}, 3), {1.0});
  this->expect_values(this->run_metric(MetricKind::MeanSquaredError, {1, 2, 0, 0}, {0, 4, 0, 0}, 2),
                      {1.25});
  this->expect_values(
      this->run_metric(MetricKind::MeanAbsoluteError, {1, 2, 0, 0}, {0, 4, 0, 0}, 2), {0.75});
  // Weighted: Σ w·v / Σ w; RMSE is its square root.
  this->expect_values(
      this->run_metric(MetricKind::MeanSquaredError, {1, 2, 0, 0}, {0, 4, 0, 0}, 2, {3, 1}),
      {2.5 * 3 / 4});
  this->expect_values(
      this->run_metric(MetricKind::RootMeanSquaredError, {1, 2, 0, 0}, {0, 4, 0, 0}, 2, {3, 1}),
      {std::sqrt(2.5 * 3 / 4)});
  // Top-2 of [0.1, 0.7, 0.2] and [0.5, 0.3, 0.2]: class 2 is in the first, not in the second.
  MetricSpec top2(MetricKind::TopKCategoricalAccuracy);
  top2.k = 2;
  this->expect_values(this->run_metric(top2, A, {0, 0, 1, 0, 0, 1}, 3), {0.5});
  MetricSpec sparse_top2(MetricKind::SparseTopKCategoricalAccuracy);
  sparse_top2.k = 2;
  this->expect_values(this->run_metric(sparse_top2, A, {2, 1}, 3), {1.0});
}

TYPED_TEST(MetricTest, ConfusionCountsAndRates) {
  using T = typename TypeParam::Scalar;
  // Four samples of one output: labels 1 0 1 0, predictions 0.9 0.6 0.3 0.1.
  const std::vector<T> p = {T(0.9), T(0.6), T(0.3), T(0.1)}, y = {1, 0, 1, 0};
  Metric m(MetricKind::TruePositives);
  m.thresholds = {0.2, 0.5, 0.95};
  m.spec.n_thresholds = 3;
  this->expect_values(this->run_metric(m, p, y, 1), {2, 1, 0});
  m.spec.kind = MetricKind::FalsePositives;
  this->expect_values(this->run_metric(m, p, y, 1), {1, 1, 0});
  m.spec.kind = MetricKind::Precision;
  this->expect_values(this->run_metric(m, p, y, 1), {2.0 / 3, 0.5, 0.0});
  m.spec.kind = MetricKind::Recall;
  this->expect_values(this->run_metric(m, p, y, 1, {1, 1, 3, 1}), {1.0, 0.25, 0.0});
  // ROC AUC over 3 even thresholds (-ε, 0.5, 1 + ε): points (1, 1), (0.5, 0.5), (0, 0).
  Metric auc(MetricKind::AUC);
  auc.spec.spacing = ThresholdSpacing::EvenWithEpsilon;
  auc.spec.n_thresholds = 3;
  this->expect_values(this->run_metric(auc, p, y, 1), {0.5});
  // With 1001 thresholds the curve is exact: 3 of the 4 positive/negative pairs are ordered.
  auc.spec.n_thresholds = 1001;
  this->expect_values(this->run_metric(auc, p, y, 1), {0.75});
  // Top-1 of each row of a 2-class output counts only the larger prediction.
  Metric top(MetricKind::Precision);
  top.spec.top_k = 1;
  top.thresholds = {kMetricNegInf};
  const std::vector<T> A2 = {T(0.9), T(0.8), T(0.2), T(0.4)}, Y2 = {1, 1, 0, 1};
  this->expect_values(this->run_metric(top, A2, Y2, 2), {1.0});
  top.spec.class_id = 0;
  top.spec.top_k = 0;
  top.thresholds = {0.5};
  this->expect_values(this->run_metric(top, A2, Y2, 2), {1.0});
  // Label weights: pooled, label 1 (weight 0) drops out, leaving column 0 (AUC 1 with 1001
  // thresholds: 0.9 > 0.2); per label (multi_label) the mean Σ w·auc / Σ w of 1 and 0.
  Metric weighted(MetricKind::AUC);
  weighted.spec.spacing = ThresholdSpacing::EvenWithEpsilon;
  weighted.spec.n_thresholds = 1001;
  weighted.spec.label_weighted = true;
  weighted.label_weights = {1.0, 0.0};
  const std::vector<T> A3 = {T(0.9), T(0.1), T(0.2), T(0.7)}, Y3 = {1, 1, 0, 0};
  this->expect_values(this->run_metric(weighted, A3, Y3, 2), {1.0});
  weighted.spec.multi_label = true;
  weighted.label_weights = {3.0, 1.0};
  this->expect_values(this->run_metric(weighted, A3, Y3, 2), {0.75});
  weighted.label_weights = {1.0};
  EXPECT_THROW(validate(weighted, 2), std::invalid_argument);
  // from_sorted_ids: the label among the first k ids of each row.
  MetricSpec ids(MetricKind::SparseTopKCategoricalAccuracy);
  ids.k = 1;
  ids.sorted_ids = true;
  this->expect_values(this->run_metric(ids, {1, 0, 3, 1, 2, 3}, {2, 1}, 3), {0.5});
  ids.k = 2;
  this->expect_values(this->run_metric(ids, {1, 0, 3, 1, 2, 3}, {0, 2}, 3, {1, 3}), {1.0});
}

TYPED_TEST(MetricTest, FBetaAndR2) {
  using T = typename TypeParam::Scalar;
  // Two classes, argmax predictions: sample 0 -> class 0 (right), 1 -> class 1 (wrong), 2 -> class
  // 1 (right). Class 0: tp 1, fn 1; class 1: tp 1, fp 1.
  const std::vector<T> A = {T(0.8), T(0.2), T(0.3), T(0.7), T(0.4), T(0.6)};
  const std::vector<T> Y = {1, 0, 1, 0, 0, 1};
  Metric f(MetricKind::FBetaScore);
  f.spec.argmax = true;
  const double e = kEpsilon, p0 = 1 / (1 + e), r0 = 1 / (2 + e), p1 = 1 / (2 + e), r1 = 1 / (1 + e);
  const double f0 = 2 * p0 * r0 / (p0 + r0 + e), f1 = 2 * p1 * r1 / (p1 + r1 + e);
  this->expect_values(this->run_metric(f, A, Y, 2), {f0, f1});
  f.spec.average = MetricAverage::Macro;
  this->expect_values(this->run_metric(f, A, Y, 2), {(f0 + f1) / 2});
  // R2 of one output: y = 1 2 3 4, p = 1 2 3 5: 1 - 1 / 5.
  const std::vector<T> y = {1, 2, 3, 4}, p = {1, 2, 3, 5};
  this->expect_values(this->run_metric(MetricKind::R2Score, p, y, 1), {0.8});
  Metric adjusted(MetricKind::R2Score);
  adjusted.spec.num_regressors = 1;
  this->expect_values(this->run_metric(adjusted, p, y, 1), {1 - 0.2 * 3 / 2});
}

TEST(LossNames, FusedFormsAndNames) {
  EXPECT_EQ(fused_loss(Activation::Sigmoid, LossKind::BinaryCrossentropy),
            LossKind::BinaryCrossentropyLogits);
  EXPECT_EQ(fused_loss(Activation::Softmax, LossKind::CategoricalCrossentropy),
            LossKind::CategoricalCrossentropyLogits);
  EXPECT_EQ(fused_loss(Activation::Softmax, LossKind::SparseCategoricalCrossentropy),
            LossKind::SparseCategoricalCrossentropyLogits);
  EXPECT_EQ(fused_loss(Activation::Linear, LossKind::BinaryCrossentropy),
            LossKind::BinaryCrossentropy);
  EXPECT_EQ(fused_loss(Activation::Softmax, LossKind::MeanSquaredError),
            LossKind::MeanSquaredError);
  EXPECT_TRUE(is_sparse(LossKind::SparseCategoricalCrossentropyLogits));
  EXPECT_FALSE(is_sparse(LossKind::CategoricalCrossentropy));
  for (int k = 0; k <= static_cast<int>(LossKind::SparseCategoricalCrossentropyLogits); ++k)
    EXPECT_EQ(static_cast<int>(loss_from_name(loss_name(static_cast<LossKind>(k)))), k);
  EXPECT_THROW(loss_from_name("hinges"), std::invalid_argument);
  EXPECT_EQ(metric_from_name("sparse_categorical_accuracy"), MetricKind::SparseCategoricalAccuracy);
  EXPECT_EQ(metric_from_name("auc"), MetricKind::AUC);
  EXPECT_THROW(metric_from_name("aucs"), std::invalid_argument);
  Metric bad(MetricKind::Precision);
  bad.spec.class_id = 3;
  EXPECT_THROW(validate(bad, 3), std::invalid_argument);
  bad.spec.class_id = -1;
  bad.spec.n_thresholds = 2;  // the list holds one
  EXPECT_THROW(validate(bad, 3), std::invalid_argument);
}

}  // namespace
}  // namespace eigennet
