#include "core/graph.hpp"

#include <algorithm>
#include <array>
#include <utility>

#include "core/dtype.hpp"
#include "core/error.hpp"

namespace nd::core {

namespace {

constexpr std::array<std::string_view, kOpKindCount> kOpNames{
    "input",       "weight",    "reshape",   "permute",    "narrow",    "contiguous",          "concat",
    "convert",     "linear",    "matmul",    "conv2d",     "attention", "group_norm",          "layer_norm",
    "softmax",     "add",       "sub",       "mul",        "div",       "scale",               "clamp",
    "silu",        "gelu",      "quick_gelu", "geglu",     "upsample_nearest2x", "timestep_embedding",
    "embedding",
};

std::string label(OpKind op, const std::string& name) {
    std::string text(op_name(op));
    if (!name.empty()) {
        text += " '";
        text += name;
        text += '\'';
    }
    return text;
}

// Throws Error(ND_STATUS_INVALID_ARGUMENT) with "op 'name': " in front of the formatted text.
template <typename... Args>
[[noreturn]] void fail(OpKind op, const std::string& name, FormatString<std::type_identity_t<Args>...> text,
                       const Args&... args) {
    throw Error(ND_STATUS_INVALID_ARGUMENT, label(op, name) + ": " + format(text, args...));
}

void require_f32(OpKind op, const std::string& name, const Node& node, const char* role) {
    if (node.layout.dtype != ND_DTYPE_F32) {
        fail(op, name, "{} {} is {}; this op takes F32", role, node.layout.shape.to_string(),
             dtype_name(node.layout.dtype));
    }
}

void require_rank(OpKind op, const std::string& name, const Node& node, const char* role, int min_rank,
                  int max_rank) {
    const int rank = node.layout.rank();
    if (rank < min_rank || rank > max_rank) {
        if (min_rank == max_rank) {
            fail(op, name, "{} {} has {} dimensions, expected {}", role, node.layout.shape.to_string(), rank, min_rank);
        }
        fail(op, name, "{} {} has {} dimensions, expected {} to {}", role, node.layout.shape.to_string(), rank,
             min_rank, max_rank);
    }
}

bool is_float_dtype(nd_dtype dtype) {
    return dtype == ND_DTYPE_F32 || dtype == ND_DTYPE_F16 || dtype == ND_DTYPE_BF16;
}

// A per-channel vector, packed: F32 [channels] (biases), or F32/F16/BF16 when `half_ok` (norm weights).
void require_vector(OpKind op, const std::string& name, const Node& node, const char* role, std::int64_t channels,
                    const Node& against, const char* against_role, bool half_ok = false) {
    if (half_ok) {
        if (!is_float_dtype(node.layout.dtype)) {
            fail(op, name, "{} {} is {}; this op takes F32, F16 or BF16", role, node.layout.shape.to_string(),
                 dtype_name(node.layout.dtype));
        }
    } else {
        require_f32(op, name, node, role);
    }
    if (node.layout.rank() != 1 || node.layout.shape[0] != channels) {
        fail(op, name, "{} {} does not match the {} channels of {} {}", role, node.layout.shape.to_string(), channels,
             against_role, against.layout.shape.to_string());
    }
    if (!node.layout.is_contiguous()) {
        fail(op, name, "{} {} must be contiguous (its stride is {} bytes)", role, node.layout.shape.to_string(),
             node.layout.strides[0]);
    }
}

// Weights whose rows (innermost dimension) a matmul reads: any dtype, innermost dimension packed.
void require_row_readable(OpKind op, const std::string& name, const Node& node, const char* role) {
    const nd_dtype dtype = node.layout.dtype;
    if (dtype_block_bytes(dtype) == 0) {
        fail(op, name, "{} {} has an unknown dtype {}", role, node.layout.shape.to_string(), static_cast<int>(dtype));
    }
    if (node.layout.rank() > 0 && node.layout.shape.back() > 1 &&
        node.layout.strides[static_cast<std::size_t>(node.layout.rank() - 1)] !=
            static_cast<std::int64_t>(dtype_block_bytes(dtype))) {
        fail(op, name, "{} {} must have contiguous rows (its innermost stride is {} bytes); make it contiguous first",
             role, node.layout.shape.to_string(), node.layout.strides[static_cast<std::size_t>(node.layout.rank() - 1)]);
    }
}

Shape broadcast_shapes(OpKind op, const std::string& name, const Shape& a, const Shape& b) {
    Shape out;
    out.rank = std::max(a.rank, b.rank);
    for (int d = 0; d < out.rank; ++d) {
        const int da = d - (out.rank - a.rank);
        const int db = d - (out.rank - b.rank);
        const std::int64_t ea = da >= 0 ? a[da] : 1;
        const std::int64_t eb = db >= 0 ? b[db] : 1;
        if (ea != eb && ea != 1 && eb != 1) {
            fail(op, name, "shapes {} and {} do not broadcast (dimension {} of the result: {} vs {})", a.to_string(),
                 b.to_string(), d, ea, eb);
        }
        out[d] = ea == 1 ? eb : ea;
    }
    return out;
}

int normalize_dim(OpKind op, const std::string& name, int dim, const Shape& shape) {
    const int d = dim < 0 ? dim + shape.rank : dim;
    if (d < 0 || d >= shape.rank) {
        fail(op, name, "dimension {} is out of range for {}", dim, shape.to_string());
    }
    return d;
}

} // namespace

std::string_view op_name(OpKind op) noexcept {
    const auto index = static_cast<std::size_t>(op);
    return index < kOpNames.size() ? kOpNames[index] : std::string_view("?");
}

bool op_is_view(OpKind op) noexcept {
    return op == OpKind::Reshape || op == OpKind::Permute || op == OpKind::Narrow;
}

// --------------------------------------------------------------------------------------- bookkeeping

const Node& Graph::node(ValueId value) const {
    if (!value.valid() || static_cast<std::size_t>(value.index) >= nodes_.size()) {
        throw_error(ND_STATUS_INVALID_ARGUMENT, "value #{} does not belong to this graph of {} nodes", value.index,
                    nodes_.size());
    }
    return nodes_[static_cast<std::size_t>(value.index)];
}

const Node& Graph::operand(OpKind op, const std::string& name, ValueId value, const char* role) const {
    if (!value.valid() || static_cast<std::size_t>(value.index) >= nodes_.size()) {
        fail(op, name, "{} is value #{}, which does not belong to this graph", role, value.index);
    }
    return nodes_[static_cast<std::size_t>(value.index)];
}

std::string Graph::describe(ValueId value) const {
    const Node& n = node(value);
    if (!n.name.empty()) {
        return label(n.op, n.name);
    }
    return std::string(op_name(n.op)) + " #" + std::to_string(value.index);
}

void Graph::require_norm_affine(OpKind op, const std::string& name, ValueId weight, ValueId bias,
                                std::int64_t channels, const Node& in) const {
    if (weight.valid()) {
        require_vector(op, name, operand(op, name, weight, "weight"), "weight", channels, in, "input", true);
    }
    if (bias.valid()) {
        require_vector(op, name, operand(op, name, bias, "bias"), "bias", channels, in, "input", true);
    }
}

ValueId Graph::add_compute(OpKind op, std::vector<ValueId> inputs, OpParams params, const Layout& layout,
                           std::string name) {
    Node n;
    n.op = op;
    n.inputs = std::move(inputs);
    n.params = std::move(params);
    n.layout = layout;
    n.name = std::move(name);
    return add_node(std::move(n));
}

ValueId Graph::add_node(Node node) {
    const ValueId id{static_cast<std::int32_t>(nodes_.size())};
    if (!op_is_view(node.op)) {
        node.base = id;
    }
    nodes_.push_back(std::move(node));
    return id;
}

void Graph::mark_output(ValueId value) {
    (void)node(value); // validates the id
    Node& n = nodes_[static_cast<std::size_t>(value.index)];
    if (!n.is_output) {
        n.is_output = true;
        outputs_.push_back(value);
    }
}

// -------------------------------------------------------------------------------------------- sources

ValueId Graph::input(std::string name, nd_dtype dtype, const Shape& shape) {
    Node n;
    n.op = OpKind::Input;
    try {
        n.layout = Layout::packed(dtype, shape);
    } catch (const Error& e) {
        fail(OpKind::Input, name, "{}", e.message());
    }
    n.name = std::move(name);
    const ValueId id = add_node(std::move(n));
    inputs_.push_back(id);
    return id;
}

ValueId Graph::weight(std::string name, Tensor tensor) {
    if (!tensor.defined()) {
        fail(OpKind::Weight, name, "the tensor has no storage");
    }
    Node n;
    n.op = OpKind::Weight;
    n.layout = tensor.layout();
    n.layout.offset = 0; // the node's value starts at the tensor's first element
    n.constant = std::move(tensor);
    n.name = std::move(name);
    return add_node(std::move(n));
}

// ---------------------------------------------------------------------------------------------- views

ValueId Graph::add_view(OpKind op, ValueId x, const Layout& layout, ViewParams params, std::string name) {
    const Node& source = nodes_[static_cast<std::size_t>(x.index)];
    Node n;
    n.op = op;
    n.name = std::move(name);
    n.inputs = {x};
    n.params = params;
    n.layout = layout;
    n.base = source.base;
    return add_node(std::move(n));
}

ValueId Graph::reshape(ValueId x, const Shape& shape, std::string name) {
    const Node& source = operand(OpKind::Reshape, name, x, "input");
    Layout layout;
    try {
        layout = source.layout.reshape(shape);
    } catch (const Error& e) {
        fail(OpKind::Reshape, name, "{}", e.message());
    }
    return add_view(OpKind::Reshape, x, layout, {}, std::move(name));
}

ValueId Graph::permute(ValueId x, std::initializer_list<int> dims, std::string name) {
    const Node& source = operand(OpKind::Permute, name, x, "input");
    Layout layout;
    try {
        layout = source.layout.permute(dims);
    } catch (const Error& e) {
        fail(OpKind::Permute, name, "{}", e.message());
    }
    ViewParams params;
    std::copy(dims.begin(), dims.end(), params.permutation.begin());
    return add_view(OpKind::Permute, x, layout, params, std::move(name));
}

ValueId Graph::transpose(ValueId x, int a, int b, std::string name) {
    const Node& source = operand(OpKind::Permute, name, x, "input");
    Layout layout;
    try {
        layout = source.layout.transpose(a, b);
    } catch (const Error& e) {
        fail(OpKind::Permute, name, "{}", e.message());
    }
    ViewParams params;
    for (int d = 0; d < kMaxDims; ++d) {
        params.permutation[static_cast<std::size_t>(d)] = d;
    }
    const int rank = source.layout.rank();
    std::swap(params.permutation[static_cast<std::size_t>((a + rank) % rank)],
              params.permutation[static_cast<std::size_t>((b + rank) % rank)]);
    return add_view(OpKind::Permute, x, layout, params, std::move(name));
}

ValueId Graph::narrow(ValueId x, int dim, std::int64_t start, std::int64_t length, std::string name) {
    const Node& source = operand(OpKind::Narrow, name, x, "input");
    Layout layout;
    try {
        layout = source.layout.narrow(dim, start, length);
    } catch (const Error& e) {
        fail(OpKind::Narrow, name, "{}", e.message());
    }
    ViewParams params;
    params.dim = dim;
    params.start = start;
    return add_view(OpKind::Narrow, x, layout, params, std::move(name));
}

ValueId Graph::squeeze(ValueId x, int dim, std::string name) {
    const Node& source = operand(OpKind::Reshape, name, x, "input");
    Layout layout;
    try {
        layout = source.layout.squeeze(dim);
    } catch (const Error& e) {
        fail(OpKind::Reshape, name, "{}", e.message());
    }
    return add_view(OpKind::Reshape, x, layout, {}, std::move(name));
}

ValueId Graph::unsqueeze(ValueId x, int dim, std::string name) {
    const Node& source = operand(OpKind::Reshape, name, x, "input");
    Layout layout;
    try {
        layout = source.layout.unsqueeze(dim);
    } catch (const Error& e) {
        fail(OpKind::Reshape, name, "{}", e.message());
    }
    return add_view(OpKind::Reshape, x, layout, {}, std::move(name));
}

// ------------------------------------------------------------------------------------- data movement

ValueId Graph::contiguous(ValueId x, std::string name) {
    const Node& source = operand(OpKind::Contiguous, name, x, "input");
    return add_compute(OpKind::Contiguous, {x}, {}, Layout::packed(source.layout.dtype, source.layout.shape), std::move(name));
}

ValueId Graph::concat(std::span<const ValueId> xs, int dim, std::string name) {
    constexpr OpKind op = OpKind::Concat;
    if (xs.empty()) {
        fail(op, name, "needs at least one input");
    }
    const Node& first = operand(op, name, xs[0], "input 0");
    const int d = normalize_dim(op, name, dim, first.layout.shape);
    Shape out = first.layout.shape;
    out[d] = 0;
    for (std::size_t i = 0; i < xs.size(); ++i) {
        const Node& x = operand(op, name, xs[i], "input");
        if (x.layout.dtype != first.layout.dtype) {
            fail(op, name, "input {} is {} but input 0 is {}", i, dtype_name(x.layout.dtype),
                 dtype_name(first.layout.dtype));
        }
        bool compatible = x.layout.rank() == first.layout.rank();
        for (int k = 0; compatible && k < out.rank; ++k) {
            compatible = k == d || x.layout.shape[k] == first.layout.shape[k];
        }
        if (!compatible) {
            fail(op, name, "input {} {} does not match input 0 {} outside dimension {}", i,
                 x.layout.shape.to_string(), first.layout.shape.to_string(), d);
        }
        if (dtype_is_quantized(x.layout.dtype) && d == out.rank - 1) {
            fail(op, name, "block-quantized inputs concatenate along outer dimensions only");
        }
        out[d] += x.layout.shape[d];
    }
    Node n;
    n.op = op;
    n.inputs.assign(xs.begin(), xs.end());
    n.params = ConcatParams{d};
    n.layout = Layout::packed(first.layout.dtype, out);
    n.name = std::move(name);
    return add_node(std::move(n));
}

ValueId Graph::convert(ValueId x, nd_dtype dtype, std::string name) {
    constexpr OpKind op = OpKind::Convert;
    const Node& source = operand(op, name, x, "input");
    if (!is_float_dtype(source.layout.dtype) || !is_float_dtype(dtype)) {
        fail(op, name, "{} {} to {}: only F32, F16 and BF16 convert", dtype_name(source.layout.dtype),
             source.layout.shape.to_string(), dtype_name(dtype));
    }
    return add_compute(op, {x}, ConvertParams{dtype}, Layout::packed(dtype, source.layout.shape), std::move(name));
}

// ------------------------------------------------------------------------------------- linear algebra

ValueId Graph::linear(ValueId x, ValueId weight, ValueId bias, std::string name) {
    constexpr OpKind op = OpKind::Linear;
    const Node& in = operand(op, name, x, "input");
    const Node& w = operand(op, name, weight, "weight");
    require_f32(op, name, in, "input");
    require_rank(op, name, in, "input", 1, kMaxDims);
    require_rank(op, name, w, "weight", 2, 2);
    require_row_readable(op, name, w, "weight");
    const std::int64_t k = w.layout.shape[1];
    const std::int64_t n_out = w.layout.shape[0];
    if (in.layout.shape.back() != k) {
        fail(op, name, "input {} has {} features but weight {} expects {}", in.layout.shape.to_string(),
             in.layout.shape.back(), w.layout.shape.to_string(), k);
    }
    if (bias.valid()) {
        require_vector(op, name, operand(op, name, bias, "bias"), "bias", n_out, w, "weight");
    }
    Shape out = in.layout.shape;
    out[out.rank - 1] = n_out;
    return add_compute(op, {x, weight, bias}, {}, Layout::packed(ND_DTYPE_F32, out), std::move(name));
}

ValueId Graph::matmul(ValueId a, ValueId b, std::string name) {
    constexpr OpKind op = OpKind::Matmul;
    const Node& left = operand(op, name, a, "left operand");
    const Node& right = operand(op, name, b, "right operand");
    require_f32(op, name, left, "left operand");
    require_f32(op, name, right, "right operand");
    require_rank(op, name, left, "left operand", 2, kMaxDims);
    require_rank(op, name, right, "right operand", 2, kMaxDims);
    const Shape& sa = left.layout.shape;
    const Shape& sb = right.layout.shape;
    if (sa.rank != sb.rank) {
        fail(op, name, "operands {} and {} have different ranks", sa.to_string(), sb.to_string());
    }
    for (int d = 0; d < sa.rank - 2; ++d) {
        if (sa[d] != sb[d]) {
            fail(op, name, "batch dimension {} differs: {} vs {}", d, sa.to_string(), sb.to_string());
        }
    }
    if (sa[sa.rank - 1] != sb[sb.rank - 2]) {
        fail(op, name, "left operand {} has {} columns but right operand {} has {} rows", sa.to_string(),
             sa[sa.rank - 1], sb.to_string(), sb[sb.rank - 2]);
    }
    Shape out = sa;
    out[out.rank - 1] = sb[sb.rank - 1];
    return add_compute(op, {a, b}, {}, Layout::packed(ND_DTYPE_F32, out), std::move(name));
}

ValueId Graph::conv2d(ValueId x, ValueId weight, ValueId bias, const Conv2dParams& params, std::string name) {
    constexpr OpKind op = OpKind::Conv2d;
    const Node& in = operand(op, name, x, "input");
    const Node& w = operand(op, name, weight, "weight");
    require_f32(op, name, in, "input");
    require_rank(op, name, in, "input", 4, 4);
    require_rank(op, name, w, "weight", 2, 4);
    const Shape& si = in.layout.shape;
    const Shape& sw = w.layout.shape;
    Conv2dParams p = params;
    if (sw.rank == 4) {
        if (!is_float_dtype(w.layout.dtype)) {
            fail(op, name, "weight {} is {}; a 4-D convolution weight is F32, F16 or BF16 (pass block-quantized "
                 "weights as [out, in*kh*kw] rows)", sw.to_string(), dtype_name(w.layout.dtype));
        }
        if (si[1] != sw[1]) {
            fail(op, name, "input {} has {} channels but weight {} expects {}", si.to_string(), si[1], sw.to_string(),
                 sw[1]);
        }
        if ((p.kernel_h != 0 && p.kernel_h != sw[2]) || (p.kernel_w != 0 && p.kernel_w != sw[3])) {
            fail(op, name, "kernel {}x{} does not match weight {}", p.kernel_h, p.kernel_w, sw.to_string());
        }
        p.kernel_h = static_cast<int>(sw[2]);
        p.kernel_w = static_cast<int>(sw[3]);
    } else if (sw.rank == 2) {
        require_row_readable(op, name, w, "weight");
        if (p.kernel_h < 1 || p.kernel_w < 1) {
            fail(op, name, "a 2-D weight {} needs the kernel size in the parameters", sw.to_string());
        }
        const std::int64_t k = si[1] * p.kernel_h * p.kernel_w;
        if (sw[1] != k) {
            fail(op, name, "input {} with a {}x{} kernel needs weight rows of {} but weight {} has {}",
                 si.to_string(), p.kernel_h, p.kernel_w, k, sw.to_string(), sw[1]);
        }
    } else {
        fail(op, name, "weight {} must be [out, in, kh, kw] or [out, in*kh*kw]", sw.to_string());
    }
    if (p.stride_h < 1 || p.stride_w < 1 || p.dilation_h < 1 || p.dilation_w < 1 || p.pad_h < 0 || p.pad_w < 0) {
        fail(op, name, "stride {}x{} and dilation {}x{} must be positive and padding {}x{} not negative", p.stride_h,
             p.stride_w, p.dilation_h, p.dilation_w, p.pad_h, p.pad_w);
    }
    const std::int64_t span_h = static_cast<std::int64_t>(p.dilation_h) * (p.kernel_h - 1) + 1;
    const std::int64_t span_w = static_cast<std::int64_t>(p.dilation_w) * (p.kernel_w - 1) + 1;
    const std::int64_t padded_h = si[2] + 2 * static_cast<std::int64_t>(p.pad_h);
    const std::int64_t padded_w = si[3] + 2 * static_cast<std::int64_t>(p.pad_w);
    if (p.kernel_h < 1 || p.kernel_w < 1 || padded_h < span_h || padded_w < span_w) {
        fail(op, name, "kernel {}x{} (dilated {}x{}) does not fit input {} padded to {}x{}", p.kernel_h, p.kernel_w,
             span_h, span_w, si.to_string(), padded_h, padded_w);
    }
    if (bias.valid()) {
        require_vector(op, name, operand(op, name, bias, "bias"), "bias", sw[0], w, "weight", true);
    }
    const Shape out{si[0], sw[0], (padded_h - span_h) / p.stride_h + 1, (padded_w - span_w) / p.stride_w + 1};
    return add_compute(op, {x, weight, bias}, p, Layout::packed(ND_DTYPE_F32, out), std::move(name));
}

ValueId Graph::attention(ValueId q, ValueId k, ValueId v, const AttentionParams& params, std::string name) {
    constexpr OpKind op = OpKind::Attention;
    const Node& nq = operand(op, name, q, "query");
    const Node& nk = operand(op, name, k, "key");
    const Node& nv = operand(op, name, v, "value");
    for (const auto& [node, role] : {std::pair{&nq, "query"}, std::pair{&nk, "key"}, std::pair{&nv, "value"}}) {
        require_f32(op, name, *node, role);
        require_rank(op, name, *node, role, 4, 4);
    }
    const Shape& sq = nq.layout.shape;
    const Shape& sk = nk.layout.shape;
    const Shape& sv = nv.layout.shape;
    if (sq[0] != sk[0] || sq[1] != sk[1] || sq[0] != sv[0] || sq[1] != sv[1]) {
        fail(op, name, "query {}, key {} and value {} must agree on batch and heads (dimensions 0 and 1)",
             sq.to_string(), sk.to_string(), sv.to_string());
    }
    if (sq[3] != sk[3]) {
        fail(op, name, "query {} has head size {} but key {} has {}", sq.to_string(), sq[3], sk.to_string(), sk[3]);
    }
    if (sk[2] != sv[2]) {
        fail(op, name, "key {} has {} tokens but value {} has {}", sk.to_string(), sk[2], sv.to_string(), sv[2]);
    }
    if (sv[3] != sq[3]) {
        fail(op, name, "value {} has head size {} but query {} has {}", sv.to_string(), sv[3], sq.to_string(), sq[3]);
    }
    if (params.causal && sq[2] != sk[2]) {
        fail(op, name, "causal attention needs as many queries as keys, not {} and {}", sq[2], sk[2]);
    }
    return add_compute(op, {q, k, v}, params, Layout::packed(ND_DTYPE_F32, Shape{sq[0], sq[1], sq[2], sv[3]}), std::move(name));
}

// -------------------------------------------------------------------------------------- normalization

ValueId Graph::group_norm(ValueId x, ValueId weight, ValueId bias, const GroupNormParams& params, std::string name) {
    constexpr OpKind op = OpKind::GroupNorm;
    const Node& in = operand(op, name, x, "input");
    require_f32(op, name, in, "input");
    require_rank(op, name, in, "input", 2, kMaxDims);
    const std::int64_t channels = in.layout.shape[1];
    if (params.groups < 1 || channels % params.groups != 0) {
        fail(op, name, "input {} has {} channels, which {} groups do not divide", in.layout.shape.to_string(),
             channels, params.groups);
    }
    if (!(params.eps > 0.0f)) {
        fail(op, name, "eps must be positive");
    }
    require_norm_affine(op, name, weight, bias, channels, in);
    return add_compute(op, {x, weight, bias}, params, Layout::packed(ND_DTYPE_F32, in.layout.shape), std::move(name));
}

ValueId Graph::layer_norm(ValueId x, ValueId weight, ValueId bias, const LayerNormParams& params, std::string name) {
    constexpr OpKind op = OpKind::LayerNorm;
    const Node& in = operand(op, name, x, "input");
    require_f32(op, name, in, "input");
    require_rank(op, name, in, "input", 1, kMaxDims);
    if (!(params.eps > 0.0f)) {
        fail(op, name, "eps must be positive");
    }
    const std::int64_t channels = in.layout.shape.back();
    require_norm_affine(op, name, weight, bias, channels, in);
    return add_compute(op, {x, weight, bias}, params, Layout::packed(ND_DTYPE_F32, in.layout.shape), std::move(name));
}

ValueId Graph::softmax(ValueId x, std::string name) {
    const Node& in = operand(OpKind::Softmax, name, x, "input");
    require_rank(OpKind::Softmax, name, in, "input", 1, kMaxDims);
    return unary(OpKind::Softmax, x, {}, std::move(name));
}

// ---------------------------------------------------------------------------------------- element-wise

ValueId Graph::binary(OpKind op, ValueId a, ValueId b, std::string name) {
    const Node& left = operand(op, name, a, "left operand");
    const Node& right = operand(op, name, b, "right operand");
    require_f32(op, name, left, "left operand");
    require_f32(op, name, right, "right operand");
    const Shape out = broadcast_shapes(op, name, left.layout.shape, right.layout.shape);
    return add_compute(op, {a, b}, {}, Layout::packed(ND_DTYPE_F32, out), std::move(name));
}

ValueId Graph::unary(OpKind op, ValueId x, OpParams params, std::string name) {
    const Node& in = operand(op, name, x, "input");
    require_f32(op, name, in, "input");
    return add_compute(op, {x}, params, Layout::packed(ND_DTYPE_F32, in.layout.shape), std::move(name));
}

ValueId Graph::add(ValueId a, ValueId b, std::string name) { return binary(OpKind::Add, a, b, std::move(name)); }
ValueId Graph::sub(ValueId a, ValueId b, std::string name) { return binary(OpKind::Sub, a, b, std::move(name)); }
ValueId Graph::mul(ValueId a, ValueId b, std::string name) { return binary(OpKind::Mul, a, b, std::move(name)); }
ValueId Graph::div(ValueId a, ValueId b, std::string name) { return binary(OpKind::Div, a, b, std::move(name)); }

ValueId Graph::scale(ValueId x, float scale, float bias, std::string name) {
    return unary(OpKind::Scale, x, ScaleParams{scale, bias}, std::move(name));
}

ValueId Graph::clamp(ValueId x, float min, float max, std::string name) {
    if (!(min <= max)) {
        fail(OpKind::Clamp, name, "min {} is above max {}", min, max);
    }
    return unary(OpKind::Clamp, x, ClampParams{min, max}, std::move(name));
}

ValueId Graph::silu(ValueId x, std::string name) { return unary(OpKind::Silu, x, {}, std::move(name)); }

ValueId Graph::gelu(ValueId x, GeluApproximation approximation, std::string name) {
    return unary(OpKind::Gelu, x, GeluParams{approximation}, std::move(name));
}

ValueId Graph::quick_gelu(ValueId x, std::string name) { return unary(OpKind::QuickGelu, x, {}, std::move(name)); }

ValueId Graph::geglu(ValueId x, std::string name) {
    constexpr OpKind op = OpKind::Geglu;
    const Node& in = operand(op, name, x, "input");
    require_f32(op, name, in, "input");
    require_rank(op, name, in, "input", 1, kMaxDims);
    if (in.layout.shape.back() % 2 != 0) {
        fail(op, name, "input {} has an odd innermost extent; it must hold the value and the gate halves",
             in.layout.shape.to_string());
    }
    Shape out = in.layout.shape;
    out[out.rank - 1] /= 2;
    return add_compute(op, {x}, {}, Layout::packed(ND_DTYPE_F32, out), std::move(name));
}

// ---------------------------------------------------------------------------------------- SD specifics

ValueId Graph::upsample_nearest2x(ValueId x, std::string name) {
    constexpr OpKind op = OpKind::UpsampleNearest2x;
    const Node& in = operand(op, name, x, "input");
    require_f32(op, name, in, "input");
    require_rank(op, name, in, "input", 4, 4);
    const Shape& s = in.layout.shape;
    return add_compute(op, {x}, {}, Layout::packed(ND_DTYPE_F32, Shape{s[0], s[1], s[2] * 2, s[3] * 2}), std::move(name));
}

ValueId Graph::timestep_embedding(ValueId timesteps, const TimestepEmbeddingParams& params, std::string name) {
    constexpr OpKind op = OpKind::TimestepEmbedding;
    const Node& in = operand(op, name, timesteps, "timesteps");
    require_f32(op, name, in, "timesteps");
    require_rank(op, name, in, "timesteps", 1, 1);
    if (params.dim < 2 || params.dim % 2 != 0) {
        fail(op, name, "dim {} must be even and at least 2", params.dim);
    }
    if (!(params.max_period > 0.0f)) {
        fail(op, name, "max_period must be positive");
    }
    return add_compute(op, {timesteps}, params, Layout::packed(ND_DTYPE_F32, Shape{in.layout.shape[0], params.dim}), std::move(name));
}

ValueId Graph::embedding(ValueId table, ValueId ids, std::string name) {
    constexpr OpKind op = OpKind::Embedding;
    const Node& t = operand(op, name, table, "table");
    const Node& i = operand(op, name, ids, "ids");
    require_rank(op, name, t, "table", 2, 2);
    require_row_readable(op, name, t, "table");
    if (i.layout.dtype != ND_DTYPE_I32 && i.layout.dtype != ND_DTYPE_I64) {
        fail(op, name, "ids {} are {}; token ids are I32 or I64", i.layout.shape.to_string(),
             dtype_name(i.layout.dtype));
    }
    require_rank(op, name, i, "ids", 0, kMaxDims - 1);
    Shape out = i.layout.shape;
    out.rank += 1;
    out[out.rank - 1] = t.layout.shape[1];
    return add_compute(op, {table, ids}, {}, Layout::packed(ND_DTYPE_F32, out), std::move(name));
}

} // namespace nd::core
