// Dense layer kernels: forward with bias and every activation on a hand-computed case, panels
// against a naive product, backward against hand-computed products and finite differences, and
// bitwise equality between 1 and 2 threads.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "eigennet/backend.h"
#include "test_backends.h"
#include "test_util.h"

namespace eigennet {
namespace {

using test::FloatTypes;
using test::near_rel;
using test::tol;

// W = [[1, 2, 3], [4, 5, 6]] (2 units, 3 inputs), X columns (1, 0, -1) and (0.5, 1, 2), b = (0.5,
// -1), all column-major.
const std::vector<double> kW = {1, 4, 2, 5, 3, 6};
const std::vector<double> kX = {1, 0, -1, 0.5, 1, 2};
const std::vector<double> kB = {0.5, -1};
// Z = W·X + b, worked out by hand.
const std::vector<double> kZ = {-1.5, -3, 9, 18};
const std::vector<double> kZNoBias = {-2, -2, 8.5, 19};

template <typename T>
std::vector<T> cast(const std::vector<double>& v) {
  return std::vector<T>(v.begin(), v.end());
}

/// g(z) in double, independent of the library (softmax needs the whole column).
std::vector<double> apply(Activation act, const std::vector<double>& z, Index rows) {
  std::vector<double> a(z.size());
  for (std::size_t j = 0; j < z.size() / rows; ++j) {
    double m = -1e300, s = 0;
    for (Index i = 0; i < rows; ++i) m = std::max(m, z[j * rows + i]);
    for (Index i = 0; i < rows; ++i) s += std::exp(z[j * rows + i] - m);
    for (Index i = 0; i < rows; ++i) {
      const double x = z[j * rows + i];
      double v = x;
      switch (act) {
        case Activation::Sigmoid: v = 1 / (1 + std::exp(-x)); break;
        case Activation::Tanh: v = std::tanh(x); break;
        case Activation::Relu: v = std::max(x, 0.0); break;
        case Activation::LeakyRelu: v = x > 0 ? x : 0.2 * x; break;
        case Activation::Elu: v = x > 0 ? x : std::exp(x) - 1; break;
        case Activation::Gelu: v = 0.5 * x * (1 + std::erf(x / std::sqrt(2.0))); break;
        case Activation::Softplus: v = std::log1p(std::exp(x)); break;
        case Activation::Softmax: v = std::exp(x - m) / s; break;
        case Activation::Linear: break;
      }
      a[j * rows + i] = v;
    }
  }
  return a;
}

template <typename Param>
class DenseTest : public test::OnBackend<Param> {
 protected:
  using T = typename Param::Scalar;

