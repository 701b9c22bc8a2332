#include "model_files/open_clip_names.hpp"

#include <gtest/gtest.h>

#include <numeric>
#include <vector>

#include "core/error.hpp"
#include "model_files/model_family.hpp"

namespace nd::model_files {
namespace {

// A tensor whose values start at `first` and count up, so that moved or joined bytes can be checked.
core::Tensor counting(const core::Shape& shape, float first) {
    std::vector<float> values(static_cast<std::size_t>(shape.elements()));
    std::iota(values.begin(), values.end(), first);
    return core::Tensor::from_f32(shape, values);
}

// A transformers text model of width `width` with `layers` layers, names relative to the encoder.
WeightSet transformers_text_model(std::int64_t width, int layers, const std::string& prefix = "") {
    WeightSet w;
    float next = 0;
    const auto put = [&](const std::string& name, const core::Shape& shape) {
        w.add(prefix + name, counting(shape, next));
        next += static_cast<float>(shape.elements());
    };
    put("text_model.embeddings.token_embedding.weight", {6, width});
    put("text_model.embeddings.position_embedding.weight", {3, width});
    put("text_model.final_layer_norm.weight", {width});
    put("text_model.final_layer_norm.bias", {width});
    for (int i = 0; i < layers; ++i) {
        const std::string layer = "text_model.encoder.layers." + std::to_string(i) + ".";
        for (const char* proj : {"q_proj", "k_proj", "v_proj", "out_proj"}) {
            put(layer + "self_attn." + proj + ".weight", {width, width});
            put(layer + "self_attn." + proj + ".bias", {width});
        }
        for (const char* norm : {"layer_norm1", "layer_norm2"}) {
            put(layer + norm + ".weight", {width});
            put(layer + norm + ".bias", {width});
        }
        put(layer + "mlp.fc1.weight", {2 * width, width});
        put(layer + "mlp.fc1.bias", {2 * width});
        put(layer + "mlp.fc2.weight", {width, 2 * width});
        put(layer + "mlp.fc2.bias", {width});
    }
    return w;
}

TEST(OpenClipNames, Transformers_names_map_to_open_clip_names) {
    EXPECT_EQ(open_clip_name("text_model.embeddings.position_embedding.weight"), "positional_embedding");
    EXPECT_EQ(open_clip_name("text_model.final_layer_norm.bias"), "ln_final.bias");
    EXPECT_EQ(open_clip_name("text_model.encoder.layers.11.layer_norm2.weight"), "transformer.resblocks.11.ln_2.weight");
    EXPECT_EQ(open_clip_name("text_model.encoder.layers.0.mlp.fc1.bias"), "transformer.resblocks.0.mlp.c_fc.bias");
    EXPECT_EQ(open_clip_name("text_model.encoder.layers.0.self_attn.out_proj.weight"),
              "transformer.resblocks.0.attn.out_proj.weight");
    EXPECT_FALSE(open_clip_name("text_model.encoder.layers.0.self_attn.q_proj.weight"));
    EXPECT_FALSE(open_clip_name("vision_model.post_layernorm.weight"));
}

TEST(OpenClipNames, Q_k_v_are_joined_into_in_proj_in_that_order) {
    const WeightSet encoder = transformers_text_model(4, 2);
    WeightSet out;
    add_transformers_text_model_as_open_clip(out, encoder, "cond_stage_model.");
    EXPECT_EQ(out.size(), encoder.size() - 8); // per layer, six q/k/v tensors became two
    const core::Tensor& in_proj = out.require("cond_stage_model.model.transformer.resblocks.1.attn.in_proj_weight");
    ASSERT_EQ(in_proj.shape(), core::Shape({12, 4}));
    const std::vector<float> fused = in_proj.to_f32();
    const std::string layer = "text_model.encoder.layers.1.self_attn.";
    std::vector<float> expected;
    for (const char* part : {"q_proj", "k_proj", "v_proj"}) {
        const std::vector<float> values = encoder.require(layer + part + ".weight").to_f32();
        expected.insert(expected.end(), values.begin(), values.end());
    }
    EXPECT_EQ(fused, expected);
    EXPECT_EQ(out.require("cond_stage_model.model.transformer.resblocks.0.attn.in_proj_bias").shape(),
              core::Shape({12}));
    EXPECT_EQ(out.require("cond_stage_model.model.token_embedding.weight").data(),
              encoder.require("text_model.embeddings.token_embedding.weight").data()); // renamed, not copied
}

TEST(OpenClipNames, Transformers_text_projection_is_transposed_to_open_clips_orientation) {
    WeightSet encoder = transformers_text_model(4, 1);
    encoder.add("text_projection.weight", counting({2, 4}, 0)); // [P, C]
    WeightSet out;
    add_transformers_text_model_as_open_clip(out, encoder, "conditioner.embedders.1.");
    const core::Tensor& projection = out.require("conditioner.embedders.1.model.text_projection");
    ASSERT_EQ(projection.shape(), core::Shape({4, 2}));
    EXPECT_EQ(projection.to_f32(), (std::vector<float>{0, 4, 1, 5, 2, 6, 3, 7}));
}

TEST(OpenClipNames, Missing_projection_of_three_is_rejected_naming_it) {
    WeightSet encoder = transformers_text_model(4, 1);
    encoder.erase("text_model.encoder.layers.0.self_attn.v_proj.weight");
    WeightSet out;
    try {
        add_transformers_text_model_as_open_clip(out, encoder, "cond_stage_model.");
        FAIL() << "joined two projections";
    } catch (const core::Error& error) {
        EXPECT_EQ(error.status(), ND_STATUS_INVALID_FORMAT);
        EXPECT_NE(error.message().find("resblocks.0.attn.in_proj_weight"), std::string::npos) << error.message();
        EXPECT_NE(error.message().find("v projection"), std::string::npos) << error.message();
    }
}

TEST(OpenClipNames, Unknown_weight_is_unsupported) {
    WeightSet encoder = transformers_text_model(4, 1);
    encoder.add("vision_model.post_layernorm.weight", counting({4}, 0));
    WeightSet out;
    EXPECT_THROW(add_transformers_text_model_as_open_clip(out, encoder, "cond_stage_model."), core::Error);
}

WeightSet unet(bool sdxl) {
    WeightSet w;
    w.add("model.diffusion_model.input_blocks.0.0.weight", core::Tensor::empty(ND_DTYPE_F16, {8, 4, 3, 3}));
    if (sdxl) {
        w.add("model.diffusion_model.label_emb.0.0.weight", core::Tensor::empty(ND_DTYPE_F16, {8, 2816}));
    }
    return w;
}

void merge(WeightSet& into, const WeightSet& from) {
    for (const auto& [name, tensor] : from.all()) {
        into.add(name, tensor);
    }
}

TEST(OpenClipNames, Sdcpp_sdxl_base_encoders_become_the_two_embedders) {
    WeightSet w = unet(true);
    merge(w, transformers_text_model(4, 1, "cond_stage_model.transformer."));
    merge(w, transformers_text_model(8, 1, "cond_stage_model.1.transformer."));
    canonicalize_sdcpp_text_encoders(w);
    EXPECT_TRUE(w.contains("conditioner.embedders.0.transformer.text_model.final_layer_norm.weight"));
    EXPECT_EQ(w.require("conditioner.embedders.1.model.transformer.resblocks.0.attn.in_proj_weight").shape(),
              core::Shape({24, 8}));
    EXPECT_TRUE(w.names_with_prefix("cond_stage_model.").empty());
    EXPECT_EQ(detect_model_family(w), ModelFamily::SdxlBase);
}

TEST(OpenClipNames, Sdcpp_refiner_encoder_becomes_the_first_open_clip_embedder) {
    WeightSet w = unet(true);
    w.replace("model.diffusion_model.label_emb.0.0.weight", core::Tensor::empty(ND_DTYPE_F16, {8, 2560}));
    merge(w, transformers_text_model(8, 1, "cond_stage_model.transformer."));
    canonicalize_sdcpp_text_encoders(w);
    EXPECT_TRUE(w.contains("conditioner.embedders.0.model.ln_final.weight"));
    EXPECT_EQ(detect_model_family(w), ModelFamily::SdxlRefiner);
}

TEST(OpenClipNames, Sdcpp_encoder_1024_wide_is_sd2s_open_clip_and_768_stays_clip_l) {
    WeightSet sd2 = unet(false);
    merge(sd2, transformers_text_model(1024, 0, "cond_stage_model.transformer."));
    canonicalize_sdcpp_text_encoders(sd2);
    EXPECT_TRUE(sd2.contains("cond_stage_model.model.positional_embedding"));
    EXPECT_EQ(detect_model_family(sd2), ModelFamily::Sd2);

    WeightSet sd1 = unet(false);
    merge(sd1, transformers_text_model(768, 0, "cond_stage_model.transformer."));
    const std::size_t before = sd1.size();
    canonicalize_sdcpp_text_encoders(sd1);
    EXPECT_EQ(sd1.size(), before);
    EXPECT_TRUE(sd1.contains("cond_stage_model.transformer.text_model.final_layer_norm.weight"));
    EXPECT_EQ(detect_model_family(sd1), ModelFamily::Sd1);
}

} // namespace
} // namespace nd::model_files
