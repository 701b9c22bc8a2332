#include "backends/cpu/cpu_backend.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "backends/backend.hpp"
#include "backends/cpu/ops/attention.hpp"
#include "backends/cpu/ops/conv2d.hpp"
#include "backends/cpu/ops/elementwise.hpp"
#include "backends/cpu/ops/normalization.hpp"
#include "backends/cpu/quant/quants.hpp"
#include "core/dtype.hpp"
#include "core/error.hpp"
#include "core/half.hpp"

namespace nd::backends {
namespace {

using core::Graph;
using core::OpKind;
using core::Shape;
using core::Tensor;
using core::ValueId;

std::vector<float> random_values(std::size_t n, unsigned seed, float scale = 1.0f) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> dist(-scale, scale);
    std::vector<float> v(n);
    for (float& x : v) {
        x = dist(rng);
    }
    return v;
}

Tensor random_tensor(const Shape& shape, unsigned seed, float scale = 1.0f) {
    return Tensor::from_f32(shape, random_values(static_cast<std::size_t>(shape.elements()), seed, scale));
}

void expect_near(const std::vector<float>& actual, const std::vector<float>& expected, float tolerance) {
    ASSERT_EQ(actual.size(), expected.size());
    for (std::size_t i = 0; i < actual.size(); ++i) {
        ASSERT_NEAR(actual[i], expected[i], tolerance * (1.0f + std::fabs(expected[i]))) << "element " << i;
    }
}

std::vector<Tensor> run(Graph graph, const std::vector<Tensor>& inputs, cpu::CpuBackend& backend) {
    const core::Plan plan = plan_for(std::move(graph), backend);
    Executor executor(backend);
    return executor.run(plan, inputs);
}

cpu::CpuBackend& shared_backend() {
    static cpu::CpuBackend backend(cpu::CpuBackendOptions{.threads = 2, .isa = std::nullopt});
    return backend;
}

// ------------------------------------------------------------------------------------------- basics

TEST(CpuBackend, Reports_host_memory_threads_and_the_chosen_isa) {
    cpu::CpuBackend backend(cpu::CpuBackendOptions{.threads = 3, .isa = cpu::Isa::Scalar});
    EXPECT_EQ(backend.name(), "cpu");
    EXPECT_EQ(backend.threads(), 3);
    EXPECT_EQ(backend.isa(), cpu::Isa::Scalar);
    const BackendCapabilities caps = backend.capabilities();
    EXPECT_EQ(caps.kind, ND_BACKEND_FLAGS_CPU);
    EXPECT_TRUE(caps.host_memory);
    EXPECT_FALSE(caps.weights_in_place); // linear and convolution weights are packed by upload_weights
    EXPECT_FALSE(caps.asynchronous);
    EXPECT_EQ(caps.threads, 3);
    EXPECT_NE(caps.device.find("scalar"), std::string::npos);
    EXPECT_EQ(cpu::CpuBackend().isa(), cpu::best_isa());
    const std::unique_ptr<BackendBuffer> buffer = backend.allocate(100);
    ASSERT_NE(buffer->host_data(), nullptr);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(buffer->host_data()) % 64, 0u);
}

TEST(CpuBackend, Host_buffers_copy_in_and_out_and_refuse_out_of_range_copies) {
    HostBuffer buffer(16);
    const std::vector<std::byte> in{std::byte{1}, std::byte{2}, std::byte{3}};
    buffer.upload(5, in).wait();
    std::vector<std::byte> out(3);
    buffer.download(5, out).wait();
    EXPECT_EQ(out, in);
    EXPECT_THROW(buffer.upload(14, in), core::Error);
    EXPECT_THROW(buffer.download(17, std::span<std::byte>()), core::Error);
}

TEST(CpuBackend, Supports_what_it_has_kernels_for) {
    const cpu::CpuBackend& backend = shared_backend();
    const nd_dtype f32_q4k[] = {ND_DTYPE_F32, ND_DTYPE_Q4_K};
    EXPECT_TRUE(backend.supports(OpKind::Linear, f32_q4k, ND_DTYPE_F32));
    const nd_dtype f32_q8k[] = {ND_DTYPE_F32, ND_DTYPE_Q8_K};
    EXPECT_FALSE(backend.supports(OpKind::Linear, f32_q8k, ND_DTYPE_F32)); // an activation format, not a weight
    const nd_dtype f16[] = {ND_DTYPE_F16};
    EXPECT_FALSE(backend.supports(OpKind::Silu, f16, ND_DTYPE_F16));
    EXPECT_TRUE(backend.supports(OpKind::Reshape, f16, ND_DTYPE_F16)); // views run nowhere
}

// --------------------------------------------------------------------------------------- small graphs

// x [4, 8] -> linear(16) -> gelu -> linear(3), checked against a plain double-precision loop.
TEST(CpuBackend, Runs_a_tiny_mlp_like_a_hand_written_loop) {
    const Tensor x = random_tensor({4, 8}, 1);
    const Tensor w1 = random_tensor({16, 8}, 2, 0.5f);
    const Tensor b1 = random_tensor({16}, 3, 0.1f);
    const Tensor w2 = random_tensor({3, 16}, 4, 0.5f);
    const Tensor b2 = random_tensor({3}, 5, 0.1f);
    Graph g;
    const ValueId in = g.input("x", ND_DTYPE_F32, {4, 8});
    const ValueId h = g.gelu(g.linear(in, g.weight("w1", w1), g.weight("b1", b1), "fc1"));
    g.mark_output(g.linear(h, g.weight("w2", w2), g.weight("b2", b2), "fc2"));
    const std::vector<Tensor> out = run(std::move(g), {x}, shared_backend());
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].shape(), (Shape{4, 3}));

    const std::vector<float> xv = x.to_f32(), w1v = w1.to_f32(), b1v = b1.to_f32(), w2v = w2.to_f32(),
                             b2v = b2.to_f32();
    std::vector<float> expected;
    for (int i = 0; i < 4; ++i) {
        std::vector<double> hidden(16);
        for (int j = 0; j < 16; ++j) {
            double s = b1v[static_cast<std::size_t>(j)];
            for (int k = 0; k < 8; ++k) {
                s += static_cast<double>(xv[static_cast<std::size_t>(i * 8 + k)]) * w1v[static_cast<std::size_t>(j * 8 + k)];
            }
            hidden[static_cast<std::size_t>(j)] = 0.5 * s * (1.0 + std::erf(s / std::sqrt(2.0)));
        }
        for (int j = 0; j < 3; ++j) {
            double s = b2v[static_cast<std::size_t>(j)];
            for (int k = 0; k < 16; ++k) {
                s += hidden[static_cast<std::size_t>(k)] * w2v[static_cast<std::size_t>(j * 16 + k)];
            }
            expected.push_back(static_cast<float>(s));
        }
    }
    expect_near(out[0].to_f32(), expected, 1e-4f);
}

