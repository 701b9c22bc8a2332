// A diffusers pipeline folder (model_index.json; unet/, vae/, text_encoder/[, text_encoder_2/] with their
// config.json and safetensors weights) loaded into one WeightSet under the canonical (LDM) names.
//
// Tensors stay borrowed from the mappings; the only reshapes are views (the VAE mid-attention projections
// become [C, C, 1, 1]). OpenCLIP text encoders (SD 2.x's text_encoder, told by its GELU activation, and SDXL's
// text_encoder_2) are stored in transformers naming and translated to OpenCLIP's (open_clip_names.hpp), which
// copies their q/k/v projections into one in_proj tensor each.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "model_files/diffusers_component.hpp"
#include "model_files/weight_set.hpp"

namespace nd::model_files {

struct DiffusersModel {
    WeightSet weights;                          // canonical names
    std::string pipeline_class;                 // model_index.json "_class_name"
    std::optional<std::string> prediction_type; // scheduler/scheduler_config.json "prediction_type"
};

// Whether `folder` has a model_index.json.
bool is_diffusers_folder(const std::filesystem::path& folder);

// Loads every component model_index.json lists that the engine uses (unet, vae, text_encoder,
// text_encoder_2). Throws Error(ND_STATUS_NOT_FOUND) for a listed component without its folder or weights,
// Error(ND_STATUS_UNSUPPORTED) for a weight name the translation does not know (naming the component and
// the weight), Error(ND_STATUS_INVALID_FORMAT) for malformed JSON or safetensors.
DiffusersModel load_diffusers_folder(const std::filesystem::path& folder,
                                     DiffusersVariant variant = DiffusersVariant::Auto);

// Adds a diffusers AutoencoderKL's weights (names as stored, e.g. from load_diffusers_component) to `out`
// under `prefix` + their LDM names. Throws Error(ND_STATUS_UNSUPPORTED) for an unknown name.
void add_diffusers_vae(WeightSet& out, const WeightSet& vae, std::string_view prefix);

// The same for a UNet2DConditionModel (`prefix` is typically "model.diffusion_model.").
void add_diffusers_unet(WeightSet& out, const WeightSet& unet, std::string_view prefix);

} // namespace nd::model_files
