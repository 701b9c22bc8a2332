#include "models/unet.hpp"

#include <utility>
#include <vector>

#include "core/error.hpp"
#include "models/graph_weights.hpp"
#include "models/unet_blocks.hpp"

namespace nd::models {

namespace {

using core::ValueId;

ValueId run_layer(UNetLayerContext& c, const UNetLayer& layer, ValueId h, const std::vector<ValueId>& skips) {
    core::Graph& g = c.weights.graph();
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
    GraphWeights w(weights, g, std::string(prefix));
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
    emb = g.linear(emb, w.get("time_embed.0.weight", {a.time_embed_dim, a.model_channels}, "time_embed"),
                   w.bias_f32("time_embed.0.bias", a.time_embed_dim, "time_embed"), "time_embed.0");
    emb = g.silu(emb, "time_embed.1");
    emb = g.linear(emb, w.get("time_embed.2.weight", {a.time_embed_dim, a.time_embed_dim}, "time_embed"),
                   w.bias_f32("time_embed.2.bias", a.time_embed_dim, "time_embed"), "time_embed.2");
    emb = g.silu(emb, "time_embed.silu");

    UNetLayerContext c{w, emb, context, options.heads, options.head_channels, options.groups};

    // Down: every input block's output is kept for the output block that mirrors it.
    std::vector<ValueId> skips;
    core::Conv2dParams stem;
    stem.pad_h = 1;
    stem.pad_w = 1;
    const std::string stem_node = "stem convolution 'input_blocks.0.0'";
    const ValueId stem_w = w.conv_kernel("input_blocks.0.0.weight", a.model_channels, a.in_channels, 3, stem_node, stem);
    ValueId h = g.conv2d(x, stem_w, w.get("input_blocks.0.0.bias", {a.model_channels}, stem_node), stem,
                         "input_blocks.0.0");
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
    h = g.group_norm(h, w.get("out.0.weight", {final_channels}, "output norm 'out.0'"),
                     w.get("out.0.bias", {final_channels}, "output norm 'out.0'"), np, "out.0");
    core::Conv2dParams op;
    op.pad_h = 1;
    op.pad_w = 1;
    const std::string out_node = "output convolution 'out.2'";
    const ValueId out_w = w.conv_kernel("out.2.weight", a.out_channels, final_channels, 3, out_node, op);
    const ValueId eps = g.conv2d(h, out_w, w.get("out.2.bias", {a.out_channels}, out_node), op, "out.2");
    g.mark_output(eps);
    return g;
}

UNet::UNet(model_files::WeightSet weights, backends::Backend& backend, UNetOptions options)
    : weights_(std::move(weights)), backend_(backend), options_(options),
      architecture_(infer_unet_architecture(weights_)), executor_(backend) {}

const core::Plan& UNet::plan(const UNetShape& shape) {
    auto found = plans_.find(shape);
    if (found == plans_.end()) {
        core::Plan plan = backends::plan_for(build_unet_graph(architecture_, weights_, shape, options_), backend_);
        found = plans_.emplace(shape, std::move(plan)).first;
    }
    return found->second;
}

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
    const core::Plan& p = plan(UNetShape{batch, x.dim(2), x.dim(3), context.dim(1)});
    std::vector<core::Tensor> out = executor_.run(p, {x, timesteps, context});
    return std::move(out.front());
}

core::Tensor UNet::eps(const core::Tensor& x, float timestep, const core::Tensor& context) {
    const std::vector<float> t(static_cast<std::size_t>(x.rank() > 0 ? x.dim(0) : 1), timestep);
    return eps(x, core::Tensor::from_f32(core::Shape{static_cast<std::int64_t>(t.size())}, t), context);
}

} // namespace nd::models
