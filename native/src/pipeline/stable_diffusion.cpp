// The path of one request (docs/architecture.md): validate -> text conditioning (prompt and negative prompt
// in one encoder call) -> per image: a generator seeded seed + i, initial latents (txt2img) or the encoded,
// noised init image (img2img) -> the sampler, whose model callback runs the UNet on the guidance batch
// [uncond, cond] and combines eps = uncond + cfg * (cond - uncond) -> latents / scaling factor -> VAE decoder
// -> pixels. The draws from each image's generator follow diffusers' order exactly (see
// sampler_registry.hpp).
#include "pipeline/stable_diffusion.hpp"

#include <chrono>
#include <cmath>
#include <cstring>
#include <optional>
#include <string>
#include <utility>

#include "backends/cpu/cpu_backend.hpp"
#include "core/error.hpp"
#include "models/clip_text_encoder.hpp"
#include "models/clip_text_encoder_runner.hpp"
#include "models/unet.hpp"
#include "models/vae.hpp"
#include "models/vae_runner.hpp"
#include "pipeline/family_traits.hpp"
#include "pipeline/latent_preview.hpp"
#include "pipeline/prediction.hpp"
#include "pipeline/request_validation.hpp"
#include "pipeline/text_conditioning.hpp"
#include "sampling/image_seeds.hpp"
#include "sampling/noise_schedule.hpp"

namespace nd::pipeline {

namespace {

using Clock = std::chrono::steady_clock;

text::ClipTokenizer make_tokenizer(const model_files::LoadedModelFiles& files) {
    if (!files.tokenizer) {
        core::throw_error(ND_STATUS_NOT_FOUND, "{}",
                          files.tokenizer_missing.empty() ? std::string("no tokenizer vocabulary was found")
                                                          : files.tokenizer_missing);
    }
    const model_files::TokenizerVocab& vocab = *files.tokenizer;
    try {
        if (!vocab.vocab_json.empty()) {
            return text::ClipTokenizer::from_vocab_and_merges(vocab.vocab_json, vocab.merges_text);
        }
        return text::ClipTokenizer::from_token_list(vocab.tokens, vocab.merges);
    } catch (const core::Error& error) {
        throw core::with_context(error, "tokenizer from " + vocab.location);
    }
}

std::shared_ptr<const models::ClipTextEncoder> make_text_encoder(const model_files::LoadedModelFiles& files,
                                                                 const FamilyTraits& traits) {
    if (traits.naming == TextEncoderNaming::OpenClip) {
        return std::make_shared<const models::ClipTextEncoder>(
            models::ClipTextEncoder::from_open_clip_weights(files.weights, traits.text_encoder_prefix));
    }
    return std::make_shared<const models::ClipTextEncoder>(
        models::ClipTextEncoder::from_hf_weights(files.weights, traits.text_encoder_prefix));
}

void check_cancel(const GenerationHooks& hooks) {
    if (hooks.cancel != nullptr && hooks.cancel->cancelled()) {
        core::throw_error(ND_STATUS_CANCELLED, "generation cancelled");
    }
}

// Cancel checks inside the long stages (one UNet evaluation, the VAE), for the duration of one request.
class InterruptScope {
public:
    InterruptScope(models::UNet& unet, models::VaeRunner& vae, const GenerationHooks& hooks)
        : unet_(unet), vae_(vae) {
        if (hooks.cancel != nullptr) {
            const auto check = [&hooks] { check_cancel(hooks); };
            unet_.set_interrupt(check);
            vae_.set_interrupt(check);
        }
    }
    ~InterruptScope() {
        unet_.set_interrupt({});
        vae_.set_interrupt({});
    }
    InterruptScope(const InterruptScope&) = delete;
    InterruptScope& operator=(const InterruptScope&) = delete;

private:
    models::UNet& unet_;
    models::VaeRunner& vae_;
};

double seconds_between(Clock::time_point from, Clock::time_point to) {
    return std::chrono::duration<double>(to - from).count();
}

} // namespace

struct StableDiffusion::Impl {
    Impl(model_files::LoadedModelFiles loaded, const PipelineOptions& options)
        : files(std::move(loaded)), traits(family_traits(files.family)),
          backend(backends::cpu::CpuBackendOptions{options.threads, {}}) {
        if (!files.components.unet) {
            core::throw_error(ND_STATUS_UNSUPPORTED, "the model has no UNet (model.diffusion_model.*)");
        }
        if (!files.components.vae) {
            core::throw_error(ND_STATUS_NOT_FOUND,
                              "the model has no VAE (first_stage_model.*): load a separate VAE with it");
        }
        ChunkOptions chunks;
        if (traits.pad_id >= 0) {
            chunks.pad_id = traits.pad_id;
        }
        text.emplace(
            make_tokenizer(files),
            std::make_unique<models::ClipTextEncoderRunner>(make_text_encoder(files, traits), backend),
            chunks);
        unet.emplace(files.weights, backend, traits.unet);
        vae.emplace(std::make_shared<const models::Vae>(models::Vae::from_weights(files.weights)), backend);
    }

