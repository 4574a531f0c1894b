#include "cpu/sgemm.h"

#ifdef __AVX512F__
#include <immintrin.h>

#include <algorithm>
#include <cstdlib>
#include <vector>

namespace eigennet::cpu {
namespace {

constexpr std::ptrdiff_t MR = 32, NR = 12;  // micro-tile: 2 zmm rows x 12 columns, 24 accumulators
constexpr std::ptrdiff_t KC = 256, MC = 256, NC = 3072;

// Per-thread packing buffer for B, allocated once.
struct Scratch {
  float* b = static_cast<float*>(std::aligned_alloc(64, sizeof(float) * KC * NC));
  ~Scratch() { std::free(b); }
};

// A block (mc x kc) into MR-row micro-panels, each stored p-major: panel[p * MR + i].
void pack_a(std::ptrdiff_t mc, std::ptrdiff_t kc, const View& A, std::ptrdiff_t i0,
            std::ptrdiff_t p0, float* out) {
  for (std::ptrdiff_t ir = 0; ir < mc; ir += MR) {
    const std::ptrdiff_t mr = std::min(MR, mc - ir);
    float* panel = out + ir * kc;
    if (A.row_stride == 1 && mr == MR) {
      for (std::ptrdiff_t p = 0; p < kc; ++p) {
        const float* src = A.data + (i0 + ir) + (p0 + p) * A.col_stride;
        _mm512_store_ps(panel + p * MR, _mm512_loadu_ps(src));
        _mm512_store_ps(panel + p * MR + 16, _mm512_loadu_ps(src + 16));
      }
    } else {
      for (std::ptrdiff_t i = 0; i < MR; ++i)
        for (std::ptrdiff_t p = 0; p < kc; ++p)
          panel[p * MR + i] =
              i < mr ? A.data[(i0 + ir + i) * A.row_stride + (p0 + p) * A.col_stride] : 0.0f;
    }
  }
}

// B block (kc x nc) into NR-column micro-panels, each stored p-major: panel[p * NR + j].
void pack_b(std::ptrdiff_t kc, std::ptrdiff_t nc, const View& B, std::ptrdiff_t p0,
            std::ptrdiff_t j0, float* out) {
  for (std::ptrdiff_t jr = 0; jr < nc; jr += NR) {
    const std::ptrdiff_t nr = std::min(NR, nc - jr);
    float* panel = out + jr * kc;
    if (B.col_stride == 1 && nr == NR) {
      // B is a transposed row-major block: each p reads NR consecutive floats.
      for (std::ptrdiff_t p = 0; p < kc; ++p) {
        const float* src = B.data + (p0 + p) * B.row_stride + (j0 + jr);
        for (std::ptrdiff_t j = 0; j < NR; ++j) panel[p * NR + j] = src[j];
      }
      continue;
    }
    for (std::ptrdiff_t j = 0; j < NR; ++j) {
      if (j >= nr) {
        for (std::ptrdiff_t p = 0; p < kc; ++p) panel[p * NR + j] = 0.0f;
        continue;
      }
      const float* src = B.data + (j0 + jr + j) * B.col_stride + p0 * B.row_stride;
      for (std::ptrdiff_t p = 0; p < kc; ++p) panel[p * NR + j] = src[p * B.row_stride];
    }
  }
}

// C tile (mr x nr, mr <= MR, nr <= NR) = (acc ? C : 0) + Ap · Bp over kc.
void micro(std::ptrdiff_t kc, const float* __restrict Ap, const float* __restrict Bp, float* C,
           std::ptrdiff_t ldc, std::ptrdiff_t mr, std::ptrdiff_t nr, bool acc) {
  __m512 c0[NR], c1[NR];
  for (int j = 0; j < NR; ++j) c0[j] = c1[j] = _mm512_setzero_ps();
  for (std::ptrdiff_t p = 0; p < kc; ++p) {
    const __m512 a0 = _mm512_load_ps(Ap + p * MR), a1 = _mm512_load_ps(Ap + p * MR + 16);
    const float* b = Bp + p * NR;
#pragma GCC unroll 12
    for (int j = 0; j < NR; ++j) {
      const __m512 bj = _mm512_set1_ps(b[j]);
      c0[j] = _mm512_fmadd_ps(a0, bj, c0[j]);
      c1[j] = _mm512_fmadd_ps(a1, bj, c1[j]);
    }
  }
  const __mmask16 m0 = mr >= 16 ? 0xFFFF : static_cast<__mmask16>((1u << mr) - 1);
  const __mmask16 m1 =
      mr >= 32 ? 0xFFFF : (mr <= 16 ? 0 : static_cast<__mmask16>((1u << (mr - 16)) - 1));
  for (std::ptrdiff_t j = 0; j < nr; ++j) {
    float* c = C + j * ldc;
    __m512 v0 = c0[j], v1 = c1[j];
    if (acc) {
      v0 = _mm512_add_ps(_mm512_maskz_loadu_ps(m0, c), v0);
      v1 = _mm512_add_ps(_mm512_maskz_loadu_ps(m1, c + 16), v1);
    }
    _mm512_mask_storeu_ps(c, m0, v0);
    _mm512_mask_storeu_ps(c + 16, m1, v1);
  }
}

}  // namespace

std::ptrdiff_t packed_size(std::ptrdiff_t m, std::ptrdiff_t k) {
  return (m + MR - 1) / MR * MR * k;
}

void pack_lhs(std::ptrdiff_t m, std::ptrdiff_t k, View A, float* out) {
  // Block pc holds MR-row panels of depth kc for all rows: panel ir at out + pc * mp + ir * kc.
  const std::ptrdiff_t mp = (m + MR - 1) / MR * MR;
  for (std::ptrdiff_t pc = 0; pc < k; pc += KC)
    pack_a(m, std::min(KC, k - pc), A, 0, pc, out + pc * mp);
}

void sgemm_packed(std::ptrdiff_t m, std::ptrdiff_t n, std::ptrdiff_t k, const float* packed_a,
                  View B, float* C, std::ptrdiff_t ldc, bool accumulate) {
  thread_local Scratch s;
  const std::ptrdiff_t mp = (m + MR - 1) / MR * MR;
  for (std::ptrdiff_t jc = 0; jc < n; jc += NC) {
    const std::ptrdiff_t nc = std::min(NC, n - jc);
    for (std::ptrdiff_t pc = 0; pc < k; pc += KC) {
      const std::ptrdiff_t kc = std::min(KC, k - pc);
      pack_b(kc, nc, B, pc, jc, s.b);
      const bool acc = accumulate || pc > 0;
      const float* block = packed_a + pc * mp;
      for (std::ptrdiff_t ic = 0; ic < m; ic += MC) {
        const std::ptrdiff_t mc = std::min(MC, m - ic);
        for (std::ptrdiff_t jr = 0; jr < nc; jr += NR)
          for (std::ptrdiff_t ir = 0; ir < mc; ir += MR)
            micro(kc, block + (ic + ir) * kc, s.b + jr * kc, C + (ic + ir) + (jc + jr) * ldc, ldc,
                  std::min(MR, mc - ir), std::min(NR, nc - jr), acc);
      }
    }
  }
}

}  // namespace eigennet::cpu
#endif  // __AVX512F__
