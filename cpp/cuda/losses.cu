// Loss and metric kernels of the CUDA backend: one thread per sample column computes the loss
// value and, when asked, its gradient in the same pass (the fused loss kernel). The formulas and
// their order of operations are the CPU backend's (cpu/losses.cpp), so the two agree to rounding
// of exp and log; the conventions are documented in eigennet/losses.h.
#include "cuda_check.cuh"
#include "eigennet/activations.h"
#include "eigennet/losses.h"
#include "kernels.cuh"

namespace eigennet::cuda {
namespace {

template <typename T>
struct Column {
  const T* p;  // n prediction entries (probabilities or logits)
  const T* y;  // targets: n entries, or one integer label
  T* g;        // n gradient entries, or null
  Index n;
  T scale;  // gradient scale (1 / batch for a mean)
};

template <typename T>
__device__ T clip(T p) {
  return std::min(std::max(p, T(kEpsilon)), T(1) - T(kEpsilon));
}

/// log Σ exp(z_i), shifted by the maximum.
template <typename T>
__device__ T log_sum_exp(const T* z, Index n) {
  T m = z[0];
  for (Index i = 1; i < n; ++i) m = std::max(m, z[i]);
  T s = 0;
  for (Index i = 0; i < n; ++i) s += std::exp(z[i] - m);
  return m + std::log(s);
}

template <typename T>
__device__ T elementwise(LossKind kind, const Column<T>& c) {
  T total = 0;
  const T gs = c.scale / T(c.n);  // per-sample value is a mean over outputs
  for (Index i = 0; i < c.n; ++i) {
    const T p = c.p[i], y = c.y[i];
    T v = 0, g = 0;
    switch (kind) {
      case LossKind::MeanSquaredError:
        v = (p - y) * (p - y);
        g = T(2) * (p - y);
        break;
      case LossKind::MeanAbsoluteError:
        v = std::abs(p - y);
        g = p > y ? T(1) : (p < y ? T(-1) : T(0));
        break;
      case LossKind::BinaryCrossentropy: {
        const T pc = clip(p);
        v = -(y * std::log(pc) + (T(1) - y) * std::log(T(1) - pc));
        g = pc == p ? -(y / pc) + (T(1) - y) / (T(1) - pc) : T(0);  // clipping stops the gradient
        break;
      }
      default:  // BinaryCrossentropyLogits: max(z, 0) - z*y + log(1 + exp(-|z|))
        v = log1p_exp(p) - p * y;
        g = sigmoid(p) - y;
    }
    total += v;
    if (c.g) c.g[i] = gs * g;
  }
  return total / T(c.n);
}

/// Categorical cross-entropy on probabilities: q = p / Σp, clipped; L = -Σ y log q.
/// With g_j = dL/dq_j, dL/dp_i = (g_i - Σ_j g_j q_j) / Σp.
template <typename T>
__device__ T categorical_probs(const Column<T>& c, bool sparse) {
  T s = 0;
  for (Index i = 0; i < c.n; ++i) s += c.p[i];
  T total = 0, gq = 0;
  const Index label = sparse ? static_cast<Index>(c.y[0]) : -1;
  for (Index i = 0; i < c.n; ++i) {
    const T y = sparse ? T(i == label) : c.y[i];
    const T q = c.p[i] / s, qc = clip(q);
    total -= y * std::log(qc);
    const T g = (qc == q) ? -y / qc : T(0);
    gq += g * q;
    if (c.g) c.g[i] = g;  // dL/dq for now
  }
  if (c.g)
    for (Index i = 0; i < c.n; ++i) c.g[i] = c.scale * (c.g[i] - gq) / s;
  return total;
}

/// Categorical cross-entropy on logits: L = Σy · lse(z) - Σ y z; dL/dz = softmax(z) Σy - y.
template <typename T>
__device__ T categorical_logits(const Column<T>& c, bool sparse) {
  const T lse = log_sum_exp(c.p, c.n);
  const Index label = sparse ? static_cast<Index>(c.y[0]) : -1;
  T sum_y = 0, yz = 0;
  for (Index i = 0; i < c.n; ++i) {
    const T y = sparse ? T(i == label) : c.y[i];
    sum_y += y;
    yz += y * c.p[i];
  }
  if (c.g)
    for (Index i = 0; i < c.n; ++i)
      c.g[i] = c.scale * (std::exp(c.p[i] - lse) * sum_y - (sparse ? T(i == label) : c.y[i]));
  return sum_y * lse - yz;
}

template <typename T>
__device__ Index argmax(const T* p, Index n) {
  Index k = 0;
  for (Index i = 1; i < n; ++i)
    if (p[i] > p[k]) k = i;
  return k;
}

__device__ inline Index first_sample() {
  return static_cast<Index>(blockIdx.x) * blockDim.x + threadIdx.x;
}
__device__ inline Index sample_stride() { return static_cast<Index>(gridDim.x) * blockDim.x; }

/// Sample j's loss value; its gradient column too when grad is set.
template <typename T>
__device__ T loss_column(LossKind kind, const T* P, const T* Y, Index n_out, Index n_y, Index j,
                         T grad_scale, T* grad) {
  const Column<T> c{P + j * n_out, Y + j * n_y, grad ? grad + j * n_out : nullptr, n_out,
                    grad_scale};
  switch (kind) {
    case LossKind::CategoricalCrossentropy: return categorical_probs(c, false);
    case LossKind::SparseCategoricalCrossentropy: return categorical_probs(c, true);
    case LossKind::CategoricalCrossentropyLogits: return categorical_logits(c, false);
    case LossKind::SparseCategoricalCrossentropyLogits: return categorical_logits(c, true);
    default: return elementwise(kind, c);
  }
}

/// Sample j's metric value (1 or 0 for accuracies).
template <typename T>
__device__ T metric_column(MetricKind kind, const T* A, const T* Y, Index n_out, Index j) {
  const Index n_y = kind == MetricKind::SparseCategoricalAccuracy ? 1 : n_out;
  const T* p = A + j * n_out;
  const T* y = Y + j * n_y;
  T v = 0;
  switch (kind) {
    case MetricKind::BinaryAccuracy:
      for (Index i = 0; i < n_out; ++i) v += T((p[i] > T(0.5) ? T(1) : T(0)) == y[i]);
      v /= T(n_out);
      break;
    case MetricKind::CategoricalAccuracy: v = T(argmax(p, n_out) == argmax(y, n_out)); break;
    case MetricKind::SparseCategoricalAccuracy:
      v = T(argmax(p, n_out) == static_cast<Index>(y[0]));
      break;
    case MetricKind::MeanSquaredError:
      for (Index i = 0; i < n_out; ++i) v += (p[i] - y[i]) * (p[i] - y[i]);
      v /= T(n_out);
      break;
    case MetricKind::MeanAbsoluteError:
      for (Index i = 0; i < n_out; ++i) v += std::abs(p[i] - y[i]);
      v /= T(n_out);
      break;
  }
  return v;
}

template <typename T>
__global__ void loss_kernel(LossKind kind, const T* P, const T* Y, Index n_out, Index n_y,
                            Index batch, T grad_scale, T* per_sample, T* grad) {
  for (Index j = first_sample(); j < batch; j += sample_stride())
    per_sample[j] = loss_column(kind, P, Y, n_out, n_y, j, grad_scale, grad);
}

template <typename T>
__global__ void metric_kernel(MetricKind kind, const T* A, const T* Y, Index n_out, Index batch,
                              T* per_sample) {
  for (Index j = first_sample(); j < batch; j += sample_stride())
    per_sample[j] = metric_column(kind, A, Y, n_out, j);
}

constexpr int kSumThreads = 256;

/// One block: thread t adds x[t], x[t + 256], ... in order, then a fixed tree adds the 256 sums.
template <typename T>
__global__ void sum_kernel(const T* __restrict__ x, Index n, double weight, double* acc) {
  __shared__ double part[kSumThreads];
  double s = 0;
  for (Index i = threadIdx.x; i < n; i += kSumThreads) s += static_cast<double>(x[i]);
  part[threadIdx.x] = s;
  __syncthreads();
  for (int w = kSumThreads / 2; w > 0; w /= 2) {
    if (static_cast<int>(threadIdx.x) < w) part[threadIdx.x] += part[threadIdx.x + w];
    __syncthreads();
  }
  if (threadIdx.x == 0) *acc += weight * part[0];
}

/// One block: thread t computes samples t, t + 256, ... and adds their values in that order,
/// exactly as sum_kernel would after loss_kernel.
template <typename T>
__global__ void loss_sum_kernel(LossKind kind, const T* P, const T* Y, Index n_out, Index n_y,
                                Index batch, T grad_scale, T* per_sample, T* grad, double weight,
                                double* acc) {
  __shared__ double part[kSumThreads];
  double s = 0;
  for (Index j = threadIdx.x; j < batch; j += kSumThreads) {
    const T v = loss_column(kind, P, Y, n_out, n_y, j, grad_scale, grad);
    per_sample[j] = v;
    s += static_cast<double>(v);
  }
  part[threadIdx.x] = s;
  __syncthreads();
  for (int w = kSumThreads / 2; w > 0; w /= 2) {
    if (static_cast<int>(threadIdx.x) < w) part[threadIdx.x] += part[threadIdx.x + w];
    __syncthreads();
  }
  if (threadIdx.x == 0) *acc += weight * part[0];
}

template <typename T>
__global__ void metric_sum_kernel(MetricKind kind, const T* A, const T* Y, Index n_out, Index batch,
                                  T* per_sample, double weight, double* acc) {
  __shared__ double part[kSumThreads];
  double s = 0;
  for (Index j = threadIdx.x; j < batch; j += kSumThreads) {
    const T v = metric_column(kind, A, Y, n_out, j);
    per_sample[j] = v;
    s += static_cast<double>(v);
  }
  part[threadIdx.x] = s;
  __syncthreads();
  for (int w = kSumThreads / 2; w > 0; w /= 2) {
    if (static_cast<int>(threadIdx.x) < w) part[threadIdx.x] += part[threadIdx.x + w];
    __syncthreads();
  }
  if (threadIdx.x == 0) *acc += weight * part[0];
}

constexpr int kSampleThreads = 128;

}  // namespace

template <typename T>
void loss(LossKind kind, const T* P, const T* Y, Index n_out, Index batch, T grad_scale,
          T* per_sample, T* grad, cudaStream_t s) {
  loss_kernel<T><<<blocks_for(batch, kSampleThreads), kSampleThreads, 0, s>>>(
      kind, P, Y, n_out, is_sparse(kind) ? 1 : n_out, batch, grad_scale, per_sample, grad);
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
void loss_sum(LossKind kind, const T* P, const T* Y, Index n_out, Index batch, T grad_scale,
              T* per_sample, T* grad, double weight, double* acc, cudaStream_t s) {
  loss_sum_kernel<T><<<1, kSumThreads, 0, s>>>(kind, P, Y, n_out, is_sparse(kind) ? 1 : n_out,
                                               batch, grad_scale, per_sample, grad, weight, acc);
  check_launch("loss_sum_kernel");
}

template <typename T>
void metric_sum(MetricKind kind, const T* A, const T* Y, Index n_out, Index batch, T* per_sample,
                double weight, double* acc, cudaStream_t s) {
  metric_sum_kernel<T><<<1, kSumThreads, 0, s>>>(kind, A, Y, n_out, batch, per_sample, weight, acc);
  check_launch("metric_sum_kernel");
}

#define EIGENNET_INSTANTIATE(T)                                                                  \
  template void loss<T>(LossKind, const T*, const T*, Index, Index, T, T*, T*, cudaStream_t);    \
  template void metric<T>(MetricKind, const T*, const T*, Index, Index, T*, cudaStream_t);       \
  template void sum_into<T>(const T*, Index, double, double*, cudaStream_t);                     \
  template void loss_sum<T>(LossKind, const T*, const T*, Index, Index, T, T*, T*, double,       \
                            double*, cudaStream_t);                                              \
  template void metric_sum<T>(MetricKind, const T*, const T*, Index, Index, T*, double, double*, \
                              cudaStream_t);
EIGENNET_INSTANTIATE(float)
EIGENNET_INSTANTIATE(double)
#undef EIGENNET_INSTANTIATE

}  // namespace eigennet::cuda
