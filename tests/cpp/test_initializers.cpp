// Initialisers: statistics over 100k draws against Keras 3's definitions, bounds, reproducibility
// from a seed, and independence of an initialiser's own seed from the model's stream.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <stdexcept>
#include <utility>
#include <vector>

#include "eigennet/backend.h"
#include "eigennet/initializers.h"
#include "eigennet/model.h"
#include "eigennet/rng.h"
#include "test_util.h"

namespace eigennet {
namespace {

constexpr Index kDraws = 100000;
constexpr double kTruncatedStddev = 0.87962566103423978;  // stddev of N(0, 1) cut at ±2

struct Stats {
  double mean = 0, stddev = 0, min = 1e300, max = -1e300;
};

template <typename T>
Stats stats(const std::vector<T>& v) {
  Stats s;
  for (T x : v) {
    s.mean += x;
    s.min = std::min<double>(s.min, x);
    s.max = std::max<double>(s.max, x);
  }
  s.mean /= static_cast<double>(v.size());
  for (T x : v) s.stddev += (x - s.mean) * (x - s.mean);
  s.stddev = std::sqrt(s.stddev / static_cast<double>(v.size()));
  return s;
}

template <typename T>
std::vector<T> draw(const Initializer& init, Index fan_in, Index fan_out, std::uint64_t seed,
                    Index n = kDraws) {
  Rng rng(seed);
  std::vector<T> v(n);
  initialize(init, fan_in, fan_out, v.data(), n, rng);
  return v;
}

Initializer make(Initializer::Kind kind, double a = 0, double b = 0) {
  Initializer init;
  init.kind = kind;
  init.a = a;
  init.b = b;
  return init;
}

template <typename T>
class InitializerTest : public ::testing::Test {};
TYPED_TEST_SUITE(InitializerTest, test::FloatTypes);

// With 100k draws the standard error of a mean is stddev / 316; 5 of them is a safe margin, and
// a sample stddev is within 1.5% of the true one.
TYPED_TEST(InitializerTest, RandomNormalMeanAndStddev) {
  const Stats s = stats(draw<TypeParam>(make(Initializer::Kind::RandomNormal, 1.0, 2.0), 3, 4, 1));
  EXPECT_NEAR(s.mean, 1.0, 5 * 2.0 / std::sqrt(kDraws));
  EXPECT_NEAR(s.stddev, 2.0, 0.015 * 2.0);
  const Stats d = stats(draw<TypeParam>(Initializer::from_name("random_normal"), 3, 4, 2));
  EXPECT_NEAR(d.mean, 0.0, 5 * 0.05 / std::sqrt(kDraws));
  EXPECT_NEAR(d.stddev, 0.05, 0.015 * 0.05);
}

TYPED_TEST(InitializerTest, RandomUniformBoundsAndMoments) {
  const Stats s = stats(draw<TypeParam>(Initializer::from_name("random_uniform"), 3, 4, 3));
  EXPECT_GE(s.min, -0.05);
  EXPECT_LT(s.max, 0.05);
  EXPECT_LT(s.min, -0.0499);
  EXPECT_GT(s.max, 0.0499);
  EXPECT_NEAR(s.mean, 0.0, 5 * 0.05 / std::sqrt(3.0 * kDraws));
  EXPECT_NEAR(s.stddev, 0.05 / std::sqrt(3.0), 0.01 * 0.05);
}

TYPED_TEST(InitializerTest, GlorotUniformBounds) {
  // U(±sqrt(6 / (fan_in + fan_out))): limit 0.1 for fan_in + fan_out = 600.
  const double limit = std::sqrt(6.0 / 600.0);
  const Stats s = stats(draw<TypeParam>(Initializer::from_name("glorot_uniform"), 200, 400, 4));
  EXPECT_GE(s.min, -limit);
  EXPECT_LE(s.max, limit);
  EXPECT_LT(s.min, -0.999 * limit);
  EXPECT_GT(s.max, 0.999 * limit);
  EXPECT_NEAR(s.mean, 0.0, 5 * limit / std::sqrt(3.0 * kDraws));
  EXPECT_NEAR(s.stddev, limit / std::sqrt(3.0), 0.01 * limit);
}

TYPED_TEST(InitializerTest, HeUniformBounds) {
  const double limit = std::sqrt(6.0 / 150.0);
  const Stats s = stats(draw<TypeParam>(Initializer::from_name("he_uniform"), 150, 10, 5));
  EXPECT_GE(s.min, -limit);
  EXPECT_LE(s.max, limit);
  EXPECT_NEAR(s.stddev, limit / std::sqrt(3.0), 0.01 * limit);
}

TYPED_TEST(InitializerTest, HeNormalTruncatedAtTwoStddev) {
  // Drawn from N(0, s^2) with s = sqrt(2 / fan_in) / 0.8796, cut at ±2s, so the stddev after
  // truncation is sqrt(2 / fan_in).
  const double target = std::sqrt(2.0 / 50.0), cut = 2 * target / kTruncatedStddev;
  const Stats s = stats(draw<TypeParam>(Initializer::from_name("he_normal"), 50, 7, 6));
  EXPECT_GE(s.min, -cut * (1 + 1e-6));
  EXPECT_LE(s.max, cut * (1 + 1e-6));
  EXPECT_LT(s.min, -0.99 * cut);  // the tails reach the cut
  EXPECT_GT(s.max, 0.99 * cut);
  EXPECT_NEAR(s.mean, 0.0, 5 * target / std::sqrt(kDraws));
  EXPECT_NEAR(s.stddev, target, 0.015 * target);
}

TYPED_TEST(InitializerTest, GlorotNormalTruncatedAtTwoStddev) {
  const double target = std::sqrt(2.0 / (30.0 + 70.0)), cut = 2 * target / kTruncatedStddev;
  const Stats s = stats(draw<TypeParam>(Initializer::from_name("glorot_normal"), 30, 70, 7));
  EXPECT_GE(s.min, -cut * (1 + 1e-6));
  EXPECT_LE(s.max, cut * (1 + 1e-6));
  EXPECT_NEAR(s.stddev, target, 0.015 * target);
}

TYPED_TEST(InitializerTest, ConstantKinds) {
  using T = TypeParam;
  EXPECT_EQ(draw<T>(Initializer::from_name("zeros"), 2, 2, 0, 4), std::vector<T>(4, T(0)));
  EXPECT_EQ(draw<T>(Initializer::from_name("ones"), 2, 2, 0, 4), std::vector<T>(4, T(1)));
  EXPECT_EQ(draw<T>(make(Initializer::Kind::Constant, 0.25), 2, 2, 0, 4),
            std::vector<T>(4, T(0.25)));
}

TYPED_TEST(InitializerTest, SameSeedSameValues) {
  using T = TypeParam;
  const Initializer init = Initializer::from_name("glorot_uniform");
  EXPECT_EQ(draw<T>(init, 10, 20, 42, 1000), draw<T>(init, 10, 20, 42, 1000));
  EXPECT_NE(draw<T>(init, 10, 20, 42, 1000), draw<T>(init, 10, 20, 43, 1000));
}

TYPED_TEST(InitializerTest, OwnSeedIsIndependentOfModelRng) {
  using T = TypeParam;
  Initializer seeded = Initializer::from_name("he_normal");
  seeded.has_seed = true;
  seeded.seed = 7;
  // Two different model streams give the same values, and neither stream advances.
  Rng a(1), b(2);
  std::vector<T> va(100), vb(100);
  initialize(seeded, 10, 10, va.data(), 100, a);
  initialize(seeded, 10, 10, vb.data(), 100, b);
  EXPECT_EQ(va, vb);
  Rng fresh(1);
  EXPECT_EQ(a.next(), fresh.next());
  // Calling it again repeats the values, like a seeded Keras initialiser.
  std::vector<T> again(100);
  initialize(seeded, 10, 10, again.data(), 100, a);
  EXPECT_EQ(again, va);
}

TEST(InitializerNames, DefaultsAndUnknown) {
  const Initializer n = Initializer::from_name("random_normal");
  EXPECT_EQ(n.kind, Initializer::Kind::RandomNormal);
  EXPECT_EQ(n.a, 0.0);
  EXPECT_EQ(n.b, 0.05);
  const Initializer u = Initializer::from_name("random_uniform");
  EXPECT_EQ(u.a, -0.05);
  EXPECT_EQ(u.b, 0.05);
  EXPECT_THROW(Initializer::from_name("orthonormal"), std::invalid_argument);
}

TEST(RngTest, ReproducibleAndInRange) {
  Rng a(123), b(123), c(124);
  std::set<std::uint64_t> seen;
  for (int i = 0; i < 1000; ++i) {
    const std::uint64_t x = a.next();
    EXPECT_EQ(x, b.next());
    seen.insert(x);
  }
  EXPECT_EQ(seen.size(), 1000u);
  EXPECT_NE(Rng(123).next(), c.next());
  for (int i = 0; i < 10000; ++i) {
    EXPECT_LT(a.below(7), 7u);
    const double u = hashed_uniform(5, 6, static_cast<std::uint64_t>(i));
    EXPECT_GE(u, 0.0);
    EXPECT_LT(u, 1.0);
  }
}

TEST(ModelInitializeTest, SameSeedSameParamsAndLayerChecks) {
  auto build = [](std::uint64_t seed) {
    Model<float> m(5, {dense_spec(8), dropout_spec(0.5)}, make_cpu_backend<float>(), seed);
    m.initialize(0, Initializer::from_name("glorot_uniform"), Initializer::from_name("zeros"));
    EXPECT_THROW(m.initialize(1, Initializer::from_name("ones"), Initializer::from_name("zeros")),
                 std::invalid_argument);
    std::vector<float> p(m.n_params());
    m.get_params(p.data());
    return p;
  };
  const std::vector<float> a = build(9), b = build(9), c = build(10);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  // The bias (last 8 entries) is zeros; the kernel is within the glorot limit.
  for (std::size_t i = 40; i < 48; ++i) EXPECT_EQ(a[i], 0.0f);
  const float limit = std::sqrt(6.0f / 13.0f);
  for (std::size_t i = 0; i < 40; ++i) EXPECT_LE(std::abs(a[i]), limit);
}

}  // namespace
}  // namespace eigennet

