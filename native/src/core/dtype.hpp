// Element types (nd_dtype): their sizes and their names as safetensors spells them.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "native_diffusion.h"

namespace nd::core {

// Bytes per element; 0 for a value outside nd_dtype.
std::size_t dtype_size(nd_dtype dtype) noexcept;

// "F32", "BF16", "F8_E4M3"...; "?" for a value outside nd_dtype. Static storage, NUL-terminated.
const char* dtype_name(nd_dtype dtype) noexcept;

// The dtype a file names; nullopt for a name we do not know (names are case-sensitive).
std::optional<nd_dtype> dtype_from_name(std::string_view name) noexcept;

// Every known name, space-separated, for messages that list the accepted values.
std::string known_dtype_names();

} // namespace nd::core
