// Optimizer steps over a flat buffer against Keras 3's update rules written out in the test,
// for three consecutive steps with changing learning rates; learning-rate schedules; validation.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "eigennet/backend.h"
#include "eigennet/optimizer.h"
#include "test_backends.h"
#include "test_util.h"

namespace eigennet {
namespace {

using test::FloatTypes;
using test::near_rel;
using test::tol;

const std::vector<double> kW0 = {0.5, -1.0, 2.0};
// One gradient per step; a zero entry checks that state alone keeps moving the weight.
const std::vector<std::vector<double>> kGrads = {
    {0.1, -0.2, 0.3}, {-0.05, 0.4, 0.0}, {0.2, 0.1, -0.3}};
const double kLr[] = {0.1, 0.05, 0.02};

/// Keras 3's rules in double, one parameter at a time; m and v are the first two state slots,
/// x the third (Adam's amsgrad maximum, centered RMSprop's average gradient).
struct Reference {
  OptimizerConfig cfg;
  std::vector<double> w, m, v, x;

  explicit Reference(const OptimizerConfig& c)
      : cfg(c), w(kW0), m(kW0.size()), v(kW0.size()), x(kW0.size()) {
    if (cfg.kind == OptimizerKind::Adagrad) v.assign(w.size(), cfg.initial_accumulator_value);
    if (cfg.kind == OptimizerKind::Ftrl) m.assign(w.size(), cfg.initial_accumulator_value);
  }

