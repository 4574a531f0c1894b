#pragma once
// The interface every backend implements: memory and coarse kernels. Host-only: it compiles
// without CUDA. Model and Trainer are written once against it.
//
// All matrices are column-major device buffers (see tensor.h): X is (n_inputs, batch), W is
// (n_units, n_inputs), Z and A are (n_units, batch), targets Y are (n_targets, batch) where
// n_targets is 1 for integer labels (stored as T) and n_out otherwise.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "eigennet/config.h"
#include "eigennet/constraints.h"
#include "eigennet/metrics.h"
#include "eigennet/normalization.h"
#include "eigennet/optimizer.h"

namespace eigennet {

/// Memory of one device. Pointers it returns are only valid on that device.
class Device {
 public:
  virtual ~Device() = default;
  virtual const char* name() const = 0;
  /// True when device memory is ordinary host memory (callers may then skip copies).
  virtual bool is_host() const = 0;
  /// Throws std::bad_alloc when memory is exhausted.
  virtual void* allocate(std::size_t bytes) = 0;
  virtual void deallocate(void* p) noexcept = 0;
  virtual void copy_to_device(void* dst, const void* src, std::size_t bytes) = 0;
  virtual void copy_to_host(void* dst, const void* src, std::size_t bytes) = 0;
  virtual void copy_on_device(void* dst, const void* src, std::size_t bytes) = 0;
  virtual void synchronize() = 0;

  /// The calls between begin_step() and end_step() form one step (a batch's gathers, forward,
  /// backward and update) that a backend may record once per shape and replay: the CUDA backend
  /// captures it as a CUDA graph. Nothing may rely on a kernel having run before end_step()
  /// except through this interface's own copies. No-ops by default.
  virtual void begin_step() {}
  virtual void end_step() {}
};

/// An owning array of E on a device. Movable, not copyable.
template <typename E>
class Buffer {
 public:
  Buffer() = default;
  Buffer(Device& device, Index n) : m_device(&device), m_size(n) {
    if (n > 0) m_data = static_cast<E*>(device.allocate(static_cast<std::size_t>(n) * sizeof(E)));
  }
  Buffer(Buffer&& o) noexcept { swap(o); }
  Buffer& operator=(Buffer&& o) noexcept {
    Buffer tmp(std::move(o));
    swap(tmp);
    return *this;
  }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  ~Buffer() {
    if (m_data) m_device->deallocate(m_data);
  }
  E* data() { return m_data; }
  const E* data() const { return m_data; }
  Index size() const { return m_size; }
  std::size_t bytes() const { return static_cast<std::size_t>(m_size) * sizeof(E); }

 private:
  void swap(Buffer& o) noexcept {
    std::swap(m_device, o.m_device);
    std::swap(m_data, o.m_data);
    std::swap(m_size, o.m_size);
  }
  Device* m_device = nullptr;
  E* m_data = nullptr;
  Index m_size = 0;
};

/// Kernels in scalar type T (float or double).
template <typename T>
class Backend : public Device {
 public:
  /// dst[i] = value for i < n.
  virtual void fill(T* dst, Index n, T value) = 0;

  /// Z = W·X + b (b may be null), then A = g(Z). A may equal Z only for Linear.
  /// W (n_units, n_inputs), X (n_inputs, batch), b (n_units), Z and A (n_units, batch).
  virtual void dense_forward(const T* W, const T* b, const T* X, T* Z, T* A, Index n_units,
                             Index n_inputs, Index batch, ActivationSpec act) = 0;

  /// A = g(Z), Z and A (rows, cols); softmax works per column.
  virtual void activation_forward(ActivationSpec act, const T* Z, T* A, Index rows, Index cols) = 0;

  /// dZ = dA ⊙ g'(Z) (softmax: per column a ⊙ (dA - Σ dA⊙a)); dZ may equal dA.
  virtual void activation_backward(ActivationSpec act, const T* Z, const T* A, const T* dA, T* dZ,
                                   Index rows, Index cols) = 0;

