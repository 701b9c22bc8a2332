// Log messages go to the callback a caller registered on its context, never to a process-wide sink.
#pragma once

#include <string>
#include <type_traits>

#include "core/format.hpp"
#include "native_diffusion.h"

namespace nd::core {

class Logger {
public:
    // A logger that drops everything (used when a caller passes no context).
    Logger() noexcept = default;
    Logger(nd_log_callback callback, void* user_data, nd_log_level min_level) noexcept;

    bool enabled(nd_log_level level) const noexcept {
        return callback_ != nullptr && level >= min_level_ && level < ND_LOG_LEVEL_NONE;
    }

    // The message is formatted only when it will be delivered: logging in loops costs nothing when quiet.
    template <typename... Args>
    void log(nd_log_level level, FormatString<std::type_identity_t<Args>...> text,
             const Args&... args) const {
        if (enabled(level)) {
            deliver(level, format(text, args...));
        }
    }

private:
    void deliver(nd_log_level level, const std::string& message) const noexcept;

    nd_log_callback callback_ = nullptr;
    void* user_data_ = nullptr;
    nd_log_level min_level_ = ND_LOG_LEVEL_NONE;
};

} // namespace nd::core
