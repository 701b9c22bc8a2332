// The one place where C++ meets the C ABI.
//
// Every fallible nd_* function runs its body through guarded(): exceptions become an nd_status plus a
// message in a thread-local string that nd_last_error() returns. A successful call leaves that message
// alone, so a caller may make other calls (a free, a count) before reading why an earlier one failed.
#pragma once

#include <cstring>
#include <new>
#include <string_view>
#include <type_traits>
#include <utility>

#include "core/error.hpp"
#include "native_diffusion.h"

namespace nd::capi {

// Stores "function: " + `kind` + `message` as this thread's last error. Never throws: if the copy cannot be
// allocated, a short fixed message takes its place.
void record_failure(const char* function, std::string_view kind, std::string_view message) noexcept;

// This thread's last error message, for nd_last_error().
const char* last_failure() noexcept;

// Runs `body` for the C function named `function` (pass __func__), which starts every message so that a
// caller reading nd_last_error() knows which call failed.
template <typename Body>
nd_status guarded(const char* function, Body&& body) noexcept {
    try {
        std::forward<Body>(body)();
        return ND_STATUS_OK;
    } catch (const core::Error& error) {
        record_failure(function, {}, error.message());
        return error.status() != ND_STATUS_OK ? error.status() : ND_STATUS_INTERNAL_ERROR;
    } catch (const std::bad_alloc&) {
        record_failure(function, {}, "out of memory");
        return ND_STATUS_OUT_OF_MEMORY;
    } catch (const std::exception& error) {
        record_failure(function, "internal error: ", error.what());
        return ND_STATUS_INTERNAL_ERROR;
    } catch (...) {
        record_failure(function, "internal error: ", "an exception of unknown type");
        return ND_STATUS_INTERNAL_ERROR;
    }
}

inline void require_non_null(const void* pointer, const char* parameter) {
    if (pointer == nullptr) {
        core::throw_error(ND_STATUS_INVALID_ARGUMENT, "{} is NULL", parameter);
    }
}

// For structs that start with struct_size: the caller must have set at least that field.
template <typename Struct>
void require_struct(const Struct* pointer, const char* parameter) {
    require_non_null(pointer, parameter);
    if (pointer->struct_size < sizeof(pointer->struct_size)) {
        core::throw_error(ND_STATUS_INVALID_ARGUMENT,
                          "{}->struct_size is {}; set it to the size of the struct", parameter,
                          pointer->struct_size);
    }
}

// The integer inside an enum that came from C. Reading it as its bytes is deliberate: C may pass any int,
// and a C++ load of an out-of-range enum value is undefined (and trips -fsanitize=enum). Widened to a
// signed type so that range checks read naturally whatever the enum's underlying type.
template <typename Enum>
long long enum_value(const Enum& value) noexcept {
    static_assert(std::is_enum_v<Enum>);
    std::underlying_type_t<Enum> bits;
    std::memcpy(&bits, &value, sizeof(bits));
    return static_cast<long long>(bits);
}

} // namespace nd::capi
