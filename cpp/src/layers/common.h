#pragma once
// Helpers shared by the layer kinds: argument checks and the factory each kind's file defines.
#include <initializer_list>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "eigennet/layer.h"

namespace eigennet::layers {

/// Throws std::invalid_argument for a key of spec that is not among `known`.
void check_keys(const LayerSpec& spec, std::initializer_list<const char*> known);
/// Throws unless there is exactly one input; returns its width.
Index single_input(const LayerSpec& spec, const std::vector<Index>& in_widths);
/// Throws unless there are at least two inputs of one width; returns it.
Index same_width_inputs(const LayerSpec& spec, const std::vector<Index>& in_widths);
/// A positive integer argument; throws naming it otherwise.
Index positive(const LayerSpec& spec, const char* key, Index limit);
/// The activation a spec names ("activation", Keras's name) with its arguments
/// ("negative_slope", "threshold", "max_value", "alpha"); throws naming a bad one.
ActivationSpec activation_of(const LayerSpec& spec);
/// The keys activation_of reads, for check_keys.
#define EIGENNET_ACTIVATION_KEYS "activation", "negative_slope", "threshold", "max_value", "alpha"
[[noreturn]] void bad_value(const LayerSpec& spec, const std::string& what);

/// Backward of a layer that multiplied its input by the mask in `work` when `active`, and
/// passed it through otherwise (Dropout, GaussianDropout): d_in = d_out ⊙ mask, or d_out.
template <typename T>
void masked_backward(const BackwardArgs<T>& a, bool active, Index n) {
  if (!a.d_in[0]) return;
  if (active)
    a.be.multiply(a.d_out, a.work, a.d_in[0], n);
  else
    a.be.axpby(n, T(1), a.d_out, T(0), a.d_in[0]);
}

/// gamma and beta of a normalisation layer's parameters [gamma (if scale), beta (if center)],
/// each of `width`, null where absent.
template <typename P>
std::pair<P*, P*> affine_views(P* params, bool scale, bool center, Index width) {
  return {scale ? params : nullptr, center ? params + (scale ? width : 0) : nullptr};
}

}  // namespace eigennet::layers

/// Defines make_<name>() for a layer class template, for float and double.
#define EIGENNET_LAYER_FACTORY(name, Class)                                      \
  namespace eigennet::layers {                                                   \
  template <typename T>                                                          \
  std::unique_ptr<Layer<T>> make_##name(const LayerSpec& spec) {                 \
    return std::make_unique<Class<T>>(spec);                                     \
  }                                                                              \
  template std::unique_ptr<Layer<float>> make_##name<float>(const LayerSpec&);   \
  template std::unique_ptr<Layer<double>> make_##name<double>(const LayerSpec&); \
  }