TEST(CpuBackend, Linear_reads_f16_weights_and_strided_activations) {
    // A transposed activation has no row stride: the backend packs it into planned scratch first.
    const Tensor x = random_tensor({8, 6}, 7); // used as xᵀ [6, 8]
    std::vector<std::uint16_t> w_half(5 * 8);
    std::vector<float> w_float(5 * 8);
    const std::vector<float> w_values = random_values(w_half.size(), 8);
    for (std::size_t i = 0; i < w_half.size(); ++i) {
        w_half[i] = core::f32_to_f16(w_values[i]);
        w_float[i] = core::f16_to_f32(w_half[i]);
    }
    const Tensor w = Tensor::copy_of(ND_DTYPE_F16, {5, 8}, std::as_bytes(std::span(w_half)));
    Graph g;
    const ValueId in = g.input("x", ND_DTYPE_F32, {8, 6});
    const ValueId y = g.linear(g.transpose(in, 0, 1), g.weight("w", w));
    g.mark_output(y);
    const core::Plan plan = plan_for(std::move(g), shared_backend());
    EXPECT_GE(plan.steps()[0].scratch, 0); // the packed copy of xᵀ
    Executor executor(shared_backend());
    const std::vector<Tensor> out = executor.run(plan, {x});
    const std::vector<float> xv = x.to_f32();
    std::vector<float> expected;
    for (int i = 0; i < 6; ++i) {
        for (int j = 0; j < 5; ++j) {
            double s = 0;
            for (int k = 0; k < 8; ++k) {
                s += static_cast<double>(xv[static_cast<std::size_t>(k * 6 + i)]) * w_float[static_cast<std::size_t>(j * 8 + k)];
            }
            expected.push_back(static_cast<float>(s));
        }
    }
    expect_near(out[0].to_f32(), expected, 1e-5f);
}

TEST(CpuBackend, Matmul_of_activations_with_transposed_and_packed_right_operands) {
    const Tensor a = random_tensor({2, 3, 4, 5}, 11);
    const Tensor b = random_tensor({2, 3, 5, 6}, 12);
    const Tensor bt = random_tensor({2, 3, 6, 5}, 13); // used as its transpose: columns packed, no copy
    Graph g;
    const ValueId va = g.input("a", ND_DTYPE_F32, {2, 3, 4, 5});
    const ValueId vb = g.input("b", ND_DTYPE_F32, {2, 3, 5, 6});
    const ValueId vbt = g.input("bt", ND_DTYPE_F32, {2, 3, 6, 5});
    g.mark_output(g.matmul(va, vb));
    g.mark_output(g.matmul(va, g.transpose(vbt, 2, 3)));
    const std::vector<Tensor> out = run(std::move(g), {a, b, bt}, shared_backend());
    const std::vector<float> av = a.to_f32(), bv = b.to_f32(), btv = bt.to_f32();
    std::vector<float> expected_b, expected_bt;
    for (int batch = 0; batch < 6; ++batch) {
        for (int i = 0; i < 4; ++i) {
            for (int j = 0; j < 6; ++j) {
                double s = 0, t = 0;
                for (int k = 0; k < 5; ++k) {
                    const double x = av[static_cast<std::size_t>(batch * 20 + i * 5 + k)];
                    s += x * bv[static_cast<std::size_t>(batch * 30 + k * 6 + j)];
                    t += x * btv[static_cast<std::size_t>(batch * 30 + j * 5 + k)];
                }
                expected_b.push_back(static_cast<float>(s));
                expected_bt.push_back(static_cast<float>(t));
            }
        }
    }
    expect_near(out[0].to_f32(), expected_b, 1e-5f);
    expect_near(out[1].to_f32(), expected_bt, 1e-5f);
}

TEST(CpuBackend, Element_wise_chains_run_in_place_with_the_same_results) {
    const Tensor x = random_tensor({3, 1000}, 21, 3.0f);
    const Tensor row = random_tensor({1000}, 22);
    auto build = [] {
        Graph g;
        const ValueId in = g.input("x", ND_DTYPE_F32, {3, 1000});
        const ValueId r = g.input("row", ND_DTYPE_F32, {1000});
        ValueId v = g.silu(in);
        v = g.add(v, r); // broadcast
        v = g.scale(v, 0.5f, 1.0f);
        v = g.clamp(v, -0.5f, 1.5f);
        v = g.mul(v, v);
        v = g.quick_gelu(v);
        g.mark_output(v);
        return g;
    };
    const core::Plan in_place = plan_for(build(), shared_backend());
    core::PlanOptions copying_options;
    copying_options.in_place = false;
    const core::Plan copying = plan_for(build(), shared_backend(), copying_options);
    EXPECT_LT(in_place.peak_bytes(), copying.peak_bytes());
    Executor executor(shared_backend());
    const std::vector<float> a = executor.run(in_place, {x, row})[0].to_f32();
    const std::vector<float> b = executor.run(copying, {x, row})[0].to_f32();
    EXPECT_EQ(a, b);
    // And against the element-wise definition.
    const std::vector<float> xv = x.to_f32(), rv = row.to_f32();
    std::vector<float> expected;
    for (std::size_t i = 0; i < xv.size(); ++i) {
        double v = xv[i] / (1.0 + std::exp(-static_cast<double>(xv[i])));
        v = (v + rv[i % 1000]) * 0.5 + 1.0;
        v = std::min(std::max(v, -0.5), 1.5);
        v = v * v;
        v = v / (1.0 + std::exp(-1.702 * v));
        expected.push_back(static_cast<float>(v));
    }
    expect_near(a, expected, 1e-5f);
}

