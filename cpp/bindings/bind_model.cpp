// Model32 / Model64 and DataSet32 / DataSet64: one model with its trainer per Python object.
// Every pass releases the GIL and holds the model's mutex, so concurrent calls are serialised.
#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "collective_capsule.h"
#include "common.h"
#include "eigennet/backend.h"

namespace eigennet::bindings {
namespace {

/// The core's view of a transport module's capsule (collective_capsule.h).
class CapsuleCollective final : public Collective {
 public:
  explicit CapsuleCollective(const EigennetCollective& c) : m_c(c) {}
  Index rank() const override { return static_cast<Index>(m_c.rank); }
  Index size() const override { return static_cast<Index>(m_c.size); }
  void allgather(void* all, std::size_t bytes) override {
    char err[512] = {0};
    if (m_c.allgather(m_c.ctx, all, bytes, err, sizeof err) != 0) throw std::runtime_error(err);
  }
  void alltoall(const void* send, void* recv, std::size_t bytes) override {
    char err[512] = {0};
    if (m_c.alltoall(m_c.ctx, send, recv, bytes, err, sizeof err) != 0)
      throw std::runtime_error(err);
  }

 private:
  EigennetCollective m_c;
};

/// fit_epoch's split: `shards` shards all computed here, or with a collective capsule one per
/// process (shards must then be its size), which with own_shard passes its own data.
ShardPlan shard_plan(Index shards, const py::object& collective, bool own_shard,
                     std::unique_ptr<Collective>& holder) {
  if (shards < 1 || shards > kMaxShards)
    throw py::value_error("shards must be an integer in [1, " + std::to_string(kMaxShards) +
                          "], got " + std::to_string(shards));
  ShardPlan plan;
  plan.shards = shards;
  plan.count = shards;
  if (own_shard && collective.is_none())
    throw py::value_error(
        "own_shard=True needs a collective: each process passes its own shard of the data.");
  if (collective.is_none()) return plan;
  if (!PyCapsule_CheckExact(collective.ptr()) ||
      !PyCapsule_IsValid(collective.ptr(), EIGENNET_COLLECTIVE_CAPSULE))
    throw py::value_error(std::string("collective must be a capsule named ") +
                          EIGENNET_COLLECTIVE_CAPSULE + " (from eigennet._mpi), got " +
                          py::str(py::type::of(collective)).cast<std::string>());
  const auto* c = static_cast<const EigennetCollective*>(
      PyCapsule_GetPointer(collective.ptr(), EIGENNET_COLLECTIVE_CAPSULE));
  if (c->version != EIGENNET_COLLECTIVE_VERSION || !c->allgather || !c->alltoall)
    throw py::value_error("collective has interface version " + std::to_string(c->version) +
                          ", this core speaks " + std::to_string(EIGENNET_COLLECTIVE_VERSION));
  if (c->size != shards || c->rank < 0 || c->rank >= c->size)
    throw py::value_error("collective has rank " + std::to_string(c->rank) + " of " +
                          std::to_string(c->size) + " processes, but shards is " +
                          std::to_string(shards));
  holder = std::make_unique<CapsuleCollective>(*c);
  plan.first = c->rank;
  plan.count = 1;
  plan.collective = holder.get();
  plan.own_data = own_shard;
  return plan;
}

template <typename T>
struct PyModel;

/// What a forked child must renew in every live model: its locks (a thread of the parent may
/// have held them at fork, and that thread does not exist in the child).
struct ForkSafe {
  ForkSafe();
  virtual ~ForkSafe();
  virtual void renew_after_fork() noexcept = 0;
};

std::mutex& live_models_mutex() {
  static std::mutex m;
  return m;
}
std::vector<ForkSafe*>& live_models() {
  static std::vector<ForkSafe*> v;
  return v;
}

void renew_models_after_fork() {
  // Only the forking thread exists in the child: nothing else can hold these now.
  new (&live_models_mutex()) std::mutex();
  for (ForkSafe* m : live_models()) m->renew_after_fork();
}

ForkSafe::ForkSafe() {
  static const int registered = pthread_atfork(nullptr, nullptr, &renew_models_after_fork);
  (void)registered;
  std::lock_guard<std::mutex> lock(live_models_mutex());
  live_models().push_back(this);
}
ForkSafe::~ForkSafe() {
  std::lock_guard<std::mutex> lock(live_models_mutex());
  auto& v = live_models();
  v.erase(std::remove(v.begin(), v.end(), this), v.end());
}

template <typename T>
struct PyDataSet {
  PyDataSet() = default;
  PyDataSet(const PyDataSet&) = delete;
  PyDataSet& operator=(const PyDataSet&) = delete;
  ~PyDataSet();

