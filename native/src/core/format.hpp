// Message formatting with "{}" placeholders, checked at compile time.
//
// g++ 12 ships no <format>; this covers what error and log messages need (strings, numbers, enums,
// pointers) without format specs. "{{" and "}}" produce literal braces. The placeholder count is checked
// against the argument count when the call is compiled, so a wrong message cannot reach a user as a crash.
#pragma once

#include <array>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

namespace nd::core {

namespace detail {

// Counts "{}" in a format string; a stray brace makes the constant evaluation (and the build) fail.
consteval std::size_t count_placeholders(std::string_view text) {
    std::size_t count = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c != '{' && c != '}') {
            continue;
        }
        const bool has_next = i + 1 < text.size();
        if (has_next && text[i + 1] == c) {
            ++i; // "{{" or "}}"
        } else if (c == '{' && has_next && text[i + 1] == '}') {
            ++count;
            ++i;
        } else {
            throw "format string: a brace must be part of \"{}\", \"{{\" or \"}}\"";
        }
    }
    return count;
}

} // namespace detail

// A format string whose placeholder count matches Args; built only from compile-time strings.
template <typename... Args>
class FormatString {
public:
    // Implicit on purpose, like std::format_string: call sites pass a plain literal.
    template <std::convertible_to<std::string_view> Text>
    consteval FormatString(const Text& text) : text_(text) {
        if (detail::count_placeholders(text_) != sizeof...(Args)) {
            throw "format string: the number of {} differs from the number of arguments";
        }
    }

    constexpr std::string_view text() const noexcept { return text_; }

private:
    std::string_view text_;
};

// One argument, type-erased so that the formatting code is compiled once, not per call site.
class FormatArg {
public:
    using Value =
        std::variant<long long, unsigned long long, double, bool, char, std::string_view, const void*>;

    // Built by make_format_arg, which picks T among the alternatives of Value.
    template <typename T>
    FormatArg(std::in_place_type_t<T> type, std::type_identity_t<T> value) noexcept : value_(type, value) {}

    void append_to(std::string& out) const;

private:
    Value value_;
};

template <typename T>
FormatArg make_format_arg(const T& value) {
    using std::in_place_type;
    if constexpr (std::is_same_v<T, bool> || std::is_same_v<T, char>) {
        return FormatArg(in_place_type<T>, value);
    } else if constexpr (std::is_enum_v<T>) {
        return make_format_arg(static_cast<std::underlying_type_t<T>>(value));
    } else if constexpr (std::is_integral_v<T> && std::is_signed_v<T>) {
        return FormatArg(in_place_type<long long>, value);
    } else if constexpr (std::is_integral_v<T>) {
        return FormatArg(in_place_type<unsigned long long>, value);
    } else if constexpr (std::is_floating_point_v<T>) {
        return FormatArg(in_place_type<double>, static_cast<double>(value));
    } else if constexpr (std::is_same_v<T, const char*> || std::is_same_v<T, char*>) {
        // A C string may be NULL (it often comes straight from a caller); string_view(nullptr) is UB.
        return FormatArg(in_place_type<std::string_view>,
                         value != nullptr ? std::string_view(value) : "(null)");
    } else if constexpr (std::is_convertible_v<const T&, std::string_view>) {
        return FormatArg(in_place_type<std::string_view>, std::string_view(value));
    } else if constexpr (std::is_pointer_v<T>) {
        return FormatArg(in_place_type<const void*>, static_cast<const void*>(value));
    } else {
        static_assert(!sizeof(T), "this type cannot be formatted; convert it to a string or a number first");
    }
}

std::string vformat(std::string_view text, std::span<const FormatArg> args);

// "'x'" for a printable ASCII byte, "byte 0x8F" otherwise: messages never echo raw control or partial
// UTF-8 bytes from a malformed file.
std::string describe_byte(char byte);

template <typename... Args>
std::string format(FormatString<std::type_identity_t<Args>...> text, const Args&... args) {
    const std::array<FormatArg, sizeof...(Args)> erased{make_format_arg(args)...};
    return vformat(text.text(), erased);
}

} // namespace nd::core
