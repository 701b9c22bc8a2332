// What the pipeline does differently per model family: the text encoder's naming and default CLIP skip, how
// prompt chunks are padded, the UNet's attention heads, the VAE's scaling factor. One table, so that adding
// a family is one entry; families without an entry are refused with ND_STATUS_UNSUPPORTED.
#pragma once

#include <string_view>

#include "model_files/model_family.hpp"
#include "models/unet.hpp"

namespace nd::pipeline {

enum class TextEncoderNaming {
    HuggingFace, // CLIPTextModel names (SD 1.x's CLIP ViT-L/14)
    OpenClip     // OpenCLIP names (SD 2.x's ViT-H/14)
};

struct FamilyTraits {
    TextEncoderNaming naming = TextEncoderNaming::HuggingFace;
    std::string_view text_encoder_prefix;
    int default_clip_skip = 1; // SD 2.x conditions on the penultimate layer (through the final norm)
    int pad_id = -1;           // chunk padding after EOS; -1: EOS itself (SD 1.x), 0 for OpenCLIP
    models::UNetOptions unet;
    float vae_scaling_factor = 0.18215f;
};

// Throws Error(ND_STATUS_UNSUPPORTED) naming the family when the pipeline does not run it yet.
FamilyTraits family_traits(model_files::ModelFamily family);

} // namespace nd::pipeline
