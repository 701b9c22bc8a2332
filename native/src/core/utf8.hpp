// Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above U+10FFFF.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace nd::core {

struct DecodedCodePoint {
    char32_t code_point;
    std::size_t length; // bytes consumed, 1..4
};

// Decodes the code point that starts at text[pos]; nullopt if the bytes there are not valid UTF-8.
std::optional<DecodedCodePoint> decode_utf8(std::string_view text, std::size_t pos) noexcept;

// Offset of the first byte that does not start a valid sequence; nullopt if all of `text` is valid.
std::optional<std::size_t> find_invalid_utf8(std::string_view text) noexcept;

// Appends the encoding of a scalar value (not a surrogate, at most U+10FFFF).
void append_utf8(std::string& out, char32_t code_point);

} // namespace nd::core
