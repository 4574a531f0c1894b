// The CUDA backend: device memory, cuBLAS products and our kernels (kernels.cuh) on one stream
// per model, with each training or test step replayed as a CUDA graph (step_graphs.cuh).
//
// Products are cuBLAS's column-major GEMMs on the layout of eigennet/tensor.h:
//   Z = W·X        gemm(N, N): (n_units, n_inputs)·(n_inputs, batch)
//   dL/dW = dZ·Xᵀ  gemm(N, T): (n_units, batch)·(batch, n_inputs)
//   dL/dX = Wᵀ·dZ  gemm(T, N): (n_inputs, n_units)·(n_units, batch)
// cuBLAS without atomics gives the same bits for the same shapes on one GPU model, and every
// reduction of ours adds in a fixed order, so a seed determines every result.
//
// Some calls are held back one call (Pending) so that the pair runs as one kernel: a batch's two
// gathers, a loss and the sum of its values, an activation's derivative and the bias gradient of
// the same layer. A metric's sums are already one call (accumulate_metric). Graphs or not, the same
// kernels run, so results are the same.
#include <climits>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <type_traits>

#include "context.cuh"
#include "cuda_check.cuh"
#include "eigennet/backend.h"
#include "kernels.cuh"

namespace eigennet {
namespace cuda {
namespace {

template <typename V>
std::uint64_t word(V v) {
  if constexpr (std::is_pointer_v<V>) {
    return static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(v));
  } else if constexpr (std::is_enum_v<V> || std::is_integral_v<V>) {
    return static_cast<std::uint64_t>(v);
  } else {
    static_assert(sizeof(V) <= 8);
    std::uint64_t w = 0;
    std::memcpy(&w, &v, sizeof(V));
    return w;
  }
}

// An activation's words in a recorded step: its kind and every argument (exact, no hash).
#define EIGENNET_ACTIVATION_WORDS(a)                                                  \
  word((a).kind), word((a).negative_slope), word((a).threshold), word((a).max_value), \
      word((a).has_max), word((a).alpha)

int blas_int(Index n) {
  if (n > INT_MAX) throw std::length_error("A matrix dimension exceeds cuBLAS's int range.");
  return static_cast<int>(n);
}

enum class Op : std::uint64_t {
  Fill = 1,
  Dense,
  ActivationForward,
  ActivationBackward,
  DenseBackward,
  Dropout,
  Multiply,
  Loss,
  Metric,
  Sum,
  Regularize,
  Optimizer,
  Gather,
  Axpby,
  Extremum,
  CopyRows,
  ScaleColumns,
  Normal,
  Normalize,
  NormalizeBackward,
  Embedding,
  EmbeddingBackward,
  SumSquares,
  ScaleToNorm,
  Constrain,
};

}  // namespace

template <typename T>
class CudaBackend final : public Backend<T> {
 public:
  const char* name() const override { return "cuda"; }
  bool is_host() const override { return false; }

  void* allocate(std::size_t bytes) override {
    flush();
    void* p = nullptr;
    check(cudaMalloc(&p, bytes == 0 ? 1 : bytes), "cudaMalloc");
    return p;
  }
  void deallocate(void* p) noexcept override {
    try {
      flush();
    } catch (...) {  // a failed launch surfaces at the next call that can throw
    }
    cudaStreamSynchronize(stream());
    cudaFree(p);
  }
  void copy_to_device(void* dst, const void* src, std::size_t n) override {
    flush();
    check(cudaMemcpyAsync(dst, src, n, cudaMemcpyHostToDevice, stream()), "cudaMemcpyAsync");
    check(cudaStreamSynchronize(stream()), "cudaStreamSynchronize");
  }
  void copy_to_host(void* dst, const void* src, std::size_t n) override {
    flush();
    check(cudaMemcpyAsync(dst, src, n, cudaMemcpyDeviceToHost, stream()), "cudaMemcpyAsync");
    check(cudaStreamSynchronize(stream()), "cudaStreamSynchronize");
  }
  void copy_on_device(void* dst, const void* src, std::size_t n) override {
    flush();
    check(cudaMemcpyAsync(dst, src, n, cudaMemcpyDeviceToDevice, stream()), "cudaMemcpyAsync");
  }
  void synchronize() override {
    flush();
    check(cudaStreamSynchronize(stream()), "cudaStreamSynchronize");
  }
  void begin_step() override {
    issue_pending();
    m_ctx.steps().begin();
  }
  void end_step() override {
    issue_pending();
    m_ctx.steps().end();
  }

