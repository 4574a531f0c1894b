#include "eigennet/initializers.h"

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
  else
    throw std::invalid_argument("Unknown initializer: '" + name + "'");
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
  }
}

template void initialize<float>(const Initializer&, Index, Index, float*, Index, Rng&);
template void initialize<double>(const Initializer&, Index, Index, double*, Index, Rng&);

}  // namespace eigennet
