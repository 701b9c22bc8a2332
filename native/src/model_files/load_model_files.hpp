// The one entry point that turns what a user has (a single-file checkpoint, a diffusers folder, a GGUF file;
// optionally a separate VAE and a tokenizer folder) into canonical weights plus what the pipeline must know:
// the family, the prediction type, the components present, and the tokenizer vocabulary.
//
// Weights are borrowed from memory-mapped files, so loading costs page-table entries, not copies; the
// result keeps the mappings alive. With a weight type requested, weights convert one at a time into owned
// tensors (see weight_conversion.hpp), so memory never holds the model twice.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>

#include "model_files/diffusers_component.hpp"
#include "model_files/model_family.hpp"
#include "model_files/tokenizer_vocab.hpp"
#include "model_files/weight_conversion.hpp"
#include "model_files/weight_set.hpp"
#include "native_diffusion.h"

namespace nd::model_files {

enum class ModelLayout { SingleFile, Diffusers, Gguf };

// "single-file checkpoint", "diffusers folder", "GGUF".
const char* model_layout_name(ModelLayout layout) noexcept;

struct LoadOptions {
    std::filesystem::path path;                        // a .safetensors or .gguf file, or a diffusers folder
    std::filesystem::path vae_path;                    // optional: a separate VAE (see vae_file.hpp)
    std::filesystem::path tokenizer_directory;         // optional: vocab.json + merges.txt
    std::optional<PredictionType> prediction_override; // wins over anything the files say
    std::optional<nd_dtype> weight_type;               // optional: convert weights on load
    int conversion_threads = 0;                        // for that conversion; 0 = the physical cores
    DiffusersVariant variant = DiffusersVariant::Auto;
    EnvLookup env = process_env;                       // for the tokenizer cache folder
};

struct LoadedModelFiles {
    ModelLayout layout = ModelLayout::SingleFile;
    WeightSet weights; // canonical names; holds the file mappings
    ModelFamily family = ModelFamily::Sd1;
    Prediction prediction;
    ModelComponents components;
    std::map<nd_dtype, DtypeUsage> dtypes;        // after conversion
    std::map<std::string, std::string> metadata;  // the model file's metadata (safetensors __metadata__)
    std::optional<TokenizerVocab> tokenizer;      // nullopt when none was found:
    std::string tokenizer_missing;                //   then why, and where it was looked for
    ConversionSummary conversion;                 // zero when no weight type was requested
};

// Loads, recognises and (optionally) converts. The kind of `path` is read from its content
// (formats/file_kind.hpp), never its extension. Throws nd::core::Error: ND_STATUS_IO_ERROR (unreadable path),
// ND_STATUS_INVALID_FORMAT (malformed file, mismatched VAE), ND_STATUS_UNSUPPORTED ("unsupported model: ...";
// PyTorch pickles; a folder without model_index.json; an unrecognised file), ND_STATUS_NOT_FOUND (a
// diffusers component without weights), ND_STATUS_INVALID_ARGUMENT (a weight type that is not one). A missing tokenizer is not an error here: the pipeline decides when it needs one.
LoadedModelFiles load_model_files(const LoadOptions& options);

} // namespace nd::model_files