  void step(const std::vector<double>& grad, double lr, int iteration) {
    const int t = iteration + 1;  // bias corrections count this step
    for (std::size_t i = 0; i < w.size(); ++i) {
      std::vector<double> g = grad;
      if (cfg.clipvalue > 0) g[i] = std::min(std::max(g[i], -cfg.clipvalue), cfg.clipvalue);
      w[i] -= w[i] * cfg.weight_decay * lr;
      switch (cfg.kind) {
        case OptimizerKind::SGD:
          if (cfg.momentum == 0) {
            w[i] -= lr * g[i];
          } else {
            m[i] = cfg.momentum * m[i] - lr * g[i];
            w[i] += cfg.nesterov ? cfg.momentum * m[i] - lr * g[i] : m[i];
          }
          break;
        case OptimizerKind::Adam: {
          m[i] += (g[i] - m[i]) * (1 - cfg.beta_1);
          v[i] += (g[i] * g[i] - v[i]) * (1 - cfg.beta_2);
          const double alpha =
              lr * std::sqrt(1 - std::pow(cfg.beta_2, t)) / (1 - std::pow(cfg.beta_1, t));
          if (cfg.amsgrad) x[i] = std::max(x[i], v[i]);
          w[i] -= alpha * m[i] / (std::sqrt(cfg.amsgrad ? x[i] : v[i]) + cfg.epsilon);
          break;
        }
        case OptimizerKind::RMSprop: {
          v[i] = cfg.rho * v[i] + (1 - cfg.rho) * g[i] * g[i];
          double denominator = v[i] + cfg.epsilon;
          if (cfg.centered) {
            x[i] = cfg.rho * x[i] + (1 - cfg.rho) * g[i];
            denominator = v[i] - x[i] * x[i] + cfg.epsilon;
          }
          const double inc = lr * g[i] / std::sqrt(denominator);
          if (cfg.momentum > 0) {
            m[i] = cfg.momentum * m[i] + inc;
            w[i] -= m[i];
          } else {
            w[i] -= inc;
          }
          break;
        }
        case OptimizerKind::Adagrad:
          v[i] += g[i] * g[i];
          w[i] -= lr * g[i] / std::sqrt(v[i] + cfg.epsilon);
          break;
        case OptimizerKind::Adamax:
          m[i] += (g[i] - m[i]) * (1 - cfg.beta_1);
          v[i] = std::max(cfg.beta_2 * v[i], std::abs(g[i]));
          w[i] -= lr * m[i] / ((1 - std::pow(cfg.beta_1, t)) * (v[i] + cfg.epsilon));
          break;
        case OptimizerKind::Nadam: {
          // Keras 3: μ_k = β₁(1 - ½·0.96ᵏ); the products of μ_1..μ_t and of μ_1..μ_{t+1}.
          auto mu = [&](int k) { return cfg.beta_1 * (1 - 0.5 * std::pow(0.96, k)); };
          double prod = 1;
          for (int k = 1; k <= t; ++k) prod *= mu(k);
          m[i] += (g[i] - m[i]) * (1 - cfg.beta_1);
          v[i] += (g[i] * g[i] - v[i]) * (1 - cfg.beta_2);
          const double m_hat =
              mu(t + 1) * m[i] / (1 - prod * mu(t + 1)) + (1 - mu(t)) * g[i] / (1 - prod);
          const double v_hat = v[i] / (1 - std::pow(cfg.beta_2, t));
          w[i] -= m_hat * lr / (std::sqrt(v_hat) + cfg.epsilon);
          break;
        }
        case OptimizerKind::Lion: {
          const double u = cfg.beta_1 * m[i] + (1 - cfg.beta_1) * g[i];
          w[i] -= lr * (u > 0 ? 1.0 : (u < 0 ? -1.0 : 0.0));
          m[i] = cfg.beta_2 * m[i] + (1 - cfg.beta_2) * g[i];
          break;
        }
        case OptimizerKind::Ftrl: {
          // m: the accumulator, v: the linear term.
          const double p = -cfg.lr_power, n_new = m[i] + g[i] * g[i];
          v[i] += g[i] + 2 * cfg.l2_shrinkage * w[i] -
                  (std::pow(n_new, p) - std::pow(m[i], p)) / lr * w[i];
          const double quadratic = std::pow(n_new, p) / lr + 2 * (cfg.l2 + cfg.beta / (2 * lr));
          w[i] = (std::min(std::max(v[i], -cfg.l1), cfg.l1) - v[i]) / quadratic;
          m[i] = n_new;
          break;
        }
        case OptimizerKind::Adadelta: {
          m[i] = cfg.rho * m[i] + (1 - cfg.rho) * g[i] * g[i];
          const double delta =
              -std::sqrt(v[i] + cfg.epsilon) * g[i] / std::sqrt(m[i] + cfg.epsilon);
          v[i] = cfg.rho * v[i] + (1 - cfg.rho) * delta * delta;
          w[i] += lr * delta;
          break;
        }
      }
    }
  }
};

OptimizerConfig make(OptimizerKind kind, double momentum = 0, bool nesterov = false) {
  OptimizerConfig c;
  c.kind = kind;
  c.momentum = momentum;
  c.nesterov = nesterov;
  return c;
}

OptimizerConfig ftrl(OptimizerConfig c) {
  c.lr_power = -0.3;
  c.l1 = 0.01;
  c.l2 = 0.02;
  c.l2_shrinkage = 0.03;
  c.beta = 0.1;
  return c;
}

OptimizerConfig flags(OptimizerConfig c, bool amsgrad, bool centered) {
  c.amsgrad = amsgrad;
  c.centered = centered;
  return c;
}

OptimizerConfig with(OptimizerConfig c, double weight_decay, double clipvalue) {
  c.weight_decay = weight_decay;
  c.clipvalue = clipvalue;
  return c;
}

struct NamedConfig {
  const char* name;
  OptimizerConfig cfg;
};

const NamedConfig kConfigs[] = {
    {"sgd", make(OptimizerKind::SGD)},
    {"sgd_momentum", make(OptimizerKind::SGD, 0.9)},
    {"sgd_nesterov", make(OptimizerKind::SGD, 0.9, true)},
    {"adam", make(OptimizerKind::Adam)},
    {"rmsprop", make(OptimizerKind::RMSprop)},
    {"rmsprop_momentum", make(OptimizerKind::RMSprop, 0.5)},
    {"adagrad", make(OptimizerKind::Adagrad)},
    {"adamax", make(OptimizerKind::Adamax)},
    {"nadam", make(OptimizerKind::Nadam)},
    {"lion", make(OptimizerKind::Lion)},
    {"adadelta", make(OptimizerKind::Adadelta)},
    {"adam_weight_decay", with(make(OptimizerKind::Adam), 0.05, 0.0)},
    {"adam_amsgrad", flags(make(OptimizerKind::Adam), true, false)},
    {"adamw_amsgrad", flags(with(make(OptimizerKind::Adam), 0.05, 0.0), true, false)},
    {"rmsprop_centered", flags(make(OptimizerKind::RMSprop), false, true)},
    {"rmsprop_centered_momentum", flags(make(OptimizerKind::RMSprop, 0.5), false, true)},
    {"sgd_momentum_clipvalue", with(make(OptimizerKind::SGD, 0.9), 0.0, 0.15)},
    {"ftrl", ftrl(make(OptimizerKind::Ftrl))},
};

template <typename Param>
class OptimizerTest : public test::OnBackend<Param> {
 protected:
  using T = typename Param::Scalar;

