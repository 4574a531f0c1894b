// Per-op helpers (activations, losses) for users and tests. They call the same backend kernels
// as fit; fit never goes through them.
#include <cmath>
#include <map>
#include <optional>

#include "common.h"
#include "eigennet/backend.h"

namespace eigennet::bindings {
namespace {

template <typename T>
Backend<T>& cpu_backend() {
  static const std::unique_ptr<Backend<T>> backend = make_cpu_backend<T>();
  return *backend;
}

/// A numpy array of any shape as a column-major (last axis, rest) matrix.
template <typename T>
std::pair<Index, Index> rows_cols(const Array<T>& a) {
  if (a.size() == 0) throw py::value_error("The input array is empty.");
  const Index rows = a.ndim() == 0 ? 1 : a.shape(a.ndim() - 1);
  return {rows, static_cast<Index>(a.size()) / rows};
}

template <typename T>
py::array activation(const ActivationSpec& act, const py::handle& x, bool derivative) {
  const std::string name = activation_name(act.kind);
  Array<T> z = as_array<T>(x, "x");
  auto [rows, cols] = rows_cols(z);
  Array<T> a(std::vector<py::ssize_t>(z.shape(), z.shape() + z.ndim()));
  Backend<T>& be = cpu_backend<T>();
  be.activation_forward(act, z.data(), a.mutable_data(), rows, cols);
  if (!derivative) return std::move(a);
  if (per_column(act))
    throw py::value_error(name + " has no element-wise derivative (its Jacobian is a matrix).");
  Array<T> d(std::vector<py::ssize_t>(z.shape(), z.shape() + z.ndim()));
  be.fill(d.mutable_data(), static_cast<Index>(d.size()), T(1));
  be.activation_backward(act, z.data(), a.data(), d.data(), d.mutable_data(), rows, cols);
  return std::move(d);
}

/// Per-sample loss values (n,) and the gradient of their mean with respect to y_pred.
template <typename T>
py::tuple loss(const LossArgs& args, const py::handle& y_true, const py::handle& y_pred) {
  const LossSpec& kind = args.spec;
  Array<T> p = as_array<T>(y_pred, "y_pred");
  if (p.ndim() != 2) throw py::value_error("y_pred must be 2-D (samples, outputs).");
  const Index n = p.shape(0), k = p.shape(1);
  if (n == 0 || k == 0) throw py::value_error("y_pred is empty.");
  Array<T> y = as_array<T>(y_true, "y_true");
  const Index n_y = is_sparse(kind) ? 1 : k;
  if (y.size() != n * n_y)
    throw py::value_error("y_true must hold " + std::to_string(n * n_y) + " values, got " +
                          std::to_string(y.size()));
  if (is_sparse(kind))
    for (Index i = 0; i < n; ++i)
      if (!(y.data()[i] >= 0 && y.data()[i] < T(k)))
        throw py::value_error("Sparse labels must be in [0, " + std::to_string(k) + ").");
  validate(kind, args.class_alpha, k);
  const std::vector<T> alpha(args.class_alpha.begin(), args.class_alpha.end());
  Array<T> per_sample(n), grad({n, k});
  cpu_backend<T>().loss(kind, p.data(), y.data(), alpha.empty() ? nullptr : alpha.data(), k, n,
                        T(1) / T(n), per_sample.mutable_data(), grad.mutable_data());
  return py::make_tuple(per_sample, grad);
}

/// Adds the batch (y_true (n, n_out) or (n,) labels, y_pred (n, n_out), sample_weight (n,) or
/// None) into a standalone metric's sums.
template <typename T>
void metric_update(const Metric& mt, const py::handle& y_true, const py::handle& y_pred,
                   const py::handle& sample_weight, py::array& sums) {
  Array<T> p = as_array<T>(y_pred, "y_pred");
  if (p.ndim() != 2 || p.shape(0) == 0 || p.shape(1) == 0)
    throw py::value_error("y_pred must be 2-D (samples, outputs) and non-empty.");
  const Index n = p.shape(0), k = p.shape(1);
  validate(mt, k);
  const bool sparse = metric_is_sparse(mt.spec.kind);
  Array<T> y = as_array<T>(y_true, "y_true");
  if (y.size() != n * (sparse ? 1 : k))
    throw py::value_error("y_true must hold " + std::to_string(n * (sparse ? 1 : k)) +
                          " values, got " + std::to_string(y.size()));
  // Labels index the predictions, or (from_sorted_ids) are compared with the ids they hold.
  const bool ids = mt.spec.sorted_ids;
  if (sparse)
    for (Index i = 0; i < n; ++i)
      if (!(y.data()[i] >= 0 && (ids || y.data()[i] < T(k)) &&
            y.data()[i] == std::floor(y.data()[i])))
        throw py::value_error("Sparse labels must be integers in [0, " +
                              (ids ? std::string("inf") : std::to_string(k)) + "), got " +
                              std::to_string(static_cast<double>(y.data()[i])));
  std::optional<Array<T>> w;
  if (!sample_weight.is_none()) {
    w = as_array<T>(sample_weight, "sample_weight");
    if (w->size() != n)
      throw py::value_error("sample_weight must hold one value per sample (" + std::to_string(n) +
                            "), got " + std::to_string(w->size()));
  }
  if (!sums.dtype().equal(py::dtype::of<double>()) || sums.ndim() != 1 ||
      sums.shape(0) != metric_n_sums(mt.spec, k) || !sums.writeable() ||
      !(sums.flags() & py::array::c_style))
    throw py::value_error("sums must be a writable vector of " +
                          std::to_string(metric_n_sums(mt.spec, k)) + " float64 values");
  const std::vector<double> constants = mt.constants();
  const std::vector<T> thresholds(constants.begin(), constants.end());
  // The layout of the core: columns are samples, which is numpy's C order of (n, k).
  cpu_backend<T>().accumulate_metric(mt.spec, thresholds.data(), p.data(), y.data(),
                                     w ? w->data() : nullptr, k, n,
                                     static_cast<double*>(sums.mutable_data()));
}

/// Applies a constraint in place to a float array (C order), as training does.
template <typename T>
void constrain(const Constraint& c, Index axis, py::array& w) {
  if (!w.writeable() || !(w.flags() & py::array::c_style) || w.size() == 0)
    throw py::value_error("constrain needs a writable, C-contiguous, non-empty array");
  std::vector<Index> shape(w.shape(), w.shape() + w.ndim());
  if (shape.empty()) shape = {1};
  Index outer, reduce, inner;
  fold_axis(shape, axis, &outer, &reduce, &inner);
  cpu_backend<T>().constrain(c, static_cast<T*>(w.mutable_data()), outer, reduce, inner);
}

bool is_single(const py::handle& x) {
  return py::isinstance<py::array>(x) &&
         py::cast<py::array>(x).dtype().equal(py::dtype::of<float>());
}

}  // namespace

void bind_ops(py::module_& m) {
  m.def(
      "activation",
      [](const std::string& name, const py::handle& x, bool derivative,
         std::optional<double> negative_slope, double threshold, std::optional<double> max_value,
         std::optional<double> alpha) {
        ActivationSpec act(activation_from_name(name));
        act.negative_slope = negative_slope.value_or(act.negative_slope);
        act.threshold = threshold;
        act.has_max = max_value.has_value();
        act.max_value = max_value.value_or(0.0);
        act.alpha = alpha.value_or(act.alpha);
        validate(act);
        return is_single(x) ? activation<float>(act, x, derivative)
                            : activation<double>(act, x, derivative);
      },
      py::arg("name"), py::arg("x"), py::arg("derivative") = false,
      py::arg("negative_slope") = py::none(), py::arg("threshold") = 0.0,
      py::arg("max_value") = py::none(), py::arg("alpha") = py::none(),
      "g(x), or g'(x) with derivative=True, over the last axis (softmax) or element-wise; "
      "relu's negative_slope, threshold and max_value, leaky_relu's negative_slope, elu's "
      "alpha.");
  m.def(
      "loss",
      [](const LossArgs& name, const py::handle& y_true, const py::handle& y_pred) {
        return is_single(y_pred) ? loss<float>(name, y_true, y_pred)
                                 : loss<double>(name, y_true, y_pred);
      },
      py::arg("name"), py::arg("y_true"), py::arg("y_pred"),
      "(per-sample values (n,), gradient of their mean w.r.t. y_pred (n, k)).");
  m.def(
      "constrain",
      [](const std::string& name, const std::map<std::string, double>& params, Index axis,
         py::array& w) {
        auto get = [&](const char* k, double d) {
          auto it = params.find(k);
          return it == params.end() ? d : it->second;
        };
        const Constraint c =
            make_constraint(name, get("min_value", 0.0), get("max_value", -1.0), get("rate", 1.0));
        if (w.dtype().equal(py::dtype::of<float>()))
          constrain<float>(c, axis, w);
        else if (w.dtype().equal(py::dtype::of<double>()))
          constrain<double>(c, axis, w);
        else
          throw py::type_error("constrain takes a float32 or float64 array");
      },
      py::arg("name"), py::arg("params"), py::arg("axis"), py::arg("w"),
      "Applies a weight constraint to w in place.");
  m.def(
      "metric_update",
      [](const Metric& mt, const py::handle& y_true, const py::handle& y_pred,
         const py::handle& sample_weight, py::array& sums) {
        if (is_single(y_pred))
          metric_update<float>(mt, y_true, y_pred, sample_weight, sums);
        else
          metric_update<double>(mt, y_true, y_pred, sample_weight, sums);
      },
      py::arg("metric"), py::arg("y_true"), py::arg("y_pred"), py::arg("sample_weight"),
      py::arg("sums"), "Adds a batch into a metric's sums (float64, metric_sizes' first).");
  m.def(
      "metric_sizes",
      [](const Metric& mt, Index n_out) {
        validate(mt, n_out);
        return py::make_tuple(metric_n_sums(mt.spec, n_out), metric_result_size(mt, n_out));
      },
      py::arg("metric"), py::arg("n_out"), "(number of sums, number of result values).");
  m.def(
      "metric_result",
      [](const Metric& mt, Index n_out, const py::array_t<double>& sums) {
        validate(mt, n_out);
        if (sums.ndim() != 1 || sums.shape(0) != metric_n_sums(mt.spec, n_out))
          throw py::value_error("sums must be a vector of " +
                                std::to_string(metric_n_sums(mt.spec, n_out)) + " values");
        py::array_t<double> out(metric_result_size(mt, n_out));
        metric_result(mt, n_out, sums.data(), out.mutable_data());
        return out;
      },
      py::arg("metric"), py::arg("n_out"), py::arg("sums"), "The metric's result from its sums.");
}

}  // namespace eigennet::bindings
