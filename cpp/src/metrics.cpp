// Metric results from their sums (eigennet/metrics.h), with Keras 3's formulas: divide_no_nan
// for the rates, the Riemann sums and Davis & Goadrich's interpolation of AUC, FBetaScore's
// epsilons, R2Score's aggregations and adjustment.
#include "eigennet/metrics.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace eigennet {
namespace {

double no_nan(double a, double b) { return b == 0 ? 0.0 : a / b; }

[[noreturn]] void bad(const std::string& what, double v, const std::string& need) {
  throw std::invalid_argument("Argument `" + what + "` must be " + need + ". Received: " + what +
                              "=" + std::to_string(v));
}

/// The four counts of threshold t (and label l) of a confusion metric.
struct Counts {
  double tp, fp, tn, fn;
};
Counts counts(const MetricSpec& s, const double* sums, Index l, Index t) {
  const double* c = sums + 4 * (l * s.n_thresholds + t);
  return {c[0], c[1], c[2], c[3]};
}

/// AUC of one label over the thresholds (Keras's AUC.result and interpolate_pr_auc).
double auc(const MetricSpec& s, const double* sums, Index l) {
  const Index n = s.n_thresholds;
  double total = 0;
  for (Index t = 0; t + 1 < n; ++t) {
    const Counts a = counts(s, sums, l, t), b = counts(s, sums, l, t + 1);
    if (s.curve == AucCurve::PR && s.summation == AucSummation::Interpolation) {
      const double dtp = a.tp - b.tp, pa = a.tp + a.fp, pb = b.tp + b.fp, dp = pa - pb;
      const double slope = no_nan(dtp, std::max(dp, 0.0));
      const double intercept = b.tp - slope * pb;
      const double ratio = pa > 0 && pb > 0 ? no_nan(pa, std::max(pb, 0.0)) : 1.0;
      total += no_nan(slope * (dtp + intercept * std::log(ratio)), std::max(b.tp + b.fn, 0.0));
      continue;
    }
    double xa, xb, ya, yb;
    auto point = [&](const Counts& c, double* x, double* y) {
      const double recall = no_nan(c.tp, c.tp + c.fn);
      if (s.curve == AucCurve::ROC) {
        *x = no_nan(c.fp, c.fp + c.tn);
        *y = recall;
      } else if (s.curve == AucCurve::PR) {
        *x = recall;
        *y = no_nan(c.tp, c.tp + c.fp);
      } else {
        const double scale = no_nan(c.tp + c.fn, c.tn + c.fp);
        *x = c.tp == 0 ? 0.0 : std::max(1.0 - scale * no_nan(c.fn, c.tp), 0.0);
        *y = c.tp == 0 ? 1.0 : 1.0 - scale * no_nan(c.fp, c.tp);
      }
    };
    point(a, &xa, &ya);
    point(b, &xb, &yb);
    double h = (ya + yb) / 2;
    if (s.summation == AucSummation::Minoring) h = std::min(ya, yb);
    if (s.summation == AucSummation::Majoring) h = std::max(ya, yb);
    total += (xa - xb) * h;
  }
  return total;
}

/// The *At* metrics: the largest dependent rate over thresholds where the constrained one is at
/// least the target (0 when none is).
double at_constraint(const MetricSpec& s, const double* sums) {
  double best = 0;
  for (Index t = 0; t < s.n_thresholds; ++t) {
    const Counts c = counts(s, sums, 0, t);
    const double recall = no_nan(c.tp, c.tp + c.fn), precision = no_nan(c.tp, c.tp + c.fp);
    const double specificity = no_nan(c.tn, c.tn + c.fp);
    double constrained = 0, dependent = 0;
    switch (s.kind) {
      case MetricKind::PrecisionAtRecall: constrained = recall, dependent = precision; break;
      case MetricKind::RecallAtPrecision: constrained = precision, dependent = recall; break;
      case MetricKind::SensitivityAtSpecificity:
        constrained = specificity, dependent = recall;
        break;
      default: constrained = recall, dependent = specificity; break;
    }
    if (constrained >= s.value) best = std::max(best, dependent);
  }
  return best;
}

void fbeta(const Metric& m, Index n_out, const double* sums, double* out) {
  const MetricSpec& s = m.spec;
  const double eps = kEpsilon, b2 = s.beta * s.beta;
  auto score = [&](double tp, double fp, double fn) {
    const double p = tp / (tp + fp + eps), r = tp / (tp + fn + eps);
    return (1 + b2) * (p * r / (b2 * p + r + eps));
  };
  if (s.average == MetricAverage::Micro) {
    double tp = 0, fp = 0, fn = 0;
    for (Index c = 0; c < n_out; ++c)
      tp += sums[4 * c], fp += sums[4 * c + 1], fn += sums[4 * c + 2];
    out[0] = score(tp, fp, fn);
    return;
  }
  double mean = 0, weighted = 0, support = 0;
  for (Index c = 0; c < n_out; ++c) support += sums[4 * c + 3];
  for (Index c = 0; c < n_out; ++c) {
    const double f = score(sums[4 * c], sums[4 * c + 1], sums[4 * c + 2]);
    if (s.average == MetricAverage::None) out[c] = f;
    mean += f / static_cast<double>(n_out);
    weighted += f * (sums[4 * c + 3] / (support + eps));
  }
  if (s.average == MetricAverage::Macro) out[0] = mean;
  if (s.average == MetricAverage::Weighted) out[0] = weighted;
}

void r2(const Metric& m, Index n_out, const double* sums, double* out) {
  const MetricSpec& s = m.spec;
  // The per-output scores go to out (the result itself without aggregation); results are
  // computed whenever logs are reported, so nothing is allocated here.
  const bool per_output = s.aggregation == R2Aggregation::None;
  double uniform = 0, weighted = 0, weights = 0, elements = 0;
  for (Index i = 0; i < n_out; ++i) {
    const double* v = sums + 5 * i;
    const double mean = v[0] / v[3], total = v[1] - v[0] * mean;
    double score = 1 - v[2] / total;
    if (std::isinf(score)) score = 0;
    if (per_output) out[i] = score;
    uniform += score / static_cast<double>(n_out);
    weighted += total * score;
    weights += total;
    elements += v[4];
  }
  if (!per_output)
    out[0] = s.aggregation == R2Aggregation::UniformAverage ? uniform : weighted / weights;
  for (Index i = 0; i < metric_result_size(m, n_out); ++i) {
    double r = out[i];
    // Adjusted for the regressors, unless they leave no degree of freedom (Keras then falls back).
    const double p = static_cast<double>(s.num_regressors);
    if (s.num_regressors > 0 && p < elements - 1)
      r = 1 - (1 - r) * (elements - 1) / (elements - p - 1);
    out[i] = r;
  }
}

}  // namespace

