// The random-weight model tool (native/tools/make_random_model.cpp), run as users run it.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string>

#include "core/tensor.hpp"
#include "formats/safetensors.hpp"
#include "model_files/safetensors_weights.hpp"
#include "support/temp_dir.hpp"

namespace nd {
namespace {

int run_tool(const std::string& arguments) {
    const std::string command = std::string(ND_MAKE_RANDOM_MODEL) + " " + arguments + " 2>/dev/null";
    return std::system(command.c_str());
}

TEST(MakeRandomModel, Writes_every_listed_tensor_with_finite_values_scaled_by_role) {
    testing::TempDir dir;
    const auto shapes = dir.write("shapes.json", R"({
        "m.conv.weight": [64, 32, 3, 3],
        "m.conv.bias": [64],
        "m.norm.weight": [32],
        "te.token_embedding.weight": [100, 16],
        "te.embeddings.position_ids": [1, 77]
    })");
    const auto out = dir.path() / "model.safetensors";
    ASSERT_EQ(run_tool("--shapes " + shapes.string() + " --out " + out.string() + " --seed 3"), 0);

    const auto weights = model_files::load_safetensors_weights(out.string());
    ASSERT_EQ(weights.size(), 5u);
    const auto conv = weights.require("m.conv.weight").to_f32();
    EXPECT_EQ(weights.require("m.conv.weight").dtype(), ND_DTYPE_F16);
    const float bound = std::sqrt(3.0f / (32 * 9));
    float largest = 0.0f;
    for (float v : conv) {
        ASSERT_TRUE(std::isfinite(v));
        largest = std::max(largest, std::abs(v));
    }
    EXPECT_LE(largest, bound * 1.001f);
    EXPECT_GT(largest, bound * 0.9f); // the spread is used, not collapsed to zero
    for (float v : weights.require("m.norm.weight").to_f32()) {
        EXPECT_NEAR(v, 1.0f, 0.1001f);
    }
    const auto& ids = weights.require("te.embeddings.position_ids");
    EXPECT_EQ(ids.dtype(), ND_DTYPE_I64);
    const auto id_values = ids.to_f32();
    EXPECT_EQ(id_values.front(), 0.0f);
    EXPECT_EQ(id_values.back(), 76.0f);
}

TEST(MakeRandomModel, Same_seed_writes_the_same_bytes_and_another_seed_does_not) {
    testing::TempDir dir;
    const auto shapes = dir.write("shapes.json", R"({"w": [8, 8]})");
    const auto a = dir.path() / "a.safetensors";
    const auto b = dir.path() / "b.safetensors";
    const auto c = dir.path() / "c.safetensors";
    ASSERT_EQ(run_tool("--shapes " + shapes.string() + " --out " + a.string() + " --seed 5"), 0);
    ASSERT_EQ(run_tool("--shapes " + shapes.string() + " --out " + b.string() + " --seed 5"), 0);
    ASSERT_EQ(run_tool("--shapes " + shapes.string() + " --out " + c.string() + " --seed 6"), 0);
    const auto va = model_files::load_safetensors_weights(a.string()).require("w").to_f32();
    EXPECT_EQ(va, model_files::load_safetensors_weights(b.string()).require("w").to_f32());
    EXPECT_NE(va, model_files::load_safetensors_weights(c.string()).require("w").to_f32());
}

TEST(MakeRandomModel, Malformed_shapes_file_fails_with_an_exit_code_and_writes_nothing) {
    testing::TempDir dir;
    const auto shapes = dir.write("shapes.json", R"({"w": [8, -1]})");
    const auto out = dir.path() / "out.safetensors";
    EXPECT_NE(run_tool("--shapes " + shapes.string() + " --out " + out.string()), 0);
    EXPECT_FALSE(std::filesystem::exists(out));
    EXPECT_NE(run_tool("--bogus x"), 0);
}

} // namespace
} // namespace nd
