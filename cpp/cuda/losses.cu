// Loss and metric kernels of the CUDA backend: one thread per sample column computes the loss
// value and, when asked, its gradient in the same pass (the fused loss kernel); a metric's sums
// are one block per group. The per-column
// formulas are the CPU backend's own (eigennet/losses/column.h), so the two agree to the rounding
// of exp and log; the conventions are documented in eigennet/losses.h.
#include <climits>
#include <stdexcept>

#include "cuda_check.cuh"
#include "eigennet/activations.h"
#include "eigennet/losses.h"
#include "eigennet/losses/column.h"
#include "eigennet/metrics.h"
#include "kernels.cuh"

namespace eigennet::cuda {
namespace {

using losses::loss_column;

__device__ inline Index first_sample() {
  return static_cast<Index>(blockIdx.x) * blockDim.x + threadIdx.x;
}
__device__ inline Index sample_stride() { return static_cast<Index>(gridDim.x) * blockDim.x; }

template <typename T>
__global__ void loss_kernel(LossSpec spec, const T* P, const T* Y, const T* class_alpha,
                            Index n_out, Index n_y, Index batch, T grad_scale, T* per_sample,
                            T* grad) {
  for (Index j = first_sample(); j < batch; j += sample_stride())
    per_sample[j] = loss_column(spec, P, Y, class_alpha, n_out, n_y, j, grad_scale, grad);
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
__global__ void loss_sum_kernel(LossSpec spec, const T* P, const T* Y, const T* class_alpha,
                                Index n_out, Index n_y, Index batch, T grad_scale, T* per_sample,
                                T* grad, double weight, double* acc) {
  double s = 0;
  for (Index j = threadIdx.x; j < batch; j += kSumThreads) {
    const T v = loss_column(spec, P, Y, class_alpha, n_out, n_y, j, grad_scale, grad);
    per_sample[j] = v;
    s += static_cast<double>(v);
  }
  add_block_sum(s, weight, acc);
}

/// Block g: thread t adds the contributions of samples t, t + 256, ... to group g's sums in
/// order, then a fixed tree adds the threads' sums of each.
template <typename T>
__global__ void accumulate_metric_kernel(MetricSpec spec, const T* thresholds, const T* A,
                                         const T* Y, const T* w, Index n_out, Index batch,
                                         double* acc) {
  const Index g = blockIdx.x;
  const int S = metric_group_sums(spec);
  double total[kMetricSums] = {}, c[kMetricSums];
  for (Index j = threadIdx.x; j < batch; j += kSumThreads) {
    metrics::contribution(spec, thresholds, A, Y, w, n_out, g, j, c);
    for (int k = 0; k < S; ++k) total[k] += c[k];
  }
  for (int k = 0; k < S; ++k) {
    __syncthreads();  // the previous sum's tree is read before the next one overwrites it
    add_block_sum(total[k], 1.0, acc + g * S + k);
  }
}

constexpr int kSampleThreads = 128;

}  // namespace

template <typename T>
void loss(const LossSpec& spec, const T* P, const T* Y, const T* class_alpha, Index n_out,
          Index batch, T grad_scale, T* per_sample, T* grad, cudaStream_t s) {
  loss_kernel<T><<<blocks_for(batch, kSampleThreads), kSampleThreads, 0, s>>>(
      spec, P, Y, class_alpha, n_out, is_sparse(spec.kind) ? 1 : n_out, batch, grad_scale,
      per_sample, grad);
  check_launch("loss_kernel");
}

template <typename T>
void accumulate_metric(const MetricSpec& spec, const T* thresholds, const T* A, const T* Y,
                       const T* w, Index n_out, Index batch, double* acc, cudaStream_t s) {
  const Index groups = metric_groups(spec, n_out);
  if (groups > INT_MAX) throw std::length_error("A metric has more groups than CUDA blocks.");
  accumulate_metric_kernel<T><<<static_cast<unsigned>(groups), kSumThreads, 0, s>>>(
      spec, thresholds, A, Y, w, n_out, batch, acc);
  check_launch("accumulate_metric_kernel");
}

template <typename T>
void sum_into(const T* x, Index n, double weight, double* acc, cudaStream_t s) {
  sum_kernel<T><<<1, kSumThreads, 0, s>>>(x, n, weight, acc);
  check_launch("sum_kernel");
}

template <typename T>
void loss_sum(const LossSpec& spec, const T* P, const T* Y, const T* class_alpha, Index n_out,
              Index batch, T grad_scale, T* per_sample, T* grad, double weight, double* acc,
              cudaStream_t s) {
  loss_sum_kernel<T><<<1, kSumThreads, 0, s>>>(spec, P, Y, class_alpha, n_out,
                                               is_sparse(spec.kind) ? 1 : n_out, batch, grad_scale,
                                               per_sample, grad, weight, acc);
  check_launch("loss_sum_kernel");
}

#define EIGENNET_INSTANTIATE(T)                                                                 \
  template void loss<T>(const LossSpec&, const T*, const T*, const T*, Index, Index, T, T*, T*, \
                        cudaStream_t);                                                          \
  template void accumulate_metric<T>(const MetricSpec&, const T*, const T*, const T*, const T*, \
                                     Index, Index, double*, cudaStream_t);                      \
  template void sum_into<T>(const T*, Index, double, double*, cudaStream_t);                    \
  template void loss_sum<T>(const LossSpec&, const T*, const T*, const T*, Index, Index, T, T*, \
                            T*, double, double*, cudaStream_t);
EIGENNET_INSTANTIATE(float)
EIGENNET_INSTANTIATE(double)
#undef EIGENNET_INSTANTIATE

}  // namespace eigennet::cuda
