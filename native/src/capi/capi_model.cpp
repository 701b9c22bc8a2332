// Models through the C ABI: loading, description, weights.
#include <filesystem>

#include "capi/boundary.hpp"
#include "capi/context.hpp"
#include "capi/model.hpp"
#include "capi/versioned_struct.hpp"
#include "core/dtype.hpp"
#include "native_diffusion.h"

namespace {

nd_model_params default_model_params() noexcept {
    nd_model_params params{};
    params.struct_size = sizeof(params);
    params.path = nullptr;
    params.vae_path = nullptr;
    params.tokenizer_path = nullptr;
    params.weight_type = ND_WEIGHT_TYPE_AS_STORED;
    params.prediction = ND_PREDICTION_TYPE_AUTO;
    params.threads = 0;
    params.backends = 0;
    params.for_generation = 1;
    return params;
}

nd_model_family to_c(nd::model_files::ModelFamily family) noexcept {
    switch (family) {
    case nd::model_files::ModelFamily::Sd1: return ND_MODEL_FAMILY_SD1;
    case nd::model_files::ModelFamily::Sd2: return ND_MODEL_FAMILY_SD2;
    case nd::model_files::ModelFamily::SdxlBase: return ND_MODEL_FAMILY_SDXL;
    case nd::model_files::ModelFamily::SdxlRefiner: return ND_MODEL_FAMILY_SDXL_REFINER;
    }
    return ND_MODEL_FAMILY_SD1;
}

nd::model_files::LoadOptions load_options(const nd_model_params& params) {
    nd::capi::require_non_null(params.path, "params->path");
    nd::model_files::LoadOptions options;
    options.path = std::filesystem::path(params.path);
    if (params.vae_path != nullptr && *params.vae_path != '\0') {
        options.vae_path = std::filesystem::path(params.vae_path);
    }
    if (params.tokenizer_path != nullptr && *params.tokenizer_path != '\0') {
        options.tokenizer_directory = std::filesystem::path(params.tokenizer_path);
    }
    switch (nd::capi::enum_value(params.prediction)) {
    case ND_PREDICTION_TYPE_AUTO: break;
    case ND_PREDICTION_TYPE_EPSILON: options.prediction_override = nd::model_files::PredictionType::Epsilon; break;
    case ND_PREDICTION_TYPE_V: options.prediction_override = nd::model_files::PredictionType::V; break;
    default:
        nd::core::throw_error(ND_STATUS_INVALID_ARGUMENT, "params->prediction {} is not an nd_prediction_type",
                              nd::capi::enum_value(params.prediction));
    }
    if (params.weight_type != ND_WEIGHT_TYPE_AS_STORED) {
        if (params.weight_type < ND_DTYPE_F32 || params.weight_type > ND_DTYPE_Q8_K) {
            nd::core::throw_error(ND_STATUS_INVALID_ARGUMENT, "params->weight_type {} is not an nd_dtype",
                                  params.weight_type);
        }
        options.weight_type = static_cast<nd_dtype>(params.weight_type);
    }
    if ((params.backends & ~static_cast<uint32_t>(ND_BACKEND_FLAGS_CPU)) != 0) {
        nd::core::throw_error(ND_STATUS_UNSUPPORTED,
                              "params->backends asks for a backend this build lacks (only the CPU is built)");
    }
    return options;
}

void describe_tensors(nd_model& model) {
    for (const auto& [name, tensor] : model.loaded().weights.all()) {
        nd_model::TensorRecord record;
        record.name = name;
        record.dtype = tensor.dtype();
        const auto extents = tensor.shape().extents();
        record.shape.assign(extents.begin(), extents.end());
        record.elements = static_cast<std::uint64_t>(tensor.elements());
        record.bytes = tensor.packed_bytes();
        model.weight_bytes += record.bytes;
        model.tensors.push_back(std::move(record));
    }
}

} // namespace