TEST(CpuBackend, Norms_and_softmax_match_their_reference_kernels_on_strided_inputs) {
    const Tensor x = random_tensor({2, 16, 6}, 31, 2.0f);
    const Tensor gamma = random_tensor({16}, 32);
    const Tensor beta = random_tensor({16}, 33);
    Graph g;
    const ValueId in = g.input("x", ND_DTYPE_F32, {2, 16, 6});
    const ValueId t = g.transpose(in, 1, 2); // [2, 6, 16], innermost stride 24 bytes: packed into scratch
    g.mark_output(g.layer_norm(t, g.weight("gamma", gamma), g.weight("beta", beta), {}));
    g.mark_output(g.softmax(t));
    g.mark_output(g.group_norm(in, g.weight("g", gamma), {}, core::GroupNormParams{.groups = 4, .fused_silu = true}));
    const std::vector<Tensor> out = run(std::move(g), {x}, shared_backend());

    const Tensor packed = x.transpose(1, 2).contiguous();
    Tensor ln = Tensor::empty(ND_DTYPE_F32, {2, 6, 16});
    cpu::ops::layer_norm_reference(packed.view(), gamma.view(), beta.view(), 1e-5f, ln.mutable_view());
    Tensor sm = Tensor::empty(ND_DTYPE_F32, {2, 6, 16});
    cpu::ops::softmax_reference(packed.view(), sm.mutable_view());
    Tensor gn = Tensor::empty(ND_DTYPE_F32, {2, 16, 6});
    cpu::ops::group_norm_reference(x.view(), gamma.view(), {}, cpu::ops::GroupNormParams{4, 1e-5f, true},
                                   gn.mutable_view());
    expect_near(out[0].to_f32(), ln.to_f32(), 1e-5f);
    expect_near(out[1].to_f32(), sm.to_f32(), 1e-5f);
    expect_near(out[2].to_f32(), gn.to_f32(), 1e-5f);
}

TEST(CpuBackend, Concat_contiguous_and_views_move_the_right_elements) {
    const Tensor a = random_tensor({1, 2, 3, 4}, 41);
    const Tensor b = random_tensor({1, 3, 3, 4}, 42);
    Graph g;
    const ValueId va = g.input("a", ND_DTYPE_F32, {1, 2, 3, 4});
    const ValueId vb = g.input("b", ND_DTYPE_F32, {1, 3, 3, 4});
    const ValueId cat = g.concat({va, vb}, 1);
    g.mark_output(cat);
    g.mark_output(g.contiguous(g.permute(cat, {0, 2, 3, 1})));
    g.mark_output(g.narrow(cat, 1, 1, 2)); // an output that is a view: read back packed
    const std::vector<Tensor> out = run(std::move(g), {a, b}, shared_backend());
    std::vector<float> expected = a.to_f32();
    const std::vector<float> bv = b.to_f32();
    expected.insert(expected.end(), bv.begin(), bv.end());
    EXPECT_EQ(out[0].to_f32(), expected);
    const Tensor reference = Tensor::from_f32({1, 5, 3, 4}, expected);
    EXPECT_EQ(out[1].to_f32(), reference.permute({0, 2, 3, 1}).to_f32());
    EXPECT_EQ(out[2].to_f32(), reference.narrow(1, 1, 2).to_f32());
    EXPECT_TRUE(out[2].is_contiguous());
}

TEST(CpuBackend, Submit_runs_steps_in_a_host_arena_whose_slices_read_back_as_tensors) {
    Graph g;
    const ValueId in = g.input("x", ND_DTYPE_F32, {2, 3});
    const ValueId doubled = g.scale(in, 2.0f, 0.0f, "doubled");
    const ValueId column = g.narrow(doubled, 1, 1, 1);
    g.mark_output(g.add(doubled, column, "sum"));
    core::PlanOptions options;
    options.in_place = false;
    const core::Plan plan = plan_for(std::move(g), shared_backend(), options);
    HostBuffer arena(plan.peak_bytes());
    const std::vector<float> values{1, 2, 3, 4, 5, 6};
    arena.upload(plan.offset(in), std::as_bytes(std::span(values))).wait();
    shared_backend().submit(plan, 0, plan.steps().size(), arena).wait();
    const Tensor slice = plan.tensor(column, arena.storage());
    EXPECT_EQ(slice.storage()->kind(), core::Storage::Kind::Arena);
    EXPECT_EQ(slice.shape(), (Shape{2, 1}));
    EXPECT_EQ(slice.to_f32(), (std::vector<float>{4, 10}));
    EXPECT_EQ(plan.tensor(plan.graph().outputs()[0], arena.storage()).to_f32(),
              (std::vector<float>{6, 8, 10, 18, 20, 22}));
    // Out-of-range work is refused before anything runs.
    EXPECT_THROW(shared_backend().submit(plan, 0, 5, arena), core::Error);
    HostBuffer small(8);
    EXPECT_THROW(shared_backend().submit(plan, 0, 1, small), core::Error);
}

