#include "model_files/model_family.hpp"

#include <gtest/gtest.h>

#include "core/error.hpp"
#include "model_files/single_file.hpp"
#include "support/fixtures.hpp"

namespace nd::model_files {
namespace {

// Small real tensors with the shapes the rules read; everything else about them is irrelevant.
void put(WeightSet& weights, const std::string& name, const core::Shape& shape, nd_dtype dtype = ND_DTYPE_F32) {
    weights.add(name, core::Tensor::empty(dtype, shape));
}

WeightSet unet(std::int64_t in_channels = 4, int proj_rank = 4) {
    WeightSet w;
    put(w, "model.diffusion_model.input_blocks.0.0.weight", {8, in_channels, 3, 3});
    put(w, "model.diffusion_model.input_blocks.1.1.proj_in.weight",
        proj_rank == 4 ? core::Shape{8, 8, 1, 1} : core::Shape{8, 8});
    put(w, "first_stage_model.decoder.conv_in.weight", {8, 4, 3, 3});
    return w;
}

void add_clip_l(WeightSet& w, const std::string& prefix) {
    put(w, prefix + "text_model.final_layer_norm.weight", {8});
}

void add_open_clip(WeightSet& w, const std::string& prefix) {
    put(w, prefix + "ln_final.weight", {8});
}

nd_status detect_status(const WeightSet& weights, std::string* message = nullptr) {
    try {
        (void)detect_model_family(weights);
    } catch (const core::Error& error) {
        if (message != nullptr) {
            *message = std::string(error.message());
        }
        return error.status();
    }
    return ND_STATUS_OK;
}

TEST(ModelFamily, Fixture_is_sd1_with_every_component) {
    const auto path = testing::fixtures_dir() / "tiny-sd1" / "model.safetensors";
    ND_SKIP_IF_FIXTURE_MISSING(path);
    const SingleFileCheckpoint checkpoint = load_single_file(path.string());
    EXPECT_EQ(detect_model_family(checkpoint.weights), ModelFamily::Sd1);
    const ModelComponents components = find_components(checkpoint.weights);
    EXPECT_TRUE(components.unet);
    EXPECT_TRUE(components.vae);
    ASSERT_EQ(components.text_encoders.size(), 1u);
    EXPECT_EQ(components.text_encoders[0].prefix, "cond_stage_model.transformer.");
    EXPECT_EQ(components.text_encoders[0].kind, TextEncoderKind::ClipL);
    EXPECT_EQ(components.text_encoders[0].tensors, 52u);
    const auto usage = dtype_usage(checkpoint.weights);
    ASSERT_EQ(usage.size(), 1u);
    EXPECT_EQ(usage.at(ND_DTYPE_F16).tensors, 980u);
    // The README's 11,520,235 parameters (the position_ids buffer is not one), two bytes each.
    EXPECT_EQ(usage.at(ND_DTYPE_F16).bytes, 11'520'235u * 2u);
}

TEST(ModelFamily, Sd1_and_sd2_differ_by_text_encoder_naming) {
    WeightSet sd1 = unet();
    add_clip_l(sd1, "cond_stage_model.transformer.");
    EXPECT_EQ(detect_model_family(sd1), ModelFamily::Sd1);
    WeightSet sd2 = unet(4, 2);
    add_open_clip(sd2, "cond_stage_model.model.");
    EXPECT_EQ(detect_model_family(sd2), ModelFamily::Sd2);
}

TEST(ModelFamily, Without_text_encoder_the_attention_projection_decides) {
    EXPECT_EQ(detect_model_family(unet(4, 4)), ModelFamily::Sd1);
    EXPECT_EQ(detect_model_family(unet(4, 2)), ModelFamily::Sd2);
    EXPECT_TRUE(find_components(unet()).text_encoders.empty());
}

TEST(ModelFamily, Sdxl_base_and_refiner_by_their_embedders) {
    WeightSet base = unet(4, 2);
    put(base, "model.diffusion_model.label_emb.0.0.weight", {8, 2816});
    add_clip_l(base, "conditioner.embedders.0.transformer.");
    add_open_clip(base, "conditioner.embedders.1.model.");
    EXPECT_EQ(detect_model_family(base), ModelFamily::SdxlBase);

    WeightSet refiner = unet(4, 2);
    put(refiner, "model.diffusion_model.label_emb.0.0.weight", {8, 2560});
    add_open_clip(refiner, "conditioner.embedders.0.model.");
    EXPECT_EQ(detect_model_family(refiner), ModelFamily::SdxlRefiner);
    EXPECT_EQ(find_components(refiner).text_encoders.at(0).kind, TextEncoderKind::OpenClip);
}

TEST(ModelFamily, Sdxl_unet_alone_is_told_by_its_conditioning_width) {
    WeightSet base = unet(4, 2);
    put(base, "model.diffusion_model.label_emb.0.0.weight", {8, 2816});
    EXPECT_EQ(detect_model_family(base), ModelFamily::SdxlBase);
    WeightSet refiner = unet(4, 2);
    put(refiner, "model.diffusion_model.label_emb.0.0.weight", {8, 2560});
    EXPECT_EQ(detect_model_family(refiner), ModelFamily::SdxlRefiner);
    WeightSet other = unet(4, 2);
    put(other, "model.diffusion_model.label_emb.0.0.weight", {8, 1000});
    EXPECT_EQ(detect_status(other), ND_STATUS_UNSUPPORTED);
}

TEST(ModelFamily, Inpainting_unet_is_unsupported_and_says_so) {
    std::string message;
    EXPECT_EQ(detect_status(unet(9), &message), ND_STATUS_UNSUPPORTED);
    EXPECT_NE(message.find("inpainting"), std::string::npos) << message;
    EXPECT_NE(message.find("unsupported model"), std::string::npos) << message;
    EXPECT_EQ(detect_status(unet(8), &message), ND_STATUS_UNSUPPORTED);
    EXPECT_NE(message.find("pix2pix"), std::string::npos) << message;
}

TEST(ModelFamily, No_unet_is_unsupported_and_lists_what_was_found) {
    WeightSet vae_only;
    put(vae_only, "first_stage_model.decoder.conv_in.weight", {8, 4, 3, 3});
    std::string message;
    EXPECT_EQ(detect_status(vae_only, &message), ND_STATUS_UNSUPPORTED);
    EXPECT_NE(message.find("no UNet"), std::string::npos) << message;
    EXPECT_NE(message.find("first_stage_model (1)"), std::string::npos) << message;
}

TEST(ModelFamily, Unknown_text_encoder_is_unsupported_and_named) {
    WeightSet w = unet();
    put(w, "cond_stage_model.t5.encoder.weight", {8});
    std::string message;
    EXPECT_EQ(detect_status(w, &message), ND_STATUS_UNSUPPORTED);
    EXPECT_NE(message.find("cond_stage_model.t5.encoder.weight"), std::string::npos) << message;
}

TEST(ModelFamily, Sdxl_encoders_without_sdxl_unet_are_unsupported) {
    WeightSet w = unet();
    add_clip_l(w, "conditioner.embedders.0.transformer.");
    EXPECT_EQ(detect_status(w), ND_STATUS_UNSUPPORTED);
}

TEST(ModelFamily, Prediction_sources_in_priority_order) {
    WeightSet w = unet();
    std::map<std::string, std::string> metadata;
    EXPECT_EQ(choose_prediction(w, metadata, std::nullopt, std::nullopt).source, PredictionSource::Default);
    EXPECT_EQ(choose_prediction(w, metadata, std::nullopt, std::nullopt).type, PredictionType::Epsilon);

    const Prediction from_scheduler = choose_prediction(w, metadata, std::string("v_prediction"), std::nullopt);
    EXPECT_EQ(from_scheduler.type, PredictionType::V);
    EXPECT_EQ(from_scheduler.source, PredictionSource::SchedulerConfig);

    put(w, "v_pred", {});
    EXPECT_EQ(choose_prediction(w, metadata, std::string("epsilon"), std::nullopt).source, PredictionSource::MarkerKey);

    metadata["modelspec.prediction_type"] = "epsilon";
    const Prediction from_metadata = choose_prediction(w, metadata, std::nullopt, std::nullopt);
    EXPECT_EQ(from_metadata.type, PredictionType::Epsilon);
    EXPECT_EQ(from_metadata.source, PredictionSource::Metadata);

    const Prediction overridden = choose_prediction(w, metadata, std::nullopt, PredictionType::V);
    EXPECT_EQ(overridden.type, PredictionType::V);
    EXPECT_EQ(overridden.source, PredictionSource::Override);
}

TEST(ModelFamily, Prediction_type_spellings) {
    EXPECT_EQ(parse_prediction_type("V_Prediction"), PredictionType::V);
    EXPECT_EQ(parse_prediction_type("v"), PredictionType::V);
    EXPECT_EQ(parse_prediction_type("eps"), PredictionType::Epsilon);
    EXPECT_FALSE(parse_prediction_type("sample"));
}

TEST(ModelFamily, Dtype_usage_counts_tensors_and_bytes_per_type) {
    WeightSet w;
    put(w, "a", {4, 4}, ND_DTYPE_F16);
    put(w, "b", {8}, ND_DTYPE_F16);
    put(w, "c", {2, 32}, ND_DTYPE_Q8_0);
    const auto usage = dtype_usage(w);
    EXPECT_EQ(usage.at(ND_DTYPE_F16).tensors, 2u);
    EXPECT_EQ(usage.at(ND_DTYPE_F16).bytes, 48u);
    EXPECT_EQ(usage.at(ND_DTYPE_Q8_0).tensors, 1u);
    EXPECT_EQ(usage.at(ND_DTYPE_Q8_0).bytes, 68u);
}

} // namespace
} // namespace nd::model_files
