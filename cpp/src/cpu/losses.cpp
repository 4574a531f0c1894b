// Loss and metric kernels of the CPU backend: the per-column formulas of eigennet/losses/column.h
// (shared with the CUDA backend) over the batch, in panels of samples.
#include "cpu/kernels.h"
#include "cpu/parallel.h"
#include "eigennet/losses/column.h"

namespace eigennet::cpu {

template <typename T>
void loss(const LossSpec& spec, const T* P, const T* Y, Index n_out, Index batch, T grad_scale,
          T* per_sample, T* grad) {
  const Index n_y = is_sparse(spec.kind) ? 1 : n_out;
  parallel_chunks(batch, kPanel, static_cast<double>(batch) * n_out * 8, [&](Index c0, Index c1) {
    for (Index j = c0; j < c1; ++j)
      per_sample[j] = losses::loss_column(spec, P, Y, n_out, n_y, j, grad_scale, grad);
  });
}

template <typename T>
void metric(MetricKind kind, const T* A, const T* Y, Index n_out, Index batch, T* per_sample) {
  for (Index j = 0; j < batch; ++j) per_sample[j] = losses::metric_column(kind, A, Y, n_out, j);
}

#define EIGENNET_INSTANTIATE(T)                                                        \
  template void loss<T>(const LossSpec&, const T*, const T*, Index, Index, T, T*, T*); \
  template void metric<T>(MetricKind, const T*, const T*, Index, Index, T*);
EIGENNET_INSTANTIATE(float)
EIGENNET_INSTANTIATE(double)
#undef EIGENNET_INSTANTIATE

}  // namespace eigennet::cpu