TEST(CpuBackend, Executor_checks_inputs_and_reuses_its_arena_across_runs) {
    Graph g;
    const ValueId in = g.input("x", ND_DTYPE_F32, {4});
    g.mark_output(g.scale(in, 2.0f));
    const core::Plan plan = plan_for(std::move(g), shared_backend());
    Executor executor(shared_backend());
    const std::vector<float> values{1, 2, 3, 4};
    for (int round = 0; round < 3; ++round) {
        EXPECT_EQ(executor.run(plan, {Tensor::from_f32({4}, values)})[0].to_f32(), (std::vector<float>{2, 4, 6, 8}));
    }
    try {
        (void)executor.run(plan, {Tensor::from_f32({2, 2}, values)});
        ADD_FAILURE() << "no error";
    } catch (const core::Error& e) {
        EXPECT_EQ(e.status(), ND_STATUS_INVALID_ARGUMENT);
        EXPECT_NE(std::string(e.what()).find("input 0 'x' is declared F32 [4] but F32 [2, 2] was given"),
                  std::string::npos)
            << e.what();
    }
    EXPECT_THROW((void)executor.run(plan, {}), core::Error);
}

TEST(CpuBackend, Executor_interrupt_is_checked_every_few_steps_and_can_stop_a_run) {
    // A chain of 20 scales: 20 steps, so 3 checks (before steps 0, 8 and 16) when every run is whole.
    Graph g;
    ValueId v = g.input("x", ND_DTYPE_F32, {4});
    for (int i = 0; i < 20; ++i) {
        v = g.scale(v, 2.0f);
    }
    g.mark_output(v);
    core::PlanOptions options;
    options.in_place = false;
    const core::Plan plan = plan_for(std::move(g), shared_backend(), options);
    ASSERT_EQ(plan.steps().size(), 20u);
    Executor executor(shared_backend());
    const std::vector<float> values{1, 2, 3, 4};
    const std::vector<float> expected{1 << 20, 2 << 20, 3 << 20, 4 << 20};
    int checks = 0;
    executor.set_interrupt([&] { ++checks; });
    EXPECT_EQ(executor.run(plan, {Tensor::from_f32({4}, values)})[0].to_f32(), expected);
    EXPECT_EQ(checks, 3);

    // The second check throws: the run stops there, the error reaches the caller.
    checks = 0;
    executor.set_interrupt([&] {
        if (++checks == 2) {
            core::throw_error(ND_STATUS_CANCELLED, "stop");
        }
    });
    try {
        (void)executor.run(plan, {Tensor::from_f32({4}, values)});
        ADD_FAILURE() << "no error";
    } catch (const core::Error& e) {
        EXPECT_EQ(e.status(), ND_STATUS_CANCELLED);
    }
    EXPECT_EQ(checks, 2);

    // Without the check the next run is whole and right.
    executor.set_interrupt({});
    EXPECT_EQ(executor.run(plan, {Tensor::from_f32({4}, values)})[0].to_f32(), expected);
    EXPECT_EQ(checks, 2);
}

// ------------------------------------------------------------------------------ SD-shaped blocks

Tensor to_f16(const Tensor& t) {
    const std::vector<float> v = t.to_f32();
    std::vector<std::uint16_t> h(v.size());
    for (std::size_t i = 0; i < v.size(); ++i) {
        h[i] = core::f32_to_f16(v[i]);
    }
    return Tensor::copy_of(ND_DTYPE_F16, t.shape(), std::as_bytes(std::span(h)));
}

// conv -> group_norm + silu -> conv -> add, as a ResBlock without its time embedding; checked against the
// ops' reference kernels run one after another.
TEST(CpuBackend, Runs_a_resblock_like_the_reference_kernels) {
    const Tensor x = random_tensor({1, 32, 8, 8}, 61);
    const Tensor w1 = to_f16(random_tensor({32, 32, 3, 3}, 62, 0.1f));
    const Tensor b1 = random_tensor({32}, 63, 0.1f);
    const Tensor gamma = random_tensor({32}, 64);
    const Tensor beta = random_tensor({32}, 65, 0.1f);
    const Tensor w2 = random_tensor({32, 32, 3, 3}, 66, 0.1f);
    Graph g;
    const ValueId in = g.input("x", ND_DTYPE_F32, {1, 32, 8, 8});
    const core::Conv2dParams same{.pad_h = 1, .pad_w = 1};
    ValueId h = g.conv2d(in, g.weight("conv1.weight", w1), g.weight("conv1.bias", b1), same, "conv1");
    h = g.group_norm(h, g.weight("norm.weight", gamma), g.weight("norm.bias", beta),
                     core::GroupNormParams{.groups = 8, .fused_silu = true}, "norm");
    h = g.conv2d(h, g.weight("conv2.weight", w2), {}, same, "conv2");
    g.mark_output(g.add(in, h, "residual"));
    const std::vector<Tensor> out = run(std::move(g), {x}, shared_backend());

    const cpu::ops::Conv2dParams p{3, 3, 1, 1};
    Tensor c1 = Tensor::empty(ND_DTYPE_F32, {1, 32, 8, 8});
    cpu::ops::conv2d_reference(x.view(), w1.view(), b1.view(), p, c1.mutable_view());
    Tensor n = Tensor::empty(ND_DTYPE_F32, {1, 32, 8, 8});
    cpu::ops::group_norm_reference(c1.view(), gamma.view(), beta.view(), {8, 1e-5f, true}, n.mutable_view());
    Tensor c2 = Tensor::empty(ND_DTYPE_F32, {1, 32, 8, 8});
    cpu::ops::conv2d_reference(n.view(), w2.view(), {}, p, c2.mutable_view());
    Tensor expected = Tensor::empty(ND_DTYPE_F32, {1, 32, 8, 8});
    cpu::ops::binary_reference(cpu::ops::BinaryOp::Add, x.view(), c2.view(), expected.mutable_view());
    expect_near(out[0].to_f32(), expected.to_f32(), 1e-4f);
}

