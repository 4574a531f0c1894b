#pragma once
// The C++ suites run once per backend: typed tests over On<T, device>, with the CUDA variants
// skipped at run time when the build has no CUDA backend or no GPU is present.
//
// Kernel tests pass host vectors to Backend<T> calls. On a device backend they go through
// HostShim, which mirrors each pointer argument into device memory (equal host pointers share one
// device array, so in-place calls stay in place), runs the call on the device and copies every
// written array back. Model and Trainer tests use the real backend: they only hand host memory to
// DataSet, set_params and get_params, which copy.
//
// EIGENNET_TEST_CUDA_AS_CPU=1 serves the CUDA slot with the CPU backend behind HostShim, for
// kernel and model tests alike, so that the shim, the per-device plumbing and the device paths of
// Model and Trainer (is_host() false: copies, gathers into fixed batch buffers) are exercised on
// machines without a GPU (CI does this).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "eigennet/backend.h"

namespace eigennet::test {

enum class DeviceKind { Cpu, Cuda };

template <typename T, DeviceKind D>
struct On {
  using Scalar = T;
  static constexpr DeviceKind device = D;
};

using Backends = ::testing::Types<On<float, DeviceKind::Cpu>, On<double, DeviceKind::Cpu>,
                                  On<float, DeviceKind::Cuda>, On<double, DeviceKind::Cuda>>;

/// Names the typed variants float_cpu, double_cpu, float_cuda, double_cuda.
struct BackendNames {
  template <typename Param>
  static std::string GetName(int) {
    return std::string(std::is_same_v<typename Param::Scalar, float> ? "float" : "double") +
           (Param::device == DeviceKind::Cpu ? "_cpu" : "_cuda");
  }
};

/// Both devices, for value-parameterised suites (::testing::Combine with their cases).
inline auto AllDevices() { return ::testing::Values(DeviceKind::Cpu, DeviceKind::Cuda); }
inline std::string device_suffix(DeviceKind d) { return d == DeviceKind::Cpu ? "_cpu" : "_cuda"; }

inline bool cuda_as_cpu() {
  const char* v = std::getenv("EIGENNET_TEST_CUDA_AS_CPU");
  return v && *v && *v != '0';
}

/// Whether tests of this device can run here.
inline bool device_present(DeviceKind d) {
  return d == DeviceKind::Cpu || cuda_as_cpu() || cuda_available();
}

/// The backend behind the CUDA slot: the CUDA backend, or the CPU one standing in for it.
template <typename T>
std::unique_ptr<Backend<T>> cuda_slot_backend() {
  return cuda_as_cpu() ? make_cpu_backend<T>() : make_cuda_backend<T>();
}

/// A Backend<T> over host memory that runs each call on `inner` (see the file comment).
template <typename T>
class HostShim final : public Backend<T> {
 public:
  explicit HostShim(std::unique_ptr<Backend<T>> inner) : m_d(std::move(inner)) {}

  const char* name() const override { return m_d->name(); }
  /// Its memory is host memory, but it stands for a device: a Model built on it takes its device
  /// paths (copies through this interface), which is what CUDA-as-CPU model tests should run.
  bool is_host() const override { return false; }
  void* allocate(std::size_t bytes) override {
    return ::operator new(std::max<std::size_t>(bytes, 1));
  }
  void deallocate(void* p) noexcept override { ::operator delete(p); }
  void copy_to_device(void* dst, const void* src, std::size_t n) override {
    std::memcpy(dst, src, n);
  }
  void copy_to_host(void* dst, const void* src, std::size_t n) override {
    std::memcpy(dst, src, n);
  }
  void copy_on_device(void* dst, const void* src, std::size_t n) override {
    std::memcpy(dst, src, n);
  }
  void synchronize() override {}

