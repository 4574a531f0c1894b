// Activation kernels of the CPU backend: forward values against hand-computed numbers and
// independent formulas, extreme inputs, and activation_backward against finite differences.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <vector>

#include "eigennet/activations.h"
#include "eigennet/backend.h"
#include "test_backends.h"
#include "test_util.h"

namespace eigennet {
namespace {

using test::FloatTypes;
using test::near_rel;
using test::tol;

/// Every activation but softmax (which works on whole columns).
std::vector<Activation> elementwise() {
  std::vector<Activation> out;
  for (Activation a : test::kAllActivations)
    if (!per_column(a)) out.push_back(a);
  return out;
}
const std::vector<Activation> kElementwise = elementwise();

/// Textbook forms in double, written independently of activations.h (fine for moderate z).
double reference(Activation act, double z) {
  switch (act) {
    case Activation::Sigmoid: return 1.0 / (1.0 + std::exp(-z));
    case Activation::Tanh: return std::tanh(z);
    case Activation::Relu: return z > 0 ? z : 0.0;
    case Activation::LeakyRelu: return z > 0 ? z : 0.2 * z;
    case Activation::Elu: return z > 0 ? z : std::exp(z) - 1.0;
    case Activation::Gelu: return 0.5 * z * (1.0 + std::erf(z / std::sqrt(2.0)));
    case Activation::Softplus: return std::log(1.0 + std::exp(z));
    case Activation::Selu:
      return 1.0507009873554805 * (z > 0 ? z : 1.6732632423543772 * (std::exp(z) - 1.0));
    case Activation::Silu: return z / (1.0 + std::exp(-z));
    case Activation::Mish: return z * std::tanh(std::log(1.0 + std::exp(z)));
    case Activation::HardSigmoid: return z <= -3 ? 0.0 : (z >= 3 ? 1.0 : z / 6 + 0.5);
    case Activation::HardSilu: return z <= -3 ? 0.0 : (z >= 3 ? z : z * (z / 6 + 0.5));
    case Activation::Relu6: return z < 0 ? 0.0 : (z > 6 ? 6.0 : z);
    case Activation::Softsign: return z / (1.0 + std::fabs(z));
    case Activation::Exponential: return std::exp(z);
    default: return z;
  }
}

template <typename Param>
class ActivationTest : public test::OnBackend<Param> {
 protected:
  using T = typename Param::Scalar;

