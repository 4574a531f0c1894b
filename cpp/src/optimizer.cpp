#include "eigennet/optimizer.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <utility>
#include <vector>

#include "eigennet/optimizer_rules.h"

namespace eigennet {
namespace {

void require(bool ok, const std::string& what, double value) {
  if (!ok)
    throw std::invalid_argument("Invalid optimizer argument: " + what + "=" +
                                std::to_string(value));
}

constexpr double kPi = 3.14159265358979323846;

}  // namespace

void Schedule::check_pieces() const {
  if (values.size() != boundaries.size() + 1)
    throw std::invalid_argument(
        "PiecewiseConstantDecay needs len(values) == len(boundaries) + 1, got " +
        std::to_string(values.size()) + " values and " + std::to_string(boundaries.size()) +
        " boundaries");
}

double Schedule::at(std::int64_t step) const {
  const double t = static_cast<double>(step);
  switch (kind) {
    case Kind::Constant: return initial;
    case Kind::ExponentialDecay: {
      double p = t / decay_steps;
      if (staircase) p = std::floor(p);
      return initial * std::pow(decay_rate, p);
    }
    case Kind::PiecewiseConstant: {
      check_pieces();
      // Keras: values[0] while step <= boundaries[0], values[i] while step <= boundaries[i].
      for (std::size_t i = 0; i < boundaries.size(); ++i)
        if (t <= boundaries[i]) return values[i];
      return values.back();
    }
    case Kind::PolynomialDecay: {
      // With cycle the horizon is the first multiple of decay_steps at or past the step (one
      // multiple at step 0); without, the rate stays at `end` after decay_steps.
      double steps = decay_steps, s = t;
      if (cycle)
        steps *= t == 0.0 ? 1.0 : std::ceil(t / decay_steps);
      else
        s = std::min(t, decay_steps);
      return (initial - end) * std::pow(1.0 - s / steps, power) + end;
    }
    case Kind::InverseTimeDecay: {
      double p = t / decay_steps;
      if (staircase) p = std::floor(p);
      return initial / (1.0 + decay_rate * p);
    }
    case Kind::CosineDecay: {
      auto decay = [&](double s, double from) {
        const double cosine = 0.5 * (1.0 + std::cos(kPi * s / decay_steps));
        return from * ((1.0 - alpha) * cosine + alpha);
      };
      if (!warmup) return decay(std::min(t, decay_steps), initial);
      // Linear from initial to warmup_target over warmup_steps, then the decay from there.
      const double s = std::min(t, decay_steps + warmup_steps);
      if (s < warmup_steps) return (warmup_target - initial) * s / warmup_steps + initial;
      return decay(s - warmup_steps, warmup_target);
    }
    case Kind::CosineDecayRestarts: {
      // Restart i lasts decay_steps · t_mul^i steps and starts from initial · m_mul^i.
      double fraction = t / decay_steps, restart;
      if (t_mul == 1.0) {
        restart = std::floor(fraction);
        fraction -= restart;
      } else {
        restart = std::floor(std::log(1.0 - fraction * (1.0 - t_mul)) / std::log(t_mul));
        const double done = (1.0 - std::pow(t_mul, restart)) / (1.0 - t_mul);
        fraction = (fraction - done) / std::pow(t_mul, restart);
      }
      const double cosine = 0.5 * std::pow(m_mul, restart) * (1.0 + std::cos(kPi * fraction));
      return initial * ((1.0 - alpha) * cosine + alpha);
    }
  }
  return initial;
}

void Schedule::validate() const {
  auto positive = [](const char* what, double v) { require(std::isfinite(v) && v > 0.0, what, v); };
  auto rate = [](const char* what, double v) { require(std::isfinite(v) && v >= 0.0, what, v); };
  if (kind == Kind::PiecewiseConstant) {
    check_pieces();
    for (double v : values) rate("learning_rate value", v);
    return;
  }
  rate("learning_rate", initial);
  switch (kind) {
    case Kind::ExponentialDecay:
    case Kind::InverseTimeDecay:
      positive("decay_steps", decay_steps);
      if (kind == Kind::ExponentialDecay)
        positive("decay_rate", decay_rate);
      else
        rate("decay_rate", decay_rate);
      break;
    case Kind::PolynomialDecay:
      positive("decay_steps", decay_steps);
      rate("end_learning_rate", end);
      positive("power", power);
      break;
    case Kind::CosineDecay:
      positive("decay_steps", decay_steps);
      require(std::isfinite(alpha) && alpha >= 0.0 && alpha <= 1.0, "alpha", alpha);
      if (warmup) {
        rate("warmup_target", warmup_target);
        rate("warmup_steps", warmup_steps);
      }
      break;
    case Kind::CosineDecayRestarts:
      positive("first_decay_steps", decay_steps);
      require(std::isfinite(alpha) && alpha >= 0.0 && alpha <= 1.0, "alpha", alpha);
      positive("t_mul", t_mul);
      rate("m_mul", m_mul);
      break;
    default: break;
  }
}

namespace {
#define EIGENNET_SCHEDULE_NAME(id, name) {name, Schedule::Kind::id},
const std::pair<const char*, Schedule::Kind> kSchedules[] = {
    EIGENNET_SCHEDULES(EIGENNET_SCHEDULE_NAME)};
#undef EIGENNET_SCHEDULE_NAME
}  // namespace

const char* schedule_name(Schedule::Kind k) {
  for (const auto& [name, kind] : kSchedules)
    if (kind == k) return name;
  return "constant";
}

Schedule::Kind schedule_from_name(const std::string& name) {
  for (const auto& [n, kind] : kSchedules)
    if (name == n) return kind;
  throw std::invalid_argument("Unknown schedule: '" + name + "'");
}

namespace {

/// f(Rule<kind>{}): the one switch from an optimizer kind to its rule.
template <typename F>
auto with_rule(OptimizerKind kind, F&& f) {
  switch (kind) {
#define EIGENNET_RULE_CASE(id, name) \
  case OptimizerKind::id: return f(Rule<OptimizerKind::id>{});
    EIGENNET_OPTIMIZERS(EIGENNET_RULE_CASE)
#undef EIGENNET_RULE_CASE
  }
  throw std::invalid_argument("Unknown optimizer kind");
}

}  // namespace

int OptimizerConfig::rule_slots() const {
  return with_rule(kind, [&](auto rule) { return decltype(rule)::slots(*this); });
}

int OptimizerConfig::n_slots() const { return rule_slots() + (use_ema ? 1 : 0); }

double OptimizerConfig::slot_initial_value(int slot) const {
  if (slot == rule_slots()) return 0.0;  // the moving average (Keras's zeros)
  return with_rule(kind, [&](auto rule) { return decltype(rule)::initial(*this, slot); });
}

bool OptimizerConfig::slot_nonnegative(int slot) const {
  if (slot == rule_slots()) return false;
  return with_rule(kind, [&](auto rule) { return decltype(rule)::nonnegative(slot); });
}

double nadam_mu_product(double beta_1, std::int64_t t) {
  constexpr int kTerms = 1000;
  static const std::vector<double> prefix = [] {
    std::vector<double> p(kTerms + 1, 0.0);  // p[k] = Σ_{j<=k} log(1 - ½·0.96ʲ)
    for (int k = 1; k <= kTerms; ++k) p[k] = p[k - 1] + std::log1p(-0.5 * std::pow(0.96, k));
    return p;
  }();
  const std::int64_t k = std::min<std::int64_t>(t, kTerms);
  return std::pow(beta_1, static_cast<double>(t)) * std::exp(prefix[static_cast<std::size_t>(k)]);
}

void check_iterations(std::int64_t step) {
  constexpr std::int64_t kLimit = std::int64_t(1) << 53;
  if (step < 0 || step >= kLimit)
    throw std::invalid_argument("iterations must be in [0, 2^53), got " + std::to_string(step));
}

StepValues step_values(const OptimizerConfig& cfg, double lr, std::int64_t step) {
  const double t = static_cast<double>(step + 1);
  StepValues v{lr, 0.0, 0.0, 0.0, step == 0 ? 0.0 : cfg.ema_momentum, 0.0};
  if (cfg.ema_overwrite_frequency > 0 && (step + 1) % cfg.ema_overwrite_frequency == 0)
    v.ema_overwrite = 1.0;
  switch (cfg.kind) {
    case OptimizerKind::Adam:
      v.alpha = lr * std::sqrt(1.0 - std::pow(cfg.beta_2, t)) / (1.0 - std::pow(cfg.beta_1, t));
      break;
    case OptimizerKind::Adamax: v.alpha = lr / (1.0 - std::pow(cfg.beta_1, t)); break;
    case OptimizerKind::Nadam: {
      // Keras: u_t, u_{t+1} and the products Π_{k<=t} u_k, Π_{k<=t+1} u_k.
      const double u_t = nadam_mu(cfg.beta_1, t), u_next = nadam_mu(cfg.beta_1, t + 1.0);
      const double prod = nadam_mu_product(cfg.beta_1, step + 1), prod_next = prod * u_next;
      v.alpha = 1.0 / (1.0 - std::pow(cfg.beta_2, t));
      v.k1 = u_next / (1.0 - prod_next);
      v.k2 = (1.0 - u_t) / (1.0 - prod);
      break;
    }
    default: break;
  }
  return v;
}

void OptimizerConfig::validate() const {
  learning_rate.validate();
  require(std::isfinite(momentum) && momentum >= 0.0 && momentum <= 1.0, "momentum", momentum);
  require(std::isfinite(beta_1) && beta_1 >= 0.0 && beta_1 < 1.0, "beta_1", beta_1);
  require(std::isfinite(beta_2) && beta_2 >= 0.0 && beta_2 < 1.0, "beta_2", beta_2);
  require(std::isfinite(rho) && rho >= 0.0 && rho < 1.0, "rho", rho);
  require(std::isfinite(epsilon) && epsilon >= 0.0, "epsilon", epsilon);
  require(std::isfinite(weight_decay) && weight_decay >= 0.0, "weight_decay", weight_decay);
  require(std::isfinite(clipvalue) && clipvalue >= 0.0, "clipvalue", clipvalue);
  require(std::isfinite(clipnorm) && clipnorm >= 0.0, "clipnorm", clipnorm);
  require(std::isfinite(global_clipnorm) && global_clipnorm >= 0.0, "global_clipnorm",
          global_clipnorm);
  if ((clipvalue > 0) + (clipnorm > 0) + (global_clipnorm > 0) > 1)
    throw std::invalid_argument(
        "Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set. Received: "
        "clipnorm=" +
        std::to_string(clipnorm) + ", clipvalue=" + std::to_string(clipvalue) +
        ", global_clipnorm=" + std::to_string(global_clipnorm));
  require(std::isfinite(lr_power) && lr_power <= 0.0, "learning_rate_power", lr_power);
  require(std::isfinite(l1) && l1 >= 0.0, "l1_regularization_strength", l1);
  require(std::isfinite(l2) && l2 >= 0.0, "l2_regularization_strength", l2);
  require(std::isfinite(l2_shrinkage) && l2_shrinkage >= 0.0,
          "l2_shrinkage_regularization_strength", l2_shrinkage);
  require(std::isfinite(beta) && beta >= 0.0, "beta", beta);
  require(std::isfinite(initial_accumulator_value) && initial_accumulator_value >= 0.0,
          "initial_accumulator_value", initial_accumulator_value);
  if (use_ema && !(ema_momentum >= 0.0 && ema_momentum <= 1.0))
    throw std::invalid_argument(
        "`ema_momentum` must be in the range [0, 1]. Received: "
        "ema_momentum=" +
        std::to_string(ema_momentum));
  if (ema_overwrite_frequency < 0)
    throw std::invalid_argument(
        "`ema_overwrite_frequency` must be an integer >= 1 or None. Received: "
        "ema_overwrite_frequency=" +
        std::to_string(ema_overwrite_frequency));
  if (amsgrad && kind != OptimizerKind::Adam)
    throw std::invalid_argument("amsgrad is an option of Adam and AdamW only");
  if (centered && kind != OptimizerKind::RMSprop)
    throw std::invalid_argument("centered is an option of RMSprop only");
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
