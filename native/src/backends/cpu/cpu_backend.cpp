#include "backends/cpu/cpu_backend.hpp"

#include <algorithm>
#include <array>
#include <optional>
#include <span>
#include <variant>
#include <vector>

#include "backends/cpu/matmul.hpp"
#include "backends/cpu/ops/attention.hpp"
#include "backends/cpu/ops/conv2d.hpp"
#include "backends/cpu/ops/elementwise.hpp"
#include "backends/cpu/ops/embedding.hpp"
#include "backends/cpu/ops/layout.hpp"
#include "backends/cpu/ops/normalization.hpp"
#include "core/dtype.hpp"
#include "core/error.hpp"

namespace nd::backends::cpu {

using core::Graph;
using core::Node;
using core::OpKind;
using core::TensorView;
using core::ValueId;

namespace {

std::size_t at(int d) noexcept { return static_cast<std::size_t>(d); }

// ------------------------------------------------------------------------------------ views as matrices

// Seen as a matrix [rows, shape[rank-1]] with packed rows: the stride between rows in elements, when the
// outer dimensions collapse into one evenly spaced run of rows that do not overlap; nothing otherwise.
std::optional<std::int64_t> row_stride(int rank, const std::int64_t* shape, const std::int64_t* strides,
                                       std::int64_t element_bytes) {
    if (rank == 0) {
        return 1;
    }
    const std::int64_t cols = shape[rank - 1];
    if (cols > 1 && strides[rank - 1] != element_bytes) {
        return std::nullopt;
    }
    std::int64_t stride = -1;
    std::int64_t expected = -1;
    for (int d = rank - 2; d >= 0; --d) {
        if (shape[d] == 1) {
            continue;
        }
        if (stride < 0) {
            stride = strides[d];
            expected = strides[d] * shape[d];
        } else if (strides[d] != expected) {
            return std::nullopt;
        } else {
            expected *= shape[d];
        }
    }
    if (stride < 0) {
        return cols; // a single row
    }
    if (stride % element_bytes != 0 || stride / element_bytes < cols) {
        return std::nullopt;
    }
    return stride / element_bytes;
}

std::optional<std::int64_t> row_stride(const TensorView& view) {
    return row_stride(view.rank, view.shape.data(), view.strides.data(), 4);
}

TensorView narrowed(TensorView view, int dim, std::int64_t start, std::int64_t length) {
    view.data += start * view.stride(dim);
    view.shape[at(dim)] = length;
    return view;
}

TensorView packed_view(nd_dtype dtype, std::span<const std::int64_t> shape, std::byte* data) {
    core::Shape s = core::Shape::of(shape);
    return core::make_view(data, core::Layout::packed(dtype, s));
}

// Copies src into dst split over the pool along the largest outer dimension.
void parallel_copy(const TensorView& src, const TensorView& dst, core::ThreadPool& pool) {
    int split = -1;
    for (int d = 0; d + 1 < src.rank; ++d) {
        if (split < 0 || src.dim(d) > src.dim(split)) {
            split = d;
        }
    }
    if (split < 0 || src.dim(split) < 2 || src.elements() < 16384) {
        core::copy_elements(src, dst);
        return;
    }
    pool.parallel_for(src.dim(split), 1, [&](std::int64_t begin, std::int64_t end, int) {
        core::copy_elements(narrowed(src, split, begin, end - begin), narrowed(dst, split, begin, end - begin));
    });
}

// ----------------------------------------------------------------------------------- per-step context

struct StepContext {
    const Graph& graph;
    const Node& node;
    std::vector<TensorView> in; // operands in the node's order; an absent optional one has data == nullptr
    TensorView out;
    std::byte* scratch = nullptr;
    std::uint64_t scratch_bytes = 0;
    core::ThreadPool& pool;
    Isa isa;
    const PackedWeightCache& packed;

