#include "pipeline/text_conditioning.hpp"

#include <algorithm>
#include <cstring>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "core/error.hpp"

namespace nd::pipeline {

namespace {

std::vector<PromptChunk> chunks_of(const text::ClipTokenizer& tokenizer, std::string_view prompt,
                                   const ChunkOptions& options, std::string_view field) {
    try {
        return chunk_prompt(tokenizer, prompt, options).chunks;
    } catch (const core::Error& error) {
        // The parser and tokenizer say "prompt: ..."; name the field the text came from instead.
        std::string_view message = error.message();
        if (message.starts_with("prompt: ")) {
            message.remove_prefix(8);
        }
        throw core::Error(error.status(), std::string(field) + ": " + std::string(message));
    }
}

// The embeddings of `chunks` (rows [chunk * 77 + token]) times their emphasis weights, in place. All weights
// 1 (a prompt without emphasis) leaves them untouched, so such prompts match diffusers bit for bit.
void weight_chunks(std::span<float> embeddings, std::span<const PromptChunk> chunks,
                   std::size_t tokens_per_chunk, std::size_t width) {
    const std::vector<float> weights = concatenated_weights(chunks);
    if (std::all_of(weights.begin(), weights.end(), [](float w) { return w == 1.0F; })) {
        return;
    }
    apply_prompt_weights(embeddings, EmbeddingDims{chunks.size(), tokens_per_chunk, width}, weights);
}

} // namespace

TextConditioner::TextConditioner(text::ClipTokenizer tokenizer,
                                 std::unique_ptr<models::ClipTextEncoderRunner> encoder, ChunkOptions chunks)
    : tokenizer_(std::move(tokenizer)), encoder_(std::move(encoder)), chunks_(chunks) {}

Conditioning TextConditioner::encode(std::string_view prompt, std::string_view negative_prompt,
                                     bool with_uncond, int clip_skip) {
    std::vector<PromptChunk> cond = chunks_of(tokenizer_, prompt, chunks_, "prompt");
    std::vector<PromptChunk> uncond;
    if (with_uncond) {
        uncond = chunks_of(tokenizer_, negative_prompt, chunks_, "negative_prompt");
        equalize_chunk_counts(cond, uncond, tokenizer_, chunks_);
    }
    const auto per_chunk = static_cast<std::int64_t>(chunks_.tokens_per_chunk + 2);
    const auto chunk_count = static_cast<std::int64_t>(cond.size());
    const std::int64_t width = encoder_->encoder().config().width;
    if (per_chunk > encoder_->encoder().config().positions) {
        core::throw_error(ND_STATUS_INTERNAL_ERROR,
                          "text encoder: chunks of {} tokens exceed its {} positions", per_chunk,
                          encoder_->encoder().config().positions);
    }

    // One encoder call for every chunk of both prompts: rows [uncond chunks..., cond chunks...].
    std::vector<text::TokenId> ids = concatenated_tokens(uncond);
    const std::vector<text::TokenId> cond_ids = concatenated_tokens(cond);
    ids.insert(ids.end(), cond_ids.begin(), cond_ids.end());
    const std::int64_t rows = static_cast<std::int64_t>(ids.size()) / per_chunk;
    const core::Tensor id_tensor = core::Tensor::from_i32(core::Shape{rows, per_chunk}, ids);
    const core::Tensor hidden = encoder_->encode(id_tensor, clip_skip).contiguous();

    const std::int64_t tokens = chunk_count * per_chunk;
    const auto half_values = static_cast<std::size_t>(tokens * width);
    const std::span<const float> all(hidden.data_as<const float>(),
                                     static_cast<std::size_t>(hidden.elements()));
    const auto take = [&](std::size_t offset, std::span<const PromptChunk> chunks) {
        core::Tensor out = core::Tensor::empty(ND_DTYPE_F32, core::Shape{1, tokens, width});
        const std::span<float> values(out.data_as<float>(), half_values);
        std::memcpy(values.data(), all.data() + offset, half_values * sizeof(float));
        weight_chunks(values, chunks, static_cast<std::size_t>(per_chunk), static_cast<std::size_t>(width));
        return out;
    };
    Conditioning result;
    if (with_uncond) {
        result.uncond = take(0, uncond);
        result.cond = take(half_values, cond);
    } else {
        result.cond = take(0, cond);
    }
    return result;
}

} // namespace nd::pipeline