  void fill(T* dst, Index n, T value) override {
    Mirror m(*m_d, m_pool);
    m_d->fill(m.out(dst, n), n, value);
  }
  void dense_forward(const T* W, const T* b, const T* X, T* Z, T* A, Index n_units, Index n_inputs,
                     Index batch, ActivationSpec act) override {
    Mirror m(*m_d, m_pool);
    const T* dW = m.in(W, n_units * n_inputs);
    const T* db = m.in(b, n_units);
    const T* dX = m.in(X, n_inputs * batch);
    T* dZ = m.out(Z, n_units * batch);
    m_d->dense_forward(dW, db, dX, dZ, m.out(A, n_units * batch), n_units, n_inputs, batch, act);
  }
  void activation_forward(ActivationSpec act, const T* Z, T* A, Index rows, Index cols) override {
    Mirror m(*m_d, m_pool);
    const T* dZ = m.in(Z, rows * cols);
    m_d->activation_forward(act, dZ, m.out(A, rows * cols), rows, cols);
  }
  void activation_backward(ActivationSpec act, const T* Z, const T* A, const T* dA, T* dZ,
                           Index rows, Index cols) override {
    Mirror m(*m_d, m_pool);
    const Index n = rows * cols;
    const T* z = m.in(Z, n);
    const T* a = m.in(A, n);
    const T* da = m.in(dA, n);
    m_d->activation_backward(act, z, a, da, m.out(dZ, n), rows, cols);
  }
  void dense_backward(const T* W, const T* X, const T* dZ, T* dW, T* db, T* dX, Index n_units,
                      Index n_inputs, Index batch) override {
    Mirror m(*m_d, m_pool);
    const T* w = m.in(W, n_units * n_inputs);
    const T* x = m.in(X, n_inputs * batch);
    const T* dz = m.in(dZ, n_units * batch);
    T* dw = m.out(dW, n_units * n_inputs);
    T* dbias = m.out(db, n_units);
    m_d->dense_backward(w, x, dz, dw, dbias, m.out(dX, n_inputs * batch), n_units, n_inputs, batch);
  }
  void dropout_forward(const T* in, T* out, T* mask, Index n, double rate, std::uint64_t seed,
                       std::uint64_t counter) override {
    Mirror m(*m_d, m_pool);
    const T* i = m.in(in, n);
    T* o = m.out(out, n);
    m_d->dropout_forward(i, o, m.out(mask, n), n, rate, seed, counter);
  }
  void multiply(const T* a, const T* b, T* out, Index n) override {
    Mirror m(*m_d, m_pool);
    const T* da = m.in(a, n);
    const T* db = m.in(b, n);
    m_d->multiply(da, db, m.out(out, n), n);
  }
  void loss(const LossSpec& kind, const T* P, const T* Y, const T* class_alpha, Index n_out,
            Index batch, T grad_scale, T* per_sample, T* grad) override {
    Mirror m(*m_d, m_pool);
    const T* p = m.in(P, n_out * batch);
    const T* y = m.in(Y, (is_sparse(kind) ? 1 : n_out) * batch);
    const T* a = class_alpha ? m.in(class_alpha, n_out) : nullptr;
    T* ps = m.out(per_sample, batch);
    m_d->loss(kind, p, y, a, n_out, batch, grad_scale, ps, m.out(grad, n_out * batch));
  }
  void accumulate_metric(const MetricSpec& spec, const T* thresholds, const T* A, const T* Y,
                         const T* w, Index n_out, Index batch, double* acc) override {
    Mirror m(*m_d, m_pool);
    const Index n_y = metric_is_sparse(spec.kind) ? 1 : n_out;
    const Index n_t = metric_n_constants(spec, n_out);
    const T* t = m.in(thresholds, n_t);
    const T* a = m.in(A, n_out * batch);
    const T* y = m.in(Y, n_y * batch);
    const T* dw = m.in(w, batch);
    m_d->accumulate_metric(spec, t, a, y, dw, n_out, batch, m.out(acc, metric_n_sums(spec, n_out)));
  }
  void sum_into(const T* x, Index n, double weight, double* acc) override {
    Mirror m(*m_d, m_pool);
    const T* dx = m.in(x, n);
    m_d->sum_into(dx, n, weight, m.out(acc, 1));
  }
  void regularize(const T* w, T* grad, Index n, double l1, double l2, double weight,
                  double* penalty) override {
    Mirror m(*m_d, m_pool);
    const T* dw = m.in(w, n);
    T* g = m.out(grad, n);
    m_d->regularize(dw, g, n, l1, l2, weight, m.out(penalty, 1));
  }
  void sum_squares(const T* x, Index n, double* out, bool add) override {
    Mirror m(*m_d, m_pool);
    const T* dx = m.in(x, n);
    m_d->sum_squares(dx, n, m.out(out, 1), add);
  }
  void scale_to_norm(T* x, Index n, const double* sumsq, double clip) override {
    Mirror m(*m_d, m_pool);
    T* dx = m.out(x, n);
    m_d->scale_to_norm(dx, n, m.in(sumsq, 1), clip);
  }
  void constrain(const Constraint& c, T* w, Index outer, Index reduce, Index inner) override {
    Mirror m(*m_d, m_pool);
    m_d->constrain(c, m.out(w, outer * reduce * inner), outer, reduce, inner);
  }
  void optimizer_step(const OptimizerConfig& cfg, double lr, std::int64_t step, T* params,
                      const T* grads, T* state, Index n) override {
    Mirror m(*m_d, m_pool);
    T* p = m.out(params, n);
    const T* g = m.in(grads, n);
    m_d->optimizer_step(cfg, lr, step, p, g, m.out(state, n * cfg.n_slots()), n);
  }
  void axpby(Index n, T a, const T* x, T b, T* y) override {
    Mirror m(*m_d, m_pool);
    const T* dx = m.in(x, n);
    m_d->axpby(n, a, dx, b, m.out(y, n));
  }
  void extremum(bool maximum, const T* a, const T* b, T* out, T* mask, Index n) override {
    Mirror m(*m_d, m_pool);
    const T* da = m.in(a, n);
    const T* db = m.in(b, n);
    T* o = m.out(out, n);
    m_d->extremum(maximum, da, db, o, m.out(mask, n), n);
  }
  void copy_rows(const T* src, Index src_rows, Index src_row, T* dst, Index dst_rows, Index dst_row,
                 Index n_rows, Index cols) override {
    Mirror m(*m_d, m_pool);
    const T* s = m.in(src, src_rows * cols);
    m_d->copy_rows(s, src_rows, src_row, m.out(dst, dst_rows * cols), dst_rows, dst_row, n_rows,
                   cols);
  }
  void scale_columns(T* M, Index rows, Index cols, const T* w) override {
    Mirror m(*m_d, m_pool);
    T* dm = m.out(M, rows * cols);
    m_d->scale_columns(dm, rows, cols, m.in(w, cols));
  }
  void normal_fill(T* out, Index n, double mean, double stddev, std::uint64_t seed,
                   std::uint64_t counter) override {
    Mirror m(*m_d, m_pool);
    m_d->normal_fill(m.out(out, n), n, mean, stddev, seed, counter);
  }
  void normalize_forward(NormAxis axis, const T* X, Index rows, Index cols, T* mean, T* var,
                         bool compute_stats, double eps, bool eps_outside, const T* gamma,
                         const T* beta, T* Y) override {
    Mirror m(*m_d, m_pool);
    const Index n_stats = axis == NormAxis::Batch ? rows : cols;
    const T* x = m.in(X, rows * cols);
    T* mu = m.out(mean, n_stats);
    T* v = m.out(var, n_stats);
    const T* g = m.in(gamma, rows);
    const T* b = m.in(beta, rows);
    m_d->normalize_forward(axis, x, rows, cols, mu, v, compute_stats, eps, eps_outside, g, b,
                           m.out(Y, rows * cols));
  }
  void normalize_backward(NormAxis axis, const T* X, const T* dY, Index rows, Index cols,
                          const T* mean, const T* var, bool batch_stats, double eps,
                          bool eps_outside, const T* gamma, T* dX, T* dgamma, T* dbeta) override {
    Mirror m(*m_d, m_pool);
    const Index n_stats = axis == NormAxis::Batch ? rows : cols;
    const T* x = m.in(X, rows * cols);
    const T* dy = m.in(dY, rows * cols);
    const T* mu = m.in(mean, n_stats);
    const T* v = m.in(var, n_stats);
    const T* g = m.in(gamma, rows);
    T* dx = m.out(dX, rows * cols);
    T* dg = m.out(dgamma, rows);
    m_d->normalize_backward(axis, x, dy, rows, cols, mu, v, batch_stats, eps, eps_outside, g, dx,
                            dg, m.out(dbeta, rows));
  }
  void embedding_forward(const T* table, Index dim, Index vocab, const T* idx, Index L, Index cols,
                         T* out) override {
    Mirror m(*m_d, m_pool);
    const T* t = m.in(table, dim * vocab);
    const T* i = m.in(idx, L * cols);
    m_d->embedding_forward(t, dim, vocab, i, L, cols, m.out(out, L * dim * cols));
  }
  void embedding_backward(const T* dOut, Index dim, Index vocab, const T* idx, Index L, Index cols,
                          T* dtable) override {
    Mirror m(*m_d, m_pool);
    const T* d = m.in(dOut, L * dim * cols);
    const T* i = m.in(idx, L * cols);
    m_d->embedding_backward(d, dim, vocab, i, L, cols, m.out(dtable, dim * vocab));
  }
  void permutation(std::int64_t* idx, Index n, std::uint64_t seed) override {
    Mirror m(*m_d, m_pool);
    m_d->permutation(m.out(idx, n), n, seed);
  }
  void gather_columns(const T* src, Index rows, const std::int64_t* idx, Index first, Index count,
                      T* dst) override {
    Mirror m(*m_d, m_pool);
    std::int64_t cols = 0;
    for (Index j = 0; j < count; ++j) cols = std::max(cols, idx[first + j] + 1);
    const T* s = m.in(src, rows * cols);
    const std::int64_t* i = m.in(idx, first + count);
    m_d->gather_columns(s, rows, i, first, count, m.out(dst, rows * count));
  }

