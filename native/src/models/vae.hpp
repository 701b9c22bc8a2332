// The SD autoencoder (AutoencoderKL) as graphs: decoder(latents) -> image, encoder(image) -> posterior.
//
// Decoder: post_quant_conv (1x1), conv_in, mid (res, attention, res), up levels from the deepest
// (up.{L-1}) to up.0, each a few res blocks then, except up.0, a nearest 2x upsample and a 3x3 conv;
// norm_out + silu, conv_out. Encoder: the mirror, with stride-2 downsampling that pads only the right and
// bottom edges (as the original code does), ending in quant_conv whose 2*latent channels are the
// posterior's mean and log-variance (clamped to [-30, 20] as the reference does).
//
// Every size is read from the weights: latent and image channels, the width of each level, the number
// of levels and of res blocks per level, whether a level resamples. GroupNorm has 32 groups and eps 1e-6
// in every SD VAE. Latents here are unscaled: multiplying by scaling_factor (and dividing before decoding)
// is the pipeline's job, since SD 1.x/2.x (0.18215) and SDXL (0.13025) VAEs have identical shapes.
//
// Memory: every op writes a packed tensor that dies as soon as it is last read, the group norms carry the
// silu, residual adds run in place, and attention runs in the fused kernel (no H*W x H*W score matrix).
// A group norm writes over its input where that input dies (a widening res block computes its shortcut
// first, so its input dies at norm1). The SD 1.5 decoder's plan at 512x512 needs 512 MiB (VaeFullSize test
// in tests/models/test_vae.cpp; 640 MiB before norms ran in place), against stable-diffusion.cpp's 1.6 GB:
// the full-resolution level's first res block holds its 256-channel input normalized in place, the
// 128-channel shortcut and conv1's 128-channel output (256 + 128 + 128 MiB), as much as the 2x upsample and
// its convolution just before (256 + 256 MiB). Lower would take a conv that upsamples as it reads and one
// that writes over its own input; a tiled decode was not chosen, since per-tile GroupNorm statistics change
// the image (seams) where this is exact.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/graph.hpp"
#include "model_files/weight_set.hpp"
#include "models/model_weights.hpp"
#include "models/vae_blocks.hpp"

namespace nd::models {

// SD 1.x and 2.x latents are the VAE's divided by this (multiplied when encoding).
inline constexpr float kSd1VaeScalingFactor = 0.18215f;
// SDXL's VAE (same architecture, retrained).
inline constexpr float kSdxlVaeScalingFactor = 0.13025f;

struct VaeConfig {
    std::int64_t latent_channels = 0;
    std::int64_t image_channels = 0;
    std::vector<std::int64_t> decoder_widths; // per up level, up.0 first (the full-resolution level)
    int decoder_blocks = 0;                   // res blocks per decoder level (layers_per_block + 1)
    std::vector<std::int64_t> encoder_widths; // per down level, down.0 first
    int encoder_blocks = 0;                   // res blocks per encoder level
    VaeNormParams norm;
    bool has_encoder = false;
    bool has_decoder = false;

    // Image pixels per latent pixel along each side: 2^(levels - 1) (8 for SD).
    [[nodiscard]] int downscale() const noexcept;
};

struct VaeLevelWeights {
    std::vector<VaeResBlockWeights> blocks;
    ConvWeights resample; // up.i.upsample.conv or down.i.downsample.conv; undefined when absent
};

struct VaeMidWeights {
    VaeResBlockWeights block_1;
    VaeAttentionWeights attn_1;
    VaeResBlockWeights block_2;
};

struct VaeDecoderWeights {
    ConvWeights post_quant_conv; // undefined when absent
    ConvWeights conv_in;
    VaeMidWeights mid;
    std::vector<VaeLevelWeights> up; // up.0 first, as stored; run from the back
    NormWeights norm_out;
    ConvWeights conv_out;
};

struct VaeEncoderWeights {
    ConvWeights conv_in;
    std::vector<VaeLevelWeights> down;
    VaeMidWeights mid;
    NormWeights norm_out;
    ConvWeights conv_out;
    ConvWeights quant_conv; // undefined when absent
};

struct VaePosterior {
    core::ValueId mean;   // [N, latent, H/8, W/8]
    core::ValueId logvar; // the same shape, clamped to [-30, 20]
};

class Vae {
public:
    static constexpr std::string_view kSd1Prefix = "first_stage_model.";

    // Reads the LDM names under `prefix` (encoder.*, decoder.*, quant_conv, post_quant_conv). Either half may
    // be absent (a decode-only file), not both. Throws Error(ND_STATUS_INVALID_FORMAT) naming the first
    // missing or mis-shaped tensor.
    static Vae from_weights(const model_files::WeightSet& weights, std::string_view prefix = kSd1Prefix);

    [[nodiscard]] const VaeConfig& config() const noexcept { return config_; }

    // latents [N, latent, h, w] (unscaled) -> image [N, image_channels, h * downscale, w * downscale],
    // roughly in [-1, 1]. Throws Error(ND_STATUS_UNSUPPORTED) when the file has no decoder.
    core::ValueId build_decoder(core::Graph& graph, core::ValueId latents) const;
    // image [N, image_channels, H, W] in [-1, 1], H and W multiples of downscale() -> the posterior.
    // Throws Error(ND_STATUS_UNSUPPORTED) when the file has no encoder.
    VaePosterior build_encoder(core::Graph& graph, core::ValueId image) const;

private:
    core::ValueId mid(core::Graph& graph, core::ValueId x, const VaeMidWeights& w,
                      const std::string& name) const;

    VaeConfig config_;
    VaeDecoderWeights decoder_;
    VaeEncoderWeights encoder_;
};

} // namespace nd::models
