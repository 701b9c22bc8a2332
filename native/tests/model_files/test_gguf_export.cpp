#include "model_files/gguf_export.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>

#include "core/dtype.hpp"
#include "core/error.hpp"
#include "formats/gguf.hpp"
#include "model_files/weight_conversion.hpp"
#include "model_files/weight_type.hpp"
#include "support/fixtures.hpp"
#include "support/temp_dir.hpp"

namespace nd::model_files {
namespace {

namespace fs = std::filesystem;

fs::path tiny_model() { return testing::fixtures_dir() / "tiny-sd1" / "model.safetensors"; }
fs::path tokenizer_dir() { return testing::fixtures_dir() / "tokenizer"; }

LoadedModelFiles load_tiny() {
    LoadOptions options;
    options.path = tiny_model();
    options.tokenizer_directory = tokenizer_dir();
    return load_model_files(options);
}

LoadedModelFiles load_gguf(const fs::path& path) {
    LoadOptions options;
    options.path = path;
    options.env = [](const char*) -> std::optional<std::string> { return std::nullopt; }; // no cache folder
    return load_model_files(options);
}

bool same_bytes(const core::Tensor& a, const core::Tensor& b) {
    return a.packed_bytes() == b.packed_bytes() && std::memcmp(a.data(), b.data(), a.packed_bytes()) == 0;
}

class GgufExportEveryType : public ::testing::TestWithParam<nd_dtype> {};

TEST_P(GgufExportEveryType, Tiny_model_reads_back_self_contained_with_each_weight_as_the_rules_convert_it) {
    ND_SKIP_IF_FIXTURE_MISSING(tiny_model());
    const nd_dtype type = GetParam();
    const LoadedModelFiles source = load_tiny();
    testing::TempDir dir;
    const fs::path out = dir.path() / "tiny.gguf";
    std::uint64_t last_done = 0;
    std::uint64_t last_total = 0;
    GgufExportOptions options;
    options.weight_type = type;
    options.progress = [&](std::uint64_t done, std::uint64_t total, const std::string&) {
        EXPECT_EQ(done, last_done + 1);
        last_done = done;
        last_total = total;
    };
    export_gguf(source, out, options);
    EXPECT_EQ(last_done, source.weights.size());
    EXPECT_EQ(last_total, source.weights.size());

    const LoadedModelFiles back = load_gguf(out);
    EXPECT_EQ(back.layout, ModelLayout::Gguf);
    EXPECT_EQ(back.family, source.family);
    EXPECT_EQ(back.prediction.type, source.prediction.type);
    ASSERT_TRUE(back.tokenizer.has_value()) << back.tokenizer_missing;
    EXPECT_EQ(back.tokenizer->source, TokenizerSource::ModelFile);
    ASSERT_EQ(back.weights.size(), source.weights.size());

    std::size_t converted = 0;
    for (const auto& [name, original] : source.weights.all()) {
        const core::Tensor* read = back.weights.find(name);
        ASSERT_NE(read, nullptr) << name;
        const auto chosen = choose_weight_type(name, original.shape(), type);
        if (chosen && *chosen != original.dtype()) {
            ++converted;
            // Quantization is deterministic: the file holds exactly what converting on load gives.
            EXPECT_TRUE(same_bytes(*read, convert_weight(original, *chosen))) << name;
            EXPECT_EQ(read->dtype(), *chosen) << name;
        } else {
            EXPECT_EQ(read->dtype(), original.dtype()) << name;
            EXPECT_EQ(read->shape(), original.shape()) << name;
            EXPECT_TRUE(same_bytes(*read, original)) << name;
        }
    }
    if (type == ND_DTYPE_F16) {
        EXPECT_EQ(converted, 0u); // the fixture is F16 already
    } else if (core::dtype_block_elements(type) == 256) {
        EXPECT_GT(converted, 10u); // only the tiny model's rows of 256 (or multiples) fit K-quant blocks
    } else {
        EXPECT_GT(converted, 100u);
    }
}

INSTANTIATE_TEST_SUITE_P(WeightTypes, GgufExportEveryType,
                         ::testing::Values(ND_DTYPE_F16, ND_DTYPE_F32, ND_DTYPE_BF16, ND_DTYPE_Q8_0, ND_DTYPE_Q4_0,
                                           ND_DTYPE_Q4_1, ND_DTYPE_Q5_0, ND_DTYPE_Q5_1, ND_DTYPE_Q2_K,
                                           ND_DTYPE_Q3_K, ND_DTYPE_Q4_K, ND_DTYPE_Q5_K, ND_DTYPE_Q6_K),
                         [](const auto& info) { return std::string(core::dtype_name(info.param)); });

TEST(GgufExport, Tokenizer_vocabulary_in_the_file_equals_the_folder_it_came_from) {
    ND_SKIP_IF_FIXTURE_MISSING(tiny_model());
    testing::TempDir dir;
    const fs::path out = dir.path() / "tiny.gguf";
    export_gguf(load_tiny(), out, {});
    const auto file = formats::GgufFile::open(out.string());
    const auto* tokens = file.header().find_string_array("tokenizer.ggml.tokens");
    const auto* merges = file.header().find_string_array("tokenizer.ggml.merges");
    ASSERT_NE(tokens, nullptr);
    ASSERT_NE(merges, nullptr);
    EXPECT_EQ(tokens->size(), 49408u);
    EXPECT_EQ(tokens->front(), "!");
    EXPECT_EQ(tokens->back(), "<|endoftext|>");
    EXPECT_EQ(merges->size(), 48894u); // 49408 - 256 byte tokens - 256 byte tokens with </w> - 2 specials
    EXPECT_EQ(merges->front(), "i n");
}

TEST(GgufExport, Portable_file_keeps_convolution_kernels_f16_and_four_dimensional) {
    ND_SKIP_IF_FIXTURE_MISSING(tiny_model());
    const LoadedModelFiles source = load_tiny();
    testing::TempDir dir;
    const fs::path out = dir.path() / "portable.gguf";
    GgufExportOptions options;
    options.weight_type = ND_DTYPE_Q8_0;
    options.portable = true;
    export_gguf(source, out, options);
    const LoadedModelFiles back = load_gguf(out);
    const auto& conv = back.weights.require("model.diffusion_model.input_blocks.1.0.in_layers.2.weight");
    EXPECT_EQ(conv.dtype(), ND_DTYPE_F16);
    EXPECT_EQ(conv.rank(), 4);
    EXPECT_EQ(back.weights.require("model.diffusion_model.time_embed.0.weight").dtype(), ND_DTYPE_Q8_0);
}

TEST(GgufExport, Cancelled_export_leaves_no_file_and_an_existing_one_untouched) {
    ND_SKIP_IF_FIXTURE_MISSING(tiny_model());
    testing::TempDir dir;
    const fs::path out = dir.write("tiny.gguf", "precious");
    int polls = 0;
    try {
        GgufExportOptions options;
        options.weight_type = ND_DTYPE_Q8_0;
        options.cancelled = [&] { return ++polls > 10; };
        export_gguf(load_tiny(), out, options);
        FAIL() << "expected a cancellation";
    } catch (const core::Error& error) {
        EXPECT_EQ(error.status(), ND_STATUS_CANCELLED);
    }
    std::ifstream in(out);
    std::string content;
    std::getline(in, content);
    EXPECT_EQ(content, "precious");
    EXPECT_FALSE(fs::exists(out.string() + ".tmp"));
}

TEST(GgufExport, Activation_only_type_is_refused) {
    ND_SKIP_IF_FIXTURE_MISSING(tiny_model());
    testing::TempDir dir;
    GgufExportOptions options;
    options.weight_type = ND_DTYPE_Q8_K;
    EXPECT_THROW(export_gguf(load_tiny(), dir.path() / "x.gguf", options), core::Error);
    EXPECT_FALSE(fs::exists(dir.path() / "x.gguf"));
}

} // namespace
} // namespace nd::model_files