namespace eigennet {
namespace {

TEST(MatrixInitializers, OrthogonalColumnsAndIdentity) {
  for (const auto& [rows, cols] : {std::pair<Index, Index>{7, 4}, {4, 7}, {5, 5}}) {
    Initializer init = Initializer::with("orthogonal", 2.0, 0.0, "fan_in", "truncated_normal");
    std::vector<double> q(static_cast<std::size_t>(rows * cols));
    Rng rng(9);
    initialize(init, rows, cols, q.data(), rows * cols, rng);
    // Q (rows, cols) in C order: the smaller side's vectors are orthogonal with norm gain.
    const bool tall = rows >= cols;
    const Index k = tall ? cols : rows, len = tall ? rows : cols;
    for (Index a = 0; a < k; ++a)
      for (Index b = 0; b < k; ++b) {
        double dot = 0;
        for (Index i = 0; i < len; ++i)
          dot += tall ? q[i * cols + a] * q[i * cols + b] : q[a * cols + i] * q[b * cols + i];
        EXPECT_NEAR(dot, a == b ? 4.0 : 0.0, 1e-12) << rows << "x" << cols;
      }
  }
  std::vector<double> e(6);
  Rng rng(1);
  initialize(Initializer::with("identity", 3.0, 0.0, "", ""), 2, 3, e.data(), 6, rng);
  EXPECT_EQ(e, (std::vector<double>{3, 0, 0, 0, 3, 0}));
  EXPECT_THROW(initialize(Initializer::from_name("identity"), 1, 1, e.data(), 6, rng),
               std::invalid_argument);
  EXPECT_THROW(Initializer::with("variance_scaling", -1.0, 0.0, "fan_in", "uniform"),
               std::invalid_argument);
}

}  // namespace
}  // namespace eigennet
