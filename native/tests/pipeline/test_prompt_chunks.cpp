#include "pipeline/prompt_chunks.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "support/fixtures.hpp"

namespace nd::pipeline {
namespace {

using text::TokenId;

std::string read_text(const std::filesystem::path& path) {
    std::ifstream file(path, std::ios::binary);
    std::ostringstream text;
    text << file.rdbuf();
    return text.str();
}

std::filesystem::path vocab_path() {
    return testing::fixtures_dir() / "tokenizer" / "vocab.json";
}
std::filesystem::path merges_path() {
    return testing::fixtures_dir() / "tokenizer" / "merges.txt";
}

const text::ClipTokenizer& tokenizer() {
    static const text::ClipTokenizer instance =
        text::ClipTokenizer::from_vocab_and_merges(read_text(vocab_path()), read_text(merges_path()));
    return instance;
}

constexpr TokenId kBos = 49406;
constexpr TokenId kEos = 49407;
constexpr TokenId kComma = 267;

// The prompt tokens of a chunk: between BOS and the first EOS.
std::vector<TokenId> content(const PromptChunk& chunk) {
    const auto eos = std::find(chunk.tokens.begin() + 1, chunk.tokens.end(), kEos);
    return {chunk.tokens.begin() + 1, eos};
}

// `count` copies of a word that is one token.
std::string words(const std::string& word, std::size_t count) {
    std::string out;
    for (std::size_t i = 0; i < count; ++i) {
        out += (i ? " " : "") + word;
    }
    return out;
}

class PromptChunks : public ::testing::Test {
protected:
    void SetUp() override {
        ND_SKIP_IF_FIXTURE_MISSING(vocab_path());
        ND_SKIP_IF_FIXTURE_MISSING(merges_path());
        ASSERT_EQ(tokenizer().encode("cat").size(), 1u);
        ASSERT_EQ(tokenizer().encode("dog").size(), 1u);
        cat_ = tokenizer().encode("cat")[0];
        dog_ = tokenizer().encode("dog")[0];
    }

