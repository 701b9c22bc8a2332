#include <cmath>

#include "backends/cpu/ops/embedding.hpp"
#include "backends/cpu/ops/layout.hpp"
#include "core/half.hpp"
#include "op_test_support.hpp"

namespace nd::backends::cpu::ops {
namespace {

using namespace testing;

TEST(Layout, Copy_of_a_permuted_view_makes_it_contiguous) {
    std::mt19937 rng(1);
    core::ThreadPool pool(2);
    auto x = random_buffer({2, 3, 4, 5}, rng);
    auto out = zeros({2, 4, 3, 5});
    copy(transposed(x.view, 1, 2), out.view, pool); // [2, 4, 3, 5] view
    for (int a = 0; a < 2; ++a)
        for (int b = 0; b < 4; ++b)
            for (int c = 0; c < 3; ++c)
                for (int d = 0; d < 5; ++d)
                    ASSERT_EQ(out.values[static_cast<std::size_t>(((a * 4 + b) * 3 + c) * 5 + d)],
                              x.values[static_cast<std::size_t>(((a * 3 + c) * 4 + b) * 5 + d)]);
}

TEST(Layout, Concat_joins_along_any_dimension_and_checks_shapes) {
    std::mt19937 rng(2);
    core::ThreadPool pool(2);
    auto a = random_buffer({1, 2, 3, 3}, rng);
    auto b = random_buffer({1, 5, 3, 3}, rng);
    auto out = zeros({1, 7, 3, 3});
    const core::TensorView inputs[] = {a.view, b.view};
    concat(inputs, 1, out.view, pool); // the UNet's skip connections join channels
    for (std::size_t i = 0; i < a.values.size(); ++i) {
        ASSERT_EQ(out.values[i], a.values[i]);
    }
    for (std::size_t i = 0; i < b.values.size(); ++i) {
        ASSERT_EQ(out.values[a.values.size() + i], b.values[i]);
    }
    auto bad = zeros({1, 6, 3, 3});
    expect_error([&] { concat(inputs, 1, bad.view, pool); }, {"concat", "add up to 7"});
}

TEST(Layout, Nearest_upsampling_repeats_each_value_in_a_2x2_square) {
    std::mt19937 rng(3);
    core::ThreadPool pool(2);
    auto x = random_buffer({1, 2, 3, 4}, rng);
    auto out = zeros({1, 2, 6, 8});
    upsample_nearest2x(x.view, out.view, pool);
    for (int c = 0; c < 2; ++c)
        for (int y = 0; y < 6; ++y)
            for (int xx = 0; xx < 8; ++xx)
                ASSERT_EQ(out.values[static_cast<std::size_t>((c * 6 + y) * 8 + xx)],
                          x.values[static_cast<std::size_t>((c * 3 + y / 2) * 4 + xx / 2)]);
}

TEST(Layout, Convert_rounds_like_the_scalar_conversions) {
    core::ThreadPool pool(1);
    std::vector<float> x = {1.0f, 0.1f, -65504.0f, 3e-6f};
    std::vector<std::uint16_t> half(4);
    core::TensorView to = contiguous_view(x.data(), {4});
    to.dtype = ND_DTYPE_F16;
    to.strides[0] = 2;
    to.data = reinterpret_cast<std::byte*>(half.data());
    convert(contiguous_view(x.data(), {4}), to, pool);
    for (int i = 0; i < 4; ++i) {
        EXPECT_EQ(half[static_cast<std::size_t>(i)], core::f32_to_f16(x[static_cast<std::size_t>(i)]));
    }
}

TEST(Embedding, Lookup_reads_f16_rows_and_rejects_out_of_range_ids) {
    core::ThreadPool pool(2);
    std::vector<std::uint16_t> table(5 * 3);
    for (int i = 0; i < 15; ++i) {
        table[static_cast<std::size_t>(i)] = core::f32_to_f16(static_cast<float>(i) * 0.5f);
    }
    core::TensorView t;
    t.dtype = ND_DTYPE_F16;
    t.rank = 2;
    t.shape = {5, 3, 0, 0};
    t.strides = {6, 2, 0, 0};
    t.data = reinterpret_cast<std::byte*>(table.data());
    std::vector<std::int32_t> ids = {4, 0, 2};
    core::TensorView id_view = contiguous_view(reinterpret_cast<float*>(ids.data()), {3});
    id_view.dtype = ND_DTYPE_I32;
    auto out = zeros({3, 3});
    embedding(id_view, t, out.view, pool);
    EXPECT_EQ(out.values, (std::vector<float>{6.0f, 6.5f, 7.0f, 0.0f, 0.5f, 1.0f, 3.0f, 3.5f, 4.0f}));
    ids[1] = 5;
    expect_error([&] { embedding(id_view, t, out.view, pool); }, {"embedding", "id 5", "outside 0..4"});
}

TEST(Embedding, Timestep_embedding_is_diffusers_cos_then_sin) {
    std::vector<float> t = {999.0f, 1.0f};
    auto out = zeros({2, 8});
    timestep_embedding(contiguous_view(t.data(), {2}), {}, out.view);
    for (int n = 0; n < 2; ++n) {
        for (int i = 0; i < 4; ++i) {
            const double freq = std::exp(-std::log(10000.0) * i / 4.0);
            EXPECT_NEAR(out.values[static_cast<std::size_t>(n * 8 + i)], std::cos(t[static_cast<std::size_t>(n)] * freq), 2e-4);
            EXPECT_NEAR(out.values[static_cast<std::size_t>(n * 8 + 4 + i)], std::sin(t[static_cast<std::size_t>(n)] * freq), 2e-4);
        }
    }
}

} // namespace
} // namespace nd::backends::cpu::ops
