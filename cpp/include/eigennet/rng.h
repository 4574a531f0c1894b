#pragma once
// One seeded random stream for initialisers, shuffling and dropout.
//
// Rng is xoshiro256** seeded through splitmix64; its normal draws use Box-Muller, so the numbers
// are the same on every platform and standard library. Dropout masks use a counter-based hash
// (mix(seed, counter, i)) so any element can be drawn independently: parallel and deterministic.
#include <array>
#include <cmath>
#include <cstdint>

#include "eigennet/config.h"

namespace eigennet {

/// splitmix64 finaliser: a bijective 64-bit mix.
EIGENNET_HD inline std::uint64_t mix64(std::uint64_t z) {
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/// Uniform in [0, 1) from the top 53 bits of a 64-bit word.
EIGENNET_HD inline double to_unit(std::uint64_t x) {
  return static_cast<double>(x >> 11) * 0x1.0p-53;
}

/// Counter-based uniform draw in [0, 1) for element i of draw number `counter` under `seed`.
EIGENNET_HD inline double hashed_uniform(std::uint64_t seed, std::uint64_t counter,
                                         std::uint64_t i) {
  return to_unit(mix64(mix64(seed ^ mix64(counter)) + i));
}

/// A standard normal from the same stream, by Box-Muller on two hashed uniforms (2i and 2i+1);
/// 1 - u keeps the logarithm's argument in (0, 1].
EIGENNET_HD inline double hashed_normal(std::uint64_t seed, std::uint64_t counter,
                                        std::uint64_t i) {
  const double u1 = 1.0 - hashed_uniform(seed, counter, 2 * i);
  const double u2 = hashed_uniform(seed, counter, 2 * i + 1);
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
}

class Rng {
 public:
  explicit Rng(std::uint64_t seed = 0) { reseed(seed); }

  void reseed(std::uint64_t seed) {
    std::uint64_t z = seed;
    for (auto& s : m_state) {
      z += 0x9e3779b97f4a7c15ULL;
      s = mix64(z);
    }
  }

  std::uint64_t next() {
    const std::uint64_t result = rotl(m_state[1] * 5, 7) * 9;
    const std::uint64_t t = m_state[1] << 17;
    m_state[2] ^= m_state[0];
    m_state[3] ^= m_state[1];
    m_state[1] ^= m_state[2];
    m_state[0] ^= m_state[3];
    m_state[2] ^= t;
    m_state[3] = rotl(m_state[3], 45);
    return result;
  }

  double uniform() { return to_unit(next()); }

  /// The whole state, to save and restore a stream exactly.
  std::array<std::uint64_t, 4> state() const {
    return {m_state[0], m_state[1], m_state[2], m_state[3]};
  }
  void set_state(const std::array<std::uint64_t, 4>& s) {
    for (int i = 0; i < 4; ++i) m_state[i] = s[i];
  }

  /// Uniform integer in [0, n) (n > 0), by Lemire's multiply-shift; bias is below 2^-64 * n.
  std::uint64_t below(std::uint64_t n) {
    return static_cast<std::uint64_t>((static_cast<unsigned __int128>(next()) * n) >> 64);
  }

  /// Standard normal by Box-Muller (one draw per call; the partner is discarded for simplicity).
  double normal() {
    double u1 = uniform();
    while (u1 <= 0.0) u1 = uniform();
    const double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::uint64_t m_state[4];
};

}  // namespace eigennet
