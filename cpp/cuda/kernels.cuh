#pragma once
// Kernels of the CUDA backend, as host functions that launch them on a stream. Shapes and maths
// are those of the matching Backend methods (eigennet/backend.h); every matrix is column-major.
//
// Kernels whose arguments change from step to step (gathers, dropout, optimizer) take them twice:
// by value, and as a pointer `dyn` into device memory. A captured step (step_graphs.cuh) passes
// the pointer, and the backend writes the new values there before each replay; a direct launch
// passes null and the by-value copy is used.
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>

#include "eigennet/config.h"
#include "eigennet/constraints.h"
#include "eigennet/metrics.h"
#include "eigennet/normalization.h"
#include "eigennet/optimizer.h"
#include "eigennet/optimizer_rules.h"

namespace eigennet::cuda {

/// Arguments of a gather that change between steps: the data sets, the order, the offset. src2
/// is null unless a batch's two gathers (inputs and targets) run as one kernel.
struct GatherDyn {
  const void* src;
  const void* src2;
  const std::int64_t* idx;
  std::int64_t first;
};
/// Dropout's stream: the layer seed and the step counter.
struct DropoutDyn {
  std::uint64_t seed, counter;
};
/// This step's values that change per step (optimizer_rules.h's StepValues), in double.
using OptimizerDyn = StepValues;
/// One slot of per-step arguments in device memory.
union DynSlot {
  GatherDyn gather;
  DropoutDyn dropout;
  OptimizerDyn optimizer;
  std::uint64_t words[6];
};
/// The most per-step arguments one captured step can have.
constexpr int kMaxDyn = 48;
struct DynBlock {
  DynSlot slot[kMaxDyn];
};
/// A step's per-step arguments, for the first kernel of the step to write to device memory
/// before the replayed graph reads them (saving a kernel of its own).
struct DynCarry {
  DynBlock block;
  int n;
  DynSlot* slots;
};

/// Threads per block of the element-wise kernels.
constexpr int kThreads = 256;

/// Blocks for n elements handled in a grid-stride loop.
inline unsigned blocks_for(Index n, int threads = kThreads) {
  const Index b = (n + threads - 1) / threads;
  return static_cast<unsigned>(std::max<Index>(1, std::min<Index>(b, Index(1) << 20)));
}

/// A 2-D launch over a (rows, cols) column-major matrix: x runs down a column (coalesced), y
/// over columns in a grid-stride loop.
struct ColumnGrid {
  dim3 grid, block;
};
inline ColumnGrid column_grid(Index rows, Index cols) {
  const unsigned bx = rows <= 32 ? 32 : rows <= 64 ? 64 : rows <= 128 ? 128 : 256;
  const unsigned by = kThreads / bx;
  const Index gx = (rows + bx - 1) / bx;
  const Index gy = std::min<Index>((cols + by - 1) / by, 65535);
  return {dim3(static_cast<unsigned>(gx), static_cast<unsigned>(gy)), dim3(bx, by)};
}

// dense.cu
/// After Z = W·X: Z += b (b may be null), A = g(Z) (A may equal Z only for Linear).
template <typename T>
void bias_activation(const T* b, T* Z, T* A, Index rows, Index cols, ActivationSpec act,
                     cudaStream_t s);
template <typename T>
void activation_forward(ActivationSpec act, const T* Z, T* A, Index rows, Index cols,
                        cudaStream_t s);
template <typename T>
void activation_backward(ActivationSpec act, const T* Z, const T* A, const T* dA, T* dZ, Index rows,
                         Index cols, cudaStream_t s);
/// out(i) = Σ_j M(i, j), each row summed in a fixed order. M is (rows, cols).
template <typename T>
void row_sums(const T* M, Index rows, Index cols, T* out, cudaStream_t s);
/// activation_backward for an element-wise activation, and db = Σ_columns dZ in the same pass
/// (the order of row_sums).
template <typename T>
void activation_backward_row_sums(ActivationSpec act, const T* Z, const T* A, const T* dA, T* dZ,
                                  Index rows, Index cols, T* db, cudaStream_t s);

// losses.cu
template <typename T>
void loss(const LossSpec& spec, const T* P, const T* Y, const T* class_alpha, Index n_out,
          Index batch, T grad_scale, T* per_sample, T* grad, cudaStream_t s);
/// Backend::accumulate_metric: one block per group of sums.
template <typename T>
void accumulate_metric(const MetricSpec& spec, const T* thresholds, const T* A, const T* Y,
                       const T* w, Index n_out, Index batch, double* acc, cudaStream_t s);
/// *acc += weight · Σ x in double, in a fixed order (one block).
template <typename T>
void sum_into(const T* x, Index n, double weight, double* acc, cudaStream_t s);
/// loss(), then sum_into(per_sample, batch, weight, acc), as one single-block kernel.
template <typename T>
void loss_sum(const LossSpec& spec, const T* P, const T* Y, const T* class_alpha, Index n_out,
              Index batch, T grad_scale, T* per_sample, T* grad, double weight, double* acc,
              cudaStream_t s);

// optimizers.cu
/// One step over n parameters; state holds n_slots arrays of n. c's lr and alpha come from d
/// (or dyn, a replayed step's own).
template <typename T>
void optimizer_step(const UpdateConsts<T>& c, OptimizerDyn d, const OptimizerDyn* dyn, T* w,
                    const T* g, T* state, Index n, int n_slots, bool ema, cudaStream_t s);
/// Blocks of regularize's first pass: its partial sums need 2·kReduceBlocks doubles.
constexpr int kReduceBlocks = 256;
template <typename T>
void regularize(const T* w, T* g, Index n, double l1, double l2, double weight, double* penalty,
                double* partials, cudaStream_t s);
/// Backend::sum_squares through regularize's first pass (partials as there), then one block.
template <typename T>
void sum_squares(const T* x, Index n, double* out, bool add, double* partials, cudaStream_t s);
/// Backend::scale_to_norm.
template <typename T>
void scale_to_norm(T* x, Index n, const double* sumsq, double clip, cudaStream_t s);
/// Backend::constrain.
template <typename T>
void constrain(const Constraint& c, T* w, Index outer, Index reduce, Index inner, cudaStream_t s);

// data.cu
template <typename T>
void fill(T* dst, Index n, T value, cudaStream_t s);
template <typename T>
void multiply(const T* a, const T* b, T* out, Index n, cudaStream_t s);
template <typename T>
void dropout(const T* in, T* out, T* mask, Index n, double rate, T keep_scale, DropoutDyn d,
             const DropoutDyn* dyn, cudaStream_t s);
/// dst(:, j) = src(:, idx[first + j]) for j < count, src (rows, *) and dst (rows, count); the
/// same from src2 into dst2 with rows2 rows when rows2 > 0. With `carry` (by-value arguments
/// only) the kernel also writes the step's per-step arguments.
template <typename T>
void gather_columns(GatherDyn d, const GatherDyn* dyn, Index rows, Index rows2, Index count, T* dst,
                    T* dst2, const DynCarry* carry, cudaStream_t s);
/// Scratch of permutation() for n items.
struct SortScratch {
  std::uint64_t* keys = nullptr;      // n
  std::uint64_t* keys_out = nullptr;  // n
  std::int64_t* values = nullptr;     // n
  void* temp = nullptr;
  std::size_t temp_bytes = 0;
};
/// Bytes of CUB temporary storage permutation() needs for n items.
std::size_t permutation_temp_bytes(Index n);
/// idx = the order that sorts the distinct keys mix64(mix64(seed) + i): a permutation of 0..n-1,
/// the same for the same seed and n on every GPU.
void permutation(std::int64_t* idx, Index n, std::uint64_t seed, const SortScratch& scratch,
                 cudaStream_t s);
// layers.cu: the operations of Backend with the same names and shapes.
template <typename T>
void axpby(Index n, T a, const T* x, T b, T* y, cudaStream_t s);
template <typename T>
void extremum(bool maximum, const T* a, const T* b, T* out, T* mask, Index n, cudaStream_t s);
template <typename T>
void copy_rows(const T* src, Index src_rows, Index src_row, T* dst, Index dst_rows, Index dst_row,
               Index n_rows, Index cols, cudaStream_t s);
template <typename T>
void scale_columns(T* M, Index rows, Index cols, const T* w, cudaStream_t s);
/// Normal noise from (seed, counter), read from dyn when given (a replayed step's own).
template <typename T>
void normal_fill(T* out, Index n, double mean, double stddev, DropoutDyn d, const DropoutDyn* dyn,
                 cudaStream_t s);
template <typename T>
void normalize_forward(NormAxis axis, const T* X, Index rows, Index cols, T* mean, T* var,
                       bool compute_stats, double eps, bool eps_outside, const T* gamma,
                       const T* beta, T* Y, cudaStream_t s);
template <typename T>
void normalize_backward(NormAxis axis, const T* X, const T* dY, Index rows, Index cols,
                        const T* mean, const T* var, bool batch_stats, double eps, bool eps_outside,
                        const T* gamma, T* dX, T* dgamma, T* dbeta, cudaStream_t s);
template <typename T>
void embedding_forward(const T* table, Index dim, Index vocab, const T* idx, Index L, Index cols,
                       T* out, cudaStream_t s);
template <typename T>
void embedding_backward(const T* dOut, Index dim, Index vocab, const T* idx, Index L, Index cols,
                        T* dtable, cudaStream_t s);

/// Writes n slots of per-step arguments to device memory before a replay.
void set_dyn(const DynBlock& block, int n, DynSlot* dst, cudaStream_t s);
/// Launches an empty kernel and waits: false when this build's code cannot run on the GPU.
bool probe_kernel();

}  // namespace eigennet::cuda
