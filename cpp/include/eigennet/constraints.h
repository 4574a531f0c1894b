#pragma once
// Keras 3's weight constraints, applied to a weight after every optimizer update: the formula
// of one line (the weights along the constrained axis) written once for both backends.
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "eigennet/config.h"

namespace eigennet {

enum class ConstraintKind { None, MaxNorm, NonNeg, UnitNorm, MinMaxNorm };

/// A constraint and its parameters, with Keras's defaults (the axis is the caller's: it picks
/// the lines).
struct Constraint {
  ConstraintKind kind = ConstraintKind::None;
  double min_value = 0.0;  ///< MinMaxNorm
  double max_value = 2.0;  ///< MaxNorm (2), MinMaxNorm (1)
  double rate = 1.0;       ///< MinMaxNorm
};

/// A constraint by Keras's snake-case name (max_norm, non_neg, unit_norm, min_max_norm);
/// max_value < 0 takes the kind's default. Throws std::invalid_argument naming a bad value.
inline Constraint make_constraint(const std::string& name, double min_value, double max_value,
                                  double rate) {
  Constraint c;
  if (name == "max_norm")
    c.kind = ConstraintKind::MaxNorm;
  else if (name == "non_neg")
    c.kind = ConstraintKind::NonNeg;
  else if (name == "unit_norm")
    c.kind = ConstraintKind::UnitNorm;
  else if (name == "min_max_norm")
    c.kind = ConstraintKind::MinMaxNorm;
  else
    throw std::invalid_argument("Unknown constraint: '" + name +
                                "'. Expected max_norm, non_neg, unit_norm or min_max_norm.");
  c.min_value = min_value;
  c.max_value = max_value >= 0 ? max_value : (c.kind == ConstraintKind::MinMaxNorm ? 1.0 : 2.0);
  c.rate = rate;
  if (!(std::isfinite(c.max_value) && std::isfinite(c.min_value) && c.min_value >= 0 &&
        c.min_value <= c.max_value && std::isfinite(c.rate)))
    throw std::invalid_argument(
        "A constraint needs 0 <= min_value <= max_value and a finite "
        "rate. Received: min_value=" +
        std::to_string(min_value) + ", max_value=" + std::to_string(max_value) +
        ", rate=" + std::to_string(rate));
  return c;
}

/// Folds a C-order shape around `axis` (negative counts from the end) into (outer, reduce,
/// inner). Throws std::invalid_argument for an axis out of range.
inline void fold_axis(const std::vector<Index>& shape, Index axis, Index* outer, Index* reduce,
                      Index* inner) {
  const Index rank = static_cast<Index>(shape.size());
  const Index a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank)
    throw std::invalid_argument("Constraint axis " + std::to_string(axis) +
                                " is out of range for a weight of rank " + std::to_string(rank));
  *outer = *inner = 1;
  for (Index d = 0; d < a; ++d) *outer *= shape[static_cast<std::size_t>(d)];
  for (Index d = a + 1; d < rank; ++d) *inner *= shape[static_cast<std::size_t>(d)];
  *reduce = shape[static_cast<std::size_t>(a)];
}

/// Constrains the n weights w[0], w[stride], ... with ‖w‖ their norm: MaxNorm
/// w·min(‖w‖, max)/(ε + ‖w‖), UnitNorm w/(ε + ‖w‖), MinMaxNorm
/// w·(rate·clip(‖w‖, min, max) + (1 - rate)·‖w‖)/(ε + ‖w‖), NonNeg max(w, 0) (element-wise).
template <typename T>
EIGENNET_HD inline void constrain_line(const Constraint& c, T* w, Index n, Index stride) {
  if (c.kind == ConstraintKind::None) return;
  if (c.kind == ConstraintKind::NonNeg) {
    for (Index i = 0; i < n; ++i) w[i * stride] = w[i * stride] > T(0) ? w[i * stride] : T(0);
    return;
  }
  T s = 0;
  for (Index i = 0; i < n; ++i) s += w[i * stride] * w[i * stride];
  const T norm = std::sqrt(s);
  T desired = T(1);
  if (c.kind == ConstraintKind::MaxNorm) desired = std::min(std::max(norm, T(0)), T(c.max_value));
  if (c.kind == ConstraintKind::MinMaxNorm)
    desired = T(c.rate) * std::min(std::max(norm, T(c.min_value)), T(c.max_value)) +
              (T(1) - T(c.rate)) * norm;
  const T scale = desired / (T(kEpsilon) + norm);
  for (Index i = 0; i < n; ++i) w[i * stride] *= scale;
}

}  // namespace eigennet
