// Activation: out = g(in), element-wise or (softmax) per column.
#include "layers/common.h"

namespace eigennet::layers {

template <typename T>
class ActivationLayer final : public Layer<T> {
 public:
  explicit ActivationLayer(const LayerSpec& s) : m_spec(s), m_act(activation_of(s)) {
    check_keys(s, {EIGENNET_ACTIVATION_KEYS});
  }
  Index build(const std::vector<Index>& in_widths) override {
    return m_width = single_input(m_spec, in_widths);
  }
  const T* forward(const ForwardArgs<T>& a) override {
    a.be.activation_forward(m_act, a.in[0], a.out, m_width, a.batch);
    return a.out;
  }
  void backward(const BackwardArgs<T>& a) override {
    if (!a.d_in[0]) return;
    if (a.logits_grad)
      a.be.axpby(m_width * a.batch, T(1), a.d_out, T(0), a.d_in[0]);
    else
      a.be.activation_backward(m_act, a.in[0], a.out, a.d_out, a.d_in[0], m_width, a.batch);
  }
  ActivationSpec fusable_activation() const override { return m_act; }

 private:
  LayerSpec m_spec;
  ActivationSpec m_act;
  Index m_width = 0;
};

}  // namespace eigennet::layers

EIGENNET_LAYER_FACTORY(activation, ActivationLayer)
