#include "model_files/load_model_files.hpp"

#include "core/dtype.hpp"
#include "core/error.hpp"
#include "formats/file_kind.hpp"
#include "model_files/canonical_shapes.hpp"
#include "model_files/diffusers_folder.hpp"
#include "model_files/gguf_weights.hpp"
#include "model_files/single_file.hpp"
#include "model_files/vae_file.hpp"
#include "model_files/weight_type.hpp"

namespace nd::model_files {
namespace {

namespace fs = std::filesystem;

} // namespace

const char* model_layout_name(ModelLayout layout) noexcept {
    switch (layout) {
    case ModelLayout::SingleFile:
        return "single-file checkpoint";
    case ModelLayout::Diffusers:
        return "diffusers folder";
    case ModelLayout::Gguf:
        return "GGUF";
    }
    return "?";
}

LoadedModelFiles load_model_files(const LoadOptions& options) {
    if (options.weight_type && !is_weight_type(*options.weight_type)) {
        core::throw_error(ND_STATUS_INVALID_ARGUMENT, "{} is not a weight type (F32, F16, BF16, Q8_0, Q4_0, ...)",
                          core::dtype_name(*options.weight_type));
    }
    LoadedModelFiles loaded;
    std::optional<std::string> scheduler_prediction;
    fs::path diffusers_folder;
    std::optional<TokenizerVocab> embedded_vocab;
    switch (formats::require_loadable_file_kind(options.path.string())) {
    case formats::FileKind::diffusers_folder: {
        DiffusersModel model = load_diffusers_folder(options.path, options.variant);
        loaded.layout = ModelLayout::Diffusers;
        loaded.weights = std::move(model.weights);
        scheduler_prediction = std::move(model.prediction_type);
        diffusers_folder = options.path;
        break;
    }
    case formats::FileKind::gguf: {
        GgufModelFile model = load_gguf_model(options.path.string());
        loaded.layout = ModelLayout::Gguf;
        loaded.weights = std::move(model.weights);
        loaded.metadata = std::move(model.metadata);
        embedded_vocab = std::move(model.tokenizer);
        break;
    }
    default: { // safetensors: the other kinds were refused above
        SingleFileCheckpoint checkpoint = load_single_file(options.path.string());
        loaded.layout = ModelLayout::SingleFile;
        loaded.weights = std::move(checkpoint.weights);
        loaded.metadata = std::move(checkpoint.metadata);
        break;
    }
    }

    if (!options.vae_path.empty()) {
        replace_vae(loaded.weights, load_vae_file(options.vae_path, options.variant));
    }

    loaded.family = detect_model_family(loaded.weights);
    canonicalize_unet_projection_shapes(loaded.weights, loaded.family);
    loaded.components = find_components(loaded.weights);
    loaded.prediction =
        choose_prediction(loaded.weights, loaded.metadata, scheduler_prediction, options.prediction_override);

    if (options.weight_type) {
        core::ThreadPool pool(options.conversion_threads);
        loaded.conversion = convert_weights(loaded.weights, *options.weight_type, &pool);
    }
    loaded.dtypes = dtype_usage(loaded.weights);

    TokenizerSearch search;
    search.embedded = std::move(embedded_vocab);
    search.diffusers_folder = diffusers_folder;
    search.explicit_directory = options.tokenizer_directory;
    search.env = options.env;
    try {
        loaded.tokenizer = find_tokenizer_vocab(search);
    } catch (const core::Error& error) {
        if (error.status() != ND_STATUS_NOT_FOUND) {
            throw;
        }
        loaded.tokenizer_missing = std::string(error.message());
    }
    return loaded;
}

} // namespace nd::model_files
