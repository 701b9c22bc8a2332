// Converting weights to another type on load (F16, BF16, or a GGML block type), tensor by tensor: each
// borrowed source is read once and replaced by an owned converted tensor, so memory never holds two full
// copies of the model (the source stays in the page cache of its mapping, not in the heap).
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/tensor.hpp"
#include "core/thread_pool.hpp"
#include "model_files/weight_set.hpp"

namespace nd::model_files {

// An owned packed copy of `source` (F32, F16 or BF16) in `type`. A block-quantized target stores a
// convolution weight [O, C, kh, kw] as its matrix [O, C*kh*kw] (a block type's rows must be runs of whole
// blocks; graph conv2d takes such 2-D weights with the kernel size given). Throws
// Error(ND_STATUS_INVALID_ARGUMENT) for another source type or rows that are not whole blocks. Rows are
// spread over `pool` when given (the bytes are the same either way).
core::Tensor convert_weight(const core::Tensor& source, nd_dtype type, core::ThreadPool* pool = nullptr);

struct ConversionSummary {
    std::size_t converted = 0;
    std::uint64_t bytes_before = 0; // of the converted tensors only
    std::uint64_t bytes_after = 0;
};

// Converts, in place, every floating-point weight that choose_weight_type selects for `requested`.
// Throws Error(ND_STATUS_INVALID_ARGUMENT) when `requested` is not a weight type.
ConversionSummary convert_weights(WeightSet& weights, nd_dtype requested, core::ThreadPool* pool = nullptr);

} // namespace nd::model_files
