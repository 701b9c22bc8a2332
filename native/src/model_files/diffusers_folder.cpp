#include "model_files/diffusers_folder.hpp"

#include <algorithm>

#include "core/error.hpp"
#include "model_files/diffusers_names.hpp"
#include "model_files/json_file.hpp"
#include "model_files/open_clip_names.hpp"

namespace nd::model_files {
namespace {

namespace fs = std::filesystem;

// The number of VAE levels: one past the highest encoder down block or decoder up block index.
int vae_levels(const WeightSet& vae) {
    int levels = 0;
    for (const auto& [name, tensor] : vae.all()) {
        for (std::string_view prefix : {"encoder.down_blocks.", "decoder.up_blocks."}) {
            if (std::string_view(name).starts_with(prefix)) {
                int index = 0;
                for (std::size_t i = prefix.size(); i < name.size() && i < prefix.size() + 4 && name[i] >= '0' &&
                                                    name[i] <= '9';
                     ++i) {
                    index = index * 10 + (name[i] - '0');
                }
                levels = std::max(levels, index + 1);
            }
        }
    }
    return levels;
}

[[noreturn]] void throw_unknown(std::string_view component, std::string_view name) {
    core::throw_error(ND_STATUS_UNSUPPORTED, "unsupported model: {} weight '{}' has no counterpart in the "
                                             "Stable Diffusion (LDM) layout", component, name);
}

// A transformers CLIPTextModel ("text_model.*") under `prefix` + its own name, which is how LDM files nest it.
void add_clip_text_model(WeightSet& out, const WeightSet& clip, std::string_view prefix) {
    for (const auto& [name, tensor] : clip.all()) {
        if (name == "text_model.embeddings.position_ids") {
            continue; // a constant buffer (0..76); dropped from single files too
        }
        if (!std::string_view(name).starts_with("text_model.")) {
            throw_unknown("text encoder", name);
        }
        out.add(std::string(prefix) + name, tensor);
    }
}

// model_index.json lists a component as [library, class]; [null, null] (or absence) means none.
bool lists_component(const formats::JsonValue& index, std::string_view component) {
    const formats::JsonValue* entry = index.find(component);
    if (entry == nullptr || entry->type() != formats::JsonType::array) {
        return false;
    }
    const auto& parts = entry->as_array();
    return parts.size() == 2 && parts[1].type() == formats::JsonType::string;
}

fs::path component_folder(const fs::path& folder, std::string_view component) {
    fs::path sub = folder / std::string(component);
    if (!fs::is_directory(sub)) {
        core::throw_error(ND_STATUS_NOT_FOUND, "{}: model_index.json lists '{}' but there is no folder {}",
                          folder.string(), component, sub.string());
    }
    return sub;
}

} // namespace

bool is_diffusers_folder(const fs::path& folder) {
    return fs::is_regular_file(folder / "model_index.json");
}

void add_diffusers_vae(WeightSet& out, const WeightSet& vae, std::string_view prefix) {
    const int levels = vae_levels(vae);
    for (const auto& [name, tensor] : vae.all()) {
        const auto ldm = vae_name_to_ldm(name, levels);
        if (!ldm) {
            throw_unknown("VAE", name);
        }
        core::Tensor weight = tensor;
        if (vae_weight_needs_conv_shape(*ldm) && tensor.rank() == 2) {
            weight = tensor.reshape({tensor.dim(0), tensor.dim(1), 1, 1}); // a view: the bytes are the same
        }
        out.add(std::string(prefix) + *ldm, std::move(weight));
    }
}

void add_diffusers_unet(WeightSet& out, const WeightSet& unet, std::string_view prefix) {
    std::vector<std::string> names;
    names.reserve(unet.size());
    for (const auto& [name, tensor] : unet.all()) {
        names.push_back(name);
    }
    const UnetNameLayout layout = unet_name_layout(names);
    for (const auto& [name, tensor] : unet.all()) {
        const auto ldm = unet_name_to_ldm(name, layout);
        if (!ldm) {
            throw_unknown("UNet", name);
        }
        out.add(std::string(prefix) + *ldm, tensor);
    }
}

DiffusersModel load_diffusers_folder(const fs::path& folder, DiffusersVariant variant) {
    const fs::path index_path = folder / "model_index.json";
    const formats::JsonValue index = read_json_file(index_path);
    if (index.type() != formats::JsonType::object) {
        core::throw_invalid_format("{}: not a JSON object", index_path.string());
    }
    DiffusersModel model;
    model.pipeline_class = json_string_member(index, "_class_name").value_or("");
    const fs::path scheduler = folder / "scheduler" / "scheduler_config.json";
    if (fs::is_regular_file(scheduler)) {
        model.prediction_type = json_string_member(read_json_file(scheduler), "prediction_type");
    }

    const bool first_encoder = lists_component(index, "text_encoder");
    const bool second_encoder = lists_component(index, "text_encoder_2");
    try {
        if (lists_component(index, "unet")) {
            add_diffusers_unet(model.weights,
                               load_diffusers_component(component_folder(folder, "unet"), variant),
                               "model.diffusion_model.");
        }
        if (lists_component(index, "vae")) {
            add_diffusers_vae(model.weights, load_diffusers_component(component_folder(folder, "vae"), variant),
                              "first_stage_model.");
        }
        if (first_encoder) {
            const fs::path sub = component_folder(folder, "text_encoder");
            const fs::path config = sub / "config.json";
            const WeightSet encoder = load_diffusers_component(sub, variant);
            // SD 2.x's OpenCLIP ViT-H uses GELU, CLIP ViT-L quick GELU; OpenCLIP's canonical layout differs.
            if (fs::is_regular_file(config) && json_string_member(read_json_file(config), "hidden_act") == "gelu") {
                add_transformers_text_model_as_open_clip(model.weights, encoder, "cond_stage_model.");
            } else {
                add_clip_text_model(model.weights, encoder,
                                    second_encoder ? "conditioner.embedders.0.transformer."
                                                   : "cond_stage_model.transformer.");
            }
        }
        if (second_encoder) {
            // SDXL's OpenCLIP bigG: the second embedder of the base, the only one of the refiner.
            add_transformers_text_model_as_open_clip(
                model.weights, load_diffusers_component(component_folder(folder, "text_encoder_2"), variant),
                first_encoder ? "conditioner.embedders.1." : "conditioner.embedders.0.");
        }
    } catch (const core::Error& error) {
        throw core::with_context(error, folder.string());
    }
    return model;
}

} // namespace nd::model_files
