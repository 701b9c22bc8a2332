// A model builder's window on its weights while it describes a graph: looks tensors up under a prefix,
// checks their shapes against what the node being built expects, and adds them to the graph.
//
// Every failure names the tensor and the node that needed it ("resblock 'input_blocks.4.0' needs weight
// 'model.diffusion_model.input_blocks.4.0.in_layers.2.weight' [64, 32, 3, 3], but the file has [64, 64, 3,
// 3]"), so a broken or foreign model file is diagnosed at load time, before anything runs.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

#include "core/graph.hpp"
#include "model_files/weight_set.hpp"

namespace nd::models {

class GraphWeights {
public:
    // `prefix` is prepended to every name asked for ("model.diffusion_model.").
    GraphWeights(const model_files::WeightSet& weights, core::Graph& graph, std::string prefix);

    [[nodiscard]] bool has(std::string_view name) const;
    // The tensor itself (no graph node); throws Error(ND_STATUS_INVALID_FORMAT) naming it and `node` when absent.
    [[nodiscard]] const core::Tensor& tensor(std::string_view name, std::string_view node) const;

    // The weight as a graph value, stored dtype kept. `expected` extents of -1 match anything; a shape
    // mismatch throws Error(ND_STATUS_INVALID_FORMAT) naming the tensor, `node` and both shapes.
    core::ValueId get(std::string_view name, std::initializer_list<std::int64_t> expected, std::string_view node);

    // A [out, in] matrix for graph.linear: a [out, in] tensor as stored, or a 1x1 convolution kernel
    // [out, in, 1, 1] seen as one (the same numbers: SD 1.x stores its transformer projections that way).
    core::ValueId matrix(std::string_view name, std::int64_t out, std::int64_t in, std::string_view node);

    // A convolution kernel [out, in, k, k], or its rows [out, in*k*k] (block-quantized files store them so),
    // with `params` given the kernel size.
    core::ValueId conv_kernel(std::string_view name, std::int64_t out, std::int64_t in, int k, std::string_view node,
                              core::Conv2dParams& params);

    // A bias [n] converted to F32 when stored in half precision (linear reads F32 biases only; the copy is
    // n floats, made once per graph).
    core::ValueId bias_f32(std::string_view name, std::int64_t n, std::string_view node);

    [[nodiscard]] const std::string& prefix() const noexcept { return prefix_; }
    [[nodiscard]] core::Graph& graph() noexcept { return graph_; }

private:
    const model_files::WeightSet& weights_;
    core::Graph& graph_;
    std::string prefix_;
};

} // namespace nd::models
