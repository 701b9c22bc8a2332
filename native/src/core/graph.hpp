// A computation as a graph, built completely before anything runs.
//
// A Graph holds inputs (filled in at run time), weights (constant tensors, typically borrowed from a
// mapped file) and op nodes. Each node produces one value, named by its ValueId. Every builder method
// infers the output's dtype, shape and strides from its operands and checks them there and then: a
// mismatch throws nd::core::Error(ND_STATUS_INVALID_ARGUMENT) naming the op, the node (when named) and the
// shapes, e.g. "conv2d 'down.0.conv': input [1, 320, 64, 64] has 320 channels but weight [640, 128, 3, 3]
// expects 128". So a model that builds its graph has also checked it.
//
// View nodes (reshape, permute, transpose, narrow, squeeze, unsqueeze) compute nothing: their value aliases
// their source's memory with another Layout, and the planner (core/planner.hpp) keeps the source alive as
// long as the view is used. Compute nodes write a fresh, packed output.
//
// Activations are F32 unless an op says otherwise (convert makes F16/BF16 copies; ids are I32).
// Linear, conv2d and embedding weights may be of any dtype a backend can read (F32, F16, BF16, the GGML
// block types); which (op, dtype) pairs run where is the backends' business (backends/backend.hpp).
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/tensor.hpp"
#include "native_diffusion.h"

namespace nd::core {

enum class OpKind : std::uint8_t {
    // sources
    Input,  // filled in by the caller at run time
    Weight, // a constant tensor
    // views: no kernel, the value aliases its source
    Reshape,
    Permute,
    Narrow,
    // data movement
    Contiguous, // a packed copy of a (strided) view
    Concat,
    Convert, // dtype conversion (F32 <-> F16/BF16)
    // linear algebra
    Linear, // x[..., K] · W[N, K]ᵀ + b[N]; W of any dtype
    Matmul, // a[..., M, K] · b[..., K, N], both activations
    Conv2d,
    Attention, // fused scaled-dot-product attention
    // normalization
    GroupNorm,
    LayerNorm,
    Softmax,
    // element-wise
    Add,
    Sub,
    Mul,
    Div,
    Scale,
    Clamp,
    Silu,
    Gelu,
    QuickGelu,
    Geglu,
    // SD specifics
    UpsampleNearest2x,
    TimestepEmbedding,
    Embedding,
};

inline constexpr int kOpKindCount = static_cast<int>(OpKind::Embedding) + 1;

// "conv2d", "group_norm"...: the names messages and backends use.
std::string_view op_name(OpKind op) noexcept;

// Whether the op only makes a view (no kernel, no memory of its own).
bool op_is_view(OpKind op) noexcept;

// A value in a graph: the output of node `index`. ValueId{} (index -1) means "none" for optional operands.
struct ValueId {
    std::int32_t index = -1;

