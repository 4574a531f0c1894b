#include "eigennet/optimizer.h"

#include <cmath>
#include <stdexcept>

#include "eigennet/optimizer_rules.h"

namespace eigennet {
namespace {

void require(bool ok, const std::string& what, double value) {
  if (!ok)
    throw std::invalid_argument("Invalid optimizer argument: " + what + "=" +
                                std::to_string(value));
}

}  // namespace

void Schedule::check_pieces() const {
  if (values.size() != boundaries.size() + 1)
    throw std::invalid_argument(
        "PiecewiseConstantDecay needs len(values) == len(boundaries) + 1, got " +
        std::to_string(values.size()) + " values and " + std::to_string(boundaries.size()) +
        " boundaries");
}

double Schedule::at(std::int64_t step) const {
  switch (kind) {
    case Kind::Constant: return initial;
    case Kind::ExponentialDecay: {
      double p = static_cast<double>(step) / decay_steps;
      if (staircase) p = std::floor(p);
      return initial * std::pow(decay_rate, p);
    }
    case Kind::PiecewiseConstant: {
      check_pieces();
      // Keras: values[0] while step <= boundaries[0], values[i] while step <= boundaries[i].
      for (std::size_t i = 0; i < boundaries.size(); ++i)
        if (static_cast<double>(step) <= boundaries[i]) return values[i];
      return values.back();
    }
  }
  return initial;
}

int OptimizerConfig::n_slots() const {
  switch (kind) {
#define EIGENNET_SLOTS_CASE(id, name) \
  case OptimizerKind::id: return Rule<OptimizerKind::id>::slots(*this);
    EIGENNET_OPTIMIZERS(EIGENNET_SLOTS_CASE)
#undef EIGENNET_SLOTS_CASE
  }
  return 0;
}

double OptimizerConfig::slot_initial_value(int slot) const {
  switch (kind) {
#define EIGENNET_INITIAL_CASE(id, name) \
  case OptimizerKind::id: return Rule<OptimizerKind::id>::initial(*this, slot);
    EIGENNET_OPTIMIZERS(EIGENNET_INITIAL_CASE)
#undef EIGENNET_INITIAL_CASE
  }
  return 0.0;
}

void OptimizerConfig::validate() const {
  const Schedule& s = learning_rate;
  if (s.kind == Schedule::Kind::PiecewiseConstant) {
    s.check_pieces();
    for (double v : s.values) require(std::isfinite(v) && v >= 0.0, "learning_rate value", v);
  } else {
    require(std::isfinite(s.initial) && s.initial >= 0.0, "learning_rate", s.initial);
  }
  if (s.kind == Schedule::Kind::ExponentialDecay) {
    require(std::isfinite(s.decay_steps) && s.decay_steps > 0.0, "decay_steps", s.decay_steps);
    require(std::isfinite(s.decay_rate) && s.decay_rate > 0.0, "decay_rate", s.decay_rate);
  }
  require(std::isfinite(momentum) && momentum >= 0.0 && momentum <= 1.0, "momentum", momentum);
  require(std::isfinite(beta_1) && beta_1 >= 0.0 && beta_1 < 1.0, "beta_1", beta_1);
  require(std::isfinite(beta_2) && beta_2 >= 0.0 && beta_2 < 1.0, "beta_2", beta_2);
  require(std::isfinite(rho) && rho >= 0.0 && rho < 1.0, "rho", rho);
  require(std::isfinite(epsilon) && epsilon >= 0.0, "epsilon", epsilon);
  require(std::isfinite(initial_accumulator_value) && initial_accumulator_value >= 0.0,
          "initial_accumulator_value", initial_accumulator_value);
}

OptimizerKind optimizer_from_name(const std::string& name) {
#define EIGENNET_FROM_NAME(id, text) \
  if (name == text) return OptimizerKind::id;
  EIGENNET_OPTIMIZERS(EIGENNET_FROM_NAME)
#undef EIGENNET_FROM_NAME
  std::string known;
#define EIGENNET_KNOWN(id, text) known += std::string(" ") + text;
  EIGENNET_OPTIMIZERS(EIGENNET_KNOWN)
#undef EIGENNET_KNOWN
  throw std::invalid_argument("Unknown optimizer: '" + name + "'. Expected one of:" + known);
}

const char* optimizer_name(OptimizerKind k) {
  switch (k) {
#define EIGENNET_NAME_CASE(id, text) \
  case OptimizerKind::id: return text;
    EIGENNET_OPTIMIZERS(EIGENNET_NAME_CASE)
#undef EIGENNET_NAME_CASE
  }
  return "?";
}

}  // namespace eigennet