 private:
  /// Device arrays reused across calls: a shimmed test makes thousands of calls (finite
  /// differences), and a device allocation each would dominate its time.
  class Pool {
   public:
    explicit Pool(Device& d) : m_dev(d) {}
    Buffer<char> take(Index bytes) {
      for (std::size_t i = 0; i < m_free.size(); ++i)
        if (m_free[i].size() >= bytes) {
          Buffer<char> b = std::move(m_free[i]);
          m_free.erase(m_free.begin() + static_cast<std::ptrdiff_t>(i));
          return b;
        }
      Index size = 256;
      while (size < bytes) size *= 2;
      return Buffer<char>(m_dev, size);
    }
    void give(Buffer<char> b) { m_free.push_back(std::move(b)); }

   private:
    Device& m_dev;
    std::vector<Buffer<char>> m_free;
  };

  /// The device copies of one call's arguments; written ones go back to the host at the end.
  class Mirror {
   public:
    Mirror(Device& d, Pool& pool)
        : m_dev(d), m_pool(pool), m_uncaught(std::uncaught_exceptions()) {}
    // Copies back unless the call threw (a second exception while unwinding would terminate).
    ~Mirror() noexcept(false) {
      const bool copy = std::uncaught_exceptions() <= m_uncaught;
      std::vector<Entry> entries;
      entries.swap(m_entries);
      for (Entry& e : entries) {
        if (copy && e.written && e.bytes > 0)
          m_dev.copy_to_host(e.host, e.dev.data(), static_cast<std::size_t>(e.bytes));
        m_pool.give(std::move(e.dev));
      }
    }
    Mirror(const Mirror&) = delete;
    Mirror& operator=(const Mirror&) = delete;

