// Which model a WeightSet holds (SD 1.x, SD 2.x, SDXL base, SDXL refiner), what components it carries, and
// how its weights are stored: read from canonical names and shapes alone, so a tiny test WeightSet with the
// right keys is recognised like a full checkpoint, and nothing depends on widths that differ between sizes.
//
// Rules (docs/formats.md, "What loads"):
// - the UNet is `model.diffusion_model.*`; its first convolution must take 4 channels (9 is an inpainting
//   UNet, 8 an instruct-pix2pix one, 5 a depth one: all refused);
// - a UNet with `label_emb` (SDXL's size and crop conditioning) is SDXL: base when the text encoders are
//   `conditioner.embedders.0.transformer.*` (CLIP ViT-L) and `conditioner.embedders.1.model.*` (OpenCLIP
//   bigG), refiner when there is only `conditioner.embedders.0.model.*`; without text encoders the
//   conditioning width decides (2816 base, 2560 refiner);
// - otherwise `cond_stage_model.transformer.text_model.*` (CLIP ViT-L) is SD 1.x and `cond_stage_model.model.*`
//   (OpenCLIP) SD 2.x; a file with no text encoder is SD 1.x when its attention projections are 1x1
//   convolutions and SD 2.x when they are linear.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model_files/weight_set.hpp"
#include "native_diffusion.h"

namespace nd::model_files {

enum class ModelFamily { Sd1, Sd2, SdxlBase, SdxlRefiner };

// "SD 1.x", "SD 2.x", "SDXL base", "SDXL refiner".
const char* model_family_name(ModelFamily family) noexcept;

enum class TextEncoderKind {
    ClipL,   // CLIP ViT-L/14 in transformers naming (`*.transformer.text_model.*`)
    OpenClip // OpenCLIP ViT-H (SD 2.x) or ViT-bigG (SDXL) in OpenCLIP naming (`*.model.*`)
};

struct TextEncoderInfo {
    std::string prefix; // "cond_stage_model.transformer.", "conditioner.embedders.1.model."...
    TextEncoderKind kind = TextEncoderKind::ClipL;
    std::size_t tensors = 0;
};

struct ModelComponents {
    bool unet = false; // model.diffusion_model.*
    bool vae = false;  // first_stage_model.*
    std::vector<TextEncoderInfo> text_encoders;
};

// What the WeightSet holds, by name prefix. Never throws.
ModelComponents find_components(const WeightSet& weights);

// The family, by the rules above. Throws Error(ND_STATUS_UNSUPPORTED) "unsupported model: ..." naming what
// was found instead (no UNet, a UNet of another kind, an unknown or mismatched text encoder).
ModelFamily detect_model_family(const WeightSet& weights);

enum class PredictionType { Epsilon, V };

// "epsilon", "v".
const char* prediction_type_name(PredictionType type) noexcept;

// "epsilon"/"eps" and "v"/"v_prediction"/"v-prediction" (any case); nullopt otherwise.
std::optional<PredictionType> parse_prediction_type(std::string_view text) noexcept;

enum class PredictionSource {
    Override,        // the caller said so
    Metadata,        // the file's metadata (`modelspec.prediction_type`, `prediction_type`)
    MarkerKey,       // a `v_pred` key in the weights (the ComfyUI convention)
    SchedulerConfig, // a diffusers folder's scheduler/scheduler_config.json
    Default          // nothing said: epsilon, what SD 1.x, SD 2.x base (512) and SDXL are trained for
};

const char* prediction_source_name(PredictionSource source) noexcept;

struct Prediction {
    PredictionType type = PredictionType::Epsilon;
    PredictionSource source = PredictionSource::Default;
};

// Picks the prediction type, first match wins: override, metadata, marker key, scheduler config, default.
// SD 2.x 768-v checkpoints usually say nothing; they need the override (or metadata) to sample correctly.
Prediction choose_prediction(const WeightSet& weights, const std::map<std::string, std::string>& metadata,
                             const std::optional<std::string>& scheduler_prediction,
                             std::optional<PredictionType> override_type);

struct DtypeUsage {
    std::size_t tensors = 0;
    std::uint64_t bytes = 0;
};

// Tensor count and bytes per dtype (for `nd inspect`), in nd_dtype order.
std::map<nd_dtype, DtypeUsage> dtype_usage(const WeightSet& weights);

} // namespace nd::model_files