  void fill(T* dst, Index n, T value) override {
    issue_pending();
    cudaStream_t s = stream();
    record({word(Op::Fill), word(dst), word(n), word(value)}, nullptr,
           [=](const DynSlot*) { cuda::fill(dst, n, value, s); });
  }

  void dense_forward(const T* W, const T* b, const T* X, T* Z, T* A, Index n_units, Index n_inputs,
                     Index batch, ActivationSpec act) override {
    issue_pending();
    cudaStream_t s = stream();
    const bool tf32 = use_tf32();
    record({word(Op::Dense), word(W), word(b), word(X), word(Z), word(A), word(n_units),
            word(n_inputs), word(batch), EIGENNET_ACTIVATION_WORDS(act), word(tf32)},
           nullptr, [=](const DynSlot*) {
             // Z = W·X, then Z += b and A = g(Z) in one pass.
             gemm(CUBLAS_OP_N, CUBLAS_OP_N, n_units, batch, n_inputs, W, n_units, X, n_inputs, Z,
                  n_units, tf32);
             cuda::bias_activation(b, Z, A, n_units, batch, act, s);
           });
  }

  void activation_forward(ActivationSpec act, const T* Z, T* A, Index rows, Index cols) override {
    issue_pending();
    cudaStream_t s = stream();
    record({word(Op::ActivationForward), EIGENNET_ACTIVATION_WORDS(act), word(Z), word(A),
            word(rows), word(cols)},
           nullptr, [=](const DynSlot*) { cuda::activation_forward(act, Z, A, rows, cols, s); });
  }

  void activation_backward(ActivationSpec act, const T* Z, const T* A, const T* dA, T* dZ,
                           Index rows, Index cols) override {
    issue_pending();
    Pending p;
    p.kind = Pending::Kind::ActivationBackward;
    p.act = act;
    p.Z = Z;
    p.A = A;
    p.dA = dA;
    p.out = dZ;
    p.rows = rows;
    p.cols = cols;
    const bool fusable = !per_column(act) && act.kind != Activation::Linear && cols <= kFuseColumns;
    if (fusable)
      m_pending = p;
    else
      issue_activation_backward(p);
  }

  void dense_backward(const T* W, const T* X, const T* dZ, T* dW, T* db, T* dX, Index n_units,
                      Index n_inputs, Index batch) override {
    // The bias gradient sums the pending activation derivative as it is computed.
    const bool fused = m_pending.kind == Pending::Kind::ActivationBackward && db &&
                       m_pending.out == dZ && m_pending.rows == n_units && m_pending.cols == batch;
    if (!fused) issue_pending();
    const Pending p = m_pending;
    m_pending = Pending{};
    cudaStream_t s = stream();
    const bool tf32 = use_tf32();
    record({word(Op::DenseBackward), word(fused), EIGENNET_ACTIVATION_WORDS(p.act), word(p.Z),
            word(p.A), word(p.dA), word(W), word(X), word(dZ), word(dW), word(db), word(dX),
            word(n_units), word(n_inputs), word(batch), word(tf32)},
           nullptr, [=](const DynSlot*) {
             // dL/dZ = dL/dA ⊙ g'(Z) (when fused), dL/db = Σ_columns dZ, dL/dW = dZ·Xᵀ,
             // dL/dX = Wᵀ·dZ.
             if (fused)
               cuda::activation_backward_row_sums(p.act, p.Z, p.A, p.dA, p.out, n_units, batch, db,
                                                  s);
             else if (db)
               cuda::row_sums(dZ, n_units, batch, db, s);
             gemm(CUBLAS_OP_N, CUBLAS_OP_T, n_units, n_inputs, batch, dZ, n_units, X, n_inputs, dW,
                  n_units, tf32);
             if (dX)
               gemm(CUBLAS_OP_T, CUBLAS_OP_N, n_inputs, batch, n_units, W, n_units, dZ, n_units, dX,
                    n_inputs, tf32);
           });
  }

