// The CUDA backend: device memory, cuBLAS products and our kernels (kernels.cuh) on one stream
// per model, with each training or test step replayed as a CUDA graph (step_graphs.cuh).
//
// Products are cuBLAS's column-major GEMMs on the layout of eigennet/tensor.h:
//   Z = W·X        gemm(N, N): (n_units, n_inputs)·(n_inputs, batch)
//   dL/dW = dZ·Xᵀ  gemm(N, T): (n_units, batch)·(batch, n_inputs)
//   dL/dX = Wᵀ·dZ  gemm(T, N): (n_inputs, n_units)·(n_units, batch)
// cuBLAS without atomics gives the same bits for the same shapes on one GPU model, and every
// reduction of ours adds in a fixed order, so a seed determines every result.
#include <climits>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <type_traits>

#include "context.cuh"
#include "cuda_check.cuh"
#include "eigennet/backend.h"
#include "kernels.cuh"

namespace eigennet {
namespace cuda {
namespace {

template <typename V>
std::uint64_t word(V v) {
  if constexpr (std::is_pointer_v<V>) {
    return static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(v));
  } else if constexpr (std::is_enum_v<V> || std::is_integral_v<V>) {
    return static_cast<std::uint64_t>(v);
  } else {
    static_assert(sizeof(V) <= 8);
    std::uint64_t w = 0;
    std::memcpy(&w, &v, sizeof(V));
    return w;
  }
}

int blas_int(Index n) {
  if (n > INT_MAX) throw std::length_error("A matrix dimension exceeds cuBLAS's int range.");
  return static_cast<int>(n);
}

enum class Op : std::uint64_t {
  Fill = 1,
  Dense,
  ActivationForward,
  ActivationBackward,
  DenseBackward,
  Dropout,
  Multiply,
  Loss,
  Metric,
  Sum,
  Regularize,
  Optimizer,
  Gather,
};

}  // namespace

template <typename T>
class CudaBackend final : public Backend<T> {
 public:
  const char* name() const override { return "cuda"; }
  bool is_host() const override { return false; }

  void* allocate(std::size_t bytes) override {
    m_ctx.steps().flush();
    void* p = nullptr;
    check(cudaMalloc(&p, bytes == 0 ? 1 : bytes), "cudaMalloc");
    return p;
  }
  void deallocate(void* p) noexcept override {
    try {
      m_ctx.steps().flush();
    } catch (...) {  // a failed launch surfaces at the next call that can throw
    }
    cudaStreamSynchronize(stream());
    cudaFree(p);
  }
  void copy_to_device(void* dst, const void* src, std::size_t n) override {
    m_ctx.steps().flush();
    check(cudaMemcpyAsync(dst, src, n, cudaMemcpyHostToDevice, stream()), "cudaMemcpyAsync");
    check(cudaStreamSynchronize(stream()), "cudaStreamSynchronize");
  }
  void copy_to_host(void* dst, const void* src, std::size_t n) override {
    m_ctx.steps().flush();
    check(cudaMemcpyAsync(dst, src, n, cudaMemcpyDeviceToHost, stream()), "cudaMemcpyAsync");
    check(cudaStreamSynchronize(stream()), "cudaStreamSynchronize");
  }
  void copy_on_device(void* dst, const void* src, std::size_t n) override {
    m_ctx.steps().flush();
    check(cudaMemcpyAsync(dst, src, n, cudaMemcpyDeviceToDevice, stream()), "cudaMemcpyAsync");
  }
  void synchronize() override {
    m_ctx.steps().flush();
    check(cudaStreamSynchronize(stream()), "cudaStreamSynchronize");
  }
  void begin_step() override { m_ctx.steps().begin(); }
  void end_step() override { m_ctx.steps().end(); }

  void fill(T* dst, Index n, T value) override {
    cudaStream_t s = stream();
    record({word(Op::Fill), word(dst), word(n), word(value)}, nullptr,
           [=](const DynSlot*) { cuda::fill(dst, n, value, s); });
  }

  void dense_forward(const T* W, const T* b, const T* X, T* Z, T* A, Index n_units, Index n_inputs,
                     Index batch, Activation act) override {
    cudaStream_t s = stream();
    const bool tf32 = use_tf32();
    record({word(Op::Dense), word(W), word(b), word(X), word(Z), word(A), word(n_units),
            word(n_inputs), word(batch), word(act), word(tf32)},
           nullptr, [=](const DynSlot*) {
             // Z = W·X, then Z += b and A = g(Z) in one pass.
             gemm(CUBLAS_OP_N, CUBLAS_OP_N, n_units, batch, n_inputs, W, n_units, X, n_inputs, Z,
                  n_units, tf32);
             cuda::bias_activation(b, Z, A, n_units, batch, act, s);
           });
  }

