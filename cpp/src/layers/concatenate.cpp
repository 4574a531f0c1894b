// Concatenate along the features: out rows [o_k, o_k + w_k) = input k.
#include "layers/common.h"

namespace eigennet::layers {

template <typename T>
class Concatenate final : public Layer<T> {
 public:
  explicit Concatenate(const LayerSpec& s) : m_spec(s) { check_keys(s, {}); }
  Index build(const std::vector<Index>& in_widths) override {
    if (in_widths.size() < 2)
      bad_value(m_spec,
                "A `Concatenate` layer should be called on a list of at least 2 inputs. "
                "Received: " +
                    std::to_string(in_widths.size()) + " input(s).");
    m_widths = in_widths;
    m_total = 0;
    for (Index w : in_widths) m_total += w;
    return m_total;
  }
  const T* forward(const ForwardArgs<T>& a) override {
    Index row = 0;
    for (std::size_t k = 0; k < m_widths.size(); ++k) {
      a.be.copy_rows(a.in[k], m_widths[k], 0, a.out, m_total, row, m_widths[k], a.batch);
      row += m_widths[k];
    }
    return a.out;
  }
  void backward(const BackwardArgs<T>& a) override {
    Index row = 0;
    for (std::size_t k = 0; k < m_widths.size(); ++k) {
      if (a.d_in[k])
        a.be.copy_rows(a.d_out, m_total, row, a.d_in[k], m_widths[k], 0, m_widths[k], a.batch);
      row += m_widths[k];
    }
  }

 private:
  LayerSpec m_spec;
  std::vector<Index> m_widths;
  Index m_total = 0;
};

}  // namespace eigennet::layers

EIGENNET_LAYER_FACTORY(concatenate, Concatenate)