  void dropout_forward(const T* in, T* out, T* mask, Index n, double rate, std::uint64_t seed,
                       std::uint64_t counter) override {
    issue_pending();
    cudaStream_t s = stream();
    const T keep_scale = static_cast<T>(1.0 / (1.0 - rate));
    DynSlot d{};
    d.dropout = {seed, counter};
    record({word(Op::Dropout), word(in), word(out), word(mask), word(n), word(rate)}, &d,
           [=](const DynSlot* dyn) {
             cuda::dropout(in, out, mask, n, rate, keep_scale, d.dropout,
                           dyn ? &dyn->dropout : nullptr, s);
           });
  }

  void multiply(const T* a, const T* b, T* out, Index n) override {
    issue_pending();
    cudaStream_t s = stream();
    record({word(Op::Multiply), word(a), word(b), word(out), word(n)}, nullptr,
           [=](const DynSlot*) { cuda::multiply(a, b, out, n, s); });
  }

  void axpby(Index n, T a, const T* x, T b, T* y) override {
    issue_pending();
    cudaStream_t s = stream();
    record({word(Op::Axpby), word(n), word(a), word(x), word(b), word(y)}, nullptr,
           [=](const DynSlot*) { cuda::axpby(n, a, x, b, y, s); });
  }
  void extremum(bool maximum, const T* a, const T* b, T* out, T* mask, Index n) override {
    issue_pending();
    cudaStream_t s = stream();
    record({word(Op::Extremum), word(maximum), word(a), word(b), word(out), word(mask), word(n)},
           nullptr, [=](const DynSlot*) { cuda::extremum(maximum, a, b, out, mask, n, s); });
  }
  void copy_rows(const T* src, Index src_rows, Index src_row, T* dst, Index dst_rows, Index dst_row,
                 Index n_rows, Index cols) override {
    issue_pending();
    cudaStream_t s = stream();
    record({word(Op::CopyRows), word(src), word(src_rows), word(src_row), word(dst), word(dst_rows),
            word(dst_row), word(n_rows), word(cols)},
           nullptr, [=](const DynSlot*) {
             cuda::copy_rows(src, src_rows, src_row, dst, dst_rows, dst_row, n_rows, cols, s);
           });
  }
  void scale_columns(T* M, Index rows, Index cols, const T* w) override {
    issue_pending();
    cudaStream_t s = stream();
    record({word(Op::ScaleColumns), word(M), word(rows), word(cols), word(w)}, nullptr,
           [=](const DynSlot*) { cuda::scale_columns(M, rows, cols, w, s); });
  }
  void normal_fill(T* out, Index n, double mean, double stddev, std::uint64_t seed,
                   std::uint64_t counter) override {
    issue_pending();
    cudaStream_t s = stream();
    DynSlot d{};
    d.dropout = {seed, counter};  // the step counter changes on every replay
    record({word(Op::Normal), word(out), word(n), word(mean), word(stddev)}, &d,
           [=](const DynSlot* dyn) {
             cuda::normal_fill(out, n, mean, stddev, d.dropout, dyn ? &dyn->dropout : nullptr, s);
           });
  }
  void normalize_forward(NormAxis axis, const T* X, Index rows, Index cols, T* mean, T* var,
                         bool compute_stats, double eps, bool eps_outside, const T* gamma,
                         const T* beta, T* Y) override {
    issue_pending();
    cudaStream_t s = stream();
    record({word(Op::Normalize), word(axis), word(X), word(rows), word(cols), word(mean), word(var),
            word(compute_stats), word(eps), word(eps_outside), word(gamma), word(beta), word(Y)},
           nullptr, [=](const DynSlot*) {
             cuda::normalize_forward(axis, X, rows, cols, mean, var, compute_stats, eps,
                                     eps_outside, gamma, beta, Y, s);
           });
  }
  void normalize_backward(NormAxis axis, const T* X, const T* dY, Index rows, Index cols,
                          const T* mean, const T* var, bool batch_stats, double eps,
                          bool eps_outside, const T* gamma, T* dX, T* dgamma, T* dbeta) override {
    issue_pending();
    cudaStream_t s = stream();
    record({word(Op::NormalizeBackward), word(axis), word(X), word(dY), word(rows), word(cols),
            word(mean), word(var), word(batch_stats), word(eps), word(eps_outside), word(gamma),
            word(dX), word(dgamma), word(dbeta)},
           nullptr, [=](const DynSlot*) {
             cuda::normalize_backward(axis, X, dY, rows, cols, mean, var, batch_stats, eps,
                                      eps_outside, gamma, dX, dgamma, dbeta, s);
           });
  }
  void embedding_forward(const T* table, Index dim, Index vocab, const T* idx, Index L, Index cols,
                         T* out) override {
    issue_pending();
    cudaStream_t s = stream();
    record({word(Op::Embedding), word(table), word(dim), word(vocab), word(idx), word(L),
            word(cols), word(out)},
           nullptr, [=](const DynSlot*) {
             cuda::embedding_forward(table, dim, vocab, idx, L, cols, out, s);
           });
  }
  void embedding_backward(const T* dOut, Index dim, Index vocab, const T* idx, Index L, Index cols,
                          T* dtable) override {
    issue_pending();
    cudaStream_t s = stream();
    record({word(Op::EmbeddingBackward), word(dOut), word(dim), word(vocab), word(idx), word(L),
            word(cols), word(dtable)},
           nullptr, [=](const DynSlot*) {
             cuda::embedding_backward(dOut, dim, vocab, idx, L, cols, dtable, s);
           });
  }

