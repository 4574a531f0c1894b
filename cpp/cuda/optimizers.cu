// Optimizer step and kernel regularisation of the CUDA backend: one kernel over the flat
// parameter buffer (the rules of eigennet/optimizer_rules.h, which the CPU backend runs too), and a
// two-pass penalty sum whose block count and order are fixed, so it is deterministic.
#include "cuda_check.cuh"
#include "eigennet/optimizer_rules.h"
#include "kernels.cuh"

namespace eigennet::cuda {
namespace {

template <typename T>
__global__ void optimizer_kernel(UpdateConsts<T> c, OptimizerDyn d, const OptimizerDyn* dyn,
                                 T* __restrict__ w, const T* __restrict__ g, T* __restrict__ s0,
                                 T* __restrict__ s1, T* __restrict__ s2, T* __restrict__ avg,
                                 Index n) {
  if (dyn) d = *dyn;
  // Cast as update_consts() casts them on the CPU.
  c.lr = static_cast<T>(d.lr);
  c.alpha = static_cast<T>(d.alpha);
  c.k1 = static_cast<T>(d.k1);
  c.k2 = static_cast<T>(d.k2);
  c.ema_m = static_cast<T>(d.ema_m);
  c.ema_overwrite = d.ema_overwrite != 0.0;
  for (Index i = static_cast<Index>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += static_cast<Index>(gridDim.x) * blockDim.x) {
    T wi = w[i];
    T a = s0 ? s0[i] : T(0), b = s1 ? s1[i] : T(0), e = s2 ? s2[i] : T(0);
    update_any(c, wi, g[i], a, b, e);
    if (avg) {
      T m = avg[i];
      ema_one(c, wi, m);
      avg[i] = m;
    }
    w[i] = wi;
    if (s0) s0[i] = a;
    if (s1) s1[i] = b;
    if (s2) s2[i] = e;
  }
}

constexpr int kReduceThreads = 256;

/// Sums part[0..kReduceThreads) of one block into part[0] by a fixed tree.
__device__ void block_tree(double* part) {
  for (int s = kReduceThreads / 2; s > 0; s /= 2) {
    if (static_cast<int>(threadIdx.x) < s) part[threadIdx.x] += part[threadIdx.x + s];
    __syncthreads();
  }
}

/// Pass 1 (kReduceBlocks blocks): grad += l1·sign(w) + 2·l2·w, and each block's Σ|w| and Σw²
/// into partials[block] and partials[kReduceBlocks + block].
template <typename T>
__global__ void regularize_kernel(const T* __restrict__ w, T* __restrict__ g, Index n, T tl1, T tl2,
                                  double* __restrict__ partials) {
  __shared__ double p1s[kReduceThreads], p2s[kReduceThreads];
  double p1 = 0, p2 = 0;
  for (Index i = static_cast<Index>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += static_cast<Index>(gridDim.x) * blockDim.x) {
    const T wi = w[i];
    if (g) g[i] += penalty_gradient(wi, tl1, tl2);
    p1 += std::abs(static_cast<double>(wi));
    p2 += static_cast<double>(wi) * wi;
  }
  p1s[threadIdx.x] = p1;
  p2s[threadIdx.x] = p2;
  __syncthreads();
  block_tree(p1s);
  block_tree(p2s);
  if (threadIdx.x == 0) {
    partials[blockIdx.x] = p1s[0];
    partials[kReduceBlocks + blockIdx.x] = p2s[0];
  }
}

/// Pass 2 (one block): *penalty += weight·(l1·Σ|w| + l2·Σw²) from the partial sums, in order.
__global__ void penalty_kernel(const double* __restrict__ partials, double l1, double l2,
                               double weight, double* penalty) {
  static_assert(kReduceBlocks == kReduceThreads, "one partial per thread");
  __shared__ double p1s[kReduceThreads], p2s[kReduceThreads];
  p1s[threadIdx.x] = partials[threadIdx.x];
  p2s[threadIdx.x] = partials[kReduceBlocks + threadIdx.x];
  __syncthreads();
  block_tree(p1s);
  block_tree(p2s);
  if (threadIdx.x == 0) *penalty += weight * (l1 * p1s[0] + l2 * p2s[0]);
}

/// Pass 2 of sum_squares (one block): *out = (add ? *out : 0) + Σw² from the partial sums.
__global__ void sum_squares_kernel(const double* __restrict__ partials, double* out, bool add) {
  __shared__ double p2s[kReduceThreads];
  p2s[threadIdx.x] = partials[kReduceBlocks + threadIdx.x];
  __syncthreads();
  block_tree(p2s);
  if (threadIdx.x == 0) *out = (add ? *out : 0.0) + p2s[0];
}

template <typename T>
__global__ void scale_to_norm_kernel(T* x, Index n, const double* sumsq, double clip) {
  const T scale = static_cast<T>(clip / fmax(sqrt(*sumsq), clip));
  for (Index i = static_cast<Index>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += static_cast<Index>(gridDim.x) * blockDim.x)
    x[i] *= scale;
}

/// One thread per line of a constrained weight (constrain_line).
template <typename T>
__global__ void constrain_kernel(Constraint c, T* w, Index outer, Index reduce, Index inner) {
  for (Index l = static_cast<Index>(blockIdx.x) * blockDim.x + threadIdx.x; l < outer * inner;
       l += static_cast<Index>(gridDim.x) * blockDim.x)
    constrain_line(c, w + (l / inner) * reduce * inner + l % inner, reduce, inner);
}

}  // namespace

template <typename T>
void constrain(const Constraint& c, T* w, Index outer, Index reduce, Index inner, cudaStream_t s) {
  constrain_kernel<T><<<blocks_for(outer * inner), kThreads, 0, s>>>(c, w, outer, reduce, inner);
  check_launch("constrain_kernel");
}

template <typename T>
void sum_squares(const T* x, Index n, double* out, bool add, double* partials, cudaStream_t s) {
  regularize_kernel<T>
      <<<kReduceBlocks, kReduceThreads, 0, s>>>(x, nullptr, n, T(0), T(0), partials);
  check_launch("regularize_kernel");
  sum_squares_kernel<<<1, kReduceThreads, 0, s>>>(partials, out, add);
  check_launch("sum_squares_kernel");
}

template <typename T>
void scale_to_norm(T* x, Index n, const double* sumsq, double clip, cudaStream_t s) {
  scale_to_norm_kernel<T><<<blocks_for(n), kThreads, 0, s>>>(x, n, sumsq, clip);
  check_launch("scale_to_norm_kernel");
}

template <typename T>
void optimizer_step(const UpdateConsts<T>& c, OptimizerDyn d, const OptimizerDyn* dyn, T* w,
                    const T* g, T* state, Index n, int n_slots, bool ema, cudaStream_t s) {
  optimizer_kernel<T><<<blocks_for(n), kThreads, 0, s>>>(
      c, d, dyn, w, g, n_slots > 0 ? state : nullptr, n_slots > 1 ? state + n : nullptr,
      n_slots > 2 ? state + 2 * n : nullptr, ema ? state + n_slots * n : nullptr, n);
  check_launch("optimizer_kernel");
}

template <typename T>
void regularize(const T* w, T* g, Index n, double l1, double l2, double weight, double* penalty,
                double* partials, cudaStream_t s) {
  regularize_kernel<T><<<kReduceBlocks, kReduceThreads, 0, s>>>(w, g, n, static_cast<T>(l1),
                                                                static_cast<T>(2.0 * l2), partials);
  check_launch("regularize_kernel");
  penalty_kernel<<<1, kReduceThreads, 0, s>>>(partials, l1, l2, weight, penalty);
  check_launch("penalty_kernel");
}

#define EIGENNET_INSTANTIATE(T)                                                                  \
  template void optimizer_step<T>(const UpdateConsts<T>&, OptimizerDyn, const OptimizerDyn*, T*, \
                                  const T*, T*, Index, int, bool, cudaStream_t);                 \
  template void regularize<T>(const T*, T*, Index, double, double, double, double*, double*,     \
                              cudaStream_t);                                                     \
  template void sum_squares<T>(const T*, Index, double*, bool, double*, cudaStream_t);           \
  template void scale_to_norm<T>(T*, Index, const double*, double, cudaStream_t);                \
  template void constrain<T>(const Constraint&, T*, Index, Index, Index, cudaStream_t);
EIGENNET_INSTANTIATE(float)
EIGENNET_INSTANTIATE(double)
#undef EIGENNET_INSTANTIATE

}  // namespace eigennet::cuda
