// Dense layer and activation kernels of the CPU backend.
#include <cmath>
#include <type_traits>
#include <vector>

#include "cpu/kernels.h"
#include "cpu/parallel.h"
#include "cpu/sgemm.h"
#include "eigennet/activations.h"

namespace eigennet::cpu {

namespace {
template <typename T>
struct TypedView {
  const T* data;
  Index rs, cs;  // element (r, c) at data[r * rs + c * cs]
};
}  // namespace

template <typename T>
void activation_forward(ActivationSpec act, const T* Zp, T* Ap, Index rows, Index cols) {
  ConstMatrixMap<T> Z(Zp, rows, cols);
  Eigen::Map<Matrix<T>> A(Ap, rows, cols);
  if (act.plain_relu()) {
    A = Z.cwiseMax(T(0));
    return;
  }
  switch (act.kind) {
    case Activation::Linear:
      if (Ap != Zp) A = Z;
      return;
    case Activation::Tanh: A = Z.array().tanh(); return;
    case Activation::Softmax:
    case Activation::LogSoftmax:
      // Scalar exp and sequential sums (activations.h): Eigen's vectorised versions peel by
      // address, so results would depend on alignment.
      for (Index j = 0; j < cols; ++j) column_forward(act, Zp + j * rows, Ap + j * rows, rows);
      return;
    default: A = Z.unaryExpr([act](T z) { return activate(act, z); });
  }
}

template <typename T>
void activation_backward(ActivationSpec act, const T* Zp, const T* Ap, const T* dAp, T* dZp,
                         Index rows, Index cols) {
  ConstMatrixMap<T> Z(Zp, rows, cols), A(Ap, rows, cols), dA(dAp, rows, cols);
  Eigen::Map<Matrix<T>> dZ(dZp, rows, cols);
  if (act.plain_relu()) {
    dZ = (Z.array() > T(0)).select(dA.array(), T(0));
    return;
  }
  switch (act.kind) {
    case Activation::Linear:
      if (dZp != dAp) dZ = dA;
      return;
    case Activation::Sigmoid: dZ = dA.array() * A.array() * (T(1) - A.array()); return;
    case Activation::Tanh: dZ = dA.array() * (T(1) - A.array().square()); return;
    case Activation::Softmax:
    case Activation::LogSoftmax:
      for (Index j = 0; j < cols; ++j)
        column_backward(act, Ap + j * rows, dAp + j * rows, dZp + j * rows, rows);
      return;
    default:
      for (Index j = 0; j < cols; ++j)
        for (Index i = 0; i < rows; ++i)
          dZ(i, j) = dA(i, j) * activation_derivative(act, Z(i, j), A(i, j));
  }
}

// This kernel set's float GEMM where it is faster; Eigen's product otherwise (and for double).
template <typename T>
bool use_fast(Index m, Index n, Index k) {
  return std::is_same_v<T, float> && use_sgemm(m, n, k);
}

/// The left operand A (m x k) packed once by the calling thread for all panels, in a buffer
/// that grows to the largest layer and is then reused.
template <typename T>
Packed pack_once(Index m, Index k, TypedView<T> A) {
  if constexpr (std::is_same_v<T, float>) {
    thread_local Scratch buffer;
    return pack_lhs(m, k, {A.data, A.rs, A.cs}, buffer.get(packed_size(m, k)));
  }
  return {nullptr, 0, 0, 0};
}

/// Rows [r0, r1) of C (ldc) [+]= A · B, A packed by pack_once.
template <typename T>
void product(const Packed& A, Index r0, Index r1, Index n, TypedView<T> B, T* C, Index ldc,
             bool accumulate) {
  if constexpr (std::is_same_v<T, float>)
    sgemm_packed(A, r0, r1, n, {B.data, B.rs, B.cs}, C, ldc, accumulate);
}

/// Z = W · X + b (or without b), rows [r0, r1) of Z over all `batch` columns.
template <typename T>
void affine_rows(const T* bp, ConstMatrixMap<T>& W, ConstMatrixMap<T>& X, Eigen::Map<Matrix<T>>& Z,
                 Index r0, Index r1, const Packed* packed_w) {
  auto Zr = Z.middleRows(r0, r1 - r0);
  if (bp)
    Zr.colwise() = ConstVectorMap<T>(bp + r0, r1 - r0);
  else
    Zr.setZero();
  if (packed_w)
    product<T>(*packed_w, r0, r1, X.cols(), {X.data(), 1, X.rows()}, Z.data(), Z.rows(), true);
  else
    Zr.noalias() += W.middleRows(r0, r1 - r0) * X;
}

template <typename T>
void dense_forward(const T* Wp, const T* bp, const T* Xp, T* Zp, T* Ap, Index n_units,
                   Index n_inputs, Index batch, ActivationSpec act) {
  ConstMatrixMap<T> W(Wp, n_units, n_inputs), X(Xp, n_inputs, batch);
  Eigen::Map<Matrix<T>> Z(Zp, n_units, batch);
  const double work = static_cast<double>(n_units) * n_inputs * batch;
  if (batch > 1 && batch <= kPanel && n_units > kPanel) {
    // A small batch (but not a single sample, a matrix-vector product best done whole) is one
    // panel of samples: share out panels of units instead. The split depends on the sizes only,
    // never on the thread count.
    const bool fast = use_fast<T>(n_units, batch, n_inputs);
    const Packed packed_w = fast ? pack_once<T>(n_units, n_inputs, {Wp, 1, n_units}) : Packed{};
    parallel_chunks(n_units, kPanel, work, [&](Index r0, Index r1) {
      affine_rows(bp, W, X, Z, r0, r1, fast ? &packed_w : nullptr);
    });
    activation_forward(act, Zp, Ap, n_units, batch);
    return;
  }
  // Each panel of samples: product, bias and activation while the panel is in cache.
  const bool fast = use_fast<T>(n_units, std::min(batch, kPanel), n_inputs);
  const Packed packed_w = fast ? pack_once<T>(n_units, n_inputs, {Wp, 1, n_units}) : Packed{};
  parallel_chunks(batch, kPanel, work, [&](Index c0, Index c1) {
    ConstMatrixMap<T> Xc(Xp + c0 * n_inputs, n_inputs, c1 - c0);
    Eigen::Map<Matrix<T>> Zc(Zp + c0 * n_units, n_units, c1 - c0);
    affine_rows(bp, W, Xc, Zc, 0, n_units, fast ? &packed_w : nullptr);
    activation_forward(act, Zp + c0 * n_units, Ap + c0 * n_units, n_units, c1 - c0);
  });
}

template <typename T>
void dense_backward(const T* Wp, const T* Xp, const T* dZp, T* dWp, T* dbp, T* dXp, Index n_units,
                    Index n_inputs, Index batch) {
  ConstMatrixMap<T> W(Wp, n_units, n_inputs), X(Xp, n_inputs, batch), dZ(dZp, n_units, batch);
  Eigen::Map<Matrix<T>> dW(dWp, n_units, n_inputs);
  const double work = static_cast<double>(n_units) * n_inputs * batch;
  // dL/dW = dZ · Xᵀ, in panels of input columns: each element sums over the batch in one product.
  const bool fast = use_fast<T>(n_units, std::min(n_inputs, kPanel), batch);
  const Packed packed_dz = fast ? pack_once<T>(n_units, batch, {dZp, 1, n_units}) : Packed{};
  parallel_chunks(n_inputs, kPanel, work, [&](Index c0, Index c1) {
    // B(p, j) = X(c0 + j, p): a transposed view of X.
    if (fast)
      product<T>(packed_dz, 0, n_units, c1 - c0, {Xp + c0, n_inputs, 1}, dWp + c0 * n_units,
                 n_units, false);
    else
      dW.middleCols(c0, c1 - c0).noalias() = dZ * X.middleRows(c0, c1 - c0).transpose();
  });
  if (dbp) {
    // dL/db = Σ_j dZ(:, j), summed column by column: each entry adds in sample order whatever
    // the buffer's alignment (Eigen's row-wise redux would not).
    VectorMap<T> db(dbp, n_units);
    db = dZ.col(0);
    for (Index j = 1; j < batch; ++j) db += dZ.col(j);
  }
  if (!dXp) return;
  Eigen::Map<Matrix<T>> dX(dXp, n_inputs, batch);
  // dL/dX = Wᵀ · dZ with A(i, p) = W(p, i): Wᵀ packed once for all panels. In panels of samples,
  // or of inputs when the batch is one panel.
  const bool rows = batch <= kPanel && n_inputs > kPanel;
  const bool fast_dx = use_fast<T>(n_inputs, std::min(batch, kPanel), n_units);
  const Packed packed_wt = fast_dx ? pack_once<T>(n_inputs, n_units, {Wp, n_units, 1}) : Packed{};
  if (rows) {
    parallel_chunks(n_inputs, kPanel, work, [&](Index r0, Index r1) {
      if (fast_dx)
        product<T>(packed_wt, r0, r1, batch, {dZp, 1, n_units}, dXp, n_inputs, false);
      else
        dX.middleRows(r0, r1 - r0).noalias() = W.middleCols(r0, r1 - r0).transpose() * dZ;
    });
    return;
  }
  parallel_chunks(batch, kPanel, work, [&](Index c0, Index c1) {
    if (fast_dx)
      product<T>(packed_wt, 0, n_inputs, c1 - c0, {dZp + c0 * n_units, 1, n_units},
                 dXp + c0 * n_inputs, n_inputs, false);
    else
      dX.middleCols(c0, c1 - c0).noalias() = W.transpose() * dZ.middleCols(c0, c1 - c0);
  });
}

#define EIGENNET_INSTANTIATE(T)                                                                 \
  template void activation_forward<T>(ActivationSpec, const T*, T*, Index, Index);              \
  template void activation_backward<T>(ActivationSpec, const T*, const T*, const T*, T*, Index, \
                                       Index);                                                  \
  template void dense_forward<T>(const T*, const T*, const T*, T*, T*, Index, Index, Index,     \
                                 ActivationSpec);                                               \
  template void dense_backward<T>(const T*, const T*, const T*, T*, T*, T*, Index, Index, Index);
EIGENNET_INSTANTIATE(float)
EIGENNET_INSTANTIATE(double)
#undef EIGENNET_INSTANTIATE

}  // namespace eigennet::cpu
