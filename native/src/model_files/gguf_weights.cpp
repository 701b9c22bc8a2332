#include "model_files/gguf_weights.hpp"

#include <memory>
#include <sstream>
#include <type_traits>
#include <variant>

#include "core/error.hpp"
#include "formats/gguf.hpp"
#include "model_files/open_clip_names.hpp"
#include "model_files/single_file.hpp"

namespace nd::model_files {
namespace {

// A scalar or string value as text; nullopt for arrays (vocabularies are large and not metadata to show).
std::optional<std::string> value_text(const formats::GgufValue& value) {
    return std::visit(
        [](const auto& v) -> std::optional<std::string> {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, std::string>) {
                return v;
            } else if constexpr (std::is_same_v<T, formats::GgufArray>) {
                return std::nullopt;
            } else if constexpr (std::is_same_v<T, bool>) {
                return std::string(v ? "true" : "false");
            } else if constexpr (std::is_floating_point_v<T>) {
                std::ostringstream text;
                text << v;
                return text.str();
            } else {
                return std::to_string(v);
            }
        },
        value);
}

} // namespace

GgufModelFile load_gguf_model(const std::string& path) {
    auto file = std::make_shared<const formats::GgufFile>(formats::GgufFile::open(path));
    GgufModelFile model;
    try {
        for (const formats::GgufTensorInfo& info : file->tensors()) {
            if (is_dropped_on_load(info.name)) {
                continue;
            }
            model.weights.add(info.name, core::Tensor::borrow(file, file->tensor_data(info), info.dtype,
                                                              core::Shape::of(info.shape)));
        }
        canonicalize_sdcpp_text_encoders(model.weights);
        for (const formats::GgufKeyValue& entry : file->metadata()) {
            if (auto text = value_text(entry.value)) {
                model.metadata.emplace(entry.key, std::move(*text));
            }
        }
        const std::vector<std::string>* tokens = file->header().find_string_array("tokenizer.ggml.tokens");
        const std::vector<std::string>* merges = file->header().find_string_array("tokenizer.ggml.merges");
        if (tokens != nullptr && merges != nullptr && !tokens->empty()) {
            TokenizerVocab vocab;
            vocab.source = TokenizerSource::ModelFile;
            vocab.location = path;
            vocab.tokens = *tokens;
            vocab.merges = *merges;
            model.tokenizer = std::move(vocab);
        }
    } catch (const core::Error& error) {
        throw core::with_context(error, path);
    }
    return model;
}

} // namespace nd::model_files
