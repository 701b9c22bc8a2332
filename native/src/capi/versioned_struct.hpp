// Structs that grow at their end: how the library reads and writes a caller's struct of another version.
//
// The caller says how big its struct is in struct_size. An older caller's struct is smaller; a newer
// caller's is bigger. Either way the library touches only the bytes both sides know.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>

namespace nd::capi {

// Copies `full` into the caller's struct, up to the caller's struct_size, which is kept.
template <typename Struct>
void write_versioned(Struct* out, Struct full) noexcept {
    const auto caller_size = out->struct_size;
    full.struct_size = caller_size;
    std::memcpy(out, &full, std::min<std::size_t>(caller_size, sizeof(Struct)));
}

// Takes `field` from the caller's struct into `result` if the caller's struct_size covers all of it;
// otherwise `result` keeps its default. A field only partly covered is not taken: half a pointer is
// worse than a default. Copied as bytes so that enums are not loaded before they are validated.
template <typename Struct, typename Field>
void take_if_present(const Struct& caller, Struct& result, Field Struct::*field) noexcept {
    const auto* base = reinterpret_cast<const std::byte*>(&result);
    const auto* target = reinterpret_cast<const std::byte*>(&(result.*field));
    const auto end = static_cast<std::size_t>(target - base) + sizeof(Field);
    if (end <= caller.struct_size) {
        std::memcpy(&(result.*field), &(caller.*field), sizeof(Field));
    }
}

} // namespace nd::capi
