// Prompt -> the UNet's conditioning: the web UI's emphasis syntax is parsed, the tokens packed into 77-token
// chunks (prompt_chunks.hpp), every chunk encoded on its own by the text encoder (one batched call for the
// prompt and the negative prompt together), the emphasis weights applied per chunk, and the chunks joined
// along the token axis: [1, 77 * chunks, width]. The negative prompt gets as many chunks as the prompt
// (empty chunks appended to the shorter one), so both halves of a classifier-free guidance batch have one
// shape.
//
// For a prompt of up to 75 tokens without emphasis this is exactly diffusers' encode_prompt: BOS, tokens,
// EOS, padding to 77, no attention mask, and the weights (all 1) leave the embeddings untouched.
#pragma once

#include <memory>
#include <string_view>

#include "core/tensor.hpp"
#include "models/clip_text_encoder_runner.hpp"
#include "pipeline/prompt_chunks.hpp"
#include "text/clip_tokenizer.hpp"

namespace nd::pipeline {

struct Conditioning {
    core::Tensor cond;   // [1, tokens, width]
    core::Tensor uncond; // the same shape; undefined when not asked for
};

class TextConditioner {
public:
    // `chunks` says how chunks are padded (SD 1.x: EOS; SD 2.x's OpenCLIP: 0).
    TextConditioner(text::ClipTokenizer tokenizer, std::unique_ptr<models::ClipTextEncoderRunner> encoder,
                    ChunkOptions chunks);

    // The conditioning of `prompt` (and of `negative_prompt` when `with_uncond`). `clip_skip` >= 1 (1: the
    // last layer). Throws Error(ND_STATUS_INVALID_ARGUMENT) for malformed emphasis syntax or invalid UTF-8,
    // naming the prompt it was found in.
    Conditioning encode(std::string_view prompt, std::string_view negative_prompt, bool with_uncond,
                        int clip_skip);

    [[nodiscard]] const text::ClipTokenizer& tokenizer() const noexcept { return tokenizer_; }
    [[nodiscard]] const models::ClipTextEncoder& encoder() const noexcept { return encoder_->encoder(); }

private:
    text::ClipTokenizer tokenizer_;
    std::unique_ptr<models::ClipTextEncoderRunner> encoder_;
    ChunkOptions chunks_;
};

} // namespace nd::pipeline
