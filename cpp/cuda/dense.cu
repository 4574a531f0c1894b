// Dense-layer kernels of the CUDA backend: the bias + activation epilogue after cuBLAS's product,
// activations and their derivatives, and the bias gradient. The scalar formulas are those of
// eigennet/activations.h, shared with the CPU backend; where the CPU backend writes a formula of
// its own (ReLU's select, sigmoid's and tanh's derivatives from a) it is repeated here as written.
#include "cuda_check.cuh"
#include "eigennet/activations.h"
#include "kernels.cuh"

namespace eigennet::cuda {
namespace {

__device__ inline Index global_row() {
  return static_cast<Index>(blockIdx.x) * blockDim.x + threadIdx.x;
}
__device__ inline Index first_column() {
  return static_cast<Index>(blockIdx.y) * blockDim.y + threadIdx.y;
}
__device__ inline Index column_stride() { return static_cast<Index>(gridDim.y) * blockDim.y; }

/// Z(i, j) += b(i) (when b is set), A(i, j) = g(Z(i, j)); one read and at most two writes.
template <typename T>
__global__ void bias_activation_kernel(const T* __restrict__ b, T* Z, T* A, Index rows, Index cols,
                                       ActivationSpec act) {
  const Index r = global_row();
  if (r >= rows) return;
  const T bias = b ? b[r] : T(0);
  for (Index c = first_column(); c < cols; c += column_stride()) {
    const Index i = c * rows + r;
    T z = Z[i];
    if (b) {
      z += bias;
      Z[i] = z;
    }
    A[i] = activate(act, z);
  }
}

/// Per column j (one thread each): Z(:, j) += b when b is set, then A(:, j) = g(Z(:, j)) for a
/// per-column activation (column_forward). Zin is read when b is null.
template <typename T>
__global__ void column_kernel(ActivationSpec act, const T* __restrict__ b, const T* Zin, T* Z, T* A,
                              Index rows, Index cols) {
  for (Index c = static_cast<Index>(blockIdx.x) * blockDim.x + threadIdx.x; c < cols;
       c += static_cast<Index>(gridDim.x) * blockDim.x) {
    const T* z = Zin + c * rows;
    if (b) {
      T* zc = Z + c * rows;
      for (Index r = 0; r < rows; ++r) zc[r] += b[r];
      z = zc;
    }
    column_forward(act, z, A + c * rows, rows);
  }
}

template <typename T>
__global__ void activation_kernel(ActivationSpec act, const T* __restrict__ Z, T* __restrict__ A,
                                  Index n) {
  for (Index i = static_cast<Index>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += static_cast<Index>(gridDim.x) * blockDim.x)
    A[i] = activate(act, Z[i]);
}

/// dL/dz = dL/da · g'(z) for an element-wise activation, as the CPU backend writes it.
template <typename T>
__device__ inline T activation_grad(ActivationSpec act, const T* Z, const T* A, T d, Index i) {
  if (act.plain_relu()) return Z[i] > T(0) ? d : T(0);
  switch (act.kind) {
    case Activation::Sigmoid: return d * A[i] * (T(1) - A[i]);
    case Activation::Tanh: return d * (T(1) - A[i] * A[i]);
    default: return d * activation_derivative(act, Z[i], A[i]);
  }
}

/// dZ = dA ⊙ g'(Z); dZ may equal dA (each element is read before it is written).
template <typename T>
__global__ void activation_backward_kernel(ActivationSpec act, const T* Z, const T* A, const T* dA,
                                           T* dZ, Index n) {
  for (Index i = static_cast<Index>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += static_cast<Index>(gridDim.x) * blockDim.x)
    dZ[i] = activation_grad(act, Z, A, dA[i], i);
}

/// A per-column activation's backward, one thread per column (column_backward).
template <typename T>
__global__ void column_backward_kernel(ActivationSpec act, const T* A, const T* dA, T* dZ,
                                       Index rows, Index cols) {
  for (Index c = static_cast<Index>(blockIdx.x) * blockDim.x + threadIdx.x; c < cols;
       c += static_cast<Index>(gridDim.x) * blockDim.x) {
    const Index o = c * rows;
    column_backward(act, A + o, dA + o, dZ + o, rows);
  }
}

/// A block sums 32 rows: 32 lanes of columns each add every 32nd column in order, then one
/// thread per row adds the 32 lane sums in order. Fixed at 32 x 32, so the order of additions
/// depends only on the matrix shape; __launch_bounds__ keeps 1024 threads launchable (at most
/// 64 registers each).
template <typename T>
__global__ void __launch_bounds__(1024)
    row_sums_kernel(const T* __restrict__ M, Index rows, Index cols, T* __restrict__ out) {
  __shared__ T part[32][33];
  const Index r = static_cast<Index>(blockIdx.x) * 32 + threadIdx.x;
  T s = 0;
  if (r < rows) {
#pragma unroll 4
    for (Index c = threadIdx.y; c < cols; c += 32) s += M[c * rows + r];
  }
  part[threadIdx.y][threadIdx.x] = s;
  __syncthreads();
  if (threadIdx.y == 0 && r < rows) {
    T t = 0;
    for (int k = 0; k < 32; ++k) t += part[k][threadIdx.x];
    out[r] = t;
  }
}

/// activation_backward_kernel and row_sums_kernel in one pass: the same 32 x 32 blocks and
/// order of additions as row_sums_kernel, each element's dZ written as it is added.
template <typename T>
__global__ void __launch_bounds__(1024)
    activation_backward_row_sums_kernel(ActivationSpec act, const T* Z, const T* A, const T* dA,
                                        T* dZ, Index rows, Index cols, T* __restrict__ db) {
  __shared__ T part[32][33];
  const Index r = static_cast<Index>(blockIdx.x) * 32 + threadIdx.x;
  T s = 0;
  if (r < rows) {
#pragma unroll 4
    for (Index c = threadIdx.y; c < cols; c += 32) {
      const Index i = c * rows + r;
      const T d = activation_grad(act, Z, A, dA[i], i);
      dZ[i] = d;
      s += d;
    }
  }
  part[threadIdx.y][threadIdx.x] = s;
  __syncthreads();
  if (threadIdx.y == 0 && r < rows) {
    T t = 0;
    for (int k = 0; k < 32; ++k) t += part[k][threadIdx.x];
    db[r] = t;
  }
}

unsigned column_blocks(Index cols) { return blocks_for(cols, 128); }

}  // namespace

template <typename T>
void bias_activation(const T* b, T* Z, T* A, Index rows, Index cols, ActivationSpec act,
                     cudaStream_t s) {
  if (per_column(act)) {
    column_kernel<T><<<column_blocks(cols), 128, 0, s>>>(act, b, Z, Z, A, rows, cols);
    check_launch("column_kernel");
    return;
  }
  if (!b && act.kind == Activation::Linear) {
    if (A != Z)
      check(cudaMemcpyAsync(A, Z, sizeof(T) * rows * cols, cudaMemcpyDeviceToDevice, s),
            "cudaMemcpyAsync");
    return;
  }
  const ColumnGrid g = column_grid(rows, cols);
  bias_activation_kernel<T><<<g.grid, g.block, 0, s>>>(b, Z, A, rows, cols, act);
  check_launch("bias_activation_kernel");
}

template <typename T>
void activation_forward(ActivationSpec act, const T* Z, T* A, Index rows, Index cols,
                        cudaStream_t s) {
  if (per_column(act)) {
    column_kernel<T><<<column_blocks(cols), 128, 0, s>>>(act, nullptr, Z, nullptr, A, rows, cols);
    check_launch("column_kernel");
  } else if (act.kind == Activation::Linear) {
    if (A != Z)
      check(cudaMemcpyAsync(A, Z, sizeof(T) * rows * cols, cudaMemcpyDeviceToDevice, s),
            "cudaMemcpyAsync");
  } else {
    activation_kernel<T><<<blocks_for(rows * cols), kThreads, 0, s>>>(act, Z, A, rows * cols);
    check_launch("activation_kernel");
  }
}

template <typename T>
void activation_backward(ActivationSpec act, const T* Z, const T* A, const T* dA, T* dZ, Index rows,
                         Index cols, cudaStream_t s) {
  if (per_column(act)) {
    column_backward_kernel<T><<<column_blocks(cols), 128, 0, s>>>(act, A, dA, dZ, rows, cols);
    check_launch("column_backward_kernel");
  } else if (act.kind == Activation::Linear) {
    if (dZ != dA)
      check(cudaMemcpyAsync(dZ, dA, sizeof(T) * rows * cols, cudaMemcpyDeviceToDevice, s),
            "cudaMemcpyAsync");
  } else {
    activation_backward_kernel<T>
        <<<blocks_for(rows * cols), kThreads, 0, s>>>(act, Z, A, dA, dZ, rows * cols);
    check_launch("activation_backward_kernel");
  }
}

template <typename T>
void row_sums(const T* M, Index rows, Index cols, T* out, cudaStream_t s) {
  const unsigned blocks = static_cast<unsigned>((rows + 31) / 32);
  row_sums_kernel<T><<<blocks, dim3(32, 32), 0, s>>>(M, rows, cols, out);
  check_launch("row_sums_kernel");
}

template <typename T>
void activation_backward_row_sums(ActivationSpec act, const T* Z, const T* A, const T* dA, T* dZ,
                                  Index rows, Index cols, T* db, cudaStream_t s) {
  const unsigned blocks = static_cast<unsigned>((rows + 31) / 32);
  activation_backward_row_sums_kernel<T>
      <<<blocks, dim3(32, 32), 0, s>>>(act, Z, A, dA, dZ, rows, cols, db);
  check_launch("activation_backward_row_sums_kernel");
}

#define EIGENNET_INSTANTIATE(T)                                                                   \
  template void bias_activation<T>(const T*, T*, T*, Index, Index, ActivationSpec, cudaStream_t); \
  template void activation_forward<T>(ActivationSpec, const T*, T*, Index, Index, cudaStream_t);  \
  template void activation_backward<T>(ActivationSpec, const T*, const T*, const T*, T*, Index,   \
                                       Index, cudaStream_t);                                      \
  template void row_sums<T>(const T*, Index, Index, T*, cudaStream_t);                            \
  template void activation_backward_row_sums<T>(ActivationSpec, const T*, const T*, const T*, T*, \
                                                Index, Index, T*, cudaStream_t);
EIGENNET_INSTANTIATE(float)
EIGENNET_INSTANTIATE(double)
#undef EIGENNET_INSTANTIATE

}  // namespace eigennet::cuda
