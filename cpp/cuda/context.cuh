#pragma once
// What one model's CUDA backend owns besides its buffers: a stream, a cuBLAS handle with its
// workspace, the device slots of per-step arguments, reduction and sort scratch, and the step
// recorder that replays steps as CUDA graphs.
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <memory>

#include "cuda_check.cuh"
#include "kernels.cuh"
#include "step_graphs.cuh"

namespace eigennet::cuda {

/// cuBLAS workspace: set explicitly so that captured products never allocate (32 MiB is what
/// cuBLAS asks for on Hopper).
constexpr std::size_t kWorkspaceBytes = std::size_t(32) << 20;
/// Products whose inner dimension is at least this get the workspace, so cuBLAS may split their
/// sums (split-K); shorter ones run without, in a single kernel. Measured on an H200: split-K
/// pays for the 784-long sums of an MNIST layer and costs a kernel on a 30-64-64-1 network.
constexpr Index kSplitK = 256;

/// EIGENNET_CUDA_WORKSPACE_MB: N > 0 gives every product an N MiB workspace, 0 none; unset,
/// products get kWorkspaceBytes by their inner dimension (kSplitK).
struct WorkspacePolicy {
  std::size_t bytes = kWorkspaceBytes;
  bool by_size = true;
};
inline WorkspacePolicy workspace_policy() {
  const char* v = std::getenv("EIGENNET_CUDA_WORKSPACE_MB");
  if (!v || !*v) return {};
  return {static_cast<std::size_t>(std::strtoull(v, nullptr, 10)) << 20, false};
}

inline bool graphs_enabled() {
  const char* v = std::getenv("EIGENNET_CUDA_GRAPHS");
  return !(v && std::strcmp(v, "0") == 0);
}

/// Resources of one backend; destroyed after the step graphs that use them.
class Context {
 public:
  Context() {
    check(cudaStreamCreateWithFlags(&m_stream, cudaStreamNonBlocking), "cudaStreamCreate");
    check(cublasCreate(&m_blas), "cublasCreate");
    check(cublasSetStream(m_blas, m_stream), "cublasSetStream");
    if (m_policy.bytes > 0) check(cudaMalloc(&m_workspace, m_policy.bytes), "cudaMalloc");
    m_workspace_on = m_policy.bytes > 0;
    check(cublasSetWorkspace(m_blas, m_workspace, m_policy.bytes), "cublasSetWorkspace");
    check(cudaMalloc(&m_dyn, sizeof(DynSlot) * kMaxDyn), "cudaMalloc");
    check(cudaMalloc(&m_partials, sizeof(double) * 2 * kReduceBlocks), "cudaMalloc");
    m_steps = std::make_unique<StepGraphs>(m_stream, m_dyn, graphs_enabled());
  }
  ~Context() {
    cudaStreamSynchronize(m_stream);
    m_steps.reset();
    free_sort();
    for (void* p : std::initializer_list<void*>{m_partials, m_dyn, m_workspace})
      if (p) cudaFree(p);
    cublasDestroy(m_blas);
    cudaStreamDestroy(m_stream);
  }
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  cudaStream_t stream() const { return m_stream; }
  StepGraphs& steps() { return *m_steps; }
  double* partials() { return m_partials; }

  /// The cuBLAS handle for the next product, of inner dimension k: TF32 on or off (float), and
  /// the workspace by the policy. The same shape always gets the same setting (determinism).
  cublasHandle_t blas(bool tf32, Index k) {
    if (tf32 != m_tf32) {
      check(cublasSetMathMode(m_blas, tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH),
            "cublasSetMathMode");
      m_tf32 = tf32;
    }
    const bool on = m_policy.bytes > 0 && (!m_policy.by_size || k >= kSplitK);
    if (on != m_workspace_on) {
      check(cublasSetWorkspace(m_blas, on ? m_workspace : nullptr, on ? m_policy.bytes : 0),
            "cublasSetWorkspace");
      m_workspace_on = on;
    }
    return m_blas;
  }

  /// Sort scratch for n items, grown as needed.
  const SortScratch& sort_scratch(Index n) {
    if (n > m_sort_capacity) {
      check(cudaStreamSynchronize(m_stream), "cudaStreamSynchronize");
      free_sort();
      const std::size_t bytes = sizeof(std::uint64_t) * static_cast<std::size_t>(n);
      check(cudaMalloc(&m_sort.keys, bytes), "cudaMalloc");
      check(cudaMalloc(&m_sort.keys_out, bytes), "cudaMalloc");
      check(cudaMalloc(&m_sort.values, bytes), "cudaMalloc");
      m_sort.temp_bytes = permutation_temp_bytes(n);
      check(cudaMalloc(&m_sort.temp, m_sort.temp_bytes), "cudaMalloc");
      m_sort_capacity = n;
    }
    return m_sort;
  }

 private:
  void free_sort() {
    for (void* p :
         std::initializer_list<void*>{m_sort.keys, m_sort.keys_out, m_sort.values, m_sort.temp})
      if (p) cudaFree(p);
    m_sort = SortScratch{};
    m_sort_capacity = 0;
  }

  cudaStream_t m_stream = nullptr;
  cublasHandle_t m_blas = nullptr;
  bool m_tf32 = false;
  WorkspacePolicy m_policy = workspace_policy();
  bool m_workspace_on = false;
  void* m_workspace = nullptr;
  DynSlot* m_dyn = nullptr;
  double* m_partials = nullptr;
  SortScratch m_sort;
  Index m_sort_capacity = 0;
  std::unique_ptr<StepGraphs> m_steps;
};

}  // namespace eigennet::cuda
