#pragma once
// The element-wise merge layers (Add, Subtract, Multiply, Average): n inputs of one width.
#include "layers/common.h"

namespace eigennet::layers {

enum class MergeOp { Add, Subtract, Multiply, Average };

template <typename T>
class Merge : public Layer<T> {
 public:
  Merge(const LayerSpec& s, MergeOp op) : m_spec(s), m_op(op) { check_keys(s, {}); }
  Index build(const std::vector<Index>& in_widths) override {
    m_width = same_width_inputs(m_spec, in_widths);
    m_n_in = static_cast<Index>(in_widths.size());
    if (m_op == MergeOp::Subtract && m_n_in != 2)
      bad_value(m_spec, "A `Subtract` layer should be called on exactly 2 inputs. Received: " +
                            std::to_string(m_n_in) + " inputs.");
    return m_width;
  }
  const T* forward(const ForwardArgs<T>& a) override {
    const Index n = m_width * a.batch;
    a.be.axpby(n, T(1), a.in[0], T(0), a.out);
    for (Index k = 1; k < m_n_in; ++k) {
      if (m_op == MergeOp::Multiply)
        a.be.multiply(a.out, a.in[k], a.out, n);
      else
        a.be.axpby(n, m_op == MergeOp::Subtract ? T(-1) : T(1), a.in[k], T(1), a.out);
    }
    if (m_op == MergeOp::Average) a.be.axpby(n, T(1) / T(m_n_in), a.out, T(0), a.out);
    return a.out;
  }
  void backward(const BackwardArgs<T>& a) override {
    const Index n = m_width * a.batch;
    for (Index k = 0; k < m_n_in; ++k) {
      T* d = a.d_in[k];
      if (!d) continue;
      T scale = 1;
      if (m_op == MergeOp::Subtract && k == 1) scale = -1;
      if (m_op == MergeOp::Average) scale = T(1) / T(m_n_in);
      a.be.axpby(n, scale, a.d_out, T(0), d);
      // d(Π in)/d in_k = Π of the others.
      if (m_op == MergeOp::Multiply)
        for (Index i = 0; i < m_n_in; ++i)
          if (i != k) a.be.multiply(d, a.in[i], d, n);
    }
  }

 private:
  LayerSpec m_spec;
  MergeOp m_op;
  Index m_width = 0, m_n_in = 0;
};

template <typename T>
struct Add : Merge<T> {
  explicit Add(const LayerSpec& s) : Merge<T>(s, MergeOp::Add) {}
};
template <typename T>
struct Subtract : Merge<T> {
  explicit Subtract(const LayerSpec& s) : Merge<T>(s, MergeOp::Subtract) {}
};
template <typename T>
struct Multiply : Merge<T> {
  explicit Multiply(const LayerSpec& s) : Merge<T>(s, MergeOp::Multiply) {}
};
template <typename T>
struct Average : Merge<T> {
  explicit Average(const LayerSpec& s) : Merge<T>(s, MergeOp::Average) {}
};

}  // namespace eigennet::layers