TEST(CpuBackend, Conv2d_reads_block_quantized_weight_rows) {
    const Tensor x = random_tensor({1, 32, 6, 6}, 71);
    const std::vector<float> w = random_values(16 * 32 * 9, 72, 0.2f);
    const std::uint64_t row_bytes = core::dtype_row_bytes(ND_DTYPE_Q8_0, 32 * 9);
    std::vector<std::byte> q(16 * row_bytes);
    for (std::size_t r = 0; r < 16; ++r) {
        cpu::quant::quantize_row(ND_DTYPE_Q8_0, std::span(w).subspan(r * 288, 288),
                                 std::span(q).subspan(r * row_bytes, row_bytes));
    }
    const Tensor wq = Tensor::copy_of(ND_DTYPE_Q8_0, {16, 288}, q);
    Graph g;
    const ValueId in = g.input("x", ND_DTYPE_F32, {1, 32, 6, 6});
    g.mark_output(g.conv2d(in, g.weight("w", wq), {},
                           core::Conv2dParams{.kernel_h = 3, .kernel_w = 3, .stride_h = 2, .stride_w = 2, .pad_h = 1,
                                              .pad_w = 1}));
    const std::vector<Tensor> out = run(std::move(g), {x}, shared_backend());
    EXPECT_EQ(out[0].shape(), (Shape{1, 16, 3, 3}));
    Tensor expected = Tensor::empty(ND_DTYPE_F32, {1, 16, 3, 3});
    cpu::ops::conv2d_reference(x.view(), wq.view(), {}, cpu::ops::Conv2dParams{3, 3, 2, 1}, expected.mutable_view());
    // The GEMM multiplies block-quantized weights with activations quantized to 8 bits on the fly, while the
    // reference keeps the activations exact: each of these dot products of 288 terms (sum of |x·w| about 14)
    // may differ by a few hundredths. A wiring mistake (rows, strides, kernel size) would differ by ~1.
    const std::vector<float> actual = out[0].to_f32();
    const std::vector<float> wanted = expected.to_f32();
    double total_error = 0;
    for (std::size_t i = 0; i < actual.size(); ++i) {
        EXPECT_NEAR(actual[i], wanted[i], 0.06f) << "element " << i;
        total_error += std::fabs(actual[i] - wanted[i]);
    }
    EXPECT_LT(total_error / static_cast<double>(actual.size()), 0.02);
}

// x [1, 64, 32] -> q, k, v projections -> 4 heads of 8 (views) -> fused attention -> merge -> out + x,
// against a double-precision loop with the full score matrix.
TEST(CpuBackend, Runs_a_self_attention_block_like_a_hand_written_loop) {
    constexpr int kTokens = 64, kChannels = 32, kHeads = 4, kHead = 8;
    const Tensor x = random_tensor({1, kTokens, kChannels}, 81);
    std::vector<Tensor> w;
    for (unsigned i = 0; i < 4; ++i) {
        w.push_back(random_tensor({kChannels, kChannels}, 82 + i, 0.3f));
    }
    const Tensor bias = random_tensor({kChannels}, 90, 0.1f);
    Graph g;
    const ValueId in = g.input("x", ND_DTYPE_F32, {1, kTokens, kChannels});
    auto heads = [&](int i, const char* name) {
        const ValueId projected = g.linear(in, g.weight(name, w[static_cast<std::size_t>(i)]), {}, name);
        return g.permute(g.reshape(projected, {1, kTokens, kHeads, kHead}), {0, 2, 1, 3});
    };
    const ValueId o = g.attention(heads(0, "to_q"), heads(1, "to_k"), heads(2, "to_v"), {}, "attn1");
    const ValueId merged = g.reshape(g.contiguous(g.permute(o, {0, 2, 1, 3})), {1, kTokens, kChannels});
    g.mark_output(g.add(g.linear(merged, g.weight("to_out", w[3]), g.weight("to_out.bias", bias), "to_out"), in));
    const std::vector<Tensor> out = run(std::move(g), {x}, shared_backend());

    const std::vector<float> xv = x.to_f32();
    auto project = [&](const std::vector<float>& input, const Tensor& weight, const float* b) {
        const std::vector<float> wv = weight.to_f32();
        std::vector<double> y(kTokens * kChannels);
        for (int t = 0; t < kTokens; ++t) {
            for (int j = 0; j < kChannels; ++j) {
                double s = b != nullptr ? b[j] : 0.0;
                for (int k = 0; k < kChannels; ++k) {
                    s += static_cast<double>(input[static_cast<std::size_t>(t * kChannels + k)]) *
                         wv[static_cast<std::size_t>(j * kChannels + k)];
                }
                y[static_cast<std::size_t>(t * kChannels + j)] = s;
            }
        }
        return y;
    };
    const std::vector<double> q = project(xv, w[0], nullptr), k = project(xv, w[1], nullptr),
                              v = project(xv, w[2], nullptr);
    std::vector<float> attended(kTokens * kChannels);
    const double scale = 1.0 / std::sqrt(static_cast<double>(kHead));
    for (int h = 0; h < kHeads; ++h) {
        for (int i = 0; i < kTokens; ++i) {
            std::vector<double> scores(kTokens);
            double max = -1e300;
            for (int j = 0; j < kTokens; ++j) {
                double s = 0;
                for (int d = 0; d < kHead; ++d) {
                    s += q[static_cast<std::size_t>(i * kChannels + h * kHead + d)] *
                         k[static_cast<std::size_t>(j * kChannels + h * kHead + d)];
                }
                scores[static_cast<std::size_t>(j)] = s * scale;
                max = std::max(max, s * scale);
            }
            double sum = 0;
            for (double& s : scores) {
                s = std::exp(s - max);
                sum += s;
            }
            for (int d = 0; d < kHead; ++d) {
                double acc = 0;
                for (int j = 0; j < kTokens; ++j) {
                    acc += scores[static_cast<std::size_t>(j)] * v[static_cast<std::size_t>(j * kChannels + h * kHead + d)];
                }
                attended[static_cast<std::size_t>(i * kChannels + h * kHead + d)] = static_cast<float>(acc / sum);
            }
        }
    }
    const std::vector<float> bv = bias.to_f32();
    const std::vector<double> projected = project(attended, w[3], bv.data());
    std::vector<float> expected(projected.size());
    for (std::size_t i = 0; i < expected.size(); ++i) {
        expected[i] = static_cast<float>(projected[i] + xv[i]);
    }
    expect_near(out[0].to_f32(), expected, 1e-4f);
}

