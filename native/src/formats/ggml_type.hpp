// GGML tensor type numbers (ggml.h's enum ggml_type, as GGUF files store them) and the engine dtypes.
//
// Only the types nd_dtype has map; the rest (Q8_1, the IQ and TQ families, MXFP4) are named for messages
// but refused. The numbers are fixed by the file format: ggml never renumbers, it retires (4, 5, 31-33,
// 36-38 are retired and read as unknown).
#pragma once

#include <cstdint>
#include <optional>

#include "native_diffusion.h"

namespace nd::formats {

// The engine dtype of a GGML type number; nullopt for types the engine lacks and numbers ggml never used.
std::optional<nd_dtype> dtype_from_ggml_type(std::uint32_t ggml_type) noexcept;

// The GGML type number of an engine dtype; nullopt for dtypes ggml has no type for (F8, unsigned, BOOL).
std::optional<std::uint32_t> ggml_type_from_dtype(nd_dtype dtype) noexcept;

// ggml's name for a type number ("q4_K", "iq2_xxs"); nullptr for a number ggml does not define.
const char* ggml_type_name(std::uint32_t ggml_type) noexcept;

} // namespace nd::formats
