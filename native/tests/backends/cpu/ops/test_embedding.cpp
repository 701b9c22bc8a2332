#include "backends/cpu/ops/embedding.hpp"

#include <cmath>

#include "backends/cpu/quant/quants.hpp"
#include "core/dtype.hpp"
#include "core/half.hpp"
#include "op_test_support.hpp"

namespace nd::backends::cpu::ops {
namespace {

using namespace testing;

core::TensorView id_view(std::vector<std::int32_t>& ids, std::initializer_list<std::int64_t> shape) {
    core::TensorView v = contiguous_view(reinterpret_cast<float*>(ids.data()), shape);
    v.dtype = ND_DTYPE_I32;
    return v;
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
    auto out = zeros({3, 3});
    embedding(id_view(ids, {3}), t, out.view, pool);
    EXPECT_EQ(out.values, (std::vector<float>{6.0f, 6.5f, 7.0f, 0.0f, 0.5f, 1.0f, 3.0f, 3.5f, 4.0f}));
    ids[1] = 5;
    expect_error([&] { embedding(id_view(ids, {3}), t, out.view, pool); }, {"embedding", "id 5", "position 1", "outside 0..4"});
    ids[1] = -1;
    expect_error([&] { embedding(id_view(ids, {3}), t, out.view, pool); }, {"embedding", "id -1"});
    auto wrong = zeros({3, 4});
    ids[1] = 0;
    expect_error([&] { embedding(id_view(ids, {3}), t, wrong.view, pool); }, {"embedding", "out [3, 4]", "ids [3]", "[3]"});
}

TEST(Embedding, Lookup_of_i64_ids_into_strided_out_rows_matches_the_reference_for_f32_and_q8_0_tables) {
    std::mt19937 rng(1);
    core::ThreadPool pool(2);
    const std::int64_t vocab = 49;
    const std::int64_t dim = 64;
    auto table_f32 = random_buffer({vocab, dim}, rng);
    const auto row_bytes = static_cast<std::int64_t>(core::dtype_row_bytes(ND_DTYPE_Q8_0, dim));
    std::vector<std::byte> q8(static_cast<std::size_t>(row_bytes * vocab));
    for (std::int64_t r = 0; r < vocab; ++r) {
        quant::quantize_row(ND_DTYPE_Q8_0, std::span(table_f32.values.data() + r * dim, static_cast<std::size_t>(dim)),
                            std::span(q8.data() + r * row_bytes, static_cast<std::size_t>(row_bytes)));
    }
    core::TensorView table_q8;
    table_q8.dtype = ND_DTYPE_Q8_0;
    table_q8.rank = 2;
    table_q8.shape = {vocab, dim, 0, 0};
    table_q8.strides = {row_bytes, 0, 0, 0};
    table_q8.data = q8.data();
    std::vector<std::int64_t> ids(2 * 77);
    std::uniform_int_distribution<std::int64_t> pick(0, vocab - 1);
    for (auto& id : ids) {
        id = pick(rng);
    }
    core::TensorView idv = contiguous_view(reinterpret_cast<float*>(ids.data()), {2, 77});
    idv.dtype = ND_DTYPE_I64;
    idv.strides = {77 * 8, 8, 0, 0};
    for (const core::TensorView& table : {table_f32.view, table_q8}) {
        auto holder = zeros({77, 2, dim}); // out [2, 77, dim] as a transposed view: rows not contiguous
        const core::TensorView out = transposed(holder.view, 0, 1);
        auto ref = zeros({2, 77, dim});
        embedding(idv, table, out, pool);
        embedding_reference(idv, table, ref.view);
        EXPECT_EQ(gather(out), ref.values);
    }
    // The F32 table's rows come back exactly.
    auto out = zeros({2, 77, dim});
    embedding(idv, table_f32.view, out.view, pool);
    for (std::int64_t c = 0; c < dim; ++c) {
        ASSERT_EQ(out.values[static_cast<std::size_t>(78 * dim + c)], table_f32.values[static_cast<std::size_t>(ids[78] * dim + c)]);
    }
}

TEST(Embedding, Timestep_embedding_is_diffusers_cos_then_sin_and_matches_the_double_reference) {
    std::vector<float> t = {999.0f, 1.0f, 0.0f, 500.5f};
    core::ThreadPool pool(1);
    for (std::int64_t dim : {8L, 320L, 1281L}) {
        for (bool flip : {true, false}) {
            for (float shift : {0.0f, 1.0f}) {
                TimestepEmbeddingParams p;
                p.flip_sin_to_cos = flip;
                p.downscale_freq_shift = shift;
                auto out = zeros({4, dim});
                auto ref = zeros({4, dim});
                timestep_embedding(contiguous_view(t.data(), {4}), p, out.view, pool);
                timestep_embedding_reference(contiguous_view(t.data(), {4}), p, ref.view);
                // The float computation rounds t · freq (999 · 1 to 6e-5) as PyTorch's does: sin/cos follow.
                expect_close(out.values, ref.values, 2e-4f);
                if (dim % 2 == 1) {
                    EXPECT_EQ(out.values[static_cast<std::size_t>(dim - 1)], 0.0f);
                }
            }
        }
    }
    auto out = zeros({4, 8});
    timestep_embedding(contiguous_view(t.data(), {4}), {}, out.view);
    for (int n = 0; n < 4; ++n) {
        for (int i = 0; i < 4; ++i) {
            const double freq = std::exp(-std::log(10000.0) * i / 4.0);
            EXPECT_NEAR(out.values[static_cast<std::size_t>(n * 8 + i)], std::cos(t[static_cast<std::size_t>(n)] * freq), 2e-4);
            EXPECT_NEAR(out.values[static_cast<std::size_t>(n * 8 + 4 + i)], std::sin(t[static_cast<std::size_t>(n)] * freq), 2e-4);
        }
    }
    TimestepEmbeddingParams scaled;
    scaled.scale = 2.0f;
    auto doubled = zeros({4, 8});
    timestep_embedding(contiguous_view(t.data(), {4}), scaled, doubled.view);
    EXPECT_NEAR(doubled.values[4 + 1], std::sin(2.0 * 999.0 * std::exp(-std::log(10000.0) / 4.0)), 2e-4);
    auto wrong = zeros({3, 8});
    expect_error([&] { timestep_embedding(contiguous_view(t.data(), {4}), {}, wrong.view); },
                 {"timestep_embedding", "[3, 8]", "[4]"});
}

} // namespace
} // namespace nd::backends::cpu::ops