TEST(CpuBackend, Embeddings_upsampling_and_conversion_run) {
    const Tensor table = to_f16(random_tensor({10, 6}, 91));
    const std::vector<std::int32_t> ids{3, 0, 9, 3};
    const std::vector<float> steps{0.0f, 981.0f};
    const Tensor image = random_tensor({1, 2, 2, 3}, 92);
    Graph g;
    const ValueId vids = g.input("ids", ND_DTYPE_I32, {2, 2});
    const ValueId vt = g.input("t", ND_DTYPE_F32, {2});
    const ValueId vimage = g.input("image", ND_DTYPE_F32, {1, 2, 2, 3});
    g.mark_output(g.embedding(g.weight("tok", table), vids));
    g.mark_output(g.timestep_embedding(vt, core::TimestepEmbeddingParams{.dim = 8}));
    g.mark_output(g.upsample_nearest2x(vimage));
    g.mark_output(g.convert(g.convert(vimage, ND_DTYPE_BF16), ND_DTYPE_F32));
    const std::vector<Tensor> out =
        run(std::move(g), {Tensor::from_i32({2, 2}, ids), Tensor::from_f32({2}, steps), image}, shared_backend());

    const std::vector<float> tv = table.to_f32();
    const std::vector<float> emb = out[0].to_f32();
    EXPECT_EQ(out[0].shape(), (Shape{2, 2, 6}));
    for (std::size_t i = 0; i < ids.size(); ++i) {
        for (std::size_t d = 0; d < 6; ++d) {
            EXPECT_EQ(emb[i * 6 + d], tv[static_cast<std::size_t>(ids[i]) * 6 + d]);
        }
    }
    const std::vector<float> te = out[1].to_f32();
    for (std::size_t n = 0; n < 2; ++n) {
        for (std::size_t i = 0; i < 4; ++i) {
            const double angle = steps[n] * std::exp(-std::log(10000.0) * static_cast<double>(i) / 4.0);
            EXPECT_NEAR(te[n * 8 + i], std::cos(angle), 2e-3);
            EXPECT_NEAR(te[n * 8 + 4 + i], std::sin(angle), 2e-3);
        }
    }
    const std::vector<float> iv = image.to_f32();
    const std::vector<float> up = out[2].to_f32();
    EXPECT_EQ(out[2].shape(), (Shape{1, 2, 4, 6}));
    EXPECT_EQ(up[1 * 24 + 3 * 6 + 5], iv[1 * 6 + 1 * 3 + 2]);
    const std::vector<float> round_trip = out[3].to_f32();
    for (std::size_t i = 0; i < iv.size(); ++i) {
        EXPECT_EQ(round_trip[i], core::bf16_to_f32(core::f32_to_bf16(iv[i])));
    }
}

TEST(CpuBackend, A_kernel_failure_surfaces_from_the_submission_naming_the_node) {
    Graph g;
    const ValueId ids = g.input("ids", ND_DTYPE_I32, {3});
    g.mark_output(g.embedding(g.weight("tok", Tensor::empty(ND_DTYPE_F32, {10, 4})), ids, "token_embedding"));
    const core::Plan plan = plan_for(std::move(g), shared_backend());
    HostBuffer arena(plan.peak_bytes());
    const std::vector<std::int32_t> bad{1, 12, 3};
    arena.upload(plan.offset(ids), std::as_bytes(std::span(bad))).wait();
    const Submission submission = shared_backend().submit(plan, 0, 1, arena);
    EXPECT_TRUE(submission.ready());
    try {
        submission.wait();
        ADD_FAILURE() << "no error";
    } catch (const core::Error& e) {
        EXPECT_EQ(e.status(), ND_STATUS_INVALID_ARGUMENT);
        const std::string message = e.what();
        EXPECT_EQ(message.rfind("embedding 'token_embedding': ", 0), 0u) << message;
        EXPECT_NE(message.find("id 12"), std::string::npos) << message;
    }
    // The backend is still usable.
    const std::vector<std::int32_t> good{1, 2, 3};
    arena.upload(plan.offset(ids), std::as_bytes(std::span(good))).wait();
    EXPECT_NO_THROW(shared_backend().submit(plan, 0, 1, arena).wait());
}

