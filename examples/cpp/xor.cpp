// Using eigennet's C++ core directly, without Python: a 2-8-1 network learns XOR.
//
// Matrices are column-major with one sample per column (see eigennet/tensor.h): the four XOR
// inputs are the columns of a (2, 4) matrix.
#include <cstdio>
#include <vector>

#include "eigennet/model.h"
#include "eigennet/trainer.h"

int main() {
  using namespace eigennet;
  set_num_threads(1);

  Model<float> model(/*n_inputs=*/2,
                     {dense_spec(8, Activation::Tanh), dense_spec(1, Activation::Sigmoid)},
                     make_cpu_backend<float>(), /*seed=*/42);
  for (std::size_t i = 0; i < 2; ++i)
    model.initialize(i, Initializer::from_name("glorot_uniform"), Initializer::from_name("zeros"));

  OptimizerConfig adam;
  adam.kind = OptimizerKind::Adam;
  adam.learning_rate.initial = 0.05;
  model.compile(LossKind::BinaryCrossentropy, adam, {MetricKind::BinaryAccuracy});

  const std::vector<float> x = {0, 0, 0, 1, 1, 0, 1, 1};  // (2, 4): one sample per column
  const std::vector<float> y = {0, 1, 1, 0};              // (1, 4)
  DataSet<float> data(model.backend(), x.data(), 2, y.data(), 1, 4);
  Trainer<float> trainer(model);
  PassResult last;
  for (int epoch = 0; epoch < 300; ++epoch) last = trainer.fit_epoch(data, 4, /*shuffle=*/true);

  std::vector<float> p(4);
  trainer.predict(data, 4, p.data());
  std::printf("loss %.4f accuracy %.2f\n", last.loss, last.metrics[0]);
  for (int i = 0; i < 4; ++i) std::printf("xor(%g, %g) = %.3f\n", x[2 * i], x[2 * i + 1], p[i]);
  return last.metrics[0] == 1.0 ? 0 : 1;
}
