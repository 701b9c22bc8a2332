// Conversion to GGUF through the C ABI.
#include <mutex>

#include "capi/boundary.hpp"
#include "capi/cancel_token.hpp"
#include "capi/model.hpp"
#include "capi/versioned_struct.hpp"
#include "model_files/gguf_export.hpp"
#include "native_diffusion.h"

namespace {

nd_convert_params default_convert_params() noexcept {
    nd_convert_params params{};
    params.struct_size = sizeof(params);
    params.output_path = nullptr;
    params.weight_type = ND_DTYPE_F16;
    params.progress = nullptr;
    params.progress_user_data = nullptr;
    params.cancel = nullptr;
    params.portable = 0;
    return params;
}

} // namespace

extern "C" {

nd_status nd_convert_params_init(nd_convert_params* params) {
    return nd::capi::guarded(__func__, [&] {
        nd::capi::require_struct(params, "params");
        nd::capi::write_versioned(params, default_convert_params());
    });
}

nd_status nd_model_convert(nd_model* model, const nd_convert_params* params) {
    return nd::capi::guarded(__func__, [&] {
        nd::capi::require_non_null(model, "model");
        nd::capi::require_struct(params, "params");
        nd_convert_params taken = default_convert_params();
        nd::capi::take_if_present(*params, taken, &nd_convert_params::output_path);
        nd::capi::take_if_present(*params, taken, &nd_convert_params::weight_type);
        nd::capi::take_if_present(*params, taken, &nd_convert_params::progress);
        nd::capi::take_if_present(*params, taken, &nd_convert_params::progress_user_data);
        nd::capi::take_if_present(*params, taken, &nd_convert_params::cancel);
        nd::capi::take_if_present(*params, taken, &nd_convert_params::portable);
        nd::capi::require_non_null(taken.output_path, "params->output_path");

        nd::model_files::GgufExportOptions options;
        if (taken.weight_type != ND_WEIGHT_TYPE_AS_STORED) {
            if (taken.weight_type < ND_DTYPE_F32 || taken.weight_type > ND_DTYPE_Q8_K) {
                nd::core::throw_error(ND_STATUS_INVALID_ARGUMENT, "params->weight_type {} is not an nd_dtype",
                                      taken.weight_type);
            }
            options.weight_type = static_cast<nd_dtype>(taken.weight_type);
        }
        options.portable = taken.portable != 0;
        if (taken.progress != nullptr) {
            options.progress = [&taken](std::uint64_t done, std::uint64_t total, const std::string& name) {
                taken.progress(done, total, name.c_str(), taken.progress_user_data);
            };
        }
        if (taken.cancel != nullptr) {
            const nd_cancel_token* token = taken.cancel;
            options.cancelled = [token] { return token->flag.cancelled(); };
        }
        const std::lock_guard lock(model->run_mutex);
        model->logger.log(ND_LOG_LEVEL_INFO, "converting to '{}'", taken.output_path);
        nd::model_files::export_gguf(model->loaded(), std::filesystem::path(taken.output_path), options);
        model->logger.log(ND_LOG_LEVEL_INFO, "wrote '{}'", taken.output_path);
    });
}

} // extern "C"
