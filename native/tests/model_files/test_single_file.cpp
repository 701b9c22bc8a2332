#include "model_files/single_file.hpp"

#include <gtest/gtest.h>

#include "support/fixtures.hpp"
#include "support/safetensors_bytes.hpp"
#include "support/temp_dir.hpp"

namespace nd::model_files {
namespace {

TEST(SingleFile, Fixture_loads_borrowed_without_position_ids) {
    const auto path = testing::fixtures_dir() / "tiny-sd1" / "model.safetensors";
    ND_SKIP_IF_FIXTURE_MISSING(path);
    const SingleFileCheckpoint checkpoint = load_single_file(path.string());
    EXPECT_EQ(checkpoint.weights.size(), 980u);
    EXPECT_FALSE(checkpoint.weights.contains("cond_stage_model.transformer.text_model.embeddings.position_ids"));
    const core::Tensor& unet_in = checkpoint.weights.require("model.diffusion_model.input_blocks.0.0.weight");
    EXPECT_EQ(unet_in.dtype(), ND_DTYPE_F16);
    EXPECT_EQ(unet_in.shape(), core::Shape({32, 4, 3, 3}));
    for (const auto& [name, tensor] : checkpoint.weights.all()) {
        ASSERT_EQ(tensor.storage()->kind(), core::Storage::Kind::Borrowed) << name;
    }
    ASSERT_EQ(checkpoint.metadata.count("format"), 1u);
    EXPECT_EQ(checkpoint.metadata.at("format"), "pt");
}

TEST(SingleFile, Float_weights_of_every_type_are_kept_as_stored) {
    testing::TempDir dir;
    const auto path = dir.write("m.safetensors", testing::valid_safetensors({{"a", "F32", {2}, 4},
                                                                             {"b", "F16", {2}, 2},
                                                                             {"c", "BF16", {2}, 2},
                                                                             {"x.position_ids", "I64", {1, 2}, 8},
                                                                             {"alphas_cumprod", "F32", {4}, 4}}));
    const SingleFileCheckpoint checkpoint = load_single_file(path.string());
    EXPECT_EQ(checkpoint.weights.size(), 3u);
    EXPECT_EQ(checkpoint.weights.require("a").dtype(), ND_DTYPE_F32);
    EXPECT_EQ(checkpoint.weights.require("b").dtype(), ND_DTYPE_F16);
    EXPECT_EQ(checkpoint.weights.require("c").dtype(), ND_DTYPE_BF16);
}

TEST(SingleFile, Position_ids_and_training_leftovers_are_dropped_by_name) {
    EXPECT_TRUE(is_dropped_on_load("cond_stage_model.transformer.text_model.embeddings.position_ids"));
    EXPECT_TRUE(is_dropped_on_load("position_ids"));
    EXPECT_TRUE(is_dropped_on_load("alphas_cumprod_prev"));
    EXPECT_TRUE(is_dropped_on_load("betas"));
    EXPECT_TRUE(is_dropped_on_load("sqrt_recipm1_alphas_cumprod"));
    EXPECT_TRUE(is_dropped_on_load("posterior_mean_coef1"));
    EXPECT_TRUE(is_dropped_on_load("model_ema.decay"));
    EXPECT_TRUE(is_dropped_on_load("model_ema.diffusion_modelinput_blocks00weight"));
    EXPECT_FALSE(is_dropped_on_load("cond_stage_model.transformer.text_model.embeddings.position_embedding.weight"));
    EXPECT_FALSE(is_dropped_on_load("model.diffusion_model.out.2.bias"));
    EXPECT_FALSE(is_dropped_on_load("v_pred"));
    EXPECT_FALSE(is_dropped_on_load("first_stage_model.encoder.down.0.block.0.conv1.weight"));
}

} // namespace
} // namespace nd::model_files
