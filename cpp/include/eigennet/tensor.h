#pragma once
// Memory layout, written down once.
//
// Every matrix in the core is column-major. A C-order numpy array of shape (batch, features) is,
// byte for byte, a column-major (features, batch) matrix: one sample per column. A Keras kernel of
// shape (n_inputs, n_units) in C order is a column-major (n_units, n_inputs) matrix W, so a dense
// layer computes Z = W · X + b with X of shape (n_inputs, batch). No transposes cross the boundary.
#include <Eigen/Core>

#include "eigennet/config.h"

namespace eigennet {

template <typename T>
using Matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::ColMajor>;
template <typename T>
using Vector = Eigen::Matrix<T, Eigen::Dynamic, 1>;
template <typename T>
using MatrixMap = Eigen::Map<Matrix<T>, Eigen::Aligned16>;
template <typename T>
using ConstMatrixMap = Eigen::Map<const Matrix<T>>;
template <typename T>
using VectorMap = Eigen::Map<Vector<T>>;
template <typename T>
using ConstVectorMap = Eigen::Map<const Vector<T>>;

}  // namespace eigennet