  void activation_forward(Activation act, const T* Z, T* A, Index rows, Index cols) override {
    cudaStream_t s = stream();
    record({word(Op::ActivationForward), word(act), word(Z), word(A), word(rows), word(cols)},
           nullptr, [=](const DynSlot*) { cuda::activation_forward(act, Z, A, rows, cols, s); });
  }

  void activation_backward(Activation act, const T* Z, const T* A, const T* dA, T* dZ, Index rows,
                           Index cols) override {
    cudaStream_t s = stream();
    record({word(Op::ActivationBackward), word(act), word(Z), word(A), word(dA), word(dZ),
            word(rows), word(cols)},
           nullptr,
           [=](const DynSlot*) { cuda::activation_backward(act, Z, A, dA, dZ, rows, cols, s); });
  }

  void dense_backward(const T* W, const T* X, const T* dZ, T* dW, T* db, T* dX, Index n_units,
                      Index n_inputs, Index batch) override {
    cudaStream_t s = stream();
    const bool tf32 = use_tf32();
    record({word(Op::DenseBackward), word(W), word(X), word(dZ), word(dW), word(db), word(dX),
            word(n_units), word(n_inputs), word(batch), word(tf32)},
           nullptr, [=](const DynSlot*) {
             // dL/dW = dZ·Xᵀ, dL/db = Σ_columns dZ, dL/dX = Wᵀ·dZ.
             gemm(CUBLAS_OP_N, CUBLAS_OP_T, n_units, n_inputs, batch, dZ, n_units, X, n_inputs, dW,
                  n_units, tf32);
             if (db) cuda::row_sums(dZ, n_units, batch, db, s);
             if (dX)
               gemm(CUBLAS_OP_T, CUBLAS_OP_N, n_inputs, batch, n_units, W, n_units, dZ, n_units, dX,
                    n_inputs, tf32);
           });
  }

  void dropout_forward(const T* in, T* out, T* mask, Index n, double rate, std::uint64_t seed,
                       std::uint64_t counter) override {
    cudaStream_t s = stream();
    const T keep_scale = static_cast<T>(1.0 / (1.0 - rate));
    DynSlot d{};
    d.dropout = {seed, counter};
    record({word(Op::Dropout), word(in), word(out), word(mask), word(n), word(rate)}, &d,
           [=](const DynSlot* dyn) {
             cuda::dropout(in, out, mask, n, rate, keep_scale, d.dropout,
                           dyn ? &dyn->dropout : nullptr, s);
           });
  }

  void multiply(const T* a, const T* b, T* out, Index n) override {
    cudaStream_t s = stream();
    record({word(Op::Multiply), word(a), word(b), word(out), word(n)}, nullptr,
           [=](const DynSlot*) { cuda::multiply(a, b, out, n, s); });
  }

  void loss(LossKind kind, const T* P, const T* Y, Index n_out, Index batch, T grad_scale,
            T* per_sample, T* grad) override {
    cudaStream_t s = stream();
    record({word(Op::Loss), word(kind), word(P), word(Y), word(n_out), word(batch),
            word(grad_scale), word(per_sample), word(grad)},
           nullptr, [=](const DynSlot*) {
             cuda::loss(kind, P, Y, n_out, batch, grad_scale, per_sample, grad, s);
           });
  }

  void metric(MetricKind kind, const T* A, const T* Y, Index n_out, Index batch,
              T* per_sample) override {
    cudaStream_t s = stream();
    record({word(Op::Metric), word(kind), word(A), word(Y), word(n_out), word(batch),
            word(per_sample)},
           nullptr, [=](const DynSlot*) { cuda::metric(kind, A, Y, n_out, batch, per_sample, s); });
  }

  void sum_into(const T* x, Index n, double weight, double* acc) override {
    cudaStream_t s = stream();
    record({word(Op::Sum), word(x), word(n), word(weight), word(acc)}, nullptr,
           [=](const DynSlot*) { cuda::sum_into(x, n, weight, acc, s); });
  }

  void regularize(const T* w, T* grad, Index n, double l1, double l2, double weight,
                  double* penalty) override {
    cudaStream_t s = stream();
    double* partials = m_ctx.partials();
    record({word(Op::Regularize), word(w), word(grad), word(n), word(l1), word(l2), word(weight),
            word(penalty)},
           nullptr, [=](const DynSlot*) {
             cuda::regularize(w, grad, n, l1, l2, weight, penalty, partials, s);
           });
  }

