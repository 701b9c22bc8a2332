#include "pipeline/prompt_chunks.hpp"

#include <algorithm>

#include "core/error.hpp"

namespace nd::pipeline {

namespace {

class ChunkBuilder {
public:
    ChunkBuilder(const text::ClipTokenizer& tokenizer, const ChunkOptions& options)
        : tokenizer_(tokenizer), options_(options), comma_(tokenizer.token_id(",</w>")) {}

    void add_span(const PromptSpan& span) {
        if (span.is_break) {
            close_chunk(false);
            return;
        }
        const auto weight = static_cast<float>(span.weight);
        for (const text::TokenId token : tokenizer_.encode(span.text)) {
            add_token(token, weight);
        }
    }

    ChunkedPrompt finish() {
        if (!tokens_.empty() || result_.chunks.empty()) {
            close_chunk(true);
        }
        return std::move(result_);
    }

private:
    void add_token(text::TokenId token, float weight) {
        const std::size_t limit = options_.tokens_per_chunk;
        if (comma_ && token == *comma_) {
            last_comma_ = tokens_.size();
        } else if (options_.comma_backtrack != 0 && tokens_.size() == limit && last_comma_ &&
                   tokens_.size() - *last_comma_ <= options_.comma_backtrack) {
            // Move what follows the comma to the next chunk rather than split the phrase.
            const auto keep = static_cast<std::ptrdiff_t>(*last_comma_ + 1);
            std::vector<text::TokenId> moved_tokens(tokens_.begin() + keep, tokens_.end());
            std::vector<float> moved_weights(weights_.begin() + keep, weights_.end());
            tokens_.resize(static_cast<std::size_t>(keep));
            weights_.resize(static_cast<std::size_t>(keep));
            close_chunk(false);
            tokens_ = std::move(moved_tokens);
            weights_ = std::move(moved_weights);
        }
        if (tokens_.size() == limit) {
            close_chunk(false);
        }
        tokens_.push_back(token);
        weights_.push_back(weight);
    }

    void close_chunk(bool is_last) {
        result_.token_count += is_last ? tokens_.size() : options_.tokens_per_chunk;
        PromptChunk chunk;
        chunk.tokens.reserve(options_.tokens_per_chunk + 2);
        chunk.tokens.push_back(tokenizer_.bos_id());
        chunk.tokens.insert(chunk.tokens.end(), tokens_.begin(), tokens_.end());
        chunk.tokens.resize(options_.tokens_per_chunk + 2, tokenizer_.eos_id());
        if (options_.pad_id) {
            // Everything after the first EOS is padding (as the UI does for OpenCLIP).
            const auto eos = std::find(chunk.tokens.begin() + 1, chunk.tokens.end(), tokenizer_.eos_id());
            std::fill(eos + 1, chunk.tokens.end(), *options_.pad_id);
        }
        chunk.weights.reserve(options_.tokens_per_chunk + 2);
        chunk.weights.push_back(1.0f);
        chunk.weights.insert(chunk.weights.end(), weights_.begin(), weights_.end());
        chunk.weights.resize(options_.tokens_per_chunk + 2, 1.0f);
        result_.chunks.push_back(std::move(chunk));
        tokens_.clear();
        weights_.clear();
        last_comma_.reset();
    }

    const text::ClipTokenizer& tokenizer_;
    const ChunkOptions& options_;
    std::optional<text::TokenId> comma_;
    std::vector<text::TokenId> tokens_; // the open chunk's prompt tokens
    std::vector<float> weights_;
    std::optional<std::size_t> last_comma_; // index in tokens_ of the open chunk's last comma
    ChunkedPrompt result_;
};

void check_options(const ChunkOptions& options) {
    if (options.tokens_per_chunk == 0) {
        core::throw_error(ND_STATUS_INVALID_ARGUMENT, "a chunk must hold at least one prompt token");
    }
}

} // namespace

ChunkedPrompt chunk_prompt(const text::ClipTokenizer& tokenizer, std::span<const PromptSpan> spans,
                           const ChunkOptions& options) {
    check_options(options);
    ChunkBuilder builder(tokenizer, options);
    for (const PromptSpan& span : spans) {
        builder.add_span(span);
    }
    return builder.finish();
}

ChunkedPrompt chunk_prompt(const text::ClipTokenizer& tokenizer, std::string_view prompt,
                           const ChunkOptions& options) {
    const std::vector<PromptSpan> spans = parse_prompt_weights(prompt);
    return chunk_prompt(tokenizer, spans, options);
}

PromptChunk empty_chunk(const text::ClipTokenizer& tokenizer, const ChunkOptions& options) {
    check_options(options);
    return ChunkBuilder(tokenizer, options).finish().chunks.front();
}

void equalize_chunk_counts(std::vector<PromptChunk>& a, std::vector<PromptChunk>& b,
                           const text::ClipTokenizer& tokenizer, const ChunkOptions& options) {
    std::vector<PromptChunk>& shorter = a.size() < b.size() ? a : b;
    const std::size_t count = std::max(a.size(), b.size());
    if (shorter.size() == count) {
        return;
    }
    const PromptChunk empty = empty_chunk(tokenizer, options);
    shorter.resize(count, empty);
}

std::vector<text::TokenId> concatenated_tokens(std::span<const PromptChunk> chunks) {
    std::vector<text::TokenId> out;
    for (const PromptChunk& chunk : chunks) {
        out.insert(out.end(), chunk.tokens.begin(), chunk.tokens.end());
    }
    return out;
}

std::vector<float> concatenated_weights(std::span<const PromptChunk> chunks) {
    std::vector<float> out;
    for (const PromptChunk& chunk : chunks) {
        out.insert(out.end(), chunk.weights.begin(), chunk.weights.end());
    }
    return out;
}

void apply_prompt_weights(std::span<float> embeddings, const EmbeddingDims& dims,
                          std::span<const float> weights) {
    const std::size_t tokens = dims.chunks * dims.tokens_per_chunk;
    if (weights.size() != tokens || embeddings.size() != tokens * dims.channels) {
        core::throw_error(
            ND_STATUS_INVALID_ARGUMENT,
            "prompt weights: {} weights and {} values do not fit {} chunks x {} tokens x {} channels",
            weights.size(), embeddings.size(), dims.chunks, dims.tokens_per_chunk, dims.channels);
    }
    const std::size_t chunk_values = dims.tokens_per_chunk * dims.channels;
    for (std::size_t c = 0; c < dims.chunks; ++c) {
        const std::span<float> chunk = embeddings.subspan(c * chunk_values, chunk_values);
        const std::span<const float> chunk_weights =
            weights.subspan(c * dims.tokens_per_chunk, dims.tokens_per_chunk);
        double original_sum = 0.0;
        double weighted_sum = 0.0;
        for (std::size_t t = 0; t < dims.tokens_per_chunk; ++t) {
            const std::span<float> row = chunk.subspan(t * dims.channels, dims.channels);
            const float weight = chunk_weights[t];
            for (float& value : row) {
                original_sum += value;
                value *= weight;
                weighted_sum += value;
            }
        }
        // Means of the same count: their ratio is the ratio of the sums.
        if (weighted_sum == 0.0) {
            continue;
        }
        const double scale = original_sum / weighted_sum;
        for (float& value : chunk) {
            value = static_cast<float>(value * scale);
        }
    }
}

} // namespace nd::pipeline