  /// dL/dW = dZ·Xᵀ, dL/db = Σ_columns dZ (db may be null), dL/dX = Wᵀ·dZ (dX may be null).
  /// dZ (n_units, batch) already holds the 1/batch of the mean.
  virtual void dense_backward(const T* W, const T* X, const T* dZ, T* dW, T* db, T* dX,
                              Index n_units, Index n_inputs, Index batch) = 0;

  /// Inverted dropout: mask = (u >= rate) / (1 - rate) with u = hashed_uniform(seed, counter, i),
  /// out = in ⊙ mask. All of in, out, mask have n elements.
  virtual void dropout_forward(const T* in, T* out, T* mask, Index n, double rate,
                               std::uint64_t seed, std::uint64_t counter) = 0;

  /// out = a ⊙ b, n elements (dropout backward).
  virtual void multiply(const T* a, const T* b, T* out, Index n) = 0;

  /// Per-sample loss values into per_sample (batch) and, when grad is not null, the gradient of
  /// grad_scale * Σ per_sample with respect to P into grad (n_out, batch). P holds probabilities
  /// or logits as the kind says. Y is (n_targets, batch). class_alpha (n_out), or null for
  /// loss.alpha: the categorical focal loss's weight of each class.
  virtual void loss(const LossSpec& loss, const T* P, const T* Y, const T* class_alpha, Index n_out,
                    Index batch, T grad_scale, T* per_sample, T* grad) = 0;

  /// Adds every sample's contribution to a metric's sums (eigennet/metrics.h) into acc (device
  /// doubles, metric_n_sums of them), each sum in a fixed order. A (n_out, batch),
  /// Y (n_targets, batch), w (batch) or null for weight 1, thresholds (spec.n_thresholds) for
  /// ThresholdSpacing::List, else unused.
  virtual void accumulate_metric(const MetricSpec& spec, const T* thresholds, const T* A,
                                 const T* Y, const T* w, Index n_out, Index batch, double* acc) = 0;

  /// *acc += weight * Σ x (fixed summation order), acc a device double.
  virtual void sum_into(const T* x, Index n, double weight, double* acc) = 0;

  /// Kernel regularisation: grad += l1·sign(w) + 2·l2·w (grad may be null),
  /// *penalty += weight·(l1Σ|w| + l2Σw²).
  virtual void regularize(const T* w, T* grad, Index n, double l1, double l2, double weight,
                          double* penalty) = 0;

  /// *out = Σ x² (plus *out's value when add), x (n), out a device double; a fixed order.
  virtual void sum_squares(const T* x, Index n, double* out, bool add) = 0;

  /// x *= clip / max(√sumsq, clip) over n elements, sumsq a device double (Keras's clip by norm:
  /// a vector whose norm exceeds clip is scaled to norm clip; NaN norms give NaN).
  virtual void scale_to_norm(T* x, Index n, const double* sumsq, double clip) = 0;

  /// Applies c to w (outer, reduce, inner) in C order (Keras's shape folded around the
  /// constrained axis): each of the outer·inner lines of `reduce` weights, stride inner.
  virtual void constrain(const Constraint& c, T* w, Index outer, Index reduce, Index inner) = 0;

  /// One optimizer step over n parameters; state holds cfg.n_slots() arrays of n, one after the
  /// other. step is the number of updates done before this one.
  virtual void optimizer_step(const OptimizerConfig& cfg, double lr, std::int64_t step, T* params,
                              const T* grads, T* state, Index n) = 0;

  /// y = a·x + b·y over n elements; b == 0 overwrites y whatever it held (merges, gradient sums,
  /// moving statistics).
  virtual void axpby(Index n, T a, const T* x, T b, T* y) = 0;

