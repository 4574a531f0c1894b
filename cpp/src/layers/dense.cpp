// Dense: Z = W·X + b, out = g(Z). W (units, n_inputs) column-major is Keras's (n_inputs, units)
// kernel; the bias follows it in the parameter buffer.
#include <cmath>

#include "layers/common.h"

namespace eigennet::layers {

template <typename T>
class Dense final : public Layer<T> {
 public:
  explicit Dense(const LayerSpec& s)
      : m_spec(s),
        m_units(positive(s, "units", Index(1) << 40)),
        m_use_bias(s.get_int("use_bias", 1) != 0),
        m_act(activation_of(s)),
        m_l1(s.get_num("l1", 0)),
        m_l2(s.get_num("l2", 0)),
        m_bias_l1(s.get_num("bias_l1", 0)),
        m_bias_l2(s.get_num("bias_l2", 0)) {
    check_keys(s,
               {"units", "use_bias", "l1", "l2", "bias_l1", "bias_l2", EIGENNET_ACTIVATION_KEYS});
    for (double f : {m_l1, m_l2, m_bias_l1, m_bias_l2})
      if (!(std::isfinite(f) && f >= 0))
        bad_value(s,
                  "regularisation factors must be finite and >= 0, got l1=" + std::to_string(m_l1) +
                      " l2=" + std::to_string(m_l2) + " bias_l1=" + std::to_string(m_bias_l1) +
                      " bias_l2=" + std::to_string(m_bias_l2));
  }

  Index build(const std::vector<Index>& in_widths) override {
    m_in = single_input(m_spec, in_widths);
    constexpr Index kMaxParams = Index(1) << 40;
    if (m_units > kMaxParams / m_in)
      bad_value(m_spec, "a kernel of " + std::to_string(m_in) + " x " + std::to_string(m_units) +
                            " is too large");
    return m_units;
  }
  std::vector<WeightSpec> weights() const override {
    std::vector<WeightSpec> w{{"kernel", {m_in, m_units}, false, m_in, m_units}};
    if (m_use_bias) w.push_back({"bias", {m_units}, false, m_units, m_units});
    return w;
  }
  // Z when it differs from the output.
  Index workspace(Index batch) const override {
    return m_act.kind == Activation::Linear ? 0 : m_units * batch;
  }
  const T* forward(const ForwardArgs<T>& a) override {
    T* Z = m_act.kind == Activation::Linear ? a.out : a.work;
    a.be.dense_forward(a.params, m_use_bias ? a.params + m_units * m_in : nullptr, a.in[0], Z,
                       a.out, m_units, m_in, a.batch, m_act);
    return a.out;
  }
  void backward(const BackwardArgs<T>& a) override {
    const T* Z = m_act.kind == Activation::Linear ? a.out : a.work;
    if (!a.logits_grad)
      a.be.activation_backward(m_act, Z, a.out, a.d_out, a.d_out, m_units, a.batch);
    a.be.dense_backward(a.params, a.in[0], a.d_out, a.grads,
                        m_use_bias ? a.grads + m_units * m_in : nullptr, a.d_in[0], m_units, m_in,
                        a.batch);
  }
  ActivationSpec fusable_activation() const override { return m_act; }
  const T* logits(const std::vector<const T*>&, const T* out, const T* work) const override {
    return m_act.kind == Activation::Linear ? out : work;
  }
  // Keras's kernel_regularizer and bias_regularizer.
  void penalty(Backend<T>& be, const T* params, T* grads, double weight,
               double* acc) const override {
    if (m_l1 != 0.0 || m_l2 != 0.0)
      be.regularize(params, grads, m_units * m_in, m_l1, m_l2, weight, acc);
    if (m_use_bias && (m_bias_l1 != 0.0 || m_bias_l2 != 0.0))
      be.regularize(params + m_units * m_in, grads ? grads + m_units * m_in : nullptr, m_units,
                    m_bias_l1, m_bias_l2, weight, acc);
  }

 private:
  LayerSpec m_spec;
  Index m_units, m_in = 0;
  bool m_use_bias;
  ActivationSpec m_act;
  double m_l1, m_l2, m_bias_l1, m_bias_l2;
};

}  // namespace eigennet::layers

EIGENNET_LAYER_FACTORY(dense, Dense)
