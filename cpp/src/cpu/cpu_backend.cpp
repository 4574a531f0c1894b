// The CPU backend: host memory, and the kernels of the kernel set chosen at run time.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <new>

#include "cpu/kernel_set.h"
#include "cpu/parallel.h"
#include "eigennet/backend.h"
#include "eigennet/rng.h"

namespace eigennet {
namespace cpu {

template <typename T>
class CpuBackend final : public Backend<T> {
 public:
  const char* name() const override { return "cpu"; }
  bool is_host() const override { return true; }

  void* allocate(std::size_t bytes) override {
    // 64-byte alignment: a whole cache line and an AVX-512 register.
    const std::size_t rounded = (bytes + 63) / 64 * 64;
    void* p = std::aligned_alloc(64, rounded == 0 ? 64 : rounded);
    if (!p) throw std::bad_alloc();
    return p;
  }
  void deallocate(void* p) noexcept override { std::free(p); }
  // n == 0 may come with null pointers (a model without parameters, plain SGD's empty state),
  // and memcpy/memmove on null is undefined even for 0 bytes.
  void copy_to_device(void* dst, const void* src, std::size_t n) override {
    if (n) std::memcpy(dst, src, n);
  }
  void copy_to_host(void* dst, const void* src, std::size_t n) override {
    if (n) std::memcpy(dst, src, n);
  }
  void copy_on_device(void* dst, const void* src, std::size_t n) override {
    if (n) std::memmove(dst, src, n);
  }
  void synchronize() override {}

  void fill(T* dst, Index n, T value) override { std::fill(dst, dst + n, value); }

