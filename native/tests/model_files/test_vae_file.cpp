#include "model_files/vae_file.hpp"

#include <gtest/gtest.h>

#include <cstring>

#include "core/error.hpp"
#include "model_files/single_file.hpp"
#include "support/fixtures.hpp"
#include "support/safetensors_bytes.hpp"
#include "support/temp_dir.hpp"

namespace nd::model_files {
namespace {

using testing::TempDir;
using testing::valid_safetensors;

WeightSet model_with_vae() {
    WeightSet w;
    w.add("model.diffusion_model.input_blocks.0.0.weight", core::Tensor::empty(ND_DTYPE_F16, {8, 4, 3, 3}));
    w.add("first_stage_model.decoder.conv_in.weight", core::Tensor::empty(ND_DTYPE_F16, {8, 4, 3, 3}));
    w.add("first_stage_model.post_quant_conv.bias", core::Tensor::empty(ND_DTYPE_F16, {4}));
    return w;
}

core::Error replace_error(WeightSet& weights, const WeightSet& vae) {
    try {
        replace_vae(weights, vae);
    } catch (const core::Error& error) {
        return error;
    }
    ADD_FAILURE() << "replaced";
    return core::Error(ND_STATUS_OK, "");
}

TEST(VaeFile, Ldm_vae_without_prefix_replaces_the_models_vae) {
    TempDir dir;
    const auto path = dir.write("vae.safetensors", valid_safetensors({{"decoder.conv_in.weight", "F32", {8, 4, 3, 3}, 4},
                                                                      {"post_quant_conv.bias", "F32", {4}, 4},
                                                                      {"loss.logvar", "F32", {}, 4}}));
    const WeightSet vae = load_vae_file(path);
    EXPECT_EQ(vae.size(), 2u);
    WeightSet weights = model_with_vae();
    replace_vae(weights, vae);
    EXPECT_EQ(weights.require("first_stage_model.decoder.conv_in.weight").dtype(), ND_DTYPE_F32);
    EXPECT_EQ(weights.require("first_stage_model.post_quant_conv.bias").data(),
              vae.require("first_stage_model.post_quant_conv.bias").data());
}

TEST(VaeFile, Mismatched_shape_is_an_error_naming_the_weight_and_shapes) {
    WeightSet vae;
    vae.add("first_stage_model.decoder.conv_in.weight", core::Tensor::empty(ND_DTYPE_F16, {16, 4, 3, 3}));
    vae.add("first_stage_model.post_quant_conv.bias", core::Tensor::empty(ND_DTYPE_F16, {4}));
    WeightSet weights = model_with_vae();
    const core::Error error = replace_error(weights, vae);
    EXPECT_EQ(error.status(), ND_STATUS_INVALID_FORMAT);
    EXPECT_NE(error.message().find("first_stage_model.decoder.conv_in.weight"), std::string::npos) << error.message();
    EXPECT_NE(error.message().find("[16, 4, 3, 3]"), std::string::npos) << error.message();
    // Nothing was replaced.
    EXPECT_EQ(weights.require("first_stage_model.decoder.conv_in.weight").dim(0), 8);
}

TEST(VaeFile, Missing_and_extra_weights_are_errors) {
    WeightSet partial;
    partial.add("first_stage_model.decoder.conv_in.weight", core::Tensor::empty(ND_DTYPE_F16, {8, 4, 3, 3}));
    WeightSet weights = model_with_vae();
    EXPECT_NE(replace_error(weights, partial).message().find("post_quant_conv.bias"), std::string::npos);

    WeightSet extra;
    extra.add("first_stage_model.decoder.conv_in.weight", core::Tensor::empty(ND_DTYPE_F16, {8, 4, 3, 3}));
    extra.add("first_stage_model.post_quant_conv.bias", core::Tensor::empty(ND_DTYPE_F16, {4}));
    extra.add("first_stage_model.encoder.conv_in.weight", core::Tensor::empty(ND_DTYPE_F16, {8, 3, 3, 3}));
    EXPECT_NE(replace_error(weights, extra).message().find("encoder.conv_in.weight"), std::string::npos);
}

TEST(VaeFile, Model_without_vae_gets_the_separate_one) {
    WeightSet weights;
    weights.add("model.diffusion_model.input_blocks.0.0.weight", core::Tensor::empty(ND_DTYPE_F16, {8, 4, 3, 3}));
    WeightSet vae;
    vae.add("first_stage_model.decoder.conv_in.weight", core::Tensor::empty(ND_DTYPE_F16, {8, 4, 3, 3}));
    replace_vae(weights, vae);
    EXPECT_TRUE(weights.contains("first_stage_model.decoder.conv_in.weight"));
}

TEST(VaeFile, File_with_non_vae_weights_is_rejected_naming_one) {
    TempDir dir;
    const auto path = dir.write("not_vae.safetensors", valid_safetensors({{"model.diffusion_model.out.2.bias", "F32", {4}, 4}}));
    try {
        (void)load_vae_file(path);
        FAIL() << "accepted a UNet weight as VAE";
    } catch (const core::Error& error) {
        EXPECT_EQ(error.status(), ND_STATUS_INVALID_FORMAT);
        EXPECT_NE(error.message().find("model.diffusion_model.out.2.bias"), std::string::npos) << error.message();
    }
}

TEST(VaeFile, Fixture_diffusers_vae_folder_replaces_the_single_file_vae_with_identical_weights) {
    const auto root = testing::fixtures_dir() / "tiny-sd1";
    ND_SKIP_IF_FIXTURE_MISSING(root / "model.safetensors");
    SingleFileCheckpoint checkpoint = load_single_file((root / "model.safetensors").string());
    const WeightSet vae = load_vae_file(root / "diffusers" / "vae");
    EXPECT_EQ(vae.size(), checkpoint.weights.names_with_prefix("first_stage_model.").size());
    WeightSet original = checkpoint.weights;
    replace_vae(checkpoint.weights, vae);
    for (const auto& [name, tensor] : vae.all()) {
        const core::Tensor& now = checkpoint.weights.require(name);
        const core::Tensor& before = original.require(name);
        EXPECT_EQ(now.data(), tensor.data()) << name;
        ASSERT_EQ(now.packed_bytes(), before.packed_bytes()) << name;
        EXPECT_EQ(std::memcmp(now.data(), before.data(), now.packed_bytes()), 0) << name;
    }
}

TEST(VaeFile, Pipeline_folder_lends_its_vae_folder) {
    const auto root = testing::fixtures_dir() / "tiny-sd1" / "diffusers";
    ND_SKIP_IF_FIXTURE_MISSING(root / "model_index.json");
    const WeightSet from_pipeline = load_vae_file(root);
    const WeightSet from_component = load_vae_file(root / "vae");
    ASSERT_EQ(from_pipeline.size(), from_component.size());
    EXPECT_TRUE(from_pipeline.contains("first_stage_model.decoder.mid.attn_1.proj_out.weight"));
}

TEST(VaeFile, Pickle_vae_is_refused_as_unsupported) {
    TempDir dir;
    const auto path = dir.write("vae.pt", std::string("\x80\x02}q\x00.", 6));
    try {
        (void)load_vae_file(path);
        FAIL() << "read a pickle";
    } catch (const core::Error& error) {
        EXPECT_EQ(error.status(), ND_STATUS_UNSUPPORTED);
    }
}

} // namespace
} // namespace nd::model_files
