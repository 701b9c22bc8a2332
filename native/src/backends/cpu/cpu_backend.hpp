// The CPU backend: host memory, a persistent thread pool, and the kernels of backends/cpu.
//
// Buffers are host memory, so uploads and downloads are memcpy and weights are read where they lie (a
// mapped file's pages), never copied. The instruction set is picked once, when the backend is made (the
// best this CPU runs, or one a test asks for). submit() runs the steps on the calling thread, spreading
// each op over the pool, and returns a completed Submission.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string_view>

#include "backends/backend.hpp"
#include "backends/cpu/isa.hpp"
#include "backends/cpu/packed_weight_cache.hpp"
#include "core/thread_pool.hpp"

namespace nd::backends::cpu {

struct CpuBackendOptions {
    int threads = 0;        // counting the caller; 0 means the machine's physical cores
    std::optional<Isa> isa; // the kernels' instruction set; the best this CPU runs when empty
};

class CpuBackend final : public Backend {
public:
    // Throws Error(ND_STATUS_UNSUPPORTED) when options.isa names a set this CPU cannot run.
    explicit CpuBackend(const CpuBackendOptions& options = {});

    [[nodiscard]] std::string_view name() const noexcept override { return "cpu"; }
    [[nodiscard]] BackendCapabilities capabilities() const override;
    [[nodiscard]] bool supports(core::OpKind op, std::span<const nd_dtype> operand_dtypes,
                                nd_dtype output) const override;
    using Backend::supports;
    [[nodiscard]] std::uint64_t scratch_bytes(const core::Graph& graph, core::ValueId node) const override;
    std::unique_ptr<BackendBuffer> allocate(std::uint64_t bytes) override;
    // Packs the weights of the plan's linear and convolution steps once, for this backend's kernels
    // (packed_weight_cache.hpp); later runs, of this plan or another sharing the weights, reuse them. Steps run
    // without it (submit() alone) pack their weights on every call instead, with the same results.
    void upload_weights(const core::Plan& plan, int device) override;
    // Runs the steps before returning; one submission at a time (others wait their turn).
    Submission submit(const core::Plan& plan, std::size_t first, std::size_t last, BackendBuffer& arena) override;

    [[nodiscard]] Isa isa() const noexcept { return isa_; }
    [[nodiscard]] int threads() const noexcept { return pool_.size(); }
    [[nodiscard]] core::ThreadPool& pool() noexcept { return pool_; }
    // Weights packed by upload_weights().
    [[nodiscard]] const PackedWeightCache& packed_weights() const noexcept { return packed_; }

private:
    Isa isa_;
    core::ThreadPool pool_;
    std::mutex submit_mutex_; // also guards packed_
    PackedWeightCache packed_;
};

} // namespace nd::backends::cpu