  void dense_forward(const T* W, const T* b, const T* X, T* Z, T* A, Index n_units, Index n_inputs,
                     Index batch, ActivationSpec act) override {
    kernels<T>().dense_forward(W, b, X, Z, A, n_units, n_inputs, batch, act);
  }
  void activation_forward(ActivationSpec act, const T* Z, T* A, Index rows, Index cols) override {
    kernels<T>().activation_forward(act, Z, A, rows, cols);
  }
  void activation_backward(ActivationSpec act, const T* Z, const T* A, const T* dA, T* dZ,
                           Index rows, Index cols) override {
    kernels<T>().activation_backward(act, Z, A, dA, dZ, rows, cols);
  }
  void dense_backward(const T* W, const T* X, const T* dZ, T* dW, T* db, T* dX, Index n_units,
                      Index n_inputs, Index batch) override {
    kernels<T>().dense_backward(W, X, dZ, dW, db, dX, n_units, n_inputs, batch);
  }
  void dropout_forward(const T* in, T* out, T* mask, Index n, double rate, std::uint64_t seed,
                       std::uint64_t counter) override {
    const T keep_scale = static_cast<T>(1.0 / (1.0 - rate));
    for (Index i = 0; i < n; ++i) {
      mask[i] =
          hashed_uniform(seed, counter, static_cast<std::uint64_t>(i)) >= rate ? keep_scale : T(0);
      out[i] = in[i] * mask[i];
    }
  }
  void multiply(const T* a, const T* b, T* out, Index n) override {
    for (Index i = 0; i < n; ++i) out[i] = a[i] * b[i];
  }
  void loss(const LossSpec& spec, const T* P, const T* Y, const T* class_alpha, Index n_out,
            Index batch, T grad_scale, T* per_sample, T* grad) override {
    kernels<T>().loss(spec, P, Y, class_alpha, n_out, batch, grad_scale, per_sample, grad);
  }
  void accumulate_metric(const MetricSpec& spec, const T* thresholds, const T* A, const T* Y,
                         const T* w, Index n_out, Index batch, double* acc) override {
    kernels<T>().accumulate_metric(spec, thresholds, A, Y, w, n_out, batch, acc);
  }
  void sum_into(const T* x, Index n, double weight, double* acc) override {
    double s = 0;
    for (Index i = 0; i < n; ++i) s += x[i];
    *acc += weight * s;
  }
  void regularize(const T* w, T* grad, Index n, double l1, double l2, double weight,
                  double* penalty) override {
    kernels<T>().regularize(w, grad, n, l1, l2, weight, penalty);
  }
  void sum_squares(const T* x, Index n, double* out, bool add) override {
    double s = add ? *out : 0.0;
    for (Index i = 0; i < n; ++i) s += static_cast<double>(x[i]) * x[i];
    *out = s;
  }
  void scale_to_norm(T* x, Index n, const double* sumsq, double clip) override {
    const T scale = static_cast<T>(clip / std::max(std::sqrt(*sumsq), clip));
    for (Index i = 0; i < n; ++i) x[i] *= scale;
  }
  void constrain(const Constraint& c, T* w, Index outer, Index reduce, Index inner) override {
    for (Index o = 0; o < outer; ++o)
      for (Index i = 0; i < inner; ++i)
        constrain_line(c, w + o * reduce * inner + i, reduce, inner);
  }
  void optimizer_step(const OptimizerConfig& cfg, double lr, std::int64_t step, T* params,
                      const T* grads, T* state, Index n) override {
    kernels<T>().optimizer_step(cfg, lr, step, params, grads, state, n);
  }
  void axpby(Index n, T a, const T* x, T b, T* y) override {
    if (b == T(0))
      for (Index i = 0; i < n; ++i) y[i] = a * x[i];
    else
      for (Index i = 0; i < n; ++i) y[i] = a * x[i] + b * y[i];
  }
  void extremum(bool maximum, const T* a, const T* b, T* out, T* mask, Index n) override {
    for (Index i = 0; i < n; ++i) {
      const bool take_a = maximum ? a[i] >= b[i] : a[i] <= b[i];
      out[i] = take_a ? a[i] : b[i];
      mask[i] = take_a ? T(1) : T(0);
    }
  }
  void copy_rows(const T* src, Index src_rows, Index src_row, T* dst, Index dst_rows, Index dst_row,
                 Index n_rows, Index cols) override {
    for (Index j = 0; j < cols; ++j)
      std::memcpy(dst + j * dst_rows + dst_row, src + j * src_rows + src_row, sizeof(T) * n_rows);
  }
  void scale_columns(T* M, Index rows, Index cols, const T* w) override {
    for (Index j = 0; j < cols; ++j)
      for (Index r = 0; r < rows; ++r) M[j * rows + r] *= w[j];
  }
  void normal_fill(T* out, Index n, double mean, double stddev, std::uint64_t seed,
                   std::uint64_t counter) override {
    for (Index i = 0; i < n; ++i)
      out[i] = static_cast<T>(mean + stddev * hashed_normal(seed, counter, std::uint64_t(i)));
  }
  void normalize_forward(NormAxis axis, const T* X, Index rows, Index cols, T* mean, T* var,
                         bool compute_stats, double eps, bool eps_outside, const T* gamma,
                         const T* beta, T* Y) override {
    // Batch: line r is row r (step rows), γ_r constant on it; Features: line j is column j.
    const bool by_row = axis == NormAxis::Batch;
    const Index n_lines = by_row ? rows : cols, len = by_row ? cols : rows;
    const Index step = by_row ? rows : 1, line_step = by_row ? 1 : rows;
    parallel_chunks(n_lines, 16, 4.0 * rows * cols, [&](Index begin, Index end) {
      for (Index l = begin; l < end; ++l) {
        const T* x = X + l * line_step;
        if (compute_stats) line_moments(x, len, step, mean + l, var + l);
        const T r = norm_inv_std(var[l], eps, eps_outside);
        normalize_line(x, Y + l * line_step, len, step, mean[l], r,
                       gamma ? gamma + (by_row ? l : 0) : nullptr, by_row ? 0 : 1,
                       beta ? beta + (by_row ? l : 0) : nullptr, by_row ? 0 : 1);
      }
    });
  }
  void normalize_backward(NormAxis axis, const T* X, const T* dY, Index rows, Index cols,
                          const T* mean, const T* var, bool batch_stats, double eps,
                          bool eps_outside, const T* gamma, T* dX, T* dgamma, T* dbeta) override {
    const bool by_row = axis == NormAxis::Batch;
    const Index n_lines = by_row ? rows : cols, len = by_row ? cols : rows;
    const Index step = by_row ? rows : 1, line_step = by_row ? 1 : rows;
    if (dgamma || dbeta)
      parallel_chunks(rows, 16, 3.0 * rows * cols, [&](Index begin, Index end) {
        for (Index r = begin; r < end; ++r)
          affine_grads_row(X + r, dY + r, cols, rows, by_row ? mean + r : mean,
                           by_row ? var + r : var, by_row ? 0 : 1, eps, eps_outside,
                           dgamma ? dgamma + r : nullptr, dbeta ? dbeta + r : nullptr);
      });
    if (!dX) return;
    parallel_chunks(n_lines, 16, 6.0 * rows * cols, [&](Index begin, Index end) {
      for (Index l = begin; l < end; ++l)
        normalize_line_backward(X + l * line_step, dY + l * line_step, dX + l * line_step, len,
                                step, mean[l], norm_inv_std(var[l], eps, eps_outside),
                                gamma ? gamma + (by_row ? l : 0) : nullptr, by_row ? 0 : 1,
                                batch_stats);
    });
  }
  void embedding_forward(const T* table, Index dim, Index vocab, const T* idx, Index L, Index cols,
                         T* out) override {
    for (Index j = 0; j < cols; ++j)
      for (Index k = 0; k < L; ++k) {
        const T v = idx[j * L + k];
        T* dst = out + (j * L + k) * dim;
        if (v >= T(0) && v < T(vocab))
          std::memcpy(dst, table + static_cast<Index>(v) * dim, sizeof(T) * dim);
        else
          std::fill(dst, dst + dim, T(0));
      }
  }
  void embedding_backward(const T* dOut, Index dim, Index vocab, const T* idx, Index L, Index cols,
                          T* dtable) override {
    std::fill(dtable, dtable + dim * vocab, T(0));
    for (Index j = 0; j < cols; ++j)
      for (Index k = 0; k < L; ++k) {
        const T v = idx[j * L + k];
        if (!(v >= T(0) && v < T(vocab))) continue;
        T* dst = dtable + static_cast<Index>(v) * dim;
        const T* src = dOut + (j * L + k) * dim;
        for (Index d = 0; d < dim; ++d) dst[d] += src[d];
      }
  }
  void permutation(std::int64_t* idx, Index n, std::uint64_t seed) override {
    Rng rng(seed);
    for (Index i = 0; i < n; ++i) idx[i] = i;
    for (Index i = n - 1; i > 0; --i)
      std::swap(idx[i], idx[rng.below(static_cast<std::uint64_t>(i + 1))]);
  }
  void gather_columns(const T* src, Index rows, const std::int64_t* idx, Index first, Index count,
                      T* dst) override {
    for (Index j = 0; j < count; ++j)
      std::memcpy(dst + j * rows, src + idx[first + j] * rows, sizeof(T) * rows);
  }
};

}  // namespace cpu

template <typename T>
std::unique_ptr<Backend<T>> make_cpu_backend() {
  return std::make_unique<cpu::CpuBackend<T>>();
}

template std::unique_ptr<Backend<float>> make_cpu_backend<float>();
template std::unique_ptr<Backend<double>> make_cpu_backend<double>();

}  // namespace eigennet
