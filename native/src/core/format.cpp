#include "core/format.hpp"

#include <charconv>
#include <cstdio>
#include <system_error>

namespace nd::core {

namespace {

template <typename Number>
void append_number(std::string& out, Number value) {
    // 32 characters hold any 64-bit integer and the shortest round-trip form of any double.
    char buffer[32];
    const auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);
    out.append(buffer, result.ptr);
}

} // namespace

void FormatArg::append_to(std::string& out) const {
    std::visit(
        [&out](const auto& value) {
            using T = std::decay_t<decltype(value)>;
            if constexpr (std::is_same_v<T, bool>) {
                out += value ? "true" : "false";
            } else if constexpr (std::is_same_v<T, char> || std::is_same_v<T, std::string_view>) {
                out += value;
            } else if constexpr (std::is_same_v<T, const void*>) {
                char buffer[32];
                const int n = std::snprintf(buffer, sizeof(buffer), "%p", value);
                out.append(buffer, n > 0 ? static_cast<std::size_t>(n) : 0);
            } else {
                append_number(out, value);
            }
        },
        value_);
}

std::string describe_byte(char byte) {
    const auto value = static_cast<unsigned char>(byte);
    if (value >= 0x20 && value < 0x7F) {
        return std::string{'\'', byte, '\''};
    }
    constexpr char hex[] = "0123456789ABCDEF";
    return std::string("byte 0x") + hex[value >> 4] + hex[value & 0xF];
}

std::string vformat(std::string_view text, std::span<const FormatArg> args) {
    std::string out;
    out.reserve(text.size() + 16 * args.size());
    std::size_t next_arg = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        const bool doubled = (c == '{' || c == '}') && i + 1 < text.size() && text[i + 1] == c;
        if (doubled) {
            out += c;
            ++i;
        } else if (c == '{') {
            // FormatString guarantees a matching '}' and enough arguments.
            args[next_arg++].append_to(out);
            ++i;
        } else {
            out += c;
        }
    }
    return out;
}

} // namespace nd::core
