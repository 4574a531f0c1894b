// GaussianNoise: out = in + N(0, stddev²) in training, the identity otherwise.
#include <cmath>

#include "layers/common.h"

namespace eigennet::layers {

template <typename T>
class GaussianNoise final : public Layer<T> {
 public:
  explicit GaussianNoise(const LayerSpec& s)
      : m_spec(s),
        m_stddev(s.get_num("stddev", 0)),
        m_has_seed(s.has("seed")),
        m_seed(static_cast<std::uint64_t>(s.get_int("seed", 0))) {
    check_keys(s, {"stddev", "seed"});
    if (!(m_stddev >= 0.0 && std::isfinite(m_stddev)))
      bad_value(s, "stddev must be finite and >= 0, got " + std::to_string(m_stddev));
  }
  Index build(const std::vector<Index>& in_widths) override {
    return m_width = single_input(m_spec, in_widths);
  }
  const T* forward(const ForwardArgs<T>& a) override {
    if (!a.training || m_stddev == 0.0) return a.in[0];
    const Index n = m_width * a.batch;
    a.be.normal_fill(a.out, n, 0.0, m_stddev, m_has_seed ? m_seed : a.seed, a.counter);
    a.be.axpby(n, T(1), a.in[0], T(1), a.out);
    return a.out;
  }
  void backward(const BackwardArgs<T>& a) override {
    if (a.d_in[0]) a.be.axpby(m_width * a.batch, T(1), a.d_out, T(0), a.d_in[0]);
  }

 private:
  LayerSpec m_spec;
  double m_stddev;
  bool m_has_seed;
  std::uint64_t m_seed;
  Index m_width = 0;
};

}  // namespace eigennet::layers

EIGENNET_LAYER_FACTORY(gaussian_noise, GaussianNoise)