extern "C" {

nd_status nd_model_params_init(nd_model_params* params) {
    return nd::capi::guarded(__func__, [&] {
        nd::capi::require_struct(params, "params");
        nd::capi::write_versioned(params, default_model_params());
    });
}

nd_status nd_model_load(nd_context* context, const nd_model_params* params, nd_model** out_model) {
    return nd::capi::guarded(__func__, [&] {
        nd::capi::require_non_null(out_model, "out_model");
        *out_model = nullptr;
        nd::capi::require_struct(params, "params");
        nd_model_params taken = default_model_params();
        nd::capi::take_if_present(*params, taken, &nd_model_params::path);
        nd::capi::take_if_present(*params, taken, &nd_model_params::vae_path);
        nd::capi::take_if_present(*params, taken, &nd_model_params::tokenizer_path);
        nd::capi::take_if_present(*params, taken, &nd_model_params::weight_type);
        nd::capi::take_if_present(*params, taken, &nd_model_params::prediction);
        nd::capi::take_if_present(*params, taken, &nd_model_params::threads);
        nd::capi::take_if_present(*params, taken, &nd_model_params::backends);
        nd::capi::take_if_present(*params, taken, &nd_model_params::for_generation);
        const auto options = load_options(taken);

        auto model = std::make_unique<nd_model>();
        if (context != nullptr) {
            model->logger = context->logger;
        }
        model->logger.log(ND_LOG_LEVEL_INFO, "loading model '{}'", taken.path);
        auto files = std::make_unique<nd::model_files::LoadedModelFiles>(nd::model_files::load_model_files(options));
        model->tokenizer_source = files->tokenizer ? nd::model_files::tokenizer_source_name(files->tokenizer->source) : "";
        model->pipeline_options.threads = static_cast<int>(taken.threads);
        if (taken.for_generation != 0) {
            model->pipeline = std::make_unique<nd::pipeline::StableDiffusion>(std::move(*files),
                                                                              model->pipeline_options);
        } else {
            model->files = std::move(files);
        }
        describe_tensors(*model);
        const auto& loaded = model->loaded();
        model->logger.log(ND_LOG_LEVEL_INFO, "loaded {} ({}): {} weights, {} bytes, {} prediction ({})",
                          nd::model_files::model_family_name(loaded.family),
                          nd::model_files::model_layout_name(loaded.layout), model->tensors.size(),
                          model->weight_bytes, nd::model_files::prediction_type_name(loaded.prediction.type),
                          nd::model_files::prediction_source_name(loaded.prediction.source));
        *out_model = model.release(); // ownership passes to the caller until nd_model_free
    });
}

void nd_model_free(nd_model* model) {
    delete model;
}

nd_status nd_model_get_info(const nd_model* model, nd_model_info* out) {
    return nd::capi::guarded(__func__, [&] {
        nd::capi::require_non_null(model, "model");
        nd::capi::require_struct(out, "out");
        const auto& loaded = model->loaded();
        nd_model_info info{};
        info.struct_size = sizeof(info);
        info.family = to_c(loaded.family);
        info.family_name = nd::model_files::model_family_name(loaded.family);
        info.layout = nd::model_files::model_layout_name(loaded.layout);
        info.prediction = loaded.prediction.type == nd::model_files::PredictionType::V ? ND_PREDICTION_TYPE_V
                                                                                       : ND_PREDICTION_TYPE_EPSILON;
        info.prediction_source = nd::model_files::prediction_source_name(loaded.prediction.source);
        uint32_t components = 0;
        if (loaded.components.unet) {
            components |= ND_MODEL_COMPONENT_FLAGS_UNET;
        }
        if (loaded.components.vae) {
            components |= ND_MODEL_COMPONENT_FLAGS_VAE;
        }
        if (!loaded.components.text_encoders.empty()) {
            components |= ND_MODEL_COMPONENT_FLAGS_TEXT_ENCODER;
        }
        if (loaded.components.text_encoders.size() > 1) {
            components |= ND_MODEL_COMPONENT_FLAGS_TEXT_ENCODER_2;
        }
        if (loaded.tokenizer) {
            components |= ND_MODEL_COMPONENT_FLAGS_TOKENIZER;
        }
        info.components = components;
        info.tokenizer_source = model->tokenizer_source.c_str();
        info.tensor_count = model->tensors.size();
        info.weight_bytes = model->weight_bytes;
        nd::capi::write_versioned(out, info);
    });
}

size_t nd_model_tensor_count(const nd_model* model) {
    return model != nullptr ? model->tensors.size() : 0;
}

nd_status nd_model_tensor(const nd_model* model, size_t index, nd_tensor_info* out) {
    return nd::capi::guarded(__func__, [&] {
        nd::capi::require_non_null(model, "model");
        nd::capi::require_struct(out, "out");
        if (index >= model->tensors.size()) {
            nd::core::throw_error(ND_STATUS_NOT_FOUND, "index {} is out of range: the model has {} weights", index,
                                  model->tensors.size());
        }
        const auto& record = model->tensors[index];
        nd_tensor_info info{};
        info.struct_size = sizeof(info);
        info.name = record.name.c_str();
        info.dtype = record.dtype;
        info.n_dims = static_cast<uint32_t>(record.shape.size());
        info.shape = record.shape.empty() ? nullptr : record.shape.data();
        info.n_elements = record.elements;
        info.data_offset = 0;
        info.data_size = record.bytes;
        nd::capi::write_versioned(out, info);
    });
}

} // extern "C"
