// The CPU backend's weights packed once (upload_weights), keyed by where they lie and how a kernel reads
// them, so that a linear layer or convolution finds its packed copy from the TensorView it is given.
//
// Memory: the packed copy replaces the weights in the working set, so after packing a weight that lies in
// borrowed memory (a mapped model file) the cache asks the kernel to reclaim those pages (MADV_PAGEOUT, which
// never changes what the memory reads: a later read of the weight pages them back in). Owned weights (made
// in memory) stay resident beside their packed copy.
#pragma once

#include <compare>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>

#include "backends/cpu/isa.hpp"
#include "backends/cpu/prepacked_weights.hpp"
#include "core/planner.hpp"
#include "core/tensor.hpp"
#include "core/tensor_view.hpp"
#include "core/thread_pool.hpp"

namespace nd::backends::cpu {

class PackedWeightCache {
public:
    // Packs the weights of the linear and convolution steps of `plan` placed on `device` that are not packed
    // yet, for `isa`'s kernels.
    void add(const core::Plan& plan, int device, core::ThreadPool& pool, Isa isa);

    // The packed copy of the weight matrix a linear layer (rank 2, [n, k]) or a convolution (rank 4 or rank-2
    // rows) reads through `weight`, or nullptr.
    [[nodiscard]] const PrepackedWeights* find(const core::TensorView& weight) const;

    [[nodiscard]] std::size_t size() const noexcept { return entries_.size(); }
    // Bytes of all packed copies.
    [[nodiscard]] std::uint64_t bytes() const noexcept { return bytes_; }

private:
    struct Key {
        const std::byte* data = nullptr;
        nd_dtype type = ND_DTYPE_F32;
        std::int64_t n = 0;
        std::int64_t k = 0;
        std::int64_t row_stride = 0;
        auto operator<=>(const Key&) const = default;
    };
    struct Entry {
        std::shared_ptr<core::Storage> storage; // pins the key's memory
        PrepackedWeights weights;
    };
    static Key key_of(const core::TensorView& weight);

    std::map<Key, Entry> entries_;
    std::uint64_t bytes_ = 0;
};

} // namespace nd::backends::cpu
