#include "model_files/diffusers_folder.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "core/dtype.hpp"

#include "core/error.hpp"
#include "model_files/single_file.hpp"
#include "support/fixtures.hpp"
#include "support/safetensors_bytes.hpp"
#include "support/temp_dir.hpp"

namespace nd::model_files {
namespace {

namespace fs = std::filesystem;
using testing::fixtures_dir;

fs::path tiny() {
    return fixtures_dir() / "tiny-sd1";
}

bool same_bytes(const core::Tensor& a, const core::Tensor& b) {
    const core::Tensor ca = a.contiguous();
    const core::Tensor cb = b.contiguous();
    return ca.packed_bytes() == cb.packed_bytes() &&
           std::memcmp(ca.data(), cb.data(), static_cast<std::size_t>(ca.packed_bytes())) == 0;
}

TEST(DiffusersFolder, Fixture_folder_yields_the_single_file_names_shapes_and_bytes) {
    ND_SKIP_IF_FIXTURE_MISSING(tiny() / "model.safetensors");
    const SingleFileCheckpoint single = load_single_file((tiny() / "model.safetensors").string());
    const DiffusersModel folder = load_diffusers_folder(tiny() / "diffusers");

    EXPECT_EQ(folder.pipeline_class, "StableDiffusionPipeline");
    ASSERT_EQ(single.weights.size(), 980u); // 981 tensors less the position_ids buffer
    EXPECT_EQ(folder.weights.size(), single.weights.size());
    for (const auto& [name, tensor] : single.weights.all()) {
        const core::Tensor* other = folder.weights.find(name);
        ASSERT_NE(other, nullptr) << "the diffusers folder gives no '" << name << "'";
        EXPECT_EQ(other->dtype(), tensor.dtype()) << name;
        EXPECT_EQ(other->shape(), tensor.shape()) << name << ": " << other->shape().to_string() << " vs "
                                                  << tensor.shape().to_string();
        EXPECT_TRUE(same_bytes(*other, tensor)) << name;
    }
    for (const auto& [name, tensor] : folder.weights.all()) {
        EXPECT_TRUE(single.weights.contains(name)) << "the diffusers folder gives an extra '" << name << "'";
    }
}

// Writes `names` of `weights` (real bytes) as a safetensors file.
void write_safetensors(const fs::path& path, const WeightSet& weights, const std::vector<std::string>& names) {
    std::string header = "{";
    std::string data;
    for (const std::string& name : names) {
        const core::Tensor tensor = weights.require(name).contiguous();
        header += header.size() > 1 ? "," : "";
        // Appends only: g++ 12 at -O3 reports a false -Wrestrict on `"literal" + std::string`.
        header += '"';
        header += name;
        header += "\":{\"dtype\":\"";
        header += core::dtype_name(tensor.dtype());
        header += "\",\"shape\":[";
        for (int d = 0; d < tensor.rank(); ++d) {
            header += d > 0 ? "," : "";
            header += std::to_string(tensor.dim(d));
        }
        const std::size_t begin = data.size();
        data.append(reinterpret_cast<const char*>(tensor.data()), tensor.packed_bytes());
        header += "],\"data_offsets\":[";
        header += std::to_string(begin);
        header += ',';
        header += std::to_string(data.size());
        header += "]}";
    }
    header += "}";
    std::ofstream stream(path, std::ios::binary);
    stream << testing::safetensors_bytes(header, data);
}

// The fixture folder rebuilt in `dir` with the UNet in two shards and the VAE as an fp16 variant file.
void write_sharded_copy(const fs::path& dir) {
    const fs::path source = tiny() / "diffusers";
    for (const char* file : {"model_index.json", "text_encoder/config.json", "text_encoder/model.safetensors",
                             "unet/config.json", "vae/config.json"}) {
        fs::create_directories((dir / file).parent_path());
        fs::create_symlink(source / file, dir / file);
    }
    const WeightSet unet = load_diffusers_component(source / "unet", DiffusersVariant::Auto);
    std::vector<std::string> first;
    std::vector<std::string> second;
    std::string weight_map;
    for (const auto& [name, tensor] : unet.all()) {
        const bool in_first = name.starts_with("down_blocks") || name.starts_with("conv");
        (in_first ? first : second).push_back(name);
        weight_map += weight_map.empty() ? "\"" : ",\"";
        weight_map += name;
        weight_map += "\":\"diffusion_pytorch_model-0000";
        weight_map += in_first ? "1" : "2";
        weight_map += "-of-00002.safetensors\"";
    }
    write_safetensors(dir / "unet" / "diffusion_pytorch_model-00001-of-00002.safetensors", unet, first);
    write_safetensors(dir / "unet" / "diffusion_pytorch_model-00002-of-00002.safetensors", unet, second);
    std::ofstream(dir / "unet" / "diffusion_pytorch_model.safetensors.index.json")
        << "{\"metadata\":{},\"weight_map\":{" << weight_map << "}}";
    const WeightSet vae = load_diffusers_component(source / "vae", DiffusersVariant::Auto);
    std::vector<std::string> vae_names;
    for (const auto& [name, tensor] : vae.all()) {
        vae_names.push_back(name);
    }
    write_safetensors(dir / "vae" / "diffusion_pytorch_model.fp16.safetensors", vae, vae_names);
}

TEST(DiffusersFolder, Sharded_unet_and_fp16_variant_vae_yield_the_single_file_weights) {
    ND_SKIP_IF_FIXTURE_MISSING(tiny() / "model.safetensors");
    testing::TempDir dir;
    write_sharded_copy(dir.path());
    ASSERT_EQ(diffusers_component_files(dir.path() / "unet", DiffusersVariant::Auto).files.size(), 2u);
    const SingleFileCheckpoint single = load_single_file((tiny() / "model.safetensors").string());
    const DiffusersModel folder = load_diffusers_folder(dir.path());
    ASSERT_EQ(folder.weights.size(), single.weights.size());
    for (const auto& [name, tensor] : single.weights.all()) {
        const core::Tensor* other = folder.weights.find(name);
        ASSERT_NE(other, nullptr) << name;
        EXPECT_EQ(other->shape(), tensor.shape()) << name;
        EXPECT_TRUE(same_bytes(*other, tensor)) << name;
    }
}

TEST(DiffusersFolder, Weights_stay_borrowed_from_the_mappings) {
    ND_SKIP_IF_FIXTURE_MISSING(tiny() / "diffusers" / "model_index.json");
    const DiffusersModel folder = load_diffusers_folder(tiny() / "diffusers");
    for (const auto& [name, tensor] : folder.weights.all()) {
        ASSERT_EQ(tensor.storage()->kind(), core::Storage::Kind::Borrowed) << name;
    }
    // The VAE attention projections became [C, C, 1, 1] views of the stored [C, C] linear weights.
    EXPECT_EQ(folder.weights.require("first_stage_model.decoder.mid.attn_1.q.weight").shape(),
              core::Shape({64, 64, 1, 1}));
}

TEST(DiffusersFolder, Scheduler_prediction_type_is_read) {
    ND_SKIP_IF_FIXTURE_MISSING(tiny() / "diffusers" / "model_index.json");
    const DiffusersModel folder = load_diffusers_folder(tiny() / "diffusers");
    ASSERT_TRUE(folder.prediction_type.has_value());
    EXPECT_EQ(*folder.prediction_type, "epsilon");
}

nd_status status_of_loading(const fs::path& folder) {
    try {
        (void)load_diffusers_folder(folder);
    } catch (const core::Error& error) {
        return error.status();
    }
    return ND_STATUS_OK;
}

TEST(DiffusersFolder, Listed_component_without_folder_is_not_found) {
    testing::TempDir dir;
    dir.write("model_index.json", R"({"_class_name": "StableDiffusionPipeline", "unet": ["diffusers", "UNet2DConditionModel"]})");
    EXPECT_EQ(status_of_loading(dir.path()), ND_STATUS_NOT_FOUND);
}

TEST(DiffusersFolder, Unknown_unet_weight_is_unsupported_and_named) {
    testing::TempDir dir;
    dir.write("model_index.json", R"({"unet": ["diffusers", "UNet2DConditionModel"]})");
    dir.write("unet/diffusion_pytorch_model.safetensors",
              testing::valid_safetensors({{"down_blocks.0.resnets.0.conv1.weight", "F32", {2, 2, 1, 1}, 4},
                                          {"controlnet_cond_embedding.conv_in.weight", "F32", {2}, 4}}));
    try {
        (void)load_diffusers_folder(dir.path());
        FAIL() << "accepted an unknown UNet weight";
    } catch (const core::Error& error) {
        EXPECT_EQ(error.status(), ND_STATUS_UNSUPPORTED);
        EXPECT_NE(error.message().find("controlnet_cond_embedding.conv_in.weight"), std::string::npos)
            << error.message();
    }
}

// A transformers text encoder of width 4 with one layer, as a diffusers component file.
std::string text_encoder_file(bool with_projection) {
    std::vector<testing::TensorSpec> specs = {
        {"text_model.embeddings.token_embedding.weight", "F32", {6, 4}, 4},
        {"text_model.embeddings.position_embedding.weight", "F32", {3, 4}, 4},
        {"text_model.embeddings.position_ids", "I64", {1, 3}, 8},
        {"text_model.final_layer_norm.weight", "F32", {4}, 4},
        {"text_model.final_layer_norm.bias", "F32", {4}, 4},
    };
    for (const char* proj : {"q_proj", "k_proj", "v_proj", "out_proj"}) {
        specs.push_back({std::string("text_model.encoder.layers.0.self_attn.") + proj + ".weight", "F32", {4, 4}, 4});
        specs.push_back({std::string("text_model.encoder.layers.0.self_attn.") + proj + ".bias", "F32", {4}, 4});
    }
    if (with_projection) {
        specs.push_back({"text_projection.weight", "F32", {2, 4}, 4});
    }
    return testing::valid_safetensors(specs);
}

TEST(DiffusersFolder, Sdxl_encoders_become_clip_l_and_open_clip_embedders) {
    testing::TempDir dir;
    dir.write("model_index.json", R"({"text_encoder": ["transformers", "CLIPTextModel"],
                                      "text_encoder_2": ["transformers", "CLIPTextModelWithProjection"]})");
    dir.write("text_encoder/config.json", R"({"hidden_act": "quick_gelu"})");
    dir.write("text_encoder/model.safetensors", text_encoder_file(false));
    dir.write("text_encoder_2/config.json", R"({"hidden_act": "gelu"})");
    dir.write("text_encoder_2/model.safetensors", text_encoder_file(true));
    const DiffusersModel model = load_diffusers_folder(dir.path());
    EXPECT_TRUE(model.weights.contains("conditioner.embedders.0.transformer.text_model.final_layer_norm.weight"));
    EXPECT_EQ(model.weights.require("conditioner.embedders.1.model.transformer.resblocks.0.attn.in_proj_weight").shape(),
              core::Shape({12, 4}));
    EXPECT_EQ(model.weights.require("conditioner.embedders.1.model.text_projection").shape(), core::Shape({4, 2}));
    EXPECT_FALSE(model.weights.contains("conditioner.embedders.0.transformer.text_model.embeddings.position_ids"));
}

TEST(DiffusersFolder, Refiner_second_encoder_is_the_first_open_clip_embedder) {
    testing::TempDir dir;
    dir.write("model_index.json", R"({"text_encoder": [null, null],
                                      "text_encoder_2": ["transformers", "CLIPTextModelWithProjection"]})");
    dir.write("text_encoder_2/model.safetensors", text_encoder_file(true));
    const DiffusersModel model = load_diffusers_folder(dir.path());
    EXPECT_TRUE(model.weights.contains("conditioner.embedders.0.model.ln_final.weight"));
}

TEST(DiffusersFolder, Sd2_gelu_text_encoder_becomes_open_clip) {
    testing::TempDir dir;
    dir.write("model_index.json", R"({"text_encoder": ["transformers", "CLIPTextModel"]})");
    dir.write("text_encoder/config.json", R"({"hidden_act": "gelu"})");
    dir.write("text_encoder/model.safetensors", text_encoder_file(false));
    const DiffusersModel model = load_diffusers_folder(dir.path());
    EXPECT_TRUE(model.weights.contains("cond_stage_model.model.transformer.resblocks.0.attn.in_proj_bias"));
    EXPECT_TRUE(model.weights.contains("cond_stage_model.model.token_embedding.weight"));
    EXPECT_TRUE(model.weights.names_with_prefix("cond_stage_model.transformer.").empty());
}

} // namespace
} // namespace nd::model_files
