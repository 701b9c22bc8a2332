// Weighted prompt spans -> 77-token chunks for the text encoder, the way the AUTOMATIC1111 web UI does it,
// and the emphasis step applied to the encoder's output.
//
// Each chunk holds up to 75 prompt tokens between BOS and EOS, padded to 77. A prompt that does not fit
// takes more chunks (never cut): when a chunk fills up and a comma lies within the last `comma_backtrack`
// tokens, the tokens after that comma move to the next chunk so a phrase is not split. BREAK closes the
// current chunk. The encoder encodes every chunk on its own; the embeddings are concatenated.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "pipeline/prompt_parser.hpp"
#include "text/clip_tokenizer.hpp"

namespace nd::pipeline {

struct ChunkOptions {
    std::size_t tokens_per_chunk = 75; // prompt tokens per chunk; each chunk is this + 2 long
    std::size_t comma_backtrack = 20;  // the UI's "comma padding backtrack"; 0 turns it off
    // Id after the EOS that ends the text; nullopt pads with EOS (SD 1.x). SD 2.x's OpenCLIP pads with 0.
    std::optional<text::TokenId> pad_id;
};

struct PromptChunk {
    std::vector<text::TokenId> tokens; // tokens_per_chunk + 2: BOS, prompt tokens, EOS, padding
    std::vector<float> weights;        // one per token; 1 for BOS, EOS and padding
};

struct ChunkedPrompt {
    std::vector<PromptChunk> chunks; // at least one
    std::size_t token_count = 0;     // prompt tokens, counting a full chunk for each chunk but the last
};

// Tokenizes each span on its own (as the UI does) and packs the tokens into chunks.
ChunkedPrompt chunk_prompt(const text::ClipTokenizer& tokenizer, std::span<const PromptSpan> spans,
                           const ChunkOptions& options = {});

// parse_prompt_weights then chunk_prompt.
ChunkedPrompt chunk_prompt(const text::ClipTokenizer& tokenizer, std::string_view prompt,
                           const ChunkOptions& options = {});

// The chunk of an empty prompt: BOS, EOS, padding, all of weight 1.
PromptChunk empty_chunk(const text::ClipTokenizer& tokenizer, const ChunkOptions& options = {});

// Appends empty chunks to the shorter list so that both have as many chunks (a prompt and its negative
// prompt must give conditioning of the same length).
void equalize_chunk_counts(std::vector<PromptChunk>& a, std::vector<PromptChunk>& b,
                           const text::ClipTokenizer& tokenizer, const ChunkOptions& options = {});

// The chunks' tokens and weights, concatenated in chunk order.
std::vector<text::TokenId> concatenated_tokens(std::span<const PromptChunk> chunks);
std::vector<float> concatenated_weights(std::span<const PromptChunk> chunks);

struct EmbeddingDims {
    std::size_t chunks = 1;
    std::size_t tokens_per_chunk = 77;
    std::size_t channels = 768;
};

// The UI's emphasis on encoder output laid out [chunks * tokens_per_chunk, channels]: each token's vector
// is multiplied by its weight, then each chunk is rescaled so that its mean equals the mean it had before
// (the UI encodes and rescales one chunk at a time). A chunk whose weighted mean is 0 is left unscaled.
// Throws Error(ND_STATUS_INVALID_ARGUMENT) if the sizes disagree with `dims`.
void apply_prompt_weights(std::span<float> embeddings, const EmbeddingDims& dims,
                          std::span<const float> weights);

} // namespace nd::pipeline
