// The KernelTable of one kernel set, compiled with that set's flags; EIGENNET_KSET names the set
// and EIGENNET_KSET_SYMBOL the one global symbol its object keeps.
#include "cpu/kernel_set.h"
#include "cpu/kernels.h"
#include "cpu/parallel.h"
#include "cpu/sgemm.h"

namespace eigennet::cpu {
namespace {

// Element-wise work per column of an activation: enough to give a second thread its share.
template <typename T>
void activation_forward_panels(ActivationSpec act, const T* Z, T* A, Index rows, Index cols) {
  parallel_chunks(cols, kPanel, static_cast<double>(rows) * cols * 4, [&](Index c0, Index c1) {
    activation_forward(act, Z + c0 * rows, A + c0 * rows, rows, c1 - c0);
  });
}

template <typename T>
void activation_backward_panels(ActivationSpec act, const T* Z, const T* A, const T* dA, T* dZ,
                                Index rows, Index cols) {
  parallel_chunks(cols, kPanel, static_cast<double>(rows) * cols * 4, [&](Index c0, Index c1) {
    const Index o = c0 * rows;
    activation_backward(act, Z + o, A + o, dA + o, dZ + o, rows, c1 - c0);
  });
}

void gemm(Index m, Index n, Index k, const float* A, Index a_rs, Index a_cs, const float* B,
          Index b_rs, Index b_cs, float* C, Index ldc, bool accumulate) {
  thread_local Scratch packed;
  const Packed a = pack_lhs(m, k, {A, a_rs, a_cs}, packed.get(packed_size(m, k)));
  sgemm_packed(a, 0, m, n, {B, b_rs, b_cs}, C, ldc, accumulate);
}

template <typename T>
constexpr TypedKernels<T> typed() {
  return {&dense_forward<T>,
          &dense_backward<T>,
          &activation_forward_panels<T>,
          &activation_backward_panels<T>,
          &loss<T>,
          &accumulate_metric<T>,
          &optimizer_step<T>,
          &regularize<T>};
}

}  // namespace
}  // namespace eigennet::cpu

#define EIGENNET_STR2(x) #x
#define EIGENNET_STR(x) EIGENNET_STR2(x)

extern "C" {
extern const eigennet::cpu::KernelTable EIGENNET_KSET_SYMBOL;
const eigennet::cpu::KernelTable EIGENNET_KSET_SYMBOL = {
    EIGENNET_STR(EIGENNET_KSET), eigennet::cpu::typed<float>(), eigennet::cpu::typed<double>(),
    &eigennet::cpu::gemm};
}
