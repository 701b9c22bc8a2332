// Generation through the C ABI: requests in, images out, progress and previews through callbacks.
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "capi/boundary.hpp"
#include "capi/cancel_token.hpp"
#include "capi/model.hpp"
#include "capi/versioned_struct.hpp"
#include "native_diffusion.h"

struct nd_images {
    std::vector<nd::pipeline::Image> images;
};

namespace {

nd_generate_params default_generate_params() noexcept {
    nd_generate_params params{};
    params.struct_size = sizeof(params);
    params.prompt = nullptr;
    params.negative_prompt = nullptr;
    params.width = 512;
    params.height = 512;
    params.steps = 20;
    params.cfg_scale = 7.0f;
    params.sampler = "euler_a";
    params.schedule = "default";
    params.timestep_spacing = nullptr;
    params.seed = 0;
    params.rng = ND_RNG_CPU;
    params.batch_count = 1;
    params.clip_skip = 0;
    params.init_image = nullptr;
    params.strength = 0.75f;
    params.progress = nullptr;
    params.progress_user_data = nullptr;
    params.preview = nullptr;
    params.preview_user_data = nullptr;
    params.preview_interval = 0;
    params.cancel = nullptr;
    return params;
}

nd_generate_params take_params(const nd_generate_params& caller) {
    nd_generate_params p = default_generate_params();
    nd::capi::take_if_present(caller, p, &nd_generate_params::prompt);
    nd::capi::take_if_present(caller, p, &nd_generate_params::negative_prompt);
    nd::capi::take_if_present(caller, p, &nd_generate_params::width);
    nd::capi::take_if_present(caller, p, &nd_generate_params::height);
    nd::capi::take_if_present(caller, p, &nd_generate_params::steps);
    nd::capi::take_if_present(caller, p, &nd_generate_params::cfg_scale);
    nd::capi::take_if_present(caller, p, &nd_generate_params::sampler);
    nd::capi::take_if_present(caller, p, &nd_generate_params::schedule);
    nd::capi::take_if_present(caller, p, &nd_generate_params::timestep_spacing);
    nd::capi::take_if_present(caller, p, &nd_generate_params::seed);
    nd::capi::take_if_present(caller, p, &nd_generate_params::rng);
    nd::capi::take_if_present(caller, p, &nd_generate_params::batch_count);
    nd::capi::take_if_present(caller, p, &nd_generate_params::clip_skip);
    nd::capi::take_if_present(caller, p, &nd_generate_params::init_image);
    nd::capi::take_if_present(caller, p, &nd_generate_params::strength);
    nd::capi::take_if_present(caller, p, &nd_generate_params::progress);
    nd::capi::take_if_present(caller, p, &nd_generate_params::progress_user_data);
    nd::capi::take_if_present(caller, p, &nd_generate_params::preview);
    nd::capi::take_if_present(caller, p, &nd_generate_params::preview_user_data);
    nd::capi::take_if_present(caller, p, &nd_generate_params::preview_interval);
    nd::capi::take_if_present(caller, p, &nd_generate_params::cancel);
    return p;
}

// Sizes beyond int would wrap; the pipeline checks the real limits and names the field.
int checked_int(uint32_t value, const char* field) {
    if (value > 1'000'000u) {
        nd::core::throw_error(ND_STATUS_INVALID_ARGUMENT, "params->{} is {}, far out of range", field, value);
    }
    return static_cast<int>(value);
}

nd::pipeline::GenerationRequest to_request(const nd_generate_params& p) {
    nd::capi::require_non_null(p.prompt, "params->prompt");
    nd::pipeline::GenerationRequest request;
    request.prompt = p.prompt;
    request.negative_prompt = p.negative_prompt != nullptr ? p.negative_prompt : "";
    request.width = checked_int(p.width, "width");
    request.height = checked_int(p.height, "height");
    request.steps = checked_int(p.steps, "steps");
    request.cfg_scale = p.cfg_scale;
    request.sampler = p.sampler != nullptr ? p.sampler : "euler_a";
    request.schedule = p.schedule != nullptr ? p.schedule : "default";
    request.timestep_spacing = p.timestep_spacing != nullptr ? p.timestep_spacing : "";
    request.seed = p.seed;
    switch (nd::capi::enum_value(p.rng)) {
    case ND_RNG_CPU: request.noise = nd::pipeline::NoiseSource::Cpu; break;
    case ND_RNG_CUDA: request.noise = nd::pipeline::NoiseSource::Cuda; break;
    default:
        nd::core::throw_error(ND_STATUS_INVALID_ARGUMENT, "params->rng {} is not an nd_rng",
                              nd::capi::enum_value(p.rng));
    }
    request.batch_count = checked_int(p.batch_count, "batch_count");
    request.clip_skip = checked_int(p.clip_skip, "clip_skip");
    request.strength = p.strength;
    request.preview_interval = checked_int(p.preview_interval, "preview_interval");
    if (p.init_image != nullptr) {
        if (request.width <= 0 || request.height <= 0) {
            nd::core::throw_error(ND_STATUS_INVALID_ARGUMENT, "params->width and height must be positive");
        }
        const auto bytes = static_cast<std::size_t>(request.width) * static_cast<std::size_t>(request.height) * 3;
        request.init_image.emplace(p.init_image, p.init_image + bytes);
    }
    return request;
}

nd_image describe(const nd::pipeline::Image& image) noexcept {
    nd_image out{};
    out.struct_size = sizeof(out);
    out.width = static_cast<uint32_t>(image.width);
    out.height = static_cast<uint32_t>(image.height);
    out.channels = 3;
    out.stride = static_cast<size_t>(image.width) * 3;
    out.pixels = image.rgb.data();
    out.seed = image.seed;
    return out;
}

nd_stage to_c(nd::pipeline::Stage stage) noexcept {
    switch (stage) {
    case nd::pipeline::Stage::TextEncoding: return ND_STAGE_TEXT_ENCODING;
    case nd::pipeline::Stage::Sampling: return ND_STAGE_SAMPLING;
    case nd::pipeline::Stage::Decoding: return ND_STAGE_DECODING;
    }
    return ND_STAGE_SAMPLING;
}

} // namespace

