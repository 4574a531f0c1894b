// Maximum and Minimum of n inputs of one width, element-wise: out = ext(...ext(ext(x0, x1),
// x2)...), each step keeping the mask of where its left side won, so that the gradient goes to the
// input that was taken (the first one on ties).
#include "layers/common.h"

namespace eigennet::layers {

template <typename T>
class Extremum : public Layer<T> {
 public:
  Extremum(const LayerSpec& s, bool maximum) : m_spec(s), m_max(maximum) { check_keys(s, {}); }
  Index build(const std::vector<Index>& in_widths) override {
    m_width = same_width_inputs(m_spec, in_widths);
    m_n_in = static_cast<Index>(in_widths.size());
    return m_width;
  }
  // The masks of the n - 1 steps, then the n - 2 intermediate results.
  Index workspace(Index batch) const override { return (2 * m_n_in - 3) * m_width * batch; }
  const T* forward(const ForwardArgs<T>& a) override {
    const Index n = m_width * a.batch;
    const T* left = a.in[0];
    for (Index k = 1; k < m_n_in; ++k) {
      T* out = k + 1 == m_n_in ? a.out : a.work + (m_n_in - 1 + k - 1) * n;
      a.be.extremum(m_max, left, a.in[k], out, a.work + (k - 1) * n, n);
      left = out;
    }
    return a.out;
  }
  void backward(const BackwardArgs<T>& a) override {
    // d flows down the chain: step k sends d ⊙ (1 - mask_k) to input k and d ⊙ mask_k left.
    const Index n = m_width * a.batch;
    T* d = a.d_out;
    for (Index k = m_n_in - 1; k >= 1; --k) {
      const T* mask = a.work + (k - 1) * n;
      if (a.d_in[k]) {
        a.be.multiply(d, mask, a.d_in[k], n);
        a.be.axpby(n, T(1), d, T(-1), a.d_in[k]);
      }
      a.be.multiply(d, mask, d, n);
    }
    if (a.d_in[0]) a.be.axpby(n, T(1), d, T(0), a.d_in[0]);
  }

 private:
  LayerSpec m_spec;
  bool m_max;
  Index m_width = 0, m_n_in = 0;
};

template <typename T>
struct Maximum : Extremum<T> {
  explicit Maximum(const LayerSpec& s) : Extremum<T>(s, true) {}
};
template <typename T>
struct Minimum : Extremum<T> {
  explicit Minimum(const LayerSpec& s) : Extremum<T>(s, false) {}
};

}  // namespace eigennet::layers

EIGENNET_LAYER_FACTORY(maximum, Maximum)
EIGENNET_LAYER_FACTORY(minimum, Minimum)
