// Loss and metric kernels of the CUDA backend: one thread per sample column computes the loss
// value and, when asked, its gradient in the same pass (the fused loss kernel). The per-column
// formulas are the CPU backend's own (eigennet/losses/column.h), so the two agree to the rounding
// of exp and log; the conventions are documented in eigennet/losses.h.
#include "cuda_check.cuh"
#include "eigennet/activations.h"
#include "eigennet/losses.h"
#include "eigennet/losses/column.h"
#include "kernels.cuh"

namespace eigennet::cuda {
namespace {

using losses::loss_column;
using losses::metric_column;

__device__ inline Index first_sample() {
  return static_cast<Index>(blockIdx.x) * blockDim.x + threadIdx.x;
}
__device__ inline Index sample_stride() { return static_cast<Index>(gridDim.x) * blockDim.x; }

template <typename T>
__global__ void loss_kernel(LossSpec spec, const T* P, const T* Y, Index n_out, Index n_y,
                            Index batch, T grad_scale, T* per_sample, T* grad) {
  for (Index j = first_sample(); j < batch; j += sample_stride())
    per_sample[j] = loss_column(spec, P, Y, n_out, n_y, j, grad_scale, grad);
}

template <typename T>
__global__ void metric_kernel(MetricKind kind, const T* A, const T* Y, Index n_out, Index batch,
                              T* per_sample) {
  for (Index j = first_sample(); j < batch; j += sample_stride())
    per_sample[j] = metric_column(kind, A, Y, n_out, j);
}

constexpr int kSumThreads = 256;

/// *acc += weight * Σ over the block's threads of s, added by a fixed tree: the order never
/// depends on timing. Called by every thread of a kSumThreads block.
__device__ void add_block_sum(double s, double weight, double* acc) {
  __shared__ double part[kSumThreads];
  part[threadIdx.x] = s;
  __syncthreads();
  for (int w = kSumThreads / 2; w > 0; w /= 2) {
    if (static_cast<int>(threadIdx.x) < w) part[threadIdx.x] += part[threadIdx.x + w];
    __syncthreads();
  }
  if (threadIdx.x == 0) *acc += weight * part[0];
}

/// One block: thread t adds x[t], x[t + 256], ... in order, then a fixed tree adds the 256 sums.
template <typename T>
__global__ void sum_kernel(const T* __restrict__ x, Index n, double weight, double* acc) {
  double s = 0;
  for (Index i = threadIdx.x; i < n; i += kSumThreads) s += static_cast<double>(x[i]);
  add_block_sum(s, weight, acc);
}

/// One block: thread t computes samples t, t + 256, ... and adds their values in that order,
/// exactly as sum_kernel would after loss_kernel.
template <typename T>
__global__ void loss_sum_kernel(LossSpec spec, const T* P, const T* Y, Index n_out, Index n_y,
                                Index batch, T grad_scale, T* per_sample, T* grad, double weight,
                                double* acc) {
  double s = 0;
  for (Index j = threadIdx.x; j < batch; j += kSumThreads) {
    const T v = loss_column(spec, P, Y, n_out, n_y, j, grad_scale, grad);
    per_sample[j] = v;
    s += static_cast<double>(v);
  }
  add_block_sum(s, weight, acc);
}

template <typename T>
__global__ void metric_sum_kernel(MetricKind kind, const T* A, const T* Y, Index n_out, Index batch,
                                  T* per_sample, double weight, double* acc) {
  double s = 0;
  for (Index j = threadIdx.x; j < batch; j += kSumThreads) {
    const T v = metric_column(kind, A, Y, n_out, j);
    per_sample[j] = v;
    s += static_cast<double>(v);
  }
  add_block_sum(s, weight, acc);
}

constexpr int kSampleThreads = 128;

}  // namespace

template <typename T>
void loss(const LossSpec& spec, const T* P, const T* Y, Index n_out, Index batch, T grad_scale,
          T* per_sample, T* grad, cudaStream_t s) {
  loss_kernel<T><<<blocks_for(batch, kSampleThreads), kSampleThreads, 0, s>>>(
      spec, P, Y, n_out, is_sparse(spec.kind) ? 1 : n_out, batch, grad_scale, per_sample, grad);
  check_launch("loss_kernel");
}

template <typename T>
void metric(MetricKind kind, const T* A, const T* Y, Index n_out, Index batch, T* per_sample,
            cudaStream_t s) {
  metric_kernel<T><<<blocks_for(batch, kSampleThreads), kSampleThreads, 0, s>>>(kind, A, Y, n_out,
                                                                                batch, per_sample);
  check_launch("metric_kernel");
}

template <typename T>
void sum_into(const T* x, Index n, double weight, double* acc, cudaStream_t s) {
  sum_kernel<T><<<1, kSumThreads, 0, s>>>(x, n, weight, acc);
  check_launch("sum_kernel");
}

template <typename T>
void loss_sum(const LossSpec& spec, const T* P, const T* Y, Index n_out, Index batch, T grad_scale,
              T* per_sample, T* grad, double weight, double* acc, cudaStream_t s) {
  loss_sum_kernel<T><<<1, kSumThreads, 0, s>>>(spec, P, Y, n_out, is_sparse(spec.kind) ? 1 : n_out,
                                               batch, grad_scale, per_sample, grad, weight, acc);
  check_launch("loss_sum_kernel");
}

template <typename T>
void metric_sum(MetricKind kind, const T* A, const T* Y, Index n_out, Index batch, T* per_sample,
                double weight, double* acc, cudaStream_t s) {
  metric_sum_kernel<T><<<1, kSumThreads, 0, s>>>(kind, A, Y, n_out, batch, per_sample, weight, acc);
  check_launch("metric_sum_kernel");
}

#define EIGENNET_INSTANTIATE(T)                                                                   \
  template void loss<T>(const LossSpec&, const T*, const T*, Index, Index, T, T*, T*,             \
                        cudaStream_t);                                                            \
  template void metric<T>(MetricKind, const T*, const T*, Index, Index, T*, cudaStream_t);        \
  template void sum_into<T>(const T*, Index, double, double*, cudaStream_t);                      \
  template void loss_sum<T>(const LossSpec&, const T*, const T*, Index, Index, T, T*, T*, double, \
                            double*, cudaStream_t);                                               \
  template void metric_sum<T>(MetricKind, const T*, const T*, Index, Index, T*, double, double*,  \
                              cudaStream_t);
EIGENNET_INSTANTIATE(float)
EIGENNET_INSTANTIATE(double)
#undef EIGENNET_INSTANTIATE

}  // namespace eigennet::cuda