  Array<T> x, y;
  std::unique_ptr<DataSet<T>> data;
  /// The model whose device memory `data` holds (kept alive by the binding's keep_alive).
  PyModel<T>* owner = nullptr;
};

template <typename T>
struct PyModel : ForkSafe {
  PyModel(GraphSpec graph, std::uint64_t seed, const std::string& device)
      : model(std::move(graph), make_backend(device), seed), trainer(model) {}

  static std::unique_ptr<Backend<T>> make_backend(const std::string& device) {
    if (device != "cpu" && device != "cuda")
      throw py::value_error("device must be 'cpu' or 'cuda', got '" + device + "'");
    return device == "cuda" ? make_cuda_backend<T>() : make_cpu_backend<T>();
  }

  std::shared_ptr<PyDataSet<T>> dataset(const py::handle& x, const py::handle& y,
                                        const py::handle& sample_weight = py::none()) {
    auto ds = std::make_shared<PyDataSet<T>>();
    ds->x = as_matrix<T>(x, "x", model.n_inputs());
    const Index n = ds->x.shape(0);
    if (!y.is_none()) {
      if (!model.compiled()) throw py::value_error("The model must be compiled before fit.");
      const Index n_y = model.n_targets();
      py::handle yy = y;
      py::object reshaped;
      // Integer labels may come as a vector (n,).
      if (n_y == 1 && py::isinstance<py::array>(y) && py::cast<py::array>(y).ndim() == 1) {
        reshaped = py::cast<py::array>(y).attr("reshape")(-1, 1);
        yy = reshaped;
      }
      ds->y = as_matrix<T>(yy, "y", n_y);
      if (ds->y.shape(0) != n)
        throw py::value_error("x and y must have the same number of samples, got " +
                              std::to_string(n) + " and " + std::to_string(ds->y.shape(0)));
      model.check_targets(ds->y.data(), n);
    }
    Array<T> w;  // a default array_t is an empty array, not null: test sample_weight instead
    const bool weighted = !sample_weight.is_none();
    if (weighted) {
      if (y.is_none()) throw py::value_error("sample_weight needs targets y.");
      w = as_array<T>(sample_weight, "sample_weight");
      if (w.ndim() != 1 || w.shape(0) != n)
        throw py::value_error("sample_weight must be a vector of " + std::to_string(n) +
                              " weights, one per sample");
      for (Index i = 0; i < n; ++i)
        if (!(w.data()[i] >= 0 && std::isfinite(static_cast<double>(w.data()[i]))))
          throw py::value_error("sample_weight must be finite and >= 0, got " +
                                py::str(py::float_(w.data()[i])).cast<std::string>() +
                                " at index " + std::to_string(i));
    }
    // Copies to the device use the model's stream: not while another thread runs a pass.
    const T* targets = y.is_none() ? nullptr : ds->y.data();
    locked_call([&] {
      ds->data = std::make_unique<DataSet<T>>(model.backend(), ds->x.data(), model.n_inputs(),
                                              targets, model.n_targets(), n);
      if (weighted) ds->data->set_sample_weights(model.backend(), w.data());
    });
    ds->owner = this;
    return ds;
  }

  /// A dropped data set's device memory is freed under the model's mutex, as freeing
  /// synchronises the model's stream. It waits here until the next call that takes the mutex
  /// (or the model's end): the thread dropping it may be one whose pass holds the mutex.
  void retire(std::unique_ptr<DataSet<T>> d) {
    std::lock_guard<std::mutex> lock(m_retired_mutex);
    m_retired.push_back(std::move(d));
  }

