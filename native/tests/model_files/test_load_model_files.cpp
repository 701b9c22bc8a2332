#include "model_files/load_model_files.hpp"

#include <gtest/gtest.h>

#include "core/error.hpp"
#include "support/fixtures.hpp"
#include "support/temp_dir.hpp"

namespace nd::model_files {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

fs::path tiny() {
    return testing::fixtures_dir() / "tiny-sd1";
}

// No cache folder anywhere the test machine might have one.
EnvLookup no_env() {
    return [](const char*) -> std::optional<std::string> { return std::nullopt; };
}

LoadOptions options_for(const fs::path& path) {
    LoadOptions options;
    options.path = path;
    options.env = no_env();
    return options;
}

nd_status load_status(const LoadOptions& options) {
    try {
        (void)load_model_files(options);
    } catch (const core::Error& error) {
        return error.status();
    }
    return ND_STATUS_OK;
}

TEST(LoadModelFiles, Single_file_fixture_is_sd1_epsilon_with_its_components_and_no_tokenizer) {
    ND_SKIP_IF_FIXTURE_MISSING(tiny() / "model.safetensors");
    const LoadedModelFiles loaded = load_model_files(options_for(tiny() / "model.safetensors"));
    EXPECT_EQ(loaded.layout, ModelLayout::SingleFile);
    EXPECT_EQ(loaded.family, ModelFamily::Sd1);
    EXPECT_EQ(loaded.prediction.type, PredictionType::Epsilon);
    EXPECT_EQ(loaded.prediction.source, PredictionSource::Default);
    EXPECT_TRUE(loaded.components.unet);
    EXPECT_TRUE(loaded.components.vae);
    EXPECT_EQ(loaded.components.text_encoders.size(), 1u);
    EXPECT_EQ(loaded.weights.size(), 980u);
    EXPECT_EQ(loaded.dtypes.at(ND_DTYPE_F16).tensors, 980u);
    EXPECT_EQ(loaded.metadata.at("format"), "pt");
    EXPECT_FALSE(loaded.tokenizer.has_value());
    EXPECT_NE(loaded.tokenizer_missing.find("nd tokenizer fetch"), std::string::npos) << loaded.tokenizer_missing;
    EXPECT_EQ(loaded.conversion.converted, 0u);
}

TEST(LoadModelFiles, Explicit_tokenizer_directory_is_used_for_a_single_file) {
    ND_SKIP_IF_FIXTURE_MISSING(tiny() / "model.safetensors");
    LoadOptions options = options_for(tiny() / "model.safetensors");
    options.tokenizer_directory = testing::fixtures_dir() / "tokenizer";
    const LoadedModelFiles loaded = load_model_files(options);
    ASSERT_TRUE(loaded.tokenizer.has_value());
    EXPECT_EQ(loaded.tokenizer->source, TokenizerSource::ExplicitDirectory);
}

TEST(LoadModelFiles, Diffusers_folder_brings_its_tokenizer_and_scheduler_prediction) {
    ND_SKIP_IF_FIXTURE_MISSING(tiny() / "diffusers" / "model_index.json");
    const LoadedModelFiles loaded = load_model_files(options_for(tiny() / "diffusers"));
    EXPECT_EQ(loaded.layout, ModelLayout::Diffusers);
    EXPECT_EQ(loaded.family, ModelFamily::Sd1);
    EXPECT_EQ(loaded.weights.size(), 980u);
    EXPECT_EQ(loaded.prediction.source, PredictionSource::SchedulerConfig);
    EXPECT_EQ(loaded.prediction.type, PredictionType::Epsilon);
    ASSERT_TRUE(loaded.tokenizer.has_value());
    EXPECT_EQ(loaded.tokenizer->source, TokenizerSource::DiffusersFolder);
}

TEST(LoadModelFiles, Prediction_override_wins) {
    ND_SKIP_IF_FIXTURE_MISSING(tiny() / "diffusers" / "model_index.json");
    LoadOptions options = options_for(tiny() / "diffusers");
    options.prediction_override = PredictionType::V;
    const LoadedModelFiles loaded = load_model_files(options);
    EXPECT_EQ(loaded.prediction.type, PredictionType::V);
    EXPECT_EQ(loaded.prediction.source, PredictionSource::Override);
}

TEST(LoadModelFiles, Q8_0_on_load_converts_large_linear_and_conv_weights_only) {
    ND_SKIP_IF_FIXTURE_MISSING(tiny() / "model.safetensors");
    LoadOptions options = options_for(tiny() / "model.safetensors");
    options.weight_type = ND_DTYPE_Q8_0;
    const LoadedModelFiles loaded = load_model_files(options);
    EXPECT_GT(loaded.conversion.converted, 0u);
    EXPECT_LT(loaded.conversion.bytes_after, loaded.conversion.bytes_before);
    EXPECT_EQ(loaded.dtypes.at(ND_DTYPE_Q8_0).tensors, loaded.conversion.converted);
    // A 3x3 convolution [64, 64, 3, 3] became its [64, 576] matrix; a text-encoder MLP weight stayed 2-D.
    EXPECT_EQ(loaded.weights.require("first_stage_model.decoder.conv_in.weight").dtype(), ND_DTYPE_F16); // row 36
    const core::Tensor& conv = loaded.weights.require("first_stage_model.decoder.mid.block_1.conv1.weight");
    EXPECT_EQ(conv.dtype(), ND_DTYPE_Q8_0);
    EXPECT_EQ(conv.shape(), core::Shape({64, 576}));
    EXPECT_EQ(loaded.weights.require("cond_stage_model.transformer.text_model.encoder.layers.0.mlp.fc1.weight").dtype(),
              ND_DTYPE_Q8_0);
    EXPECT_EQ(loaded.weights.require("cond_stage_model.transformer.text_model.embeddings.token_embedding.weight").dtype(),
              ND_DTYPE_F16);
    EXPECT_EQ(loaded.weights.require("model.diffusion_model.out.0.weight").dtype(), ND_DTYPE_F16);
}

TEST(LoadModelFiles, Separate_vae_is_applied) {
    ND_SKIP_IF_FIXTURE_MISSING(tiny() / "model.safetensors");
    LoadOptions options = options_for(tiny() / "model.safetensors");
    options.vae_path = tiny() / "diffusers" / "vae";
    const LoadedModelFiles loaded = load_model_files(options);
    // The diffusers VAE stores the mid attention as [C, C]; that it arrives as [C, C, 1, 1] shows it was used.
    const core::Tensor& q = loaded.weights.require("first_stage_model.encoder.mid.attn_1.q.weight");
    EXPECT_EQ(q.shape(), core::Shape({64, 64, 1, 1}));
    EXPECT_NE(q.storage()->data(), nullptr);
    EXPECT_EQ(loaded.weights.size(), 980u);
}

TEST(LoadModelFiles, Path_with_non_ascii_characters_loads) {
    ND_SKIP_IF_FIXTURE_MISSING(tiny() / "model.safetensors");
    TempDir dir;
    const fs::path folder = dir.path() / "Modèles ünd 模型";
    fs::create_directories(folder);
    fs::create_symlink(tiny() / "model.safetensors", folder / "тест.safetensors");
    const LoadedModelFiles loaded = load_model_files(options_for(folder / "тест.safetensors"));
    EXPECT_EQ(loaded.family, ModelFamily::Sd1);
    EXPECT_EQ(loaded.weights.size(), 980u);
}

TEST(LoadModelFiles, Pickles_are_refused) {
    TempDir dir;
    EXPECT_EQ(load_status(options_for(dir.write("model.ckpt", std::string("\x80\x02}q\x00.", 6)))),
              ND_STATUS_UNSUPPORTED);
    EXPECT_EQ(load_status(options_for(dir.write("model.pt", std::string("PK\3\4rest", 8)))), ND_STATUS_UNSUPPORTED);
}

TEST(LoadModelFiles, Folder_without_model_index_is_unsupported) {
    TempDir dir;
    EXPECT_EQ(load_status(options_for(dir.path())), ND_STATUS_UNSUPPORTED);
}

TEST(LoadModelFiles, Missing_file_is_an_io_error) {
    TempDir dir;
    EXPECT_EQ(load_status(options_for(dir.path() / "absent.safetensors")), ND_STATUS_IO_ERROR);
}

TEST(LoadModelFiles, Weight_type_that_is_not_one_is_an_invalid_argument) {
    LoadOptions options = options_for("unused");
    options.weight_type = ND_DTYPE_I8;
    EXPECT_EQ(load_status(options), ND_STATUS_INVALID_ARGUMENT);
}

} // namespace
} // namespace nd::model_files
