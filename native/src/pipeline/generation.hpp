// A generation request, what the pipeline reports while it works, and the pipeline's interface: the contract
// between the C ABI (capi/) and the SD pipeline (pipeline/stable_diffusion.cpp).
//
// Names are the ones users type: samplers "euler", "euler_a", "dpmpp_2m", ... (sampling/sampler_registry.hpp),
// schedules "default" (the sampler's own), "karras", "exponential", "sgm_uniform", timestep spacing
// "leading", "linspace", "trailing". Unknown names are Error(ND_STATUS_NOT_FOUND) listing the valid ones.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace nd::pipeline {

enum class NoiseSource {
    Cpu, // PyTorch's CPU generator (mt19937): diffusers on a CPU
    Cuda // PyTorch's CUDA generator (Philox): what most web UIs give for a seed
};

// 8-bit RGB, row-major, no padding: width * height * 3 bytes.
struct Image {
    int width = 0;
    int height = 0;
    std::vector<std::uint8_t> rgb;
    std::uint64_t seed = 0; // the seed that made it
};

struct GenerationRequest {
    std::string prompt;
    std::string negative_prompt;
    int width = 512;  // multiples of 8
    int height = 512;
    int steps = 20;
    float cfg_scale = 7.0f; // 1 skips the unconditional pass
    std::string sampler = "euler_a";
    std::string schedule = "default";
    std::string timestep_spacing; // empty: the sampler's default
    std::uint64_t seed = 0;
    NoiseSource noise = NoiseSource::Cpu;
    int batch_count = 1; // images made one after the other, seeds seed, seed + 1, ...
    int clip_skip = 0;   // 0: the family's default (1 for SD 1.x); 2 = the penultimate layer
    // img2img when set: width * height * 3 RGB bytes at the request's size, and the strength in (0, 1].
    std::optional<std::vector<std::uint8_t>> init_image;
    float strength = 0.75f;
    int preview_interval = 0; // steps between previews; 0: none
};

enum class Stage { TextEncoding, Sampling, Decoding };

struct Progress {
    Stage stage = Stage::Sampling;
    int step = 0; // steps done in this image's sampling (0..steps)
    int steps = 0;
    int image = 0; // 0-based index in the batch
    int images = 1;
    double seconds_last_step = 0.0;
    double seconds_elapsed = 0.0; // since the request started
};

// Set by another thread (the caller's cancel); checked between steps and inside long operations.
class CancelFlag {
public:
    void cancel() noexcept { cancelled_.store(true, std::memory_order_relaxed); }
    [[nodiscard]] bool cancelled() const noexcept { return cancelled_.load(std::memory_order_relaxed); }
    void reset() noexcept { cancelled_.store(false, std::memory_order_relaxed); }

private:
    std::atomic<bool> cancelled_{false};
};

struct GenerationHooks {
    std::function<void(const Progress&)> progress;           // may be empty
    std::function<void(const Image& preview, int step)> preview; // a cheap latent-to-RGB image; may be empty
    const CancelFlag* cancel = nullptr;                      // may be null
};

} // namespace nd::pipeline
