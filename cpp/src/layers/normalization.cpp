// Normalization (Keras 3's preprocessing layer): y = (x - mean) / max(sqrt(variance), 1e-7) per
// feature, with mean and variance as state that adapt() (Python) sets.
#include "layers/common.h"

namespace eigennet::layers {

template <typename T>
class Normalization final : public Layer<T> {
 public:
  explicit Normalization(const LayerSpec& s) : m_spec(s) { check_keys(s, {}); }
  Index build(const std::vector<Index>& in_widths) override {
    return m_width = single_input(m_spec, in_widths);
  }
  std::vector<WeightSpec> weights() const override {
    return {{"mean", {m_width}, true, m_width, m_width},
            {"variance", {m_width}, true, m_width, m_width}};
  }
  const T* forward(const ForwardArgs<T>& a) override {
    a.be.normalize_forward(NormAxis::Batch, a.in[0], m_width, a.batch, a.state, a.state + m_width,
                           false, kEpsilon, true, nullptr, nullptr, a.out);
    return a.out;
  }
  void backward(const BackwardArgs<T>& a) override {
    if (!a.d_in[0]) return;
    a.be.normalize_backward(NormAxis::Batch, a.in[0], a.d_out, m_width, a.batch, a.state,
                            a.state + m_width, false, kEpsilon, true, nullptr, a.d_in[0], nullptr,
                            nullptr);
  }

 private:
  LayerSpec m_spec;
  Index m_width = 0;
};

}  // namespace eigennet::layers

EIGENNET_LAYER_FACTORY(normalization, Normalization)
