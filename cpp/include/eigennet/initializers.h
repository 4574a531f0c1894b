#pragma once
// Weight initialisers with Keras 3's definitions, drawn from the model's seeded Rng (or from an
// initialiser's own seed). fan_in and fan_out are those of a kernel (n_inputs, n_units).
//   random_normal   N(mean, stddev^2)                 random_uniform  U(minval, maxval)
//   glorot_uniform  U(±sqrt(6 / (fan_in + fan_out)))  he_uniform      U(±sqrt(6 / fan_in))
//   glorot_normal   truncated N(0, 2 / (fan_in + fan_out)),  he_normal  truncated N(0, 2 / fan_in);
//   truncated at two standard deviations, the stddev divided by 0.8796... so the variance is kept.
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
    HeUniform
  };
  Kind kind = Kind::Zeros;
  double a = 0.0;  // mean, minval or the constant
  double b = 0.0;  // stddev or maxval
  bool has_seed = false;
  std::uint64_t seed = 0;

  static Initializer from_name(const std::string& name);
};

/// Fills out[0..n) (a kernel of fan_in x fan_out, or a bias with fan_in = fan_out = n).
/// Uses Rng(init.seed) when the initialiser has its own seed, else `rng`.
template <typename T>
void initialize(const Initializer& init, Index fan_in, Index fan_out, T* out, Index n, Rng& rng);

}  // namespace eigennet
