#include "model_files/diffusers_names.hpp"

#include <algorithm>
#include <array>
#include <span>
#include <utility>

#include "core/error.hpp"

namespace nd::model_files {
namespace {

// Consumes `prefix` from the front of `text` when it is there.
bool take(std::string_view& text, std::string_view prefix) {
    if (!text.starts_with(prefix)) {
        return false;
    }
    text.remove_prefix(prefix.size());
    return true;
}

// Consumes "N." (a small decimal index and its dot) from the front of `text`.
std::optional<int> take_index(std::string_view& text) {
    std::size_t digits = 0;
    int value = 0;
    while (digits < text.size() && digits < 4 && text[digits] >= '0' && text[digits] <= '9') {
        value = value * 10 + (text[digits] - '0');
        ++digits;
    }
    if (digits == 0 || digits >= text.size() || text[digits] != '.') {
        return std::nullopt;
    }
    text.remove_prefix(digits + 1);
    return value;
}

std::string join(std::string_view a, int index, std::string_view b, std::string_view rest) {
    std::string out(a);
    out += std::to_string(index);
    out += b;
    out += rest;
    return out;
}

// The leaves of a resnet, where the layouts disagree: `renames` maps a diffusers leaf prefix to LDM's.
using Renames = std::span<const std::pair<std::string_view, std::string_view>>;

std::optional<std::string> rename_leaf(std::string_view rest, Renames renames) {
    for (const auto& [from, to] : renames) {
        std::string_view tail = rest;
        if (take(tail, from)) {
            return std::string(to) + std::string(tail);
        }
    }
    return std::nullopt;
}

constexpr std::array<std::pair<std::string_view, std::string_view>, 6> kUnetResnet{{
    {"norm1.", "in_layers.0."},
    {"conv1.", "in_layers.2."},
    {"time_emb_proj.", "emb_layers.1."},
    {"norm2.", "out_layers.0."},
    {"conv2.", "out_layers.3."},
    {"conv_shortcut.", "skip_connection."},
}};

constexpr std::array<std::pair<std::string_view, std::string_view>, 5> kVaeResnet{{
    {"norm1.", "norm1."},
    {"conv1.", "conv1."},
    {"norm2.", "norm2."},
    {"conv2.", "conv2."},
    {"conv_shortcut.", "nin_shortcut."},
}};

// Old diffusers releases named the VAE attention query/key/value/proj_attn; current ones to_q/.../to_out.0.
constexpr std::array<std::pair<std::string_view, std::string_view>, 9> kVaeAttention{{
    {"group_norm.", "norm."},
    {"to_q.", "q."},
    {"to_k.", "k."},
    {"to_v.", "v."},
    {"to_out.0.", "proj_out."},
    {"query.", "q."},
    {"key.", "k."},
    {"value.", "v."},
    {"proj_attn.", "proj_out."},
}};

constexpr std::array<std::pair<std::string_view, std::string_view>, 7> kUnetTopLevel{{
    {"time_embedding.linear_1.", "time_embed.0."},
    {"time_embedding.linear_2.", "time_embed.2."},
    {"add_embedding.linear_1.", "label_emb.0.0."},
    {"add_embedding.linear_2.", "label_emb.0.2."},
    {"conv_in.", "input_blocks.0.0."},
    {"conv_norm_out.", "out.0."},
    {"conv_out.", "out.2."},
}};

} // namespace

UnetNameLayout unet_name_layout(const std::vector<std::string>& diffusers_names) {
    UnetNameLayout layout;
    int max_resnet = -1;
    for (const std::string& name : diffusers_names) {
        std::string_view rest = name;
        if (take(rest, "down_blocks.0.resnets.")) {
            if (auto j = take_index(rest)) {
                max_resnet = std::max(max_resnet, *j);
            }
        } else if (take(rest, "up_blocks.")) {
            const auto i = take_index(rest);
            if (i && rest.starts_with("attentions.") &&
                std::find(layout.up_blocks_with_attention.begin(), layout.up_blocks_with_attention.end(), *i) ==
                    layout.up_blocks_with_attention.end()) {
                layout.up_blocks_with_attention.push_back(*i);
            }
        }
    }
    if (max_resnet < 0) {
        core::throw_invalid_format("no 'down_blocks.0.resnets.*' weights: this is not a diffusers UNet");
    }
    layout.layers_per_block = max_resnet + 1;
    return layout;
}

std::optional<std::string> unet_name_to_ldm(std::string_view name, const UnetNameLayout& layout) {
    if (auto renamed = rename_leaf(name, kUnetTopLevel)) {
        return renamed;
    }
    // An LDM level holds one block per resnet, plus one for the downsampler (down) or one more resnet (up).
    const int per_level = layout.layers_per_block + 1;
    std::string_view rest = name;
    if (take(rest, "down_blocks.")) {
        const auto i = take_index(rest);
        if (!i) {
            return std::nullopt;
        }
        const bool is_resnet = take(rest, "resnets.");
        if (is_resnet || take(rest, "attentions.")) {
            const auto j = take_index(rest);
            if (!j || *j >= layout.layers_per_block) {
                return std::nullopt;
            }
            const int block = per_level * *i + *j + 1;
            if (is_resnet) {
                auto leaf = rename_leaf(rest, kUnetResnet);
                return leaf ? std::optional(join("input_blocks.", block, ".0.", *leaf)) : std::nullopt;
            }
            return join("input_blocks.", block, ".1.", rest);
        }
        if (take(rest, "downsamplers.0.conv.")) {
            return join("input_blocks.", per_level * (*i + 1), ".0.op.", rest);
        }
        return std::nullopt;
    }
    if (take(rest, "mid_block.")) {
        if (take(rest, "resnets.")) {
            const auto j = take_index(rest);
            auto leaf = j && *j < 2 ? rename_leaf(rest, kUnetResnet) : std::nullopt;
            return leaf ? std::optional(join("middle_block.", 2 * *j, ".", *leaf)) : std::nullopt;
        }
        if (take(rest, "attentions.0.")) {
            return "middle_block.1." + std::string(rest);
        }
        return std::nullopt;
    }
    if (take(rest, "up_blocks.")) {
        const auto i = take_index(rest);
        if (!i) {
            return std::nullopt;
        }
        const bool is_resnet = take(rest, "resnets.");
        if (is_resnet || take(rest, "attentions.")) {
            const auto j = take_index(rest);
            if (!j || *j >= per_level) {
                return std::nullopt;
            }
            const int block = per_level * *i + *j;
            if (is_resnet) {
                auto leaf = rename_leaf(rest, kUnetResnet);
                return leaf ? std::optional(join("output_blocks.", block, ".0.", *leaf)) : std::nullopt;
            }
            return join("output_blocks.", block, ".1.", rest);
        }
        if (take(rest, "upsamplers.0.conv.")) {
            const auto& with = layout.up_blocks_with_attention;
            const bool has_attention = std::find(with.begin(), with.end(), *i) != with.end();
            return join("output_blocks.", per_level * *i + layout.layers_per_block,
                        has_attention ? ".2.conv." : ".1.conv.", rest);
        }
        return std::nullopt;
    }
    return std::nullopt;
}

std::optional<std::string> vae_name_to_ldm(std::string_view name, int levels) {
    std::string_view rest = name;
    for (std::string_view top : {"quant_conv.", "post_quant_conv."}) {
        if (rest.starts_with(top)) {
            return std::string(name);
        }
    }
    std::string out;
    if (take(rest, "encoder.")) {
        out = "encoder.";
    } else if (take(rest, "decoder.")) {
        out = "decoder.";
    } else {
        return std::nullopt;
    }
    const bool encoder = out == "encoder.";
    for (std::string_view same : {"conv_in.", "conv_out."}) {
        if (rest.starts_with(same)) {
            return out + std::string(rest);
        }
    }
    if (take(rest, "conv_norm_out.")) {
        return out + "norm_out." + std::string(rest);
    }
    if (take(rest, "mid_block.")) {
        if (take(rest, "resnets.")) {
            const auto j = take_index(rest);
            auto leaf = j && *j < 2 ? rename_leaf(rest, kVaeResnet) : std::nullopt;
            return leaf ? std::optional(join(out + "mid.block_", *j + 1, ".", *leaf)) : std::nullopt;
        }
        if (take(rest, "attentions.0.")) {
            auto leaf = rename_leaf(rest, kVaeAttention);
            return leaf ? std::optional(out + "mid.attn_1." + *leaf) : std::nullopt;
        }
        return std::nullopt;
    }
    if (!take(rest, encoder ? "down_blocks." : "up_blocks.")) {
        return std::nullopt;
    }
    const auto i = take_index(rest);
    if (!i || *i >= levels) {
        return std::nullopt;
    }
    // The decoder's diffusers block 0 is the deepest, LDM's up.0 the shallowest.
    const int level = encoder ? *i : levels - 1 - *i;
    out += encoder ? "down." : "up.";
    if (take(rest, "resnets.")) {
        const auto j = take_index(rest);
        auto leaf = j ? rename_leaf(rest, kVaeResnet) : std::nullopt;
        return leaf ? std::optional(join(join(out, level, ".block.", ""), *j, ".", *leaf)) : std::nullopt;
    }
    if (take(rest, encoder ? "downsamplers.0.conv." : "upsamplers.0.conv.")) {
        return join(out, level, encoder ? ".downsample.conv." : ".upsample.conv.", rest);
    }
    return std::nullopt;
}

bool vae_weight_needs_conv_shape(std::string_view ldm_name) {
    if (!ldm_name.ends_with(".weight")) {
        return false;
    }
    for (std::string_view leaf : {".mid.attn_1.q.", ".mid.attn_1.k.", ".mid.attn_1.v.", ".mid.attn_1.proj_out."}) {
        if (ldm_name.find(leaf) != std::string_view::npos) {
            return true;
        }
    }
    return false;
}

} // namespace nd::model_files
