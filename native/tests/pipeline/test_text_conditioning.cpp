#include "pipeline/text_conditioning.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "backends/cpu/cpu_backend.hpp"
#include "core/error.hpp"
#include "formats/json.hpp"
#include "model_files/safetensors_weights.hpp"
#include "support/fixtures.hpp"
#include "support/tiny_sd1.hpp"

namespace nd::pipeline {
namespace {

std::string read_file(const std::filesystem::path& path) {
    std::string text;
    if (std::FILE* f = std::fopen(path.c_str(), "rb")) {
        char buffer[65536];
        for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, f)) > 0;) {
            text.append(buffer, n);
        }
        std::fclose(f);
    }
    return text;
}

class TextConditioningTest : public ::testing::Test {
protected:
    void SetUp() override {
        ND_SKIP_IF_FIXTURE_MISSING(testing::tiny_sd1_model());
        ND_SKIP_IF_FIXTURE_MISSING(testing::tiny_sd1_reference());
        const std::filesystem::path tokenizer = testing::fixtures_dir() / "tokenizer";
        weights_ = model_files::load_safetensors_weights(testing::tiny_sd1_model().string());
        reference_ = model_files::load_safetensors_weights(testing::tiny_sd1_reference().string());
        auto encoder = std::make_shared<const models::ClipTextEncoder>(
            models::ClipTextEncoder::from_hf_weights(weights_));
        conditioner_ = std::make_unique<TextConditioner>(
            text::ClipTokenizer::from_vocab_and_merges(read_file(tokenizer / "vocab.json"),
                                                       read_file(tokenizer / "merges.txt")),
            std::make_unique<models::ClipTextEncoderRunner>(encoder, backend_), ChunkOptions{});
    }

    backends::cpu::CpuBackend backend_{backends::cpu::CpuBackendOptions{2, {}}};
    model_files::WeightSet weights_;
    model_files::WeightSet reference_;
    std::unique_ptr<TextConditioner> conditioner_;
};

TEST_F(TextConditioningTest, Plain_prompt_and_empty_negative_match_diffusers_encoder_output) {
    // sd1.te.last_hidden_state holds prompt 0 and the empty prompt, as diffusers' encode_prompt makes them.
    const Conditioning c =
        conditioner_->encode("a photo of an astronaut riding a horse on mars", "", true, 1);
    const core::Tensor& expected = reference_.require("sd1.te.last_hidden_state");
    EXPECT_EQ(c.cond.shape().to_string(), "[1, 77, 128]");
    EXPECT_LE(testing::max_abs_error(c.cond, expected.narrow(0, 0, 1)), 1e-3f);
    EXPECT_LE(testing::max_abs_error(c.uncond, expected.narrow(0, 1, 1)), 1e-3f);
    const Conditioning skip2 =
        conditioner_->encode("a photo of an astronaut riding a horse on mars", "", true, 2);
    EXPECT_LE(testing::max_abs_error(skip2.cond,
                                     reference_.require("sd1.te.penultimate_with_final_ln").narrow(0, 0, 1)),
              1e-3f);
}

TEST_F(TextConditioningTest, Negative_prompt_gets_as_many_chunks_as_a_long_prompt) {
    std::string prompt;
    for (int i = 0; i < 20; ++i) { // 180 tokens
        prompt += "a very long prompt with many many words, ";
    }
    const Conditioning c = conditioner_->encode(prompt, "blurry", true, 1);
    EXPECT_EQ(c.cond.shape().to_string(), "[1, 231, 128]"); // three chunks of 77
    EXPECT_EQ(c.uncond.shape().to_string(), "[1, 231, 128]");
    // The negative prompt's chunks after the first are empty prompts: BOS, EOS, padding.
    const Conditioning empty = conditioner_->encode("", "", false, 1);
    EXPECT_FALSE(empty.uncond.defined());
    EXPECT_EQ(testing::max_abs_error(c.uncond.narrow(1, 77, 77), empty.cond), 0.0f);
    EXPECT_EQ(testing::max_abs_error(c.uncond.narrow(1, 154, 77), empty.cond), 0.0f);
}

TEST_F(TextConditioningTest, Emphasis_scales_the_weighted_tokens_and_keeps_the_chunk_mean) {
    const Conditioning plain = conditioner_->encode("a photo of an astronaut", "", false, 1);
    const Conditioning weighted = conditioner_->encode("a photo of an (astronaut:1.5)", "", false, 1);
    EXPECT_GT(testing::max_abs_error(plain.cond, weighted.cond), 1e-3f);
    double plain_sum = 0.0;
    double weighted_sum = 0.0;
    for (const float v : plain.cond.to_f32()) {
        plain_sum += v;
    }
    for (const float v : weighted.cond.to_f32()) {
        weighted_sum += v;
    }
    EXPECT_NEAR(weighted_sum, plain_sum, 1e-3 * std::abs(plain_sum) + 1e-3);
}

TEST_F(TextConditioningTest, Malformed_emphasis_names_the_prompt_it_is_in) {
    try {
        (void)conditioner_->encode("fine", "(bad:1.2.3)", true, 1);
        FAIL() << "no error";
    } catch (const core::Error& error) {
        EXPECT_EQ(error.status(), ND_STATUS_INVALID_ARGUMENT);
        EXPECT_TRUE(std::string(error.message()).starts_with("negative_prompt: ")) << error.message();
    }
}

} // namespace
} // namespace nd::pipeline