  /// Runs pass f(trainer, progress) with the GIL released and the model's mutex held, handing
  /// Python's progress callback the paused pass: calls it makes on this thread (a Keras batch
  /// callback reading weights, predicting, changing the learning rate) run inside the pass
  /// without the lock instead of waiting for it forever. Training passes cannot nest.
  template <typename F>
  auto locked(const py::object& callback, bool training, F&& f) {
    std::exception_ptr error;
    const ProgressFn python = make_progress(callback, error);
    ProgressFn progress = [&](const PassResult& r) {
      const std::thread::id previous = m_callback_thread.exchange(std::this_thread::get_id());
      const bool keep_going = python(r);
      m_callback_thread = previous;
      return keep_going;
    };
    const bool nested = in_callback();
    if (nested && (training || m_nested_pass))
      throw py::value_error(std::string("This model is running a pass that called back into "
                                        "Python: ") +
                            (training ? "training it" : "a second nested pass") +
                            " from there is not supported (reading weights, predicting and "
                            "evaluating are).");
    Trainer<T>& t = nested ? nested_trainer : trainer;
    decltype(f(t, progress)) result;
    {
      py::gil_scoped_release release;
      std::unique_lock<std::mutex> lock(trainer.mutex(), std::defer_lock);
      if (!nested) {
        lock.lock();
        free_retired();
      }
      m_nested_pass = m_nested_pass || nested;
      try {
        result = f(t, progress);
      } catch (...) {
        if (nested) m_nested_pass = false;
        throw;
      }
      if (nested) m_nested_pass = false;
    }
    if (error) std::rethrow_exception(error);
    return result;
  }

  /// True on the thread whose pass is inside a Python callback.
  bool in_callback() const { return m_callback_thread.load() == std::this_thread::get_id(); }

  /// Refuses what would change the running pass under its feet, from its own callbacks.
  void refuse_in_callback(const char* what) const {
    if (in_callback())
      throw py::value_error(std::string("Cannot ") + what +
                            " from a callback of the model's own running pass: do it after "
                            "fit returns.");
  }

  /// Runs f with the GIL released and the model's mutex held (not retaken inside a callback of
  /// the model's own pass, which holds it). Releasing the GIL first matters: a pass holding the
  /// mutex takes the GIL for its progress callback.
  template <typename F>
  auto locked_call(F&& f) {
    py::gil_scoped_release release;
    std::unique_lock<std::mutex> lock(trainer.mutex(), std::defer_lock);
    if (!in_callback()) {
      lock.lock();
      free_retired();
    }
    return f();
  }

  /// Runs f under the model's mutex. Small calls keep the GIL (releasing it costs more than they
  /// do); large ones, or a mutex held by a pass that may need the GIL, release it first.
  template <typename F>
  auto quick_call(double work, F&& f) {
    constexpr double kReleaseAbove = 1e6;  // multiply-adds, roughly 10 µs
    if (in_callback()) return f();
    if (work < kReleaseAbove) {
      std::unique_lock<std::mutex> lock(trainer.mutex(), std::try_to_lock);
      if (lock.owns_lock()) {
        free_retired();
        return f();
      }
    }
    return locked_call(std::forward<F>(f));
  }

  /// Sizes a buffer and fills it under the same lock: the size (the optimizer state's, which
  /// compile changes) may change between an unlocked read and the copy.
  template <typename Size, typename Fill>
  py::array_t<T> sized_copy(Size size, Fill fill) {
    for (;;) {
      const Index n = locked_call(size);
      py::array_t<T> out(n);
      T* dst = out.mutable_data();
      const bool done = locked_call([&] {
        if (size() != n) return false;
        fill(dst);
        return true;
      });
      if (done) return out;
    }
  }

