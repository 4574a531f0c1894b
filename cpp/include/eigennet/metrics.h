#pragma once
// Metrics as Keras 3 computes them, in two halves: every batch adds each sample's contribution
// into sums (groups of up to kMetricSums doubles in the model's accumulator, weighted by the
// sample weights for weighted metrics), and the result is computed from the sums whenever logs
// are reported (metric_result). The contributions below are the one formula both backends run:
// the CPU loops over groups and samples, CUDA runs one block per group.
//
// Families and their groups (G groups of S sums; A (n_out, batch), Y (n_targets, batch)):
//   mean       G = 1, S = 2: Σ w·v, Σ w for a per-sample value v (accuracies, errors)
//   confusion  G = thresholds (× labels when multi_label), S = 4: weighted tp, fp, tn, fn
//   fscore     G = n_out (one per class), S = 4: tp, fp, fn and Σ w·y (Keras's FBetaScore)
//   r2         G = n_out (one per output), S = 5: Σ w·y, Σ w·y², Σ w·(y - p)², Σ w, elements
#include <string>
#include <vector>

#include "eigennet/activations.h"
#include "eigennet/config.h"
#include "eigennet/losses/column.h"

namespace eigennet {

enum class MetricFamily { Mean, Confusion, FScore, R2 };
enum class AucCurve { ROC, PR, PRGain };
enum class AucSummation { Interpolation, Minoring, Majoring };
/// How a confusion metric's thresholds are given: a list, or n evenly spaced t/(n - 1) (Keras's
/// optimised path, whose bucketing counts p as positive at t when clip(p, 0, 1)·(n - 1) > t),
/// with the first threshold -ε (every prediction positive) for AUC's default.
enum class ThresholdSpacing { List, Even, EvenWithEpsilon };
enum class MetricAverage { None, Micro, Macro, Weighted };
enum class R2Aggregation { None, UniformAverage, VarianceWeightedAverage };

constexpr int kMetricSums = 5;
/// Keras's value of the predictions outside the top k (metrics_utils.NEG_INF).
constexpr double kMetricNegInf = -1e10;

/// A metric and its parameters, with Keras's defaults; each metric reads only its own. Plain
/// data: CUDA kernels take it by value.
struct MetricSpec {
  MetricKind kind = MetricKind::BinaryAccuracy;
  double threshold = 0.5;  ///< BinaryAccuracy; FBetaScore unless argmax
  bool argmax = false;     ///< FBetaScore with threshold=None: the row's maxima are positive
  int k = 5;               ///< top-k accuracies
  ThresholdSpacing spacing = ThresholdSpacing::List;
  Index n_thresholds = 1;    ///< confusion metrics
  int top_k = 0;             ///< Precision, Recall: only each row's top_k predictions (0: all)
  Index class_id = -1;       ///< confusion metrics: only this column (-1: all)
  bool multi_label = false;  ///< AUC: one curve per label, averaged
  bool from_logits = false;  ///< AUC: sigmoid first
  AucCurve curve = AucCurve::ROC;
  AucSummation summation = AucSummation::Interpolation;
  double value = 0;  ///< the constraint of the *At* metrics (recall, precision, ...)
  MetricAverage average = MetricAverage::None;
  double beta = 1;
  R2Aggregation aggregation = R2Aggregation::UniformAverage;
  Index num_regressors = 0;
  bool label_weighted = false;  ///< AUC: per-label weights follow the threshold list
  bool sorted_ids = false;      ///< SparseTopKCategoricalAccuracy: predictions are class ids

  constexpr MetricSpec() = default;
  // Implicit: a metric without parameters (or with Keras's defaults) is its kind.
  EIGENNET_HD constexpr MetricSpec(MetricKind k)
      : kind(k) {}  // NOLINT(google-explicit-constructor)
};

/// A compiled metric: its spec, its threshold list (ThresholdSpacing::List), AUC's label
/// weights (one per output column, or none), and whether it takes the sample weights (Keras's
/// weighted_metrics).
struct Metric {
  MetricSpec spec;
  std::vector<double> thresholds;
  std::vector<double> label_weights;
  bool weighted = false;