Index metric_result_size(const Metric& m, Index n_out) {
  const MetricSpec& s = m.spec;
  switch (s.kind) {
    case MetricKind::TruePositives:
    case MetricKind::FalsePositives:
    case MetricKind::TrueNegatives:
    case MetricKind::FalseNegatives:
    case MetricKind::Precision:
    case MetricKind::Recall: return s.n_thresholds;
    case MetricKind::FBetaScore: return s.average == MetricAverage::None ? n_out : 1;
    case MetricKind::R2Score: return s.aggregation == R2Aggregation::None ? n_out : 1;
    default: return 1;
  }
}

void validate(const Metric& m, Index n_out) {
  const MetricSpec& s = m.spec;
  if (n_out < 1) bad("n_out", static_cast<double>(n_out), ">= 1");
  switch (metric_family(s.kind)) {
    case MetricFamily::Mean:
      if (!std::isfinite(s.threshold)) bad("threshold", s.threshold, "finite");
      if (s.k < 1) bad("k", s.k, ">= 1");
      if (s.sorted_ids && s.kind != MetricKind::SparseTopKCategoricalAccuracy)
        throw std::invalid_argument(
            "from_sorted_ids is an argument of "
            "SparseTopKCategoricalAccuracy only");
      if ((s.kind == MetricKind::TopKCategoricalAccuracy ||
           s.kind == MetricKind::CategoricalAccuracy) &&
          n_out < 2)
        throw std::invalid_argument(std::string("Metric '") + metric_name(s.kind) +
                                    "' needs an output of at least 2 classes, got 1.");
      break;
    case MetricFamily::Confusion:
      if (s.n_thresholds < 1) bad("num_thresholds", static_cast<double>(s.n_thresholds), "> 0");
      if (s.spacing == ThresholdSpacing::List) {
        if (static_cast<Index>(m.thresholds.size()) != s.n_thresholds)
          throw std::invalid_argument("A metric's threshold list has " +
                                      std::to_string(m.thresholds.size()) + " values, expected " +
                                      std::to_string(s.n_thresholds));
        for (double t : m.thresholds)
          if (!std::isfinite(t)) bad("thresholds", t, "finite");
      } else if (s.n_thresholds < 2) {
        bad("num_thresholds", static_cast<double>(s.n_thresholds), "> 1 when evenly spaced");
      }
      if (s.top_k < 0 || s.top_k > n_out)
        bad("top_k", s.top_k, "in [1, " + std::to_string(n_out) + "] (the output width)");
      if (s.class_id < -1 || s.class_id >= n_out)
        bad("class_id", static_cast<double>(s.class_id),
            "in [0, " + std::to_string(n_out) + ") (the output width)");
      if (!(s.value >= 0 && s.value <= 1)) bad("value", s.value, "in the range [0, 1]");
      if (s.label_weighted != !m.label_weights.empty() ||
          (s.label_weighted && s.kind != MetricKind::AUC))
        throw std::invalid_argument("label_weights are an argument of AUC, given with the flag");
      if (s.label_weighted && static_cast<Index>(m.label_weights.size()) != n_out)
        throw std::invalid_argument(
            "AUC's label_weights hold " + std::to_string(m.label_weights.size()) +
            " values, expected one per label (" + std::to_string(n_out) + ")");
      for (double lw : m.label_weights)
        if (!(std::isfinite(lw) && lw >= 0)) bad("label_weights", lw, "finite and >= 0");
      break;
    case MetricFamily::FScore:
      if (!(std::isfinite(s.beta) && s.beta > 0)) bad("beta", s.beta, "> 0");
      if (!s.argmax && !(s.threshold > 0 && s.threshold <= 1))
        bad("threshold", s.threshold, "in (0, 1]");
      break;
    case MetricFamily::R2:
      if (s.num_regressors < 0)
        bad("num_regressors", static_cast<double>(s.num_regressors), ">= 0");
      break;
  }
}

