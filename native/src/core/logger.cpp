#include "core/logger.hpp"

namespace nd::core {

Logger::Logger(nd_log_callback callback, void* user_data, nd_log_level min_level) noexcept
    : callback_(callback), user_data_(user_data), min_level_(min_level) {}

void Logger::deliver(nd_log_level level, const std::string& message) const noexcept {
    // The callback's contract (native_diffusion.h) forbids unwinding; noexcept makes a violation a clean
    // terminate here instead of undefined behaviour in the caller's frames.
    callback_(level, message.c_str(), user_data_);
}

} // namespace nd::core