  /// Outputs (n, n_outputs) for x in batches, without the DataSet object of the general path.
  py::array_t<T> predict_array(const py::handle& x, Index batch_size, bool training) {
    if (batch_size <= 0)
      throw py::value_error("batch_size must be positive, got " + std::to_string(batch_size));
    Array<T> a = as_matrix<T>(x, "x", model.n_inputs());
    const Index n = a.shape(0);
    py::array_t<T> out({n, model.n_outputs()});
    T* dst = out.mutable_data();
    const T* src = a.data();
    const double work = static_cast<double>(n) * model.n_params();
    constexpr double kOneCall = 1e8;  // multiply-adds: beyond this, poll Ctrl-C between batches
    if (work < kOneCall) {
      quick_call(work, [&] {
        DataSet<T> data(model.backend(), src, model.n_inputs(), nullptr, 0, n);
        return active_trainer().predict(data, batch_size, dst, {}, 0.1, training);
      });
      return out;
    }
    // A long call: in batches of about kBatchWork multiply-adds (64 to 4096 rows), so that
    // Ctrl-C stops it within about one batch on any kernel set (rows are independent;
    // training=True draws its noise per batch).
    constexpr double kBatchWork = 4e8;
    const Index rows = static_cast<Index>(std::clamp(
        kBatchWork / std::max<double>(1.0, static_cast<double>(model.n_params())), 64.0, 4096.0));
    const bool done = locked(py::none(), false, [&](Trainer<T>& t, const ProgressFn& p) {
      DataSet<T> data(model.backend(), src, model.n_inputs(), nullptr, 0, n);
      return t.predict(data, std::min(batch_size, rows), dst, p, 0.1, training);
    });
    (void)done;  // a stop comes with the Python error that locked() rethrows
    return out;
  }

  /// One update on (x, y) as one batch; returns the loss and metrics before the update.
  PassResult train_arrays(const py::handle& x, const py::handle& y, bool train,
                          const py::handle& sample_weight) {
    if (train) refuse_in_callback("train it");
    std::shared_ptr<PyDataSet<T>> ds = dataset(x, y, sample_weight);
    const DataSet<T>& data = *ds->data;
    return quick_call(3.0 * data.size() * model.n_params(), [&] {
      return train ? trainer.fit_epoch(data, data.size(), false)
                   : active_trainer().evaluate(data, data.size());
    });
  }

  /// One forward pass kept for tape_gradient: (outputs (n, n_outputs), forward_id,
  /// params_version, and the noise stream (seed, counter) it drew from, to replay it).
  py::tuple tape_forward(const py::handle& x, bool training) {
    Array<T> a = as_matrix<T>(x, "x", model.n_inputs());
    const Index n = a.shape(0);
    py::array_t<T> out({n, model.n_outputs()});
    T* dst = out.mutable_data();
    std::uint64_t seed = 0, counter = 0, id = 0, version = 0;
    quick_call(static_cast<double>(n) * model.n_params(), [&] {
      seed = model.dropout_seed();
      counter = model.dropout_counter();
      const T* y = model.tape_forward(a.data(), n, training);
      model.backend().copy_to_host(dst, y, sizeof(T) * n * model.n_outputs());
      id = model.forward_id();
      version = model.params_version();
    });
    return py::make_tuple(out, id, version, seed, counter);
  }

