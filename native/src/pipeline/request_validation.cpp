#include "pipeline/request_validation.hpp"

#include <cmath>
#include <string>

#include "core/error.hpp"

namespace nd::pipeline {

namespace {

void check_side(const char* field, int value) {
    if (value < kMinImageSide || value > kMaxImageSide || value % 8 != 0) {
        core::throw_error(ND_STATUS_INVALID_ARGUMENT, "{} must be a multiple of 8 in [{}, {}], got {}", field,
                          kMinImageSide, kMaxImageSide, value);
    }
}

// The sampling layer's name parsers say INVALID_ARGUMENT; to a request an unknown name is NOT_FOUND.
template <typename Parse>
auto parse_name(const char* field, Parse parse) {
    try {
        return parse();
    } catch (const core::Error& error) {
        throw core::Error(ND_STATUS_NOT_FOUND, std::string(field) + ": " + std::string(error.message()));
    }
}

} // namespace

sampling::TimestepSpacing default_spacing(const sampling::SamplerInfo& sampler) {
    switch (sampler.family) {
    case sampling::ScheduleFamily::Ddim:
    case sampling::ScheduleFamily::Lcm: return sampling::TimestepSpacing::Leading;
    case sampling::ScheduleFamily::Euler:
    case sampling::ScheduleFamily::DpmSolver: break;
    }
    return sampling::TimestepSpacing::Linspace;
}

ResolvedRequest resolve_request(const GenerationRequest& request, std::size_t float_init_values) {
    check_side("width", request.width);
    check_side("height", request.height);
    if (request.steps < 1 || request.steps > kMaxSteps) {
        core::throw_error(ND_STATUS_INVALID_ARGUMENT, "steps must be in [1, {}], got {}", kMaxSteps,
                          request.steps);
    }
    if (!std::isfinite(request.cfg_scale) || request.cfg_scale < 0.0f || request.cfg_scale > kMaxCfgScale) {
        core::throw_error(ND_STATUS_INVALID_ARGUMENT, "cfg_scale must be a finite number in [0, {}], got {}",
                          kMaxCfgScale, request.cfg_scale);
    }
    if (request.batch_count < 1 || request.batch_count > kMaxBatchCount) {
        core::throw_error(ND_STATUS_INVALID_ARGUMENT, "batch_count must be in [1, {}], got {}",
                          kMaxBatchCount, request.batch_count);
    }
    if (request.clip_skip < 0) {
        core::throw_error(ND_STATUS_INVALID_ARGUMENT,
                          "clip_skip must be 0 (the model's default) or a layer count "
                          "from the end (1, 2, ...), got {}",
                          request.clip_skip);
    }
    if (request.preview_interval < 0) {
        core::throw_error(ND_STATUS_INVALID_ARGUMENT,
                          "preview_interval must be 0 (no previews) or positive, got {}",
                          request.preview_interval);
    }
    if (request.noise != NoiseSource::Cpu && request.noise != NoiseSource::Cuda) {
        core::throw_error(ND_STATUS_INVALID_ARGUMENT, "noise must be Cpu or Cuda, got {}",
                          static_cast<int>(request.noise));
    }

    ResolvedRequest resolved;
    resolved.sampler = &sampling::find_sampler(request.sampler);
    resolved.schedule.steps = request.steps;
    resolved.schedule.sigma_schedule =
        parse_name("schedule", [&] { return sampling::parse_sigma_schedule(request.schedule); });
    resolved.schedule.spacing = request.timestep_spacing.empty()
                                    ? default_spacing(*resolved.sampler)
                                    : parse_name("timestep_spacing", [&] {
                                          return sampling::parse_timestep_spacing(request.timestep_spacing);
                                      });
    resolved.noise = request.noise == NoiseSource::Cuda ? sampling::NoiseSource::TorchCuda
                                                        : sampling::NoiseSource::TorchCpu;

    const auto pixels = static_cast<std::size_t>(request.width) * static_cast<std::size_t>(request.height);
    resolved.img2img = request.init_image.has_value() || float_init_values != 0;
    if (resolved.img2img) {
        if (float_init_values != 0 && float_init_values != pixels * 3) {
            core::throw_error(ND_STATUS_INVALID_ARGUMENT,
                              "init_image must hold 3 x {} x {} = {} values for a {}x{} request, got {}",
                              request.height, request.width, pixels * 3, request.width, request.height,
                              float_init_values);
        }
        if (float_init_values == 0 && request.init_image->size() != pixels * 3) {
            core::throw_error(
                ND_STATUS_INVALID_ARGUMENT,
                "init_image must hold width x height x 3 = {} bytes for a {}x{} request, got {}", pixels * 3,
                request.width, request.height, request.init_image->size());
        }
        if (!std::isfinite(request.strength) || request.strength <= 0.0f || request.strength > 1.0f) {
            core::throw_error(ND_STATUS_INVALID_ARGUMENT, "strength must be in (0, 1], got {}",
                              request.strength);
        }
        // The float a caller passes for 0.7 is 0.69999998...; diffusers computes int(steps * 0.7) in double
        // from the decimal, so 10 steps at 0.7 run 7 steps there and would run 6 here. Rounding to six
        // decimals recovers the number as typed.
        resolved.strength = std::round(static_cast<double>(request.strength) * 1e6) / 1e6;
        if (sampling::img2img_start_step(request.steps, resolved.strength) >= request.steps) {
            core::throw_error(
                ND_STATUS_INVALID_ARGUMENT,
                "strength {} with {} steps leaves no step to run (steps x strength must be at least 1)",
                resolved.strength, request.steps);
        }
    }
    return resolved;
}

} // namespace nd::pipeline
