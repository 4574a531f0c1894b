#pragma once
// Data parallelism as the core sees it: a global batch cut into shards, each computed by one
// process (or all of them in turn by one process), and a gather that hands every process the
// others' results. The core knows no transport: eigennet._mpi implements Collective over MPI.
#include <cstddef>

#include "eigennet/config.h"

namespace eigennet {

/// The processes of a data-parallel run.
class Collective {
 public:
  virtual ~Collective() = default;
  virtual Index rank() const = 0;
  virtual Index size() const = 0;
  /// all holds size() blocks of `bytes` bytes (host memory); on entry block rank() is this
  /// process's, on return every block holds its process's, on every process. Throws
  /// std::runtime_error, naming the cause, when a process fails or does not answer in time.
  virtual void allgather(void* all, std::size_t bytes) = 0;
  /// send and recv hold size() blocks of `bytes` bytes (host memory): block r of send goes to
  /// process r, block r of recv comes from process r. Throws as allgather.
  virtual void alltoall(const void* send, void* recv, std::size_t bytes) = 0;
};

/// How a training step splits its batch of b columns: shard s holds columns
/// [s·b/shards, (s+1)·b/shards) (so shard sizes differ by at most one, and a shard of a batch
/// smaller than `shards` may be empty). This process computes shards [first, first + count);
/// with a collective, count is 1 and first its rank. With own_data (a collective only) each
/// process passes its own data set instead: a step's b columns are this process's shard, of a
/// global batch of shards·b columns (every process's steps are equally wide). Gradients and
/// running sums are added in shard order, so the weights do not depend on which process
/// computed which shard. Across processes the gradients travel as a reduce-scatter (each
/// process adds one chunk of every process's gradient, in rank order) and an allgather of the
/// chunks: 2·(N-1)/N of a gradient sent per process, as a ring allreduce, but with a fixed
/// order of addition.
/// More shards than any run has processes: a bound that keeps the buffers' sizes from
/// overflowing.
constexpr Index kMaxShards = Index(1) << 16;

struct ShardPlan {
  Index shards = 1;
  Index first = 0, count = 1;
  Collective* collective = nullptr;
  bool own_data = false;
  bool split() const { return shards > 1 || collective; }
  /// Shard s's first column in a step's batch of b columns, and its width.
  Index begin(Index s, Index b) const { return own_data ? 0 : s * b / shards; }
  Index width(Index s, Index b) const { return own_data ? b : begin(s + 1, b) - begin(s, b); }
  /// The columns of the global batch a step of b columns belongs to (the loss's divisor).
  Index global(Index b) const { return own_data ? b * shards : b; }
  /// The columns of a step of b columns that this process computes.
  Index local(Index b) const { return own_data ? b : begin(first + count, b) - begin(first, b); }
};

}  // namespace eigennet
