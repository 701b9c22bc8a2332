// Contexts: what several operations share (the log callback now; threads and backends later).
#include <memory>

#include "capi/boundary.hpp"
#include "capi/context.hpp"
#include "capi/versioned_struct.hpp"
#include "native_diffusion.h"

namespace {

nd_context_params default_context_params() noexcept {
    nd_context_params params{};
    params.struct_size = sizeof(params);
    params.log_callback = nullptr;
    params.log_user_data = nullptr;
    params.min_log_level = ND_LOG_LEVEL_INFO;
    return params;
}

} // namespace

extern "C" {

nd_status nd_context_params_init(nd_context_params* params) {
    return nd::capi::guarded(__func__, [&] {
        nd::capi::require_struct(params, "params");
        nd::capi::write_versioned(params, default_context_params());
    });
}

nd_status nd_context_create(const nd_context_params* params, nd_context** out_context) {
    return nd::capi::guarded(__func__, [&] {
        nd::capi::require_non_null(out_context, "out_context");
        *out_context = nullptr;
        nd::capi::require_struct(params, "params");

        // Fields an older caller's struct does not have keep their defaults.
        nd_context_params taken = default_context_params();
        nd::capi::take_if_present(*params, taken, &nd_context_params::log_callback);
        nd::capi::take_if_present(*params, taken, &nd_context_params::log_user_data);
        nd::capi::take_if_present(*params, taken, &nd_context_params::min_log_level);

        const auto level = nd::capi::enum_value(taken.min_log_level);
        if (level < ND_LOG_LEVEL_TRACE || level > ND_LOG_LEVEL_NONE) {
            nd::core::throw_error(ND_STATUS_INVALID_ARGUMENT,
                                  "params->min_log_level {} is not an nd_log_level", level);
        }
        auto context = std::make_unique<nd_context>(
            nd_context{nd::core::Logger(taken.log_callback, taken.log_user_data, taken.min_log_level)});
        *out_context = context.release(); // ownership passes to the caller until nd_context_free
    });
}

void nd_context_free(nd_context* context) {
    delete context;
}

} // extern "C"