    [[nodiscard]] const TensorView* optional(std::size_t i) const {
        return i < in.size() && in[i].data != nullptr ? &in[i] : nullptr;
    }
};

using StepKernel = void (*)(const StepContext&);

// ------------------------------------------------------------------------------------ data movement

// The layout kernels' dtypes; the rest (quantized rows, bytes) are copied by core::copy_elements.
bool layout_kernel_reads(nd_dtype t) {
    return t == ND_DTYPE_F32 || t == ND_DTYPE_F16 || t == ND_DTYPE_BF16 || t == ND_DTYPE_I32 || t == ND_DTYPE_I64;
}

void run_contiguous(const StepContext& c) {
    if (layout_kernel_reads(c.out.dtype)) {
        ops::copy(c.in[0], c.out, c.pool, c.isa);
    } else {
        parallel_copy(c.in[0], c.out, c.pool);
    }
}

void run_concat(const StepContext& c) {
    const int dim = std::get<core::ConcatParams>(c.node.params).dim;
    if (layout_kernel_reads(c.out.dtype)) {
        ops::concat(c.in, dim, c.out, c.pool, c.isa);
        return;
    }
    std::int64_t offset = 0;
    for (const TensorView& part : c.in) {
        parallel_copy(part, narrowed(c.out, dim, offset, part.dim(dim)), c.pool);
        offset += part.dim(dim);
    }
}

void run_convert(const StepContext& c) { ops::convert(c.in[0], c.out, c.pool, c.isa); }

void run_upsample(const StepContext& c) { ops::upsample_nearest2x(c.in[0], c.out, c.pool, c.isa); }

// ----------------------------------------------------------------------------------- linear algebra

void run_linear(const StepContext& c) {
    const TensorView& x = c.in[0];
    const TensorView& w = c.in[1];
    const TensorView* bias = c.optional(2);
    const std::int64_t k = w.dim(1);
    const std::int64_t n = w.dim(0);
    const std::int64_t m = k > 0 ? x.elements() / k : 0;
    if (m == 0 || n == 0) {
        return;
    }
    MatmulArgs args;
    args.m = m;
    args.n = n;
    args.k = k;
    args.a = x.as<const float>();
    args.lda = *row_stride(x); // packed first when it has none (see the table)
    const auto row_bytes = static_cast<std::int64_t>(core::dtype_row_bytes(w.dtype, static_cast<std::uint64_t>(k)));
    args.w = w.data;
    args.w_type = w.dtype;
    args.w_row_stride = std::max(w.stride(0), row_bytes);
    args.bias = bias != nullptr ? bias->as<const float>() : nullptr;
    args.c = c.out.as<float>();
    args.ldc = n;
    args.prepacked = c.packed.find(w);
    matmul(args, c.pool, c.isa);
}

// a [..., M, K] · b [..., K, N]: the GEMM multiplies by Wᵀ with W [N, K] in rows, so b's columns must be
// packed (b a transposed view, as kᵀ usually is) or are packed into scratch first, one batch at a time.
struct MatmulPlan {
    bool copy_a = false;
    bool copy_b = false;
    std::uint64_t a_bytes = 0;
    std::uint64_t b_bytes = 0;
};

MatmulPlan plan_matmul(int rank, const std::int64_t* a_shape, const std::int64_t* a_strides,
                       const std::int64_t* b_shape, const std::int64_t* b_strides) {
    const std::int64_t m = a_shape[rank - 2];
    const std::int64_t k = a_shape[rank - 1];
    const std::int64_t n = b_shape[rank - 1];
    MatmulPlan p;
    p.copy_a = !(k == 1 || a_strides[rank - 1] == 4) || (m > 1 && a_strides[rank - 2] < 4 * k) ||
               a_strides[rank - 2] % 4 != 0;
    p.copy_b = !(k == 1 || b_strides[rank - 2] == 4) || (n > 1 && b_strides[rank - 1] < 4 * k);
    p.a_bytes = p.copy_a ? static_cast<std::uint64_t>(m * k) * 4 : 0;
    p.b_bytes = p.copy_b ? static_cast<std::uint64_t>(n * k) * 4 : 0;
    return p;
}

std::uint64_t matmul_scratch(const Graph& graph, const Node& node) {
    const core::Layout a = graph.layout(node.inputs[0]);
    const core::Layout b = graph.layout(node.inputs[1]);
    const MatmulPlan p = plan_matmul(a.rank(), a.shape.dims.data(), a.strides.data(), b.shape.dims.data(),
                                     b.strides.data());
    return (p.a_bytes + 63) / 64 * 64 + p.b_bytes;
}

void run_matmul(const StepContext& c) {
    const TensorView& a = c.in[0];
    const TensorView& b = c.in[1];
    const int rank = a.rank;
    const std::int64_t m = a.dim(rank - 2);
    const std::int64_t k = a.dim(rank - 1);
    const std::int64_t n = b.dim(rank - 1);
    if (m == 0 || n == 0) {
        return;
    }
    if (k == 0) { // an empty sum
        std::fill(c.out.as<float>(), c.out.as<float>() + c.out.elements(), 0.0f);
        return;
    }
    const MatmulPlan p = plan_matmul(rank, a.shape.data(), a.strides.data(), b.shape.data(), b.strides.data());
    std::byte* a_copy = c.scratch;
    std::byte* b_copy = c.scratch + (p.a_bytes + 63) / 64 * 64;
    // Leading (batch) dimensions, at most two.
    std::array<std::int64_t, 2> batch{1, 1};
    for (int d = 0; d < rank - 2; ++d) {
        batch[at(d + 4 - rank)] = a.dim(d);
    }
    const int lead = rank - 2;
    for (std::int64_t i0 = 0; i0 < batch[0]; ++i0) {
        for (std::int64_t i1 = 0; i1 < batch[1]; ++i1) {
            std::int64_t a_offset = 0;
            std::int64_t b_offset = 0;
            std::int64_t c_offset = 0;
            const std::array<std::int64_t, 2> index{i0, i1};
            for (int d = 0; d < lead; ++d) {
                const std::int64_t i = index[at(d + 2 - lead)];
                a_offset += i * a.stride(d);
                b_offset += i * b.stride(d);
                c_offset += i * c.out.stride(d);
            }
            TensorView a_matrix = a;
            a_matrix.data += a_offset;
            TensorView b_matrix = b;
            b_matrix.data += b_offset;
            // Seen as 2-D.
            for (TensorView* v : {&a_matrix, &b_matrix}) {
                v->shape = {v->dim(rank - 2), v->dim(rank - 1), 0, 0};
                v->strides = {v->stride(rank - 2), v->stride(rank - 1), 0, 0};
                v->rank = 2;
            }
            MatmulArgs args;
            args.m = m;
            args.n = n;
            args.k = k;
            if (p.copy_a) {
                const std::array<std::int64_t, 2> shape{m, k};
                parallel_copy(a_matrix, packed_view(ND_DTYPE_F32, shape, a_copy), c.pool);
                args.a = reinterpret_cast<const float*>(a_copy);
                args.lda = k;
            } else {
                args.a = a_matrix.as<const float>();
                args.lda = m > 1 ? a_matrix.stride(0) / 4 : k;
            }
            if (p.copy_b) {
                // bᵀ packed: [N, K]
                TensorView transposed = b_matrix;
                transposed.shape = {n, k, 0, 0};
                transposed.strides = {b_matrix.stride(1), b_matrix.stride(0), 0, 0};
                const std::array<std::int64_t, 2> shape{n, k};
                parallel_copy(transposed, packed_view(ND_DTYPE_F32, shape, b_copy), c.pool);
                args.w = b_copy;
                args.w_row_stride = k * 4;
            } else {
                args.w = b_matrix.data;
                args.w_row_stride = n > 1 ? b_matrix.stride(1) : k * 4;
            }
            args.w_type = ND_DTYPE_F32;
            args.c = reinterpret_cast<float*>(c.out.data + c_offset);
            args.ldc = n;
            matmul(args, c.pool, c.isa);
        }
    }
}

// ------------------------------------------------------------------------------ element-wise, norms

void run_binary(const StepContext& c) {
    ops::BinaryOp op = ops::BinaryOp::Add;
    switch (c.node.op) {
    case OpKind::Sub: op = ops::BinaryOp::Sub; break;
    case OpKind::Mul: op = ops::BinaryOp::Mul; break;
    case OpKind::Div: op = ops::BinaryOp::Div; break;
    default: break;
    }
    ops::binary(op, c.in[0], c.in[1], c.out, c.pool, c.isa);
}

void run_scale(const StepContext& c) {
    const auto& p = std::get<core::ScaleParams>(c.node.params);
    ops::scale(c.in[0], p.scale, p.bias, c.out, c.pool, c.isa);
}

void run_clamp(const StepContext& c) {
    const auto& p = std::get<core::ClampParams>(c.node.params);
    ops::clamp(c.in[0], p.min, p.max, c.out, c.pool, c.isa);
}

void run_activation(const StepContext& c) {
    ops::Activation kind = ops::Activation::Silu;
    if (c.node.op == OpKind::QuickGelu) {
        kind = ops::Activation::QuickGelu;
    } else if (c.node.op == OpKind::Gelu) {
        kind = std::get<core::GeluParams>(c.node.params).approximation == core::GeluApproximation::Tanh
                   ? ops::Activation::GeluTanh
                   : ops::Activation::GeluErf;
    }
    ops::activation(kind, c.in[0], c.out, c.pool, c.isa);
}

void run_geglu(const StepContext& c) { ops::geglu(c.in[0], c.out, c.pool, c.isa); }

TensorView or_empty(const TensorView* view) { return view != nullptr ? *view : TensorView{}; }

void run_group_norm(const StepContext& c) {
    const auto& p = std::get<core::GroupNormParams>(c.node.params);
    ops::group_norm(c.in[0], or_empty(c.optional(1)), or_empty(c.optional(2)),
                    ops::GroupNormParams{p.groups, p.eps, p.fused_silu}, c.out, c.pool, c.isa);
}

void run_layer_norm(const StepContext& c) {
    const auto& p = std::get<core::LayerNormParams>(c.node.params);
    ops::layer_norm(c.in[0], or_empty(c.optional(1)), or_empty(c.optional(2)), p.eps, c.out, c.pool, c.isa);
}

void run_softmax(const StepContext& c) { ops::softmax(c.in[0], c.out, c.pool, c.isa); }

// ------------------------------------------------------------------------- convolution, attention, SD

// The kernels of conv2d and attention keep their own bounded per-call scratch (an im2col tile of about
// 4 MiB; attention_scratch_bytes(d) per thread), independent of the image size; see the report in
// docs/architecture.md on moving it into the plan.
void run_conv2d(const StepContext& c) {
    const auto& p = std::get<core::Conv2dParams>(c.node.params);
    ops::Conv2dParams params;
    params.kernel_h = p.kernel_h;
    params.kernel_w = p.kernel_w;
    params.stride = p.stride_h;
    params.padding = p.pad_h;
    params.stride_w = p.stride_w;
    params.padding_w = p.pad_w;
    params.dilation_h = p.dilation_h;
    params.dilation_w = p.dilation_w;
    ops::conv2d(c.in[0], c.in[1], or_empty(c.optional(2)), params, c.out, c.pool, c.isa, c.packed.find(c.in[1]));
}

void run_attention(const StepContext& c) {
    const auto& p = std::get<core::AttentionParams>(c.node.params);
    ops::attention(c.in[0], c.in[1], c.in[2], ops::AttentionOptions{p.scale, p.causal}, c.out, c.pool, c.isa);
}

void run_embedding(const StepContext& c) { ops::embedding(c.in[1], c.in[0], c.out, c.pool, c.isa); }

void run_timestep_embedding(const StepContext& c) {
    const auto& p = std::get<core::TimestepEmbeddingParams>(c.node.params);
    ops::timestep_embedding(
        c.in[0], ops::TimestepEmbeddingParams{p.flip_sin_to_cos, p.downscale_freq_shift, p.max_period, p.scale}, c.out,
        c.pool, c.isa);
}

// ------------------------------------------------------------------------------ what each kernel reads

bool inner_contiguous(const TensorView& v) {
    return v.rank == 0 || v.dim(v.rank - 1) <= 1 || v.stride(v.rank - 1) == 4;
}

// Every dimension after the channels ([N, C, spatial...]) packed, as group_norm reads them.
bool spatial_contiguous(const TensorView& v) {
    std::int64_t expected = 4;
    for (int d = v.rank - 1; d >= 2; --d) {
        if (v.dim(d) > 1 && v.stride(d) != expected) {
            return false;
        }
        expected *= v.dim(d);
    }
    return true;
}

bool first_not_inner_contiguous(int operand, const TensorView& v) { return operand == 0 && !inner_contiguous(v); }
bool first_not_spatial_contiguous(int operand, const TensorView& v) {
    return operand == 0 && !spatial_contiguous(v);
}
bool first_without_row_stride(int operand, const TensorView& v) { return operand == 0 && !row_stride(v); }
bool qkv_not_inner_contiguous(int operand, const TensorView& v) { return operand < 3 && !inner_contiguous(v); }
// conv2d reads a 4-D weight only packed (2-D weights are rows with a stride).
bool conv_weight_not_packed(int operand, const TensorView& v) {
    if (operand != 1 || v.rank != 4) {
        return false;
    }
    core::Layout layout;
    layout.dtype = v.dtype;
    layout.shape.rank = v.rank;
    layout.shape.dims = v.shape;
    layout.strides = v.strides;
    return !layout.is_contiguous();
}

// --------------------------------------------------------------------------------------- the table

struct OpEntry {
    StepKernel run = nullptr;
    // Whether operand `i` in this layout must be packed into scratch before the kernel can read it; the
    // kernel reads any layout when null.
    bool (*must_pack)(int operand, const TensorView& view) = nullptr;
    // Scratch the kernel itself needs, beyond packed operands.
    std::uint64_t (*scratch)(const Graph&, const Node&) = nullptr;
};

std::array<OpEntry, core::kOpKindCount> make_table() {
    std::array<OpEntry, core::kOpKindCount> table{};
    auto set = [&](OpKind op, OpEntry entry) { table[static_cast<std::size_t>(op)] = entry; };
    set(OpKind::Contiguous, {run_contiguous});
    set(OpKind::Concat, {run_concat});
    set(OpKind::Linear, {run_linear, first_without_row_stride});
    set(OpKind::Matmul, {run_matmul, nullptr, matmul_scratch});
    for (const OpKind op : {OpKind::Add, OpKind::Sub, OpKind::Mul, OpKind::Div}) {
        set(op, {run_binary});
    }
    set(OpKind::Scale, {run_scale});
    set(OpKind::Clamp, {run_clamp});
    for (const OpKind op : {OpKind::Silu, OpKind::Gelu, OpKind::QuickGelu}) {
        set(op, {run_activation});
    }
    set(OpKind::Geglu, {run_geglu});
    set(OpKind::GroupNorm, {run_group_norm, first_not_spatial_contiguous});
    set(OpKind::LayerNorm, {run_layer_norm, first_not_inner_contiguous});
    set(OpKind::Softmax, {run_softmax, first_not_inner_contiguous});
    set(OpKind::Convert, {run_convert});
    set(OpKind::UpsampleNearest2x, {run_upsample});
    set(OpKind::Conv2d, {run_conv2d, conv_weight_not_packed});
    set(OpKind::Attention, {run_attention, qkv_not_inner_contiguous});
    set(OpKind::Embedding, {run_embedding});
    set(OpKind::TimestepEmbedding, {run_timestep_embedding});
    return table;
}

const std::array<OpEntry, core::kOpKindCount>& table() {
    static const std::array<OpEntry, core::kOpKindCount> entries = make_table();
    return entries;
}

constexpr std::uint64_t align64(std::uint64_t bytes) noexcept { return (bytes + 63) / 64 * 64; }

// Scratch layout of a step: packed copies of the operands that need them, in operand order, then the
// kernel's own scratch.
std::uint64_t packed_operand_bytes(const OpEntry& entry, const Graph& graph, const Node& node) {
    std::uint64_t bytes = 0;
    if (entry.must_pack == nullptr) {
        return 0;
    }
    for (std::size_t i = 0; i < node.inputs.size(); ++i) {
        if (!node.inputs[i].valid()) {
            continue;
        }
        const core::Layout layout = graph.layout(node.inputs[i]);
        if (entry.must_pack(static_cast<int>(i), core::make_view(nullptr, layout))) {
            bytes += align64(layout.packed_bytes());
        }
    }
    return bytes;
}

bool gemm_reads(nd_dtype dtype) {
    return dtype == ND_DTYPE_F32 || dtype == ND_DTYPE_F16 || dtype == ND_DTYPE_BF16 ||
           (core::dtype_is_quantized(dtype) && dtype != ND_DTYPE_Q8_K);
}

bool all_f32(std::span<const nd_dtype> dtypes) {
    return std::all_of(dtypes.begin(), dtypes.end(), [](nd_dtype t) { return t == ND_DTYPE_F32; });
}

bool is_float(nd_dtype t) { return t == ND_DTYPE_F32 || t == ND_DTYPE_F16 || t == ND_DTYPE_BF16; }

} // namespace

CpuBackend::CpuBackend(const CpuBackendOptions& options)
    : isa_(options.isa.value_or(best_isa())), pool_(options.threads) {
    if (!isa_supported(isa_, cpu_features())) {
        core::throw_error(ND_STATUS_UNSUPPORTED, "the cpu backend cannot use {} kernels on this CPU",
                          isa_name(isa_));
    }
}

BackendCapabilities CpuBackend::capabilities() const {
    BackendCapabilities caps;
    caps.kind = ND_BACKEND_FLAGS_CPU;
    caps.device = core::format("{} kernels, {} threads", isa_name(isa_), pool_.size());
    caps.host_memory = true;
    caps.asynchronous = false;
    caps.weights_in_place = false; // matmul and convolution weights are packed into a copy (upload_weights)
    caps.memory_bytes = 0;
    caps.threads = pool_.size();
    return caps;
}

bool CpuBackend::supports(OpKind op, std::span<const nd_dtype> operand_dtypes, nd_dtype output) const {
    if (core::op_is_view(op) || op == OpKind::Input || op == OpKind::Weight) {
        return true; // nothing to run
    }
    if (table()[static_cast<std::size_t>(op)].run == nullptr) {
        return false;
    }
    switch (op) {
    case OpKind::Contiguous:
    case OpKind::Concat: return true; // byte copies, any dtype
    case OpKind::Linear:
        return operand_dtypes.size() >= 2 && operand_dtypes[0] == ND_DTYPE_F32 && gemm_reads(operand_dtypes[1]) &&
               (operand_dtypes.size() < 3 || operand_dtypes[2] == ND_DTYPE_F32) && output == ND_DTYPE_F32;
    case OpKind::Conv2d: // a 4-D weight is F32/F16/BF16 (the graph checks), rows of any GEMM type otherwise
        return operand_dtypes.size() >= 2 && operand_dtypes[0] == ND_DTYPE_F32 && gemm_reads(operand_dtypes[1]) &&
               (operand_dtypes.size() < 3 || is_float(operand_dtypes[2])) && output == ND_DTYPE_F32;
    case OpKind::Embedding: // table rows are dequantized like GEMM weights
        return operand_dtypes.size() == 2 && gemm_reads(operand_dtypes[0]) &&
               (operand_dtypes[1] == ND_DTYPE_I32 || operand_dtypes[1] == ND_DTYPE_I64) && output == ND_DTYPE_F32;
    case OpKind::Convert: return operand_dtypes.size() == 1 && is_float(operand_dtypes[0]) && is_float(output);
    case OpKind::GroupNorm:
    case OpKind::LayerNorm: // gamma and beta may be half precision
        return !operand_dtypes.empty() && operand_dtypes[0] == ND_DTYPE_F32 &&
               std::all_of(operand_dtypes.begin() + 1, operand_dtypes.end(), is_float) && output == ND_DTYPE_F32;
    default: return all_f32(operand_dtypes) && output == ND_DTYPE_F32;
    }
}

std::uint64_t CpuBackend::scratch_bytes(const Graph& graph, ValueId value) const {
    const Node& node = graph.node(value);
    const OpEntry& entry = table()[static_cast<std::size_t>(node.op)];
    return packed_operand_bytes(entry, graph, node) + (entry.scratch != nullptr ? entry.scratch(graph, node) : 0);
}

std::unique_ptr<BackendBuffer> CpuBackend::allocate(std::uint64_t bytes) {
    return std::make_unique<HostBuffer>(bytes);
}

void CpuBackend::upload_weights(const core::Plan& plan, int device) {
    std::lock_guard lock(submit_mutex_);
    packed_.add(plan, device, pool_, isa_);
}

Submission CpuBackend::submit(const core::Plan& plan, std::size_t first, std::size_t last, BackendBuffer& arena) {
    std::byte* const base = arena.host_data();
    if (base == nullptr || arena.size() < plan.peak_bytes()) {
        core::throw_error(ND_STATUS_INVALID_ARGUMENT,
                          "the cpu backend needs a host arena of at least {} bytes (got {} bytes{})",
                          plan.peak_bytes(), arena.size(), base == nullptr ? ", not host memory" : "");
    }
    if (first > last || last > plan.steps().size()) {
        core::throw_error(ND_STATUS_INVALID_ARGUMENT, "steps [{}, {}) are outside a plan of {} steps", first, last,
                          plan.steps().size());
    }
    std::lock_guard lock(submit_mutex_);
    const Graph& graph = plan.graph();
    try {
        for (std::size_t s = first; s < last; ++s) {
            const core::Step& step = plan.steps()[s];
            const Node& node = graph.node(step.value);
            const OpEntry& entry = table()[static_cast<std::size_t>(node.op)];
            if (entry.run == nullptr) {
                core::throw_error(ND_STATUS_UNSUPPORTED, "the cpu backend has no kernel for {} yet",
                                  graph.describe(step.value));
            }
            StepContext context{graph, node, {}, plan.view(step.value, base), nullptr, 0, pool_, isa_, packed_};
            context.in.reserve(node.inputs.size());
            for (const ValueId operand : node.inputs) {
                context.in.push_back(operand.valid() ? plan.view(operand, base) : TensorView{});
            }
            if (step.scratch >= 0) {
                const core::Allocation& scratch = plan.allocations()[static_cast<std::size_t>(step.scratch)];
                context.scratch = base + scratch.offset;
                context.scratch_bytes = scratch.bytes;
            }
            try {
                // Operands the kernel cannot read in place go packed to the front of the scratch.
                if (entry.must_pack != nullptr) {
                    for (std::size_t i = 0; i < context.in.size(); ++i) {
                        TensorView& operand = context.in[i];
                        if (operand.data == nullptr || !entry.must_pack(static_cast<int>(i), operand)) {
                            continue;
                        }
                        const core::Layout layout = graph.layout(node.inputs[i]);
                        const std::uint64_t bytes = align64(layout.packed_bytes());
                        if (bytes > context.scratch_bytes) {
                            core::throw_error(ND_STATUS_INTERNAL_ERROR, "the plan gave {} bytes of scratch, not {}",
                                              context.scratch_bytes, bytes);
                        }
                        const TensorView packed = core::make_view(context.scratch, core::Layout::packed(layout.dtype, layout.shape));
                        parallel_copy(operand, packed, pool_);
                        operand = packed;
                        context.scratch += bytes;
                        context.scratch_bytes -= bytes;
                    }
                }
                entry.run(context);
            } catch (const core::Error& e) {
                throw core::with_context(e, graph.describe(step.value));
            }
        }
    } catch (...) {
        return Submission::failed(std::current_exception());
    }
    return {};
}

} // namespace nd::backends::cpu
