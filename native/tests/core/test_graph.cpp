#include "core/graph.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/error.hpp"

namespace nd::core {
namespace {

template <typename Fn>
std::string error_of(Fn&& fn) {
    try {
        fn();
    } catch (const Error& e) {
        EXPECT_EQ(e.status(), ND_STATUS_INVALID_ARGUMENT) << e.what();
        return e.what();
    }
    ADD_FAILURE() << "no nd::core::Error was thrown";
    return {};
}

// A weight of the given shape (zeros) and dtype.
ValueId weight(Graph& g, const char* name, const Shape& shape, nd_dtype dtype = ND_DTYPE_F32) {
    return g.weight(name, Tensor::empty(dtype, shape));
}

TEST(Graph, Conv2d_infers_its_output_and_names_node_and_shapes_on_a_channel_mismatch) {
    Graph g;
    const ValueId x = g.input("x", ND_DTYPE_F32, {1, 320, 64, 64});
    const ValueId w = weight(g, "w", {640, 320, 3, 3}, ND_DTYPE_F16);
    const ValueId b = weight(g, "b", {640});
    const ValueId y = g.conv2d(x, w, b, Conv2dParams{.pad_h = 1, .pad_w = 1}, "down.0.conv");
    EXPECT_EQ(g.shape(y), (Shape{1, 640, 64, 64}));
    EXPECT_EQ(g.layout(y).dtype, ND_DTYPE_F32);
    const ValueId strided = g.conv2d(x, w, {}, Conv2dParams{.stride_h = 2, .stride_w = 2, .pad_h = 1, .pad_w = 1});
    EXPECT_EQ(g.shape(strided), (Shape{1, 640, 32, 32}));
    const ValueId unpadded = g.conv2d(x, w, {}, Conv2dParams{});
    EXPECT_EQ(g.shape(unpadded), (Shape{1, 640, 62, 62}));

    const ValueId w_bad = weight(g, "w_bad", {640, 128, 3, 3});
    EXPECT_EQ(error_of([&] { g.conv2d(x, w_bad, {}, Conv2dParams{.pad_h = 1, .pad_w = 1}, "down.0.conv"); }),
              "conv2d 'down.0.conv': input [1, 320, 64, 64] has 320 channels but weight [640, 128, 3, 3] expects 128");
    EXPECT_EQ(error_of([&] { g.conv2d(x, w, weight(g, "b2", {320}), Conv2dParams{}); }),
              "conv2d: bias [320] does not match the 640 channels of weight [640, 320, 3, 3]");
    const ValueId tiny = g.input("tiny", ND_DTYPE_F32, {1, 320, 2, 2});
    EXPECT_NE(error_of([&] { g.conv2d(tiny, w, {}, Conv2dParams{}); }).find("does not fit input [1, 320, 2, 2]"),
              std::string::npos);
    const ValueId w_q4 = weight(g, "wq4", {640, 320, 1, 32}, ND_DTYPE_Q8_0);
    EXPECT_NE(error_of([&] { g.conv2d(x, w_q4, {}, Conv2dParams{}); }).find("F32, F16 or BF16"), std::string::npos);
    // Block-quantized weights come as [out, in*kh*kw] rows with the kernel size given.
    const ValueId w_q = weight(g, "wq", {640, 320 * 9}, ND_DTYPE_Q8_0);
    const ValueId yq = g.conv2d(x, w_q, {}, Conv2dParams{.kernel_h = 3, .kernel_w = 3, .pad_h = 1, .pad_w = 1});
    EXPECT_EQ(g.shape(yq), (Shape{1, 640, 64, 64}));
    EXPECT_NE(error_of([&] { g.conv2d(x, w_q, {}, Conv2dParams{}); }).find("needs the kernel size"), std::string::npos);
    EXPECT_NE(error_of([&] { g.conv2d(x, w_q, {}, Conv2dParams{.kernel_h = 1, .kernel_w = 1}); })
                  .find("needs weight rows of 320 but weight [640, 2880] has 2880"),
              std::string::npos);
    EXPECT_EQ(std::get<Conv2dParams>(g.node(y).params).kernel_h, 3); // filled in from the 4-D weight
}

TEST(Graph, Linear_takes_weights_of_any_dtype_and_checks_features) {
    Graph g;
    const ValueId x = g.input("x", ND_DTYPE_F32, {2, 77, 768});
    const ValueId w = weight(g, "w", {320, 768}, ND_DTYPE_Q4_K);
    const ValueId b = weight(g, "b", {320});
    const ValueId y = g.linear(x, w, b, "attn.to_k");
    EXPECT_EQ(g.shape(y), (Shape{2, 77, 320}));
    EXPECT_EQ(error_of([&] { g.linear(x, weight(g, "w2", {320, 1024}), {}, "attn.to_q"); }),
              "linear 'attn.to_q': input [2, 77, 768] has 768 features but weight [320, 1024] expects 1024");
    const ValueId wt = g.transpose(weight(g, "w3", {768, 320}), 0, 1);
    EXPECT_NE(error_of([&] { g.linear(x, wt); }).find("must have contiguous rows"), std::string::npos);
    const ValueId x16 = g.input("x16", ND_DTYPE_F16, {2, 768});
    EXPECT_EQ(error_of([&] { g.linear(x16, w); }), "linear: input [2, 768] is F16; this op takes F32");
}

TEST(Graph, Matmul_needs_matching_inner_and_batch_dimensions) {
    Graph g;
    const ValueId a = g.input("a", ND_DTYPE_F32, {2, 8, 5, 16});
    const ValueId b = g.input("b", ND_DTYPE_F32, {2, 8, 16, 7});
    EXPECT_EQ(g.shape(g.matmul(a, b)), (Shape{2, 8, 5, 7}));
    EXPECT_EQ(error_of([&] { g.matmul(a, a, "qk"); }),
              "matmul 'qk': left operand [2, 8, 5, 16] has 16 columns but right operand [2, 8, 5, 16] has 5 rows");
    const ValueId c = g.input("c", ND_DTYPE_F32, {2, 4, 16, 7});
    EXPECT_NE(error_of([&] { g.matmul(a, c); }).find("batch dimension 1 differs"), std::string::npos);
}

TEST(Graph, Attention_checks_heads_head_size_and_token_counts) {
    Graph g;
    const ValueId q = g.input("q", ND_DTYPE_F32, {2, 8, 4096, 40});
    const ValueId k = g.input("k", ND_DTYPE_F32, {2, 8, 77, 40});
    const ValueId v = g.input("v", ND_DTYPE_F32, {2, 8, 77, 40});
    EXPECT_EQ(g.shape(g.attention(q, k, v)), (Shape{2, 8, 4096, 40}));
    const ValueId k_bad = g.input("kb", ND_DTYPE_F32, {2, 8, 77, 64});
    EXPECT_EQ(error_of([&] { g.attention(q, k_bad, v, {}, "attn2"); }),
              "attention 'attn2': query [2, 8, 4096, 40] has head size 40 but key [2, 8, 77, 64] has 64");
    const ValueId v_bad = g.input("vb", ND_DTYPE_F32, {2, 8, 76, 40});
    EXPECT_NE(error_of([&] { g.attention(q, k, v_bad); }).find("key [2, 8, 77, 40] has 77 tokens"), std::string::npos);
    EXPECT_NE(error_of([&] { g.attention(q, k, v, AttentionParams{.causal = true}); }).find("causal"),
              std::string::npos);
    const ValueId v_wide = g.input("vw", ND_DTYPE_F32, {2, 8, 77, 64});
    EXPECT_NE(error_of([&] { g.attention(q, k, v_wide); }).find("value [2, 8, 77, 64] has head size 64"),
              std::string::npos);
    const ValueId h_bad = g.input("hb", ND_DTYPE_F32, {2, 4, 77, 40});
    EXPECT_NE(error_of([&] { g.attention(q, h_bad, v); }).find("agree on batch and heads"), std::string::npos);
}

TEST(Graph, Attention_accepts_strided_head_views_without_copies) {
    Graph g;
    const ValueId x = g.input("x", ND_DTYPE_F32, {2, 4096, 320});
    const ValueId heads = g.permute(g.reshape(x, {2, 4096, 8, 40}), {0, 2, 1, 3}); // [2, 8, 4096, 40]
    EXPECT_FALSE(g.layout(heads).is_contiguous());
    EXPECT_EQ(g.node(heads).base, x);
    const ValueId out = g.attention(heads, heads, heads);
    EXPECT_EQ(g.shape(out), (Shape{2, 8, 4096, 40}));
}

TEST(Graph, Norms_check_groups_and_per_channel_vectors) {
    Graph g;
    const ValueId x = g.input("x", ND_DTYPE_F32, {1, 320, 8, 8});
    const ValueId gamma = weight(g, "gamma", {320});
    const ValueId y = g.group_norm(x, gamma, gamma, GroupNormParams{.groups = 32, .fused_silu = true}, "norm1");
    EXPECT_EQ(g.shape(y), (Shape{1, 320, 8, 8}));
    EXPECT_TRUE(std::get<GroupNormParams>(g.node(y).params).fused_silu);
    EXPECT_EQ(error_of([&] { g.group_norm(x, {}, {}, GroupNormParams{.groups = 30}, "norm1"); }),
              "group_norm 'norm1': input [1, 320, 8, 8] has 320 channels, which 30 groups do not divide");
    EXPECT_EQ(error_of([&] { g.group_norm(x, weight(g, "g2", {640}), {}, GroupNormParams{}); }),
              "group_norm: weight [640] does not match the 320 channels of input [1, 320, 8, 8]");
    EXPECT_EQ(g.shape(g.group_norm(x, weight(g, "g16", {320}, ND_DTYPE_F16), {}, GroupNormParams{})), g.shape(x));
    EXPECT_EQ(error_of([&] { g.group_norm(x, weight(g, "gq", {320}, ND_DTYPE_I8), {}, GroupNormParams{}); }),
              "group_norm: weight [320] is I8; this op takes F32, F16 or BF16");
    const ValueId t = g.input("t", ND_DTYPE_F32, {2, 77, 768});
    EXPECT_EQ(g.shape(g.layer_norm(t, weight(g, "ln", {768}), {}, {})), (Shape{2, 77, 768}));
    EXPECT_EQ(error_of([&] { g.layer_norm(t, gamma, {}, {}, "ln1"); }),
              "layer_norm 'ln1': weight [320] does not match the 768 channels of input [2, 77, 768]");
    EXPECT_EQ(g.shape(g.softmax(t)), (Shape{2, 77, 768}));
}

TEST(Graph, Element_wise_ops_broadcast_like_numpy) {
    Graph g;
    const ValueId x = g.input("x", ND_DTYPE_F32, {2, 320, 8, 8});
    const ValueId per_channel = g.input("c", ND_DTYPE_F32, {1, 320, 1, 1});
    const ValueId row = g.input("r", ND_DTYPE_F32, {8});
    EXPECT_EQ(g.shape(g.add(x, per_channel)), (Shape{2, 320, 8, 8}));
    EXPECT_EQ(g.shape(g.mul(row, x)), (Shape{2, 320, 8, 8}));
    EXPECT_EQ(g.shape(g.sub(per_channel, row)), (Shape{1, 320, 1, 8}));
    EXPECT_EQ(g.shape(g.div(x, x)), (Shape{2, 320, 8, 8}));
    const ValueId bad = g.input("b", ND_DTYPE_F32, {1, 640, 1, 1});
    EXPECT_EQ(error_of([&] { g.add(x, bad, "res"); }),
              "add 'res': shapes [2, 320, 8, 8] and [1, 640, 1, 1] do not broadcast (dimension 1 of the result: 320 vs "
              "640)");
    for (const ValueId y : {g.silu(x), g.gelu(x), g.gelu(x, GeluApproximation::Tanh), g.quick_gelu(x),
                            g.scale(x, 0.18215f), g.clamp(x, -1.0f, 1.0f)}) {
        EXPECT_EQ(g.shape(y), (Shape{2, 320, 8, 8}));
    }
    EXPECT_NE(error_of([&] { g.clamp(x, 1.0f, -1.0f); }).find("min 1 is above max -1"), std::string::npos);
    const ValueId ff = g.input("ff", ND_DTYPE_F32, {2, 4096, 2560});
    EXPECT_EQ(g.shape(g.geglu(ff)), (Shape{2, 4096, 1280}));
    const ValueId odd = g.input("odd", ND_DTYPE_F32, {3, 5});
    EXPECT_NE(error_of([&] { g.geglu(odd); }).find("odd innermost extent"), std::string::npos);
    const ValueId ids = g.input("ids", ND_DTYPE_I32, {2, 8});
    EXPECT_EQ(error_of([&] { g.silu(ids); }), "silu: input [2, 8] is I32; this op takes F32");
}

TEST(Graph, Data_movement_ops_infer_shapes_and_dtypes) {
    Graph g;
    const ValueId a = g.input("a", ND_DTYPE_F32, {1, 640, 16, 16});
    const ValueId b = g.input("b", ND_DTYPE_F32, {1, 320, 16, 16});
    EXPECT_EQ(g.shape(g.concat({a, b}, 1)), (Shape{1, 960, 16, 16}));
    EXPECT_EQ(g.shape(g.concat({a, a, a}, -1)), (Shape{1, 640, 16, 48}));
    EXPECT_EQ(error_of([&] { g.concat({a, b}, 2, "skip"); }),
              "concat 'skip': input 1 [1, 320, 16, 16] does not match input 0 [1, 640, 16, 16] outside dimension 2");
    EXPECT_EQ(g.shape(g.upsample_nearest2x(b)), (Shape{1, 320, 32, 32}));
    const ValueId half = g.convert(b, ND_DTYPE_F16);
    EXPECT_EQ(g.layout(half).dtype, ND_DTYPE_F16);
    EXPECT_EQ(g.layout(half).strides[0], 320 * 16 * 16 * 2);
    EXPECT_NE(error_of([&] { g.concat({a, half}, 1); }).find("input 1 is F16 but input 0 is F32"), std::string::npos);
    const ValueId ids = g.input("ids", ND_DTYPE_I32, {1, 77});
    EXPECT_NE(error_of([&] { g.convert(ids, ND_DTYPE_F32); }).find("only F32, F16 and BF16 convert"),
              std::string::npos);
    const ValueId p = g.permute(a, {0, 2, 3, 1});
    const ValueId c = g.contiguous(p);
    EXPECT_EQ(g.shape(c), (Shape{1, 16, 16, 640}));
    EXPECT_TRUE(g.layout(c).is_contiguous());
    EXPECT_EQ(g.node(c).base, c); // a compute node has its own memory
}

TEST(Graph, View_nodes_alias_their_base_and_refuse_impossible_reshapes) {
    Graph g;
    const ValueId x = g.input("x", ND_DTYPE_F32, {2, 4096, 320});
    const ValueId r = g.reshape(x, {2, 4096, 8, 40});
    const ValueId p = g.transpose(r, 1, 2);
    const ValueId n = g.narrow(x, 2, 160, 160);
    const ValueId s = g.squeeze(g.unsqueeze(x, 0), 0);
    for (const ValueId v : {r, p, n, s}) {
        EXPECT_EQ(g.node(v).base, x);
        EXPECT_TRUE(op_is_view(g.node(v).op));
    }
    EXPECT_EQ(g.layout(n).offset, 160 * 4);
    EXPECT_EQ(g.shape(p), (Shape{2, 8, 4096, 40}));
    const std::string message = error_of([&] { g.reshape(p, {2, 8, -1}, "merge"); });
    EXPECT_NE(message.find("reshape 'merge': "), std::string::npos) << message;
    EXPECT_NE(message.find("contiguous copy is needed"), std::string::npos) << message;
    EXPECT_EQ(g.shape(g.reshape(g.contiguous(p), {2, 8, -1})), (Shape{2, 8, 163840}));
}

TEST(Graph, Sd_specific_ops_infer_shapes) {
    Graph g;
    const ValueId t = g.input("t", ND_DTYPE_F32, {2});
    EXPECT_EQ(g.shape(g.timestep_embedding(t, TimestepEmbeddingParams{.dim = 320})), (Shape{2, 320}));
    EXPECT_NE(error_of([&] { g.timestep_embedding(t, TimestepEmbeddingParams{.dim = 321}); }).find("even"),
              std::string::npos);
    const ValueId table = weight(g, "tok", {1000, 768}, ND_DTYPE_F16);
    const ValueId ids = g.input("ids", ND_DTYPE_I32, {2, 77});
    EXPECT_EQ(g.shape(g.embedding(table, ids, "token_embedding")), (Shape{2, 77, 768}));
    EXPECT_EQ(error_of([&] { g.embedding(table, t, "token_embedding"); }),
              "embedding 'token_embedding': ids [2] are F32; token ids are I32 or I64");
}

TEST(Graph, Outputs_are_marked_once_and_ids_are_checked) {
    Graph g;
    const ValueId x = g.input("x", ND_DTYPE_F32, {4});
    const ValueId y = g.silu(x, "act");
    g.mark_output(y);
    g.mark_output(y);
    ASSERT_EQ(g.outputs().size(), 1u);
    EXPECT_TRUE(g.node(y).is_output);
    EXPECT_EQ(g.describe(y), "silu 'act'");
    EXPECT_EQ(g.describe(x), "input 'x'");
    EXPECT_NE(error_of([&] { g.silu(ValueId{42}); }).find("value #42, which does not belong"), std::string::npos);
    EXPECT_NE(error_of([&] { g.mark_output(ValueId{}); }).find("does not belong"), std::string::npos);
}

TEST(Graph, Every_op_has_a_name) {
    for (int op = 0; op < kOpKindCount; ++op) {
        EXPECT_NE(op_name(static_cast<OpKind>(op)), "?") << op;
    }
    EXPECT_EQ(op_name(OpKind::UpsampleNearest2x), "upsample_nearest2x");
    EXPECT_EQ(op_name(OpKind::Embedding), "embedding");
}

} // namespace
} // namespace nd::core