    [[nodiscard]] bool valid() const noexcept { return index >= 0; }
    friend bool operator==(ValueId, ValueId) noexcept = default;
};

struct Conv2dParams {
    // The kernel size: taken from a 4-D weight [O, C, kh, kw] (0 = whatever it is); required for a 2-D
    // weight [O, C*kh*kw], whose rows may be of any dtype a matmul reads (block-quantized included).
    int kernel_h = 0;
    int kernel_w = 0;
    int stride_h = 1;
    int stride_w = 1;
    int pad_h = 0;
    int pad_w = 0;
    int dilation_h = 1;
    int dilation_w = 1;
};

struct GroupNormParams {
    int groups = 32;
    float eps = 1e-5f;
    bool fused_silu = false; // silu(group_norm(x)), as every SD ResBlock does
};

struct LayerNormParams {
    float eps = 1e-5f;
};

enum class GeluApproximation : std::uint8_t { Erf, Tanh };

struct GeluParams {
    GeluApproximation approximation = GeluApproximation::Erf;
};

struct AttentionParams {
    float scale = 0.0f;  // 0 means 1/sqrt(head_dim)
    bool causal = false; // query i sees keys 0..i (CLIP's text encoder)
};

struct ScaleParams {
    float scale = 1.0f; // out = x * scale + bias
    float bias = 0.0f;
};

struct ClampParams {
    float min = 0.0f;
    float max = 0.0f;
};

struct TimestepEmbeddingParams {
    int dim = 320;              // output width (even)
    float max_period = 10000.0f;
    bool flip_sin_to_cos = true; // [cos, sin] as the SD UNets use; [sin, cos] when false
    float downscale_freq_shift = 0.0f;
    float scale = 1.0f; // multiplies the angles (diffusers' `scale`)
};

struct ConcatParams {
    int dim = 0;
};

struct ConvertParams {
    nd_dtype dtype = ND_DTYPE_F32;
};

// A view's parameters are its output layout (held by the node); this records how it was asked for.
struct ViewParams {
    std::array<int, kMaxDims> permutation{}; // Permute
    int dim = 0;                             // Narrow
    std::int64_t start = 0;                  // Narrow
};

using OpParams = std::variant<std::monostate, Conv2dParams, GroupNormParams, LayerNormParams, GeluParams,
                              AttentionParams, ScaleParams, ClampParams,
                              TimestepEmbeddingParams, ConcatParams, ConvertParams, ViewParams>;

struct Node {
    OpKind op = OpKind::Input;
    std::string name;             // may be empty
    std::vector<ValueId> inputs;  // operands in the op's order; an absent optional operand is ValueId{}
    OpParams params;
    // The output: for a view, offset is relative to the first byte of `base`'s memory; compute nodes,
    // inputs and weights are packed with offset 0.
    Layout layout;
    ValueId base;    // for views: the non-view value whose memory this aliases (itself otherwise)
    Tensor constant; // for weights
    bool is_output = false;
};

class Graph {
public:
    Graph() = default;

    // ------------------------------------------------------------------ sources
    ValueId input(std::string name, nd_dtype dtype, const Shape& shape);
    ValueId weight(std::string name, Tensor tensor);

    // ------------------------------------------------------------------ views (no copy)
    // Throws when the source's strides cannot express the new shape (then use contiguous() first).
    ValueId reshape(ValueId x, const Shape& shape, std::string name = {});
    ValueId permute(ValueId x, std::initializer_list<int> dims, std::string name = {});
    ValueId transpose(ValueId x, int a, int b, std::string name = {});
    ValueId narrow(ValueId x, int dim, std::int64_t start, std::int64_t length, std::string name = {});
    ValueId squeeze(ValueId x, int dim, std::string name = {});
    ValueId unsqueeze(ValueId x, int dim, std::string name = {});

    // ------------------------------------------------------------------ data movement
    ValueId contiguous(ValueId x, std::string name = {});
    // Inputs of one dtype whose shapes agree except along `dim`.
    ValueId concat(std::span<const ValueId> xs, int dim, std::string name = {});
    ValueId concat(std::initializer_list<ValueId> xs, int dim, std::string name = {}) {
        return concat(std::span<const ValueId>(xs.begin(), xs.size()), dim, std::move(name));
    }
    // F32, F16 and BF16 to each other.
    ValueId convert(ValueId x, nd_dtype dtype, std::string name = {});

    // ------------------------------------------------------------------ linear algebra
    // x [..., K] (F32, rank >= 1), weight [N, K] (any dtype), bias [N] F32 or none -> [..., N].
    ValueId linear(ValueId x, ValueId weight, ValueId bias = {}, std::string name = {});
    // a [..., M, K] · b [..., K, N] -> [..., M, N], F32, the same leading dimensions (rank 2..4).
    ValueId matmul(ValueId a, ValueId b, std::string name = {});
    // x [N, C, H, W] F32, weight [O, C, kh, kw] (F32/F16/BF16) or [O, C*kh*kw] rows of any dtype with the
    // kernel size in params, bias [O] (F32, F16 or BF16) or none -> [N, O, H', W'].
    ValueId conv2d(ValueId x, ValueId weight, ValueId bias, const Conv2dParams& params, std::string name = {});
    // q [B, H, Tq, D], k and v [B, H, Tk, D] (F32, any strides) -> [B, H, Tq, D].
    ValueId attention(ValueId q, ValueId k, ValueId v, const AttentionParams& params = {}, std::string name = {});

