// The Stable Diffusion UNet (SD 1.x today; the architecture reader already covers SD 2.x and SDXL's block
// layouts) as an engine graph: the noise prediction eps(x, t, context).
//
// build_unet_graph() describes one evaluation for fixed sizes (batch, latent height and width, context
// tokens); UNet keeps one plan per size in a models::GraphRunner and reruns it, so a denoising loop pays
// for building and planning once. Weights are used as stored (F32, F16, BF16, block-quantized), never copied,
// except linear biases stored in half precision, which become F32 (a few kilobytes per layer).
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>
#include <utility>

#include "backends/backend.hpp"
#include "core/graph.hpp"
#include "core/planner.hpp"
#include "core/tensor.hpp"
#include "model_files/weight_set.hpp"
#include "models/graph_runner.hpp"
#include "models/unet_architecture.hpp"

namespace nd::models {

struct UNetOptions {
    // SD 1.x splits every attention into 8 heads; SD 2.x and SDXL use 64 channels per head instead
    // (head_channels = 64 overrides heads). Neither shows in the weights, so the model family decides.
    int heads = 8;
    int head_channels = 0;
    int groups = 32; // GroupNorm groups, 32 in every SD UNet
};

// The sizes one graph is built for. Latent height and width need not be equal or divisible by anything.
struct UNetShape {
    std::int64_t batch = 1;
    std::int64_t height = 64;
    std::int64_t width = 64;
    std::int64_t context_tokens = 77; // 77 per prompt chunk; longer prompts give multiples

    friend auto operator<=>(const UNetShape&, const UNetShape&) = default;
};

// The graph of one evaluation. Inputs in order: x [B, in, H, W] F32, timesteps [B] F32, context
// [B, tokens, context_dim] F32; one output, eps [B, out, H, W] F32. Throws Error(ND_STATUS_INVALID_FORMAT)
// naming the tensor and node for a missing or mis-shaped weight, Error(ND_STATUS_UNSUPPORTED) for an
// architecture not implemented yet (SDXL's label embedding), Error(ND_STATUS_INVALID_ARGUMENT) for sizes.
core::Graph build_unet_graph(const UNetArchitecture& architecture, const model_files::WeightSet& weights,
                             const UNetShape& shape, const UNetOptions& options = {},
                             std::string_view prefix = kUNetPrefix);

// One model on one backend. Not thread-safe: a context serialises its calls (the executor's arenas are reused).
class UNet {
public:
    // Reads the architecture from `weights` (which it keeps: the tensors are shared, not copied). `backend`
    // must outlive the UNet.
    UNet(model_files::WeightSet weights, backends::Backend& backend, UNetOptions options = {});

    // The noise prediction for latents x [B, in, H, W], timesteps [B] and context [B, tokens, context_dim]
    // (all F32). Builds and plans a graph the first time a size is seen. Throws
    // Error(ND_STATUS_INVALID_ARGUMENT) for inputs that do not fit the model or each other.
    core::Tensor eps(const core::Tensor& x, const core::Tensor& timesteps, const core::Tensor& context);
    // The same timestep for every batch entry.
    core::Tensor eps(const core::Tensor& x, float timestep, const core::Tensor& context);

    // The plan for `shape`, built on first use: its peak_bytes() is the activation memory one step needs.
    const core::Plan& plan(const UNetShape& shape);

    [[nodiscard]] const UNetArchitecture& architecture() const noexcept { return architecture_; }

    // A check run every few ops of an evaluation; it may throw to stop it (a cancel).
    void set_interrupt(std::function<void()> check) { runner_.set_interrupt(std::move(check)); }

private:
    [[nodiscard]] GraphRunner::Builder builder(const UNetShape& shape) const;

    model_files::WeightSet weights_;
    UNetOptions options_;
    UNetArchitecture architecture_;
    GraphRunner runner_;
};

} // namespace nd::models