  void loss(const LossSpec& spec, const T* P, const T* Y, const T* class_alpha, Index n_out,
            Index batch, T grad_scale, T* per_sample, T* grad) override {
    issue_pending();
    m_pending = Pending{};
    m_pending.kind = Pending::Kind::Loss;
    m_pending.loss = spec;
    m_pending.Z = P;
    m_pending.A = Y;
    m_pending.alpha = class_alpha;
    m_pending.rows = n_out;
    m_pending.cols = batch;
    m_pending.scale = grad_scale;
    m_pending.per_sample = per_sample;
    m_pending.out = grad;
  }

  void accumulate_metric(const MetricSpec& spec, const T* thresholds, const T* A, const T* Y,
                         const T* w, Index n_out, Index batch, double* acc) override {
    issue_pending();
    cudaStream_t s = stream();
    const MetricSpec& m = spec;
    record({word(Op::Metric),
            word(m.kind),
            word(m.threshold),
            word(m.argmax),
            word(m.k),
            word(m.spacing),
            word(m.n_thresholds),
            word(m.top_k),
            word(m.class_id),
            word(m.multi_label),
            word(m.from_logits),
            word(m.curve),
            word(m.summation),
            word(m.value),
            word(m.average),
            word(m.beta),
            word(m.aggregation),
            word(m.num_regressors),
            word(m.label_weighted),
            word(m.sorted_ids),
            word(thresholds),
            word(A),
            word(Y),
            word(w),
            word(n_out),
            word(batch),
            word(acc)},
           nullptr, [=](const DynSlot*) {
             cuda::accumulate_metric(spec, thresholds, A, Y, w, n_out, batch, acc, s);
           });
  }

