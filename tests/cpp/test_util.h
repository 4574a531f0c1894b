#pragma once
// Helpers shared by the C++ tests: scalar types, tolerances, random data and finite differences.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <vector>

#include "eigennet/backend.h"
#include "eigennet/config.h"
#include "eigennet/rng.h"

namespace eigennet::test {

using FloatTypes = ::testing::Types<float, double>;

/// Relative tolerance for comparing a kernel against a formula evaluated in double: a few ulp of T.
template <typename T>
double tol() {
  return std::is_same_v<T, float> ? 2e-6 : 1e-13;
}

/// |actual - expected| <= rtol * max(1, |expected|).
/// Every activation, from the one list in config.h.
#define EIGENNET_ACTIVATION_ENTRY(id, name) Activation::id,
constexpr Activation kAllActivations[] = {EIGENNET_ACTIVATIONS(EIGENNET_ACTIVATION_ENTRY)};
#undef EIGENNET_ACTIVATION_ENTRY

inline ::testing::AssertionResult near_rel(double actual, double expected, double rtol) {
  const double err = std::abs(actual - expected);
  if (err <= rtol * std::max(1.0, std::abs(expected))) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "actual " << actual << " vs expected " << expected
                                       << " (error " << err << ", rtol " << rtol << ")";
}

/// n values uniform in [lo, hi) drawn from a fixed seed (the library's own portable Rng).
template <typename T>
std::vector<T> uniform(std::size_t n, double lo, double hi, std::uint64_t seed) {
  Rng rng(seed);
  std::vector<T> v(n);
  for (auto& x : v) x = static_cast<T>(lo + (hi - lo) * rng.uniform());
  return v;
}

/// Like uniform() but with |x| >= gap, to keep away from kinks at 0.
inline std::vector<double> uniform_away_from_zero(std::size_t n, double lo, double hi, double gap,
                                                  std::uint64_t seed) {
  std::vector<double> v = uniform<double>(n, lo, hi, seed);
  for (auto& x : v)
    if (std::abs(x) < gap) x = x < 0 ? x - gap : x + gap;
  return v;
}

/// Central-difference gradient of f at x: (f(x + eps e_i) - f(x - eps e_i)) / 2 eps.
inline std::vector<double> numeric_gradient(const std::function<double()>& f,
                                            std::vector<double>& x, double eps = 1e-6) {
  std::vector<double> g(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double saved = x[i];
    x[i] = saved + eps;
    const double up = f();
    x[i] = saved - eps;
    const double down = f();
    x[i] = saved;
    g[i] = (up - down) / (2 * eps);
  }
  return g;
}

/// Every analytic gradient entry within rtol of the numeric one (relative to max(1, |numeric|)).
inline void expect_gradients_match(const std::vector<double>& analytic,
                                   const std::vector<double>& numeric, double rtol,
                                   const std::string& what) {
  ASSERT_EQ(analytic.size(), numeric.size()) << what;
  for (std::size_t i = 0; i < analytic.size(); ++i)
    EXPECT_TRUE(near_rel(analytic[i], numeric[i], rtol)) << what << " entry " << i;
}

}  // namespace eigennet::test
