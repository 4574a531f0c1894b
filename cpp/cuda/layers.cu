// Kernels of the layers beyond Dense: element-wise sums, row copies, per-column scaling, normal
// noise, normalisation (the line formulas of eigennet/normalization.h, one thread per line) and
// embedding lookups. Every sum runs in a fixed order, so results are the same on every run.
#include "cuda_check.cuh"
#include "eigennet/normalization.h"
#include "eigennet/rng.h"
#include "kernels.cuh"

namespace eigennet::cuda {
namespace {

__device__ inline Index thread_index() {
  return static_cast<Index>(blockIdx.x) * blockDim.x + threadIdx.x;
}
__device__ inline Index thread_stride() { return static_cast<Index>(gridDim.x) * blockDim.x; }

template <typename T>
__global__ void axpby_kernel(Index n, T a, const T* x, T b, T* y) {
  for (Index i = thread_index(); i < n; i += thread_stride())
    y[i] = b == T(0) ? a * x[i] : a * x[i] + b * y[i];
}

template <typename T>
__global__ void extremum_kernel(bool maximum, const T* a, const T* b, T* out, T* mask, Index n) {
  for (Index i = thread_index(); i < n; i += thread_stride()) {
    const bool take_a = maximum ? a[i] >= b[i] : a[i] <= b[i];
    out[i] = take_a ? a[i] : b[i];
    mask[i] = take_a ? T(1) : T(0);
  }
}

template <typename T>
__global__ void copy_rows_kernel(const T* src, Index src_rows, Index src_row, T* dst,
                                 Index dst_rows, Index dst_row, Index n_rows, Index cols) {
  const Index n = n_rows * cols;
  for (Index i = thread_index(); i < n; i += thread_stride()) {
    const Index r = i % n_rows, j = i / n_rows;
    dst[j * dst_rows + dst_row + r] = src[j * src_rows + src_row + r];
  }
}

template <typename T>
__global__ void scale_columns_kernel(T* M, Index rows, Index cols, const T* w) {
  for (Index i = thread_index(); i < rows * cols; i += thread_stride()) M[i] *= w[i / rows];
}

template <typename T>
__global__ void normal_kernel(T* out, Index n, double mean, double stddev, DropoutDyn d,
                              const DropoutDyn* dyn) {
  if (dyn) d = *dyn;
  const std::uint64_t seed = d.seed, counter = d.counter;
  for (Index i = thread_index(); i < n; i += thread_stride())
    out[i] = static_cast<T>(mean + stddev * hashed_normal(seed, counter, std::uint64_t(i)));
}

struct Lines {
  Index n_lines, len, step, line_step;
  bool by_row;
};

Lines lines_of(NormAxis axis, Index rows, Index cols) {
  const bool by_row = axis == NormAxis::Batch;
  return {by_row ? rows : cols, by_row ? cols : rows, by_row ? rows : 1, by_row ? 1 : rows, by_row};
}

template <typename T>
__global__ void normalize_kernel(Lines L, const T* X, T* mean, T* var, bool compute_stats,
                                 double eps, bool eps_outside, const T* gamma, const T* beta,
                                 T* Y) {
  for (Index l = thread_index(); l < L.n_lines; l += thread_stride()) {
    const T* x = X + l * L.line_step;
    if (compute_stats) line_moments(x, L.len, L.step, mean + l, var + l);
    const T r = norm_inv_std(var[l], eps, eps_outside);
    normalize_line(x, Y + l * L.line_step, L.len, L.step, mean[l], r,
                   gamma ? gamma + (L.by_row ? l : 0) : nullptr, L.by_row ? 0 : 1,
                   beta ? beta + (L.by_row ? l : 0) : nullptr, L.by_row ? 0 : 1);
  }
}

template <typename T>
__global__ void normalize_backward_kernel(Lines L, const T* X, const T* dY, const T* mean,
                                          const T* var, bool batch_stats, double eps,
                                          bool eps_outside, const T* gamma, T* dX) {
  for (Index l = thread_index(); l < L.n_lines; l += thread_stride())
    normalize_line_backward(X + l * L.line_step, dY + l * L.line_step, dX + l * L.line_step, L.len,
                            L.step, mean[l], norm_inv_std(var[l], eps, eps_outside),
                            gamma ? gamma + (L.by_row ? l : 0) : nullptr, L.by_row ? 0 : 1,
                            batch_stats);
}

template <typename T>
__global__ void affine_grads_kernel(bool by_row, const T* X, const T* dY, Index rows, Index cols,
                                    const T* mean, const T* var, double eps, bool eps_outside,
                                    T* dgamma, T* dbeta) {
  for (Index r = thread_index(); r < rows; r += thread_stride())
    affine_grads_row(X + r, dY + r, cols, rows, by_row ? mean + r : mean, by_row ? var + r : var,
                     by_row ? 0 : 1, eps, eps_outside, dgamma ? dgamma + r : nullptr,
                     dbeta ? dbeta + r : nullptr);
}

template <typename T>
__global__ void embedding_kernel(const T* table, Index dim, Index vocab, const T* idx, Index L,
                                 Index cols, T* out) {
  const Index n = dim * L * cols;
  for (Index i = thread_index(); i < n; i += thread_stride()) {
    const Index d = i % dim, slot = i / dim;  // slot = j·L + k
    const T v = idx[slot];
    out[i] = v >= T(0) && v < T(vocab) ? table[static_cast<Index>(v) * dim + d] : T(0);
  }
}

// One thread per table element, summing its contributions in (j, k) order: deterministic.
template <typename T>
__global__ void embedding_backward_kernel(const T* dOut, Index dim, Index vocab, const T* idx,
                                          Index L, Index cols, T* dtable) {
  for (Index i = thread_index(); i < dim * vocab; i += thread_stride()) {
    const Index d = i % dim, row = i / dim;
    T s = 0;
    for (Index slot = 0; slot < L * cols; ++slot)
      if (idx[slot] == T(row)) s += dOut[slot * dim + d];
    dtable[i] = s;
  }
}

}  // namespace

template <typename T>
void axpby(Index n, T a, const T* x, T b, T* y, cudaStream_t s) {
  axpby_kernel<T><<<blocks_for(n), kThreads, 0, s>>>(n, a, x, b, y);
  check_launch("axpby_kernel");
}
template <typename T>
void extremum(bool maximum, const T* a, const T* b, T* out, T* mask, Index n, cudaStream_t s) {
  extremum_kernel<T><<<blocks_for(n), kThreads, 0, s>>>(maximum, a, b, out, mask, n);
  check_launch("extremum_kernel");
}
template <typename T>
void copy_rows(const T* src, Index src_rows, Index src_row, T* dst, Index dst_rows, Index dst_row,
               Index n_rows, Index cols, cudaStream_t s) {
  copy_rows_kernel<T><<<blocks_for(n_rows * cols), kThreads, 0, s>>>(
      src, src_rows, src_row, dst, dst_rows, dst_row, n_rows, cols);
  check_launch("copy_rows_kernel");
}
template <typename T>
void scale_columns(T* M, Index rows, Index cols, const T* w, cudaStream_t s) {
  scale_columns_kernel<T><<<blocks_for(rows * cols), kThreads, 0, s>>>(M, rows, cols, w);
  check_launch("scale_columns_kernel");
}
template <typename T>
void normal_fill(T* out, Index n, double mean, double stddev, DropoutDyn d, const DropoutDyn* dyn,
                 cudaStream_t s) {
  normal_kernel<T><<<blocks_for(n), kThreads, 0, s>>>(out, n, mean, stddev, d, dyn);
  check_launch("normal_kernel");
}
template <typename T>
void normalize_forward(NormAxis axis, const T* X, Index rows, Index cols, T* mean, T* var,
                       bool compute_stats, double eps, bool eps_outside, const T* gamma,
                       const T* beta, T* Y, cudaStream_t s) {
  const Lines L = lines_of(axis, rows, cols);
  normalize_kernel<T><<<blocks_for(L.n_lines), kThreads, 0, s>>>(L, X, mean, var, compute_stats,
                                                                 eps, eps_outside, gamma, beta, Y);
  check_launch("normalize_kernel");
}
template <typename T>
void normalize_backward(NormAxis axis, const T* X, const T* dY, Index rows, Index cols,
                        const T* mean, const T* var, bool batch_stats, double eps, bool eps_outside,
                        const T* gamma, T* dX, T* dgamma, T* dbeta, cudaStream_t s) {
  const Lines L = lines_of(axis, rows, cols);
  if (dgamma || dbeta) {
    affine_grads_kernel<T><<<blocks_for(rows), kThreads, 0, s>>>(
        L.by_row, X, dY, rows, cols, mean, var, eps, eps_outside, dgamma, dbeta);
    check_launch("affine_grads_kernel");
  }
  if (!dX) return;
  normalize_backward_kernel<T><<<blocks_for(L.n_lines), kThreads, 0, s>>>(
      L, X, dY, mean, var, batch_stats, eps, eps_outside, gamma, dX);
  check_launch("normalize_backward_kernel");
}
template <typename T>
void embedding_forward(const T* table, Index dim, Index vocab, const T* idx, Index L, Index cols,
                       T* out, cudaStream_t s) {
  embedding_kernel<T>
      <<<blocks_for(dim * L * cols), kThreads, 0, s>>>(table, dim, vocab, idx, L, cols, out);
  check_launch("embedding_kernel");
}
template <typename T>
void embedding_backward(const T* dOut, Index dim, Index vocab, const T* idx, Index L, Index cols,
                        T* dtable, cudaStream_t s) {
  embedding_backward_kernel<T>
      <<<blocks_for(dim * vocab), kThreads, 0, s>>>(dOut, dim, vocab, idx, L, cols, dtable);
  check_launch("embedding_backward_kernel");
}

#define EIGENNET_INSTANTIATE(T)                                                                    \
  template void axpby<T>(Index, T, const T*, T, T*, cudaStream_t);                                 \
  template void extremum<T>(bool, const T*, const T*, T*, T*, Index, cudaStream_t);                \
  template void copy_rows<T>(const T*, Index, Index, T*, Index, Index, Index, Index,               \
                             cudaStream_t);                                                        \
  template void scale_columns<T>(T*, Index, Index, const T*, cudaStream_t);                        \
  template void normal_fill<T>(T*, Index, double, double, DropoutDyn, const DropoutDyn*,           \
                               cudaStream_t);                                                      \
  template void normalize_forward<T>(NormAxis, const T*, Index, Index, T*, T*, bool, double, bool, \
                                     const T*, const T*, T*, cudaStream_t);                        \
  template void normalize_backward<T>(NormAxis, const T*, const T*, Index, Index, const T*,        \
                                      const T*, bool, double, bool, const T*, T*, T*, T*,          \
                                      cudaStream_t);                                               \
  template void embedding_forward<T>(const T*, Index, Index, const T*, Index, Index, T*,           \
                                     cudaStream_t);                                                \
  template void embedding_backward<T>(const T*, Index, Index, const T*, Index, Index, T*,          \
                                      cudaStream_t);
EIGENNET_INSTANTIATE(float)
EIGENNET_INSTANTIATE(double)
#undef EIGENNET_INSTANTIATE

}  // namespace eigennet::cuda