extern "C" {

nd_status nd_generate_params_init(nd_generate_params* params) {
    return nd::capi::guarded(__func__, [&] {
        nd::capi::require_struct(params, "params");
        nd::capi::write_versioned(params, default_generate_params());
    });
}

nd_status nd_generate(nd_model* model, const nd_generate_params* params, nd_images** out_images) {
    return nd::capi::guarded(__func__, [&] {
        nd::capi::require_non_null(out_images, "out_images");
        *out_images = nullptr;
        nd::capi::require_non_null(model, "model");
        nd::capi::require_struct(params, "params");
        const nd_generate_params p = take_params(*params);
        const nd::pipeline::GenerationRequest request = to_request(p);
        if (model->pipeline == nullptr) {
            nd::core::throw_error(ND_STATUS_INVALID_ARGUMENT,
                                  "the model was loaded for inspection only (nd_model_params.for_generation = 0)");
        }

        nd::pipeline::GenerationHooks hooks;
        if (p.progress != nullptr) {
            hooks.progress = [&p](const nd::pipeline::Progress& progress) {
                nd_progress out{};
                out.struct_size = sizeof(out);
                out.stage = to_c(progress.stage);
                out.step = static_cast<uint32_t>(progress.step);
                out.steps = static_cast<uint32_t>(progress.steps);
                out.image = static_cast<uint32_t>(progress.image);
                out.images = static_cast<uint32_t>(progress.images);
                out.seconds_last_step = progress.seconds_last_step;
                out.seconds_elapsed = progress.seconds_elapsed;
                p.progress(&out, p.progress_user_data);
            };
        }
        if (p.preview != nullptr) {
            hooks.preview = [&p](const nd::pipeline::Image& image, int step) {
                const nd_image out = describe(image);
                p.preview(&out, static_cast<uint32_t>(step), p.preview_user_data);
            };
        }
        if (p.cancel != nullptr) {
            hooks.cancel = &p.cancel->flag;
        }

        const std::lock_guard lock(model->run_mutex);
        model->logger.log(ND_LOG_LEVEL_INFO, "generating {}x{}, {} steps, {} sampler, seed {}", request.width,
                          request.height, request.steps, request.sampler, request.seed);
        auto result = std::make_unique<nd_images>();
        result->images = model->pipeline->generate(request, hooks);
        *out_images = result.release(); // freed by nd_images_free
    });
}

size_t nd_images_count(const nd_images* images) {
    return images != nullptr ? images->images.size() : 0;
}

nd_status nd_images_get(const nd_images* images, size_t index, nd_image* out) {
    return nd::capi::guarded(__func__, [&] {
        nd::capi::require_non_null(images, "images");
        nd::capi::require_struct(out, "out");
        if (index >= images->images.size()) {
            nd::core::throw_error(ND_STATUS_NOT_FOUND, "index {} is out of range: there are {} images", index,
                                  images->images.size());
        }
        nd::capi::write_versioned(out, describe(images->images[index]));
    });
}

void nd_images_free(nd_images* images) {
    delete images;
}

} // extern "C"
