#pragma once
// Records the kernel launches of one step (Device::begin_step() .. end_step()) and replays them as
// a CUDA graph, so that a small network's step costs one graph launch instead of ~20 launches.
//
// While a step records, each launch is kept as a closure together with the words that identify
// it: kernel, pointers, sizes and constants. At end() the step's words are its key: a known key
// replays its graph after writing the step's changing arguments (DynSlot: gather offsets,
// dropout counters, learning rates) to device memory; a new key is captured first. Any call
// that is not a kernel (a copy, an allocation) ends recording: what was recorded runs at once
// and the rest of the step runs directly, as it does with graphs disabled (EIGENNET_CUDA_GRAPHS=0).
#include <cuda_runtime.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <vector>

#include "kernels.cuh"

namespace eigennet::cuda {

class StepGraphs {
 public:
  /// dyn: device memory for kMaxDyn slots, owned by the caller.
  StepGraphs(cudaStream_t stream, DynSlot* dyn, bool enabled);
  ~StepGraphs();
  StepGraphs(const StepGraphs&) = delete;
  StepGraphs& operator=(const StepGraphs&) = delete;

  /// launch(dyn) enqueues the kernels; dyn is null for a direct launch (use the by-value
  /// arguments) or the device copy of `*dyn_args` during capture.
  using Launch = std::function<void(const DynSlot*)>;
  /// Launches the same kernels with by-value arguments, writing the step's per-step arguments as
  /// well: a step whose first op has one replays without a kernel of its own for that.
  using Carrier = std::function<void(const DynCarry&)>;

  void begin();
  /// Launches now, or records when a step is recording. dyn_args may be null.
  void run(std::initializer_list<std::uint64_t> words, const DynSlot* dyn_args, Launch launch,
           Carrier carrier = nullptr);
  /// Launches whatever was recorded and stops recording until the next begin().
  void flush();
  void end();

  /// Steps replayed from a graph, captured, and run directly; for tests and benchmarks.
  std::uint64_t replays() const { return m_replays; }
  std::uint64_t captures() const { return m_captures; }

 private:
  struct Op {
    Launch launch;
    Carrier carrier;
    int slot;  // index into the DynBlock, -1 without per-step arguments
  };
  struct Graph {
    std::uint64_t hash;
    std::vector<std::uint64_t> key;
    cudaGraphExec_t exec;
    std::uint64_t last_used;
  };

  void run_direct();
  /// Captures the recorded ops from `first` on; returns the graph's index, or -1 on failure.
  int capture(std::size_t first);
  /// Turns graphs off for this backend after a failed capture; returns -1.
  int disable(const char* why);
  int find() const;

  cudaStream_t m_stream;
  DynSlot* m_dyn;
  bool m_enabled;
  bool m_recording = false;
  std::vector<Op> m_ops;
  std::vector<std::uint64_t> m_key;
  std::uint64_t m_hash = 0;
  DynBlock m_block{};
  int m_n_dyn = 0;
  std::vector<Graph> m_graphs;
  std::uint64_t m_clock = 0;
  std::uint64_t m_replays = 0, m_captures = 0;
  double m_host_seconds = 0;  // begin() to the launch, summed over steps replayed uncaptured
  std::chrono::steady_clock::time_point m_begun;
};

}  // namespace eigennet::cuda
