#include "eigennet/config.h"

#include <pthread.h>

#include <cmath>
#include <stdexcept>
#include <thread>
#ifdef _OPENMP
#include <omp.h>
#endif

namespace eigennet {
namespace {

struct Name {
  const char* name;
  int value;
};

#define EIGENNET_NAME_ENTRY(id, name) {name, static_cast<int>(Activation::id)},
constexpr Name kActivations[] = {EIGENNET_ACTIVATIONS(EIGENNET_NAME_ENTRY)};
#undef EIGENNET_NAME_ENTRY
constexpr Name kLosses[] = {
    {"mean_squared_error", 0},
    {"mean_absolute_error", 1},
    {"binary_crossentropy", 2},
    {"binary_crossentropy_from_logits", 3},
    {"categorical_crossentropy", 4},
    {"categorical_crossentropy_from_logits", 5},
    {"sparse_categorical_crossentropy", 6},
    {"sparse_categorical_crossentropy_from_logits", 7},
    {"mean_squared_logarithmic_error", 8},
    {"mean_absolute_percentage_error", 9},
    {"log_cosh", 10},
    {"poisson", 11},
    {"kl_divergence", 12},
    {"cosine_similarity", 13},
    {"categorical_hinge", 14},
    {"huber", 15},
    {"hinge", 16},
    {"squared_hinge", 17},
    {"binary_focal_crossentropy", 18},
    {"binary_focal_crossentropy_from_logits", 19},
    {"categorical_focal_crossentropy", 20},
    {"categorical_focal_crossentropy_from_logits", 21},
};
#define EIGENNET_NAME_ENTRY(id, name) {name, static_cast<int>(MetricKind::id)},
constexpr Name kMetrics[] = {EIGENNET_METRICS(EIGENNET_NAME_ENTRY)};
#undef EIGENNET_NAME_ENTRY

template <std::size_t N>
int lookup(const Name (&table)[N], const std::string& name, const char* what) {
  for (const auto& n : table)
    if (name == n.name) return n.value;
  std::string msg = std::string("Unknown ") + what + ": '" + name + "'. Expected one of:";
  for (const auto& n : table) msg += std::string(" ") + n.name;
  throw std::invalid_argument(msg);
}

template <std::size_t N>
const char* reverse(const Name (&table)[N], int value) {
  for (const auto& n : table)
    if (n.value == value) return n.name;
  return "?";
}

int default_threads() {
#ifdef _OPENMP
  return std::max(1, omp_get_num_procs());
#else
  return 1;
#endif
}

int g_threads = default_threads();
bool g_forked_child = false;

// libgomp's thread pool does not survive fork: a child's first parallel region would wait for
// threads that no longer exist. The child runs every kernel on one thread instead (results are
// the same: they never depend on the thread count).
void child_after_fork() {
  g_forked_child = true;
  g_threads = 1;
}

const int g_atfork_registered = pthread_atfork(nullptr, nullptr, &child_after_fork);

}  // namespace

Activation activation_from_name(const std::string& name) {
  return static_cast<Activation>(lookup(kActivations, name, "activation"));
}
const char* activation_name(Activation a) { return reverse(kActivations, static_cast<int>(a)); }

void validate(const ActivationSpec& act) {
  const ActivationSpec plain(act.kind);
  const bool relu = act.kind == Activation::Relu, leaky = act.kind == Activation::LeakyRelu;
  auto check = [&](const char* what, double v, bool set, bool takes) {
    if (!takes && set)
      throw std::invalid_argument(std::string("Activation '") + activation_name(act.kind) +
                                  "' takes no argument " + what + " (received " + what + "=" +
                                  std::to_string(v) + ")");
    if (!std::isfinite(v))
      throw std::invalid_argument(std::string(what) + " must be a finite number. Received: " +
                                  what + "=" + std::to_string(v));
  };
  check("negative_slope", act.negative_slope, act.negative_slope != plain.negative_slope,
        relu || leaky);
  check("threshold", act.threshold, act.threshold != 0.0, relu);
  check("max_value", act.max_value, act.has_max, relu);
  check("alpha", act.alpha, act.alpha != 1.0, act.kind == Activation::Elu);
}
LossKind loss_from_name(const std::string& name) {
  return static_cast<LossKind>(lookup(kLosses, name, "loss"));
}
const char* loss_name(LossKind k) { return reverse(kLosses, static_cast<int>(k)); }

namespace {
[[noreturn]] void bad_loss_argument(const char* what, double v, const char* need) {
  throw std::invalid_argument(std::string(what) + " must be " + need + ". Received: " + what + "=" +
                              std::to_string(v));
}
}  // namespace

void validate(const LossSpec& loss) {
  const auto bad = bad_loss_argument;
  if (!(std::isfinite(loss.delta) && loss.delta > 0)) bad("delta", loss.delta, "positive");
  // Binary focal weighs class 0 by 1 - alpha; the categorical one only scales by alpha.
  const bool binary = loss.kind == LossKind::BinaryFocalCrossentropy ||
                      loss.kind == LossKind::BinaryFocalCrossentropyLogits;
  if (binary && !(loss.alpha >= 0 && loss.alpha <= 1)) bad("alpha", loss.alpha, "in [0, 1]");
  if (!binary && !(std::isfinite(loss.alpha) && loss.alpha >= 0)) bad("alpha", loss.alpha, ">= 0");
  if (!(std::isfinite(loss.gamma) && loss.gamma >= 0)) bad("gamma", loss.gamma, ">= 0");
}
void validate(const LossSpec& loss, const std::vector<double>& class_alpha, std::int64_t n_out) {
  validate(loss);
  if (class_alpha.empty()) return;
  if (loss.kind != LossKind::CategoricalFocalCrossentropy &&
      loss.kind != LossKind::CategoricalFocalCrossentropyLogits)
    throw std::invalid_argument(std::string("A weight per class (alpha list) is for the ") +
                                "categorical focal cross-entropy, not " + loss_name(loss.kind) +
                                ".");
  if (static_cast<std::int64_t>(class_alpha.size()) != n_out)
    throw std::invalid_argument("alpha has " + std::to_string(class_alpha.size()) +
                                " weights, but the output has " + std::to_string(n_out) +
                                " classes: give one per class.");
  for (double a : class_alpha)
    if (!(std::isfinite(a) && a >= 0)) bad_loss_argument("alpha", a, ">= 0");
}
MetricKind metric_from_name(const std::string& name) {
  return static_cast<MetricKind>(lookup(kMetrics, name, "metric"));
}
const char* metric_name(MetricKind k) { return reverse(kMetrics, static_cast<int>(k)); }

void set_num_threads(int n) {
  if (n < 1) throw std::invalid_argument("num_threads must be >= 1, got " + std::to_string(n));
  if (n > 1 && g_forked_child)
    throw std::runtime_error(
        "This process was forked from one that may have used OpenMP threads, whose pool does not "
        "survive fork: it runs on 1 thread (num_threads=" +
        std::to_string(n) +
        " refused). Use the 'spawn' or 'forkserver' start method for processes that train on "
        "several threads.");
  g_threads = n;
}

bool forked_child() { return g_forked_child; }

int num_threads() { return g_threads; }

}  // namespace eigennet