TEST(CpuBackend, Runs_dilated_and_asymmetric_convolutions_like_the_reference) {
    const Tensor x = random_tensor({2, 3, 9, 7}, 97);
    const Tensor w = random_tensor({4, 3, 3, 2}, 98, 0.3f);
    const Tensor b = to_f16(random_tensor({4}, 99, 0.1f));
    Graph g;
    const ValueId in = g.input("x", ND_DTYPE_F32, {2, 3, 9, 7});
    const core::Conv2dParams params{.stride_h = 2, .stride_w = 1, .pad_h = 2, .pad_w = 1, .dilation_h = 2,
                                    .dilation_w = 3};
    const ValueId y = g.conv2d(in, g.weight("w", w), g.weight("b", b), params, "dilated");
    g.mark_output(y);
    const Shape expected_shape{2, 4, 5, 6}; // (9 + 4 - 5) / 2 + 1, (7 + 2 - 4) / 1 + 1
    EXPECT_EQ(g.shape(y), expected_shape);
    const std::vector<Tensor> out = run(std::move(g), {x}, shared_backend());
    cpu::ops::Conv2dParams p;
    p.kernel_h = 3;
    p.kernel_w = 2;
    p.stride = 2;
    p.padding = 2;
    p.stride_w = 1;
    p.padding_w = 1;
    p.dilation_h = 2;
    p.dilation_w = 3;
    Tensor expected = Tensor::empty(ND_DTYPE_F32, expected_shape);
    cpu::ops::conv2d_reference(x.view(), w.view(), b.view(), p, expected.mutable_view());
    expect_near(out[0].to_f32(), expected.to_f32(), 1e-5f);
}

TEST(CpuBackend, Refuses_at_plan_time_what_its_kernels_cannot_do) {
    Graph g;
    const ValueId x = g.input("x", ND_DTYPE_F32, {2, 256});
    // Q8_K is the activation side of K-quant dot products, never a weight format.
    g.mark_output(g.linear(x, g.weight("w", Tensor::empty(ND_DTYPE_Q8_K, {4, 256})), {}, "proj"));
    try {
        (void)plan_for(std::move(g), shared_backend());
        ADD_FAILURE() << "no error";
    } catch (const core::Error& e) {
        EXPECT_EQ(e.status(), ND_STATUS_UNSUPPORTED);
        EXPECT_EQ(std::string(e.what()), "no backend runs linear 'proj' with operands F32 [2, 256], Q8_K [4, 256] "
                                         "giving F32 (tried cpu)");
    }
}

TEST(CpuBackend, Causal_attention_with_half_precision_norm_weights_matches_the_references) {
    // CLIP's text encoder: layer_norm (F16 weights in the file) then causal self-attention over 77 tokens.
    const Tensor x = random_tensor({1, 2, 77, 16}, 95);
    const Tensor gamma = to_f16(random_tensor({16}, 96));
    Graph g;
    const ValueId in = g.input("x", ND_DTYPE_F32, {1, 2, 77, 16});
    const ValueId normed = g.layer_norm(in, g.weight("ln.weight", gamma), {}, {}, "ln");
    g.mark_output(g.attention(normed, normed, normed, core::AttentionParams{.causal = true}, "clip.attn"));
    const std::vector<Tensor> out = run(std::move(g), {x}, shared_backend());

    Tensor n = Tensor::empty(ND_DTYPE_F32, {1, 2, 77, 16});
    cpu::ops::layer_norm_reference(x.view(), gamma.view(), {}, 1e-5f, n.mutable_view());
    Tensor expected = Tensor::empty(ND_DTYPE_F32, {1, 2, 77, 16});
    cpu::ops::attention_reference(n.view(), n.view(), n.view(), cpu::ops::AttentionOptions{0.0f, true},
                                  expected.mutable_view());
    expect_near(out[0].to_f32(), expected.to_f32(), 1e-4f);
    // The first query sees only the first key: its output is that key's value row.
    const std::vector<float> first = out[0].to_f32();
    const std::vector<float> nv = n.to_f32();
    for (std::size_t d = 0; d < 16; ++d) {
        EXPECT_NEAR(first[d], nv[d], 1e-5f);
    }
}

TEST(CpuBackend, Attention_at_4096_tokens_plans_far_below_a_4096_by_4096_score_matrix) {
    // SD 1.5's first self-attention block at 512x512: 4096 tokens, 8 heads of 40, planned for this backend
    // (scratch included), not run.
    Graph g;
    const ValueId x = g.input("x", ND_DTYPE_F32, {1, 4096, 320});
    const ValueId normed = g.layer_norm(x, g.weight("norm", Tensor::empty(ND_DTYPE_F32, {320})), {}, {});
    auto heads = [&](const char* name) {
        const ValueId w = g.weight(name, Tensor::empty(ND_DTYPE_F16, {320, 320}));
        return g.permute(g.reshape(g.linear(normed, w, {}, name), {1, 4096, 8, 40}), {0, 2, 1, 3});
    };
    const ValueId o = g.attention(heads("to_q"), heads("to_k"), heads("to_v"), {}, "attn1");
    const ValueId merged = g.reshape(g.contiguous(g.permute(o, {0, 2, 1, 3})), {1, 4096, 320});
    const ValueId w_out = g.weight("to_out", Tensor::empty(ND_DTYPE_F16, {320, 320}));
    g.mark_output(g.add(g.linear(merged, w_out, {}, "to_out"), x));
    cpu::CpuBackend backend(cpu::CpuBackendOptions{.threads = 16, .isa = std::nullopt});
    const core::Plan plan = plan_for(std::move(g), backend);

    const std::uint64_t score_matrix = 4096ull * 4096ull * 4ull; // one head: 64 MiB; all 8 heads: 512 MiB
    const std::uint64_t activation = 4096ull * 320ull * 4ull;    // 5 MiB
    // At the attention step x (kept for the residual), q, k, v and the output are live: 5 activations.
    EXPECT_LE(plan.peak_bytes(), 5 * activation) << plan.describe();
    EXPECT_EQ(plan.peak_bytes(), plan.lower_bound_bytes());
    EXPECT_LT(plan.peak_bytes(), score_matrix / 2);
    for (const core::Allocation& allocation : plan.allocations()) {
        EXPECT_LE(allocation.bytes, activation);
    }
    // The fused kernel's own tiles, for all 16 threads, do not grow with the token count: a few MiB at most.
    EXPECT_LT(cpu::ops::attention_scratch_bytes(40) * 16, score_matrix / 16);
}