  void expect_values(const std::vector<T>& actual, const std::vector<double>& expected,
                     double rtol = tol<T>()) {
    ASSERT_EQ(actual.size(), expected.size());
    for (std::size_t i = 0; i < actual.size(); ++i)
      EXPECT_TRUE(near_rel(actual[i], expected[i], rtol)) << "entry " << i;
  }
};
TYPED_TEST_SUITE(DenseTest, test::Backends, test::BackendNames);

TYPED_TEST(DenseTest, ForwardWithBiasAndEachActivation) {
  using T = typename TypeParam::Scalar;
  const auto W = cast<T>(kW), X = cast<T>(kX), b = cast<T>(kB);
  for (Activation act : {Activation::Linear, Activation::Sigmoid, Activation::Tanh,
                         Activation::Relu, Activation::Softmax, Activation::LeakyRelu,
                         Activation::Elu, Activation::Gelu, Activation::Softplus}) {
    std::vector<T> Z(4), A(4);
    this->be->dense_forward(W.data(), b.data(), X.data(), Z.data(), A.data(), 2, 3, 2, act);
    SCOPED_TRACE(activation_name(act));
    this->expect_values(Z, kZ);
    this->expect_values(A, apply(act, kZ, 2));
  }
}

TYPED_TEST(DenseTest, ForwardWithoutBiasAndLinearInPlace) {
  using T = typename TypeParam::Scalar;
  const auto W = cast<T>(kW), X = cast<T>(kX);
  std::vector<T> Z(4);
  this->be->dense_forward(W.data(), nullptr, X.data(), Z.data(), Z.data(), 2, 3, 2,
                          Activation::Linear);
  this->expect_values(Z, kZNoBias);
}

TYPED_TEST(DenseTest, ForwardAcrossPanelsMatchesNaiveProduct) {
  using T = typename TypeParam::Scalar;
  // 150 samples = two full 64-column panels and a short one.
  const Index units = 5, inputs = 70, batch = 150;
  const auto W = test::uniform<T>(units * inputs, -1, 1, 1);
  const auto X = test::uniform<T>(inputs * batch, -1, 1, 2);
  const auto b = test::uniform<T>(units, -1, 1, 3);
  std::vector<T> Z(units * batch), A(units * batch);
  this->be->dense_forward(W.data(), b.data(), X.data(), Z.data(), A.data(), units, inputs, batch,
                          Activation::Tanh);
  for (Index j = 0; j < batch; ++j)
    for (Index i = 0; i < units; ++i) {
      double z = b[i];
      for (Index k = 0; k < inputs; ++k) z += double(W[k * units + i]) * X[j * inputs + k];
      // A 70-term dot product of float values in [-1, 1] loses a few ulp of 70.
      ASSERT_NEAR(Z[j * units + i], z, 70 * tol<T>()) << i << "," << j;
      ASSERT_NEAR(A[j * units + i], std::tanh(z), 70 * tol<T>()) << i << "," << j;
    }
}

TYPED_TEST(DenseTest, BackwardHandComputed) {
  using T = typename TypeParam::Scalar;
  const auto W = cast<T>(kW), X = cast<T>(kX);
  const std::vector<T> dZ = {1, -1, T(0.5), 2};
  std::vector<T> dW(6), db(2), dX(6);
  this->be->dense_backward(W.data(), X.data(), dZ.data(), dW.data(), db.data(), dX.data(), 2, 3, 2);
  // dW = dZ·Xᵀ, db = row sums of dZ, dX = Wᵀ·dZ.
  this->expect_values(dW, {1.25, 0, 0.5, 2, 0, 5});
  this->expect_values(db, {1.5, 1});
  this->expect_values(dX, {-3, -3, -3, 8.5, 11, 13.5});
  // db and dX are optional.
  std::vector<T> dW2(6);
  this->be->dense_backward(W.data(), X.data(), dZ.data(), dW2.data(), nullptr, nullptr, 2, 3, 2);
  EXPECT_EQ(dW2, dW);
}

struct DenseGradCase {
  Activation act;
  Index units, inputs, batch;
};

// L = Σ R ⊙ g(W·X + b) for random R: dL/dZ from activation_backward, then dense_backward.
class DenseGradientTest
    : public ::testing::TestWithParam<std::tuple<DenseGradCase, test::DeviceKind>> {};

TEST_P(DenseGradientTest, MatchesFiniteDifferences) {
  // Plain copies: C++17 lambdas cannot capture structured bindings.
  const DenseGradCase c = std::get<0>(GetParam());
  const test::DeviceKind device = std::get<1>(GetParam());
  const Activation act = c.act;
  const Index units = c.units, inputs = c.inputs, batch = c.batch;
  if (!test::device_present(device)) GTEST_SKIP() << "no CUDA backend or no GPU";
  auto be = test::kernel_backend<double>(device);
  std::vector<double> W = test::uniform<double>(units * inputs, -1, 1, 41);
  std::vector<double> X = test::uniform<double>(inputs * batch, -1, 1, 42);
  std::vector<double> b = test::uniform<double>(units, -0.5, 0.5, 43);
  const std::vector<double> R = test::uniform<double>(units * batch, -1, 1, 44);
  auto loss = [&] {
    std::vector<double> Z(units * batch), A(units * batch);
    be->dense_forward(W.data(), b.data(), X.data(), Z.data(), A.data(), units, inputs, batch, act);
    double s = 0;
    for (std::size_t i = 0; i < A.size(); ++i) s += R[i] * A[i];
    return s;
  };
  std::vector<double> Z(units * batch), A(units * batch), dZ(units * batch);
  be->dense_forward(W.data(), b.data(), X.data(), Z.data(), A.data(), units, inputs, batch, act);
  be->activation_backward(act, Z.data(), A.data(), R.data(), dZ.data(), units, batch);
  std::vector<double> dW(W.size()), db(b.size()), dX(X.size());
  be->dense_backward(W.data(), X.data(), dZ.data(), dW.data(), db.data(), dX.data(), units, inputs,
                     batch);
  const std::string name = activation_name(act);
  test::expect_gradients_match(dW, test::numeric_gradient(loss, W), 1e-6, name + " dW");
  test::expect_gradients_match(db, test::numeric_gradient(loss, b), 1e-6, name + " db");
  test::expect_gradients_match(dX, test::numeric_gradient(loss, X), 1e-6, name + " dX");
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, DenseGradientTest,
    ::testing::Combine(::testing::Values(DenseGradCase{Activation::Linear, 3, 4, 5},
                                         DenseGradCase{Activation::Tanh, 3, 4, 5},
                                         DenseGradCase{Activation::Sigmoid, 3, 4, 5},
                                         DenseGradCase{Activation::Softmax, 3, 4, 5},
                                         DenseGradCase{Activation::Gelu, 3, 4, 5},
                                         // Crosses the 64-column panels of dW (inputs) and of
                                         // dX (batch).
                                         DenseGradCase{Activation::Tanh, 2, 70, 66}),
                       test::AllDevices()),
    [](const auto& info) {
      const DenseGradCase& c = std::get<0>(info.param);
      return std::string(activation_name(c.act)) + "_" + std::to_string(c.units) + "x" +
             std::to_string(c.inputs) + "x" + std::to_string(c.batch) +
             test::device_suffix(std::get<1>(info.param));
    });

// Panels are fixed, so the thread count must not change a single bit. 256 x 784 x 256 is 51M
// multiply-adds, far above the threshold where a second thread engages. Buffers are 64-byte
// aligned like the model's workspaces (see BiasGradientIndependentOfAlignment for why).
TEST(DenseThreads, OneAndTwoThreadsAreBitwiseIdentical) {
  auto be = make_cpu_backend<float>();
  const Index units = 256, inputs = 784, batch = 256;
  const auto W = test::uniform<float>(units * inputs, -0.1, 0.1, 51);
  const auto X = test::uniform<float>(inputs * batch, 0, 1, 52);
  const auto b = test::uniform<float>(units, -0.1, 0.1, 53);
  const auto dZ = test::uniform<float>(units * batch, -1, 1, 54);
  auto copy = [](const Buffer<float>& buf) {
    return std::vector<float>(buf.data(), buf.data() + buf.size());
  };
  auto run = [&](int threads) {
    set_num_threads(threads);
    Buffer<float> Z(*be, units * batch), A(*be, units * batch), dW(*be, units * inputs),
        db(*be, units), dX(*be, inputs * batch);
    be->dense_forward(W.data(), b.data(), X.data(), Z.data(), A.data(), units, inputs, batch,
                      Activation::Softmax);
    be->dense_backward(W.data(), X.data(), dZ.data(), dW.data(), db.data(), dX.data(), units,
                       inputs, batch);
    return std::vector<std::vector<float>>{copy(Z), copy(A), copy(dW), copy(db), copy(dX)};
  };
  const auto one = run(1), two = run(2);
  set_num_threads(1);
  const char* names[] = {"Z", "A", "dW", "db", "dX"};
  for (int k = 0; k < 5; ++k) EXPECT_EQ(one[k], two[k]) << names[k];
}

// The same inputs should give the same bits wherever the outputs live.
TEST(DenseAlignment, ResultsIndependentOfBufferAlignment) {
  auto be = make_cpu_backend<float>();
  const Index units = 256, inputs = 8, batch = 64;
  const auto W = test::uniform<float>(units * inputs, -1, 1, 57);
  const auto X = test::uniform<float>(inputs * batch, 0, 1, 55);
  const auto dZ = test::uniform<float>(units * batch, -1, 1, 56);
  std::vector<float> dW(units * inputs);
  Buffer<float> aligned(*be, units * batch), shifted(*be, units * batch + 1);
  float* moved = shifted.data() + 1;
  be->dense_backward(W.data(), X.data(), dZ.data(), dW.data(), aligned.data(), nullptr, units,
                     inputs, batch);
  be->dense_backward(W.data(), X.data(), dZ.data(), dW.data(), moved, nullptr, units, inputs,
                     batch);
  EXPECT_EQ(std::vector<float>(aligned.data(), aligned.data() + units),
            std::vector<float>(moved, moved + units));
  Buffer<float> z_aligned(*be, units * batch), z_shifted(*be, units * batch + 1);
  std::copy(dZ.begin(), dZ.end(), z_aligned.data());
  std::copy(dZ.begin(), dZ.end(), z_shifted.data() + 1);
  be->activation_forward(Activation::Softmax, z_aligned.data(), aligned.data(), units, batch);
  be->activation_forward(Activation::Softmax, z_shifted.data() + 1, moved, units, batch);
  EXPECT_EQ(std::vector<float>(aligned.data(), aligned.data() + units * batch),
            std::vector<float>(moved, moved + units * batch));
}

}  // namespace
}  // namespace eigennet
