#pragma once
// Optimizers over one flat parameter buffer, with Keras 3's exact update rules.
//
// With g the gradient, lr the learning rate of this step and t = iterations + 1:
//   SGD:      m = momentum*m - lr*g;  w += momentum*m - lr*g (nesterov) or w += m;  (w -= lr*g if
//             momentum == 0)
//   Adam:     m += (g - m)(1 - b1);  v += (g^2 - v)(1 - b2);
//             w -= lr * sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps)
//   RMSprop:  v = rho*v + (1 - rho) g^2;  inc = lr*g / sqrt(v + eps);
//             w -= inc, or with momentum: m = momentum*m + inc; w -= m
//   Adagrad:  a += g^2;  w -= lr*g / sqrt(a + eps)
//   Ftrl:     n' = n + g^2;  z += g + 2·l2s·w - (n'^-p - n^-p)/lr · w;  n = n';
//             w = (clip(z, -l1, l1) - z) / (n'^-p / lr + 2·(l2 + β/(2·lr)))   (p = lr_power)
#include <cstdint>
#include <string>
#include <vector>

#include "eigennet/config.h"

namespace eigennet {

// The optimizers and their Keras names: the only list (rules in optimizer_rules.h).
// clang-format off
#define EIGENNET_OPTIMIZERS(X) \
  X(SGD, "sgd")                \
  X(Adam, "adam")              \
  X(RMSprop, "rmsprop")        \
  X(Adagrad, "adagrad")        \
  X(Adamax, "adamax")          \
  X(Nadam, "nadam")            \
  X(Lion, "lion")              \
  X(Adadelta, "adadelta")      \
  X(Ftrl, "ftrl")
// clang-format on

#define EIGENNET_ENUM_ENTRY(id, name) id,
enum class OptimizerKind { EIGENNET_OPTIMIZERS(EIGENNET_ENUM_ENTRY) };
#undef EIGENNET_ENUM_ENTRY

/// Learning-rate schedule evaluated at the step count before the update (Keras's `iterations`).
// Keras's learning-rate schedules, one line each: the Kind and its serialised name.
// clang-format off
#define EIGENNET_SCHEDULES(X)                          \
  X(Constant, "constant")                              \
  X(ExponentialDecay, "exponential_decay")             \
  X(PiecewiseConstant, "piecewise_constant")           \
  X(PolynomialDecay, "polynomial_decay")               \
  X(InverseTimeDecay, "inverse_time_decay")            \
  X(CosineDecay, "cosine_decay")                       \
  X(CosineDecayRestarts, "cosine_decay_restarts")
// clang-format on

/// A learning rate as a function of the step, with Keras's formulas (Schedule::at).
struct Schedule {
#define EIGENNET_SCHEDULE_ENTRY(id, name) id,
  enum class Kind { EIGENNET_SCHEDULES(EIGENNET_SCHEDULE_ENTRY) } kind = Kind::Constant;
#undef EIGENNET_SCHEDULE_ENTRY
  double initial = 0.01;
  double decay_steps = 1.0;  // first_decay_steps for CosineDecayRestarts
  double decay_rate = 1.0;
  bool staircase = false;
  std::vector<double> boundaries;  // PiecewiseConstant: values.size() == boundaries.size() + 1
  std::vector<double> values;
  double end = 0.0001, power = 1.0;  // PolynomialDecay's end_learning_rate and power
  bool cycle = false;
  double alpha = 0.0;   // CosineDecay(Restarts): the floor, as a fraction of the rate
  bool warmup = false;  // CosineDecay with a warmup_target
  double warmup_target = 0.0, warmup_steps = 0.0;
  double t_mul = 2.0, m_mul = 1.0;  // CosineDecayRestarts

  /// Throws std::invalid_argument unless values.size() == boundaries.size() + 1
  /// (PiecewiseConstant).
  void check_pieces() const;
  /// Throws std::invalid_argument naming the first value the kind cannot use.
  void validate() const;
  double at(std::int64_t step) const;
};

const char* schedule_name(Schedule::Kind k);
/// Throws std::invalid_argument for an unknown name.
Schedule::Kind schedule_from_name(const std::string& name);

struct OptimizerConfig {
  OptimizerKind kind = OptimizerKind::SGD;
  Schedule learning_rate;
  double momentum = 0.0;                   // SGD, RMSprop
  bool nesterov = false;                   // SGD
  double beta_1 = 0.9;                     // Adam
  double beta_2 = 0.999;                   // Adam
  double rho = 0.9;                        // RMSprop
  double epsilon = 1e-7;                   // Adam, RMSprop, Adagrad
  double initial_accumulator_value = 0.1;  // Adagrad
  // Keras's base-optimizer options, every kind: decoupled weight decay w -= w·wd·lr before
  // the update (0: none) and gradients clipped to [-clipvalue, clipvalue] (0: none).
  double weight_decay = 0.0;
  double clipvalue = 0.0;
  // Gradients scaled to a norm of at most clipnorm per variable, or global_clipnorm over all of
  // them (0: none; at most one of the three clips is set, as Keras requires).
  double clipnorm = 0.0;
  double global_clipnorm = 0.0;
  // Ftrl (its accumulator starts at initial_accumulator_value).
  double lr_power = -0.5;
  double l1 = 0.0, l2 = 0.0, l2_shrinkage = 0.0, beta = 0.0;
  bool amsgrad = false;   // Adam (and AdamW): the maximum of past second moments
  bool centered = false;  // RMSprop: normalise by the variance rather than the second moment
  // Keras's use_ema, every kind: after each update avg = m·avg + (1 - m)·w (m = ema_momentum,
  // 0 at the first step), and w = avg on every ema_overwrite_frequency-th step (0: never).
  bool use_ema = false;
  double ema_momentum = 0.99;
  std::int64_t ema_overwrite_frequency = 0;

  /// Number of state slots per parameter (0 to 4): the rule's, then the moving average.
  int n_slots() const;
  /// The rule's slots (0 to 3); the moving average, with use_ema, is slot rule_slots().
  int rule_slots() const;
  /// Value each slot starts from (Adagrad's accumulator starts at initial_accumulator_value).
  double slot_initial_value(int slot) const;
  /// Whether a slot holds a second moment (never negative: a negative one makes steps NaN).
  bool slot_nonnegative(int slot) const;
  /// Throws std::invalid_argument naming the first bad value.
  void validate() const;
};

OptimizerKind optimizer_from_name(const std::string& name);
const char* optimizer_name(OptimizerKind k);

/// Iteration counts the steps use exactly (t = iterations + 1 as a double, never overflowing):
/// std::invalid_argument outside [0, 2⁵³).
void check_iterations(std::int64_t step);

}  // namespace eigennet