    // Scaled latents [N, 4, h, w] -> image [N, 3, 8h, 8w] in about [-1, 1].
    core::Tensor decode(const core::Tensor& latents) {
        const core::Tensor packed = latents.contiguous();
        core::Tensor unscaled = core::Tensor::empty(ND_DTYPE_F32, packed.shape());
        const float* in = packed.data_as<const float>();
        float* out = unscaled.data_as<float>();
        for (std::int64_t i = 0; i < packed.elements(); ++i) {
            out[i] = in[i] / traits.vae_scaling_factor;
        }
        return vae->decode(unscaled);
    }

    std::vector<FloatImage> run(const GenerationRequest& request, const GenerationHooks& hooks,
                                std::span<const float> init_image_unit);

    model_files::LoadedModelFiles files;
    FamilyTraits traits;
    backends::cpu::CpuBackend backend;
    std::optional<TextConditioner> text;
    std::optional<models::UNet> unet;
    std::optional<models::VaeRunner> vae;
    sampling::NoiseSchedule training;        // SD's scaled-linear betas 0.00085..0.012 over 1000 steps
    std::optional<LatentRgbMap> preview_map; // fitted at the first preview request
};

std::vector<FloatImage> StableDiffusion::Impl::run(const GenerationRequest& request,
                                                   const GenerationHooks& hooks,
                                                   std::span<const float> init_image_unit) {
    const Clock::time_point started = Clock::now();
    const ResolvedRequest resolved = resolve_request(request, init_image_unit.size());
    const InterruptScope interrupts(*unet, *vae, hooks);
    const int layers = text->encoder().config().layers;
    const int clip_skip = request.clip_skip == 0 ? traits.default_clip_skip : request.clip_skip;
    if (clip_skip > layers) {
        core::throw_error(ND_STATUS_INVALID_ARGUMENT,
                          "clip_skip must be in [0, {}] for this text encoder, got {}", layers,
                          request.clip_skip);
    }
    const sampling::SamplerInfo& sampler = *resolved.sampler;
    const sampling::Schedule schedule = [&] {
        try {
            return sampling::sampler_schedule(sampler, training, resolved.schedule);
        } catch (const core::Error& error) {
            // A combination the sampler does not define (DDIM with Karras sigmas, LCM past 50 steps).
            throw core::with_context(error, "sampler '" + request.sampler + "' with schedule '" +
                                                request.schedule + "' and " + std::to_string(request.steps) +
                                                " steps");
        }
    }();
    const int start_step =
        resolved.img2img ? sampling::img2img_start_step(request.steps, resolved.strength) : 0;
    const int steps_to_run = schedule.steps() - start_step;
    const bool guided = request.cfg_scale != 1.0f;
    const bool v_prediction = files.prediction.type == model_files::PredictionType::V;
    const float cfg = request.cfg_scale;

    Progress progress;
    progress.images = request.batch_count;
    const auto report = [&](Stage stage, int step, int steps, int image, double last) {
        if (hooks.progress) {
            progress.stage = stage;
            progress.step = step;
            progress.steps = steps;
            progress.image = image;
            progress.seconds_last_step = last;
            progress.seconds_elapsed = seconds_between(started, Clock::now());
            hooks.progress(progress);
        }
    };

    // Text: [uncond, cond] as one context batch for the UNet.
    check_cancel(hooks);
    const Clock::time_point text_started = Clock::now();
    const Conditioning conditioning =
        text->encode(request.prompt, request.negative_prompt, guided, clip_skip);
    const std::int64_t tokens = conditioning.cond.dim(1);
    const std::int64_t width = conditioning.cond.dim(2);
    const std::int64_t batch = guided ? 2 : 1;
    core::Tensor context = core::Tensor::empty(ND_DTYPE_F32, core::Shape{batch, tokens, width});
    {
        const auto half = static_cast<std::size_t>(tokens * width);
        float* out = context.data_as<float>();
        if (guided) {
            std::memcpy(out, conditioning.uncond.data_as<const float>(), half * sizeof(float));
            out += half;
        }
        std::memcpy(out, conditioning.cond.data_as<const float>(), half * sizeof(float));
    }
    report(Stage::TextEncoding, 1, 1, 0, seconds_between(text_started, Clock::now()));

    const std::int64_t latent_h = request.height / 8;
    const std::int64_t latent_w = request.width / 8;
    const core::Shape latent_shape{1, 4, latent_h, latent_w};
    const auto latent_count = static_cast<std::size_t>(latent_shape.elements());

    // img2img: the init image's posterior (mean, std) is the same for every image of the batch.
    std::vector<float> init_mean;
    std::vector<float> init_std;
    if (resolved.img2img) {
        check_cancel(hooks);
        const std::vector<float> planar =
            init_image_unit.empty() ? planar_from_rgb8(*request.init_image, request.width, request.height)
                                    : planar_from_unit(init_image_unit);
        const models::VaePosteriorTensors posterior =
            vae->encode(core::Tensor::from_f32(core::Shape{1, 3, request.height, request.width}, planar));
        init_mean = posterior.mean.to_f32();
        const std::vector<float> logvar = posterior.logvar.to_f32();
        if (init_mean.size() != latent_count || logvar.size() != latent_count) {
            core::throw_error(ND_STATUS_INTERNAL_ERROR,
                              "img2img: the VAE encoder gave {} latents, expected {}",
                              posterior.mean.shape().to_string(), latent_shape.to_string());
        }
        init_std.resize(latent_count);
        for (std::size_t i = 0; i < latent_count; ++i) {
            init_std[i] = std::exp(0.5F * logvar[i]);
        }
    }

    const bool previews = request.preview_interval > 0 && static_cast<bool>(hooks.preview);
    if (previews && !preview_map) {
        preview_map = fit_latent_rgb_map([this](const core::Tensor& latents) { return decode(latents); });
    }

    std::vector<FloatImage> images;
    const std::vector<std::uint64_t> seeds = sampling::image_seeds(request.seed, request.batch_count);
    for (int image = 0; image < request.batch_count; ++image) {
        check_cancel(hooks);
        const std::unique_ptr<sampling::NoiseGenerator> generator =
            sampling::make_noise_generator(resolved.noise, seeds[static_cast<std::size_t>(image)]);
        std::vector<float> latents;
        if (resolved.img2img) {
            // diffusers: latent_dist.sample(generator) first, times the scaling factor, then the noise.
            const std::vector<float> draw = generator->randn(latent_count);
            latents.resize(latent_count);
            for (std::size_t i = 0; i < latent_count; ++i) {
                latents[i] = (init_mean[i] + init_std[i] * draw[i]) * traits.vae_scaling_factor;
            }
            const std::vector<float> noise = generator->randn(latent_count);
            sampling::add_noise(sampler, training, schedule, start_step, latents, noise);
        } else {
            latents = sampling::initial_latents(schedule, *generator, latent_count);
        }

        // The model's current estimate of the clean latents, for previews.
        std::vector<float> denoised;
        const sampling::EpsilonModel model = [&](std::span<const float> input,
                                                 const sampling::ModelCall& call, std::span<float> eps) {
            check_cancel(hooks);
            core::Tensor x = core::Tensor::empty(ND_DTYPE_F32, core::Shape{batch, 4, latent_h, latent_w});
            for (std::int64_t b = 0; b < batch; ++b) {
                std::memcpy(x.data_as<float>() + b * static_cast<std::int64_t>(latent_count), input.data(),
                            latent_count * sizeof(float));
            }
            const core::Tensor out = unet->eps(x, call.timestep, context);
            const float* prediction = out.data_as<const float>();
            if (guided) {
                const float* uncond = prediction;
                const float* cond = prediction + latent_count;
                for (std::size_t i = 0; i < latent_count; ++i) {
                    eps[i] = uncond[i] + cfg * (cond[i] - uncond[i]);
                }
            } else {
                std::memcpy(eps.data(), prediction, latent_count * sizeof(float));
            }
            if (v_prediction) {
                eps_from_v(eps, input, call.sigma);
            }
            if (previews) {
                denoised.resize(latent_count);
                denoised_from_eps(eps, input, call.sigma, denoised);
            }
        };
        Clock::time_point step_started = Clock::now();
        report(Stage::Sampling, 0, steps_to_run, image, 0.0);
        const sampling::StepObserver observer = [&](int step, int, std::span<const float>) {
            const Clock::time_point now = Clock::now();
            const int done = step + 1 - start_step;
            report(Stage::Sampling, done, steps_to_run, image, seconds_between(step_started, now));
            step_started = now;
            if (previews && !denoised.empty() && done % request.preview_interval == 0) {
                Image preview = preview_image(*preview_map, denoised, static_cast<int>(latent_w),
                                              static_cast<int>(latent_h));
                preview.seed = seeds[static_cast<std::size_t>(image)];
                hooks.preview(preview, done);
            }
            check_cancel(hooks);
        };
        const sampling::SamplerRun sampler_run{training, schedule, model, *generator, start_step, &observer};
        sampling::run_sampler(sampler, sampler_run, latents);

        check_cancel(hooks);
        const Clock::time_point decode_started = Clock::now();
        const core::Tensor decoded = decode(core::Tensor::from_f32(latent_shape, latents)).contiguous();
        FloatImage result =
            float_image_from_planar(std::span<const float>(decoded.data_as<const float>(),
                                                           static_cast<std::size_t>(decoded.elements())),
                                    request.width, request.height);
        result.seed = seeds[static_cast<std::size_t>(image)];
        images.push_back(std::move(result));
        report(Stage::Decoding, 1, 1, image, seconds_between(decode_started, Clock::now()));
    }
    return images;
}

StableDiffusion::StableDiffusion(model_files::LoadedModelFiles files, const PipelineOptions& options)
    : impl_(std::make_unique<Impl>(std::move(files), options)) {}

StableDiffusion::~StableDiffusion() = default;

std::vector<FloatImage> StableDiffusion::generate_float(const GenerationRequest& request,
                                                        const GenerationHooks& hooks,
                                                        std::span<const float> init_image_unit) {
    return impl_->run(request, hooks, init_image_unit);
}

std::vector<Image> StableDiffusion::generate(const GenerationRequest& request, const GenerationHooks& hooks) {
    std::vector<Image> images;
    for (const FloatImage& source : impl_->run(request, hooks, {})) {
        Image image;
        image.width = source.width;
        image.height = source.height;
        image.rgb = rgb8_from_unit(source.rgb);
        image.seed = source.seed;
        images.push_back(std::move(image));
    }
    return images;
}

const model_files::LoadedModelFiles& StableDiffusion::files() const noexcept {
    return impl_->files;
}

} // namespace nd::pipeline
