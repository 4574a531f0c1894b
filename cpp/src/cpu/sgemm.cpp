#include "cpu/sgemm.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>

namespace eigennet::cpu {
namespace {

// One SIMD register of kW floats, as the set's flags allow (zmm, ymm, xmm or a NEON q register);
// `Vu` is the same with 4-byte alignment, for loads and stores to C.
typedef float V __attribute__((vector_size(kW * 4)));
typedef float Vu __attribute__((vector_size(kW * 4), aligned(4)));

constexpr int kMV = kMR / kW;  // vectors per tile column
constexpr std::ptrdiff_t KC = 256, MC = 256, NC = 3072;

// A block (mc x kc) into kMR-row micro-panels, each stored p-major: panel[p * kMR + i].
void pack_a(std::ptrdiff_t mc, std::ptrdiff_t kc, const View& A, std::ptrdiff_t p0, float* out) {
  std::ptrdiff_t full = 0;  // rows in whole panels packed by the fast path below
  if (A.row_stride == 1) {
    // Column-major A (W): column by column, so that A is read in memory order (panel by panel
    // would read it with a stride of a whole column, a new page per step).
    full = mc / kMR * kMR;
    for (std::ptrdiff_t p = 0; p < kc; ++p) {
      const float* src = A.data + (p0 + p) * A.col_stride;
      for (std::ptrdiff_t ir = 0; ir < full; ir += kMR)
        std::memcpy(out + ir * kc + p * kMR, src + ir, sizeof(float) * kMR);
    }
  }
  for (std::ptrdiff_t ir = full; ir < mc; ir += kMR) {
    const std::ptrdiff_t mr = std::min<std::ptrdiff_t>(kMR, mc - ir);
    float* panel = out + ir * kc;
    // A transposed view (Wᵀ): row i of the panel is contiguous along p, so read it that way.
    for (std::ptrdiff_t i = 0; i < kMR; ++i) {
      if (i >= mr) {
        for (std::ptrdiff_t p = 0; p < kc; ++p) panel[p * kMR + i] = 0.0f;
        continue;
      }
      const float* src = A.data + (ir + i) * A.row_stride + p0 * A.col_stride;
      for (std::ptrdiff_t p = 0; p < kc; ++p) panel[p * kMR + i] = src[p * A.col_stride];
    }
  }
}

// B block (kc x nc) into kNR-column micro-panels, each stored p-major: panel[p * kNR + j].
void pack_b(std::ptrdiff_t kc, std::ptrdiff_t nc, const View& B, std::ptrdiff_t p0,
            std::ptrdiff_t j0, float* out) {
  for (std::ptrdiff_t jr = 0; jr < nc; jr += kNR) {
    const std::ptrdiff_t nr = std::min<std::ptrdiff_t>(kNR, nc - jr);
    float* panel = out + jr * kc;
    if (B.col_stride == 1 && nr == kNR) {
      // A transposed row-major block: each p reads kNR consecutive floats.
      for (std::ptrdiff_t p = 0; p < kc; ++p)
        std::memcpy(panel + p * kNR, B.data + (p0 + p) * B.row_stride + j0 + jr,
                    sizeof(float) * kNR);
      continue;
    }
    for (std::ptrdiff_t j = 0; j < kNR; ++j) {
      if (j >= nr) {
        for (std::ptrdiff_t p = 0; p < kc; ++p) panel[p * kNR + j] = 0.0f;
        continue;
      }
      const float* src = B.data + (j0 + jr + j) * B.col_stride + p0 * B.row_stride;
      for (std::ptrdiff_t p = 0; p < kc; ++p) panel[p * kNR + j] = src[p * B.row_stride];
    }
  }
}

// C tile (mr x nr, mr <= kMR, nr <= kNR) = (acc ? C : 0) + Ap · B over kc: kMR x kNR sums held
// in registers, one broadcast of B per column and step. B is a packed micro-panel,
// b(p, j) = Bp[p * kNR + j], or (kPackedB false) column-major B itself, b(p, j) = Bp[p + j * ldb]:
// a column-major B is read in place, since kNR sequential streams broadcast as cheaply as a
// packed panel does and skipping the copy saves a pass over B.
template <bool kPackedB>
void micro(std::ptrdiff_t kc, const float* __restrict Ap, const float* __restrict Bp,
           std::ptrdiff_t ldb, float* C, std::ptrdiff_t ldc, std::ptrdiff_t mr, std::ptrdiff_t nr,
           bool acc) {
  const float* col[kNR];
  for (int j = 0; j < kNR; ++j) col[j] = Bp + (j < nr ? j : 0) * ldb;  // past nr: any column
  V c[kNR][kMV];
  for (int j = 0; j < kNR; ++j)
    for (int v = 0; v < kMV; ++v) c[j][v] = V{};
#pragma GCC unroll 4
  for (std::ptrdiff_t p = 0; p < kc; ++p) {
    V a[kMV];
    for (int v = 0; v < kMV; ++v) a[v] = *reinterpret_cast<const V*>(Ap + p * kMR + v * kW);
    __builtin_prefetch(Ap + (p + 16) * kMR);  // A streams from L2: ask 16 steps ahead
#pragma GCC unroll 12
    for (int j = 0; j < kNR; ++j) {
      // x - 0 is x exactly (also -0), so this folds to a broadcast from memory.
      const V bj = (kPackedB ? Bp[p * kNR + j] : col[j][p]) - V{};
      for (int v = 0; v < kMV; ++v) c[j][v] += a[v] * bj;
    }
  }
  if (mr == kMR && nr == kNR) {
    for (int j = 0; j < kNR; ++j)
      for (int v = 0; v < kMV; ++v) {
        Vu* dst = reinterpret_cast<Vu*>(C + j * ldc + v * kW);
        *dst = acc ? *dst + c[j][v] : c[j][v];
      }
    return;
  }
  alignas(64) float tile[kNR][kMR];
  for (int j = 0; j < kNR; ++j)
    for (int v = 0; v < kMV; ++v) *reinterpret_cast<V*>(&tile[j][v * kW]) = c[j][v];
  for (std::ptrdiff_t j = 0; j < nr; ++j)
    for (std::ptrdiff_t i = 0; i < mr; ++i)
      C[i + j * ldc] = acc ? C[i + j * ldc] + tile[j][i] : tile[j][i];
}

}  // namespace

Scratch::~Scratch() { std::free(m_data); }

float* Scratch::get(std::ptrdiff_t n) {
  if (n > m_size) {
    std::free(m_data);
    const std::size_t bytes = (static_cast<std::size_t>(n) * sizeof(float) + 63) / 64 * 64;
    m_data = static_cast<float*>(std::aligned_alloc(64, bytes));
    if (!m_data) {
      m_size = 0;
      throw std::bad_alloc();
    }
    m_size = n;
  }
  return m_data;
}

std::ptrdiff_t packed_size(std::ptrdiff_t m, std::ptrdiff_t k) {
  return (m + kMR - 1) / kMR * kMR * k;
}

Packed pack_lhs(std::ptrdiff_t m, std::ptrdiff_t k, View A, float* out) {
  // Block pc holds kMR-row panels of depth kc for all rows: panel ir at out + pc * mp + ir * kc.
  const std::ptrdiff_t mp = (m + kMR - 1) / kMR * kMR;
  for (std::ptrdiff_t pc = 0; pc < k; pc += KC)
    pack_a(m, std::min(KC, k - pc), A, pc, out + pc * mp);
  return {out, m, k, mp};
}

void sgemm_packed(const Packed& A, std::ptrdiff_t r0, std::ptrdiff_t r1, std::ptrdiff_t n, View B,
                  float* C, std::ptrdiff_t ldc, bool accumulate) {
  // A column-major B (row_stride 1) is read in place; any other layout is packed per block.
  const bool in_place = B.row_stride == 1;
  thread_local Scratch scratch;
  float* packed_b = in_place ? nullptr : scratch.get(KC * std::min(NC, (n + kNR - 1) / kNR * kNR));
  const std::ptrdiff_t k = A.k;
  for (std::ptrdiff_t jc = 0; jc < n; jc += NC) {
    const std::ptrdiff_t nc = std::min(NC, n - jc);
    for (std::ptrdiff_t pc = 0; pc < k; pc += KC) {
      const std::ptrdiff_t kc = std::min(KC, k - pc);
      if (!in_place) pack_b(kc, nc, B, pc, jc, packed_b);
      const bool acc = accumulate || pc > 0;
      const float* block = A.data + pc * A.mp;
      for (std::ptrdiff_t ic = r0; ic < r1; ic += MC) {
        const std::ptrdiff_t mc = std::min(MC, r1 - ic);
        for (std::ptrdiff_t jr = 0; jr < nc; jr += kNR) {
          const std::ptrdiff_t nr = std::min<std::ptrdiff_t>(kNR, nc - jr);
          float* c = C + ic + (jc + jr) * ldc;
          for (std::ptrdiff_t ir = 0; ir < mc; ir += kMR) {
            const std::ptrdiff_t mr = std::min<std::ptrdiff_t>(kMR, mc - ir);
            if (in_place)
              micro<false>(kc, block + (ic + ir) * kc, B.data + pc + (jc + jr) * B.col_stride,
                           B.col_stride, c + ir, ldc, mr, nr, acc);
            else
              micro<true>(kc, block + (ic + ir) * kc, packed_b + jr * kc, 0, c + ir, ldc, mr, nr,
                          acc);
          }
        }
      }
    }
  }
}

}  // namespace eigennet::cpu
