// Which weights change type when a model is converted on load (or written to GGUF): one rule set, here.
//
// Only the matrices that matmul-heavy ops read convert: 2-D linear weights and 4-D convolution weights
// (whose rows are C*kh*kw long), named "...weight", whose row length is a whole number of the target's
// blocks and which hold at least kMinConvertedElements elements. Norm weights and biases (1-D), embeddings
// (token, position), and small tensors keep their type: they cost little memory and lose the most precision.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "core/tensor.hpp"
#include "native_diffusion.h"

namespace nd::model_files {

inline constexpr std::int64_t kMinConvertedElements = 4096;

// Whether `type` can be asked for as a weight type: F32, F16, BF16 and the GGML block types but Q8_K
// (which is only an activation format).
bool is_weight_type(nd_dtype type) noexcept;

// `requested` when the weight `name` of this shape converts to it, nullopt when it keeps its type. The
// caller also keeps tensors that are not floating point (F32/F16/BF16) already.
std::optional<nd_dtype> choose_weight_type(std::string_view name, const core::Shape& shape,
                                           nd_dtype requested) noexcept;

} // namespace nd::model_files