  std::vector<T> forward(const ActivationSpec& act, const std::vector<T>& z, Index rows) {
    std::vector<T> a(z.size());
    this->be->activation_forward(act, z.data(), a.data(), rows,
                                 static_cast<Index>(z.size()) / rows);
    return a;
  }
  T forward1(const ActivationSpec& act, T z) { return forward(act, {z}, 1)[0]; }
};
TYPED_TEST_SUITE(ActivationTest, test::Backends, test::BackendNames);

TYPED_TEST(ActivationTest, HandComputedValues) {
  using T = typename TypeParam::Scalar;
  struct Case {
    Activation act;
    double z, expected;
  };
  const Case cases[] = {
      {Activation::Linear, -1.5, -1.5},
      {Activation::Sigmoid, 0.0, 0.5},
      {Activation::Sigmoid, 2.0, 0.8807970779778823},
      {Activation::Sigmoid, -2.0, 1.0 - 0.8807970779778823},
      {Activation::Tanh, 0.5, 0.46211715726000974},
      {Activation::Tanh, -0.5, -0.46211715726000974},
      {Activation::Relu, -3.0, 0.0},
      {Activation::Relu, 2.5, 2.5},
      {Activation::LeakyRelu, -2.5, -0.5},
      {Activation::LeakyRelu, 1.5, 1.5},
      {Activation::Elu, -1.0, -0.6321205588285577},
      {Activation::Elu, 2.0, 2.0},
      {Activation::Gelu, 0.0, 0.0},
      {Activation::Gelu, 1.0, 0.8413447460685429},
      {Activation::Gelu, -0.5, -0.15426876936299344},
      {Activation::Softplus, 0.0, 0.6931471805599453},
  };
  for (const Case& c : cases)
    EXPECT_TRUE(near_rel(this->forward1(c.act, T(c.z)), c.expected, tol<T>()))
        << activation_name(c.act) << "(" << c.z << ")";
}

TYPED_TEST(ActivationTest, MatchesTextbookFormulas) {
  using T = typename TypeParam::Scalar;
  const std::vector<T> z = {T(-4), T(-1.25), T(-0.3), T(0.01), T(0.7), T(2), T(5.5), T(8)};
  for (Activation act : kElementwise) {
    const std::vector<T> a = this->forward(act, z, 2);
    for (std::size_t i = 0; i < z.size(); ++i)
      EXPECT_TRUE(near_rel(a[i], reference(act, z[i]), tol<T>()))
          << activation_name(act) << "(" << z[i] << ")";
  }
}

TYPED_TEST(ActivationTest, ExtremeInputsStayFinite) {
  using T = typename TypeParam::Scalar;
  const T big = T(1e4);
  struct Case {
    Activation act;
    double at_plus, at_minus;  // g(+1e4), g(-1e4)
  };
  const Case cases[] = {
      {Activation::Sigmoid, 1.0, 0.0},
      {Activation::Tanh, 1.0, -1.0},
      {Activation::Softplus, 1e4, 0.0},
      {Activation::Elu, 1e4, -1.0},
      {Activation::Gelu, 1e4, 0.0},
      {Activation::Relu, 1e4, 0.0},
      {Activation::LeakyRelu, 1e4, -2e3},
      {Activation::Selu, 1.0507009873554805e4, -1.7580993408473766},
      {Activation::Silu, 1e4, 0.0},
      {Activation::Mish, 1e4, 0.0},
      {Activation::HardSigmoid, 1.0, 0.0},
      {Activation::HardSilu, 1e4, 0.0},
      {Activation::Relu6, 6.0, 0.0},
      {Activation::Softsign, 1e4 / (1e4 + 1), -1e4 / (1e4 + 1)},
  };
  for (const Case& c : cases) {
    const std::vector<T> a = this->forward(c.act, {big, -big}, 1);
    ASSERT_TRUE(std::isfinite(a[0]) && std::isfinite(a[1])) << activation_name(c.act);
    EXPECT_TRUE(near_rel(a[0], c.at_plus, tol<T>())) << activation_name(c.act) << "(+1e4)";
    EXPECT_TRUE(near_rel(a[1], c.at_minus, tol<T>())) << activation_name(c.act) << "(-1e4)";
  }
}

TYPED_TEST(ActivationTest, SoftmaxExtremeColumnIsOneHot) {
  using T = typename TypeParam::Scalar;
  const std::vector<T> a = this->forward(Activation::Softmax, {T(1e4), T(-1e4), T(0)}, 3);
  for (T v : a) ASSERT_TRUE(std::isfinite(v));
  EXPECT_EQ(a[0], T(1));
  EXPECT_NEAR(a[1], 0.0, 1e-30);
  EXPECT_NEAR(a[2], 0.0, 1e-30);
}

TYPED_TEST(ActivationTest, LeakyReluSlopeIsKerasDefault) {
  using T = typename TypeParam::Scalar;
  EXPECT_EQ(kLeakyReluSlope, 0.2);
  EXPECT_TRUE(near_rel(this->forward1(Activation::LeakyRelu, T(-10)), -2.0, tol<T>()));
  EXPECT_EQ(this->forward1(Activation::LeakyRelu, T(0)), T(0));
}

TYPED_TEST(ActivationTest, GeluIsErfFormNotTanhApproximation) {
  using T = typename TypeParam::Scalar;
  const double erf_form = 0.8413447460685429, tanh_form = 0.8411919906082768;
  const T a = this->forward1(Activation::Gelu, T(1));
  EXPECT_TRUE(near_rel(a, erf_form, tol<T>()));
  EXPECT_GT(std::abs(a - tanh_form), 1e-4);
}

TYPED_TEST(ActivationTest, SoftmaxColumnsSumToOne) {
  using T = typename TypeParam::Scalar;
  const Index rows = 5, cols = 7;
  std::vector<T> z = test::uniform<T>(rows * cols, -6, 6, 11);
  z[rows * 3 + 1] = T(900);  // exp(900) overflows double: the column max must be subtracted
  const std::vector<T> a = this->forward(Activation::Softmax, z, rows);
  for (Index j = 0; j < cols; ++j) {
    double m = -1e300, s = 0, sum_a = 0;
    for (Index i = 0; i < rows; ++i) m = std::max<double>(m, z[j * rows + i]);
    for (Index i = 0; i < rows; ++i) s += std::exp(z[j * rows + i] - m);
    for (Index i = 0; i < rows; ++i) {
      const T v = a[j * rows + i];
      EXPECT_TRUE(near_rel(v, std::exp(z[j * rows + i] - m) / s, tol<T>()));
      sum_a += v;
    }
    EXPECT_TRUE(near_rel(sum_a, 1.0, 4 * tol<T>())) << "column " << j;
  }
}

TYPED_TEST(ActivationTest, SoftmaxHandComputed) {
  using T = typename TypeParam::Scalar;
  // softmax(0, ln 2, ln 5) = (1, 2, 5) / 8.
  const std::vector<T> a =
      this->forward(Activation::Softmax, {T(0), T(std::log(2.0)), T(std::log(5.0))}, 3);
  EXPECT_TRUE(near_rel(a[0], 0.125, tol<T>()));
  EXPECT_TRUE(near_rel(a[1], 0.25, tol<T>()));
  EXPECT_TRUE(near_rel(a[2], 0.625, tol<T>()));
}

TYPED_TEST(ActivationTest, LogSoftmaxHandComputed) {
  using T = typename TypeParam::Scalar;
  // log_softmax(0, ln 2, ln 5) = log((1, 2, 5) / 8); a column of ±1e4 stays finite.
  const std::vector<T> a =
      this->forward(Activation::LogSoftmax, {T(0), T(std::log(2.0)), T(std::log(5.0))}, 3);
  EXPECT_TRUE(near_rel(a[0], std::log(0.125), tol<T>()));
  EXPECT_TRUE(near_rel(a[2], std::log(0.625), 4 * tol<T>()));
  const std::vector<T> x = this->forward(Activation::LogSoftmax, {T(1e4), T(-1e4)}, 2);
  EXPECT_EQ(x[0], T(0));
  EXPECT_EQ(x[1], T(-2e4));
}

TYPED_TEST(ActivationTest, BackwardHandComputed) {
  using T = typename TypeParam::Scalar;
  // dZ = dA ⊙ g'(z): sigmoid'(0) = 1/4, tanh'(0) = 1, relu'(-1) = 0, leaky'(-1) = 0.2,
  // elu'(-1) = e^-1, gelu'(0) = 1/2, softplus'(0) = 1/2.
  struct Case {
    Activation act;
    double z, expected;
  };
  const Case cases[] = {
      {Activation::Sigmoid, 0.0, 0.25},   {Activation::Tanh, 0.0, 1.0},
      {Activation::Relu, -1.0, 0.0},      {Activation::Relu, 1.0, 1.0},
      {Activation::LeakyRelu, -1.0, 0.2}, {Activation::Elu, -1.0, std::exp(-1.0)},
      {Activation::Gelu, 0.0, 0.5},       {Activation::Softplus, 0.0, 0.5},
      {Activation::Linear, 3.0, 1.0},
  };
  for (const Case& c : cases) {
    const T z = T(c.z), a = this->forward1(c.act, z), dA = T(3);
    T dZ = 0;
    this->be->activation_backward(c.act, &z, &a, &dA, &dZ, 1, 1);
    EXPECT_TRUE(near_rel(dZ, 3 * c.expected, tol<T>())) << activation_name(c.act);
  }
}

TYPED_TEST(ActivationTest, BackwardInPlaceMatchesOutOfPlace) {
  using T = typename TypeParam::Scalar;
  const Index rows = 4, cols = 70;  // more than one 64-column panel
  const std::vector<T> z = test::uniform<T>(rows * cols, -3, 3, 5);
  const std::vector<T> dA = test::uniform<T>(rows * cols, -1, 1, 6);
  for (Activation act : {Activation::Sigmoid, Activation::Relu, Activation::Gelu,
                         Activation::Softmax, Activation::LogSoftmax, Activation::Linear}) {
    const std::vector<T> a = this->forward(act, z, rows);
    std::vector<T> out(z.size()), in_place = dA;
    this->be->activation_backward(act, z.data(), a.data(), dA.data(), out.data(), rows, cols);
    this->be->activation_backward(act, z.data(), a.data(), in_place.data(), in_place.data(), rows,
                                  cols);
    EXPECT_EQ(out, in_place) << activation_name(act);
  }
}

TYPED_TEST(ActivationTest, LinearInPlaceIsIdentity) {
  using T = typename TypeParam::Scalar;
  std::vector<T> z = {T(1), T(-2), T(3)};
  const std::vector<T> copy = z;
  this->be->activation_forward(Activation::Linear, z.data(), z.data(), 3, 1);
  EXPECT_EQ(z, copy);
}

// L(Z) = Σ R ⊙ g(Z) for a fixed random R, so dL/dZ = activation_backward(dA = R); z holds
// 4 x 3 values.
void expect_backward_matches_differences(Backend<double>& be, const ActivationSpec& act,
                                         std::vector<double> z) {
  const Index rows = 4, cols = 3;
  const std::vector<double> r = test::uniform<double>(rows * cols, -1, 1, 22);
  std::vector<double> a(z.size()), dz(z.size());
  auto loss = [&] {
    std::vector<double> out(z.size());
    be.activation_forward(act, z.data(), out.data(), rows, cols);
    double s = 0;
    for (std::size_t i = 0; i < z.size(); ++i) s += r[i] * out[i];
    return s;
  };
  be.activation_forward(act, z.data(), a.data(), rows, cols);
  be.activation_backward(act, z.data(), a.data(), r.data(), dz.data(), rows, cols);
  test::expect_gradients_match(dz, test::numeric_gradient(loss, z), 1e-6,
                               activation_name(act.kind));
}

class ActivationGradientTest
    : public ::testing::TestWithParam<std::tuple<Activation, test::DeviceKind>> {};

TEST_P(ActivationGradientTest, MatchesFiniteDifferences) {
  const Activation act = std::get<0>(GetParam());
  const test::DeviceKind device = std::get<1>(GetParam());
  if (!test::device_present(device)) GTEST_SKIP() << "no CUDA backend or no GPU";
  auto be = test::kernel_backend<double>(device);
  // Kinks of relu and leaky_relu are at 0; keep |z| >= 0.05 so eps = 1e-6 never crosses them.
  expect_backward_matches_differences(*be, act, test::uniform_away_from_zero(12, -3, 3, 0.05, 21));
}

INSTANTIATE_TEST_SUITE_P(AllActivations, ActivationGradientTest,
                         ::testing::Combine(::testing::ValuesIn(test::kAllActivations),
                                            test::AllDevices()),
                         [](const auto& info) {
                           return std::string(activation_name(std::get<0>(info.param))) +
                                  test::device_suffix(std::get<1>(info.param));
                         });

ActivationSpec relu_with(double slope, double threshold, double max_value = -1) {
  ActivationSpec a(Activation::Relu);
  a.negative_slope = slope;
  a.threshold = threshold;
  a.has_max = max_value >= 0;
  a.max_value = a.has_max ? max_value : 0.0;
  return a;
}

// Keras's golden numbers: activations.relu's docstring and layers/activations/relu_test.py.
TYPED_TEST(ActivationTest, ReluArgumentsAsKeras) {
  using T = typename TypeParam::Scalar;
  const std::vector<T> x{T(-10), T(-5), T(0), T(5), T(10)};
  auto expect = [&](const ActivationSpec& act, const std::vector<T>& in,
                    const std::vector<double>& want) {
    const std::vector<T> got = this->forward(act, in, 1);
    for (std::size_t i = 0; i < want.size(); ++i)
      EXPECT_NEAR(static_cast<double>(got[i]), want[i], 1e-6) << "element " << i;
  };
  expect(relu_with(0.5, 0), x, {-5, -2.5, 0, 5, 10});
  expect(relu_with(0, 0, 5), x, {0, 0, 0, 5, 5});
  expect(relu_with(0, 5), x, {0, 0, 0, 0, 10});
  expect(relu_with(0.5, 0, 10), x, {-5, -2.5, 0, 5, 10});
  expect(relu_with(0, 0, 10), x, {0, 0, 0, 5, 10});
  expect(relu_with(0, 5, 8), {T(6), T(7), T(0), T(5), T(10)}, {6, 7, 0, 0, 8});
  // relu_test's layer arguments: slope 1 below the threshold 0.5, at most 10.
  expect(relu_with(1, 0.5, 10), {T(-1), T(0.25), T(2), T(12)}, {-1.5, -0.25, 2, 10});
  ActivationSpec leaky(Activation::LeakyRelu);
  leaky.negative_slope = 0.3;
  expect(leaky, {T(-10), T(3)}, {-3, 3});
  ActivationSpec elu(Activation::Elu);
  elu.alpha = 2;
  expect(elu, {T(-1), T(1)}, {2 * std::expm1(-1.0), 1});
}

// The arguments' derivatives against finite differences, away from the kinks (0, the
// threshold and max_value).
TEST(ActivationArguments, DerivativesMatchFiniteDifferences) {
  ActivationSpec leaky(Activation::LeakyRelu), elu(Activation::Elu);
  leaky.negative_slope = 0.3;
  elu.alpha = 2.5;
  for (test::DeviceKind device : {test::DeviceKind::Cpu, test::DeviceKind::Cuda}) {
    if (!test::device_present(device)) continue;
    auto be = test::kernel_backend<double>(device);
    for (const ActivationSpec& act : {relu_with(0.5, 0.5, 3), relu_with(0, 0, 6), relu_with(0.2, 1),
                                      relu_with(0, 0.75), leaky, elu})
      expect_backward_matches_differences(
          *be, act, {-2.3, -0.7, 0.21, 0.37, 0.77, 1.4, 2.6, 3.5, 6.4, -5.1, 0.9, 4.2});
  }
}

TEST(ActivationArguments, ValidateNamesTheBadArgument) {
  ActivationSpec sigmoid(Activation::Sigmoid);
  sigmoid.alpha = 2;
  EXPECT_THROW(validate(sigmoid), std::invalid_argument);
  ActivationSpec tanh_max(Activation::Tanh);
  tanh_max.has_max = true;
  EXPECT_THROW(validate(tanh_max), std::invalid_argument);
  ActivationSpec bad = relu_with(std::nan(""), 0);
  try {
    validate(bad);
    ADD_FAILURE() << "a NaN slope was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("negative_slope"), std::string::npos) << e.what();
  }
  EXPECT_NO_THROW(validate(relu_with(0.1, 2, 4)));
  EXPECT_NO_THROW(validate(ActivationSpec(Activation::LeakyRelu)));
}

TEST(ActivationNames, RoundTripAndUnknown) {
  for (Activation act : kElementwise) EXPECT_EQ(activation_from_name(activation_name(act)), act);
  EXPECT_EQ(activation_from_name("softmax"), Activation::Softmax);
  EXPECT_THROW(activation_from_name("swish"), std::invalid_argument);
}

}  // namespace
}  // namespace eigennet
