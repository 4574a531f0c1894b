// BatchNormalization (Keras 3): in training, y = γ·(x - μ_B)/sqrt(σ²_B + ε) + β with the batch's
// mean and biased variance per feature, and moving = momentum·moving + (1 - momentum)·batch;
// otherwise (and when frozen) the moving statistics normalise. Weights in Keras's order: gamma
// and beta (parameters, when scale / center), moving_mean and moving_variance (state).
#include <cmath>

#include "layers/common.h"

namespace eigennet::layers {

template <typename T>
class BatchNormalization final : public Layer<T> {
 public:
  explicit BatchNormalization(const LayerSpec& s)
      : m_spec(s),
        m_momentum(s.get_num("momentum", 0.99)),
        m_eps(s.get_num("epsilon", 1e-3)),
        m_center(s.get_int("center", 1) != 0),
        m_scale(s.get_int("scale", 1) != 0) {
    check_keys(s, {"momentum", "epsilon", "center", "scale"});
    if (!(m_momentum >= 0.0 && m_momentum <= 1.0))
      bad_value(s, "momentum must be in [0, 1], got " + std::to_string(m_momentum));
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
    w.push_back({"moving_mean", {m_width}, true, m_width, m_width});
    w.push_back({"moving_variance", {m_width}, true, m_width, m_width});
    return w;
  }
  Index workspace(Index) const override { return 2 * m_width; }  // batch mean and variance
  const T* forward(const ForwardArgs<T>& a) override {
    T* moving_mean = a.state;
    T* moving_var = a.state + m_width;
    m_batch_stats = a.training && this->trainable();
    T* mean = m_batch_stats ? a.work : moving_mean;
    T* var = m_batch_stats ? a.work + m_width : moving_var;
    a.be.normalize_forward(NormAxis::Batch, a.in[0], m_width, a.batch, mean, var, m_batch_stats,
                           m_eps, false, gamma(a.params), beta(a.params), a.out);
    if (m_batch_stats) {
      const T m = static_cast<T>(m_momentum);
      a.be.axpby(m_width, T(1) - m, mean, m, moving_mean);
      a.be.axpby(m_width, T(1) - m, var, m, moving_var);
    }
    return a.out;
  }
  void backward(const BackwardArgs<T>& a) override {
    const T* mean = m_batch_stats ? a.work : a.state;
    const T* var = m_batch_stats ? a.work + m_width : a.state + m_width;
    auto [dgamma, dbeta] = affine_views(a.grads, m_scale, m_center, m_width);
    a.be.normalize_backward(NormAxis::Batch, a.in[0], a.d_out, m_width, a.batch, mean, var,
                            m_batch_stats, m_eps, false, gamma(a.params), a.d_in[0], dgamma, dbeta);
  }

 private:
  const T* gamma(const T* params) const {
    return affine_views(params, m_scale, m_center, m_width).first;
  }
  const T* beta(const T* params) const {
    return affine_views(params, m_scale, m_center, m_width).second;
  }

  LayerSpec m_spec;
  double m_momentum, m_eps;
  bool m_center, m_scale;
  Index m_width = 0;
  bool m_batch_stats = false;
};

}  // namespace eigennet::layers

EIGENNET_LAYER_FACTORY(batch_normalization, BatchNormalization)