  void sum_into(const T* x, Index n, double weight, double* acc) override {
    // A pending loss or metric whose values these are adds them up in its own kernel.
    const bool fused = m_pending.kind == Pending::Kind::Loss && m_pending.per_sample == x &&
                       m_pending.cols == n && n <= kFuseBatch;
    if (!fused) issue_pending();
    const Pending p = m_pending;
    m_pending = Pending{};
    cudaStream_t s = stream();
    record({word(Op::Sum), word(p.kind), word(p.loss.kind), word(p.loss.delta), word(p.loss.alpha),
            word(p.loss.gamma), word(p.loss.balanced), word(p.Z), word(p.A), word(p.alpha),
            word(p.rows), word(p.scale), word(p.out), word(x), word(n), word(weight), word(acc)},
           nullptr, [=](const DynSlot*) {
             if (!fused)
               cuda::sum_into(x, n, weight, acc, s);
             else
               cuda::loss_sum(p.loss, p.Z, p.A, p.alpha, p.rows, n, p.scale, p.per_sample, p.out,
                              weight, acc, s);
           });
  }

  void regularize(const T* w, T* grad, Index n, double l1, double l2, double weight,
                  double* penalty) override {
    issue_pending();
    cudaStream_t s = stream();
    double* partials = m_ctx.partials();
    record({word(Op::Regularize), word(w), word(grad), word(n), word(l1), word(l2), word(weight),
            word(penalty)},
           nullptr, [=](const DynSlot*) {
             cuda::regularize(w, grad, n, l1, l2, weight, penalty, partials, s);
           });
  }

  void sum_squares(const T* x, Index n, double* out, bool add) override {
    issue_pending();
    cudaStream_t s = stream();
    double* partials = m_ctx.partials();
    record({word(Op::SumSquares), word(x), word(n), word(out), word(add)}, nullptr,
           [=](const DynSlot*) { cuda::sum_squares(x, n, out, add, partials, s); });
  }
  void scale_to_norm(T* x, Index n, const double* sumsq, double clip) override {
    issue_pending();
    cudaStream_t s = stream();
    record({word(Op::ScaleToNorm), word(x), word(n), word(sumsq), word(clip)}, nullptr,
           [=](const DynSlot*) { cuda::scale_to_norm(x, n, sumsq, clip, s); });
  }
  void constrain(const Constraint& c, T* w, Index outer, Index reduce, Index inner) override {
    issue_pending();
    cudaStream_t s = stream();
    record({word(Op::Constrain), word(c.kind), word(c.min_value), word(c.max_value), word(c.rate),
            word(w), word(outer), word(reduce), word(inner)},
           nullptr, [=](const DynSlot*) { cuda::constrain(c, w, outer, reduce, inner, s); });
  }
  void optimizer_step(const OptimizerConfig& cfg, double lr, std::int64_t step, T* params,
                      const T* grads, T* state, Index n) override {
    issue_pending();
    cudaStream_t s = stream();
    const UpdateConsts<T> c = update_consts<T>(cfg, lr, step);
    const int slots = cfg.rule_slots();
    const bool ema = cfg.use_ema;
    DynSlot d{};
    // The step's rates change on every replay; in double, cast in the kernel as on the CPU.
    d.optimizer = step_values(cfg, lr, step);
    record({word(Op::Optimizer), word(c.kind), word(c.momentum), word(c.nesterov), word(c.amsgrad),
            word(c.centered),    word(c.mu),   word(c.rho),      word(c.eps),      word(c.c1),
            word(c.c2),          word(c.b1),   word(c.b2),       word(c.wd),       word(c.clip),
            word(c.power),       word(c.l1),   word(c.l2),       word(c.shrink),   word(c.beta),
            word(ema),           word(params), word(grads),      word(state),      word(n)},
           &d, [=](const DynSlot* dyn) {
             cuda::optimizer_step(c, d.optimizer, dyn ? &dyn->optimizer : nullptr, params, grads,
                                  state, n, slots, ema, s);
           });
  }

