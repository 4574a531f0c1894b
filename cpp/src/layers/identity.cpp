// Identity: out = in. Also what Flatten and Reshape are in the core: samples are already flat
// columns there, so a reshape changes only the shape Python reports.
#include "layers/common.h"

namespace eigennet::layers {

template <typename T>
class Identity final : public Layer<T> {
 public:
  explicit Identity(const LayerSpec& s) : m_spec(s) { check_keys(s, {}); }
  Index build(const std::vector<Index>& in_widths) override {
    return m_width = single_input(m_spec, in_widths);
  }
  const T* forward(const ForwardArgs<T>& a) override { return a.in[0]; }
  void backward(const BackwardArgs<T>& a) override {
    if (a.d_in[0]) a.be.axpby(m_width * a.batch, T(1), a.d_out, T(0), a.d_in[0]);
  }

 private:
  LayerSpec m_spec;
  Index m_width = 0;
};

}  // namespace eigennet::layers

EIGENNET_LAYER_FACTORY(identity, Identity)
