// eigennet._core: the private extension module. One bind_<area>.cpp per area.
#include "common.h"

namespace eigennet::bindings {
void bind_config(py::module_& m);
void bind_model(py::module_& m);
void bind_ops(py::module_& m);
}  // namespace eigennet::bindings

PYBIND11_MODULE(_core, m) {
  m.doc() = "eigennet's C++ core (private: use the eigennet package).";
  eigennet::bindings::bind_config(m);
  eigennet::bindings::bind_model(m);
  eigennet::bindings::bind_ops(m);
}
