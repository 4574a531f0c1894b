// eigennet._mpi, an optional build component (EIGENNET_MPI=ON): the data-parallel transport
// over MPI. It hands eigennet._core a Collective capsule (bindings/collective_capsule.h) over a
// duplicate of MPI_COMM_WORLD, so that its gathers never mix with the program's own messages.
// MPI must be initialised first (importing mpi4py.MPI does it). No maths here.
#include <mpi.h>
#include <pybind11/pybind11.h>

#include <chrono>
#include <climits>
#include <cstdio>
#include <string>
#include <thread>

#include "collective_capsule.h"

namespace py = pybind11;

namespace {

struct Context {
  MPI_Comm comm = MPI_COMM_NULL;
  double timeout = 0.0;  // seconds a gather may wait for the slowest process
  EigennetCollective c{};
};

std::string mpi_error(int code) {
  char text[MPI_MAX_ERROR_STRING];
  int n = 0;
  MPI_Error_string(code, text, &n);
  return std::string(text, static_cast<std::size_t>(n));
}

/// Waits for a started non-blocking collective, polling, so that a process that stopped
/// answering (died, or left fit early) turns into an error here after the timeout instead of a
/// hang.
int wait(Context* c, int rc, MPI_Request& request, const char* what, char* err, size_t n_err) {
  const auto start = std::chrono::steady_clock::now();
  for (int done = 0, polls = 0; rc == MPI_SUCCESS; ++polls) {
    rc = MPI_Test(&request, &done, MPI_STATUS_IGNORE);
    if (rc != MPI_SUCCESS || done) break;
    const double waited =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (waited > c->timeout) {
      std::snprintf(err, n_err,
                    "DataParallel: rank %lld waited %.0f s for the other processes' gradients "
                    "(a process died, raised or stopped training early); giving up",
                    c->c.rank, waited);
      return 1;
    }
    // Spin briefly, then sleep: an oversubscribed machine needs the core for another rank.
    if (polls > 2000) std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
  if (rc != MPI_SUCCESS) {
    std::snprintf(err, n_err, "%s failed: %s", what, mpi_error(rc).c_str());
    return 1;
  }
  return 0;
}

bool too_large(size_t bytes, char* err, size_t n_err) {
  if (bytes <= static_cast<size_t>(INT_MAX)) return false;
  std::snprintf(err, n_err, "a block of %zu bytes exceeds MPI's count limit", bytes);
  return true;
}

int allgather(void* ctx, void* all, size_t bytes, char* err, size_t n_err) {
  auto* c = static_cast<Context*>(ctx);
  if (too_large(bytes, err, n_err)) return 1;
  MPI_Request request;
  const int rc = MPI_Iallgather(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, all, static_cast<int>(bytes),
                                MPI_BYTE, c->comm, &request);
  return wait(c, rc, request, "MPI_Iallgather", err, n_err);
}

int alltoall(void* ctx, const void* send, void* recv, size_t bytes, char* err, size_t n_err) {
  auto* c = static_cast<Context*>(ctx);
  if (too_large(bytes, err, n_err)) return 1;
  MPI_Request request;
  const int count = static_cast<int>(bytes);
  const int rc = MPI_Ialltoall(send, count, MPI_BYTE, recv, count, MPI_BYTE, c->comm, &request);
  return wait(c, rc, request, "MPI_Ialltoall", err, n_err);
}

void release(PyObject* capsule) {
  auto* c = static_cast<Context*>(PyCapsule_GetContext(capsule));
  int finalized = 1;
  MPI_Finalized(&finalized);
  if (!finalized && c->comm != MPI_COMM_NULL) MPI_Comm_free(&c->comm);
  delete c;
}

py::object world(double timeout) {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized)
    throw std::runtime_error("MPI is not initialised: import mpi4py.MPI before eigennet._mpi.");
  if (!(timeout > 0))
    throw py::value_error("timeout must be a positive number of seconds, got " +
                          std::to_string(timeout));
  auto* c = new Context;
  c->timeout = timeout;
  // Errors come back as codes, not as MPI's default abort of the whole job.
  int rc = MPI_Comm_dup(MPI_COMM_WORLD, &c->comm);
  if (rc == MPI_SUCCESS) rc = MPI_Comm_set_errhandler(c->comm, MPI_ERRORS_RETURN);
  int rank = 0, size = 1;
  if (rc == MPI_SUCCESS) rc = MPI_Comm_rank(c->comm, &rank);
  if (rc == MPI_SUCCESS) rc = MPI_Comm_size(c->comm, &size);
  if (rc != MPI_SUCCESS) {
    delete c;
    throw std::runtime_error("MPI_Comm_dup(MPI_COMM_WORLD) failed: " + mpi_error(rc));
  }
  c->c = EigennetCollective{EIGENNET_COLLECTIVE_VERSION, rank, size, c, allgather, alltoall};
  PyObject* capsule = PyCapsule_New(&c->c, EIGENNET_COLLECTIVE_CAPSULE, release);
  if (!capsule || PyCapsule_SetContext(capsule, c) != 0) {
    Py_XDECREF(capsule);
    delete c;
    throw py::error_already_set();
  }
  return py::reinterpret_steal<py::object>(capsule);
}

}  // namespace

PYBIND11_MODULE(_mpi, m) {
  m.doc() = "eigennet's MPI transport for DataParallel (optional build component).";
  m.def("world", &world, py::arg("timeout"),
        "A Collective capsule over a duplicate of MPI_COMM_WORLD (collective: every rank calls "
        "it together), whose gathers fail after `timeout` seconds without an answer.");
  m.def("library_version", [] {
    char text[MPI_MAX_LIBRARY_VERSION_STRING];
    int n = 0;
    MPI_Get_library_version(text, &n);
    return std::string(text, static_cast<std::size_t>(n));
  });
}
