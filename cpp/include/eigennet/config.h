#pragma once
// Names shared by every part of the core: activations, losses, metrics.
// Each enum has a to-name and a from-name function; unknown names throw std::invalid_argument.
#include <cstdint>
#include <string>
#include <vector>

// Scalar formulas shared by the CPU and CUDA backends: __host__ __device__ under nvcc.
#ifndef EIGENNET_HD
#if defined(__CUDACC__)
#define EIGENNET_HD __host__ __device__
#else
#define EIGENNET_HD
#endif
#endif

namespace eigennet {

using Index = std::ptrdiff_t;

// The activations and their Keras names: the only list (formulas in activations.h).
// clang-format off
#define EIGENNET_ACTIVATIONS(X) \
  X(Linear, "linear")           \
  X(Sigmoid, "sigmoid")         \
  X(Tanh, "tanh")               \
  X(Relu, "relu")               \
  X(Softmax, "softmax")         \
  X(LeakyRelu, "leaky_relu")    \
  X(Elu, "elu")                 \
  X(Gelu, "gelu")               \
  X(Softplus, "softplus")       \
  X(Selu, "selu")               \
  X(Silu, "silu")               \
  X(Mish, "mish")               \
  X(HardSigmoid, "hard_sigmoid") \
  X(HardSilu, "hard_silu")      \
  X(Relu6, "relu6")             \
  X(Softsign, "softsign")       \
  X(Exponential, "exponential")  \
  X(LogSoftmax, "log_softmax")
// clang-format on

#define EIGENNET_ENUM_ENTRY(id, name) id,
enum class Activation { EIGENNET_ACTIVATIONS(EIGENNET_ENUM_ENTRY) };
#undef EIGENNET_ENUM_ENTRY

/// Keras's default negative slope of leaky_relu.
constexpr double kLeakyReluSlope = 0.2;

/// An activation and its arguments, with Keras's defaults; each kind reads only its own:
/// relu(negative_slope, max_value, threshold), leaky_relu(negative_slope), elu(alpha).
struct ActivationSpec {
  Activation kind = Activation::Linear;
  double negative_slope = 0.0;  ///< relu: slope below the threshold; leaky_relu: below 0
  double threshold = 0.0;       ///< relu: inputs at or below it are damped
  double max_value = 0.0;       ///< relu: the largest output, when has_max
  bool has_max = false;
  double alpha = 1.0;  ///< elu: alpha·(exp(z) - 1) below 0

  constexpr ActivationSpec() = default;
  // Implicit: an activation without arguments (or with Keras's defaults) is its kind.
  EIGENNET_HD constexpr ActivationSpec(Activation k)  // NOLINT(google-explicit-constructor)
      : kind(k), negative_slope(k == Activation::LeakyRelu ? kLeakyReluSlope : 0.0) {}
  /// True for relu without arguments: max(z, 0).
  EIGENNET_HD constexpr bool plain_relu() const {
    return kind == Activation::Relu && negative_slope == 0.0 && threshold == 0.0 && !has_max;
  }
};

enum class LossKind {
  MeanSquaredError,
  MeanAbsoluteError,
  BinaryCrossentropy,             // on probabilities, clipped to [1e-7, 1 - 1e-7]
  BinaryCrossentropyLogits,       // on logits, log-sigmoid form
  CategoricalCrossentropy,        // on probabilities, rows renormalised then clipped
  CategoricalCrossentropyLogits,  // on logits, log-sum-exp form
  SparseCategoricalCrossentropy,  // integer labels, probabilities
  SparseCategoricalCrossentropyLogits,
  MeanSquaredLogarithmicError,  // log(max(x, 1e-7) + 1) of both sides
  MeanAbsolutePercentageError,  // 100 |y - p| / max(|y|, 1e-7)
  LogCosh,                      // log cosh(p - y)
  Poisson,                      // p - y log(p + 1e-7)
  KLDivergence,                 // Σ y log(y / p), both clipped to [1e-7, 1]; a sum, not a mean
  CosineSimilarity,             // -cos(y, p) over the last axis
  CategoricalHinge,             // max(max((1 - y) p) - Σ y p + 1, 0)
  Huber,                        // x²/2 for |x| <= 1, |x| - 1/2 beyond (delta 1), x = p - y
  Hinge,                        // max(1 - y p, 0), y in {-1, 1}
  SquaredHinge,                 // max(1 - y p, 0)²
  BinaryFocalCrossentropy,      // (1 - p_t)^γ · binary cross-entropy, on probabilities
  BinaryFocalCrossentropyLogits,
  CategoricalFocalCrossentropy,  // Σ α (1 - q)^γ · (-y log q), q = p / Σp clipped
  CategoricalFocalCrossentropyLogits,
};

/// A loss and its parameters, with Keras's defaults; each loss reads only its own.
struct LossSpec {
  LossKind kind = LossKind::MeanSquaredError;
  double delta = 1.0;     ///< Huber: quadratic for |p - y| <= delta, linear beyond
  double alpha = 0.25;    ///< focal losses: the weight of class 1 (binary, when balanced)
  double gamma = 2.0;     ///< focal losses: the focusing exponent, >= 0
  bool balanced = false;  ///< BinaryFocalCrossentropy's apply_class_balancing

