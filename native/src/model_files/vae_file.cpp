#include "model_files/vae_file.hpp"

#include "core/error.hpp"
#include "formats/file_kind.hpp"
#include "model_files/diffusers_folder.hpp"
#include "model_files/gguf_weights.hpp"
#include "model_files/safetensors_weights.hpp"

namespace nd::model_files {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kPrefix = "first_stage_model.";

bool is_diffusers_vae(const WeightSet& raw) {
    for (const auto& [name, tensor] : raw.all()) {
        for (std::string_view marker : {"encoder.down_blocks.", "decoder.up_blocks.", "encoder.mid_block.",
                                        "decoder.mid_block."}) {
            if (name.starts_with(marker)) {
                return true;
            }
        }
    }
    return false;
}

} // namespace

WeightSet load_vae_file(const fs::path& path, DiffusersVariant variant) {
    WeightSet raw;
    if (fs::is_directory(path)) {
        // A whole pipeline folder lends its vae/; otherwise the folder is the component itself.
        raw = load_diffusers_component(fs::is_regular_file(path / "model_index.json") ? path / "vae" : path, variant);
    } else if (formats::require_loadable_file_kind(path.string()) == formats::FileKind::gguf) {
        raw = load_gguf_model(path.string()).weights;
    } else {
        raw = load_safetensors_weights(path.string());
    }
    WeightSet vae;
    try {
        if (is_diffusers_vae(raw)) {
            add_diffusers_vae(vae, raw, kPrefix);
            return vae;
        }
        for (const auto& [name, tensor] : raw.all()) {
            std::string_view rest = name;
            if (rest.starts_with(kPrefix)) {
                rest.remove_prefix(kPrefix.size());
            }
            if (rest.starts_with("loss.") || rest.starts_with("model_ema.")) {
                continue;
            }
            if (!rest.starts_with("encoder.") && !rest.starts_with("decoder.") && !rest.starts_with("quant_conv.") &&
                !rest.starts_with("post_quant_conv.")) {
                core::throw_invalid_format("weight '{}' is not part of a VAE (encoder, decoder, quant_conv, "
                                           "post_quant_conv)",
                                           name);
            }
            vae.add(std::string(kPrefix) + std::string(rest), tensor);
        }
    } catch (const core::Error& error) {
        throw core::with_context(error, path.string());
    }
    if (vae.empty()) {
        core::throw_invalid_format("{}: no VAE weights", path.string());
    }
    return vae;
}

void replace_vae(WeightSet& weights, const WeightSet& vae) {
    const std::vector<std::string> present = weights.names_with_prefix(kPrefix);
    if (present.empty()) {
        for (const auto& [name, tensor] : vae.all()) {
            weights.add(name, tensor);
        }
        return;
    }
    for (const std::string& name : present) {
        const core::Tensor* replacement = vae.find(name);
        if (replacement == nullptr) {
            core::throw_invalid_format("the separate VAE has no '{}', which the model's VAE has", name);
        }
        const core::Tensor& current = weights.require(name);
        if (!(replacement->shape() == current.shape())) {
            core::throw_invalid_format("the separate VAE's '{}' has shape {} but the model's has {}", name,
                                       replacement->shape().to_string(), current.shape().to_string());
        }
    }
    for (const auto& [name, tensor] : vae.all()) {
        if (!weights.contains(name)) {
            core::throw_invalid_format("the separate VAE has '{}', which the model's VAE lacks", name);
        }
    }
    for (const auto& [name, tensor] : vae.all()) {
        weights.replace(name, tensor);
    }
}

} // namespace nd::model_files
