// Data-movement kernels of the CUDA backend: fill, element-wise product, dropout masks from the
// counter-based hash shared with the CPU (eigennet/rng.h), column gathers for shuffled batches,
// and the shuffle itself: a radix sort of hashed keys (CUB), fully on the device.
#include <climits>
#include <cub/device/device_radix_sort.cuh>

#include "cuda_check.cuh"
#include "eigennet/rng.h"
#include "kernels.cuh"

namespace eigennet::cuda {
namespace {

__device__ inline Index first_index() {
  return static_cast<Index>(blockIdx.x) * blockDim.x + threadIdx.x;
}
__device__ inline Index index_stride() { return static_cast<Index>(gridDim.x) * blockDim.x; }

template <typename T>
__global__ void fill_kernel(T* dst, Index n, T value) {
  for (Index i = first_index(); i < n; i += index_stride()) dst[i] = value;
}

template <typename T>
__global__ void multiply_kernel(const T* a, const T* b, T* out, Index n) {
  for (Index i = first_index(); i < n; i += index_stride()) out[i] = a[i] * b[i];
}

/// mask = (u >= rate) · 1/(1 - rate) with u = hashed_uniform(seed, counter, i); out = in ⊙ mask.
template <typename T>
__global__ void dropout_kernel(const T* in, T* out, T* mask, Index n, double rate, T keep_scale,
                               DropoutDyn d, const DropoutDyn* dyn) {
  if (dyn) d = *dyn;
  for (Index i = first_index(); i < n; i += index_stride()) {
    const T m = hashed_uniform(d.seed, d.counter, static_cast<std::uint64_t>(i)) >= rate
                    ? keep_scale
                    : T(0);
    mask[i] = m;
    out[i] = in[i] * m;
  }
}

/// Rows [0, rows) of each column come from src into dst, rows [rows, rows + rows2) from src2
/// into dst2: one launch for a batch's inputs and targets.
template <typename T>
__device__ void gather(const GatherDyn& d, Index rows, Index rows2, Index count, T* dst, T* dst2) {
  Index r = static_cast<Index>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (r >= rows + rows2) return;
  const T* src = static_cast<const T*>(d.src);
  Index n = rows;
  if (r >= rows) {
    r -= rows;
    n = rows2;
    src = static_cast<const T*>(d.src2);
    dst = dst2;
  }
  for (Index j = static_cast<Index>(blockIdx.y) * blockDim.y + threadIdx.y; j < count;
       j += static_cast<Index>(gridDim.y) * blockDim.y)
    dst[j * n + r] = src[d.idx[d.first + j] * n + r];
}

template <typename T>
__global__ void gather_kernel(GatherDyn d, const GatherDyn* dyn, Index rows, Index rows2,
                              Index count, T* dst, T* dst2) {
  if (dyn) d = *dyn;
  gather(d, rows, rows2, count, dst, dst2);
}

/// The gather that opens a replayed step, which also writes the step's per-step arguments.
template <typename T>
__global__ void gather_carry_kernel(GatherDyn d, Index rows, Index rows2, Index count, T* dst,
                                    T* dst2, DynCarry carry) {
  if (blockIdx.x == 0 && blockIdx.y == 0) {
    const int t = threadIdx.y * blockDim.x + threadIdx.x;
    if (t < carry.n) carry.slots[t] = carry.block.slot[t];
  }
  gather(d, rows, rows2, count, dst, dst2);
}

/// keys[i] = mix64(base + i): distinct for distinct i, since mix64 is a bijection.
__global__ void shuffle_keys_kernel(std::uint64_t* keys, std::int64_t* values, Index n,
                                    std::uint64_t base) {
  for (Index i = first_index(); i < n; i += index_stride()) {
    keys[i] = mix64(base + static_cast<std::uint64_t>(i));
    values[i] = i;
  }
}

__global__ void set_dyn_kernel(DynBlock block, int n, DynSlot* dst) {
  for (int i = threadIdx.x; i < n; i += blockDim.x) dst[i] = block.slot[i];
}

__global__ void probe_kernel_fn() {}

int sort_items(Index n) {
  if (n > INT_MAX) throw std::length_error("Cannot shuffle more than 2^31 - 1 samples on a GPU.");
  return static_cast<int>(n);
}

}  // namespace

template <typename T>
void fill(T* dst, Index n, T value, cudaStream_t s) {
  fill_kernel<T><<<blocks_for(n), kThreads, 0, s>>>(dst, n, value);
  check_launch("fill_kernel");
}

template <typename T>
void multiply(const T* a, const T* b, T* out, Index n, cudaStream_t s) {
  multiply_kernel<T><<<blocks_for(n), kThreads, 0, s>>>(a, b, out, n);
  check_launch("multiply_kernel");
}

template <typename T>
void dropout(const T* in, T* out, T* mask, Index n, double rate, T keep_scale, DropoutDyn d,
             const DropoutDyn* dyn, cudaStream_t s) {
  dropout_kernel<T><<<blocks_for(n), kThreads, 0, s>>>(in, out, mask, n, rate, keep_scale, d, dyn);
  check_launch("dropout_kernel");
}

template <typename T>
void gather_columns(GatherDyn d, const GatherDyn* dyn, Index rows, Index rows2, Index count, T* dst,
                    T* dst2, const DynCarry* carry, cudaStream_t s) {
  static_assert(kMaxDyn <= kThreads, "one thread per carried slot");
  const ColumnGrid g = column_grid(rows + rows2, count);
  if (carry) {
    gather_carry_kernel<T><<<g.grid, g.block, 0, s>>>(d, rows, rows2, count, dst, dst2, *carry);
    check_launch("gather_carry_kernel");
  } else {
    gather_kernel<T><<<g.grid, g.block, 0, s>>>(d, dyn, rows, rows2, count, dst, dst2);
    check_launch("gather_kernel");
  }
}

std::size_t permutation_temp_bytes(Index n) {
  std::size_t bytes = 0;
  check(cub::DeviceRadixSort::SortPairs(nullptr, bytes, static_cast<const std::uint64_t*>(nullptr),
                                        static_cast<std::uint64_t*>(nullptr),
                                        static_cast<const std::int64_t*>(nullptr),
                                        static_cast<std::int64_t*>(nullptr), sort_items(n)),
        "cub::DeviceRadixSort::SortPairs");
  return bytes;
}

void permutation(std::int64_t* idx, Index n, std::uint64_t seed, const SortScratch& scratch,
                 cudaStream_t s) {
  shuffle_keys_kernel<<<blocks_for(n), kThreads, 0, s>>>(scratch.keys, scratch.values, n,
                                                         mix64(seed));
  check_launch("shuffle_keys_kernel");
  std::size_t bytes = scratch.temp_bytes;
  check(cub::DeviceRadixSort::SortPairs(scratch.temp, bytes, scratch.keys, scratch.keys_out,
                                        scratch.values, idx, sort_items(n), 0, 64, s),
        "cub::DeviceRadixSort::SortPairs");
}

void set_dyn(const DynBlock& block, int n, DynSlot* dst, cudaStream_t s) {
  set_dyn_kernel<<<1, 64, 0, s>>>(block, n, dst);
  check_launch("set_dyn_kernel");
}

bool probe_kernel() {
  probe_kernel_fn<<<1, 1>>>();
  const bool ok = cudaGetLastError() == cudaSuccess && cudaDeviceSynchronize() == cudaSuccess;
  cudaGetLastError();
  return ok;
}

#define EIGENNET_INSTANTIATE(T)                                                               \
  template void fill<T>(T*, Index, T, cudaStream_t);                                          \
  template void multiply<T>(const T*, const T*, T*, Index, cudaStream_t);                     \
  template void dropout<T>(const T*, T*, T*, Index, double, T, DropoutDyn, const DropoutDyn*, \
                           cudaStream_t);                                                     \
  template void gather_columns<T>(GatherDyn, const GatherDyn*, Index, Index, Index, T*, T*,   \
                                  const DynCarry*, cudaStream_t);
EIGENNET_INSTANTIATE(float)
EIGENNET_INSTANTIATE(double)
#undef EIGENNET_INSTANTIATE

}  // namespace eigennet::cuda
