#include "pipeline/family_traits.hpp"

#include "core/error.hpp"
#include "models/clip_text_encoder.hpp"
#include "models/vae.hpp"

namespace nd::pipeline {

FamilyTraits family_traits(model_files::ModelFamily family) {
    FamilyTraits traits;
    switch (family) {
    case model_files::ModelFamily::Sd1:
        traits.naming = TextEncoderNaming::HuggingFace;
        traits.text_encoder_prefix = models::ClipTextEncoder::kSd1Prefix;
        traits.default_clip_skip = 1;
        traits.unet.heads = 8;
        traits.vae_scaling_factor = models::kSd1VaeScalingFactor;
        return traits;
    case model_files::ModelFamily::Sd2:
        // diffusers' SD 2.x text encoder is OpenCLIP with its last layer cut off, read through the final
        // norm: our clip skip 2 over the full tower. Padding after EOS is token 0 ("!"), as open_clip pads.
        traits.naming = TextEncoderNaming::OpenClip;
        traits.text_encoder_prefix = models::ClipTextEncoder::kSd2Prefix;
        traits.default_clip_skip = 2;
        traits.pad_id = 0;
        traits.unet.head_channels = 64;
        traits.vae_scaling_factor = models::kSd1VaeScalingFactor;
        return traits;
    case model_files::ModelFamily::SdxlBase:
    case model_files::ModelFamily::SdxlRefiner: break;
    }
    core::throw_error(ND_STATUS_UNSUPPORTED,
                      "the pipeline does not run {} models yet (SD 1.x and SD 2.x are supported)",
                      model_files::model_family_name(family));
}

} // namespace nd::pipeline
