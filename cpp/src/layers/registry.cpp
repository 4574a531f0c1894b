// The registry: the only list of layer kinds. A new kind is one file defining make_<name> with
// EIGENNET_LAYER_FACTORY and one entry in EIGENNET_LAYER_KINDS.
#include <algorithm>
#include <cmath>

#include "layers/common.h"

// clang-format off
#define EIGENNET_LAYER_KINDS(X) \
  X(dense)                      \
  X(dropout)                    \
  X(activation)                 \
  X(identity)                   \
  X(add)                        \
  X(subtract)                   \
  X(multiply)                   \
  X(average)                    \
  X(maximum)                    \
  X(minimum)                    \
  X(concatenate)                \
  X(batch_normalization)        \
  X(layer_normalization)        \
  X(normalization)              \
  X(embedding)                  \
  X(gaussian_noise)             \
  X(gaussian_dropout)
// clang-format on

namespace eigennet {
namespace layers {

#define EIGENNET_DECLARE(name) \
  template <typename T>        \
  std::unique_ptr<Layer<T>> make_##name(const LayerSpec&);
EIGENNET_LAYER_KINDS(EIGENNET_DECLARE)
#undef EIGENNET_DECLARE

namespace {
template <typename T>
struct Entry {
  const char* name;
  std::unique_ptr<Layer<T>> (*make)(const LayerSpec&);
};

template <typename T>
const std::vector<Entry<T>>& entries() {
#define EIGENNET_ENTRY(name) Entry<T>{#name, &make_##name<T>},
  static const std::vector<Entry<T>> table{EIGENNET_LAYER_KINDS(EIGENNET_ENTRY)};
#undef EIGENNET_ENTRY
  return table;
}
}  // namespace

void check_keys(const LayerSpec& spec, std::initializer_list<const char*> known) {
  auto check = [&](const std::string& key) {
    // "<weight>_constraint..." entries are the model's (Model::plan_constraints checks them).
    if (key.find("_constraint") != std::string::npos) return;
    if (std::none_of(known.begin(), known.end(), [&](const char* k) { return key == k; })) {
      std::string msg = "Layer kind '" + spec.kind + "' has no argument '" + key + "'. Known:";
      for (const char* k : known) msg += std::string(" ") + k;
      throw std::invalid_argument(msg);
    }
  };
  for (const auto& kv : spec.ints) check(kv.first);
  for (const auto& kv : spec.nums) check(kv.first);
  for (const auto& kv : spec.strs) check(kv.first);
}

void bad_value(const LayerSpec& spec, const std::string& what) {
  throw std::invalid_argument("Layer '" + spec.kind + "': " + what);
}

Index single_input(const LayerSpec& spec, const std::vector<Index>& in_widths) {
  if (in_widths.size() != 1)
    bad_value(spec, "takes exactly one input, got " + std::to_string(in_widths.size()) + ".");
  return in_widths[0];
}

Index same_width_inputs(const LayerSpec& spec, const std::vector<Index>& in_widths) {
  if (in_widths.size() < 2)
    bad_value(spec, "should be called on a list of at least 2 inputs. Received: " +
                        std::to_string(in_widths.size()) + " input(s).");
  for (Index w : in_widths)
    if (w != in_widths[0])
      bad_value(spec, "inputs must have the same shape, got widths " +
                          std::to_string(in_widths[0]) + " and " + std::to_string(w) + ".");
  return in_widths[0];
}

ActivationSpec activation_of(const LayerSpec& spec) {
  ActivationSpec act(activation_from_name(spec.get_str("activation", "linear")));
  act.negative_slope = spec.get_num("negative_slope", act.negative_slope);
  act.threshold = spec.get_num("threshold", act.threshold);
  act.has_max = spec.nums.count("max_value") > 0;
  act.max_value = spec.get_num("max_value", 0.0);
  act.alpha = spec.get_num("alpha", act.alpha);
  try {
    validate(act);
  } catch (const std::invalid_argument& e) {
    bad_value(spec, e.what());
  }
  return act;
}

Index positive(const LayerSpec& spec, const char* key, Index limit) {
  const std::int64_t v = spec.get_int(key, 0);
  if (v <= 0 || v > limit)
    bad_value(spec, std::string(key) + " must be a positive integer (at most " +
                        std::to_string(limit) + "), got " + std::to_string(v) + ".");
  return static_cast<Index>(v);
}

}  // namespace layers

std::int64_t LayerSpec::get_int(const std::string& key, std::int64_t fallback) const {
  auto it = ints.find(key);
  return it == ints.end() ? fallback : it->second;
}
double LayerSpec::get_num(const std::string& key, double fallback) const {
  auto it = nums.find(key);
  return it == nums.end() ? fallback : it->second;
}
const std::string& LayerSpec::get_str(const std::string& key, const std::string& fallback) const {
  auto it = strs.find(key);
  return it == strs.end() ? fallback : it->second;
}
bool LayerSpec::has(const std::string& key) const {
  return ints.count(key) || nums.count(key) || strs.count(key);
}

Index WeightSpec::size() const {
  Index n = 1;
  for (Index d : shape) n *= d;
  return n;
}

template <typename T>
std::unique_ptr<Layer<T>> make_layer(const LayerSpec& spec) {
  // The activity regulariser is every kind's: taken out before the kind checks its keys.
  LayerSpec own = spec;
  const double l1 = spec.get_num("activity_l1", 0.0), l2 = spec.get_num("activity_l2", 0.0);
  own.nums.erase("activity_l1");
  own.nums.erase("activity_l2");
  if (!(std::isfinite(l1) && l1 >= 0 && std::isfinite(l2) && l2 >= 0))
    layers::bad_value(spec, "activity regularisation factors must be finite and >= 0, got l1=" +
                                std::to_string(l1) + " l2=" + std::to_string(l2));
  for (const auto& e : layers::entries<T>())
    if (spec.kind == e.name) {
      std::unique_ptr<Layer<T>> layer = e.make(own);
      layer->set_trainable(spec.trainable);
      layer->set_activity(l1, l2);
      return layer;
    }
  std::string msg = "Unknown layer kind '" + spec.kind + "'. Known:";
  for (const std::string& k : layer_kinds()) msg += " " + k;
  throw std::invalid_argument(msg);
}

std::vector<std::string> layer_kinds() {
  std::vector<std::string> out;
  for (const auto& e : layers::entries<float>()) out.emplace_back(e.name);
  return out;
}

LayerSpec dense_spec(Index units, Activation act, bool use_bias) {
  LayerSpec s;
  s.kind = "dense";
  s.ints = {{"units", units}, {"use_bias", use_bias ? 1 : 0}};
  s.strs = {{"activation", activation_name(act)}};
  return s;
}
LayerSpec dropout_spec(double rate) {
  LayerSpec s;
  s.kind = "dropout";
  s.nums = {{"rate", rate}};
  return s;
}
LayerSpec activation_spec(Activation act) {
  LayerSpec s;
  s.kind = "activation";
  s.strs = {{"activation", activation_name(act)}};
  return s;
}

template std::unique_ptr<Layer<float>> make_layer<float>(const LayerSpec&);
template std::unique_ptr<Layer<double>> make_layer<double>(const LayerSpec&);

}  // namespace eigennet
