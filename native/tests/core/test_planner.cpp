#include "core/planner.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "core/error.hpp"

namespace nd::core {
namespace {

constexpr std::uint64_t kMiB = 1024 * 1024;

PlanOptions without_in_place() {
    PlanOptions options;
    options.in_place = false;
    return options;
}

// No two allocations whose lifetimes overlap may share a byte.
void expect_no_conflicts(const Plan& plan) {
    const std::span<const Allocation> all = plan.allocations();
    for (std::size_t i = 0; i < all.size(); ++i) {
        EXPECT_EQ(all[i].offset % 64, 0u);
        EXPECT_LE(all[i].offset + all[i].bytes, plan.peak_bytes());
        for (std::size_t j = i + 1; j < all.size(); ++j) {
            if (!all[i].lifetime.overlaps(all[j].lifetime) || all[i].bytes == 0 || all[j].bytes == 0) {
                continue;
            }
            const bool disjoint =
                all[i].offset + all[i].bytes <= all[j].offset || all[j].offset + all[j].bytes <= all[i].offset;
            EXPECT_TRUE(disjoint) << "allocations " << i << " and " << j << " overlap\n" << plan.describe();
        }
    }
}

// x -> silu -> gelu -> silu ... (ops alternate so that names differ), 1 MiB each.
Graph chain(int length) {
    Graph g;
    ValueId v = g.input("x", ND_DTYPE_F32, {256, 1024});
    for (int i = 0; i < length; ++i) {
        v = i % 2 == 0 ? g.silu(v) : g.gelu(v);
    }
    g.mark_output(v);
    return g;
}

TEST(Planner, A_chain_of_ten_ops_needs_two_buffers_and_one_when_in_place) {
    const Plan copying = plan_graph(chain(10), without_in_place());
    EXPECT_EQ(copying.steps().size(), 10u);
    EXPECT_EQ(copying.total_bytes(), 11 * kMiB);
    EXPECT_EQ(copying.lower_bound_bytes(), 2 * kMiB);
    EXPECT_EQ(copying.peak_bytes(), 2 * kMiB);
    expect_no_conflicts(copying);

    const Plan in_place = plan_graph(chain(10));
    EXPECT_EQ(in_place.peak_bytes(), 1 * kMiB);
    EXPECT_EQ(in_place.allocations().size(), 1u);
    for (const Step& step : in_place.steps()) {
        EXPECT_TRUE(step.in_place_of.valid());
    }
}

TEST(Planner, Lifetimes_run_from_the_producing_step_to_the_last_reader) {
    Graph g;
    const ValueId x = g.input("x", ND_DTYPE_F32, {64, 64});
    const ValueId a = g.silu(x, "a");       // step 0
    const ValueId b = g.gelu(x, GeluApproximation::Erf, "b");       // step 1
    const ValueId c = g.add(a, b, "c");     // step 2
    const ValueId d = g.scale(c, 2.0f, 0.0f, "d"); // step 3
    g.mark_output(d);
    const Plan plan = plan_graph(std::move(g), without_in_place());
    ASSERT_EQ(plan.steps().size(), 4u);
    EXPECT_EQ(plan.step_of(c), 2);
    EXPECT_EQ(plan.step_of(x), -1);
    EXPECT_EQ(plan.allocation(x).lifetime.first, 0);
    EXPECT_EQ(plan.allocation(x).lifetime.last, 1);
    EXPECT_EQ(plan.allocation(a).lifetime.first, 0);
    EXPECT_EQ(plan.allocation(a).lifetime.last, 2);
    EXPECT_EQ(plan.allocation(b).lifetime.first, 1);
    EXPECT_EQ(plan.allocation(b).lifetime.last, 2);
    EXPECT_EQ(plan.allocation(d).lifetime.last, 3); // outputs live to the end
    // x, a and b are live together at step 1; so are a, b and c at step 2.
    EXPECT_EQ(plan.lower_bound_bytes(), 3u * 64 * 64 * 4);
    EXPECT_EQ(plan.peak_bytes(), plan.lower_bound_bytes());
    expect_no_conflicts(plan);
}

TEST(Planner, Views_alias_their_base_and_keep_it_alive) {
    Graph g;
    const ValueId x = g.input("x", ND_DTYPE_F32, {8, 256});
    const ValueId a = g.silu(x, "a");                            // step 0
    const ValueId view = g.narrow(g.reshape(a, {8, 2, 128}), 1, 1, 1); // [8, 1, 128], no step
    const ValueId b = g.gelu(x, GeluApproximation::Erf, "b");                            // step 1
    const ValueId c = g.gelu(b, GeluApproximation::Erf, "c");                            // step 2
    const ValueId d = g.add(g.reshape(g.narrow(c, 1, 0, 128), {8, 1, 128}), view, "d"); // step 3: reads a
    g.mark_output(d);
    const Plan plan = plan_graph(std::move(g), without_in_place());
    ASSERT_EQ(plan.steps().size(), 4u);
    EXPECT_EQ(plan.step_of(view), -1);
    EXPECT_EQ(&plan.allocation(view), &plan.allocation(a));
    EXPECT_EQ(plan.allocation(a).lifetime.last, 3);
    EXPECT_EQ(plan.offset(view), plan.offset(a) + 128 * 4);
    expect_no_conflicts(plan);
}

TEST(Planner, In_place_reuses_only_operands_that_die_at_that_step) {
    Graph g;
    const ValueId x = g.input("x", ND_DTYPE_F32, {32, 32});
    const ValueId a = g.silu(x, "a");   // in place of x (x dies here)
    const ValueId b = g.silu(a, "b");   // a is read again by c: no
    const ValueId c = g.add(a, b, "c"); // both die here: reuses a's (the first operand's) memory
    g.mark_output(c);
    const Plan plan = plan_graph(std::move(g));
    EXPECT_EQ(plan.steps()[0].in_place_of, x);
    EXPECT_FALSE(plan.steps()[1].in_place_of.valid());
    EXPECT_EQ(plan.steps()[2].in_place_of, a);
    EXPECT_EQ(&plan.allocation(c), &plan.allocation(x));
    EXPECT_EQ(plan.peak_bytes(), 2u * 32 * 32 * 4);
    expect_no_conflicts(plan);
}

TEST(Planner, Group_and_layer_norm_write_over_an_input_that_dies_there_and_only_then) {
    Graph g;
    const ValueId x = g.input("x", ND_DTYPE_F32, {1, 64, 32, 32});
    const ValueId gamma = g.weight("gamma", Tensor::empty(ND_DTYPE_F32, {64}));
    GroupNormParams params;
    params.fused_silu = true;
    const ValueId a = g.silu(x, "a");                                   // a is read again by the residual
    const ValueId n = g.group_norm(a, gamma, ValueId{}, params, "n");   // so n may not replace a
    const ValueId m = g.group_norm(n, gamma, ValueId{}, params, "m");   // n dies here: m replaces it
    const ValueId r = g.add(a, m, "r");
    const ValueId rows = g.reshape(r, Shape{64, 1024});
    const ValueId l = g.layer_norm(rows, ValueId{}, ValueId{}, {}, "l"); // r dies here: in place
    g.mark_output(l);
    const Plan plan = plan_graph(std::move(g));
    EXPECT_FALSE(plan.steps()[plan.step_of(n)].in_place_of.valid());
    EXPECT_EQ(plan.steps()[plan.step_of(m)].in_place_of, n);
    EXPECT_EQ(&plan.allocation(m), &plan.allocation(n));
    EXPECT_TRUE(plan.steps()[plan.step_of(l)].in_place_of.valid());
    EXPECT_EQ(plan.peak_bytes(), 2u * 64 * 32 * 32 * 4); // a and the norms' one buffer
    expect_no_conflicts(plan);
    const Plan copying = plan_graph(plan.graph(), without_in_place());
    EXPECT_GT(copying.peak_bytes(), plan.peak_bytes());
}

TEST(Planner, In_place_is_refused_when_the_same_memory_is_read_through_another_view) {
    Graph g;
    const ValueId x = g.input("x", ND_DTYPE_F32, {16, 16});
    const ValueId a = g.gelu(x, GeluApproximation::Erf, "a");
    const ValueId c = g.add(a, g.transpose(a, 0, 1), "c"); // writing c over a would corrupt aᵀ
    const ValueId s = g.mul(g.narrow(x, 0, 0, 8), g.narrow(x, 0, 8, 8)); // halves of x: not packed like the output
    g.mark_output(c);
    g.mark_output(s);
    const Plan plan = plan_graph(std::move(g));
    EXPECT_FALSE(plan.steps()[plan.step_of(c)].in_place_of.valid());
    EXPECT_FALSE(plan.steps()[plan.step_of(s)].in_place_of.valid());
    expect_no_conflicts(plan);
}

TEST(Planner, Outputs_are_never_overwritten_and_dead_nodes_are_dropped) {
    Graph g;
    const ValueId x = g.input("x", ND_DTYPE_F32, {1024});
    const ValueId a = g.silu(x, "a");
    const ValueId b = g.silu(a, "b"); // may not write over a: a is an output
    const ValueId unused = g.gelu(b, GeluApproximation::Erf, "unused");
    g.mark_output(a);
    g.mark_output(b);
    const Plan plan = plan_graph(std::move(g));
    EXPECT_FALSE(plan.is_live(unused));
    EXPECT_FALSE(plan.in_arena(unused));
    EXPECT_EQ(plan.steps().size(), 2u);
    EXPECT_FALSE(plan.steps()[1].in_place_of.valid());
    EXPECT_NE(plan.offset(a), plan.offset(b));
    try {
        (void)plan.offset(unused);
        ADD_FAILURE() << "no error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("no output depends on it"), std::string::npos) << e.what();
    }
}

TEST(Planner, Weights_stay_out_of_the_arena) {
    Graph g;
    const ValueId x = g.input("x", ND_DTYPE_F32, {4, 64});
    const ValueId w = g.weight("w", Tensor::empty(ND_DTYPE_F16, {32, 64}));
    const ValueId y = g.linear(x, w);
    g.mark_output(y);
    const Plan plan = plan_graph(std::move(g));
    EXPECT_FALSE(plan.in_arena(w));
    EXPECT_TRUE(plan.is_live(w));
    EXPECT_EQ(plan.peak_bytes(), 4u * 64 * 4 + 4u * 32 * 4);
    const TensorView view = plan.view(w, nullptr);
    EXPECT_EQ(view.data, plan.graph().node(w).constant.data());
}

TEST(Planner, Scratch_lives_for_its_one_step_and_is_aligned) {
    Graph g;
    const ValueId x = g.input("x", ND_DTYPE_F32, {1024});
    const ValueId a = g.silu(x);
    const ValueId b = g.softmax(a);
    const ValueId c = g.silu(b);
    g.mark_output(c);
    PlanOptions options;
    options.in_place = false;
    options.scratch_bytes = [](const Graph& graph, ValueId v) -> std::uint64_t {
        return graph.node(v).op == OpKind::Softmax ? 1000 : 0;
    };
    const Plan plan = plan_graph(std::move(g), options);
    const Step& step = plan.steps()[static_cast<std::size_t>(plan.step_of(b))];
    ASSERT_GE(step.scratch, 0);
    const Allocation& scratch = plan.allocations()[static_cast<std::size_t>(step.scratch)];
    EXPECT_TRUE(scratch.scratch);
    EXPECT_EQ(scratch.bytes, 1024u);
    EXPECT_EQ(scratch.lifetime.first, 1);
    EXPECT_EQ(scratch.lifetime.last, 1);
    EXPECT_EQ(plan.lower_bound_bytes(), 2u * 4096 + 1024); // a, b and the scratch at step 1
    expect_no_conflicts(plan);
}

TEST(Planner, Placement_is_asked_per_step) {
    PlanOptions options;
    options.placement = [](const Graph& graph, ValueId v) { return graph.node(v).op == OpKind::Gelu ? 1 : 0; };
    const Plan plan = plan_graph(chain(4), options);
    ASSERT_EQ(plan.steps().size(), 4u);
    EXPECT_EQ(plan.steps()[0].device, 0);
    EXPECT_EQ(plan.steps()[1].device, 1);
    EXPECT_NE(plan.describe().find("on device 1"), std::string::npos);
}

TEST(Planner, A_graph_without_outputs_is_refused) {
    Graph g;
    (void)g.silu(g.input("x", ND_DTYPE_F32, {4}));
    try {
        (void)plan_graph(std::move(g));
        ADD_FAILURE() << "no error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("no outputs"), std::string::npos);
    }
}

// A UNet-shaped graph: a down path that keeps skip connections, a middle, an up path that consumes them.
Graph unet_like() {
    Graph g;
    ValueId h = g.input("latent", ND_DTYPE_F32, {1, 4, 64, 64});
    const ValueId w_in = g.weight("conv_in", Tensor::empty(ND_DTYPE_F16, {64, 4, 3, 3}));
    const ValueId w = g.weight("conv", Tensor::empty(ND_DTYPE_F16, {64, 64, 3, 3}));
    const ValueId w_up = g.weight("conv_up", Tensor::empty(ND_DTYPE_F16, {64, 128, 3, 3}));
    const Conv2dParams same{.pad_h = 1, .pad_w = 1};
    h = g.conv2d(h, w_in, {}, same);
    std::vector<ValueId> skips{h};
    for (int level = 0; level < 3; ++level) {
        for (int block = 0; block < 2; ++block) {
            const ValueId n = g.group_norm(h, {}, {}, GroupNormParams{.groups = 32, .fused_silu = true});
            h = g.add(h, g.conv2d(n, w, {}, same));
            skips.push_back(h);
        }
        if (level < 2) {
            h = g.conv2d(h, w, {}, Conv2dParams{.stride_h = 2, .stride_w = 2, .pad_h = 1, .pad_w = 1});
            skips.push_back(h);
        }
    }
    h = g.add(h, g.conv2d(g.group_norm(h, {}, {}, GroupNormParams{.groups = 32, .fused_silu = true}), w, {}, same));
    for (int level = 0; level < 3; ++level) {
        for (int block = 0; block < 3; ++block) {
            const ValueId cat = g.concat({h, skips.back()}, 1);
            skips.pop_back();
            h = g.silu(g.conv2d(cat, w_up, {}, same));
        }
        if (level < 2) {
            h = g.upsample_nearest2x(h);
        }
    }
    g.mark_output(h);
    return g;
}

TEST(Planner, Greedy_placement_stays_close_to_the_lower_bound_on_a_unet_shaped_graph) {
    const Plan plan = plan_graph(unet_like());
    expect_no_conflicts(plan);
    EXPECT_GE(plan.peak_bytes(), plan.lower_bound_bytes());
    EXPECT_LE(static_cast<double>(plan.peak_bytes()), 1.15 * static_cast<double>(plan.lower_bound_bytes()))
        << plan.describe();
    EXPECT_LT(plan.peak_bytes() * 3, plan.total_bytes()); // sharing saves most of the memory
}

TEST(Planner, Attention_at_4096_tokens_plans_without_a_4096_by_4096_buffer) {
    // SD 1.5's first self-attention: 64x64 latents = 4096 tokens, 8 heads of 40.
    Graph g;
    const ValueId x = g.input("x", ND_DTYPE_F32, {1, 4096, 320});
    auto heads = [&](const char* name) {
        const ValueId w = g.weight(name, Tensor::empty(ND_DTYPE_F16, {320, 320}));
        return g.permute(g.reshape(g.linear(x, w), {1, 4096, 8, 40}), {0, 2, 1, 3});
    };
    const ValueId q = heads("to_q");
    const ValueId k = heads("to_k");
    const ValueId v = heads("to_v");
    const ValueId o = g.attention(q, k, v, {}, "attn1");
    const ValueId merged = g.reshape(g.contiguous(g.permute(o, {0, 2, 1, 3})), {1, 4096, 320});
    const ValueId w_out = g.weight("to_out", Tensor::empty(ND_DTYPE_F16, {320, 320}));
    g.mark_output(g.add(g.linear(merged, w_out), x));
    const Plan plan = plan_graph(std::move(g));
    const std::uint64_t scores = 4096ull * 4096ull * 4ull; // one head's score matrix: 64 MiB
    EXPECT_LT(plan.peak_bytes(), scores / 2) << plan.describe();
    expect_no_conflicts(plan);
}

} // namespace
} // namespace nd::core
