#include "models/unet.hpp"

#include <string>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "models/model_weights.hpp"
#include "models/unet_blocks.hpp"

namespace nd::models {

namespace {

using core::ValueId;

ValueId run_layer(UNetLayerContext& c, const UNetLayer& layer, ValueId h, const std::vector<ValueId>& skips) {
    core::Graph& g = c.graph;
    switch (layer.kind) {
    case UNetLayerKind::ResBlock: return resblock(c, layer, h);
    case UNetLayerKind::Transformer: return spatial_transformer(c, layer, h);
    case UNetLayerKind::Downsample: return downsample(c, layer, h);
    case UNetLayerKind::Upsample: {
        // Up to the size of the skip the next output block joins (smaller than 2x on odd-sized levels).
        const core::Shape s = g.shape(h);
        std::int64_t out_h = 2 * s[2];
        std::int64_t out_w = 2 * s[3];
        if (!skips.empty()) {
            out_h = g.shape(skips.back())[2];
            out_w = g.shape(skips.back())[3];
        }
        return upsample(c, layer, h, out_h, out_w);
    }
    case UNetLayerKind::Conv: break;
    }
    core::throw_invalid_format("unet layer '{}': a bare convolution where none belongs", layer.name);
}

// The runner's key for the plan of one size.
std::string plan_key(const UNetShape& shape) {
    return core::format("[{}, {}, {}, {}]", shape.batch, shape.height, shape.width, shape.context_tokens);
}

} // namespace

core::Graph build_unet_graph(const UNetArchitecture& a, const model_files::WeightSet& weights, const UNetShape& shape,
                             const UNetOptions& options, std::string_view prefix) {
    if (a.adm_in_channels > 0) {
        core::throw_error(ND_STATUS_UNSUPPORTED, "unet: the label embedding (SDXL's size and crop conditioning) "
                                                 "is not supported yet");
    }
    if (a.context_dim <= 0) {
        core::throw_error(ND_STATUS_UNSUPPORTED, "unet: a model without cross-attention is not supported");
    }
    if (shape.batch <= 0 || shape.height <= 0 || shape.width <= 0 || shape.context_tokens <= 0) {
        core::throw_error(ND_STATUS_INVALID_ARGUMENT,
                          "unet: batch {}, latent size {}x{} and {} context tokens must all be positive", shape.batch,
                          shape.height, shape.width, shape.context_tokens);
    }
    core::Graph g;
    const ModelWeights w(weights, std::string(prefix));
    const ValueId x = g.input("x", ND_DTYPE_F32, core::Shape{shape.batch, a.in_channels, shape.height, shape.width});
    const ValueId t = g.input("timesteps", ND_DTYPE_F32, core::Shape{shape.batch});
    const ValueId context =
        g.input("context", ND_DTYPE_F32, core::Shape{shape.batch, shape.context_tokens, a.context_dim});

    // Sinusoidal embedding ([cos, sin], no frequency shift) through a two-layer MLP; every ResBlock reads
    // silu of it, so that is computed once here.
    core::TimestepEmbeddingParams tp;
    tp.dim = static_cast<int>(a.model_channels);
    tp.flip_sin_to_cos = true;
    tp.downscale_freq_shift = 0.0f;
    ValueId emb = g.timestep_embedding(t, tp, "time_embed.sinusoidal");
    const LinearWeights time_0 =
        read_for("time_embed", [&] { return w.linear("time_embed.0", a.time_embed_dim, a.model_channels); });
    const LinearWeights time_2 =
        read_for("time_embed", [&] { return w.linear("time_embed.2", a.time_embed_dim, a.time_embed_dim); });
    emb = add_linear(g, emb, time_0, "time_embed.0");
    emb = g.silu(emb, "time_embed.1");
    emb = add_linear(g, emb, time_2, "time_embed.2");
    emb = g.silu(emb, "time_embed.silu");

    UNetLayerContext c{w, g, emb, context, options.heads, options.head_channels, options.groups};

    // Down: every input block's output is kept for the output block that mirrors it.
    std::vector<ValueId> skips;
    const ConvWeights stem = read_for("stem convolution 'input_blocks.0.0'",
                                      [&] { return w.conv("input_blocks.0.0", a.model_channels, a.in_channels, 3); });
    ValueId h = add_conv(g, x, stem, 1, 1, "input_blocks.0.0");
    skips.push_back(h);
    for (std::size_t b = 1; b < a.input_blocks.size(); ++b) {
        for (const UNetLayer& layer : a.input_blocks[b].layers) {
            h = run_layer(c, layer, h, {});
        }
        skips.push_back(h);
    }
    for (const UNetLayer& layer : a.middle_block.layers) {
        h = run_layer(c, layer, h, {});
    }
    // Up: each output block joins the latest skip along channels.
    for (std::size_t b = 0; b < a.output_blocks.size(); ++b) {
        const ValueId skip = skips.back();
        skips.pop_back();
        h = g.concat({h, skip}, 1, "output_blocks." + std::to_string(b) + ".concat");
        for (const UNetLayer& layer : a.output_blocks[b].layers) {
            h = run_layer(c, layer, h, skips);
        }
    }

    core::GroupNormParams np;
    np.groups = options.groups;
    np.eps = 1e-5f;
    np.fused_silu = true;
    const std::int64_t final_channels = g.shape(h)[1];
    const NormWeights out_norm = read_for("output norm 'out.0'", [&] { return w.norm("out.0", final_channels); });
    h = add_group_norm(g, h, out_norm, np, "out.0");
    const ConvWeights out_conv = read_for("output convolution 'out.2'",
                                          [&] { return w.conv("out.2", a.out_channels, final_channels, 3); });
    const ValueId eps = add_conv(g, h, out_conv, 1, 1, "out.2");
    g.mark_output(eps);
    return g;
}

UNet::UNet(model_files::WeightSet weights, backends::Backend& backend, UNetOptions options)
    : weights_(std::move(weights)), options_(options), architecture_(infer_unet_architecture(weights_)),
      runner_(backend) {}

GraphRunner::Builder UNet::builder(const UNetShape& shape) const {
    return [this, shape] { return build_unet_graph(architecture_, weights_, shape, options_); };
}

const core::Plan& UNet::plan(const UNetShape& shape) { return runner_.plan(plan_key(shape), builder(shape)); }

core::Tensor UNet::eps(const core::Tensor& x, const core::Tensor& timesteps, const core::Tensor& context) {
    const UNetArchitecture& a = architecture_;
    if (x.rank() != 4 || x.dim(1) != a.in_channels || x.dtype() != ND_DTYPE_F32) {
        core::throw_error(ND_STATUS_INVALID_ARGUMENT, "unet: latents must be F32 [B, {}, H, W], got {}",
                          a.in_channels, x.layout().to_string());
    }
    const std::int64_t batch = x.dim(0);
    if (timesteps.rank() != 1 || timesteps.dim(0) != batch || timesteps.dtype() != ND_DTYPE_F32) {
        core::throw_error(ND_STATUS_INVALID_ARGUMENT, "unet: timesteps must be F32 [{}], got {}", batch,
                          timesteps.layout().to_string());
    }
    if (context.rank() != 3 || context.dim(0) != batch || context.dim(2) != a.context_dim ||
        context.dtype() != ND_DTYPE_F32) {
        core::throw_error(ND_STATUS_INVALID_ARGUMENT, "unet: context must be F32 [{}, tokens, {}], got {}", batch,
                          a.context_dim, context.layout().to_string());
    }
    const UNetShape shape{batch, x.dim(2), x.dim(3), context.dim(1)};
    const core::Tensor inputs[] = {x, timesteps, context};
    std::vector<core::Tensor> out = runner_.run(plan_key(shape), builder(shape), inputs);
    return std::move(out.front());
}

core::Tensor UNet::eps(const core::Tensor& x, float timestep, const core::Tensor& context) {
    const std::vector<float> t(static_cast<std::size_t>(x.rank() > 0 ? x.dim(0) : 1), timestep);
    return eps(x, core::Tensor::from_f32(core::Shape{static_cast<std::int64_t>(t.size())}, t), context);
}

} // namespace nd::models
