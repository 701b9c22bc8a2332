// Runs a Vae: decode latents to images, encode images to the posterior; one planned graph per input shape.
#pragma once

#include <functional>
#include <memory>
#include <utility>

#include "backends/backend.hpp"
#include "core/tensor.hpp"
#include "models/graph_runner.hpp"
#include "models/vae.hpp"

namespace nd::models {

struct VaePosteriorTensors {
    core::Tensor mean;
    core::Tensor logvar;
};

class VaeRunner {
public:
    // `backend` must outlive the runner.
    VaeRunner(std::shared_ptr<const Vae> vae, backends::Backend& backend);

    // latents F32 [N, latent, h, w], unscaled -> image F32 [N, C, 8h, 8w] (for SD), about [-1, 1].
    core::Tensor decode(const core::Tensor& latents);
    // image F32 [N, C, H, W] in [-1, 1] -> mean and log-variance of the latent distribution (unscaled).
    VaePosteriorTensors encode(const core::Tensor& image);

    // The arena bytes the decoder's plan needs for this latent shape (plans it if needed).
    std::uint64_t decoder_peak_bytes(const core::Shape& latent_shape);

    [[nodiscard]] const Vae& vae() const noexcept { return *vae_; }

    // A check run every few ops of a decode or encode; it may throw to stop it (a cancel).
    void set_interrupt(std::function<void()> check) { runner_.set_interrupt(std::move(check)); }

private:
    std::shared_ptr<const Vae> vae_;
    GraphRunner runner_;
};

} // namespace nd::models