    // ------------------------------------------------------------------ normalization
    // x [N, C, ...] with C divisible by groups; weight and bias [C] (F32, F16 or BF16) or none.
    ValueId group_norm(ValueId x, ValueId weight, ValueId bias, const GroupNormParams& params, std::string name = {});
    // Over the innermost dimension; weight and bias [C] (F32, F16 or BF16) or none.
    ValueId layer_norm(ValueId x, ValueId weight, ValueId bias, const LayerNormParams& params = {},
                       std::string name = {});
    // Over the innermost dimension (a scale goes in front as its own op, or into attention).
    ValueId softmax(ValueId x, std::string name = {});

    // ------------------------------------------------------------------ element-wise
    // Broadcasting as NumPy: shapes aligned at the innermost dimension, extent 1 stretches.
    ValueId add(ValueId a, ValueId b, std::string name = {});
    ValueId sub(ValueId a, ValueId b, std::string name = {});
    ValueId mul(ValueId a, ValueId b, std::string name = {});
    ValueId div(ValueId a, ValueId b, std::string name = {});
    ValueId scale(ValueId x, float scale, float bias = 0.0f, std::string name = {});
    ValueId clamp(ValueId x, float min, float max, std::string name = {});
    ValueId silu(ValueId x, std::string name = {});
    ValueId gelu(ValueId x, GeluApproximation approximation = GeluApproximation::Erf, std::string name = {});
    ValueId quick_gelu(ValueId x, std::string name = {});
    // x [..., 2n] -> [..., n]: x[..., :n] * gelu_erf(x[..., n:]) (diffusers' GEGLU: the second half gates).
    ValueId geglu(ValueId x, std::string name = {});

    // ------------------------------------------------------------------ SD specifics
    // x [N, C, H, W] -> [N, C, 2H, 2W]
    ValueId upsample_nearest2x(ValueId x, std::string name = {});
    // timesteps [N] F32 -> [N, dim] F32 (sinusoidal)
    ValueId timestep_embedding(ValueId timesteps, const TimestepEmbeddingParams& params, std::string name = {});
    // table [V, D] (any dtype, rows packed), ids [...] I32 or I64 (rank <= 3) -> [..., D] F32
    ValueId embedding(ValueId table, ValueId ids, std::string name = {});

    // ------------------------------------------------------------------ outputs and access
    // Marks a value as an output: it stays alive to the end of the run and is read back.
    void mark_output(ValueId value);

    [[nodiscard]] std::size_t size() const noexcept { return nodes_.size(); }
    // Throws on an id not from this graph. The reference (like nodes()) is valid until the next node is
    // added; layout() and shape() return copies, safe to hold across builder calls.
    [[nodiscard]] const Node& node(ValueId value) const;
    [[nodiscard]] std::span<const Node> nodes() const noexcept { return nodes_; }
    [[nodiscard]] Layout layout(ValueId value) const { return node(value).layout; }
    [[nodiscard]] Shape shape(ValueId value) const { return node(value).layout.shape; }
    [[nodiscard]] std::span<const ValueId> inputs() const noexcept { return inputs_; }
    [[nodiscard]] std::span<const ValueId> outputs() const noexcept { return outputs_; }
    // "conv2d 'down.0.conv'" or "conv2d #12": how messages name a node.
    [[nodiscard]] std::string describe(ValueId value) const;

private:
    ValueId add_node(Node node);
    // A compute node with a fresh packed output described by `layout`.
    ValueId add_compute(OpKind op, std::vector<ValueId> inputs, OpParams params, const Layout& layout,
                        std::string name);
    ValueId add_view(OpKind op, ValueId x, const Layout& layout, ViewParams params, std::string name);
    ValueId binary(OpKind op, ValueId a, ValueId b, std::string name);
    ValueId unary(OpKind op, ValueId x, OpParams params, std::string name);
    const Node& operand(OpKind op, const std::string& name, ValueId value, const char* role) const;
    // A norm's optional per-channel weight and bias: `channels` long, F32/F16/BF16.
    void require_norm_affine(OpKind op, const std::string& name, ValueId weight, ValueId bias, std::int64_t channels,
                             const Node& in) const;

    std::vector<Node> nodes_;
    std::vector<ValueId> inputs_;
    std::vector<ValueId> outputs_;
};

} // namespace nd::core
