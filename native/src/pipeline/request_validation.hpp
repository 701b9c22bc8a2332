// A GenerationRequest checked and turned into the sampling layer's terms before any work starts, so a bad
// request fails at once with a message naming its field: ND_STATUS_INVALID_ARGUMENT for values out of range,
// ND_STATUS_NOT_FOUND for unknown sampler, schedule or spacing names (listing the valid ones).
#pragma once

#include <cstddef>

#include "pipeline/generation.hpp"
#include "sampling/noise_generator.hpp"
#include "sampling/sampler_registry.hpp"
#include "sampling/schedule.hpp"

namespace nd::pipeline {

inline constexpr int kMinImageSide = 64;
inline constexpr int kMaxImageSide = 4096;
inline constexpr int kMaxSteps = 1000;
inline constexpr float kMaxCfgScale = 100.0f;
inline constexpr int kMaxBatchCount = 64;

struct ResolvedRequest {
    const sampling::SamplerInfo* sampler = nullptr;
    sampling::ScheduleOptions schedule;
    sampling::NoiseSource noise = sampling::NoiseSource::TorchCpu;
    bool img2img = false;
    double strength = 1.0; // the request's float strength as the decimal it was typed as (see the .cpp)
};

// Checks `request` (its init image, when `float_init_values` is 0, must hold width * height * 3 bytes; a
// float init image given instead must hold `float_init_values` = 3 * width * height values).
ResolvedRequest resolve_request(const GenerationRequest& request, std::size_t float_init_values = 0);

// The timestep spacing a sampler gets when the request names none: what its diffusers scheduler defaults
// to (leading for DDIM and LCM, linspace for the rest).
sampling::TimestepSpacing default_spacing(const sampling::SamplerInfo& sampler);

} // namespace nd::pipeline