  /// Runs `steps` updates through the backend; returns the weights after each.
  std::vector<std::vector<T>> run(const OptimizerConfig& cfg, int steps) {
    const Index n = static_cast<Index>(kW0.size());
    std::vector<T> w(kW0.begin(), kW0.end()), state(cfg.n_slots() * n);
    for (int s = 0; s < cfg.n_slots(); ++s)
      std::fill(state.begin() + s * n, state.begin() + (s + 1) * n,
                static_cast<T>(cfg.slot_initial_value(s)));
    std::vector<std::vector<T>> out;
    for (int t = 0; t < steps; ++t) {
      const std::vector<T> g(kGrads[t].begin(), kGrads[t].end());
      // Plain SGD has no state, and the model then passes a null buffer.
      this->be->optimizer_step(cfg, kLr[t], t, w.data(), g.data(),
                               state.empty() ? nullptr : state.data(), n);
      out.push_back(w);
    }
    return out;
  }
};
TYPED_TEST_SUITE(OptimizerTest, test::Backends, test::BackendNames);

TYPED_TEST(OptimizerTest, ThreeStepsMatchKerasRules) {
  using T = typename TypeParam::Scalar;
  for (const NamedConfig& nc : kConfigs) {
    SCOPED_TRACE(nc.name);
    const auto got = this->run(nc.cfg, 3);
    Reference ref(nc.cfg);
    for (int t = 0; t < 3; ++t) {
      ref.step(kGrads[t], kLr[t], t);
      for (std::size_t i = 0; i < kW0.size(); ++i)
        EXPECT_TRUE(near_rel(got[t][i], ref.w[i], 4 * tol<T>())) << "step " << t << " entry " << i;
    }
  }
}

TYPED_TEST(OptimizerTest, FirstStepsByHand) {
  using T = typename TypeParam::Scalar;
  // SGD: 0.5 - 0.1 * 0.1, then - 0.05 * (-0.05).
  auto sgd = this->run(make(OptimizerKind::SGD), 2);
  EXPECT_TRUE(near_rel(sgd[0][0], 0.49, tol<T>()));
  EXPECT_TRUE(near_rel(sgd[1][0], 0.4925, tol<T>()));
  // Momentum 0.9: m1 = -0.01, w1 = 0.49; m2 = -0.009 + 0.0025 = -0.0065, w2 = 0.4835.
  auto mom = this->run(make(OptimizerKind::SGD, 0.9), 2);
  EXPECT_TRUE(near_rel(mom[0][0], 0.49, tol<T>()));
  EXPECT_TRUE(near_rel(mom[1][0], 0.4835, tol<T>()));
  // Nesterov: w1 = 0.5 + 0.9 * (-0.01) - 0.01 = 0.481; w2 = 0.481 + 0.9 * (-0.0065) + 0.0025.
  auto nes = this->run(make(OptimizerKind::SGD, 0.9, true), 2);
  EXPECT_TRUE(near_rel(nes[0][0], 0.481, tol<T>()));
  EXPECT_TRUE(near_rel(nes[1][0], 0.47765, tol<T>()));
  // Adam's first step with bias correction moves each weight by lr * sign(g) (up to epsilon).
  auto adam = this->run(make(OptimizerKind::Adam), 1);
  EXPECT_NEAR(adam[0][0], 0.5 - 0.1, 1e-5);
  EXPECT_NEAR(adam[0][1], -1.0 + 0.1, 1e-5);
  // Adagrad: a = 0.1 + 0.01, w = 0.5 - 0.1 * 0.1 / sqrt(0.11).
  auto ada = this->run(make(OptimizerKind::Adagrad), 1);
  EXPECT_TRUE(near_rel(ada[0][0], 0.5 - 0.01 / std::sqrt(0.11 + 1e-7), tol<T>()));
  // RMSprop: v = 0.1 g^2, w = 0.5 - 0.1 * g / sqrt(0.1 g^2) = 0.5 - 0.1 * sqrt(10).
  auto rms = this->run(make(OptimizerKind::RMSprop), 1);
  EXPECT_NEAR(rms[0][0], 0.5 - 0.1 * std::sqrt(10.0), 1e-4);
}

// Keras's optimizer_test.py test_ema: SGD(1.0), averages with momentum 0.9 that overwrite the
// weights every third step, the average starting at the first step's weights.
TYPED_TEST(OptimizerTest, MovingAverageAsKeras) {
  using T = typename TypeParam::Scalar;
  OptimizerConfig cfg = make(OptimizerKind::SGD);
  cfg.use_ema = true;
  cfg.ema_momentum = 0.9;
  cfg.ema_overwrite_frequency = 3;
  ASSERT_EQ(cfg.n_slots(), 1);
  ASSERT_EQ(cfg.rule_slots(), 0);
  std::vector<T> w{3, 4, 5, 6}, avg(4, T(0));
  const std::vector<T> g(4, T(1));
  const double want_w[4] = {2.0, 1.0, 1.71, 0.71}, want_avg[4] = {2.0, 1.9, 1.71, 1.61};
  for (int t = 0; t < 4; ++t) {
    this->be->optimizer_step(cfg, 1.0, t, w.data(), g.data(), avg.data(), 4);
    for (int i = 0; i < 4; ++i) {
      EXPECT_TRUE(near_rel(w[i], want_w[t] + i, 4 * tol<T>())) << "step " << t << " w " << i;
      EXPECT_TRUE(near_rel(avg[i], want_avg[t] + i, 4 * tol<T>())) << "step " << t;
    }
  }
  // With a rule's own slots the average is the last one and changes nothing else.
  OptimizerConfig adam = make(OptimizerKind::Adam), adam_ema = adam;
  adam_ema.use_ema = true;
  adam_ema.ema_momentum = 0.7;
  const auto plain = this->run(adam, 3), averaged = this->run(adam_ema, 3);
  double a = 0;
  for (int t = 0; t < 3; ++t) {
    EXPECT_EQ(plain[t], averaged[t]) << "step " << t;
    a = t == 0 ? static_cast<double>(plain[0][0]) : 0.7 * a + 0.3 * plain[t][0];
  }
  const Index n = static_cast<Index>(kW0.size());
  std::vector<T> w2(kW0.begin(), kW0.end()), state(3 * n, T(0));
  for (int t = 0; t < 3; ++t) {
    const std::vector<T> g2(kGrads[t].begin(), kGrads[t].end());
    this->be->optimizer_step(adam_ema, kLr[t], t, w2.data(), g2.data(), state.data(), n);
  }
  EXPECT_TRUE(near_rel(state[2 * n], a, 4 * tol<T>()));
}

TYPED_TEST(OptimizerTest, ClipByNorm) {
  using T = typename TypeParam::Scalar;
  std::vector<T> x = {3, 4}, y = {12};
  double s = -1, total = 0;
  this->be->sum_squares(x.data(), 2, &s, false);
  EXPECT_DOUBLE_EQ(s, 25.0);
  this->be->scale_to_norm(x.data(), 2, &s, 10.0);  // inside the norm: unchanged
  EXPECT_EQ(x, (std::vector<T>{3, 4}));
  this->be->scale_to_norm(x.data(), 2, &s, 2.5);
  EXPECT_TRUE(near_rel(x[0], 1.5, tol<T>()) && near_rel(x[1], 2.0, tol<T>()));
  // A global norm adds the variables' squares: √(2.5² + 12²).
  this->be->sum_squares(x.data(), 2, &total, false);
  this->be->sum_squares(y.data(), 1, &total, true);
  EXPECT_TRUE(near_rel(total, 6.25 + 144.0, tol<T>()));
}

TYPED_TEST(OptimizerTest, ConstraintsPerLine) {
  using T = typename TypeParam::Scalar;
  // A (2, 3) weight in C order; axis 0 folds to lines of 2 with stride 3 (one per column).
  std::vector<T> w = {3, 0, -1, 4, 2, 0};
  Constraint max_norm = make_constraint("max_norm", 0, 2.5, 1);
  this->be->constrain(max_norm, w.data(), 1, 2, 3);
  const double e = kEpsilon;
  EXPECT_TRUE(near_rel(w[0], 3 * 2.5 / (5 + e), tol<T>()));
  EXPECT_TRUE(near_rel(w[3], 4 * 2.5 / (5 + e), tol<T>()));
  EXPECT_EQ(w[1], T(0));  // column 1 (norm 2) keeps its norm, up to ε
  EXPECT_TRUE(near_rel(w[4], 2 / (1 + e / 2), tol<T>()));
  std::vector<T> v = {-1, 2, -3};
  this->be->constrain(make_constraint("non_neg", 0, -1, 1), v.data(), 1, 3, 1);
  EXPECT_EQ(v, (std::vector<T>{0, 2, 0}));
  std::vector<T> u = {3, 4};
  this->be->constrain(make_constraint("unit_norm", 0, -1, 1), u.data(), 1, 2, 1);
  EXPECT_TRUE(near_rel(u[0], 3 / (5 + e), tol<T>()) && near_rel(u[1], 4 / (5 + e), tol<T>()));
  EXPECT_THROW(make_constraint("positive", 0, 1, 1), std::invalid_argument);
  EXPECT_THROW(make_constraint("min_max_norm", 2, 1, 1), std::invalid_argument);
  Index outer, reduce, inner;
  EXPECT_THROW(fold_axis({2, 3}, 2, &outer, &reduce, &inner), std::invalid_argument);
  fold_axis({2, 3}, -1, &outer, &reduce, &inner);
  EXPECT_EQ(outer * 10 + reduce + inner * 100, 2 * 10 + 3 + 100);
}

TEST(OptimizerConfigTest, SlotsAndInitialValues) {
  EXPECT_EQ(make(OptimizerKind::SGD).n_slots(), 0);
  EXPECT_EQ(make(OptimizerKind::SGD, 0.9).n_slots(), 1);
  EXPECT_EQ(make(OptimizerKind::Adam).n_slots(), 2);
  EXPECT_EQ(make(OptimizerKind::RMSprop).n_slots(), 1);
  EXPECT_EQ(make(OptimizerKind::RMSprop, 0.5).n_slots(), 2);
  EXPECT_EQ(make(OptimizerKind::Adagrad).n_slots(), 1);
  EXPECT_EQ(make(OptimizerKind::Adagrad).slot_initial_value(0), 0.1);
  EXPECT_EQ(flags(make(OptimizerKind::Adam), true, false).n_slots(), 3);
  EXPECT_EQ(flags(make(OptimizerKind::RMSprop), false, true).n_slots(), 3);
  EXPECT_TRUE(flags(make(OptimizerKind::Adam), true, false).slot_nonnegative(2));
  EXPECT_FALSE(flags(make(OptimizerKind::RMSprop), false, true).slot_nonnegative(2));
  EXPECT_EQ(make(OptimizerKind::Adam).slot_initial_value(1), 0.0);
  OptimizerConfig ema = make(OptimizerKind::Adagrad);
  ema.use_ema = true;
  EXPECT_EQ(ema.n_slots(), 2);
  EXPECT_EQ(ema.slot_initial_value(1), 0.0);
  EXPECT_FALSE(ema.slot_nonnegative(1));
}

TEST(OptimizerConfigTest, ValidateRejectsBadValues) {
  EXPECT_NO_THROW(make(OptimizerKind::Adam).validate());
  auto bad = [](auto mutate) {
    OptimizerConfig c = make(OptimizerKind::Adam);
    mutate(c);
    EXPECT_THROW(c.validate(), std::invalid_argument);
  };
  bad([](OptimizerConfig& c) { c.learning_rate.initial = -0.1; });
  bad([](OptimizerConfig& c) { c.learning_rate.initial = std::nan(""); });
  bad([](OptimizerConfig& c) { c.momentum = 1.5; });
  bad([](OptimizerConfig& c) { c.beta_1 = 1.0; });
  bad([](OptimizerConfig& c) { c.beta_2 = -0.1; });
  bad([](OptimizerConfig& c) { c.rho = 1.0; });
  bad([](OptimizerConfig& c) { c.epsilon = -1e-7; });
  bad([](OptimizerConfig& c) { c.initial_accumulator_value = -1; });
  bad([](OptimizerConfig& c) { c.centered = true; });  // an RMSprop option, on Adam
  bad([](OptimizerConfig& c) {
    c.use_ema = true;
    c.ema_momentum = 1.5;
  });
  bad([](OptimizerConfig& c) {
    c.use_ema = true;
    c.ema_momentum = std::nan("");
  });
  bad([](OptimizerConfig& c) { c.ema_overwrite_frequency = -2; });
  bad([](OptimizerConfig& c) {
    c.kind = OptimizerKind::SGD;
    c.amsgrad = true;
  });
  bad([](OptimizerConfig& c) {
    c.learning_rate.kind = Schedule::Kind::ExponentialDecay;
    c.learning_rate.decay_steps = 0;
  });
  bad([](OptimizerConfig& c) {
    c.learning_rate.kind = Schedule::Kind::PiecewiseConstant;
    c.learning_rate.boundaries = {10};
    c.learning_rate.values = {0.1};
  });
  bad([](OptimizerConfig& c) { c.clipnorm = -1; });
  bad([](OptimizerConfig& c) {  // Keras allows one clip at a time
    c.clipnorm = 1;
    c.global_clipnorm = 1;
  });
  bad([](OptimizerConfig& c) { c.lr_power = 0.5; });
  bad([](OptimizerConfig& c) { c.l1 = -0.1; });
}

TEST(OptimizerConfigTest, Names) {
  EXPECT_EQ(optimizer_from_name("rmsprop"), OptimizerKind::RMSprop);
  EXPECT_STREQ(optimizer_name(OptimizerKind::Adagrad), "adagrad");
  EXPECT_THROW(optimizer_from_name("lamb"), std::invalid_argument);
}

TEST(ScheduleTest, Constant) {
  Schedule s;
  s.initial = 0.3;
  EXPECT_EQ(s.at(0), 0.3);
  EXPECT_EQ(s.at(12345), 0.3);
}

TEST(ScheduleTest, ExponentialDecay) {
  // initial * rate^(step / decay_steps), the exponent floored when staircase.
  Schedule s;
  s.kind = Schedule::Kind::ExponentialDecay;
  s.initial = 0.1;
  s.decay_steps = 10;
  s.decay_rate = 0.5;
  EXPECT_DOUBLE_EQ(s.at(0), 0.1);
  EXPECT_DOUBLE_EQ(s.at(5), 0.1 * std::sqrt(0.5));
  EXPECT_DOUBLE_EQ(s.at(10), 0.05);
  EXPECT_DOUBLE_EQ(s.at(25), 0.1 * std::pow(0.5, 2.5));
  s.staircase = true;
  EXPECT_DOUBLE_EQ(s.at(0), 0.1);
  EXPECT_DOUBLE_EQ(s.at(9), 0.1);
  EXPECT_DOUBLE_EQ(s.at(10), 0.05);
  EXPECT_DOUBLE_EQ(s.at(19), 0.05);
  EXPECT_DOUBLE_EQ(s.at(25), 0.025);
}

TEST(ScheduleTest, PiecewiseConstant) {
  // Keras: values[0] while step <= boundaries[0], values[i] while step <= boundaries[i], then the
  // last value.
  Schedule s;
  s.kind = Schedule::Kind::PiecewiseConstant;
  s.boundaries = {10, 20};
  s.values = {1.0, 0.5, 0.1};
  EXPECT_EQ(s.at(0), 1.0);
  EXPECT_EQ(s.at(10), 1.0);
  EXPECT_EQ(s.at(11), 0.5);
  EXPECT_EQ(s.at(20), 0.5);
  EXPECT_EQ(s.at(21), 0.1);
  EXPECT_EQ(s.at(1000000), 0.1);
}

}  // namespace
}  // namespace eigennet