void metric_result(const Metric& m, Index n_out, const double* sums, double* out) {
  const MetricSpec& s = m.spec;
  switch (s.kind) {
    case MetricKind::TruePositives:
    case MetricKind::FalsePositives:
    case MetricKind::TrueNegatives:
    case MetricKind::FalseNegatives: {
      const int which = s.kind == MetricKind::TruePositives    ? 0
                        : s.kind == MetricKind::FalsePositives ? 1
                        : s.kind == MetricKind::TrueNegatives  ? 2
                                                               : 3;
      for (Index t = 0; t < s.n_thresholds; ++t) out[t] = sums[4 * t + which];
      return;
    }
    case MetricKind::Precision:
    case MetricKind::Recall:
      for (Index t = 0; t < s.n_thresholds; ++t) {
        const Counts c = counts(s, sums, 0, t);
        out[t] =
            s.kind == MetricKind::Precision ? no_nan(c.tp, c.tp + c.fp) : no_nan(c.tp, c.tp + c.fn);
      }
      return;
    case MetricKind::AUC: {
      // Per label: their mean, or Keras's label-weighted mean Σ w·auc / Σ w.
      const Index labels = s.multi_label ? n_out : 1;
      const bool weighted = s.multi_label && s.label_weighted;
      double total = 0, weights = 0;
      for (Index l = 0; l < labels; ++l) {
        const double w = weighted ? m.label_weights[static_cast<std::size_t>(l)] : 1.0;
        total += w * auc(s, sums, l);
        weights += w;
      }
      out[0] = weighted ? no_nan(total, weights) : total / weights;
      return;
    }
    case MetricKind::PrecisionAtRecall:
    case MetricKind::RecallAtPrecision:
    case MetricKind::SensitivityAtSpecificity:
    case MetricKind::SpecificityAtSensitivity: out[0] = at_constraint(s, sums); return;
    case MetricKind::FBetaScore: fbeta(m, n_out, sums, out); return;
    case MetricKind::R2Score: r2(m, n_out, sums, out); return;
    default: {
      const double mean = no_nan(sums[0], sums[1]);
      out[0] = s.kind == MetricKind::RootMeanSquaredError ? std::sqrt(mean) : mean;
      return;
    }
  }
}

}  // namespace eigennet
