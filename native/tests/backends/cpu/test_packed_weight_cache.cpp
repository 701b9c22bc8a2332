#include "backends/cpu/packed_weight_cache.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "backends/backend.hpp"
#include "backends/cpu/cpu_backend.hpp"
#include "backends/cpu/quant/quants.hpp"
#include "core/dtype.hpp"
#include "core/graph.hpp"
#include "core/mapped_file.hpp"
#include "support/temp_dir.hpp"

namespace nd::backends::cpu {
namespace {

using core::Graph;
using core::Shape;
using core::Tensor;
using core::ValueId;

std::vector<float> random_values(std::size_t n, unsigned seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
    std::vector<float> v(n);
    for (float& x : v) {
        x = dist(rng);
    }
    return v;
}

// Rows [n, k] of `type` from random values, as bytes.
std::vector<std::byte> encoded_rows(nd_dtype type, std::int64_t n, std::int64_t k, unsigned seed) {
    const std::vector<float> values = random_values(static_cast<std::size_t>(n * k), seed);
    const auto row_bytes = core::dtype_row_bytes(type, static_cast<std::uint64_t>(k));
    std::vector<std::byte> bytes(static_cast<std::size_t>(row_bytes * static_cast<std::uint64_t>(n)));
    for (std::int64_t r = 0; r < n; ++r) {
        quant::quantize_row(type, std::span(values.data() + r * k, static_cast<std::size_t>(k)),
                            std::span(bytes.data() + static_cast<std::size_t>(r) * row_bytes, row_bytes));
    }
    return bytes;
}

// A small model over the kinds of weights a UNet has: a 3x3 convolution with a 4-D F16 weight, one with Q4_0
// rows, a linear layer with F16 weights and one with Q8_0 weights, each weight a tensor of `make`.
struct Model {
    Graph graph;
    std::vector<Tensor> weights;
};

template <typename Make>
Model small_model(Make&& make) {
    Model m;
    Graph& g = m.graph;
    const ValueId x = g.input("x", ND_DTYPE_F32, {2, 32, 6, 5});
    core::Conv2dParams conv;
    conv.kernel_h = 3;
    conv.kernel_w = 3;
    conv.pad_h = 1;
    conv.pad_w = 1;
    m.weights.push_back(make("conv1", ND_DTYPE_F16, Shape{64, 32, 3, 3}));
    const ValueId c1 = g.conv2d(x, g.weight("conv1", m.weights.back()), {}, conv, "conv1");
    m.weights.push_back(make("conv2", ND_DTYPE_Q4_0, Shape{32, 64 * 9}));
    const ValueId c2 = g.conv2d(c1, g.weight("conv2", m.weights.back()), {}, conv, "conv2");
    const ValueId tokens =
        g.reshape(g.contiguous(g.permute(g.reshape(c2, {2, 32, 30}), {0, 2, 1})), {60, 32});
    m.weights.push_back(make("fc1", ND_DTYPE_F16, Shape{96, 32}));
    const ValueId h = g.linear(tokens, g.weight("fc1", m.weights.back()), {}, "fc1");
    m.weights.push_back(make("fc2", ND_DTYPE_Q8_0, Shape{40, 96}));
    g.mark_output(g.linear(h, g.weight("fc2", m.weights.back()), {}, "fc2"));
    return m;
}

Tensor owned_weight(std::string_view name, nd_dtype type, const Shape& shape) {
    const std::int64_t rows = shape[0];
    return Tensor::copy_of(
        type, shape,
        encoded_rows(type, rows, shape.elements() / rows, static_cast<unsigned>(name.size() * 7 + rows)));
}

// The output of the model's plan run by submit() alone (every call packs its weights) and by an executor
// (which has the backend pack them once).
struct Runs {
    std::vector<float> per_call;
    std::vector<float> executor;
};

Runs run_both(Graph graph, CpuBackend& backend, int executor_runs = 1) {
    const core::Plan plan = plan_for(std::move(graph), backend);
    const Tensor x = Tensor::from_f32(Shape{2, 32, 6, 5}, random_values(2 * 32 * 30, 3));
    HostBuffer arena(plan.peak_bytes());
    arena
        .upload(plan.offset(plan.graph().inputs()[0]),
                std::span(x.data(), static_cast<std::size_t>(x.packed_bytes())))
        .wait();
    backend.submit(plan, 0, plan.steps().size(), arena).wait();
    Runs r;
    r.per_call = plan.tensor(plan.graph().outputs()[0], arena.storage()).to_f32();
    Executor executor(backend);
    for (int i = 0; i < executor_runs; ++i) {
        r.executor = executor.run(plan, {x})[0].to_f32();
    }
    return r;
}

TEST(PackedWeightCache, Weights_packed_once_per_backend_give_bitwise_the_per_call_results_on_every_isa) {
    for (Isa isa : {Isa::Scalar, Isa::Avx2, Isa::Avx512}) {
        if (!isa_supported(isa, cpu_features())) {
            continue;
        }
        SCOPED_TRACE(std::string(isa_name(isa)));
        CpuBackend backend(CpuBackendOptions{2, isa});
        Model m = small_model(owned_weight);
        const Runs r = run_both(m.graph, backend, 2);
        EXPECT_EQ(backend.packed_weights().size(), 4u); // both convolutions, both linear layers
        ASSERT_EQ(r.per_call.size(), r.executor.size());
        EXPECT_EQ(std::memcmp(r.per_call.data(), r.executor.data(), r.per_call.size() * sizeof(float)), 0);
        // F16 weights pack into their own bytes, Q8_0 and Q4_0 into levels as bytes plus a scale per 32.
        const std::uint64_t f16 = 2 * (64 * 288 + 96 * 32);
        EXPECT_GE(backend.packed_weights().bytes(), f16 + 32 * 576 + 40 * 96);
        EXPECT_LE(backend.packed_weights().bytes(), f16 + (32 * 576 + 40 * 96) * 5 / 4 + 4 * 64 * 4);
    }
}

// Once packed, the kernels read only the packed copies: overwriting the weights changes nothing.
TEST(PackedWeightCache, Packed_weights_are_read_in_place_of_the_originals) {
    CpuBackend backend(CpuBackendOptions{2, {}});
    Model m = small_model(owned_weight);
    const core::Plan plan = plan_for(m.graph, backend);
    const Tensor x = Tensor::from_f32(Shape{2, 32, 6, 5}, random_values(2 * 32 * 30, 3));
    Executor executor(backend);
    const std::vector<float> before = executor.run(plan, {x})[0].to_f32();
    for (const Tensor& w : m.weights) {
        std::memset(w.data(), 0, static_cast<std::size_t>(w.packed_bytes()));
    }
    EXPECT_EQ(executor.run(plan, {x})[0].to_f32(), before);
}

TEST(PackedWeightCache, A_plan_sharing_the_weights_reuses_their_packed_copies) {
    CpuBackend backend(CpuBackendOptions{2, {}});
    Model m = small_model(owned_weight);
    (void)run_both(m.graph, backend);
    const std::uint64_t bytes = backend.packed_weights().bytes();
    std::size_t next = 0;
    Model again = small_model([&](std::string_view, nd_dtype, const Shape&) { return m.weights[next++]; });
    (void)run_both(again.graph, backend);
    EXPECT_EQ(backend.packed_weights().size(), 4u);
    EXPECT_EQ(backend.packed_weights().bytes(), bytes);
}

// Weights in a mapped file: after packing, their pages are handed back to the kernel, which must change
// nothing they read (the next read pages them in again).
TEST(PackedWeightCache, Mapped_weights_read_the_same_after_their_pages_are_released) {
    nd::testing::TempDir dir;
    std::string contents;
    std::vector<std::pair<std::uint64_t, std::vector<std::byte>>> placed;
    auto layout = [&](std::string_view name, nd_dtype type, const Shape& shape) {
        const Tensor t = owned_weight(name, type, shape);
        contents.resize((contents.size() + 4095) / 4096 * 4096, '\0'); // each weight on its own pages
        placed.emplace_back(contents.size(), std::vector<std::byte>(t.data(), t.data() + t.packed_bytes()));
        contents.append(reinterpret_cast<const char*>(t.data()), static_cast<std::size_t>(t.packed_bytes()));
        return t;
    };
    Model owned = small_model(layout);
    const auto file = std::make_shared<const core::MappedFile>(
        core::MappedFile::open(dir.write("w.bin", contents).string()));
    std::size_t i = 0;
    Model mapped = small_model([&](std::string_view, nd_dtype type, const Shape& shape) {
        return Tensor::borrow(file, placed[i++].first, type, shape);
    });
    CpuBackend backend(CpuBackendOptions{2, {}});
    const Runs from_file = run_both(mapped.graph, backend);
    EXPECT_EQ(backend.packed_weights().size(), 4u);
    for (std::size_t w = 0; w < mapped.weights.size(); ++w) {
        const Tensor& t = mapped.weights[w];
        ASSERT_EQ(std::memcmp(t.data(), placed[w].second.data(), placed[w].second.size()), 0)
            << "weight " << w;
    }
    CpuBackend other(CpuBackendOptions{2, {}});
    const Runs from_memory = run_both(owned.graph, other);
    EXPECT_EQ(std::memcmp(from_file.executor.data(), from_memory.executor.data(),
                          from_file.executor.size() * sizeof(float)),
              0);
    EXPECT_EQ(std::memcmp(from_file.per_call.data(), from_memory.executor.data(),
                          from_file.per_call.size() * sizeof(float)),
              0);
}

} // namespace
} // namespace nd::backends::cpu
