// The AVX-512 float GEMM against Eigen's product, over shapes with ragged edges, every operand
// layout the dense layer uses, and accumulation.
#include <gtest/gtest.h>

#include <Eigen/Core>

#include "cpu/sgemm.h"

namespace eigennet::cpu {
namespace {

using M = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic>;

struct Shape {
  std::ptrdiff_t m, n, k;
};

class SgemmTest : public ::testing::TestWithParam<Shape> {};

TEST_P(SgemmTest, MatchesEigenForEveryLayout) {
  if (!kHaveSgemm) GTEST_SKIP() << "built without AVX-512";
  const auto [m, n, k] = GetParam();
  std::srand(7);
  const M A = M::Random(m, k), B = M::Random(k, n), C0 = M::Random(m, n);
  const M At = A.transpose(), Bt = B.transpose();
  const M expected = A * B;
  const float tol = 1e-5f * static_cast<float>(k);
  std::vector<float> packed(static_cast<std::size_t>(packed_size(m, k)) + 16);
  float* aligned =
      packed.data() + (16 - reinterpret_cast<std::uintptr_t>(packed.data()) / 4 % 16) % 16;
  for (int layout = 0; layout < 4; ++layout) {
    // A as stored (N) or from its transpose (T); B likewise.
    const View a = layout & 1 ? View{At.data(), k, 1} : View{A.data(), 1, m};
    const View b = layout & 2 ? View{Bt.data(), n, 1} : View{B.data(), 1, k};
    pack_lhs(m, k, a, aligned);
    M C = C0;
    sgemm_packed(m, n, k, aligned, b, C.data(), m, false);
    EXPECT_LE((C - expected).cwiseAbs().maxCoeff(), tol) << "layout " << layout;
    C = C0;
    sgemm_packed(m, n, k, aligned, b, C.data(), m, true);
    EXPECT_LE((C - (C0 + expected)).cwiseAbs().maxCoeff(), tol) << "accumulate, layout " << layout;
  }
}

TEST_P(SgemmTest, ColumnPanelsGiveTheSameBitsAsOneCall) {
  if (!kHaveSgemm) GTEST_SKIP() << "built without AVX-512";
  const auto [m, n, k] = GetParam();
  std::srand(3);
  const M A = M::Random(m, k), B = M::Random(k, n);
  std::vector<float> packed(static_cast<std::size_t>(packed_size(m, k)) + 16);
  float* aligned =
      packed.data() + (16 - reinterpret_cast<std::uintptr_t>(packed.data()) / 4 % 16) % 16;
  pack_lhs(m, k, {A.data(), 1, m}, aligned);
  M whole(m, n), panels(m, n);
  sgemm_packed(m, n, k, aligned, {B.data(), 1, k}, whole.data(), m, false);
  for (std::ptrdiff_t c = 0; c < n; c += 5) {
    const std::ptrdiff_t w = std::min<std::ptrdiff_t>(5, n - c);
    sgemm_packed(m, w, k, aligned, {B.data() + c * k, 1, k}, panels.data() + c * m, m, false);
  }
  EXPECT_TRUE((whole.array() == panels.array()).all());
}

INSTANTIATE_TEST_SUITE_P(Shapes, SgemmTest,
                         ::testing::Values(Shape{1, 1, 1}, Shape{31, 13, 7}, Shape{32, 12, 256},
                                           Shape{33, 25, 257}, Shape{256, 64, 784},
                                           Shape{300, 130, 600}, Shape{128, 3100, 40}));

}  // namespace
}  // namespace eigennet::cpu