    template <typename E>
    const E* in(const E* host, Index n) {
      return static_cast<const E*>(map(const_cast<E*>(host), n * Index(sizeof(E)), false));
    }
    /// Written arrays are uploaded too: some calls accumulate into them or read them first.
    template <typename E>
    E* out(E* host, Index n) {
      return static_cast<E*>(map(host, n * Index(sizeof(E)), true));
    }

   private:
    struct Entry {
      char* host;
      Index bytes;
      Buffer<char> dev;
      bool written;
    };
    void* map(void* host_ptr, Index bytes, bool written) {
      if (!host_ptr) return nullptr;
      char* host = static_cast<char*>(host_ptr);
      for (Entry& e : m_entries) {
        if (e.host == host && e.bytes == bytes) {
          e.written = e.written || written;
          return e.dev.data();
        }
        // Separate device copies of overlapping host ranges would not alias as the call expects.
        if (host < e.host + e.bytes && e.host < host + bytes)
          throw std::logic_error("HostShim: overlapping arguments of different extents");
      }
      Buffer<char> dev = m_pool.take(bytes);
      if (bytes > 0) m_dev.copy_to_device(dev.data(), host, static_cast<std::size_t>(bytes));
      m_entries.push_back({host, bytes, std::move(dev), written});
      return m_entries.back().dev.data();
    }
    Device& m_dev;
    Pool& m_pool;
    int m_uncaught;
    std::vector<Entry> m_entries;
  };

  std::unique_ptr<Backend<T>> m_d;
  Pool m_pool{*m_d};
};

/// The backend a kernel test calls with host vectors.
template <typename T>
std::unique_ptr<Backend<T>> kernel_backend(DeviceKind d) {
  if (d == DeviceKind::Cpu) return make_cpu_backend<T>();
  return std::make_unique<HostShim<T>>(cuda_slot_backend<T>());
}

/// The backend a Model or Trainer test builds on.
template <typename T>
std::unique_ptr<Backend<T>> model_backend(DeviceKind d) {
  if (d == DeviceKind::Cpu) return make_cpu_backend<T>();
  if (cuda_as_cpu()) return kernel_backend<T>(d);
  return make_cuda_backend<T>();
}

/// Base of the per-device typed suites: `be` takes host pointers on every device.
template <typename Param>
class OnBackend : public ::testing::Test {
 protected:
  using T = typename Param::Scalar;
  void SetUp() override {
    if (!device_present(Param::device)) GTEST_SKIP() << "no CUDA backend or no GPU";
    be = kernel_backend<T>(Param::device);
  }
  std::unique_ptr<Backend<T>> be;
};

}  // namespace eigennet::test
