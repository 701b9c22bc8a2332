#include "models/vae_runner.hpp"

#include <string>
#include <utility>

namespace nd::models {

namespace {

GraphRunner::Builder decoder_builder(const Vae& vae, const core::Shape& shape) {
    return [&vae, shape] {
        core::Graph graph;
        graph.mark_output(vae.build_decoder(graph, graph.input("latents", ND_DTYPE_F32, shape)));
        return graph;
    };
}

} // namespace

VaeRunner::VaeRunner(std::shared_ptr<const Vae> vae, backends::Backend& backend)
    : vae_(std::move(vae)), runner_(backend) {}

core::Tensor VaeRunner::decode(const core::Tensor& latents) {
    return std::move(
        runner_.run("decode" + shape_key(latents), decoder_builder(*vae_, latents.shape()), {&latents, 1})
            .front());
}

VaePosteriorTensors VaeRunner::encode(const core::Tensor& image) {
    const auto build = [&] {
        core::Graph graph;
        const VaePosterior posterior =
            vae_->build_encoder(graph, graph.input("image", ND_DTYPE_F32, image.shape()));
        graph.mark_output(posterior.mean);
        graph.mark_output(posterior.logvar);
        return graph;
    };
    std::vector<core::Tensor> out = runner_.run("encode" + shape_key(image), build, {&image, 1});
    return VaePosteriorTensors{std::move(out[0]), std::move(out[1])};
}

std::uint64_t VaeRunner::decoder_peak_bytes(const core::Shape& latent_shape) {
    const std::string key = "decode" + std::string("F32") + latent_shape.to_string();
    return runner_.plan(key, decoder_builder(*vae_, latent_shape)).peak_bytes();
}

} // namespace nd::models
