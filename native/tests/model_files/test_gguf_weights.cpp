#include "model_files/gguf_weights.hpp"

#include <gtest/gtest.h>

#include <cstring>

#include "formats/gguf_writer.hpp"
#include "model_files/load_model_files.hpp"
#include "model_files/single_file.hpp"
#include "model_files/weight_conversion.hpp"
#include "support/fixtures.hpp"
#include "support/temp_dir.hpp"

namespace nd::model_files {
namespace {

namespace fs = std::filesystem;

// Writes `weights` (and `metadata`) as a GGUF file, tensors in name order.
void write_gguf(const fs::path& path, const WeightSet& weights,
                std::vector<std::pair<std::string, formats::GgufValue>> metadata = {}) {
    formats::GgufWriter writer(path.string());
    for (auto& [key, value] : metadata) {
        writer.add_metadata(key, std::move(value));
    }
    for (const auto& [name, tensor] : weights.all()) {
        writer.add_tensor(name, tensor.dtype(),
                          std::vector<std::int64_t>(tensor.shape().extents().begin(), tensor.shape().extents().end()));
    }
    for (const auto& [name, tensor] : weights.all()) {
        const core::Tensor packed = tensor.contiguous();
        writer.write_tensor(name, std::span<const std::byte>(packed.data(), packed.packed_bytes()));
    }
    writer.finish();
}

bool same_bytes(const core::Tensor& a, const core::Tensor& b) {
    return a.packed_bytes() == b.packed_bytes() && std::memcmp(a.data(), b.data(), a.packed_bytes()) == 0;
}

TEST(GgufWeights, Fixture_as_gguf_loads_the_same_weights_borrowed_with_its_vocabulary) {
    const fs::path single = testing::fixtures_dir() / "tiny-sd1" / "model.safetensors";
    ND_SKIP_IF_FIXTURE_MISSING(single);
    SingleFileCheckpoint checkpoint = load_single_file(single.string());
    // One block-quantized weight, as a quantized GGUF would hold.
    const std::string fc1 = "cond_stage_model.transformer.text_model.encoder.layers.0.mlp.fc1.weight";
    checkpoint.weights.replace(fc1, convert_weight(checkpoint.weights.require(fc1), ND_DTYPE_Q8_0));
    testing::TempDir dir;
    const fs::path path = dir.path() / "tiny.gguf";
    write_gguf(path, checkpoint.weights,
               {{"general.name", formats::GgufValue(std::string("tiny"))},
                {"tokenizer.ggml.tokens", formats::gguf_array(std::vector<std::string>{"a</w>", "b</w>", "ab</w>"})},
                {"tokenizer.ggml.merges", formats::gguf_array(std::vector<std::string>{"a b</w>"})}});

    const GgufModelFile gguf = load_gguf_model(path.string());
    ASSERT_EQ(gguf.weights.size(), checkpoint.weights.size());
    for (const auto& [name, tensor] : checkpoint.weights.all()) {
        const core::Tensor* loaded = gguf.weights.find(name);
        ASSERT_NE(loaded, nullptr) << name;
        EXPECT_EQ(loaded->dtype(), tensor.dtype()) << name;
        EXPECT_EQ(loaded->shape(), tensor.shape()) << name;
        EXPECT_TRUE(same_bytes(*loaded, tensor)) << name;
        EXPECT_EQ(loaded->storage()->kind(), core::Storage::Kind::Borrowed) << name;
    }
    EXPECT_EQ(gguf.metadata.at("general.name"), "tiny");
    EXPECT_EQ(gguf.metadata.count("tokenizer.ggml.tokens"), 0u);
    ASSERT_TRUE(gguf.tokenizer.has_value());
    EXPECT_EQ(gguf.tokenizer->tokens.size(), 3u);
    EXPECT_EQ(gguf.tokenizer->merges.at(0), "a b</w>");

    LoadOptions options;
    options.path = path;
    options.env = [](const char*) -> std::optional<std::string> { return std::nullopt; };
    const LoadedModelFiles loaded = load_model_files(options);
    EXPECT_EQ(loaded.layout, ModelLayout::Gguf);
    EXPECT_EQ(loaded.family, ModelFamily::Sd1);
    EXPECT_EQ(loaded.dtypes.at(ND_DTYPE_Q8_0).tensors, 1u);
    ASSERT_TRUE(loaded.tokenizer.has_value());
    EXPECT_EQ(loaded.tokenizer->source, TokenizerSource::ModelFile);
}

TEST(GgufWeights, Scalar_metadata_becomes_text_and_can_set_the_prediction_type) {
    WeightSet weights;
    weights.add("model.diffusion_model.input_blocks.0.0.weight", core::Tensor::empty(ND_DTYPE_F16, {8, 4, 3, 3}));
    weights.add("model.diffusion_model.input_blocks.1.1.proj_in.weight", core::Tensor::empty(ND_DTYPE_F16, {8, 8}));
    testing::TempDir dir;
    const fs::path path = dir.path() / "m.gguf";
    write_gguf(path, weights,
               {{"modelspec.prediction_type", formats::GgufValue(std::string("v"))},
                {"general.file_type", formats::GgufValue(std::uint32_t{7})},
                {"general.flag", formats::GgufValue(true)}});
    const GgufModelFile gguf = load_gguf_model(path.string());
    EXPECT_EQ(gguf.metadata.at("general.file_type"), "7");
    EXPECT_EQ(gguf.metadata.at("general.flag"), "true");
    EXPECT_FALSE(gguf.tokenizer.has_value());

    LoadOptions options;
    options.path = path;
    options.env = [](const char*) -> std::optional<std::string> { return std::nullopt; };
    const LoadedModelFiles loaded = load_model_files(options);
    EXPECT_EQ(loaded.family, ModelFamily::Sd2); // linear attention projection, no text encoder
    EXPECT_EQ(loaded.prediction.type, PredictionType::V);
    EXPECT_EQ(loaded.prediction.source, PredictionSource::Metadata);
}

} // namespace
} // namespace nd::model_files
