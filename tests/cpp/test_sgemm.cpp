// Every kernel set this CPU can run: its float GEMM against Eigen's product over shapes with
// ragged edges, every operand layout the dense layer uses, and accumulation; its dense layer
// against the baseline set's; and the dispatch itself (listing, forcing, refusing).
#include <gtest/gtest.h>

#include <Eigen/Core>
#include <string>
#include <vector>

#include "cpu/kernel_set.h"
#include "eigennet/config.h"

namespace eigennet::cpu {
namespace {

using M = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic>;

struct Shape {
  std::ptrdiff_t m, n, k;
};

class SgemmTest : public ::testing::TestWithParam<Shape> {};

TEST_P(SgemmTest, MatchesEigenForEveryLayoutInEverySet) {
  const auto [m, n, k] = GetParam();
  std::srand(7);
  const M A = M::Random(m, k), B = M::Random(k, n), C0 = M::Random(m, n);
  const M At = A.transpose(), Bt = B.transpose();
  const M expected = A * B;
  const float tol = 1e-5f * static_cast<float>(k);
  for (const KernelTable* set : runnable_kernel_sets()) {
    for (int layout = 0; layout < 4; ++layout) {
      // A as stored (N) or from its transpose (T); B likewise.
      const float* a = layout & 1 ? At.data() : A.data();
      const Index a_rs = layout & 1 ? k : 1, a_cs = layout & 1 ? 1 : m;
      const float* b = layout & 2 ? Bt.data() : B.data();
      const Index b_rs = layout & 2 ? n : 1, b_cs = layout & 2 ? 1 : k;
      M C = C0;
      set->gemm(m, n, k, a, a_rs, a_cs, b, b_rs, b_cs, C.data(), m, false);
      EXPECT_LE((C - expected).cwiseAbs().maxCoeff(), tol) << set->name << " layout " << layout;
      C = C0;
      set->gemm(m, n, k, a, a_rs, a_cs, b, b_rs, b_cs, C.data(), m, true);
      EXPECT_LE((C - (C0 + expected)).cwiseAbs().maxCoeff(), tol)
          << set->name << " accumulate, layout " << layout;
    }
  }
}

TEST_P(SgemmTest, ColumnPanelsGiveTheSameBitsAsOneCall) {
  const auto [m, n, k] = GetParam();
  std::srand(3);
  const M A = M::Random(m, k), B = M::Random(k, n);
  for (const KernelTable* set : runnable_kernel_sets()) {
    M whole(m, n), panels(m, n);
    set->gemm(m, n, k, A.data(), 1, m, B.data(), 1, k, whole.data(), m, false);
    for (std::ptrdiff_t c = 0; c < n; c += 5) {
      const std::ptrdiff_t w = std::min<std::ptrdiff_t>(5, n - c);
      set->gemm(m, w, k, A.data(), 1, m, B.data() + c * k, 1, k, panels.data() + c * m, m, false);
    }
    EXPECT_TRUE((whole.array() == panels.array()).all()) << set->name;
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, SgemmTest,
                         ::testing::Values(Shape{1, 1, 1}, Shape{31, 13, 7}, Shape{32, 12, 256},
                                           Shape{33, 25, 257}, Shape{256, 64, 784},
                                           Shape{300, 130, 600}, Shape{128, 3100, 40}));

// A dense layer forward and backward through each set agrees with the baseline set, in float
// and double, on the shapes that take each branch (single sample, small batch, panels).
TEST(KernelSets, DenseLayerAgreesWithTheBaselineSet) {
  const std::vector<const KernelTable*> sets = runnable_kernel_sets();
  const KernelTable* base = sets.back();
  for (const Shape s : {Shape{256, 1, 784}, Shape{128, 32, 256}, Shape{64, 130, 30},
                        Shape{10, 200, 128}, Shape{1024, 70, 784}}) {
    const auto [units, batch, inputs] = s;
    std::srand(11);
    const M W = M::Random(units, inputs), X = M::Random(inputs, batch),
            dZ = M::Random(units, batch);
    const Eigen::VectorXf b = Eigen::VectorXf::Random(units);
    auto run = [&](const KernelTable* set, M& Z, M& A, M& dW, Eigen::VectorXf& db, M& dX) {
      Z.resize(units, batch), A.resize(units, batch), dW.resize(units, inputs), db.resize(units);
      dX.resize(inputs, batch);
      set->f32.dense_forward(W.data(), b.data(), X.data(), Z.data(), A.data(), units, inputs, batch,
                             Activation::Relu);
      set->f32.dense_backward(W.data(), X.data(), dZ.data(), dW.data(), db.data(), dX.data(), units,
                              inputs, batch);
    };
    M Z0, A0, dW0, dX0;
    Eigen::VectorXf db0;
    run(base, Z0, A0, dW0, db0, dX0);
    // The baseline set against plain Eigen products in double.
    const Eigen::MatrixXd Zref = (W.cast<double>() * X.cast<double>()).colwise() + b.cast<double>();
    EXPECT_LE((Z0.cast<double>() - Zref).cwiseAbs().maxCoeff(), 1e-5 * inputs);
    for (const KernelTable* set : sets) {
      M Z, A, dW, dX;
      Eigen::VectorXf db;
      run(set, Z, A, dW, db, dX);
      const float tol = 1e-5f * static_cast<float>(std::max(inputs, batch));
      EXPECT_LE((Z - Z0).cwiseAbs().maxCoeff(), tol) << set->name;
      EXPECT_LE((A - A0).cwiseAbs().maxCoeff(), tol) << set->name;
      EXPECT_LE((dW - dW0).cwiseAbs().maxCoeff(), tol) << set->name;
      EXPECT_LE((db - db0).cwiseAbs().maxCoeff(), tol) << set->name;
      EXPECT_LE((dX - dX0).cwiseAbs().maxCoeff(), tol) << set->name;
    }
  }
}

TEST(KernelSets, ListsTheRunnableSetsBestFirstAndSwitches) {
  const std::vector<std::string> names = kernel_sets();
  ASSERT_FALSE(names.empty());
  const std::string before = kernel_set();
  for (const std::string& name : names) {
    set_kernel_set(name);
    EXPECT_EQ(kernel_set(), name);
    EXPECT_EQ(std::string(active_kernels().name), name);
  }
  EXPECT_THROW(set_kernel_set("sse1"), std::invalid_argument);
  for (const KernelTable* t : compiled_kernel_sets()) {
    if (!cpu_can_run(t->name)) {
      EXPECT_THROW(set_kernel_set(t->name), std::invalid_argument);
    }
  }
  set_kernel_set(before);
#if defined(__x86_64__)
  if (compiled_kernel_sets().size() > 1) {
    EXPECT_EQ(names.back(), "baseline");
    EXPECT_EQ(std::string(compiled_kernel_sets().front()->name), "avx512");
  }
#endif
}

}  // namespace
}  // namespace eigennet::cpu
