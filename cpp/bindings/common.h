#pragma once
// Shared helpers of the bindings: numpy <-> column-major views, shape checks, progress callbacks.
// No maths here: everything numeric happens in eigennet_core.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <exception>
#include <string>

#include "eigennet/trainer.h"

namespace eigennet::bindings {

namespace py = pybind11;

/// Python's LossSpec: a loss's parameters and the categorical focal loss's weight of each class
/// (empty: spec.alpha), which the core keeps beside the spec (OutputLoss, TapeLoss).
struct LossArgs {
  LossSpec spec;
  std::vector<double> class_alpha;
};

/// A C-contiguous array of T, converted once at the edge when the dtype differs.
template <typename T>
using Array = py::array_t<T, py::array::c_style | py::array::forcecast>;

/// Rejects dtypes that numpy would only convert by guessing (objects, strings, complex).
inline void check_numeric(const py::handle& obj, const char* name) {
  if (!py::isinstance<py::array>(obj)) return;
  const char kind = py::cast<py::array>(obj).dtype().kind();
  if (kind != 'f' && kind != 'i' && kind != 'u' && kind != 'b')
    throw py::type_error(std::string(name) + " must hold real numbers, got an array of dtype '" +
                         py::str(py::cast<py::array>(obj).dtype()).cast<std::string>() + "'");
}

/// obj as a C-contiguous array of T, converted once at the edge. TypeError naming `name` for
/// anything but rectangular real numbers (objects, ragged lists, strings, complex numbers):
/// numpy would otherwise fail silently, or guess.
template <typename T>
Array<T> as_array(const py::handle& obj, const char* name) {
  py::object raw = py::reinterpret_borrow<py::object>(obj);
  if (!py::isinstance<py::array>(obj)) {
    try {
      raw = py::module_::import("numpy").attr("asarray")(obj);
    } catch (py::error_already_set&) {
      throw py::type_error(std::string(name) +
                           " must be real numbers: a numpy array or a rectangular list.");
    }
  }
  check_numeric(raw, name);
  Array<T> a = Array<T>::ensure(raw);
  if (!a)
    throw py::type_error(std::string(name) +
                         " must be real numbers: a numpy array or a rectangular list.");
  return a;
}

/// Converts obj to a 2-D C-contiguous (n, cols) array of T and checks its column count.
template <typename T>
Array<T> as_matrix(const py::handle& obj, const char* name, Index cols) {
  Array<T> a = as_array<T>(obj, name);
  if (a.ndim() != 2)
    throw py::value_error(std::string(name) + " must be 2-D (samples, features), got " +
                          std::to_string(a.ndim()) + " dimensions");
  if (cols >= 0 && a.shape(1) != cols)
    throw py::value_error(std::string(name) + " must have " + std::to_string(cols) +
                          " columns, got " + std::to_string(a.shape(1)));
  if (a.shape(0) == 0) throw py::value_error(std::string(name) + " is empty (0 samples).");
  return a;
}

/// Wraps an optional Python callable(samples, batches, loss, metrics) -> bool|None as a progress
/// function. It also polls for signals, so Ctrl-C stops a long pass after the current batch.
/// The first Python error is kept in `error` and rethrown by the caller with the GIL held.
inline ProgressFn make_progress(const py::object& callback, std::exception_ptr& error) {
  return [&callback, &error](const PassResult& r) -> bool {
    py::gil_scoped_acquire gil;
    try {
      if (PyErr_CheckSignals() != 0) throw py::error_already_set();
      if (callback.is_none()) return true;
      py::object keep_going = callback(r.samples, r.batches, r.loss, r.metrics);
      return keep_going.is_none() || keep_going.cast<bool>();
    } catch (...) {
      error = std::current_exception();
      return false;
    }
  };
}

}  // namespace eigennet::bindings
