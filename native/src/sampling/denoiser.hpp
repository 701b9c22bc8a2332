// What a sampler sees of the model: a function from noisy latents to predicted noise.
//
// Samplers never see a UNet. They call an EpsilonModel with the input the UNet gets, already scaled, and the
// timestep value its embedding gets; the caller runs the UNet (with classifier-free guidance, ControlNets,
// whatever it needs) and writes the predicted noise eps. Every sampler describes its latents by a noise
// level sigma in the variance-exploding view x = x0 + sigma * eps; the model input is always that divided by
// sqrt(sigma^2 + 1), the variance-preserving latent an epsilon-prediction UNet was trained on (Euler-type
// samplers keep x in the sigma view and scale it; DDIM, DPM-Solver and LCM keep the scaled latent itself).
#pragma once

#include <functional>
#include <span>

namespace nd::sampling {

struct ModelCall {
    float timestep = 0; // for the timestep embedding; fractional for Euler-type samplers with Karras sigmas
    float sigma = 0;    // the noise level of the input in the sigma view (input = x / sqrt(sigma^2 + 1))
    int step = 0;       // the sampler step this evaluation belongs to (0-based, counts from step 0 in img2img)
};

// Writes eps (the same size as model_input). May throw (Error(ND_STATUS_CANCELLED) to stop sampling).
using EpsilonModel = std::function<void(std::span<const float> model_input, const ModelCall& call, std::span<float> eps)>;

// Called after each sampler step with the latents (in the sampler's own view); may throw to stop.
using StepObserver = std::function<void(int step, int steps, std::span<const float> latents)>;

} // namespace nd::sampling
