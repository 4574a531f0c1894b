// Dense kernels of the CPU backend for a 784 -> 256 layer (float32) at batch 32, 128 and 1024.
// Items are samples; GFLOP/s counts the matrix products only.
#include <vector>

#include "bench_common.h"
#include "eigennet/backend.h"

namespace eigennet::bench {
namespace {

constexpr Index kInputs = 784, kUnits = 256;

/// A host vector copied into a 64-byte aligned backend buffer, as the model's own buffers are.
Buffer<float> to_buffer(Backend<float>& be, const std::vector<float>& v) {
  Buffer<float> b(be, static_cast<Index>(v.size()));
  be.copy_to_device(b.data(), v.data(), b.bytes());
  return b;
}

void BM_DenseForward(benchmark::State& state) {
  const Index batch = state.range(0);
  auto be = make_cpu_backend<float>();
  const auto W = to_buffer(*be, uniform(kUnits * kInputs, -0.08, 0.08, 1));
  const auto b = to_buffer(*be, uniform(kUnits, -0.1, 0.1, 2));
  const auto X = to_buffer(*be, uniform(kInputs * batch, 0, 1, 3));
  Buffer<float> Z(*be, kUnits * batch), A(*be, kUnits * batch);
  for (auto _ : state) {
    be->dense_forward(W.data(), b.data(), X.data(), Z.data(), A.data(), kUnits, kInputs, batch,
                      Activation::Relu);
    benchmark::DoNotOptimize(A.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * batch);
  state.counters["GFLOP"] = gflops(2.0 * kUnits * kInputs * batch);
}

// dL/dW = dZ·Xᵀ, dL/db and dL/dX = Wᵀ·dZ, as for a hidden layer.
void BM_DenseBackward(benchmark::State& state) {
  const Index batch = state.range(0);
  auto be = make_cpu_backend<float>();
  const auto W = to_buffer(*be, uniform(kUnits * kInputs, -0.08, 0.08, 1));
  const auto X = to_buffer(*be, uniform(kInputs * batch, 0, 1, 3));
  const auto dZ = to_buffer(*be, uniform(kUnits * batch, -1e-2, 1e-2, 4));
  Buffer<float> dW(*be, kUnits * kInputs), db(*be, kUnits), dX(*be, kInputs * batch);
  for (auto _ : state) {
    be->dense_backward(W.data(), X.data(), dZ.data(), dW.data(), db.data(), dX.data(), kUnits,
                       kInputs, batch);
    benchmark::DoNotOptimize(dX.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * batch);
  state.counters["GFLOP"] = gflops(4.0 * kUnits * kInputs * batch);
}

BENCHMARK(BM_DenseForward)
    ->ArgName("batch")
    ->Arg(32)
    ->Arg(128)
    ->Arg(1024)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_DenseBackward)
    ->ArgName("batch")
    ->Arg(32)
    ->Arg(128)
    ->Arg(1024)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace eigennet::bench

int main(int argc, char** argv) { return eigennet::bench::run(argc, argv); }