  constexpr LossSpec() = default;
  // Implicit: a loss without parameters (or with Keras's defaults) is its kind.
  EIGENNET_HD constexpr LossSpec(LossKind k) : kind(k) {}  // NOLINT(google-explicit-constructor)
};

// The metrics and their Keras names: the only list (formulas in metrics.h).
// clang-format off
#define EIGENNET_METRICS(X)                                               \
  X(BinaryAccuracy, "binary_accuracy")                                    \
  X(CategoricalAccuracy, "categorical_accuracy")                          \
  X(SparseCategoricalAccuracy, "sparse_categorical_accuracy")             \
  X(MeanSquaredError, "mean_squared_error")                               \
  X(MeanAbsoluteError, "mean_absolute_error")                             \
  X(TopKCategoricalAccuracy, "top_k_categorical_accuracy")                \
  X(SparseTopKCategoricalAccuracy, "sparse_top_k_categorical_accuracy")   \
  X(MeanAbsolutePercentageError, "mean_absolute_percentage_error")        \
  X(MeanSquaredLogarithmicError, "mean_squared_logarithmic_error")        \
  X(RootMeanSquaredError, "root_mean_squared_error")                      \
  X(TruePositives, "true_positives")                                      \
  X(FalsePositives, "false_positives")                                    \
  X(TrueNegatives, "true_negatives")                                      \
  X(FalseNegatives, "false_negatives")                                    \
  X(Precision, "precision")                                               \
  X(Recall, "recall")                                                     \
  X(AUC, "auc")                                                           \
  X(PrecisionAtRecall, "precision_at_recall")                             \
  X(RecallAtPrecision, "recall_at_precision")                             \
  X(SensitivityAtSpecificity, "sensitivity_at_specificity")               \
  X(SpecificityAtSensitivity, "specificity_at_sensitivity")               \
  X(FBetaScore, "fbeta_score")                                            \
  X(R2Score, "r2_score")
// clang-format on

#define EIGENNET_ENUM_ENTRY(id, name) id,
enum class MetricKind { EIGENNET_METRICS(EIGENNET_ENUM_ENTRY) };
#undef EIGENNET_ENUM_ENTRY

/// Keras's fuzz factor for clipping probabilities.
constexpr double kEpsilon = 1e-7;
Activation activation_from_name(const std::string& name);
const char* activation_name(Activation a);
/// Checks an activation's arguments: std::invalid_argument naming a non-finite one, or one set
/// on a kind that does not take it.
void validate(const ActivationSpec& act);
LossKind loss_from_name(const std::string& name);
/// Checks a loss's parameters: std::invalid_argument naming the bad value.
void validate(const LossSpec& loss);
/// Checks the categorical focal loss's weights of each class (empty: LossSpec::alpha) for an
/// output of n_out classes.
void validate(const LossSpec& loss, const std::vector<double>& class_alpha, std::int64_t n_out);
const char* loss_name(LossKind k);
MetricKind metric_from_name(const std::string& name);
const char* metric_name(MetricKind k);

/// True for losses whose targets are integer class labels, one per sample.
inline bool is_sparse(LossKind k) {
  return k == LossKind::SparseCategoricalCrossentropy ||
         k == LossKind::SparseCategoricalCrossentropyLogits;
}
inline bool is_sparse(const LossSpec& loss) { return is_sparse(loss.kind); }

/// Sets the number of threads used by every kernel (>= 1). Results do not depend on it. In a
/// process made by fork it stays 1 (std::runtime_error for more): OpenMP's pool does not
/// survive fork.
void set_num_threads(int n);
int num_threads();
/// True in a process made by fork from one that loaded eigennet.
bool forked_child();

/// CPU kernel sets compiled into this build that this CPU can run, best first ("avx512",
/// "avx2", "baseline" on x86-64; "neon" on aarch64; "native" for a -march=native build).
std::vector<std::string> kernel_sets();
/// The kernel set in use: the best of kernel_sets(), or the one the EIGENNET_KERNELS environment
/// variable names. Throws std::invalid_argument when that variable names a set this build lacks
/// or this CPU cannot run.
std::string kernel_set();
/// Switches every later CPU kernel call to the named set (one of kernel_sets()); results of the
/// sets agree within float rounding. Throws std::invalid_argument naming a bad name.
void set_kernel_set(const std::string& name);

}  // namespace eigennet
