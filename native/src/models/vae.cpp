#include "models/vae.hpp"

#include <string>
#include <utility>

#include "core/error.hpp"

namespace nd::models {

namespace {

std::string level_name(const char* stem, int level) {
    return std::string(stem) + "." + std::to_string(level);
}
std::string block_name(const std::string& level, int block) {
    return level + ".block." + std::to_string(block);
}

VaeMidWeights read_mid(const ModelWeights& w, std::int64_t channels) {
    VaeMidWeights mid;
    mid.block_1 = read_vae_res_block(w, "mid.block_1", channels);
    if (mid.block_1.out_channels() != channels) {
        core::throw_invalid_format("weight '{}' has {} output channels but the mid block is {} wide",
                                   w.full_name("mid.block_1.conv1.weight"), mid.block_1.out_channels(),
                                   channels);
    }
    mid.attn_1 = read_vae_attention(w, "mid.attn_1", channels);
    mid.block_2 = read_vae_res_block(w, "mid.block_2", channels);
    if (mid.block_2.out_channels() != channels) {
        core::throw_invalid_format("weight '{}' has {} output channels but the mid block is {} wide",
                                   w.full_name("mid.block_2.conv1.weight"), mid.block_2.out_channels(),
                                   channels);
    }
    return mid;
}

// Zero padding on the right and bottom only, before a stride-2 3x3 convolution without padding: what the
// original Downsample does (conv2d's padding is symmetric, so the zeros are concatenated).
core::ValueId pad_right_bottom(core::Graph& graph, core::ValueId x, const std::string& name) {
    const core::Shape s = graph.shape(x);
    const core::ValueId column =
        graph.weight(name + ".zero_column", core::Tensor::empty(ND_DTYPE_F32, {s[0], s[1], s[2], 1}));
    const core::ValueId wider = graph.concat({x, column}, 3, name + ".pad_w");
    const core::ValueId row =
        graph.weight(name + ".zero_row", core::Tensor::empty(ND_DTYPE_F32, {s[0], s[1], 1, s[3] + 1}));
    return graph.concat({wider, row}, 2, name + ".pad_h");
}

} // namespace

int VaeConfig::downscale() const noexcept {
    const std::size_t levels = has_decoder ? decoder_widths.size() : encoder_widths.size();
    return levels == 0 ? 1 : 1 << (levels - 1);
}

Vae Vae::from_weights(const model_files::WeightSet& weights, std::string_view prefix) {
    const ModelWeights w(weights, std::string(prefix));
    Vae vae;
    VaeConfig& config = vae.config_;
    config.has_decoder = w.has("decoder.conv_in.weight");
    config.has_encoder = w.has("encoder.conv_in.weight");
    if (!config.has_decoder && !config.has_encoder) {
        core::throw_invalid_format("missing weight '{}': no VAE decoder or encoder under '{}'",
                                   w.full_name("decoder.conv_in.weight"), w.prefix());
    }

    if (config.has_decoder) {
        const ModelWeights d = w.sub("decoder.");
        VaeDecoderWeights& dw = vae.decoder_;
        config.latent_channels = d.conv_in_channels("conv_in", 3);
        if (w.has("post_quant_conv.weight")) {
            dw.post_quant_conv = w.conv("post_quant_conv", config.latent_channels, config.latent_channels, 1);
        }
        dw.conv_in = d.conv("conv_in", -1, config.latent_channels, 3);
        const std::int64_t mid_channels = dw.conv_in.out_channels();
        dw.mid = read_mid(d, mid_channels);

        const int levels = d.count_indexed("up");
        if (levels == 0) {
            core::throw_invalid_format("missing weight '{}': the decoder has no up levels",
                                       d.full_name("up.0.block.0.conv1.weight"));
        }
        config.decoder_blocks = d.count_indexed("up.0.block");
        dw.up.resize(static_cast<std::size_t>(levels));
        std::int64_t in = mid_channels;
        for (int i = levels - 1; i >= 0; --i) {
            const std::string level = level_name("up", i);
            VaeLevelWeights& lw = dw.up[static_cast<std::size_t>(i)];
            for (int j = 0; j < config.decoder_blocks; ++j) {
                lw.blocks.push_back(read_vae_res_block(d, block_name(level, j), in));
                in = lw.blocks.back().out_channels();
            }
            // Every level but the full-resolution one doubles the size; a file must agree.
            if (i > 0) {
                lw.resample = d.conv(level + ".upsample.conv", in, in, 3);
            } else if (d.has(level + ".upsample.conv.weight")) {
                core::throw_invalid_format(
                    "weight '{}' is unexpected: the last decoder level does not upsample",
                    d.full_name(level + ".upsample.conv.weight"));
            }
        }
        for (const VaeLevelWeights& lw : dw.up) {
            config.decoder_widths.push_back(lw.blocks.back().out_channels());
        }
        dw.norm_out = d.norm("norm_out", in);
        dw.conv_out = d.conv("conv_out", -1, in, 3);
        config.image_channels = dw.conv_out.out_channels();
    }

    if (config.has_encoder) {
        const ModelWeights e = w.sub("encoder.");
        VaeEncoderWeights& ew = vae.encoder_;
        const std::int64_t image_channels = e.conv_in_channels("conv_in", 3);
        if (config.has_decoder && image_channels != config.image_channels) {
            core::throw_invalid_format("weight '{}' reads {} image channels but the decoder writes {}",
                                       e.full_name("conv_in.weight"), image_channels, config.image_channels);
        }
        config.image_channels = image_channels;
        ew.conv_in = e.conv("conv_in", -1, image_channels, 3);
        const int levels = e.count_indexed("down");
        if (levels == 0) {
            core::throw_invalid_format("missing weight '{}': the encoder has no down levels",
                                       e.full_name("down.0.block.0.conv1.weight"));
        }
        config.encoder_blocks = e.count_indexed("down.0.block");
        std::int64_t in = ew.conv_in.out_channels();
        for (int i = 0; i < levels; ++i) {
            const std::string level = level_name("down", i);
            VaeLevelWeights lw;
            for (int j = 0; j < config.encoder_blocks; ++j) {
                lw.blocks.push_back(read_vae_res_block(e, block_name(level, j), in));
                in = lw.blocks.back().out_channels();
            }
            if (i + 1 < levels) {
                lw.resample = e.conv(level + ".downsample.conv", in, in, 3);
            } else if (e.has(level + ".downsample.conv.weight")) {
                core::throw_invalid_format(
                    "weight '{}' is unexpected: the last encoder level does not downsample",
                    e.full_name(level + ".downsample.conv.weight"));
            }
            config.encoder_widths.push_back(in);
            ew.down.push_back(std::move(lw));
        }
        ew.mid = read_mid(e, in);
        ew.norm_out = e.norm("norm_out", in);
        ew.conv_out = e.conv("conv_out", -1, in, 3);
        const std::int64_t moments = ew.conv_out.out_channels();
        if (moments % 2 != 0 || (config.has_decoder && moments != 2 * config.latent_channels)) {
            core::throw_invalid_format(
                "weight '{}' has {} output channels; the encoder must give a mean and a "
                "log-variance for each of the {} latent channels",
                e.full_name("conv_out.weight"), moments,
                config.has_decoder ? config.latent_channels : moments / 2);
        }
        config.latent_channels = moments / 2;
        if (w.has("quant_conv.weight")) {
            ew.quant_conv = w.conv("quant_conv", moments, moments, 1);
        }
        if (config.has_decoder && levels != static_cast<int>(config.decoder_widths.size())) {
            core::throw_invalid_format("the VAE encoder has {} levels but its decoder {} ('{}')", levels,
                                       config.decoder_widths.size(), w.full_name("encoder.down"));
        }
    }
    return vae;
}

core::ValueId Vae::mid(core::Graph& graph, core::ValueId x, const VaeMidWeights& w,
                       const std::string& name) const {
    x = add_vae_res_block(graph, x, w.block_1, config_.norm, name + ".block_1");
    x = add_vae_attention(graph, x, w.attn_1, config_.norm, name + ".attn_1");
    return add_vae_res_block(graph, x, w.block_2, config_.norm, name + ".block_2");
}

core::ValueId Vae::build_decoder(core::Graph& graph, core::ValueId latents) const {
    if (!config_.has_decoder) {
        core::throw_error(ND_STATUS_UNSUPPORTED, "this VAE has no decoder weights");
    }
    const VaeDecoderWeights& w = decoder_;
    core::ValueId x = latents;
    if (w.post_quant_conv.defined()) {
        x = add_conv(graph, x, w.post_quant_conv, 1, 0, "vae.post_quant_conv");
    }
    x = add_conv(graph, x, w.conv_in, 1, 1, "vae.decoder.conv_in");
    x = mid(graph, x, w.mid, "vae.decoder.mid");
    for (int i = static_cast<int>(w.up.size()) - 1; i >= 0; --i) {
        const VaeLevelWeights& level = w.up[static_cast<std::size_t>(i)];
        const std::string name = "vae.decoder." + level_name("up", i);
        for (std::size_t j = 0; j < level.blocks.size(); ++j) {
            x = add_vae_res_block(graph, x, level.blocks[j], config_.norm,
                                  block_name(name, static_cast<int>(j)));
        }
        if (level.resample.defined()) {
            x = graph.upsample_nearest2x(x, name + ".upsample");
            x = add_conv(graph, x, level.resample, 1, 1, name + ".upsample.conv");
        }
    }
    core::GroupNormParams norm;
    norm.groups = config_.norm.groups;
    norm.eps = config_.norm.eps;
    norm.fused_silu = true;
    x = add_group_norm(graph, x, w.norm_out, norm, "vae.decoder.norm_out");
    return add_conv(graph, x, w.conv_out, 1, 1, "vae.decoder.conv_out");
}

VaePosterior Vae::build_encoder(core::Graph& graph, core::ValueId image) const {
    if (!config_.has_encoder) {
        core::throw_error(ND_STATUS_UNSUPPORTED, "this VAE has no encoder weights");
    }
    const VaeEncoderWeights& w = encoder_;
    core::ValueId x = add_conv(graph, image, w.conv_in, 1, 1, "vae.encoder.conv_in");
    for (std::size_t i = 0; i < w.down.size(); ++i) {
        const VaeLevelWeights& level = w.down[i];
        const std::string name = "vae.encoder." + level_name("down", static_cast<int>(i));
        for (std::size_t j = 0; j < level.blocks.size(); ++j) {
            x = add_vae_res_block(graph, x, level.blocks[j], config_.norm,
                                  block_name(name, static_cast<int>(j)));
        }
        if (level.resample.defined()) {
            x = pad_right_bottom(graph, x, name + ".downsample");
            x = add_conv(graph, x, level.resample, 2, 0, name + ".downsample.conv");
        }
    }
    x = mid(graph, x, w.mid, "vae.encoder.mid");
    core::GroupNormParams norm;
    norm.groups = config_.norm.groups;
    norm.eps = config_.norm.eps;
    norm.fused_silu = true;
    x = add_group_norm(graph, x, w.norm_out, norm, "vae.encoder.norm_out");
    x = add_conv(graph, x, w.conv_out, 1, 1, "vae.encoder.conv_out");
    if (w.quant_conv.defined()) {
        x = add_conv(graph, x, w.quant_conv, 1, 0, "vae.quant_conv");
    }
    const std::int64_t latent = config_.latent_channels;
    VaePosterior posterior;
    posterior.mean = graph.contiguous(graph.narrow(x, 1, 0, latent), "vae.posterior.mean");
    posterior.logvar = graph.clamp(graph.narrow(x, 1, latent, latent), -30.0f, 20.0f, "vae.posterior.logvar");
    return posterior;
}

} // namespace nd::models