  void optimizer_step(const OptimizerConfig& cfg, double lr, std::int64_t step, T* params,
                      const T* grads, T* state, Index n) override {
    cudaStream_t s = stream();
    const bool sgd = cfg.kind == OptimizerKind::SGD;
    const OptimizerConsts<T> c{cfg.kind,
                               sgd ? cfg.momentum != 0.0 : cfg.momentum > 0.0,
                               cfg.nesterov,
                               static_cast<T>(cfg.momentum),
                               static_cast<T>(cfg.rho),
                               static_cast<T>(cfg.epsilon),
                               static_cast<T>(1.0 - cfg.beta_1),
                               static_cast<T>(1.0 - cfg.beta_2)};
    DynSlot d{};
    d.optimizer = {lr, 0.0};
    if (cfg.kind == OptimizerKind::Adam) {
      const double t = static_cast<double>(step + 1);
      d.optimizer.alpha =
          lr * std::sqrt(1.0 - std::pow(cfg.beta_2, t)) / (1.0 - std::pow(cfg.beta_1, t));
    }
    record({word(Op::Optimizer), word(c.kind), word(c.momentum), word(c.nesterov), word(c.mu),
            word(c.rho), word(c.eps), word(c.c1), word(c.c2), word(params), word(grads),
            word(state), word(n)},
           &d, [=](const DynSlot* dyn) {
             cuda::optimizer_step(c, d.optimizer, dyn ? &dyn->optimizer : nullptr, params, grads,
                                  state, n, s);
           });
  }

  void permutation(std::int64_t* idx, Index n, std::uint64_t seed) override {
    m_ctx.steps().flush();
    cuda::permutation(idx, n, seed, m_ctx.sort_scratch(n), stream());
  }

  void gather_columns(const T* src, Index rows, const std::int64_t* idx, Index first, Index count,
                      T* dst) override {
    cudaStream_t s = stream();
    DynSlot d{};
    d.gather = {src, idx, first};
    record({word(Op::Gather), word(rows), word(count), word(dst), word(sizeof(T))}, &d,
           [=](const DynSlot* dyn) {
             cuda::gather_columns(d.gather, dyn ? &dyn->gather : nullptr, rows, count, dst, s);
           });
  }

 private:
  cudaStream_t stream() const { return m_ctx.stream(); }
  static bool use_tf32() { return std::is_same_v<T, float> && cuda_tf32().load(); }

  void record(std::initializer_list<std::uint64_t> words, const DynSlot* dyn,
              StepGraphs::Launch launch) {
    m_ctx.steps().run(words, dyn, std::move(launch));
  }

  /// C = op(A)·op(B), all column-major with the given leading dimensions.
  void gemm(cublasOperation_t ta, cublasOperation_t tb, Index m, Index n, Index k, const T* A,
            Index lda, const T* B, Index ldb, T* C, Index ldc, bool tf32) {
    const T one = 1, zero = 0;
    cublasHandle_t h = m_ctx.blas(tf32);
    if constexpr (std::is_same_v<T, float>) {
      check(cublasSgemm(h, ta, tb, blas_int(m), blas_int(n), blas_int(k), &one, A, blas_int(lda), B,
                        blas_int(ldb), &zero, C, blas_int(ldc)),
            "cublasSgemm");
    } else {
      check(cublasDgemm(h, ta, tb, blas_int(m), blas_int(n), blas_int(k), &one, A, blas_int(lda), B,
                        blas_int(ldb), &zero, C, blas_int(ldc)),
            "cublasDgemm");
    }
  }

  Context m_ctx;
};

/// Why cuda_available() is false, as a sentence.
std::string unavailable_reason() {
  int n = 0;
  const cudaError_t e = cudaGetDeviceCount(&n);
  cudaGetLastError();
  if (e != cudaSuccess)
    return std::string("No CUDA GPU is available (") + cudaGetErrorString(e) + ").";
  if (n == 0) return "No CUDA GPU is present.";
  cudaDeviceProp p{};
  cudaGetDeviceProperties(&p, 0);
  return std::string("This eigennet build's GPU code cannot run on ") + p.name +
         " (compute capability " + std::to_string(p.major) + "." + std::to_string(p.minor) +
         "): rebuild with -Ccmake.define.CMAKE_CUDA_ARCHITECTURES=" + std::to_string(p.major) +
         std::to_string(p.minor) + ".";
}

}  // namespace cuda

bool cuda_available() {
  static const bool available = [] {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess || n == 0) {
      cudaGetLastError();
      return false;
    }
    return cuda::probe_kernel();
  }();
  return available;
}

template <typename T>
std::unique_ptr<Backend<T>> make_cuda_backend() {
  if (!cuda_available()) throw std::runtime_error(cuda::unavailable_reason());
  return std::make_unique<cuda::CudaBackend<T>>();
}

template std::unique_ptr<Backend<float>> make_cuda_backend<float>();
template std::unique_ptr<Backend<double>> make_cuda_backend<double>();

}  // namespace eigennet
