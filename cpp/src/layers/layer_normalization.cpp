// LayerNormalization (Keras 3): each sample normalised over its features with its own mean and
// biased variance, y = γ ⊙ (x - μ)/sqrt(σ² + ε) + β, γ and β per feature.
#include <cmath>

#include "layers/common.h"

namespace eigennet::layers {

template <typename T>
class LayerNormalization final : public Layer<T> {
 public:
  explicit LayerNormalization(const LayerSpec& s)
      : m_spec(s),
        m_eps(s.get_num("epsilon", 1e-3)),
        m_center(s.get_int("center", 1) != 0),
        m_scale(s.get_int("scale", 1) != 0) {
    check_keys(s, {"epsilon", "center", "scale"});
    if (!(m_eps > 0.0 && std::isfinite(m_eps)))
      bad_value(s, "epsilon must be positive, got " + std::to_string(m_eps));
  }
  Index build(const std::vector<Index>& in_widths) override {
    return m_width = single_input(m_spec, in_widths);
  }
  std::vector<WeightSpec> weights() const override {
    std::vector<WeightSpec> w;
    if (m_scale) w.push_back({"gamma", {m_width}, false, m_width, m_width});
    if (m_center) w.push_back({"beta", {m_width}, false, m_width, m_width});
    return w;
  }
  Index workspace(Index batch) const override { return 2 * batch; }  // per-sample statistics
  const T* forward(const ForwardArgs<T>& a) override {
    a.be.normalize_forward(NormAxis::Features, a.in[0], m_width, a.batch, a.work, a.work + a.batch,
                           true, m_eps, false, gamma(a.params), beta(a.params), a.out);
    return a.out;
  }
  void backward(const BackwardArgs<T>& a) override {
    auto [dgamma, dbeta] = affine_views(a.grads, m_scale, m_center, m_width);
    a.be.normalize_backward(NormAxis::Features, a.in[0], a.d_out, m_width, a.batch, a.work,
                            a.work + a.batch, true, m_eps, false, gamma(a.params), a.d_in[0],
                            dgamma, dbeta);
  }

 private:
  const T* gamma(const T* params) const {
    return affine_views(params, m_scale, m_center, m_width).first;
  }
  const T* beta(const T* params) const {
    return affine_views(params, m_scale, m_center, m_width).second;
  }

  LayerSpec m_spec;
  double m_eps;
  bool m_center, m_scale;
  Index m_width = 0;
};

}  // namespace eigennet::layers

EIGENNET_LAYER_FACTORY(layer_normalization, LayerNormalization)