  void permutation(std::int64_t* idx, Index n, std::uint64_t seed) override {
    flush();
    cuda::permutation(idx, n, seed, m_ctx.sort_scratch(n), stream());
  }

  void gather_columns(const T* src, Index rows, const std::int64_t* idx, Index first, Index count,
                      T* dst) override {
    // A batch's inputs and targets (same order, offset and count) are gathered by one kernel.
    if (m_pending.kind == Pending::Kind::Gather && m_pending.gather.idx == idx &&
        m_pending.gather.first == first && m_pending.cols == count && m_pending.out != dst) {
      const Pending p = m_pending;
      m_pending = Pending{};
      GatherDyn g = p.gather;
      g.src2 = src;
      issue_gather(g, p.rows, rows, count, p.out, dst);
      return;
    }
    issue_pending();
    m_pending = Pending{};
    m_pending.kind = Pending::Kind::Gather;
    m_pending.gather = {src, nullptr, idx, first};
    m_pending.rows = rows;
    m_pending.cols = count;
    m_pending.out = dst;
  }

 private:
  /// Fusion limits: past these sizes the separate kernels spread better over the GPU (the
  /// fused bias gradient runs one block per 32 rows; at batch 1024 it cost an MNIST step 15 µs).
  static constexpr Index kFuseColumns = 256;
  static constexpr Index kFuseBatch = Index(1) << 14;

  /// A call held back because the next one may fuse with it: a batch's two gathers, a loss and
  /// the sum of its values, an activation's derivative and the bias gradient that
  /// sums it. Every other call issues it first.
  struct Pending {
    enum class Kind : std::uint64_t { None, Gather, Loss, ActivationBackward };
    Kind kind = Kind::None;
    GatherDyn gather{};
    LossSpec loss{};
    ActivationSpec act{};
    const T* Z = nullptr;  // activation: Z; loss: P; metric: A
    const T* A = nullptr;  // activation: A; loss and metric: Y
    const T* dA = nullptr;
    const T* alpha = nullptr;  // loss: class_alpha
    T* out = nullptr;          // gather: dst; activation: dZ; loss: grad
    T* per_sample = nullptr;
    T scale = 0;
    Index rows = 0, cols = 0;  // gather: rows, count; loss and metric: n_out, batch
  };

  cudaStream_t stream() const { return m_ctx.stream(); }
  static bool use_tf32() { return std::is_same_v<T, float> && cuda_tf32().load(); }

  /// Issues the pending call, then launches or records nothing more: for calls that are not
  /// kernels, which also end a recording step.
  void flush() {
    issue_pending();
    m_ctx.steps().flush();
  }

  void issue_pending() {
    const Pending p = m_pending;
    m_pending = Pending{};
    cudaStream_t s = stream();
    switch (p.kind) {
      case Pending::Kind::None: break;
      case Pending::Kind::Gather: issue_gather(p.gather, p.rows, 0, p.cols, p.out, nullptr); break;
      case Pending::Kind::ActivationBackward: issue_activation_backward(p); break;
      case Pending::Kind::Loss:
        record({word(Op::Loss), word(p.loss.kind), word(p.loss.delta), word(p.loss.alpha),
                word(p.loss.gamma), word(p.loss.balanced), word(p.Z), word(p.A), word(p.alpha),
                word(p.rows), word(p.cols), word(p.scale), word(p.per_sample), word(p.out)},
               nullptr, [=](const DynSlot*) {
                 cuda::loss(p.loss, p.Z, p.A, p.alpha, p.rows, p.cols, p.scale, p.per_sample, p.out,
                            s);
               });
        break;
    }
  }