// ------------------------------------------------------------------------- several backends, one plan

// A stand-in for a GPU: its own memory (no host pointer, so every transfer is staged), weights uploaded
// through a WeightCache, and only some ops. It runs its steps with a CPU backend's kernels on that memory.
class PartialBackend final : public Backend {
public:
    explicit PartialBackend(std::vector<OpKind> ops) : ops_(std::move(ops)) {}

    class DeviceBuffer final : public BackendBuffer {
    public:
        explicit DeviceBuffer(std::uint64_t bytes) : memory(bytes) {}
        std::uint64_t size() const noexcept override { return memory.size(); }
        std::byte* host_data() noexcept override { return nullptr; } // "device" memory
        Submission upload(std::uint64_t offset, std::span<const std::byte> bytes) override {
            ++uploads;
            return memory.upload(offset, bytes);
        }
        Submission download(std::uint64_t offset, std::span<std::byte> bytes) override {
            ++downloads;
            return memory.download(offset, bytes);
        }
        HostBuffer memory;
        int uploads = 0;
        int downloads = 0;
    };

    std::string_view name() const noexcept override { return "partial"; }
    BackendCapabilities capabilities() const override { return {}; }
    bool supports(OpKind op, std::span<const nd_dtype> dtypes, nd_dtype out) const override {
        return std::find(ops_.begin(), ops_.end(), op) != ops_.end() && kernels_.supports(op, dtypes, out);
    }
    std::uint64_t scratch_bytes(const Graph& graph, ValueId node) const override {
        return kernels_.scratch_bytes(graph, node);
    }
    std::unique_ptr<BackendBuffer> allocate(std::uint64_t bytes) override {
        return std::make_unique<DeviceBuffer>(bytes);
    }
    void upload_weights(const core::Plan& plan, int device) override {
        for (const core::Step& step : plan.steps()) {
            if (step.device != device) {
                continue;
            }
            for (const ValueId operand : plan.graph().node(step.value).inputs) {
                if (operand.valid() && plan.graph().node(operand).op == OpKind::Weight) {
                    (void)weights.get(*this, plan.graph().node(operand).constant);
                }
            }
        }
    }
    Submission submit(const core::Plan& plan, std::size_t first, std::size_t last, BackendBuffer& arena) override {
        ++submissions;
        return kernels_.submit(plan, first, last, dynamic_cast<DeviceBuffer&>(arena).memory);
    }

    WeightCache weights;
    int submissions = 0;

private:
    std::vector<OpKind> ops_;
    cpu::CpuBackend kernels_{cpu::CpuBackendOptions{.threads = 1, .isa = std::nullopt}};
};

TEST(Executor, Places_unsupported_ops_on_the_cpu_and_copies_values_between_devices) {
    const Tensor x = random_tensor({4, 32}, 51);
    const Tensor w1 = random_tensor({32, 32}, 52, 0.3f);
    const Tensor w2 = random_tensor({8, 32}, 53, 0.3f);
    auto build = [&] {
        Graph g;
        const ValueId in = g.input("x", ND_DTYPE_F32, {4, 32});
        const ValueId fc1 = g.weight("w1", w1);
        const ValueId h = g.layer_norm(g.linear(in, fc1), {}, {}, {}); // linear on the device, norm on the cpu
        const ValueId r = g.add(g.silu(g.linear(h, fc1)), in);       // back and forth; x read on both
        g.mark_output(g.linear(r, g.weight("w2", w2)));
        g.mark_output(h);
        return g;
    };
    PartialBackend device({OpKind::Linear});
    cpu::CpuBackend& cpu = shared_backend();
    Backend* const backends[] = {&device, &cpu};
    const core::Plan split = plan_for(build(), backends);
    int on_device = 0;
    for (const core::Step& step : split.steps()) {
        const OpKind op = split.graph().node(step.value).op;
        EXPECT_EQ(step.device, op == OpKind::Linear ? 0 : 1) << core::op_name(op);
        on_device += step.device == 0 ? 1 : 0;
    }
    EXPECT_EQ(on_device, 3);

    Executor executor({&device, &cpu});
    const std::vector<Tensor> mixed = executor.run(split, {x});
    EXPECT_GT(executor.transferred_bytes(), 0u);
    EXPECT_EQ(device.submissions, 3); // linear | norm | linear | silu, add | linear
    EXPECT_EQ(device.weights.size(), 2u);
    const std::uint64_t weight_bytes = device.weights.uploaded_bytes();
    EXPECT_EQ(weight_bytes, (32u * 32u + 8u * 32u) * 4u);
    (void)executor.run(split, {x});
    EXPECT_EQ(device.weights.uploaded_bytes(), weight_bytes); // uploaded once

    const std::vector<Tensor> alone = run(build(), {x}, cpu);
    expect_near(mixed[0].to_f32(), alone[0].to_f32(), 1e-6f);
    expect_near(mixed[1].to_f32(), alone[1].to_f32(), 1e-6f);
}

TEST(Executor, Plan_for_names_the_op_no_backend_runs) {
    PartialBackend device({OpKind::Linear});
    Graph g;
    const ValueId in = g.input("x", ND_DTYPE_F32, {4, 8});
    g.mark_output(g.silu(in, "act"));
    Backend* const backends[] = {&device};
    try {
        (void)plan_for(std::move(g), backends);
        ADD_FAILURE() << "no error";
    } catch (const core::Error& e) {
        EXPECT_EQ(e.status(), ND_STATUS_UNSUPPORTED);
        EXPECT_EQ(std::string(e.what()), "no backend runs silu 'act' with operands F32 [4, 8] giving F32 (tried partial)");
    }
}

} // namespace
} // namespace nd::backends
