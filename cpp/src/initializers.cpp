#include "eigennet/initializers.h"

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace eigennet {
namespace {

// Keras divides the stddev of a truncated normal by this, the stddev of N(0, 1) truncated to
// [-2, 2], so the variance after truncation is the one asked for.
constexpr double kTruncatedStddev = 0.87962566103423978;

double truncated_normal(Rng& rng) {
  for (;;) {
    const double z = rng.normal();
    if (std::abs(z) <= 2.0) return z;
  }
}

/// Identity and orthogonal initialisers of a (rows, cols) weight in C order (a Dense kernel
/// (n_inputs, units)).
template <typename T>
void matrix_init(const Initializer& init, Index rows, Index cols, T* out, Index n, Rng& rng) {
  if (rows * cols != n)
    throw std::invalid_argument(
        "Identity and Orthogonal initializers can only be used for 2D matrices (a kernel).");
  using Mat = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  Mat result(rows, cols);
  if (init.kind == Initializer::Kind::Identity) {
    result = init.a * Mat::Identity(rows, cols);
  } else {
    // Keras: a normal (max, min) matrix, its Q with the signs of R's diagonal, transposed when
    // the weight has fewer rows than columns.
    const Index tall = std::max(rows, cols), wide = std::min(rows, cols);
    Mat draws(tall, wide);
    for (Index i = 0; i < tall; ++i)
      for (Index j = 0; j < wide; ++j) draws(i, j) = rng.normal();
    Eigen::HouseholderQR<Mat> qr(draws);
    Mat q = qr.householderQ() * Mat::Identity(tall, wide);
    const Mat r = qr.matrixQR().topRows(wide).template triangularView<Eigen::Upper>();
    for (Index j = 0; j < wide; ++j)
      if (r(j, j) < 0) q.col(j) = -q.col(j);
    result = init.a * (rows < cols ? Mat(q.transpose()) : q);
  }
  for (Index i = 0; i < rows; ++i)
    for (Index j = 0; j < cols; ++j) out[i * cols + j] = static_cast<T>(result(i, j));
}

}  // namespace

Initializer Initializer::from_name(const std::string& name) {
  using K = Kind;
  Initializer init;
  if (name == "zeros")
    init.kind = K::Zeros;
  else if (name == "ones")
    init.kind = K::Ones;
  else if (name == "random_normal")
    init = {K::RandomNormal, 0.0, 0.05};
  else if (name == "random_uniform")
    init = {K::RandomUniform, -0.05, 0.05};
  else if (name == "glorot_uniform")
    init.kind = K::GlorotUniform;
  else if (name == "glorot_normal")
    init.kind = K::GlorotNormal;
  else if (name == "he_normal")
    init.kind = K::HeNormal;
  else if (name == "he_uniform")
    init.kind = K::HeUniform;
  else if (name == "constant")
    init.kind = K::Constant;
  else if (name == "truncated_normal")
    init = {K::TruncatedNormal, 0.0, 0.05};
  else if (name == "variance_scaling")
    init = {K::VarianceScaling, 1.0, 0.0};
  else if (name == "lecun_normal")
    init = {K::VarianceScaling, 1.0, 0.0};
  else if (name == "lecun_uniform")
    init = {K::VarianceScaling, 1.0, 0.0, Fan::In, Distribution::Uniform};
  else if (name == "identity")
    init = {K::Identity, 1.0, 0.0};
  else if (name == "orthogonal")
    init = {K::Orthogonal, 1.0, 0.0};
  else
    throw std::invalid_argument("Unknown initializer: '" + name + "'");
  return init;
}

Initializer Initializer::with(const std::string& name, double a, double b, const std::string& mode,
                              const std::string& distribution) {
  Initializer init = from_name(name);
  auto finite = [&](double v, const char* what) {
    if (!std::isfinite(v))
      throw std::invalid_argument(name + ": " + what + " must be finite, got " + std::to_string(v));
  };
  switch (init.kind) {
    case Kind::RandomNormal:
    case Kind::RandomUniform:
    case Kind::TruncatedNormal:
      finite(a, "the first argument");
      finite(b, "the second argument");
      init.a = a;
      init.b = b;
      break;
    case Kind::Constant:
    case Kind::Identity:
    case Kind::Orthogonal:
      finite(a, "the value");
      init.a = a;
      break;
    case Kind::VarianceScaling:
      if (name != "variance_scaling") break;
      if (!(a > 0.0) || !std::isfinite(a))
        throw std::invalid_argument("Argument `scale` must be positive float. Received: scale=" +
                                    std::to_string(a));
      init.a = a;
      if (mode == "fan_in")
        init.fan = Fan::In;
      else if (mode == "fan_out")
        init.fan = Fan::Out;
      else if (mode == "fan_avg")
        init.fan = Fan::Avg;
      else
        throw std::invalid_argument(
            "Invalid `mode` argument: expected one of {'fan_in', 'fan_out', 'fan_avg'}. "
            "Received: mode=" +
            mode);
      if (distribution == "truncated_normal")
        init.distribution = Distribution::TruncatedNormal;
      else if (distribution == "untruncated_normal")
        init.distribution = Distribution::UntruncatedNormal;
      else if (distribution == "uniform")
        init.distribution = Distribution::Uniform;
      else
        throw std::invalid_argument(
            "Invalid `distribution` argument: expected one of {'uniform', "
            "'truncated_normal', 'untruncated_normal'}. Received: distribution=" +
            distribution);
      break;
    default: break;
  }
  return init;
}

template <typename T>
void initialize(const Initializer& init, Index fan_in, Index fan_out, T* out, Index n,
                Rng& model_rng) {
  using K = Initializer::Kind;
  Rng own(init.seed);
  Rng& rng = init.has_seed ? own : model_rng;
  const double fi = static_cast<double>(fan_in), fo = static_cast<double>(fan_out);
  auto uniform = [&](double lo, double hi) {
    for (Index i = 0; i < n; ++i) out[i] = static_cast<T>(lo + (hi - lo) * rng.uniform());
  };
  auto truncated = [&](double stddev) {
    for (Index i = 0; i < n; ++i) out[i] = static_cast<T>(stddev * truncated_normal(rng));
  };
  switch (init.kind) {
    case K::Zeros: std::fill(out, out + n, T(0)); break;
    case K::Ones: std::fill(out, out + n, T(1)); break;
    case K::Constant: std::fill(out, out + n, static_cast<T>(init.a)); break;
    case K::RandomNormal:
      for (Index i = 0; i < n; ++i) out[i] = static_cast<T>(init.a + init.b * rng.normal());
      break;
    case K::RandomUniform: uniform(init.a, init.b); break;
    case K::GlorotUniform: {
      const double limit = std::sqrt(6.0 / (fi + fo));
      uniform(-limit, limit);
      break;
    }
    case K::HeUniform: {
      const double limit = std::sqrt(6.0 / fi);
      uniform(-limit, limit);
      break;
    }
    case K::GlorotNormal: truncated(std::sqrt(2.0 / (fi + fo)) / kTruncatedStddev); break;
    case K::HeNormal: truncated(std::sqrt(2.0 / fi) / kTruncatedStddev); break;
    case K::TruncatedNormal:
      for (Index i = 0; i < n; ++i)
        out[i] = static_cast<T>(init.a + init.b * truncated_normal(rng));
      break;
    case K::VarianceScaling: {
      using F = Initializer::Fan;
      const double fan = init.fan == F::In ? fi : (init.fan == F::Out ? fo : (fi + fo) / 2.0);
      const double scale = init.a / std::max(1.0, fan);
      if (init.distribution == Initializer::Distribution::Uniform) {
        const double limit = std::sqrt(3.0 * scale);
        uniform(-limit, limit);
      } else if (init.distribution == Initializer::Distribution::UntruncatedNormal) {
        for (Index i = 0; i < n; ++i) out[i] = static_cast<T>(std::sqrt(scale) * rng.normal());
      } else {
        truncated(std::sqrt(scale) / kTruncatedStddev);
      }
      break;
    }
    case K::Identity:
    case K::Orthogonal: matrix_init(init, fan_in, fan_out, out, n, rng); break;
  }
}

template void initialize<float>(const Initializer&, Index, Index, float*, Index, Rng&);
template void initialize<double>(const Initializer&, Index, Index, double*, Index, Rng&);

}  // namespace eigennet
