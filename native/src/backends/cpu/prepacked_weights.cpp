#include "backends/cpu/prepacked_weights.hpp"

#include "core/dtype.hpp"

namespace nd::backends::cpu {

PrepackedWeights PrepackedWeights::pack(const std::byte* w, nd_dtype type, std::int64_t n, std::int64_t k,
                                        std::int64_t w_row_stride, core::ThreadPool& pool, Isa isa) {
    PrepackedWeights packed;
    if (core::dtype_is_quantized(type)) {
        packed.quantized_ = quant::pack_quantized(w, type, n, k, w_row_stride, pool, isa);
    } else {
        packed.floats_ = gemm::pack_weights(w, type, n, k, w_row_stride, pool, isa);
    }
    packed.type_ = type;
    packed.n_ = n;
    packed.k_ = k;
    packed.isa_ = isa;
    return packed;
}

} // namespace nd::backends::cpu
