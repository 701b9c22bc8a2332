#include "model_files/open_clip_names.hpp"

#include <array>
#include <cstring>
#include <map>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "model_files/single_file.hpp"

namespace nd::model_files {
namespace {

bool take(std::string_view& text, std::string_view prefix) {
    if (!text.starts_with(prefix)) {
        return false;
    }
    text.remove_prefix(prefix.size());
    return true;
}

constexpr std::array<std::pair<std::string_view, std::string_view>, 4> kTopLevel{{
    {"text_model.embeddings.token_embedding.weight", "token_embedding.weight"},
    {"text_model.embeddings.position_embedding.weight", "positional_embedding"},
    {"text_model.final_layer_norm.weight", "ln_final.weight"},
    {"text_model.final_layer_norm.bias", "ln_final.bias"},
}};

constexpr std::array<std::pair<std::string_view, std::string_view>, 5> kLayer{{
    {"self_attn.out_proj.", "attn.out_proj."},
    {"layer_norm1.", "ln_1."},
    {"layer_norm2.", "ln_2."},
    {"mlp.fc1.", "mlp.c_fc."},
    {"mlp.fc2.", "mlp.c_proj."},
}};

constexpr std::string_view kLayers = "text_model.encoder.layers.";

// "text_model.encoder.layers.N.self_attn.{q,k,v}_proj.{weight,bias}": the layer, which of q/k/v, and
// whether it is the weight.
struct QkvPart {
    std::string layer;
    int which = 0;
    bool weight = true;
};

std::optional<QkvPart> qkv_part(std::string_view name) {
    if (!take(name, kLayers)) {
        return std::nullopt;
    }
    const std::size_t dot = name.find('.');
    if (dot == std::string_view::npos || dot == 0) {
        return std::nullopt;
    }
    QkvPart part{std::string(name.substr(0, dot)), 0, true};
    name.remove_prefix(dot + 1);
    static constexpr std::array<std::string_view, 3> kNames{"self_attn.q_proj.", "self_attn.k_proj.",
                                                            "self_attn.v_proj."};
    for (int i = 0; i < 3; ++i) {
        std::string_view rest = name;
        if (take(rest, kNames[static_cast<std::size_t>(i)])) {
            part.which = i;
            if (rest == "weight" || rest == "bias") {
                part.weight = rest == "weight";
                return part;
            }
        }
    }
    return std::nullopt;
}

// q, k and v joined along their outermost dimension: an owned [3C, ...] tensor.
core::Tensor fuse(const std::array<core::Tensor, 3>& parts, const std::string& name) {
    for (int i = 0; i < 3; ++i) {
        if (!parts[static_cast<std::size_t>(i)].defined()) {
            core::throw_invalid_format("'{}': the {} projection is missing", name, "qkv"[i]);
        }
        if (!(parts[static_cast<std::size_t>(i)].shape() == parts[0].shape()) ||
            parts[static_cast<std::size_t>(i)].dtype() != parts[0].dtype() || parts[0].rank() < 1) {
            core::throw_invalid_format("'{}': q, k and v projections differ in shape or type ({} vs {})", name,
                                       parts[0].layout().to_string(),
                                       parts[static_cast<std::size_t>(i)].layout().to_string());
        }
    }
    core::Shape shape = parts[0].shape();
    shape[0] *= 3;
    core::Tensor fused = core::Tensor::empty(parts[0].dtype(), shape);
    std::size_t offset = 0;
    for (const core::Tensor& part : parts) {
        const core::Tensor packed = part.contiguous();
        const auto bytes = static_cast<std::size_t>(packed.packed_bytes());
        std::memcpy(fused.data() + offset, packed.data(), bytes);
        offset += bytes;
    }
    return fused;
}

// Moves every weight under `from` to `to` + the rest of its name.
void move_prefix(WeightSet& weights, std::string_view from, std::string_view to) {
    for (const std::string& name : weights.names_with_prefix(from)) {
        core::Tensor tensor = weights.require(name);
        weights.erase(name);
        weights.add(std::string(to) + name.substr(from.size()), std::move(tensor));
    }
}

// Takes the weights under `from` out of `weights` into a set of their relative names.
WeightSet extract_prefix(WeightSet& weights, std::string_view from) {
    WeightSet part;
    for (const std::string& name : weights.names_with_prefix(from)) {
        part.add(name.substr(from.size()), weights.require(name));
        weights.erase(name);
    }
    return part;
}

} // namespace

std::optional<std::string> open_clip_name(std::string_view name) {
    for (const auto& [from, to] : kTopLevel) {
        if (name == from) {
            return std::string(to);
        }
    }
    if (!take(name, kLayers)) {
        return std::nullopt;
    }
    const std::size_t dot = name.find('.');
    if (dot == std::string_view::npos || dot == 0) {
        return std::nullopt;
    }
    const std::string_view layer = name.substr(0, dot);
    name.remove_prefix(dot + 1);
    for (const auto& [from, to] : kLayer) {
        std::string_view rest = name;
        if (take(rest, from)) {
            return "transformer.resblocks." + std::string(layer) + "." + std::string(to) + std::string(rest);
        }
    }
    return std::nullopt;
}

void add_transformers_text_model_as_open_clip(WeightSet& out, const WeightSet& encoder, std::string_view prefix) {
    const std::string base = std::string(prefix) + "model.";
    // layer -> {q, k, v}, for weights and biases
    std::map<std::string, std::array<core::Tensor, 3>> weights;
    std::map<std::string, std::array<core::Tensor, 3>> biases;
    for (const auto& [name, tensor] : encoder.all()) {
        if (is_dropped_on_load(name)) {
            continue;
        }
        if (auto part = qkv_part(name)) {
            (part->weight ? weights : biases)[part->layer][static_cast<std::size_t>(part->which)] = tensor;
            continue;
        }
        if (name == "text_projection.weight") { // transformers' Linear [P, C]; OpenCLIP multiplies by [C, P]
            out.add(base + "text_projection", tensor.transpose(0, 1).contiguous());
            continue;
        }
        if (name == "text_model.text_projection") {
            out.add(base + "text_projection", tensor);
            continue;
        }
        const auto renamed = open_clip_name(name);
        if (!renamed) {
            core::throw_error(ND_STATUS_UNSUPPORTED,
                              "unsupported model: text encoder weight '{}' has no counterpart in OpenCLIP", name);
        }
        out.add(base + *renamed, tensor);
    }
    for (const auto& [layer, parts] : weights) {
        const std::string name = base + "transformer.resblocks." + layer + ".attn.in_proj_weight";
        out.add(name, fuse(parts, name));
    }
    for (const auto& [layer, parts] : biases) {
        const std::string name = base + "transformer.resblocks." + layer + ".attn.in_proj_bias";
        out.add(name, fuse(parts, name));
    }
}

void canonicalize_sdcpp_text_encoders(WeightSet& weights) {
    constexpr std::string_view kFirst = "cond_stage_model.transformer.";
    constexpr std::string_view kSecond = "cond_stage_model.1.transformer.";
    const bool has_second = !weights.names_with_prefix(kSecond).empty();
    const bool has_first = !weights.names_with_prefix(kFirst).empty();
    if (has_second) {
        WeightSet big_g = extract_prefix(weights, kSecond);
        move_prefix(weights, kFirst, "conditioner.embedders.0.transformer.");
        add_transformers_text_model_as_open_clip(weights, big_g, "conditioner.embedders.1.");
        return;
    }
    if (!has_first) {
        return;
    }
    if (weights.contains("model.diffusion_model.label_emb.0.0.weight")) {
        WeightSet big_g = extract_prefix(weights, kFirst);
        add_transformers_text_model_as_open_clip(weights, big_g, "conditioner.embedders.0.");
        return;
    }
    const core::Tensor* tokens = weights.find("cond_stage_model.transformer.text_model.embeddings.token_embedding.weight");
    if (tokens != nullptr && tokens->rank() == 2 && tokens->dim(1) == 1024) {
        WeightSet vit_h = extract_prefix(weights, kFirst);
        add_transformers_text_model_as_open_clip(weights, vit_h, "cond_stage_model.");
    }
}

} // namespace nd::model_files
