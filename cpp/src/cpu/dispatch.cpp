// Chooses the kernel set at run time: the best one compiled in that this CPU can run, unless
// EIGENNET_KERNELS or set_kernel_set() asks for another.
#include <atomic>
#include <cstdlib>
#include <stdexcept>

#include "cpu/kernel_set.h"

// kernel_sets.inc (written by cmake) lists EIGENNET_KERNEL_SET(name) for each set, best first.
#define EIGENNET_KERNEL_SET(name) \
  extern "C" const eigennet::cpu::KernelTable eigennet_kernels_##name;
#include "kernel_sets.inc"
#undef EIGENNET_KERNEL_SET

namespace eigennet {
namespace cpu {
namespace {

std::atomic<const KernelTable*> g_active{nullptr};

std::string join(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

std::string compiled_names() {
  std::vector<std::string> names;
  for (const KernelTable* t : compiled_kernel_sets()) names.emplace_back(t->name);
  return join(names);
}

const KernelTable& find_runnable(const std::string& name, const char* what) {
  for (const KernelTable* t : compiled_kernel_sets()) {
    if (name != t->name) continue;
    if (!cpu_can_run(name))
      throw std::invalid_argument(
          std::string(what) + "'" + name +
          "' asks for a kernel set this CPU cannot run. It can run: " + join(kernel_sets()) + ".");
    return *t;
  }
  throw std::invalid_argument(
      std::string(what) + "'" + name +
      "' is not a kernel set of this build. Expected one of: " + compiled_names() + ".");
}

const KernelTable& choose() {
  if (const char* forced = std::getenv("EIGENNET_KERNELS"); forced && *forced)
    return find_runnable(forced, "EIGENNET_KERNELS=");
  const std::vector<const KernelTable*> runnable = runnable_kernel_sets();
  if (!runnable.empty()) return *runnable.front();
  throw std::runtime_error("This CPU can run none of eigennet's kernel sets (" + compiled_names() +
                           "); x86-64 needs at least SSE4.2 and POPCNT (x86-64-v2).");
}

}  // namespace

std::vector<const KernelTable*> compiled_kernel_sets() {
#define EIGENNET_KERNEL_SET(name) &eigennet_kernels_##name,
  return {
#include "kernel_sets.inc"
  };
#undef EIGENNET_KERNEL_SET
}

bool cpu_can_run(const std::string& name) {
#if defined(__x86_64__) || defined(__i386__)
  // __builtin_cpu_supports also checks that the OS saves the wider registers (XCR0).
  const bool v2 = __builtin_cpu_supports("sse4.2") && __builtin_cpu_supports("popcnt");
  const bool avx2 = v2 && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (name == "baseline") return v2;
  if (name == "avx2") return avx2;
  if (name == "avx512")
    return avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
           __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
#endif
  // "native" was compiled for this machine, "neon" is part of every aarch64 CPU, and "baseline"
  // elsewhere has no requirements.
  return name == "native" || name == "neon" || name == "baseline";
}

std::vector<const KernelTable*> runnable_kernel_sets() {
  std::vector<const KernelTable*> out;
  for (const KernelTable* t : compiled_kernel_sets())
    if (cpu_can_run(t->name)) out.push_back(t);
  return out;
}

const KernelTable& active_kernels() {
  const KernelTable* t = g_active.load(std::memory_order_acquire);
  if (t) return *t;
  const KernelTable& chosen = choose();
  const KernelTable* expected = nullptr;
  g_active.compare_exchange_strong(expected, &chosen, std::memory_order_acq_rel);
  return *g_active.load(std::memory_order_acquire);
}

}  // namespace cpu

std::string kernel_set() { return cpu::active_kernels().name; }

std::vector<std::string> kernel_sets() {
  std::vector<std::string> names;
  for (const cpu::KernelTable* t : cpu::runnable_kernel_sets()) names.emplace_back(t->name);
  return names;
}

void set_kernel_set(const std::string& name) {
  cpu::g_active.store(&cpu::find_runnable(name, "Kernel set "), std::memory_order_release);
}

}  // namespace eigennet
