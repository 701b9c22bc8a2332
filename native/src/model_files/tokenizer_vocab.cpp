#include "model_files/tokenizer_vocab.hpp"

#include <cstdlib>

#include "core/error.hpp"
#include "model_files/json_file.hpp"

namespace nd::model_files {
namespace {

namespace fs = std::filesystem;

bool has_vocab_files(const fs::path& dir) {
    return fs::is_regular_file(dir / "vocab.json") && fs::is_regular_file(dir / "merges.txt");
}

TokenizerVocab read_folder(const fs::path& dir, TokenizerSource source) {
    TokenizerVocab vocab;
    vocab.source = source;
    vocab.location = dir.string();
    vocab.vocab_json = read_text_file(dir / "vocab.json");
    vocab.merges_text = read_text_file(dir / "merges.txt");
    return vocab;
}

} // namespace

const char* tokenizer_source_name(TokenizerSource source) noexcept {
    switch (source) {
    case TokenizerSource::ModelFile:
        return "model file";
    case TokenizerSource::DiffusersFolder:
        return "diffusers folder";
    case TokenizerSource::ExplicitDirectory:
        return "tokenizer directory";
    case TokenizerSource::Cache:
        return "cache";
    }
    return "?";
}

std::optional<std::string> process_env(const char* name) {
    const char* value = std::getenv(name);
    if (value == nullptr || *value == '\0') {
        return std::nullopt;
    }
    return std::string(value);
}

fs::path tokenizer_cache_dir(std::string_view name, const EnvLookup& env) {
    const std::string leaf(name);
    if (auto root = env("ND_CACHE_DIR")) {
        return fs::path(*root) / "tokenizers" / leaf;
    }
    if (auto xdg = env("XDG_CACHE_HOME")) {
        return fs::path(*xdg) / "nativediffusion" / "tokenizers" / leaf;
    }
    if (auto home = env("HOME")) {
        return fs::path(*home) / ".cache" / "nativediffusion" / "tokenizers" / leaf;
    }
    core::throw_error(ND_STATUS_NOT_FOUND,
                      "no cache folder for the tokenizer: set ND_CACHE_DIR, XDG_CACHE_HOME or HOME");
}

TokenizerVocab find_tokenizer_vocab(const TokenizerSearch& search) {
    if (search.embedded) {
        return *search.embedded;
    }
    std::string looked = "the model file (no tokenizer metadata)";
    if (!search.diffusers_folder.empty()) {
        const fs::path dir = search.diffusers_folder / "tokenizer";
        if (has_vocab_files(dir)) {
            return read_folder(dir, TokenizerSource::DiffusersFolder);
        }
        looked += ", " + dir.string();
    }
    if (!search.explicit_directory.empty()) {
        if (has_vocab_files(search.explicit_directory)) {
            return read_folder(search.explicit_directory, TokenizerSource::ExplicitDirectory);
        }
        looked += ", " + search.explicit_directory.string();
    }
    try {
        const fs::path cache = tokenizer_cache_dir(search.name, search.env);
        if (has_vocab_files(cache)) {
            return read_folder(cache, TokenizerSource::Cache);
        }
        looked += ", " + cache.string();
    } catch (const core::Error& error) {
        looked += std::string(", no cache folder (") + std::string(error.message()) + ")";
    }
    core::throw_error(ND_STATUS_NOT_FOUND,
                      "no tokenizer vocabulary (vocab.json and merges.txt) found; looked in {}. Run "
                      "`nd tokenizer fetch` to put it in the cache, or pass `--tokenizer DIR` with a folder "
                      "holding vocab.json and merges.txt",
                      looked);
}

} // namespace nd::model_files
