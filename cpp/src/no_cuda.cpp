// Built when EIGENNET_CUDA is OFF: asking for the CUDA backend is a clear error, never a crash.
#include <stdexcept>

#include "eigennet/backend.h"

namespace eigennet {

bool cuda_available() { return false; }

template <typename T>
std::unique_ptr<Backend<T>> make_cuda_backend() {
  throw std::runtime_error(
      "This eigennet build has no CUDA backend. Rebuild with "
      "`pip install . -Ccmake.define.EIGENNET_CUDA=ON` on a machine with nvcc and cuBLAS.");
}

template std::unique_ptr<Backend<float>> make_cuda_backend<float>();
template std::unique_ptr<Backend<double>> make_cuda_backend<double>();

}  // namespace eigennet