    TokenId cat_ = 0;
    TokenId dog_ = 0;
};

TEST_F(PromptChunks, Short_prompt_is_one_chunk_of_77_with_weights_per_token) {
    const ChunkedPrompt result = chunk_prompt(tokenizer(), "a (cat:1.5) [dog]");
    ASSERT_EQ(result.chunks.size(), 1u);
    const PromptChunk& chunk = result.chunks[0];
    ASSERT_EQ(chunk.tokens.size(), 77u);
    ASSERT_EQ(chunk.weights.size(), 77u);
    EXPECT_EQ(std::vector<TokenId>(chunk.tokens.begin(), chunk.tokens.begin() + 5),
              (std::vector<TokenId>{kBos, 320, cat_, dog_, kEos}));
    EXPECT_EQ(std::vector<float>(chunk.weights.begin(), chunk.weights.begin() + 5),
              (std::vector<float>{1.0f, 1.0f, 1.5f, static_cast<float>(1.0 / 1.1), 1.0f}));
    for (std::size_t i = 5; i < 77; ++i) {
        EXPECT_EQ(chunk.tokens[i], kEos) << i;
        EXPECT_EQ(chunk.weights[i], 1.0f) << i;
    }
    EXPECT_EQ(result.token_count, 3u);
}

TEST_F(PromptChunks, Unweighted_prompt_matches_the_reference_encoder_input) {
    const std::string prompt =
        "A Boston Terrier with a mermaid tail, at the bottom of the ocean, dramatic, digital art.";
    const ChunkedPrompt result = chunk_prompt(tokenizer(), prompt);
    ASSERT_EQ(result.chunks.size(), 1u);
    EXPECT_EQ(result.chunks[0].tokens, tokenizer().encode_padded(prompt, 77));
}

TEST_F(PromptChunks, Overflow_moves_the_words_after_a_recent_comma_to_the_next_chunk) {
    // 70 + comma + 9 = 80 tokens; the chunk is full after the comma and 4 more words (within 20).
    const std::string prompt = words("cat", 70) + ", " + words("dog", 9);
    ASSERT_EQ(tokenizer().encode(prompt).size(), 80u);
    const ChunkedPrompt result = chunk_prompt(tokenizer(), prompt);
    ASSERT_EQ(result.chunks.size(), 2u);
    std::vector<TokenId> first(70, cat_);
    first.push_back(kComma);
    EXPECT_EQ(content(result.chunks[0]), first);
    EXPECT_EQ(content(result.chunks[1]), std::vector<TokenId>(9, dog_));
    EXPECT_EQ(result.chunks[0].tokens.size(), 77u);
    EXPECT_EQ(result.chunks[1].tokens.size(), 77u);
    EXPECT_EQ(result.token_count, 75u + 9u);
}

TEST_F(PromptChunks, Without_backtrack_a_full_chunk_is_cut_at_75_tokens) {
    const std::string prompt = words("cat", 70) + ", " + words("dog", 9);
    ChunkOptions options;
    options.comma_backtrack = 0;
    const ChunkedPrompt result = chunk_prompt(tokenizer(), prompt, options);
    ASSERT_EQ(result.chunks.size(), 2u);
    EXPECT_EQ(content(result.chunks[0]).size(), 75u);
    EXPECT_EQ(content(result.chunks[1]), std::vector<TokenId>(5, dog_));
    EXPECT_EQ(result.chunks[0].tokens.back(), kEos);
}

TEST_F(PromptChunks, Comma_further_back_than_20_tokens_is_not_used) {
    const std::string prompt = words("cat", 50) + ", " + words("dog", 29); // comma 24 tokens before the end
    const ChunkedPrompt result = chunk_prompt(tokenizer(), prompt);
    ASSERT_EQ(result.chunks.size(), 2u);
    EXPECT_EQ(content(result.chunks[0]).size(), 75u);
    EXPECT_EQ(content(result.chunks[1]), std::vector<TokenId>(5, dog_));
}

TEST_F(PromptChunks, Long_prompt_keeps_every_token_across_chunks) {
    const std::string prompt = words("a very long prompt with many many words,", 12);
    const std::vector<TokenId> all = tokenizer().encode(prompt);
    ASSERT_GT(all.size(), 75u);
    const ChunkedPrompt result = chunk_prompt(tokenizer(), prompt);
    ASSERT_EQ(result.chunks.size(), 2u);
    std::vector<TokenId> joined;
    for (const PromptChunk& chunk : result.chunks) {
        const std::vector<TokenId> part = content(chunk);
        EXPECT_LE(part.size(), 75u);
        joined.insert(joined.end(), part.begin(), part.end());
    }
    EXPECT_EQ(joined, all);
    EXPECT_EQ(content(result.chunks[0]).back(), kComma); // broke after a comma
}

TEST_F(PromptChunks, Weights_follow_their_tokens_into_the_next_chunk) {
    const std::string prompt = words("cat", 70) + ", (" + words("dog", 9) + ":1.3)";
    const ChunkedPrompt result = chunk_prompt(tokenizer(), prompt);
    ASSERT_EQ(result.chunks.size(), 2u);
    for (std::size_t i = 1; i <= 9; ++i) {
        EXPECT_EQ(result.chunks[1].weights[i], 1.3f) << i;
    }
    EXPECT_EQ(result.chunks[1].weights[10], 1.0f);
    for (std::size_t i = 1; i <= 71; ++i) {
        EXPECT_EQ(result.chunks[0].weights[i], 1.0f) << i;
    }
}

TEST_F(PromptChunks, Break_pads_the_current_chunk) {
    const ChunkedPrompt result = chunk_prompt(tokenizer(), "cat BREAK dog");
    ASSERT_EQ(result.chunks.size(), 2u);
    EXPECT_EQ(content(result.chunks[0]), std::vector<TokenId>{cat_});
    EXPECT_EQ(content(result.chunks[1]), std::vector<TokenId>{dog_});
    EXPECT_EQ(result.token_count, 75u + 1u);
}

TEST_F(PromptChunks, Leading_break_gives_an_empty_first_chunk) {
    const ChunkedPrompt result = chunk_prompt(tokenizer(), "BREAK dog");
    ASSERT_EQ(result.chunks.size(), 2u);
    EXPECT_TRUE(content(result.chunks[0]).empty());
    EXPECT_EQ(content(result.chunks[1]), std::vector<TokenId>{dog_});
}

TEST_F(PromptChunks, Empty_prompt_is_one_empty_chunk) {
    const ChunkedPrompt result = chunk_prompt(tokenizer(), "");
    ASSERT_EQ(result.chunks.size(), 1u);
    EXPECT_EQ(result.chunks[0].tokens, tokenizer().encode_padded("", 77));
    EXPECT_EQ(result.token_count, 0u);
    EXPECT_EQ(result.chunks[0].tokens, empty_chunk(tokenizer()).tokens);
}

TEST_F(PromptChunks, Open_clip_padding_follows_the_first_eos) {
    ChunkOptions options;
    options.pad_id = 0;
    const ChunkedPrompt result = chunk_prompt(tokenizer(), "cat dog", options);
    const std::vector<TokenId>& tokens = result.chunks[0].tokens;
    EXPECT_EQ(std::vector<TokenId>(tokens.begin(), tokens.begin() + 4),
              (std::vector<TokenId>{kBos, cat_, dog_, kEos}));
    for (std::size_t i = 4; i < 77; ++i) {
        EXPECT_EQ(tokens[i], 0) << i;
    }
    EXPECT_EQ(tokens, tokenizer().encode_padded("cat dog", 77, 0));
}

TEST_F(PromptChunks, Negative_prompt_is_padded_with_empty_chunks) {
    std::vector<PromptChunk> positive = chunk_prompt(tokenizer(), words("cat", 100)).chunks;
    std::vector<PromptChunk> negative = chunk_prompt(tokenizer(), "blurry").chunks;
    ASSERT_EQ(positive.size(), 2u);
    const std::vector<TokenId> negative_first = negative[0].tokens;
    equalize_chunk_counts(positive, negative, tokenizer());
    ASSERT_EQ(negative.size(), 2u);
    EXPECT_EQ(positive.size(), 2u);
    EXPECT_EQ(negative[0].tokens, negative_first);
    EXPECT_EQ(negative[1].tokens, tokenizer().encode_padded("", 77));
    EXPECT_EQ(negative[1].weights, std::vector<float>(77, 1.0f));
    // Either argument may be the shorter one.
    std::vector<PromptChunk> short_first = chunk_prompt(tokenizer(), "x").chunks;
    std::vector<PromptChunk> long_second = chunk_prompt(tokenizer(), words("cat", 160)).chunks;
    equalize_chunk_counts(short_first, long_second, tokenizer());
    EXPECT_EQ(short_first.size(), 3u);
    EXPECT_EQ(long_second.size(), 3u);
}

TEST_F(PromptChunks, Concatenation_puts_chunks_in_order) {
    const ChunkedPrompt result = chunk_prompt(tokenizer(), "cat BREAK (dog:2)");
    const std::vector<TokenId> tokens = concatenated_tokens(result.chunks);
    const std::vector<float> weights = concatenated_weights(result.chunks);
    ASSERT_EQ(tokens.size(), 154u);
    ASSERT_EQ(weights.size(), 154u);
    EXPECT_EQ(tokens[1], cat_);
    EXPECT_EQ(tokens[77], kBos);
    EXPECT_EQ(tokens[78], dog_);
    EXPECT_EQ(weights[78], 2.0f);
}

std::vector<float> random_values(std::size_t count, unsigned seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> normal(0.3f, 1.0f);
    std::vector<float> values(count);
    for (float& v : values) {
        v = normal(rng);
    }
    return values;
}

double mean_of(std::span<const float> values) {
    double sum = 0.0;
    for (const float v : values) {
        sum += v;
    }
    return sum / static_cast<double>(values.size());
}

TEST(PromptWeights, Unit_weights_leave_embeddings_unchanged) {
    const EmbeddingDims dims{2, 77, 16};
    const std::vector<float> original = random_values(2 * 77 * 16, 1);
    std::vector<float> embeddings = original;
    apply_prompt_weights(embeddings, dims, std::vector<float>(2 * 77, 1.0f));
    EXPECT_EQ(embeddings, original);
}

TEST(PromptWeights, Weighting_scales_tokens_and_restores_each_chunk_mean) {
    const EmbeddingDims dims{2, 77, 16};
    const std::vector<float> original = random_values(2 * 77 * 16, 2);
    std::vector<float> weights(2 * 77, 1.0f);
    weights[3] = 1.5f;
    weights[4] = 1.21f;
    weights[80] = 0.5f;
    std::vector<float> embeddings = original;
    apply_prompt_weights(embeddings, dims, weights);
    const std::size_t chunk_values = 77 * 16;
    for (std::size_t c = 0; c < 2; ++c) {
        const std::span<const float> before(original.data() + c * chunk_values, chunk_values);
        const std::span<const float> after(embeddings.data() + c * chunk_values, chunk_values);
        EXPECT_NEAR(mean_of(after), mean_of(before), 1e-6 * std::abs(mean_of(before))) << "chunk " << c;
    }
    // Every value is its original times its token's weight times one factor per chunk.
    const double scale0 = embeddings[0] / original[0];
    EXPECT_NE(scale0, 1.0);
    EXPECT_NEAR(embeddings[3 * 16 + 5], original[3 * 16 + 5] * 1.5 * scale0, 1e-5);
    EXPECT_NEAR(embeddings[4 * 16 + 7], original[4 * 16 + 7] * 1.21 * scale0, 1e-5);
    const double scale1 = embeddings[77 * 16] / original[77 * 16];
    EXPECT_NEAR(embeddings[80 * 16 + 2], original[80 * 16 + 2] * 0.5 * scale1, 1e-5);
}

TEST(PromptWeights, Sizes_that_disagree_with_the_dims_are_rejected) {
    std::vector<float> embeddings(77 * 8);
    try {
        apply_prompt_weights(embeddings, EmbeddingDims{1, 77, 8}, std::vector<float>(76, 1.0f));
        FAIL() << "no error";
    } catch (const core::Error& error) {
        EXPECT_EQ(error.status(), ND_STATUS_INVALID_ARGUMENT);
    }
    EXPECT_THROW(apply_prompt_weights(embeddings, EmbeddingDims{1, 77, 9}, std::vector<float>(77, 1.0f)),
                 core::Error);
}

} // namespace
} // namespace nd::pipeline
