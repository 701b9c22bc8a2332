// Runs a ClipTextEncoder: token ids in, hidden states out, one planned graph per (shape, outputs asked).
#pragma once

#include <memory>
#include <vector>

#include "backends/backend.hpp"
#include "core/tensor.hpp"
#include "models/clip_text_encoder.hpp"
#include "models/graph_runner.hpp"

namespace nd::models {

struct ClipTextOutputs {
    core::Tensor last_hidden_state;         // [N, T, width], after the final layer norm
    core::Tensor penultimate_hidden_state;  // the second-to-last layer's raw output
    core::Tensor penultimate_with_final_ln; // the same through the final layer norm ("CLIP skip 2")
};

class ClipTextEncoderRunner {
public:
    // `backend` must outlive the runner; its thread count is the runner's.
    ClipTextEncoderRunner(std::shared_ptr<const ClipTextEncoder> encoder, backends::Backend& backend);

    // ids: I32 or I64 [N, T] (T <= positions). The conditioning for clip_skip (1: last layer, 2: the
    // penultimate), with the final layer norm, [N, T, width].
    core::Tensor encode(const core::Tensor& ids, int clip_skip = 1);
    // All three outputs at once (for tests and tools).
    ClipTextOutputs encode_all(const core::Tensor& ids);

    [[nodiscard]] const ClipTextEncoder& encoder() const noexcept { return *encoder_; }

    // Frees the activation arena, and with `weights` the backend's packed weights, until the next encode
    // (GraphRunner::release_arenas, release_weights).
    void release_memory(bool weights);
    [[nodiscard]] std::uint64_t arena_bytes() const noexcept { return runner_.arena_bytes(); }

private:
    std::shared_ptr<const ClipTextEncoder> encoder_;
    GraphRunner runner_;
};

} // namespace nd::models