  /// Gradients at the last tape_forward (see Model::tape_gradient); the parameters' stay in the
  /// model (get_grads), the inputs' (n, n_inputs) are returned when asked for.
  py::object tape_gradient(const std::vector<py::tuple>& terms, const py::handle& y,
                           const py::handle& w, const py::handle& dy,
                           const std::vector<std::pair<Index, double>>& penalties,
                           const std::vector<bool>& wanted, bool input_grad,
                           const std::vector<std::pair<Index, double>>& activity) {
    std::vector<TapeLoss> losses;
    for (const py::tuple& t : terms) {
      if (t.size() != 5)
        throw py::value_error("A loss term is (output, loss, coef, divisor, weighted).");
      const LossArgs loss = t[1].cast<LossArgs>();
      losses.push_back(TapeLoss{t[0].cast<Index>(), loss.spec, t[2].cast<double>(),
                                t[3].cast<double>(), t[4].cast<bool>(), loss.class_alpha});
    }
    const Index n = model.tape_batch();
    if (n == 0) throw py::value_error("tape_gradient needs a tape_forward first.");
    const Index rows = model.tape_target_rows(losses);
    auto rows_of = [&](const py::handle& obj, const char* name, Index r) {
      Array<T> a = as_matrix<T>(obj, name, r);
      if (a.shape(0) != n)
        throw py::value_error(std::string(name) + " must have " + std::to_string(n) +
                              " rows (the recorded batch), got " + std::to_string(a.shape(0)));
      return a;
    };
    Array<T> ya, wa, dya;
    const bool has_y = rows > 0, has_w = !w.is_none(), has_dy = !dy.is_none();
    if (has_y) ya = rows_of(y, "y", rows);
    if (has_w) {
      // (n_terms, n): each term's sample weights in one row.
      wa = as_matrix<T>(w, "sample_weight", n);
      if (wa.shape(0) != static_cast<Index>(losses.size()))
        throw py::value_error("sample_weight must have one row per loss term");
      for (Index i = 0; i < wa.size(); ++i)
        if (!(wa.data()[i] >= 0 && std::isfinite(static_cast<double>(wa.data()[i]))))
          throw py::value_error("sample_weight must be finite and >= 0, got " +
                                py::str(py::float_(wa.data()[i])).cast<std::string>());
    }
    if (has_dy) dya = rows_of(dy, "output_gradients", model.n_outputs());
    py::array_t<T> dx;
    T* dx_ptr = nullptr;
    if (input_grad) {
      dx = py::array_t<T>({n, model.n_inputs()});
      dx_ptr = dx.mutable_data();
    }
    quick_call(2.0 * n * model.n_params(), [&] {
      model.tape_gradient(losses, has_y ? ya.data() : nullptr, has_w ? wa.data() : nullptr,
                          has_dy ? dya.data() : nullptr, penalties, wanted, dx_ptr, activity);
    });
    if (input_grad) return std::move(dx);
    return py::none();
  }

  /// One optimizer step on (offset, gradient, slots) per variable; slots are updated in place.
  void apply_gradients(const OptimizerConfig& cfg, std::int64_t step,
                       const std::vector<py::tuple>& items) {
    refuse_in_callback("apply gradients to it");
    std::vector<Array<T>> keep;
    std::vector<HandUpdate<T>> updates;
    keep.reserve(items.size());
    for (const py::tuple& it : items) {
      if (it.size() != 3) throw py::value_error("An update is (offset, gradient, slots).");
      keep.push_back(as_array<T>(it[1], "gradient"));
      py::array slots = py::cast<py::array>(it[2]);
      const Index size = keep.back().size();
      if (!py::isinstance<py::array_t<T>>(slots) || !(slots.flags() & py::array::c_style) ||
          !slots.writeable() || slots.size() != cfg.n_slots() * size)
        throw py::value_error("slots must be a writable C-contiguous array of " +
                              std::to_string(cfg.n_slots() * size) +
                              " values of the model's dtype");
      updates.push_back(HandUpdate<T>{it[0].cast<Index>(), size, keep.back().data(),
                                      static_cast<T*>(slots.mutable_data())});
    }
    quick_call(10.0 * model.n_params(), [&] { model.apply_gradients(cfg, step, updates); });
  }

  void renew_after_fork() noexcept override {
    new (&trainer.mutex()) std::mutex();
    new (&nested_trainer.mutex()) std::mutex();
    new (&m_retired_mutex) std::mutex();
    m_callback_thread = std::thread::id();
    m_nested_pass = false;
  }

  /// A data set holds this model's device memory and target layout: no other model may use it.
  void check_owner(const PyDataSet<T>& d) const {
    if (d.owner != this)
      throw py::value_error(
          "This data set was made by another model: make one with this "
          "model's dataset().");
  }

  /// The trainer of passes started from a callback of the running pass (its scratch is the
  /// running pass's own otherwise).
  Trainer<T>& active_trainer() { return in_callback() ? nested_trainer : trainer; }

  Model<T> model;
  Trainer<T> trainer;
  Trainer<T> nested_trainer{model};

