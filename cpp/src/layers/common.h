#pragma once
// Helpers shared by the layer kinds: argument checks and the factory each kind's file defines.
#include <initializer_list>
#include <memory>
#include <stdexcept>
#include <string>
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
[[noreturn]] void bad_value(const LayerSpec& spec, const std::string& what);

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
