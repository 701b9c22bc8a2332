#include "model_files/weight_conversion.hpp"

#include <algorithm>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "backends/cpu/quant/quants.hpp"
#include "core/dtype.hpp"
#include "core/error.hpp"
#include "core/half.hpp"
#include "model_files/weight_type.hpp"

namespace nd::model_files {
namespace {

bool is_float(nd_dtype type) noexcept {
    return type == ND_DTYPE_F32 || type == ND_DTYPE_F16 || type == ND_DTYPE_BF16;
}

void row_to_f32(nd_dtype type, const std::byte* src, std::span<float> dst) {
    for (std::size_t i = 0; i < dst.size(); ++i) {
        std::uint16_t half = 0;
        switch (type) {
        case ND_DTYPE_F32:
            std::memcpy(&dst[i], src + 4 * i, 4);
            continue;
        case ND_DTYPE_F16:
            std::memcpy(&half, src + 2 * i, 2);
            dst[i] = core::f16_to_f32(half);
            continue;
        default:
            std::memcpy(&half, src + 2 * i, 2);
            dst[i] = core::bf16_to_f32(half);
            continue;
        }
    }
}

void f32_to_row(std::span<const float> src, nd_dtype type, std::byte* dst) {
    if (core::dtype_is_quantized(type)) {
        backends::cpu::quant::quantize_row(
            type, src, std::span(dst, static_cast<std::size_t>(core::dtype_row_bytes(type, src.size()))));
        return;
    }
    for (std::size_t i = 0; i < src.size(); ++i) {
        if (type == ND_DTYPE_F32) {
            std::memcpy(dst + 4 * i, &src[i], 4);
            continue;
        }
        const std::uint16_t half = type == ND_DTYPE_F16 ? core::f32_to_f16(src[i]) : core::f32_to_bf16(src[i]);
        std::memcpy(dst + 2 * i, &half, 2);
    }
}

} // namespace

core::Tensor convert_weight(const core::Tensor& source, nd_dtype type, core::ThreadPool* pool) {
    if (!is_float(source.dtype())) {
        core::throw_error(ND_STATUS_INVALID_ARGUMENT, "cannot convert a {} tensor {}: only F32, F16 and BF16 convert",
                          core::dtype_name(source.dtype()), source.shape().to_string());
    }
    if (!is_weight_type(type)) {
        core::throw_error(ND_STATUS_INVALID_ARGUMENT, "{} is not a weight type", core::dtype_name(type));
    }
    const core::Tensor packed = source.contiguous();
    std::int64_t rows = 1;
    std::int64_t row = 1;
    if (packed.rank() > 0) {
        rows = packed.dim(0);
        row = packed.elements() / std::max<std::int64_t>(rows, 1);
    }
    core::Shape shape = packed.shape();
    if (core::dtype_is_quantized(type) && packed.rank() != 2) {
        shape = core::Shape({rows, row});
    }
    core::Tensor out = core::Tensor::empty(type, shape); // throws on rows that are not whole blocks
    const std::size_t in_row_bytes = static_cast<std::size_t>(row) * core::dtype_size(packed.dtype());
    const auto out_row_bytes = static_cast<std::size_t>(core::dtype_row_bytes(type, static_cast<std::uint64_t>(row)));
    const auto convert_rows = [&](std::int64_t begin, std::int64_t end, int /*thread*/) {
        std::vector<float> values(static_cast<std::size_t>(row));
        for (std::int64_t r = begin; r < end; ++r) {
            row_to_f32(packed.dtype(), packed.data() + static_cast<std::size_t>(r) * in_row_bytes, values);
            f32_to_row(values, type, out.data() + static_cast<std::size_t>(r) * out_row_bytes);
        }
    };
    if (pool != nullptr && pool->size() > 1 && rows > 1) {
        pool->parallel_for(rows, std::max<std::int64_t>(1, 65536 / std::max<std::int64_t>(row, 1)), convert_rows);
    } else {
        convert_rows(0, rows, 0);
    }
    return out;
}

ConversionSummary convert_weights(WeightSet& weights, nd_dtype requested, core::ThreadPool* pool) {
    if (!is_weight_type(requested)) {
        core::throw_error(ND_STATUS_INVALID_ARGUMENT, "{} is not a weight type (F32, F16, BF16, Q8_0, Q4_0, ...)",
                          core::dtype_name(requested));
    }
    ConversionSummary summary;
    std::vector<std::string> names;
    for (const auto& [name, tensor] : weights.all()) {
        if (is_float(tensor.dtype()) && tensor.dtype() != requested &&
            choose_weight_type(name, tensor.shape(), requested)) {
            names.push_back(name);
        }
    }
    for (const std::string& name : names) {
        const core::Tensor& source = weights.require(name);
        core::Tensor converted = convert_weight(source, requested, pool);
        summary.bytes_before += source.packed_bytes();
        summary.bytes_after += converted.packed_bytes();
        ++summary.converted;
        weights.replace(name, std::move(converted)); // the source's bytes stay only in its mapping
    }
    return summary;
}

} // namespace nd::model_files
