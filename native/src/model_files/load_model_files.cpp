#include "model_files/load_model_files.hpp"

#include <array>
#include <fstream>

#include "core/dtype.hpp"
#include "core/error.hpp"
#include "model_files/diffusers_folder.hpp"
#include "model_files/single_file.hpp"
#include "model_files/vae_file.hpp"
#include "model_files/weight_type.hpp"

namespace nd::model_files {
namespace {

namespace fs = std::filesystem;

enum class FileKind { Safetensors, Gguf, Pickle };

// By content, not by extension: users rename files.
FileKind sniff(const fs::path& path) {
    std::ifstream stream(path, std::ios::binary);
    if (!stream) {
        core::throw_error(ND_STATUS_IO_ERROR, "{}: cannot open the file", path.string());
    }
    std::array<char, 4> magic{};
    stream.read(magic.data(), magic.size());
    if (stream.gcount() == 4 && std::string_view(magic.data(), 4) == "GGUF") {
        return FileKind::Gguf;
    }
    // A pickle starts with the PROTO opcode (0x80); PyTorch's zip container with "PK\3\4".
    if (stream.gcount() >= 1 && static_cast<unsigned char>(magic[0]) == 0x80) {
        return FileKind::Pickle;
    }
    if (stream.gcount() == 4 && std::string_view(magic.data(), 4) == std::string_view("PK\3\4", 4)) {
        return FileKind::Pickle;
    }
    return FileKind::Safetensors;
}

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
    if (fs::is_directory(options.path)) {
        if (!is_diffusers_folder(options.path)) {
            core::throw_error(ND_STATUS_NOT_FOUND,
                              "{}: a folder must be a diffusers pipeline (with model_index.json)",
                              options.path.string());
        }
        DiffusersModel model = load_diffusers_folder(options.path, options.variant);
        loaded.layout = ModelLayout::Diffusers;
        loaded.weights = std::move(model.weights);
        scheduler_prediction = std::move(model.prediction_type);
        diffusers_folder = options.path;
    } else {
        switch (sniff(options.path)) {
        case FileKind::Pickle:
            core::throw_error(ND_STATUS_UNSUPPORTED,
                              "{}: a PyTorch pickle (.ckpt/.pt/.bin); pickles can run code when loaded, so they "
                              "are not read: convert it to safetensors",
                              options.path.string());
        case FileKind::Gguf:
            core::throw_error(ND_STATUS_UNSUPPORTED, "{}: GGUF model files are not supported by this build yet",
                              options.path.string());
        case FileKind::Safetensors:
            break;
        }
        SingleFileCheckpoint checkpoint = load_single_file(options.path.string());
        loaded.layout = ModelLayout::SingleFile;
        loaded.weights = std::move(checkpoint.weights);
        loaded.metadata = std::move(checkpoint.metadata);
    }

    if (!options.vae_path.empty()) {
        replace_vae(loaded.weights, load_vae_file(options.vae_path, options.variant));
    }

    loaded.family = detect_model_family(loaded.weights);
    loaded.components = find_components(loaded.weights);
    loaded.prediction =
        choose_prediction(loaded.weights, loaded.metadata, scheduler_prediction, options.prediction_override);

    if (options.weight_type) {
        loaded.conversion = convert_weights(loaded.weights, *options.weight_type);
    }
    loaded.dtypes = dtype_usage(loaded.weights);

    TokenizerSearch search;
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
