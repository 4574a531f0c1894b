#pragma once
// Kernel sets: the CPU kernels (cpu/kernels.h, cpu/sgemm.h) are compiled once per instruction
// set (baseline, AVX2+FMA, AVX-512 on x86-64; NEON on aarch64) from the same sources, each into
// one partially linked object whose only global symbol is its KernelTable (cmake: every other
// symbol is made local, so inline functions compiled with wider instructions can never be picked
// by the linker for another set). The CPU backend calls through the table chosen at run time.
// Shapes and maths of each entry are documented on the matching methods of Backend.
#include <cstdint>
#include <string>
#include <vector>

#include "eigennet/config.h"
#include "eigennet/metrics.h"
#include "eigennet/optimizer.h"

namespace eigennet::cpu {

template <typename T>
struct TypedKernels {
  void (*dense_forward)(const T* W, const T* b, const T* X, T* Z, T* A, Index n_units,
                        Index n_inputs, Index batch, ActivationSpec act);
  void (*dense_backward)(const T* W, const T* X, const T* dZ, T* dW, T* db, T* dX, Index n_units,
                         Index n_inputs, Index batch);
  void (*activation_forward)(ActivationSpec act, const T* Z, T* A, Index rows, Index cols);
  void (*activation_backward)(ActivationSpec act, const T* Z, const T* A, const T* dA, T* dZ,
                              Index rows, Index cols);
  void (*loss)(const LossSpec& loss, const T* P, const T* Y, const T* class_alpha, Index n_out,
               Index batch, T grad_scale, T* per_sample, T* grad);
  void (*accumulate_metric)(const MetricSpec& spec, const T* thresholds, const T* A, const T* Y,
                            const T* w, Index n_out, Index batch, double* acc);
  void (*optimizer_step)(const OptimizerConfig& cfg, double lr, std::int64_t step, T* params,
                         const T* grads, T* state, Index n);
  void (*regularize)(const T* w, T* grad, Index n, double l1, double l2, double weight,
                     double* penalty);
};

struct KernelTable {
  const char* name;
  TypedKernels<float> f32;
  TypedKernels<double> f64;
  /// C (m x n, column-major, leading dimension ldc) = [C +] A · B with A (m x k) and B (k x n)
  /// strided views (element (r, c) at data[r * rs + c * cs]): this set's float product, exposed
  /// for tests and benchmarks.
  void (*gemm)(Index m, Index n, Index k, const float* A, Index a_rs, Index a_cs, const float* B,
               Index b_rs, Index b_cs, float* C, Index ldc, bool accumulate);
};

/// The kernel set in use (see eigennet::set_kernel_set).
const KernelTable& active_kernels();

template <typename T>
const TypedKernels<T>& kernels() {
  if constexpr (sizeof(T) == sizeof(float))
    return active_kernels().f32;
  else
    return active_kernels().f64;
}

/// Every kernel set compiled into this build, best first, whether this CPU can run it or not.
std::vector<const KernelTable*> compiled_kernel_sets();
/// True when this CPU (and its operating system) can run the named set.
bool cpu_can_run(const std::string& name);
/// The compiled kernel sets this CPU can run, best first.
std::vector<const KernelTable*> runnable_kernel_sets();

}  // namespace eigennet::cpu