  /// out = max(a, b) (or min) element-wise over n, and mask = 1 where a was taken (a >= b, or
  /// a <= b: ties go to a, as TensorFlow's gradient of maximum does), 0 where b was.
  virtual void extremum(bool maximum, const T* a, const T* b, T* out, T* mask, Index n) = 0;

  /// Rows [dst_row, dst_row + n_rows) of dst (dst_rows, cols) = rows [src_row, src_row + n_rows)
  /// of src (src_rows, cols): concatenation along the features and its inverse.
  virtual void copy_rows(const T* src, Index src_rows, Index src_row, T* dst, Index dst_rows,
                         Index dst_row, Index n_rows, Index cols) = 0;

  /// M(:, j) *= w[j] for M (rows, cols) and w (cols): per-sample weights of a loss gradient.
  virtual void scale_columns(T* M, Index rows, Index cols, const T* w) = 0;

  /// out[i] = mean + stddev·z_i, z_i standard normal from the hash of (seed, counter, i).
  virtual void normal_fill(T* out, Index n, double mean, double stddev, std::uint64_t seed,
                           std::uint64_t counter) = 0;

  /// Y = γ ⊙ (X - μ)·r + β (eigennet/normalization.h) with statistics per row (axis Batch) or per
  /// column (axis Features). X, Y (rows, cols); mean, var (rows or cols) computed from X when
  /// compute_stats, else read; gamma, beta (rows) may be null.
  virtual void normalize_forward(NormAxis axis, const T* X, Index rows, Index cols, T* mean, T* var,
                                 bool compute_stats, double eps, bool eps_outside, const T* gamma,
                                 const T* beta, T* Y) = 0;

  /// Gradients of normalize_forward from dY (rows, cols): dX (may be null; statistics of the
  /// batch when batch_stats, constants otherwise), dgamma and dbeta (rows, may be null).
  virtual void normalize_backward(NormAxis axis, const T* X, const T* dY, Index rows, Index cols,
                                  const T* mean, const T* var, bool batch_stats, double eps,
                                  bool eps_outside, const T* gamma, T* dX, T* dgamma, T* dbeta) = 0;

  /// Embedding lookup: out rows [k·dim, (k+1)·dim) of column j = table(:, idx(k, j)), with idx
  /// (L, cols) integers stored as T, table (dim, vocab), out (L·dim, cols). An index outside
  /// [0, vocab) gives zeros (callers check indices first).
  virtual void embedding_forward(const T* table, Index dim, Index vocab, const T* idx, Index L,
                                 Index cols, T* out) = 0;

  /// dtable (dim, vocab) = Σ over (k, j) of dOut's block scattered to column idx(k, j),
  /// overwriting, in a fixed order.
  virtual void embedding_backward(const T* dOut, Index dim, Index vocab, const T* idx, Index L,
                                  Index cols, T* dtable) = 0;

  /// A permutation of 0..n-1 into idx, drawn from seed (Fisher-Yates on a counter-based stream).
  virtual void permutation(std::int64_t* idx, Index n, std::uint64_t seed) = 0;

  /// dst(:, j) = src(:, idx[first + j]) for j < count; src (rows, *), dst (rows, count).
  virtual void gather_columns(const T* src, Index rows, const std::int64_t* idx, Index first,
                              Index count, T* dst) = 0;
};

/// The CPU backend (Eigen + OpenMP).
template <typename T>
std::unique_ptr<Backend<T>> make_cpu_backend();

/// The CUDA backend; throws std::runtime_error when this build has no CUDA or no GPU is present.
template <typename T>
std::unique_ptr<Backend<T>> make_cuda_backend();

/// True when this build has CUDA and a GPU is present.
bool cuda_available();

/// Whether float32 products on CUDA may use TF32 tensor cores (10-bit mantissa inputs). Off by
/// default, so that results match the CPU; read by each product, so it applies to live models.
inline std::atomic<bool>& cuda_tf32() {
  static std::atomic<bool> enabled{false};
  return enabled;
}

}  // namespace eigennet