  void issue_activation_backward(const Pending& p) {
    cudaStream_t s = stream();
    record({word(Op::ActivationBackward), EIGENNET_ACTIVATION_WORDS(p.act), word(p.Z), word(p.A),
            word(p.dA), word(p.out), word(p.rows), word(p.cols)},
           nullptr, [=](const DynSlot*) {
             cuda::activation_backward(p.act, p.Z, p.A, p.dA, p.out, p.rows, p.cols, s);
           });
  }

  /// A gather of one or two matrices; as the first op of a step it carries the step's
  /// per-step arguments.
  void issue_gather(GatherDyn g, Index rows, Index rows2, Index count, T* dst, T* dst2) {
    cudaStream_t s = stream();
    DynSlot d{};
    d.gather = g;
    record(
        {word(Op::Gather), word(rows), word(rows2), word(count), word(dst), word(dst2)}, &d,
        [=](const DynSlot* dyn) {
          cuda::gather_columns(d.gather, dyn ? &dyn->gather : nullptr, rows, rows2, count, dst,
                               dst2, nullptr, s);
        },
        [=](const DynCarry& carry) {
          cuda::gather_columns(d.gather, nullptr, rows, rows2, count, dst, dst2, &carry, s);
        });
  }

  void record(std::initializer_list<std::uint64_t> words, const DynSlot* dyn,
              StepGraphs::Launch launch, StepGraphs::Carrier carrier = nullptr) {
    m_ctx.steps().run(words, dyn, std::move(launch), std::move(carrier));
  }

  /// C = op(A)·op(B), all column-major with the given leading dimensions.
  void gemm(cublasOperation_t ta, cublasOperation_t tb, Index m, Index n, Index k, const T* A,
            Index lda, const T* B, Index ldb, T* C, Index ldc, bool tf32) {
    const T one = 1, zero = 0;
    cublasHandle_t h = m_ctx.blas(tf32, k);
    if constexpr (std::is_same_v<T, float>) {
      check(cublasSgemm(h, ta, tb, blas_int(m), blas_int(n), blas_int(k), &one, A, blas_int(lda), B,
                        blas_int(ldb), &zero, C, blas_int(ldc)),
            "cublasSgemm");
    } else {
      check(cublasDgemm(h, ta, tb, blas_int(m), blas_int(n), blas_int(k), &one, A, blas_int(lda), B,
                        blas_int(ldb), &zero, C, blas_int(ldc)),
            "cublasDgemm");
    }
  }

  Context m_ctx;
  Pending m_pending;
};

/// Why cuda_available() is false, as a sentence.
std::string unavailable_reason() {
  int n = 0;
  const cudaError_t e = cudaGetDeviceCount(&n);
  cudaGetLastError();
  if (e != cudaSuccess)
    return std::string("No CUDA GPU is available (") + cudaGetErrorString(e) + ").";
  if (n == 0) return "No CUDA GPU is present.";
  cudaDeviceProp p{};
  cudaGetDeviceProperties(&p, 0);
  return std::string("This eigennet build's GPU code cannot run on ") + p.name +
         " (compute capability " + std::to_string(p.major) + "." + std::to_string(p.minor) +
         "): rebuild with -Ccmake.define.CMAKE_CUDA_ARCHITECTURES=" + std::to_string(p.major) +
         std::to_string(p.minor) + ".";
}

}  // namespace cuda

bool cuda_available() {
  static const bool available = [] {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess || n == 0) {
      cudaGetLastError();
      return false;
    }
    return cuda::probe_kernel();
  }();
  return available;
}

template <typename T>
std::unique_ptr<Backend<T>> make_cuda_backend() {
  if (!cuda_available()) throw std::runtime_error(cuda::unavailable_reason());
  return std::make_unique<cuda::CudaBackend<T>>();
}

template std::unique_ptr<Backend<float>> make_cuda_backend<float>();
template std::unique_ptr<Backend<double>> make_cuda_backend<double>();

}  // namespace eigennet
