// Where the CLIP BPE vocabulary comes from. Single-file checkpoints carry none, so it is searched for, first
// match wins:
//   1. the model file itself (GGUF metadata `tokenizer.ggml.tokens` / `tokenizer.ggml.merges`, the llama.cpp
//      convention; the GGUF loader passes it in as `embedded`);
//   2. a diffusers folder's `tokenizer/` (vocab.json + merges.txt);
//   3. the directory the caller names (`--tokenizer DIR`);
//   4. the cache folder: $ND_CACHE_DIR/tokenizers/<name>/, else $XDG_CACHE_HOME/nativediffusion/tokenizers/<name>/,
//      else ~/.cache/nativediffusion/tokenizers/<name>/ (<name> = clip-vit-large-patch14: SD 1.x's CLIP;
//      the OpenCLIP encoders of SD 2.x and SDXL use the same BPE files).
// A model's own vocabulary comes first because it belongs to that model; the caller's directory and the cache
// are for files that have none.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nd::model_files {

inline constexpr std::string_view kDefaultTokenizerName = "clip-vit-large-patch14";

enum class TokenizerSource { ModelFile, DiffusersFolder, ExplicitDirectory, Cache };

// "model file", "diffusers folder", "tokenizer directory", "cache".
const char* tokenizer_source_name(TokenizerSource source) noexcept;

struct TokenizerVocab {
    TokenizerSource source = TokenizerSource::ModelFile;
    std::string location; // the folder (or model file) it came from
    // From a folder: the files as shipped.
    std::string vocab_json;  // {"token": id, ...}
    std::string merges_text; // "#version..." then one "a b" merge per line
    // From GGUF metadata: tokens in id order and merges ("a b").
    std::vector<std::string> tokens;
    std::vector<std::string> merges;
};

// Reads an environment variable; nullopt when unset or empty. Tests pass their own.
using EnvLookup = std::function<std::optional<std::string>(const char* name)>;

// The process environment.
std::optional<std::string> process_env(const char* name);

// The cache folder for tokenizer `name` (step 4 above). Throws Error(ND_STATUS_NOT_FOUND) when neither
// ND_CACHE_DIR, XDG_CACHE_HOME nor HOME is set.
std::filesystem::path tokenizer_cache_dir(std::string_view name, const EnvLookup& env = process_env);

struct TokenizerSearch {
    std::optional<TokenizerVocab> embedded;   // 1
    std::filesystem::path diffusers_folder;   // 2: the pipeline folder (its tokenizer/ is looked in); may be empty
    std::filesystem::path explicit_directory; // 3: may be empty
    std::string name = std::string(kDefaultTokenizerName);
    EnvLookup env = process_env; // 4
};

// The first vocabulary found. Throws Error(ND_STATUS_NOT_FOUND) listing every place looked in and how to
// provide one (`nd tokenizer fetch`, `--tokenizer DIR`); Error(ND_STATUS_IO_ERROR) for a file that exists but
// cannot be read.
TokenizerVocab find_tokenizer_vocab(const TokenizerSearch& search);

} // namespace nd::model_files
