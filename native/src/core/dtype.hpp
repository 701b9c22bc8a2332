// Element types (nd_dtype): sizes, GGML block layouts, and names as files spell them.
//
// Plain types store one element in dtype_size() bytes. Block-quantized types (Q8_0 ... Q6_K, Q8_K) store
// runs of dtype_block_elements() consecutive elements of a row in dtype_block_bytes() bytes; a row's length
// must be a multiple of the block. Plain types are blocks of one element, so row arithmetic is uniform.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "native_diffusion.h"

namespace nd::core {

// Bytes per element of a plain type; 0 for a block-quantized type or a value outside nd_dtype.
std::size_t dtype_size(nd_dtype dtype) noexcept;

// Elements per block: 1 for plain types, 32 for Q8_0/Q4_x/Q5_x, 256 for the K types; 0 if unknown.
std::size_t dtype_block_elements(nd_dtype dtype) noexcept;

// Bytes per block (the element size for plain types); 0 if unknown.
std::size_t dtype_block_bytes(nd_dtype dtype) noexcept;

// Whether the type is one of the GGML block-quantized formats.
bool dtype_is_quantized(nd_dtype dtype) noexcept;

// Bytes of a row of `elements` elements; throws nd::core::Error (invalid argument) when `elements` is not a
// multiple of the block size, and on overflow.
std::uint64_t dtype_row_bytes(nd_dtype dtype, std::uint64_t elements);

// "F32", "BF16", "Q4_K"...; "?" for a value outside nd_dtype. Static storage, NUL-terminated.
const char* dtype_name(nd_dtype dtype) noexcept;

// The element (non-quantized) dtype a safetensors file names; nullopt for a name it may not use
// (names are case-sensitive; block-quantized types are not safetensors dtypes).
std::optional<nd_dtype> dtype_from_name(std::string_view name) noexcept;

// Every name dtype_from_name accepts, space-separated, for messages that list the accepted values.
std::string known_dtype_names();

} // namespace nd::core
