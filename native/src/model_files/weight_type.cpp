#include "model_files/weight_type.hpp"

#include "core/dtype.hpp"

namespace nd::model_files {

bool is_weight_type(nd_dtype type) noexcept {
    switch (type) {
    case ND_DTYPE_F32:
    case ND_DTYPE_F16:
    case ND_DTYPE_BF16:
        return true;
    case ND_DTYPE_Q8_K:
        return false;
    default:
        return core::dtype_is_quantized(type);
    }
}

std::optional<nd_dtype> choose_weight_type(std::string_view name, const core::Shape& shape,
                                           nd_dtype requested) noexcept {
    if (!is_weight_type(requested) || !name.ends_with("weight") ||
        name.find("embedding") != std::string_view::npos || (shape.rank != 2 && shape.rank != 4)) {
        return std::nullopt;
    }
    std::int64_t row = 1;
    for (int d = 1; d < shape.rank; ++d) {
        row *= shape[d];
    }
    const auto block = static_cast<std::int64_t>(core::dtype_block_elements(requested));
    if (row <= 0 || row % block != 0 || shape.elements() < kMinConvertedElements) {
        return std::nullopt;
    }
    return requested;
}

} // namespace nd::model_files
