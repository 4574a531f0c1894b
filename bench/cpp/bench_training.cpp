// Whole passes through Model and Trainer (float32, fixed seeds): a training epoch of an MNIST-sized
// classifier with SGD, an epoch of a small breast-cancer-sized binary classifier with Adam, and
// predict of a single row for each. Items are samples.
#include <memory>
#include <utility>
#include <vector>

#include "bench_common.h"
#include "eigennet/model.h"
#include "eigennet/trainer.h"

namespace eigennet::bench {
namespace {

struct Layer {
  Index units;
  Activation activation;
};

/// A model with its data set and trainer; the data vectors outlive the DataSet that views them.
struct Workload {
  std::vector<Layer> layers;
  std::unique_ptr<Model<float>> model;
  std::vector<float> x, y;
  std::unique_ptr<DataSet<float>> data;
  std::unique_ptr<Trainer<float>> trainer;

  /// Floating-point operations of one training sample: forward products, dL/dW for every layer,
  /// dL/dX for all but the first.
  double train_flops_per_sample(Index n_inputs) const {
    double forward = 0, dx = 0;
    Index in = n_inputs;
    for (std::size_t i = 0; i < layers.size(); ++i) {
      const double macs = static_cast<double>(in) * layers[i].units;
      forward += 2 * macs;
      if (i > 0) dx += 2 * macs;
      in = layers[i].units;
    }
    return 2 * forward + dx;
  }
};

/// Dense layers on n_inputs features, glorot_uniform kernels and zero biases, n random samples
/// with integer labels in [0, n_classes).
Workload make_workload(Index n_inputs, std::vector<Layer> layers, LossKind loss,
                       const OptimizerConfig& optimizer, Index n, std::uint64_t n_classes) {
  Workload w;
  w.layers = std::move(layers);
  std::vector<LayerSpec> specs;
  for (const Layer& l : w.layers) specs.push_back(dense_spec(l.units, l.activation));
  w.model = std::make_unique<Model<float>>(n_inputs, specs, make_cpu_backend<float>(), 42);
  for (std::size_t i = 0; i < specs.size(); ++i)
    w.model->initialize(i, Initializer::from_name("glorot_uniform"),
                        Initializer::from_name("zeros"));
  w.model->compile(loss, optimizer, {});
  w.x = uniform(static_cast<std::size_t>(n_inputs * n), 0, 1, 7);
  w.y = labels(static_cast<std::size_t>(n), n_classes, 8);
  w.data =
      std::make_unique<DataSet<float>>(w.model->backend(), w.x.data(), n_inputs, w.y.data(), 1, n);
  w.trainer = std::make_unique<Trainer<float>>(*w.model);
  return w;
}

// 784-256-128-10, relu and softmax with sparse categorical cross-entropy, SGD at lr 0.01.
Workload mnist_like(Index n) {
  OptimizerConfig sgd;
  sgd.kind = OptimizerKind::SGD;
  sgd.learning_rate.initial = 0.01;
  return make_workload(
      784, {{256, Activation::Relu}, {128, Activation::Relu}, {10, Activation::Softmax}},
      LossKind::SparseCategoricalCrossentropy, sgd, n, 10);
}

// 30-64-64-1, relu and sigmoid with binary cross-entropy, Adam at lr 0.001.
Workload cancer_like(Index n) {
  OptimizerConfig adam;
  adam.kind = OptimizerKind::Adam;
  adam.learning_rate.initial = 0.001;
  return make_workload(30,
                       {{64, Activation::Relu}, {64, Activation::Relu}, {1, Activation::Sigmoid}},
                       LossKind::BinaryCrossentropy, adam, n, 2);
}

void run_epochs(benchmark::State& state, Workload w, Index batch) {
  const Index n = w.data->size();
  for (auto _ : state) {
    const PassResult r = w.trainer->fit_epoch(*w.data, batch, true);
    benchmark::DoNotOptimize(r.loss);
  }
  state.SetItemsProcessed(state.iterations() * n);
  state.counters["GFLOP"] = gflops(w.train_flops_per_sample(w.model->n_inputs()) * n);
}

void run_predict_one(benchmark::State& state, Workload w) {
  std::vector<float> out(w.model->n_outputs());
  for (auto _ : state) {
    w.trainer->predict(*w.data, 1, out.data());
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_EpochMnistSgd(benchmark::State& state) { run_epochs(state, mnist_like(8192), 128); }
void BM_EpochCancerAdam(benchmark::State& state) { run_epochs(state, cancer_like(569), 32); }
void BM_PredictOneMnist(benchmark::State& state) { run_predict_one(state, mnist_like(1)); }
void BM_PredictOneCancer(benchmark::State& state) { run_predict_one(state, cancer_like(1)); }

BENCHMARK(BM_EpochMnistSgd)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_EpochCancerAdam)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_PredictOneMnist)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_PredictOneCancer)->UseRealTime()->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace eigennet::bench

int main(int argc, char** argv) { return eigennet::bench::run(argc, argv); }
