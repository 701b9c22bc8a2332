#include "model_files/gguf_export.hpp"

#include <cstring>
#include <set>

#include "core/dtype.hpp"
#include "core/error.hpp"
#include "formats/gguf_writer.hpp"
#include "model_files/weight_conversion.hpp"
#include "model_files/weight_type.hpp"
#include "text/clip_tokenizer.hpp"

namespace nd::model_files {
namespace {

const char* modelspec_architecture(ModelFamily family) noexcept {
    switch (family) {
    case ModelFamily::Sd1: return "stable-diffusion-v1";
    case ModelFamily::Sd2: return "stable-diffusion-v2-512";
    case ModelFamily::SdxlBase: return "stable-diffusion-xl-v1-base";
    case ModelFamily::SdxlRefiner: return "stable-diffusion-xl-v1-refiner";
    }
    return "stable-diffusion-v1";
}

// The vocabulary in GGUF's form: tokens in id order and "a b" merges, checked by building a tokenizer.
void add_tokenizer(formats::GgufWriter& writer, const TokenizerVocab& vocab) {
    text::BpeFiles files{vocab.tokens, vocab.merges};
    if (files.tokens.empty()) {
        files = text::parse_vocab_and_merges(vocab.vocab_json, vocab.merges_text);
    }
    (void)text::ClipTokenizer::from_token_list(files.tokens, files.merges); // refuse to write a broken vocabulary
    writer.add_metadata("tokenizer.ggml.model", std::string("clip"));
    writer.add_metadata("tokenizer.ggml.tokens", formats::gguf_array(std::move(files.tokens)));
    writer.add_metadata("tokenizer.ggml.merges", formats::gguf_array(std::move(files.merges)));
}

// What a weight becomes in the file.
std::optional<nd_dtype> target_type(const std::string& name, const core::Tensor& tensor,
                                    const GgufExportOptions& options) {
    if (!options.weight_type) {
        return std::nullopt;
    }
    const nd_dtype stored = tensor.dtype();
    if (stored != ND_DTYPE_F32 && stored != ND_DTYPE_F16 && stored != ND_DTYPE_BF16) {
        return std::nullopt; // integers and already-quantized weights stay as they are
    }
    auto chosen = choose_weight_type(name, tensor.shape(), *options.weight_type);
    if (chosen && options.portable && tensor.rank() == 4 && core::dtype_is_quantized(*chosen)) {
        chosen = ND_DTYPE_F16;
    }
    if (chosen && *chosen == stored) {
        return std::nullopt;
    }
    return chosen;
}

} // namespace

void export_gguf(const LoadedModelFiles& model, const std::filesystem::path& path, const GgufExportOptions& options) {
    if (options.weight_type && !is_weight_type(*options.weight_type)) {
        core::throw_error(ND_STATUS_INVALID_ARGUMENT, "{} is not a weight type",
                          core::dtype_name(*options.weight_type));
    }
    formats::GgufWriter writer(path.string());
    writer.add_metadata("modelspec.architecture", std::string(modelspec_architecture(model.family)));
    writer.add_metadata("modelspec.prediction_type", std::string(prediction_type_name(model.prediction.type)));
    writer.add_metadata("nd.model_family", std::string(model_family_name(model.family)));
    const std::set<std::string, std::less<>> written = {"modelspec.architecture", "modelspec.prediction_type",
                                                        "nd.model_family", "general.alignment"};
    for (const auto& [key, value] : model.metadata) {
        if (!written.contains(key) && !key.starts_with("tokenizer.")) {
            writer.add_metadata(key, value);
        }
    }
    if (model.tokenizer) {
        add_tokenizer(writer, *model.tokenizer);
    }

    // Declarations first (the header holds every offset), with the shapes conversion will give.
    struct Planned {
        const std::string* name;
        const core::Tensor* tensor;
        std::optional<nd_dtype> target;
    };
    std::vector<Planned> planned;
    for (const auto& [name, tensor] : model.weights.all()) {
        if (!tensor.is_contiguous()) {
            core::throw_error(ND_STATUS_INTERNAL_ERROR, "weight '{}' is a strided view; cannot write it", name);
        }
        const auto target = target_type(name, tensor, options);
        nd_dtype dtype = tensor.dtype();
        std::vector<std::int64_t> shape(tensor.shape().extents().begin(), tensor.shape().extents().end());
        if (target) {
            dtype = *target;
            if (core::dtype_is_quantized(dtype) && shape.size() == 4) {
                shape = {shape[0], shape[1] * shape[2] * shape[3]};
            }
        }
        writer.add_tensor(name, dtype, std::move(shape));
        planned.push_back({&name, &tensor, target});
    }

    const auto total = static_cast<std::uint64_t>(planned.size());
    std::uint64_t done = 0;
    for (const Planned& item : planned) {
        if (options.cancelled && options.cancelled()) {
            core::throw_error(ND_STATUS_CANCELLED, "conversion to {} cancelled after {} of {} tensors",
                              path.string(), done, total);
        }
        if (item.target) {
            const core::Tensor converted = convert_weight(*item.tensor, *item.target);
            writer.write_tensor(*item.name, {converted.data(), converted.packed_bytes()});
        } else {
            writer.write_tensor(*item.name, {item.tensor->data(), item.tensor->packed_bytes()});
        }
        ++done;
        if (options.progress) {
            options.progress(done, total, *item.name);
        }
    }
    writer.finish();
}

} // namespace nd::model_files