  Metric() = default;
  Metric(MetricKind k) : spec(k) {}         // NOLINT(google-explicit-constructor)
  Metric(const MetricSpec& s) : spec(s) {}  // NOLINT(google-explicit-constructor)
  /// The constants the contributions read: the threshold list, then the label weights.
  std::vector<double> constants() const {
    std::vector<double> c(thresholds);
    c.insert(c.end(), label_weights.begin(), label_weights.end());
    return c;
  }
};

EIGENNET_HD inline MetricFamily metric_family(MetricKind k) {
  switch (k) {
    case MetricKind::TruePositives:
    case MetricKind::FalsePositives:
    case MetricKind::TrueNegatives:
    case MetricKind::FalseNegatives:
    case MetricKind::Precision:
    case MetricKind::Recall:
    case MetricKind::AUC:
    case MetricKind::PrecisionAtRecall:
    case MetricKind::RecallAtPrecision:
    case MetricKind::SensitivityAtSpecificity:
    case MetricKind::SpecificityAtSensitivity: return MetricFamily::Confusion;
    case MetricKind::FBetaScore: return MetricFamily::FScore;
    case MetricKind::R2Score: return MetricFamily::R2;
    default: return MetricFamily::Mean;
  }
}

/// True for metrics whose targets are integer class labels, one per sample.
inline bool metric_is_sparse(MetricKind k) {
  return k == MetricKind::SparseCategoricalAccuracy ||
         k == MetricKind::SparseTopKCategoricalAccuracy;
}

EIGENNET_HD inline int metric_group_sums(const MetricSpec& s) {
  switch (metric_family(s.kind)) {
    case MetricFamily::Mean: return 2;
    case MetricFamily::R2: return 5;
    default: return 4;
  }
}

/// Groups of the metric on an output of width n_out.
inline Index metric_groups(const MetricSpec& s, Index n_out) {
  switch (metric_family(s.kind)) {
    case MetricFamily::Mean: return 1;
    case MetricFamily::Confusion: return s.n_thresholds * (s.multi_label ? n_out : 1);
    default: return n_out;
  }
}
inline Index metric_n_sums(const MetricSpec& s, Index n_out) {
  return metric_groups(s, n_out) * metric_group_sums(s);
}
/// Values of Metric::constants() the contributions read on an output of width n_out.
inline Index metric_n_constants(const MetricSpec& s, Index n_out) {
  return (s.spacing == ThresholdSpacing::List && metric_family(s.kind) == MetricFamily::Confusion
              ? s.n_thresholds
              : 0) +
         (s.label_weighted ? n_out : 0);
}
/// Values of its result: 1, or one per threshold (counts, Precision, Recall with several) or per
/// class (FBetaScore and R2Score without averaging).
Index metric_result_size(const Metric& m, Index n_out);
/// Checks a metric against an output of width n_out: std::invalid_argument naming the bad value.
void validate(const Metric& m, Index n_out);
/// The result from the sums (metric_n_sums of them) into out (metric_result_size values).
void metric_result(const Metric& m, Index n_out, const double* sums, double* out);

namespace metrics {

/// Element i is among the row's top k (ties to the lower index, as top_k orders them).
template <typename T>
EIGENNET_HD inline bool in_top_k(const T* row, Index n, Index i, Index k) {
  Index rank = 0;
  for (Index m = 0; m < n; ++m) rank += row[m] > row[i] || (m < i && row[m] == row[i]);
  return rank < k;
}

/// The per-sample value of a mean metric.
template <typename T>
EIGENNET_HD inline T sample_value(const MetricSpec& s, const T* p, const T* y, Index n_out) {
  T v = 0;
  switch (s.kind) {
    case MetricKind::BinaryAccuracy:
      for (Index i = 0; i < n_out; ++i) v += T((p[i] > T(s.threshold) ? T(1) : T(0)) == y[i]);
      return v / T(n_out);
    case MetricKind::CategoricalAccuracy:
      return T(losses::argmax(p, n_out) == losses::argmax(y, n_out));
    case MetricKind::SparseCategoricalAccuracy:
      return T(losses::argmax(p, n_out) == static_cast<Index>(y[0]));
    case MetricKind::SparseTopKCategoricalAccuracy:
      // Keras's from_sorted_ids: the label among the first k ids (several matches count once).
      if (s.sorted_ids) {
        for (Index i = 0; i < n_out && i < s.k; ++i)
          if (p[i] == y[0]) return T(1);
        return T(0);
      }
      [[fallthrough]];
    case MetricKind::TopKCategoricalAccuracy: {
      // In the top k when fewer than k predictions are strictly larger (ties count in).
      const Index c = s.kind == MetricKind::TopKCategoricalAccuracy ? losses::argmax(y, n_out)
                                                                    : static_cast<Index>(y[0]);
      Index above = 0;
      for (Index i = 0; i < n_out; ++i) above += p[i] > p[c];
      return T(above < s.k);
    }
    default: {
      // The regression errors are their losses' per-sample values.
      LossKind loss = LossKind::MeanSquaredError;
      if (s.kind == MetricKind::MeanAbsoluteError) loss = LossKind::MeanAbsoluteError;
      if (s.kind == MetricKind::MeanAbsolutePercentageError)
        loss = LossKind::MeanAbsolutePercentageError;
      if (s.kind == MetricKind::MeanSquaredLogarithmicError)
        loss = LossKind::MeanSquaredLogarithmicError;
      return losses::loss_column<T>(loss, p, y, nullptr, n_out, n_out, 0, T(0), nullptr);
    }
  }
}

/// Prediction i of a row counted positive at threshold t by a confusion metric.
template <typename T>
EIGENNET_HD inline bool predicted_positive(const MetricSpec& s, const T* thresholds, const T* row,
                                           Index n_out, Index i, Index t) {
  if (s.top_k > 0 && !in_top_k(row, n_out, i, s.top_k)) return false;  // NEG_INF is below all
  T p = row[i];
  if (s.from_logits) p = sigmoid(p);
  if (s.spacing == ThresholdSpacing::List) return p > thresholds[t];
  if (s.spacing == ThresholdSpacing::EvenWithEpsilon && t == 0) return true;
  const T c = std::min(std::max(p, T(0)), T(1));
  return c * T(s.n_thresholds - 1) > T(t);
}

/// Sample j's contribution to the sums of group g (metric_group_sums values into out). A, Y and
/// w (null: weight 1) as in the file comment; thresholds: Metric::constants().
template <typename T>
EIGENNET_HD inline void contribution(const MetricSpec& s, const T* thresholds, const T* A,
                                     const T* Y, const T* w, Index n_out, Index g, Index j,
                                     double* out) {
  const double wj = w ? static_cast<double>(w[j]) : 1.0;
  const T* p = A + j * n_out;
  switch (metric_family(s.kind)) {
    case MetricFamily::Mean: {
      const Index n_y = metric_is_sparse(s.kind) ? 1 : n_out;
      out[0] = wj * static_cast<double>(sample_value(s, p, Y + j * n_y, n_out));
      out[1] = wj;
      return;
    }
    case MetricFamily::Confusion: {
      const Index t = g % s.n_thresholds;
      Index first = 0, last = n_out;
      if (s.multi_label) {
        first = g / s.n_thresholds;
        last = first + 1;
      } else if (s.class_id >= 0) {
        first = s.class_id;
        last = first + 1;
      }
      // Keras weighs each label's counts by its label weight, except per label (multi_label).
      const T* lw = s.label_weighted && !s.multi_label
                        ? thresholds + (s.spacing == ThresholdSpacing::List ? s.n_thresholds : 0)
                        : nullptr;
      double tp = 0, fp = 0, tn = 0, fn = 0;
      for (Index i = first; i < last; ++i) {
        const bool pos = predicted_positive(s, thresholds, p, n_out, i, t);
        const bool label = Y[j * n_out + i] != T(0);
        const double wi = lw ? static_cast<double>(lw[i]) : 1.0;
        tp += label && pos ? wi : 0.0;
        fp += !label && pos ? wi : 0.0;
        tn += !label && !pos ? wi : 0.0;
        fn += label && !pos ? wi : 0.0;
      }
      out[0] = wj * tp;
      out[1] = wj * fp;
      out[2] = wj * tn;
      out[3] = wj * fn;
      return;
    }
    case MetricFamily::FScore: {
      bool pos;
      if (s.argmax) {
        T m = p[0];
        for (Index i = 1; i < n_out; ++i) m = std::max(m, p[i]);
        pos = p[g] >= m && std::abs(p[g]) > T(1e-9);
      } else {
        pos = p[g] > T(s.threshold);
      }
      const double y = static_cast<double>(Y[j * n_out + g]), d = pos ? 1.0 : 0.0;
      out[0] = wj * d * y;
      out[1] = wj * d * (1 - y);
      out[2] = wj * (1 - d) * y;
      out[3] = wj * y;
      return;
    }
    case MetricFamily::R2: {
      const double y = static_cast<double>(Y[j * n_out + g]);
      const double e = y - static_cast<double>(p[g]);
      out[0] = wj * y;
      out[1] = wj * y * y;
      out[2] = wj * e * e;
      out[3] = wj;
      out[4] = 1;
      return;
    }
  }
}

}  // namespace metrics
}  // namespace eigennet
