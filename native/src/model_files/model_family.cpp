#include "model_files/model_family.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <utility>

#include "core/dtype.hpp"
#include "core/error.hpp"

namespace nd::model_files {
namespace {

constexpr std::string_view kUnet = "model.diffusion_model.";
constexpr std::string_view kVae = "first_stage_model.";

struct KnownEncoder {
    std::string_view prefix;
    TextEncoderKind kind;
};

constexpr std::array<KnownEncoder, 5> kKnownEncoders{{
    {"cond_stage_model.transformer.", TextEncoderKind::ClipL},
    {"cond_stage_model.model.", TextEncoderKind::OpenClip},
    {"conditioner.embedders.0.transformer.", TextEncoderKind::ClipL},
    {"conditioner.embedders.0.model.", TextEncoderKind::OpenClip},
    {"conditioner.embedders.1.model.", TextEncoderKind::OpenClip},
}};

bool has_prefix(const WeightSet& weights, std::string_view prefix) {
    const auto& all = weights.all();
    auto it = all.lower_bound(prefix);
    return it != all.end() && std::string_view(it->first).starts_with(prefix);
}

// "first_stage_model (248), model.diffusion_model (686)": the first two name components, for messages.
std::string describe_prefixes(const WeightSet& weights) {
    std::map<std::string, std::size_t> counts;
    for (const auto& [name, tensor] : weights.all()) {
        std::size_t dot = name.find('.');
        if (dot != std::string::npos && (name.starts_with("model.") || name.starts_with("cond_stage_model.") ||
                                         name.starts_with("conditioner."))) {
            dot = name.find('.', dot + 1);
        }
        ++counts[name.substr(0, dot)];
    }
    std::string text;
    std::size_t listed = 0;
    for (const auto& [prefix, count] : counts) {
        if (listed++ == 8) {
            text += ", ...";
            break;
        }
        text += text.empty() ? "" : ", ";
        text += prefix + " (" + std::to_string(count) + ")";
    }
    return text.empty() ? "no weights at all" : "weights under " + text;
}

template <typename... Args>
[[noreturn]] void unsupported(core::FormatString<std::type_identity_t<Args>...> text, const Args&... args) {
    core::throw_error(ND_STATUS_UNSUPPORTED, text, args...);
}

bool has_encoder(const ModelComponents& components, std::string_view prefix) {
    return std::any_of(components.text_encoders.begin(), components.text_encoders.end(),
                       [&](const TextEncoderInfo& info) { return info.prefix == prefix; });
}

std::string encoder_list(const ModelComponents& components) {
    std::string text;
    for (const TextEncoderInfo& info : components.text_encoders) {
        text += text.empty() ? "" : ", ";
        text += info.prefix + "*";
    }
    return text.empty() ? "none" : text;
}

std::string lower(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

} // namespace

const char* model_family_name(ModelFamily family) noexcept {
    switch (family) {
    case ModelFamily::Sd1:
        return "SD 1.x";
    case ModelFamily::Sd2:
        return "SD 2.x";
    case ModelFamily::SdxlBase:
        return "SDXL base";
    case ModelFamily::SdxlRefiner:
        return "SDXL refiner";
    }
    return "?";
}

ModelComponents find_components(const WeightSet& weights) {
    ModelComponents components;
    components.unet = has_prefix(weights, kUnet);
    components.vae = has_prefix(weights, kVae);
    for (const KnownEncoder& known : kKnownEncoders) {
        const std::size_t count = weights.names_with_prefix(known.prefix).size();
        if (count > 0) {
            components.text_encoders.push_back({std::string(known.prefix), known.kind, count});
        }
    }
    return components;
}

ModelFamily detect_model_family(const WeightSet& weights) {
    const core::Tensor* conv_in = weights.find("model.diffusion_model.input_blocks.0.0.weight");
    if (conv_in == nullptr) {
        unsupported("unsupported model: no UNet (no 'model.diffusion_model.input_blocks.0.0.weight'); found {}",
                    describe_prefixes(weights));
    }
    if (conv_in->rank() != 4) {
        unsupported("unsupported model: the UNet's first convolution has shape {}, not [C, 4, 3, 3]",
                    conv_in->shape().to_string());
    }
    switch (const std::int64_t in_channels = conv_in->dim(1)) {
    case 4:
        break;
    case 9:
        unsupported("unsupported model: an inpainting UNet (9 input channels)");
    case 8:
        unsupported("unsupported model: an instruct-pix2pix UNet (8 input channels)");
    case 5:
        unsupported("unsupported model: a depth-conditioned UNet (5 input channels)");
    default:
        unsupported("unsupported model: a UNet with {} input channels (Stable Diffusion takes 4)", in_channels);
    }

    // Text-encoder weights outside the known layouts mean a model this engine does not know.
    for (std::string_view root : {"cond_stage_model.", "conditioner."}) {
        for (const std::string& name : weights.names_with_prefix(root)) {
            const bool known = std::any_of(kKnownEncoders.begin(), kKnownEncoders.end(),
                                           [&](const KnownEncoder& k) { return name.starts_with(k.prefix); });
            if (!known) {
                unsupported("unsupported model: unknown text encoder (weight '{}')", name);
            }
        }
    }

    const ModelComponents components = find_components(weights);
    const bool clip_l = has_encoder(components, "cond_stage_model.transformer.");
    const bool open_clip = has_encoder(components, "cond_stage_model.model.");
    const bool xl_clip_l = has_encoder(components, "conditioner.embedders.0.transformer.");
    const bool xl_open_clip_0 = has_encoder(components, "conditioner.embedders.0.model.");
    const bool xl_open_clip_1 = has_encoder(components, "conditioner.embedders.1.model.");
    const bool any_sd = clip_l || open_clip;
    const bool any_xl = xl_clip_l || xl_open_clip_0 || xl_open_clip_1;

    if (const core::Tensor* label_emb = weights.find("model.diffusion_model.label_emb.0.0.weight")) {
        if (any_sd) {
            unsupported("unsupported model: a UNet with class conditioning (label_emb) and SD 1.x/2.x text "
                        "encoders ({}), e.g. SD 2.x unCLIP",
                        encoder_list(components));
        }
        if (xl_clip_l && xl_open_clip_1 && !xl_open_clip_0) {
            return ModelFamily::SdxlBase;
        }
        if (xl_open_clip_0 && !xl_clip_l && !xl_open_clip_1) {
            return ModelFamily::SdxlRefiner;
        }
        if (!any_xl && label_emb->rank() == 2) {
            if (label_emb->dim(1) == 2816) {
                return ModelFamily::SdxlBase;
            }
            if (label_emb->dim(1) == 2560) {
                return ModelFamily::SdxlRefiner;
            }
        }
        unsupported("unsupported model: an SDXL-style UNet (label_emb {}) with text encoders {}",
                    label_emb->shape().to_string(), encoder_list(components));
    }
    if (any_xl) {
        unsupported("unsupported model: SDXL text encoders ({}) without SDXL's UNet conditioning (label_emb)",
                    encoder_list(components));
    }
    if (clip_l && open_clip) {
        unsupported("unsupported model: two SD text encoders ({})", encoder_list(components));
    }
    if (clip_l) {
        return ModelFamily::Sd1;
    }
    if (open_clip) {
        return ModelFamily::Sd2;
    }
    // No text encoder: SD 2.x projects into and out of its transformers with linear layers, SD 1.x with 1x1
    // convolutions.
    for (const std::string& name : weights.names_with_prefix("model.diffusion_model.")) {
        if (name.ends_with(".proj_in.weight")) {
            const int rank = weights.find(name)->rank();
            if (rank == 4) {
                return ModelFamily::Sd1;
            }
            if (rank == 2) {
                return ModelFamily::Sd2;
            }
        }
    }
    unsupported("unsupported model: a UNet without text encoder or attention projections to tell its family; "
                "found {}",
                describe_prefixes(weights));
}

const char* prediction_type_name(PredictionType type) noexcept {
    return type == PredictionType::V ? "v" : "epsilon";
}

std::optional<PredictionType> parse_prediction_type(std::string_view text) noexcept {
    std::string value;
    try {
        value = lower(text);
    } catch (...) {
        return std::nullopt;
    }
    if (value == "epsilon" || value == "eps") {
        return PredictionType::Epsilon;
    }
    if (value == "v" || value == "v_prediction" || value == "v-prediction") {
        return PredictionType::V;
    }
    return std::nullopt;
}

const char* prediction_source_name(PredictionSource source) noexcept {
    switch (source) {
    case PredictionSource::Override:
        return "override";
    case PredictionSource::Metadata:
        return "file metadata";
    case PredictionSource::MarkerKey:
        return "v_pred key";
    case PredictionSource::SchedulerConfig:
        return "scheduler config";
    case PredictionSource::Default:
        return "default";
    }
    return "?";
}

Prediction choose_prediction(const WeightSet& weights, const std::map<std::string, std::string>& metadata,
                             const std::optional<std::string>& scheduler_prediction,
                             std::optional<PredictionType> override_type) {
    if (override_type) {
        return {*override_type, PredictionSource::Override};
    }
    for (const char* key : {"modelspec.prediction_type", "prediction_type"}) {
        auto it = metadata.find(key);
        if (it != metadata.end()) {
            if (auto type = parse_prediction_type(it->second)) {
                return {*type, PredictionSource::Metadata};
            }
        }
    }
    if (weights.contains("v_pred")) {
        return {PredictionType::V, PredictionSource::MarkerKey};
    }
    if (scheduler_prediction) {
        if (auto type = parse_prediction_type(*scheduler_prediction)) {
            return {*type, PredictionSource::SchedulerConfig};
        }
    }
    return {PredictionType::Epsilon, PredictionSource::Default};
}

std::map<nd_dtype, DtypeUsage> dtype_usage(const WeightSet& weights) {
    std::map<nd_dtype, DtypeUsage> usage;
    for (const auto& [name, tensor] : weights.all()) {
        DtypeUsage& entry = usage[tensor.dtype()];
        ++entry.tensors;
        entry.bytes += tensor.packed_bytes();
    }
    return usage;
}

} // namespace nd::model_files
