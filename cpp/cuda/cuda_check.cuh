#pragma once
// Error checks of the CUDA backend: every runtime and cuBLAS call is checked, and a failure
// becomes a std::runtime_error naming the call (std::bad_alloc when device memory runs out).
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <new>
#include <stdexcept>
#include <string>

namespace eigennet::cuda {

inline void check(cudaError_t e, const char* what) {
  if (e == cudaSuccess) return;
  if (e == cudaErrorMemoryAllocation) {
    cudaGetLastError();  // not sticky: clear it so the next call starts clean
    throw std::bad_alloc();
  }
  throw std::runtime_error(std::string("CUDA error in ") + what + ": " + cudaGetErrorName(e) +
                           " (" + cudaGetErrorString(e) + ")");
}

inline void check(cublasStatus_t s, const char* what) {
  if (s == CUBLAS_STATUS_SUCCESS) return;
  if (s == CUBLAS_STATUS_ALLOC_FAILED) throw std::bad_alloc();
  throw std::runtime_error(std::string("cuBLAS error in ") + what + ": " + cublasGetStatusName(s) +
                           " (" + cublasGetStatusString(s) + ")");
}

/// Checks that the kernel launch just made was accepted.
inline void check_launch(const char* kernel) { check(cudaGetLastError(), kernel); }

}  // namespace eigennet::cuda
