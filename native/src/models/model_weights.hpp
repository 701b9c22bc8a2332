// A model's view of its weights: names under one prefix, each looked up with the shape the model expects.
// The one weight reader of every model builder (clip_text_encoder, unet, vae).
//
// Model builders read every hyperparameter from tensor shapes, so the first
// weight of a block fixes a width and the rest are checked against it here, when the model is made: a
// missing or mis-shaped tensor is refused with its full name before any graph exists, and the graph's own
// shape checks are only a second line. The small structs below are the operands of one layer each; a
// model keeps them (tensors share their storage, nothing is copied) and wires them into graphs later.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

#include "core/error.hpp"
#include "core/graph.hpp"
#include "core/tensor.hpp"
#include "model_files/weight_set.hpp"

namespace nd::models {

// A convolution's weight ([O, C, kh, kw], or [O, C*kh*kw] rows of a quantized type) and bias [O].
struct ConvWeights {
    core::Tensor weight;
    core::Tensor bias; // may be undefined
    int kernel = 1;    // square kernels only: every SD convolution is 1x1 or 3x3

    [[nodiscard]] bool defined() const noexcept { return weight.defined(); }
    [[nodiscard]] std::int64_t out_channels() const noexcept { return weight.dim(0); }
};

// A linear layer: weight [N, K] of any dtype, bias [N] converted to F32 (what graph linear takes).
struct LinearWeights {
    core::Tensor weight;
    core::Tensor bias; // F32; may be undefined
};

// A group or layer norm's affine terms [C] (F32, F16 or BF16).
struct NormWeights {
    core::Tensor weight;
    core::Tensor bias;
};

// Whether a linear layer must have a bias (attention's q/k/v projections carry none in SD checkpoints).
enum class Bias { Required, Optional };

class ModelWeights {
public:
    // `set` must outlive this object (the tensors taken from it do not depend on it).
    ModelWeights(const model_files::WeightSet& set, std::string prefix);

    [[nodiscard]] const std::string& prefix() const noexcept { return prefix_; }
    [[nodiscard]] std::string full_name(std::string_view name) const;
    // The weights under prefix() + `prefix`.
    [[nodiscard]] ModelWeights sub(std::string_view prefix) const;

    [[nodiscard]] bool has(std::string_view name) const;
    // Throws Error(ND_STATUS_INVALID_FORMAT) naming the full name when absent.
    [[nodiscard]] const core::Tensor& get(std::string_view name) const;
    // The same, and refuses a tensor whose rank is not `rank`.
    [[nodiscard]] const core::Tensor& get(std::string_view name, int rank) const;
    // The same, and refuses a tensor whose shape is not `shape` (both shapes in the message).
    [[nodiscard]] const core::Tensor& get(std::string_view name, const core::Shape& shape) const;

    // How many of `stem`.0., `stem`.1., ... exist (consecutive from 0): layers, levels, blocks.
    [[nodiscard]] int count_indexed(std::string_view stem) const;

    // `name`.weight and `name`.bias, [channels] each.
    [[nodiscard]] NormWeights norm(std::string_view name, std::int64_t channels) const;
    // `name`.weight [out, in] and `name`.bias [out] (converted to F32).
    [[nodiscard]] LinearWeights linear(std::string_view name, std::int64_t out, std::int64_t in) const;
    // `name`.weight as [out, in, kernel, kernel] (or quantized rows [out, in*kernel*kernel]) and `name`.bias
    // [out]; out < 0 takes the output width from the weight.
    [[nodiscard]] ConvWeights conv(std::string_view name, std::int64_t out, std::int64_t in,
                                   int kernel) const;
    // A linear layer stored as [out, in] or as a 1x1 convolution [out, in, 1, 1] (SD 1.x's attention and
    // transformer projections), read as [out, in]; with Bias::Optional a missing bias stays undefined.
    [[nodiscard]] LinearWeights conv1x1_as_linear(std::string_view name, std::int64_t out, std::int64_t in,
                                                  Bias bias = Bias::Required) const;
    // The input width of convolution `name` with this kernel (from dimension 1 of its weight).
    [[nodiscard]] std::int64_t conv_in_channels(std::string_view name, int kernel) const;

private:
    const model_files::WeightSet* set_;
    std::string prefix_;
};

// Runs `read` (weight lookups for one node of a graph) and puts `node` in front of any error's message, so a
// missing or mis-shaped weight is reported with the layer that needed it ("resblock 'input_blocks.4.0': ...").
template <typename Read>
auto read_for(std::string_view node, Read&& read) -> decltype(read()) {
    try {
        return std::forward<Read>(read)();
    } catch (const core::Error& error) {
        throw core::with_context(error, node);
    }
}

// An F32 copy of a float vector (bias, embedding), or the tensor itself when it is already F32. Throws
// Error(ND_STATUS_UNSUPPORTED) naming `name` for a block-quantized dtype.
core::Tensor to_f32_tensor(const core::Tensor& tensor, std::string_view name);

// Graph helpers over the structs above; `name` names the nodes (the weights' prefix, so that a shape error
// in the graph names the layer too).
core::ValueId add_linear(core::Graph& graph, core::ValueId x, const LinearWeights& w,
                         const std::string& name);
core::ValueId add_conv(core::Graph& graph, core::ValueId x, const ConvWeights& w, int stride, int pad,
                       const std::string& name);
core::ValueId add_group_norm(core::Graph& graph, core::ValueId x, const NormWeights& w,
                             const core::GroupNormParams& params, const std::string& name);
core::ValueId add_layer_norm(core::Graph& graph, core::ValueId x, const NormWeights& w, float eps,
                             const std::string& name);

} // namespace nd::models
