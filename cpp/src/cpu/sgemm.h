#pragma once
// Single-precision GEMM of one kernel set: C (m x n) [+]= A (m x k) · B (k x n) on strided views,
// so a transposed operand costs nothing but its packing. One source for every instruction set:
// the micro-kernel is written with GCC vector types whose width follows the set's flags, and its
// register tile (kMR x kNR, kMR/kW vectors per column) is sized to the set's register file.
// Blocking is fixed (KC, MC, NC are constants), so each element of C sums in the same order on
// every call, whatever the thread count, and the row range of a call never changes its bits.
#include <cstddef>

namespace eigennet::cpu {

#if defined(__AVX512F__)
constexpr int kW = 16, kMR = 32, kNR = 12;  // 32 zmm: 24 accumulators, 2 A vectors, 1 broadcast
#elif defined(__AVX__)
constexpr int kW = 8, kMR = 16, kNR = 6;  // 16 ymm: 12 accumulators, 2 A vectors, 1 broadcast
#elif defined(__aarch64__)
constexpr int kW = 4, kMR = 16, kNR = 6;  // 32 NEON q registers: 24 accumulators, 4 A vectors
#else
constexpr int kW = 4, kMR = 8, kNR = 6;  // 16 xmm (SSE): 12 accumulators
#endif

/// True where this GEMM beats Eigen's product (measured per kernel set: bench/README.md). Without
/// FMA and wider registers (the x86-64-v2 baseline), Eigen's SSE product is the faster one.
inline bool use_sgemm(std::ptrdiff_t m, std::ptrdiff_t n, std::ptrdiff_t k) {
#if defined(__AVX__) || defined(__aarch64__)
  return m >= 16 && n >= 4 && static_cast<double>(m) * n * k >= 8192.0;
#else
  static_cast<void>(m), static_cast<void>(n), static_cast<void>(k);
  return false;
#endif
}

/// A strided view: element (r, c) at data[r * row_stride + c * col_stride].
struct View {
  const float* data;
  std::ptrdiff_t row_stride, col_stride;
};

/// A left operand packed by pack_lhs: m rows, k columns, rows padded to mp (a multiple of kMR).
struct Packed {
  const float* data;
  std::ptrdiff_t m, k, mp;
};

/// Floats needed to pack an (m x k) left operand.
std::ptrdiff_t packed_size(std::ptrdiff_t m, std::ptrdiff_t k);

/// Packs A (m x k) into `out` (packed_size(m, k) floats, 64-byte aligned), once for all the
/// panels of B and row ranges that share it.
Packed pack_lhs(std::ptrdiff_t m, std::ptrdiff_t k, View A, float* out);

/// For rows [r0, r1) of A (r0 a multiple of kMR) and C's matching rows:
/// C(i, j) = (accumulate ? C(i, j) : 0) + Σ_p A(i, p) B(p, j), with B (k x n) a strided view and
/// C column-major with leading dimension ldc (C points at row 0). Thread-safe.
void sgemm_packed(const Packed& A, std::ptrdiff_t r0, std::ptrdiff_t r1, std::ptrdiff_t n, View B,
                  float* C, std::ptrdiff_t ldc, bool accumulate);

/// An aligned scratch buffer that grows to the largest size asked for and is then reused.
class Scratch {
 public:
  Scratch() = default;
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  ~Scratch();
  /// At least n floats, 64-byte aligned; contents are not kept across a growth.
  float* get(std::ptrdiff_t n);

 private:
  float* m_data = nullptr;
  std::ptrdiff_t m_size = 0;
};

}  // namespace eigennet::cpu
