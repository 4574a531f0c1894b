// A data-parallel training step (Model::train_shards): the batch's shards computed one after
// another, or one per process with the gradients summed across processes, then one update.
#include <stdexcept>
#include <string>

#include "eigennet/model.h"

namespace eigennet {

template <typename T>
void Model<T>::train_shards(const T* X, const T* Y, Index batch, double* acc, const T* w,
                            const ShardPlan& plan) {
  if (!m_compiled) throw std::logic_error("The model must be compiled before training.");
  if (plan.shards < 1 || plan.shards > kMaxShards || plan.count < 1 || plan.first < 0 ||
      plan.first + plan.count > plan.shards)
    throw std::invalid_argument("Shards [" + std::to_string(plan.first) + ", " +
                                std::to_string(plan.first + plan.count) + ") of " +
                                std::to_string(plan.shards) + " do not exist.");
  Collective* const c = plan.collective;
  if (c && (c->size() != plan.shards || c->rank() != plan.first || plan.count != 1))
    throw std::invalid_argument("With a collective, each process computes the shard of its rank.");
  if (plan.own_data && !c)
    throw std::invalid_argument("Each process passing its own data needs a collective.");
  if (c && !m_backend->is_host())
    throw std::invalid_argument("Gradients are summed across processes on the CPU backend only.");
  const Index n_in = n_inputs(), n_y = n_targets(), n_acc_ = n_acc(), n = m_n_params;
  const Index shards = plan.shards, chunk = (n + shards - 1) / shards;
  const Index global = plan.global(batch);  // each shard's loss is a share of its mean
  // In turn: the running sum of the shards' gradients. Across processes: this one's, padded to
  // `shards` chunks, then the chunks received from every process.
  const Index staging = c ? 2 * shards * chunk : n;
  if (m_shard_grads.size() < staging) m_shard_grads = Buffer<T>(*m_backend, staging);
  T* const grads = m_shard_grads.data();
  // Shard s's noise draws the stream of step counter base + s, whoever computes it.
  const std::uint64_t base = m_dropout_counter;
  for (Index s = plan.first; s < plan.first + plan.count; ++s) {
    const Index c0 = plan.begin(s, batch), cols = plan.width(s, batch);
    if (cols == 0) {
      m_backend->fill(m_grads.data(), n, T(0));
    } else {
      m_dropout_counter = base + static_cast<std::uint64_t>(s);
      forward(X + c0 * n_in, cols, true);
      double* a = acc + s * n_acc_;
      loss_and_metrics(Y + c0 * n_y, cols, a, true, w ? w + c0 : nullptr, global);
      activity(cols, a, true, global);
      backward(cols, m_needs_grad, m_fused);
      zero_unreached_grads();
    }
    // dL/dθ = Σ_s dL_s/dθ, added in shard order.
    if (!c && s == 0)
      m_backend->copy_on_device(grads, m_grads.data(), sizeof(T) * n);
    else if (!c)
      m_backend->axpby(n, T(1), m_grads.data(), T(1), grads);
  }
  m_dropout_counter = base + static_cast<std::uint64_t>(shards);
  if (!c) {
    m_backend->copy_on_device(m_grads.data(), grads, sizeof(T) * n);
  } else {
    T* const send = grads;                   // (chunk, shards): this process's, padded
    T* const recv = grads + shards * chunk;  // (chunk, shards): chunk `rank` of each
    const Index mine = c->rank() * chunk;
    m_backend->copy_on_device(send, m_grads.data(), sizeof(T) * n);
    m_backend->fill(send + n, shards * chunk - n, T(0));
    c->alltoall(send, recv, sizeof(T) * chunk);
    m_backend->copy_on_device(send + mine, recv, sizeof(T) * chunk);
    for (Index s = 1; s < shards; ++s)
      m_backend->axpby(chunk, T(1), recv + s * chunk, T(1), send + mine);
    c->allgather(send, sizeof(T) * chunk);
    m_backend->copy_on_device(m_grads.data(), send, sizeof(T) * n);
  }
  penalty(static_cast<double>(global), acc, true);
  apply_step();
}

template void Model<float>::train_shards(const float*, const float*, Index, double*, const float*,
                                         const ShardPlan&);
template void Model<double>::train_shards(const double*, const double*, Index, double*,
                                          const double*, const ShardPlan&);

}  // namespace eigennet
