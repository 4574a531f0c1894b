// GaussianDropout: out = in ⊙ m with m ~ N(1, rate / (1 - rate)) in training, the identity
// otherwise.
#include <cmath>

#include "layers/common.h"

namespace eigennet::layers {

template <typename T>
class GaussianDropout final : public Layer<T> {
 public:
  explicit GaussianDropout(const LayerSpec& s)
      : m_spec(s),
        m_rate(s.get_num("rate", 0)),
        m_has_seed(s.has("seed")),
        m_seed(static_cast<std::uint64_t>(s.get_int("seed", 0))) {
    check_keys(s, {"rate", "seed"});
    if (!(m_rate >= 0.0 && m_rate < 1.0))
      bad_value(s, "rate must be in [0, 1), got " + std::to_string(m_rate));
  }
  Index build(const std::vector<Index>& in_widths) override {
    return m_width = single_input(m_spec, in_widths);
  }
  Index workspace(Index batch) const override { return m_width * batch; }  // the multipliers
  const T* forward(const ForwardArgs<T>& a) override {
    m_active = a.training && m_rate > 0.0;
    if (!m_active) return a.in[0];
    const Index n = m_width * a.batch;
    a.be.normal_fill(a.work, n, 1.0, std::sqrt(m_rate / (1.0 - m_rate)),
                     m_has_seed ? m_seed : a.seed, a.counter);
    a.be.multiply(a.in[0], a.work, a.out, n);
    return a.out;
  }
  void backward(const BackwardArgs<T>& a) override {
    masked_backward(a, m_active, m_width * a.batch);
  }

 private:
  LayerSpec m_spec;
  double m_rate;
  bool m_has_seed;
  std::uint64_t m_seed;
  Index m_width = 0;
  bool m_active = false;
};

}  // namespace eigennet::layers

EIGENNET_LAYER_FACTORY(gaussian_dropout, GaussianDropout)
