// The engine's one exception type.
//
// It carries the nd_status that the C boundary (capi/boundary.hpp) returns, so a failure found deep in a
// parser reaches the caller with the right category and no translation table in between. Everything the
// engine throws on purpose is an Error; anything else reaching the boundary is treated as a bug.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "core/format.hpp"
#include "native_diffusion.h"

namespace nd::core {

class Error : public std::runtime_error {
public:
    Error(nd_status status, const std::string& message) : std::runtime_error(message), status_(status) {}

    nd_status status() const noexcept { return status_; }
    std::string_view message() const noexcept { return what(); }

private:
    nd_status status_;
};

template <typename... Args>
[[noreturn]] void throw_error(nd_status status, FormatString<std::type_identity_t<Args>...> text,
                              const Args&... args) {
    throw Error(status, format(text, args...));
}

// For malformed input files; the message should name the field and the byte offset.
template <typename... Args>
[[noreturn]] void throw_invalid_format(FormatString<std::type_identity_t<Args>...> text,
                                       const Args&... args) {
    throw Error(ND_STATUS_INVALID_FORMAT, format(text, args...));
}

// The same error with "context: " in front (typically a file path), so inner code need not know it.
inline Error with_context(const Error& error, std::string_view context) {
    std::string message(context);
    message += ": ";
    message += error.message();
    return Error(error.status(), message);
}

} // namespace nd::core
