// Step recording and graph replay (see step_graphs.cuh).
#include <cstdio>
#include <cstdlib>
#include <utility>

#include "cuda_check.cuh"
#include "step_graphs.cuh"

namespace eigennet::cuda {
namespace {

/// Graphs kept per backend: full and short last batches of training, evaluation and
/// train_on_batch shapes fit with room to spare; the least recently used one goes first.
constexpr std::size_t kMaxGraphs = 16;

bool debug() {
  static const bool on = [] {
    const char* v = std::getenv("EIGENNET_CUDA_DEBUG");
    return v && *v && *v != '0';
  }();
  return on;
}

}  // namespace

StepGraphs::StepGraphs(cudaStream_t stream, DynSlot* dyn, bool enabled)
    : m_stream(stream), m_dyn(dyn), m_enabled(enabled) {}

StepGraphs::~StepGraphs() {
  for (Graph& g : m_graphs) cudaGraphExecDestroy(g.exec);
  if (debug())
    std::fprintf(
        stderr,
        "eigennet cuda: %llu steps replayed, %llu graphs captured, %.1f us of host time "
        "per step replayed without capture\n",
        static_cast<unsigned long long>(m_replays), static_cast<unsigned long long>(m_captures),
        m_replays > m_captures ? 1e6 * m_host_seconds / static_cast<double>(m_replays - m_captures)
                               : 0.0);
}

void StepGraphs::begin() {
  flush();
  m_recording = true;
  m_key.clear();
  m_hash = 0xcbf29ce484222325ULL;
  m_n_dyn = 0;
  m_begun = std::chrono::steady_clock::now();
}

void StepGraphs::run(std::initializer_list<std::uint64_t> words, const DynSlot* dyn_args,
                     Launch launch, Carrier carrier) {
  if (!m_recording) {
    launch(nullptr);
    return;
  }
  for (std::uint64_t w : words) {
    m_key.push_back(w);
    m_hash = (m_hash ^ w) * 0x100000001b3ULL;
  }
  int slot = -1;
  if (dyn_args) {
    if (m_n_dyn < kMaxDyn) {
      slot = m_n_dyn;
      m_block.slot[slot] = *dyn_args;
    }
    ++m_n_dyn;
  }
  m_ops.push_back({std::move(launch), std::move(carrier), slot});
}

void StepGraphs::flush() {
  m_recording = false;
  run_direct();
}

void StepGraphs::run_direct() {
  std::vector<Op> ops;
  ops.swap(m_ops);
  for (Op& op : ops) op.launch(nullptr);
}

int StepGraphs::find() const {
  for (std::size_t i = 0; i < m_graphs.size(); ++i)
    if (m_graphs[i].hash == m_hash && m_graphs[i].key == m_key) return static_cast<int>(i);
  return -1;
}

int StepGraphs::capture(std::size_t first) {
  cudaGraph_t graph = nullptr;
  const cudaError_t begin = cudaStreamBeginCapture(m_stream, cudaStreamCaptureModeThreadLocal);
  if (begin != cudaSuccess) return disable(cudaGetErrorString(begin));
  const char* failed = nullptr;
  try {
    for (std::size_t i = first; i < m_ops.size(); ++i)
      m_ops[i].launch(m_ops[i].slot >= 0 ? m_dyn + m_ops[i].slot : nullptr);
  } catch (const std::exception& e) {
    failed = "a launch during capture";
    if (debug()) std::fprintf(stderr, "eigennet cuda: capture failed: %s\n", e.what());
  }
  const cudaError_t end = cudaStreamEndCapture(m_stream, &graph);
  if (!failed && end != cudaSuccess) failed = cudaGetErrorString(end);
  cudaGraphExec_t exec = nullptr;
  if (!failed) {
    const cudaError_t inst = cudaGraphInstantiate(&exec, graph, 0);
    if (inst != cudaSuccess) failed = cudaGetErrorString(inst);
  }
  if (graph) cudaGraphDestroy(graph);
  if (failed) return disable(failed);
  if (m_graphs.size() == kMaxGraphs) {
    std::size_t oldest = 0;
    for (std::size_t i = 1; i < m_graphs.size(); ++i)
      if (m_graphs[i].last_used < m_graphs[oldest].last_used) oldest = i;
    cudaGraphExecDestroy(m_graphs[oldest].exec);
    m_graphs.erase(m_graphs.begin() + static_cast<std::ptrdiff_t>(oldest));
  }
  m_graphs.push_back({m_hash, m_key, exec, m_clock});
  ++m_captures;
  return static_cast<int>(m_graphs.size()) - 1;
}

int StepGraphs::disable(const char* why) {
  cudaGetLastError();  // capture errors are not sticky: clear them
  if (debug()) std::fprintf(stderr, "eigennet cuda: graphs disabled: %s\n", why);
  m_enabled = false;
  return -1;
}

void StepGraphs::end() {
  if (!m_recording) return;
  m_recording = false;
  if (m_ops.empty()) return;
  // The first op launches outside the graph when it can carry the per-step arguments.
  const bool carried = m_ops.front().carrier && m_ops.size() > 1;
  int g = -1;
  bool captured = false;
  if (m_enabled && m_n_dyn <= kMaxDyn) {
    g = find();
    if (g < 0) {
      g = capture(carried ? 1 : 0);
      captured = true;
    }
  }
  if (g < 0) {
    run_direct();
    return;
  }
  std::vector<Op> ops;
  ops.swap(m_ops);
  m_graphs[static_cast<std::size_t>(g)].last_used = ++m_clock;
  if (carried) {
    ops.front().carrier(DynCarry{m_block, m_n_dyn, m_dyn});
  } else if (m_n_dyn > 0) {
    set_dyn(m_block, m_n_dyn, m_dyn, m_stream);
  }
  check(cudaGraphLaunch(m_graphs[static_cast<std::size_t>(g)].exec, m_stream), "cudaGraphLaunch");
  ++m_replays;
  if (!captured)
    m_host_seconds +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - m_begun).count();
}

}  // namespace eigennet::cuda
