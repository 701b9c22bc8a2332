#include "backends/cpu/packed_weight_cache.hpp"

#include <algorithm>

#include "core/dtype.hpp"
#include "core/graph.hpp"

#if defined(__linux__)
#include <sys/mman.h>
#include <unistd.h>
#endif

namespace nd::backends::cpu {

namespace {

// The whole pages inside [data, data + bytes) of borrowed (mapped, read-only) memory are handed back to the
// kernel: file pages are dropped and read again from the file if touched. Anything else is left alone.
void release_pages(const core::Storage& storage, const std::byte* data, std::uint64_t bytes) {
#if defined(__linux__) && defined(MADV_PAGEOUT)
    if (storage.kind() != core::Storage::Kind::Borrowed || bytes == 0) {
        return;
    }
    const auto page = static_cast<std::uintptr_t>(sysconf(_SC_PAGESIZE));
    const auto begin = (reinterpret_cast<std::uintptr_t>(data) + page - 1) / page * page;
    const auto end = (reinterpret_cast<std::uintptr_t>(data) + bytes) / page * page;
    if (end > begin) { // advice: a failure (an old kernel) only leaves the pages resident
        (void)madvise(reinterpret_cast<void*>(begin), end - begin, MADV_PAGEOUT);
    }
#else
    (void)storage;
    (void)data;
    (void)bytes;
#endif
}

bool gemm_weight_type(nd_dtype t) {
    return t == ND_DTYPE_F32 || t == ND_DTYPE_F16 || t == ND_DTYPE_BF16 ||
           (core::dtype_is_quantized(t) && t != ND_DTYPE_Q8_K);
}

} // namespace

PackedWeightCache::Key PackedWeightCache::key_of(const core::TensorView& weight) {
    Key key;
    if ((weight.rank != 2 && weight.rank != 4) || weight.data == nullptr || weight.dim(0) <= 0) {
        return key;
    }
    key.data = weight.data;
    key.type = weight.dtype;
    key.n = weight.dim(0);
    key.k = weight.elements() / key.n;
    const auto row_bytes =
        static_cast<std::int64_t>(core::dtype_row_bytes(weight.dtype, static_cast<std::uint64_t>(key.k)));
    if (weight.rank == 4) { // convolutions read 4-D weights only packed (cpu_backend.cpp copies others)
        const auto element = static_cast<std::int64_t>(core::dtype_size(weight.dtype));
        const bool packed = weight.stride(3) == element && weight.stride(2) == element * weight.dim(3) &&
                            weight.stride(1) == element * weight.dim(3) * weight.dim(2);
        key.row_stride = packed ? weight.stride(0) : -1;
    } else {
        key.row_stride = std::max(weight.stride(0), row_bytes);
    }
    return key;
}

void PackedWeightCache::add(const core::Plan& plan, int device, core::ThreadPool& pool, Isa isa) {
    const core::Graph& graph = plan.graph();
    for (const core::Step& step : plan.steps()) {
        if (step.device != device) {
            continue;
        }
        const core::Node& node = graph.node(step.value);
        if ((node.op != core::OpKind::Linear && node.op != core::OpKind::Conv2d) || node.inputs.size() < 2) {
            continue;
        }
        const core::ValueId id = node.inputs[1];
        const core::Node& base = graph.node(graph.node(id).base);
        if (base.op != core::OpKind::Weight || !base.constant.defined()) {
            continue;
        }
        const core::TensorView view = plan.view(id, nullptr);
        const Key key = key_of(view);
        if (key.data == nullptr || key.row_stride < 0 || !gemm_weight_type(key.type) ||
            key.k % static_cast<std::int64_t>(core::dtype_block_elements(key.type)) != 0 ||
            entries_.contains(key)) {
            continue;
        }
        Entry entry;
        entry.storage = base.constant.storage();
        entry.weights = PrepackedWeights::pack(key.data, key.type, key.n, key.k, key.row_stride, pool, isa);
        bytes_ += entry.weights.bytes();
        release_pages(*entry.storage, key.data,
                      static_cast<std::uint64_t>(key.row_stride * (key.n - 1)) +
                          core::dtype_row_bytes(key.type, static_cast<std::uint64_t>(key.k)));
        entries_.emplace(key, std::move(entry));
    }
}

const PrepackedWeights* PackedWeightCache::find(const core::TensorView& weight) const {
    if (entries_.empty()) {
        return nullptr;
    }
    const Key key = key_of(weight);
    const auto it = entries_.find(key);
    return it != entries_.end() ? &it->second.weights : nullptr;
}

} // namespace nd::backends::cpu
