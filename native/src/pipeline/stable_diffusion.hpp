// The Stable Diffusion pipeline: prompt -> tokens -> text embeddings -> denoising loop -> VAE -> RGB images,
// over the models of one loaded set of model files.
//
// One instance per loaded model. generate() is not reentrant: callers serialise it (the C ABI holds a lock
// per model); the models inside keep their graph plans and arenas between calls, so the second request of
// a size pays no planning. A failed or cancelled request leaves the instance usable.
#pragma once

#include <memory>
#include <span>
#include <vector>

#include "model_files/load_model_files.hpp"
#include "pipeline/generation.hpp"
#include "pipeline/image_conversion.hpp"

namespace nd::pipeline {

struct PipelineOptions {
    int threads = 0; // 0: the machine's physical cores
};

class StableDiffusion {
public:
    // Builds the text encoder, UNet and VAE from `files` (their graphs are planned on first use). Throws
    // Error(ND_STATUS_UNSUPPORTED) for a family the pipeline does not run yet, Error(ND_STATUS_NOT_FOUND)
    // (the message says how to provide one) when `files` has no tokenizer vocabulary (its text is
    // files.tokenizer_missing) or no VAE. Cheap: weights stay where they are; nothing is planned yet.
    StableDiffusion(model_files::LoadedModelFiles files, const PipelineOptions& options);
    ~StableDiffusion();
    StableDiffusion(const StableDiffusion&) = delete;
    StableDiffusion& operator=(const StableDiffusion&) = delete;

    // Runs `request`. Throws Error(ND_STATUS_INVALID_ARGUMENT) naming the field for a bad request (size not
    // a multiple of 8, steps out of range, init image of the wrong size), Error(ND_STATUS_NOT_FOUND) for an
    // unknown sampler or schedule (listing the valid names), Error(ND_STATUS_CANCELLED) when hooks.cancel is
    // set (checked between stages, before each UNet evaluation, after each step, and every few ops inside a
    // UNet evaluation or a VAE pass, so a cancel takes effect within a fraction of a second).
    //
    // Hooks, all on the calling thread: progress once after text encoding (TextEncoding, step 1 of 1), per
    // image Sampling step 0 before the first step and then after every step (`steps` is the number that run:
    // fewer than request.steps in img2img), and Decoding (1 of 1) after each image is decoded;
    // seconds_last_step is that step's or stage's time. Previews every preview_interval steps, at latent
    // resolution (width / 8 x height / 8), of the model's current clean-image estimate; `step` is the
    // progress step count. cfg_scale 1 runs the UNet on the prompt alone; any other value (below 1 too, as
    // the web UIs do) runs [uncond, cond] as one batch.
    std::vector<Image> generate(const GenerationRequest& request, const GenerationHooks& hooks);

    // The same images before 8-bit rounding: [H, W, 3] in [0, 1], as diffusers' output_type="np" gives them
    // (for tests and tools that compare with reference pipelines). `init_image_unit`, when not empty,
    // replaces request.init_image by a planar [3, H, W] image in [0, 1] (diffusers' tensor input), so that
    // img2img from float pixels needs no 8-bit rounding either.
    std::vector<FloatImage> generate_float(const GenerationRequest& request, const GenerationHooks& hooks,
                                           std::span<const float> init_image_unit = {});

    [[nodiscard]] const model_files::LoadedModelFiles& files() const noexcept;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace nd::pipeline
