#include "model_files/diffusers_component.hpp"

#include <gtest/gtest.h>

#include "core/error.hpp"
#include "support/safetensors_bytes.hpp"
#include "support/temp_dir.hpp"

namespace nd::model_files {
namespace {

using testing::TempDir;
using testing::valid_safetensors;

std::string one_tensor(const std::string& name, const std::string& dtype = "F32") {
    return valid_safetensors({{name, dtype, {2}, dtype == "F32" ? 4u : 2u}});
}

core::Error load_error(const TempDir& dir, DiffusersVariant variant = DiffusersVariant::Auto) {
    try {
        (void)load_diffusers_component(dir.path(), variant);
    } catch (const core::Error& error) {
        return error;
    }
    ADD_FAILURE() << "loaded";
    return core::Error(ND_STATUS_OK, "");
}

TEST(DiffusersComponent, Auto_prefers_the_fp16_variant_and_Full_the_plain_file) {
    TempDir dir;
    dir.write("diffusion_pytorch_model.safetensors", one_tensor("full"));
    dir.write("diffusion_pytorch_model.fp16.safetensors", one_tensor("half", "F16"));
    EXPECT_TRUE(load_diffusers_component(dir.path(), DiffusersVariant::Auto).contains("half"));
    EXPECT_TRUE(load_diffusers_component(dir.path(), DiffusersVariant::Full).contains("full"));
    EXPECT_TRUE(load_diffusers_component(dir.path(), DiffusersVariant::Fp16).contains("half"));
}

TEST(DiffusersComponent, Transformers_model_file_name_is_found) {
    TempDir dir;
    dir.write("model.safetensors", one_tensor("text_model.x"));
    EXPECT_TRUE(load_diffusers_component(dir.path(), DiffusersVariant::Auto).contains("text_model.x"));
}

TEST(DiffusersComponent, Sharded_weights_load_from_every_shard_of_the_index) {
    TempDir dir;
    dir.write("diffusion_pytorch_model-00001-of-00002.safetensors", one_tensor("a"));
    dir.write("diffusion_pytorch_model-00002-of-00002.safetensors", one_tensor("b"));
    dir.write("diffusion_pytorch_model.safetensors.index.json",
              R"({"metadata": {"total_size": 16}, "weight_map": {
                  "a": "diffusion_pytorch_model-00001-of-00002.safetensors",
                  "b": "diffusion_pytorch_model-00002-of-00002.safetensors"}})");
    const WeightSet weights = load_diffusers_component(dir.path(), DiffusersVariant::Auto);
    EXPECT_EQ(weights.size(), 2u);
    EXPECT_TRUE(weights.contains("a"));
    EXPECT_TRUE(weights.contains("b"));
    const DiffusersComponentFiles files = diffusers_component_files(dir.path(), DiffusersVariant::Auto);
    EXPECT_EQ(files.files.size(), 2u);
    EXPECT_FALSE(files.index.empty());
}

TEST(DiffusersComponent, Sharded_fp16_variant_index_is_found) {
    TempDir dir;
    dir.write("model.fp16-00001-of-00001.safetensors", one_tensor("a", "F16"));
    dir.write("model.safetensors.index.fp16.json", R"({"weight_map": {"a": "model.fp16-00001-of-00001.safetensors"}})");
    EXPECT_TRUE(load_diffusers_component(dir.path(), DiffusersVariant::Auto).contains("a"));
}

TEST(DiffusersComponent, Index_naming_a_weight_its_shard_lacks_is_rejected) {
    TempDir dir;
    dir.write("model-1.safetensors", one_tensor("a"));
    dir.write("model.safetensors.index.json", R"({"weight_map": {"a": "model-1.safetensors", "ghost": "model-1.safetensors"}})");
    const core::Error error = load_error(dir);
    EXPECT_EQ(error.status(), ND_STATUS_INVALID_FORMAT);
    EXPECT_NE(error.message().find("ghost"), std::string::npos) << error.message();
}

TEST(DiffusersComponent, Shard_outside_the_folder_is_rejected) {
    TempDir dir;
    dir.write("model.safetensors.index.json", R"({"weight_map": {"a": "../elsewhere.safetensors"}})");
    const core::Error error = load_error(dir);
    EXPECT_EQ(error.status(), ND_STATUS_INVALID_FORMAT);
    EXPECT_NE(error.message().find("../elsewhere.safetensors"), std::string::npos) << error.message();
}

TEST(DiffusersComponent, Pickle_only_folder_is_unsupported) {
    TempDir dir;
    dir.write("diffusion_pytorch_model.bin", "\x80\x02");
    EXPECT_EQ(load_error(dir).status(), ND_STATUS_UNSUPPORTED);
}

TEST(DiffusersComponent, Empty_folder_is_not_found_and_lists_the_names_looked_for) {
    TempDir dir;
    const core::Error error = load_error(dir);
    EXPECT_EQ(error.status(), ND_STATUS_NOT_FOUND);
    EXPECT_NE(error.message().find("diffusion_pytorch_model.fp16.safetensors"), std::string::npos) << error.message();
    EXPECT_NE(error.message().find("model.safetensors.index.json"), std::string::npos) << error.message();
}

} // namespace
} // namespace nd::model_files
