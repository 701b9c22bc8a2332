// Block-quantized copies of a model's weights, for running models on the integer kernels in tests: every
// matrix (2-D) or convolution kernel (4-D, as rows [O, C*kh*kw], the form quantized conv weights take) whose
// rows are whole blocks becomes `type`; the rest stays as it is. Beside it, the same weights dequantized to
// F32, so that a quantized run can be compared with a float run of exactly the weights it used.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "backends/cpu/quant/quants.hpp"
#include "core/dtype.hpp"
#include "core/tensor.hpp"
#include "model_files/weight_set.hpp"

namespace nd::testing {

struct QuantizedWeights {
    model_files::WeightSet quantized;
    model_files::WeightSet dequantized; // F32, the values the quantized tensors hold
    int converted = 0;
};

inline QuantizedWeights quantize_weights(const model_files::WeightSet& weights, const std::string& prefix,
                                         nd_dtype type) {
    QuantizedWeights out;
    const auto block = static_cast<std::int64_t>(core::dtype_block_elements(type));
    for (const auto& [name, tensor] : weights.all()) {
        const bool matrix = tensor.rank() == 2 || tensor.rank() == 4;
        const std::int64_t rows = matrix ? tensor.dim(0) : 0;
        const std::int64_t cols = matrix ? tensor.elements() / rows : 0;
        const bool floats = tensor.dtype() == ND_DTYPE_F16 || tensor.dtype() == ND_DTYPE_F32;
        if (!name.starts_with(prefix) || !matrix || !floats || cols % block != 0 ||
            (tensor.rank() == 4 && tensor.dim(2) == 1 && tensor.dim(3) == 1)) {
            out.quantized.add(name, tensor);
            out.dequantized.add(name, tensor);
            continue;
        }
        const std::vector<float> values = tensor.to_f32();
        const core::Shape shape{rows, cols};
        const core::Tensor q = core::Tensor::empty(type, shape);
        std::vector<float> back(values.size());
        const std::uint64_t row_bytes = core::dtype_row_bytes(type, static_cast<std::uint64_t>(cols));
        for (std::int64_t r = 0; r < rows; ++r) {
            const std::span<const float> src(values.data() + r * cols, static_cast<std::size_t>(cols));
            const std::span<std::byte> dst(q.data() + static_cast<std::uint64_t>(r) * row_bytes, row_bytes);
            backends::cpu::quant::quantize_row(type, src, dst);
            backends::cpu::quant::dequantize_row(
                type, dst, std::span<float>(back.data() + r * cols, static_cast<std::size_t>(cols)));
        }
        out.quantized.add(name, q);
        out.dequantized.add(name, core::Tensor::from_f32(tensor.shape(), back));
        ++out.converted;
    }
    return out;
}

} // namespace nd::testing