 private:
  /// Call with the model's mutex held.
  void free_retired() {
    std::vector<std::unique_ptr<DataSet<T>>> old;  // freed after the lock below is released
    std::lock_guard<std::mutex> lock(m_retired_mutex);
    old.swap(m_retired);
  }

  std::atomic<std::thread::id> m_callback_thread{};
  bool m_nested_pass = false;  // a pass started from a callback is running
  // Declared last, so retired data sets are freed before the model's backend goes.
  std::mutex m_retired_mutex;
  std::vector<std::unique_ptr<DataSet<T>>> m_retired;
};

template <typename T>
PyDataSet<T>::~PyDataSet() {
  if (owner && data) owner->retire(std::move(data));
}

template <typename T>
py::array_t<T> to_numpy(const T* data, Index n) {
  py::array_t<T> out(n);
  std::copy(data, data + n, out.mutable_data());
  return out;
}

template <typename T>
void bind(py::module_& m, const char* model_name, const char* data_name) {
  using M = PyModel<T>;
  using D = PyDataSet<T>;
  py::class_<D, std::shared_ptr<D>>(m, data_name).def_property_readonly("size", [](const D& d) {
    return d.data->size();
  });

  py::class_<M>(m, model_name)
      .def(py::init<GraphSpec, std::uint64_t, const std::string&>(), py::arg("graph"),
           py::arg("seed"), py::arg("device") = "cpu")
      .def_property_readonly("n_inputs", [](M& s) { return s.model.n_inputs(); })
      .def_property_readonly("n_outputs", [](M& s) { return s.model.n_outputs(); })
      .def_property_readonly("n_params", [](M& s) { return s.model.n_params(); })
      .def_property_readonly("n_targets", [](M& s) { return s.model.n_targets(); })
      .def_property_readonly("device", [](M& s) { return std::string(s.model.backend().name()); })
      .def_property_readonly("n_stats", [](M& s) { return s.model.n_stats(); })
      .def_property_readonly("n_layers", [](M& s) { return s.model.n_layers(); })
      .def_property_readonly("output_widths", [](M& s) { return s.model.output_widths(); })
      .def_property_readonly("n_trainable_params",
                             [](M& s) { return s.model.n_trainable_params(); })
      .def("width", [](M& s, std::size_t i) { return s.model.width(i); })
      .def("param_offset", [](M& s, std::size_t i) { return s.model.param_offset(i); })
      .def("stats_offset", [](M& s, std::size_t i) { return s.model.stats_offset(i); })
      .def("layer_weights",
           [](M& s, std::size_t i) {
             // (name, Keras shape, is non-trainable state) per weight, in Keras's order.
             py::list out;
             for (const WeightSpec& w : s.model.layer_weights(i))
               out.append(py::make_tuple(w.name, py::tuple(py::cast(w.shape)), w.state));
             return out;
           })
      .def("set_trainable",
           [](M& s, std::size_t i, bool t) { s.locked_call([&] { s.model.set_trainable(i, t); }); })
      .def("trainable", [](M& s, std::size_t i) { return s.model.trainable(i); })
      .def("initialize",
           [](M& s, std::size_t i, std::size_t j, const Initializer& init) {
             s.locked_call([&] { s.model.initialize(i, j, init); });
           })
      .def("get_params",
           [](M& s) {
             py::array_t<T> out(s.model.n_params());
             T* dst = out.mutable_data();
             s.locked_call([&] { s.model.get_params(dst); });
             return out;
           })
      .def("set_params",
           [](M& s, const py::handle& obj) {
             Array<T> a = as_array<T>(obj, "params");
             if (a.ndim() != 1 || a.shape(0) != s.model.n_params())
               throw py::value_error("params must be a vector of " +
                                     std::to_string(s.model.n_params()) + " values");
             s.locked_call([&] { s.model.set_params(a.data()); });
           })
      .def("get_stats",
           [](M& s) {
             py::array_t<T> out(s.model.n_stats());
             T* dst = out.mutable_data();
             s.locked_call([&] { s.model.get_stats(dst); });
             return out;
           })
      .def("set_stats",
           [](M& s, const py::handle& obj) {
             Array<T> a = as_array<T>(obj, "stats");
             if (a.ndim() != 1 || a.shape(0) != s.model.n_stats())
               throw py::value_error("stats must be a vector of " +
                                     std::to_string(s.model.n_stats()) + " values");
             s.locked_call([&] { s.model.set_stats(a.data()); });
           })
      .def(
          "compile",
          [](M& s, const std::vector<LossArgs>& losses, const std::vector<double>& weights,
             const std::vector<std::vector<Metric>>& metrics, const OptimizerConfig& opt) {
            if (weights.size() != losses.size() || metrics.size() != losses.size())
              throw py::value_error("compile needs one loss weight and one metric list per loss");
            std::vector<OutputLoss> outputs;
            for (std::size_t o = 0; o < losses.size(); ++o) {
              outputs.push_back(
                  OutputLoss{losses[o].spec, weights[o], metrics[o], losses[o].class_alpha});
            }
            s.refuse_in_callback("compile the model");
            s.locked_call([&] { s.model.compile(outputs, opt); });
          },
          py::arg("losses"), py::arg("loss_weights"), py::arg("metrics"), py::arg("optimizer"))
      .def_property_readonly("compiled", [](M& s) { return s.model.compiled(); })
      .def_property(
          "iterations", [](M& s) { return s.model.iterations(); },
          [](M& s, std::int64_t v) { s.model.set_iterations(v); })
      .def_property_readonly("learning_rate", [](M& s) { return s.model.current_learning_rate(); })
      .def("set_learning_rate",
           [](M& s, const Schedule& sch) {
             OptimizerConfig c = s.model.optimizer();
             c.learning_rate = sch;
             c.validate();
             s.locked_call([&] { s.model.set_learning_rate(sch); });
           })
      .def("set_optimizer",
           [](M& s, const OptimizerConfig& cfg) {
             s.locked_call([&] { s.model.set_optimizer(cfg); });
           })
      .def("get_state",
           [](M& s) {
             return s.sized_copy([&] { return s.model.n_state(); },
                                 [&](T* dst) { s.model.get_state(dst); });
           })
      .def("set_state",
           [](M& s, const py::handle& obj) {
             Array<T> a = as_array<T>(obj, "optimizer state");
             if (a.ndim() != 1) throw py::value_error("optimizer state must be a vector of values");
             const T* src = a.data();
             const Index n = a.shape(0);
             s.locked_call([&] {
               if (n != s.model.n_state())
                 throw std::invalid_argument("optimizer state must be a vector of " +
                                             std::to_string(s.model.n_state()) + " values, got " +
                                             std::to_string(n));
               s.model.set_state(src);
             });
           })
      .def("get_rng_state",
           [](M& s) {
             const auto st = s.model.rng().state();
             return std::vector<std::uint64_t>{
                 st[0], st[1], st[2], st[3], s.model.dropout_seed(), s.model.dropout_counter()};
           })
      .def("set_rng_state",
           [](M& s, const std::vector<std::uint64_t>& v) {
             if (v.size() != 6) throw py::value_error("rng state must hold 6 integers");
             s.locked_call([&] {
               s.model.rng().set_state({v[0], v[1], v[2], v[3]});
               s.model.set_dropout_stream(v[4], v[5]);
             });
           })
      .def("tape_forward", &M::tape_forward, py::arg("x"), py::arg("training"))
      .def("tape_gradient", &M::tape_gradient, py::arg("losses"), py::arg("y"),
           py::arg("sample_weight"), py::arg("output_gradients"), py::arg("penalties"),
           py::arg("wanted"), py::arg("input_grad"),
           py::arg("activity") = std::vector<std::pair<Index, double>>{})
      .def_property_readonly("activity_nodes", [](M& s) { return s.model.activity_nodes(); })
      .def("activity_values",
           [](M& s) {
             py::array_t<double> out(static_cast<Index>(s.model.activity_nodes().size()));
             double* dst = out.mutable_data();
             s.quick_call(static_cast<double>(s.model.tape_batch()) * s.model.n_params(),
                          [&] { s.model.activity_values(dst); });
             return out;
           })
      .def("get_grads",
           [](M& s) {
             py::array_t<T> out(s.model.n_params());
             T* dst = out.mutable_data();
             s.quick_call(0.0, [&] { s.model.get_grads(dst); });
             return out;
           })
      .def("apply_gradients", &M::apply_gradients, py::arg("optimizer"), py::arg("iterations"),
           py::arg("updates"))
      .def_property_readonly("forward_id", [](M& s) { return s.model.forward_id(); })
      .def_property_readonly("params_version", [](M& s) { return s.model.params_version(); })
      .def("predict_array", &M::predict_array, py::arg("x"), py::arg("batch_size"),
           py::arg("training") = false)
      .def("train_arrays", &M::train_arrays, py::arg("x"), py::arg("y"), py::arg("train"),
           py::arg("sample_weight") = py::none())
      // A data set holds device memory of its model's backend: keep the model alive with it.
      .def("dataset", &M::dataset, py::arg("x"), py::arg("y") = py::none(),
           py::arg("sample_weight") = py::none(), py::keep_alive<0, 1>())
      .def(
          "fit_epoch",
          [](M& s, const D& d, Index batch_size, bool shuffle, const py::object& cb,
             double interval, Index shards, const py::object& collective, bool own_shard) {
            s.check_owner(d);
            std::unique_ptr<Collective> holder;
            const ShardPlan plan = shard_plan(shards, collective, own_shard, holder);
            return s.locked(cb, true, [&](Trainer<T>& t, const ProgressFn& p) {
              return t.fit_epoch(*d.data, batch_size, shuffle, p, interval, plan);
            });
          },
          py::arg("data"), py::arg("batch_size"), py::arg("shuffle"),
          py::arg("callback") = py::none(), py::arg("interval") = 0.1, py::arg("shards") = 1,
          py::arg("collective") = py::none(), py::arg("own_shard") = false)
      // With a collective every process evaluates its own data, and the result is over all.
      .def(
          "evaluate",
          [](M& s, const D& d, Index batch_size, const py::object& cb, double interval,
             Index shards, const py::object& collective) {
            s.check_owner(d);
            if (!d.data->y()) throw py::value_error("evaluate needs targets y.");
            if (shards != 1 && collective.is_none())
              throw py::value_error("evaluate splits only across processes: shards=" +
                                    std::to_string(shards) + " needs a collective.");
            std::unique_ptr<Collective> holder;
            const ShardPlan plan = shard_plan(shards, collective, !collective.is_none(), holder);
            return s.locked(cb, false, [&](Trainer<T>& t, const ProgressFn& p) {
              return t.evaluate(*d.data, batch_size, p, interval, plan);
            });
          },
          py::arg("data"), py::arg("batch_size"), py::arg("callback") = py::none(),
          py::arg("interval") = 0.1, py::arg("shards") = 1, py::arg("collective") = py::none())
      .def(
          "predict",
          [](M& s, const D& d, Index batch_size, const py::object& cb, double interval) {
            s.check_owner(d);
            py::array_t<T> out({d.data->size(), s.model.n_outputs()});
            T* dst = out.mutable_data();
            const bool done = s.locked(cb, false, [&](Trainer<T>& t, const ProgressFn& p) {
              return t.predict(*d.data, batch_size, dst, p, interval);
            });
            return py::make_tuple(out, done);
          },
          py::arg("data"), py::arg("batch_size"), py::arg("callback") = py::none(),
          py::arg("interval") = 0.1);
}

}  // namespace

void bind_model(py::module_& m) {
  py::class_<PassResult>(m, "PassResult")
      .def_readonly("samples", &PassResult::samples)
      .def_readonly("batches", &PassResult::batches)
      .def_readonly("loss", &PassResult::loss)
      .def_readonly("metrics", &PassResult::metrics)
      .def_readonly("sums", &PassResult::sums)
      .def_readonly("stopped", &PassResult::stopped);
  bind<float>(m, "Model32", "DataSet32");
  bind<double>(m, "Model64", "DataSet64");
}

}  // namespace eigennet::bindings
