// Loss and metric kernels of the CPU backend: the per-column formulas of eigennet/losses/column.h
// (shared with the CUDA backend) over the batch, in panels of samples.
#include "cpu/kernels.h"
#include "cpu/parallel.h"
#include "eigennet/losses/column.h"
#include "eigennet/metrics.h"

namespace eigennet::cpu {

template <typename T>
void loss(const LossSpec& spec, const T* P, const T* Y, const T* class_alpha, Index n_out,
          Index batch, T grad_scale, T* per_sample, T* grad) {
  const Index n_y = is_sparse(spec.kind) ? 1 : n_out;
  parallel_chunks(batch, kPanel, static_cast<double>(batch) * n_out * 8, [&](Index c0, Index c1) {
    for (Index j = c0; j < c1; ++j)
      per_sample[j] = losses::loss_column(spec, P, Y, class_alpha, n_out, n_y, j, grad_scale, grad);
  });
}

template <typename T>
void accumulate_metric(const MetricSpec& spec, const T* thresholds, const T* A, const T* Y,
                       const T* w, Index n_out, Index batch, double* acc) {
  // Groups in parallel (AUC has hundreds), each one's samples in order: the sums never depend on
  // the thread count.
  const int S = metric_group_sums(spec);
  const Index groups = metric_groups(spec, n_out);
  parallel_chunks(groups, 1, static_cast<double>(groups) * batch * n_out * 4,
                  [&](Index g0, Index g1) {
                    for (Index g = g0; g < g1; ++g) {
                      double total[kMetricSums] = {}, c[kMetricSums];
                      for (Index j = 0; j < batch; ++j) {
                        metrics::contribution(spec, thresholds, A, Y, w, n_out, g, j, c);
                        for (int s = 0; s < S; ++s) total[s] += c[s];
                      }
                      for (int s = 0; s < S; ++s) acc[g * S + s] += total[s];
                    }
                  });
}

#define EIGENNET_INSTANTIATE(T)                                                                  \
  template void loss<T>(const LossSpec&, const T*, const T*, const T*, Index, Index, T, T*, T*); \
  template void accumulate_metric<T>(const MetricSpec&, const T*, const T*, const T*, const T*,  \
                                     Index, Index, double*);
EIGENNET_INSTANTIATE(float)
EIGENNET_INSTANTIATE(double)
#undef EIGENNET_INSTANTIATE

}  // namespace eigennet::cpu
