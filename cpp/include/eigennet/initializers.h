#pragma once
// Weight initialisers with Keras 3's definitions, drawn from the model's seeded Rng (or from an
// initialiser's own seed). fan_in and fan_out are those of a kernel (n_inputs, n_units).
//   random_normal   N(mean, stddev^2)                 random_uniform  U(minval, maxval)
//   glorot_uniform  U(±sqrt(6 / (fan_in + fan_out)))  he_uniform      U(±sqrt(6 / fan_in))
//   glorot_normal   truncated N(0, 2 / (fan_in + fan_out)),  he_normal  truncated N(0, 2 / fan_in);
//   truncated at two standard deviations, the stddev divided by 0.8796... so the variance is kept.
//   truncated_normal  mean + stddev·z, z ~ N(0, 1) redrawn beyond ±2 (no variance correction)
//   variance_scaling  scale / max(1, fan) with fan = fan_in, fan_out or their mean, drawn as
//                     glorot_normal is (truncated_normal), from N(0, s) or U(±sqrt(3 s))
//   lecun_normal / lecun_uniform: variance_scaling(1, fan_in, truncated_normal / uniform)
//   identity        gain · I (2-D weights only)
//   orthogonal      gain · Q of the QR of a normal matrix, signs fixed by R's diagonal (Keras)
#include <cstdint>
#include <string>

#include "eigennet/config.h"
#include "eigennet/rng.h"

namespace eigennet {

struct Initializer {
  enum class Kind {
    Zeros,
    Ones,
    Constant,
    RandomNormal,
    RandomUniform,
    GlorotUniform,
    GlorotNormal,
    HeNormal,
    HeUniform,
    TruncatedNormal,
    VarianceScaling,
    Identity,
    Orthogonal
  };
  enum class Fan { In, Out, Avg };
  enum class Distribution { TruncatedNormal, UntruncatedNormal, Uniform };
  Kind kind = Kind::Zeros;
  double a = 0.0;  // mean, minval, the constant, the scale or the gain
  double b = 0.0;  // stddev or maxval
  Fan fan = Fan::In;
  Distribution distribution = Distribution::TruncatedNormal;
  bool has_seed = false;
  std::uint64_t seed = 0;

  /// The named initialiser with Keras's default arguments.
  static Initializer from_name(const std::string& name);
  /// The named initialiser with its arguments: a, b as above for the kinds that take them,
  /// mode ("fan_in", "fan_out", "fan_avg") and distribution for variance_scaling. Throws
  /// std::invalid_argument naming a bad name or value.
  static Initializer with(const std::string& name, double a, double b, const std::string& mode,
                          const std::string& distribution);
};

/// Fills out[0..n) (a kernel of fan_in x fan_out, or a bias with fan_in = fan_out = n).
/// Uses Rng(init.seed) when the initialiser has its own seed, else `rng`.
template <typename T>
void initialize(const Initializer& init, Index fan_in, Index fan_out, T* out, Index n, Rng& rng);

}  // namespace eigennet
