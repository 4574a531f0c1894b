// Embedding: each of a sample's L integer inputs selects a row of the (input_dim, output_dim)
// table; the output is the L rows one after the other (Keras's (batch, L, output_dim) in C
// order). The table is stored (output_dim, input_dim) column-major, Keras's layout in C order.
#include <cmath>

#include "layers/common.h"

namespace eigennet::layers {

template <typename T>
class Embedding final : public Layer<T> {
 public:
  explicit Embedding(const LayerSpec& s)
      : m_spec(s),
        m_vocab(positive(s, "input_dim", Index(1) << 40)),
        m_dim(positive(s, "output_dim", Index(1) << 40)),
        m_l1(s.get_num("l1", 0)),
        m_l2(s.get_num("l2", 0)) {
    check_keys(s, {"input_dim", "output_dim", "l1", "l2"});
    // Indices travel as T: beyond 2^24 (float) or 2^53 (double) they would not be exact.
    const Index exact = Index(1) << (sizeof(T) == 4 ? 24 : 53);
    if (m_vocab > exact)
      bad_value(s, "input_dim " + std::to_string(m_vocab) + " is above " + std::to_string(exact) +
                       ", the largest index this dtype holds exactly.");
    if (m_dim > (Index(1) << 40) / m_vocab) bad_value(s, "the embedding table is too large.");
    if (!(std::isfinite(m_l1) && m_l1 >= 0 && std::isfinite(m_l2) && m_l2 >= 0))
      bad_value(s, "regularisation factors must be finite and >= 0.");
  }
  Index build(const std::vector<Index>& in_widths) override {
    m_len = single_input(m_spec, in_widths);
    return m_len * m_dim;
  }
  std::vector<WeightSpec> weights() const override {
    return {{"embeddings", {m_vocab, m_dim}, false, m_vocab, m_dim}};
  }
  const T* forward(const ForwardArgs<T>& a) override {
    a.be.embedding_forward(a.params, m_dim, m_vocab, a.in[0], m_len, a.batch, a.out);
    return a.out;
  }
  void backward(const BackwardArgs<T>& a) override {
    a.be.embedding_backward(a.d_out, m_dim, m_vocab, a.in[0], m_len, a.batch, a.grads);
    if (a.d_in[0]) a.be.fill(a.d_in[0], m_len * a.batch, T(0));  // integer inputs: no gradient
  }
  void penalty(Backend<T>& be, const T* params, T* grads, double weight,
               double* acc) const override {
    if (m_l1 == 0.0 && m_l2 == 0.0) return;
    be.regularize(params, grads, m_vocab * m_dim, m_l1, m_l2, weight, acc);
  }

 private:
  LayerSpec m_spec;
  Index m_vocab, m_dim, m_len = 0;
  double m_l1, m_l2;
};

}  // namespace eigennet::layers

EIGENNET_LAYER_FACTORY(embedding, Embedding)
