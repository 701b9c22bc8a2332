// Version and error reporting of the C ABI.
#include <string>

#include "capi/boundary.hpp"
#include "core/build_config.hpp"
#include "native_diffusion.h"

namespace nd::capi {

namespace {

// The only per-thread state of the library (see boundary.hpp).
std::string& last_failure_storage() noexcept {
    thread_local std::string message;
    return message;
}

} // namespace

void record_failure(const char* function, std::string_view kind, std::string_view message) noexcept {
    std::string& storage = last_failure_storage();
    try {
        storage.assign(function);
        storage.append(": ");
        storage.append(kind);
        storage.append(message);
    } catch (...) {
        // Short enough for the small-string buffer, so this assignment cannot allocate.
        storage.assign("out of memory");
    }
}

const char* last_failure() noexcept {
    return last_failure_storage().c_str();
}

} // namespace nd::capi

extern "C" {

uint32_t nd_abi_version(void) {
    return ND_ABI_VERSION;
}

const char* nd_version(void) {
    return nd::core::build_config::version;
}

const char* nd_status_name(nd_status status) {
    switch (nd::capi::enum_value(status)) {
    case ND_STATUS_OK: return "ND_STATUS_OK";
    case ND_STATUS_INVALID_ARGUMENT: return "ND_STATUS_INVALID_ARGUMENT";
    case ND_STATUS_OUT_OF_MEMORY: return "ND_STATUS_OUT_OF_MEMORY";
    case ND_STATUS_IO_ERROR: return "ND_STATUS_IO_ERROR";
    case ND_STATUS_INVALID_FORMAT: return "ND_STATUS_INVALID_FORMAT";
    case ND_STATUS_UNSUPPORTED: return "ND_STATUS_UNSUPPORTED";
    case ND_STATUS_NOT_FOUND: return "ND_STATUS_NOT_FOUND";
    case ND_STATUS_CANCELLED: return "ND_STATUS_CANCELLED";
    case ND_STATUS_INTERNAL_ERROR: return "ND_STATUS_INTERNAL_ERROR";
    default: return "?";
    }
}

const char* nd_last_error(void) {
    return nd::capi::last_failure();
}

} // extern "C"
