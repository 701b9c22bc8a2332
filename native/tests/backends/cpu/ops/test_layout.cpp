#include "backends/cpu/ops/layout.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <limits>

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

TEST(Layout, Every_permutation_of_four_dimensions_matches_the_reference_on_every_isa) {
    std::mt19937 rng(2);
    core::ThreadPool pool(2);
    auto big = random_buffer({3, 4, 6, 7}, rng);
    const core::TensorView x = sliced(big.view, 3, 1, 5); // [3, 4, 6, 5], rows strided
    std::array<int, 4> perm = {0, 1, 2, 3};
    int count = 0;
    for (Isa isa : supported_isas()) {
        do {
            const std::initializer_list<std::int64_t> shape = {x.dim(perm[0]), x.dim(perm[1]), x.dim(perm[2]),
                                                               x.dim(perm[3])};
            auto out = zeros(shape);
            auto ref = zeros(shape);
            permute(x, perm, out.view, pool, isa);
            permute_reference(x, perm, ref.view);
            ASSERT_EQ(out.values, ref.values) << isa_label(isa) << " perm " << perm[0] << perm[1] << perm[2] << perm[3];
            ++count;
        } while (std::next_permutation(perm.begin(), perm.end()));
    }
    EXPECT_EQ(count, 24 * static_cast<int>(supported_isas().size()));
    // Dimensions of 8 and more: the permutations that move x's contiguous dimension run as blocked transposes.
    auto wide = random_buffer({2, 19, 3, 40}, rng);
    const core::TensorView y = sliced(wide.view, 3, 3, 33); // [2, 19, 3, 33]
    perm = {0, 1, 2, 3};
    for (Isa isa : supported_isas()) {
        do {
            const std::initializer_list<std::int64_t> shape = {y.dim(perm[0]), y.dim(perm[1]), y.dim(perm[2]),
                                                               y.dim(perm[3])};
            auto out = zeros(shape);
            auto ref = zeros(shape);
            permute(y, perm, out.view, pool, isa);
            permute_reference(y, perm, ref.view);
            ASSERT_EQ(out.values, ref.values) << isa_label(isa) << " perm " << perm[0] << perm[1] << perm[2] << perm[3];
        } while (std::next_permutation(perm.begin(), perm.end()));
    }
    // [B, C, HW] -> [B, HW, C], what a transformer block does to a feature map.
    auto fm = random_buffer({1, 320, 64}, rng);
    auto tokens = zeros({1, 64, 320});
    auto tokens_ref = zeros({1, 64, 320});
    const int to_tokens[] = {0, 2, 1};
    permute(fm.view, to_tokens, tokens.view, pool);
    permute_reference(fm.view, to_tokens, tokens_ref.view);
    EXPECT_EQ(tokens.values, tokens_ref.values);
    EXPECT_EQ(tokens.values[5 * 320 + 17], fm.values[17 * 64 + 5]);
}

TEST(Layout, Permute_rejects_what_is_not_a_permutation) {
    std::mt19937 rng(3);
    core::ThreadPool pool(1);
    auto x = random_buffer({2, 3, 4}, rng);
    auto out = zeros({2, 4, 3});
    const int twice[] = {0, 1, 1};
    expect_error([&] { permute(x.view, twice, out.view, pool); }, {"permute", "(0, 1, 1)", "[2, 3, 4]"});
    const int swap[] = {0, 2, 1};
    auto wrong = zeros({2, 3, 4});
    expect_error([&] { permute(x.view, swap, wrong.view, pool); }, {"permute", "out [2, 3, 4]", "[2, 4, 3]"});
}

TEST(Layout, Copy_moves_half_elements_through_strided_views_and_rejects_mixed_types) {
    core::ThreadPool pool(2);
    std::vector<std::uint16_t> src(24);
    for (std::size_t i = 0; i < src.size(); ++i) {
        src[i] = static_cast<std::uint16_t>(i * 1001);
    }
    core::TensorView x;
    x.dtype = ND_DTYPE_F16;
    x.rank = 2;
    x.shape = {4, 6, 0, 0};
    x.strides = {12, 2, 0, 0};
    x.data = reinterpret_cast<std::byte*>(src.data());
    std::vector<std::uint16_t> dst(24);
    core::TensorView out = x;
    out.shape = {6, 4, 0, 0};
    out.strides = {8, 2, 0, 0};
    out.data = reinterpret_cast<std::byte*>(dst.data());
    core::TensorView xt = x;
    std::swap(xt.shape[0], xt.shape[1]);
    std::swap(xt.strides[0], xt.strides[1]);
    copy(xt, out, pool);
    for (int i = 0; i < 6; ++i) {
        for (int j = 0; j < 4; ++j) {
            ASSERT_EQ(dst[static_cast<std::size_t>(i * 4 + j)], src[static_cast<std::size_t>(j * 6 + i)]);
        }
    }
    std::vector<float> f(24);
    expect_error([&] { copy(xt, contiguous_view(f.data(), {6, 4}), pool); }, {"copy", "F16", "F32", "convert"});
}

TEST(Layout, Concat_joins_along_every_dimension_strided_inputs_included) {
    std::mt19937 rng(4);
    core::ThreadPool pool(2);
    for (Isa isa : supported_isas()) {
        for (int dim = 0; dim < 4; ++dim) {
            std::array<std::int64_t, 4> sa = {2, 3, 4, 5};
            std::array<std::int64_t, 4> sb = sa;
            sb[static_cast<std::size_t>(dim)] = 2;
            std::array<std::int64_t, 4> so = sa;
            so[static_cast<std::size_t>(dim)] += 2;
            auto a = random_buffer({sa[0], sa[1], sa[2], sa[3]}, rng);
            auto b_holder = random_buffer({sb[0], sb[1], sb[2], sb[3] + 3}, rng);
            const core::TensorView b = sliced(b_holder.view, 3, 1, sb[3]); // strided rows
            auto out = zeros({so[0], so[1], so[2], so[3]});
            auto ref = zeros({so[0], so[1], so[2], so[3]});
            const core::TensorView inputs[] = {a.view, b};
            concat(inputs, dim, out.view, pool, isa);
            concat_reference(inputs, dim, ref.view);
            ASSERT_EQ(out.values, ref.values) << isa_label(isa) << " dim " << dim;
        }
    }
    auto a = random_buffer({1, 2, 3, 3}, rng);
    auto b = random_buffer({1, 5, 3, 3}, rng);
    auto out = zeros({1, 7, 3, 3});
    const core::TensorView inputs[] = {a.view, b.view};
    concat(inputs, 1, out.view, pool); // the UNet's skip connections join channels
    EXPECT_TRUE(std::equal(a.values.begin(), a.values.end(), out.values.begin()));
    EXPECT_TRUE(std::equal(b.values.begin(), b.values.end(), out.values.begin() + 18));
    auto bad = zeros({1, 6, 3, 3});
    expect_error([&] { concat(inputs, 1, bad.view, pool); }, {"concat", "add up to 7", "[1, 6, 3, 3]"});
    auto other = random_buffer({1, 2, 4, 3}, rng);
    const core::TensorView mismatched[] = {a.view, other.view};
    expect_error([&] { concat(mismatched, 1, out.view, pool); }, {"concat", "[1, 2, 4, 3]", "[1, 7, 3, 3]"});
}

TEST(Layout, Nearest_upsampling_repeats_each_value_in_a_2x2_square_on_every_isa) {
    std::mt19937 rng(5);
    core::ThreadPool pool(2);
    for (Isa isa : supported_isas()) {
        for (std::int64_t w : {1L, 4L, 7L, 33L}) {
            auto x = random_buffer({2, 3, 5, w}, rng);
            auto out = zeros({2, 3, 10, 2 * w});
            auto ref = zeros({2, 3, 10, 2 * w});
            upsample_nearest2x(x.view, out.view, pool, isa);
            upsample_nearest2x_reference(x.view, ref.view);
            ASSERT_EQ(out.values, ref.values) << isa_label(isa) << " w " << w;
            for (int c = 0; c < 3; ++c)
                for (int y = 0; y < 10; ++y)
                    for (std::int64_t xx = 0; xx < 2 * w; ++xx)
                        ASSERT_EQ(out.values[static_cast<std::size_t>((c * 10 + y) * 2 * w + xx)],
                                  x.values[static_cast<std::size_t>((c * 5 + y / 2) * w + xx / 2)]);
        }
        // A transposed input (H and W swapped): strided rows.
        auto x = random_buffer({1, 2, 6, 5}, rng);
        const core::TensorView xt = transposed(x.view, 2, 3);
        auto out = zeros({1, 2, 10, 12});
        auto ref = zeros({1, 2, 10, 12});
        upsample_nearest2x(xt, out.view, pool, isa);
        upsample_nearest2x_reference(xt, ref.view);
        ASSERT_EQ(out.values, ref.values) << isa_label(isa);
    }
    auto x = random_buffer({1, 2, 3, 4}, rng);
    auto wrong = zeros({1, 2, 6, 7});
    expect_error([&] { upsample_nearest2x(x.view, wrong.view, pool); }, {"upsample_nearest2x", "[1, 2, 6, 7]", "[1, 2, 3, 4]"});
}

// Special values: signed zeros, subnormals of both formats, halfway cases, the largest finite values,
// overflow, infinities and NaNs with payloads.
std::vector<float> conversion_inputs() {
    std::vector<float> v = {0.0f, -0.0f, 1.0f, -1.0f, 0.1f, 65504.0f, 65520.0f, -65520.0f, 1e-8f, 3e-6f, -6e-8f,
                            5.96e-8f, 2.98e-8f, 1e-40f, -1e-45f, 3.4e38f, -3.4e38f, 1.00048828125f, 1.00146484375f,
                            std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
                            std::numeric_limits<float>::quiet_NaN(), std::bit_cast<float>(0x7f800001u),
                            std::bit_cast<float>(0xffc12345u), std::bit_cast<float>(0x3f808000u),
                            std::bit_cast<float>(0x3f818000u)};
    std::mt19937 rng(6);
    std::uniform_int_distribution<std::uint32_t> bits;
    for (int i = 0; i < 5000; ++i) {
        v.push_back(std::bit_cast<float>(bits(rng)));
    }
    return v;
}

TEST(Layout, Convert_is_bit_exact_with_the_scalar_conversions_on_every_isa) {
    core::ThreadPool pool(2);
    const std::vector<float> x = conversion_inputs();
    const auto n = static_cast<std::int64_t>(x.size());
    for (Isa isa : supported_isas()) {
        for (nd_dtype type : {ND_DTYPE_F16, ND_DTYPE_BF16}) {
            SCOPED_TRACE(isa_label(isa) + (type == ND_DTYPE_F16 ? " F16" : " BF16"));
            std::vector<std::uint16_t> half(x.size());
            core::TensorView to;
            to.dtype = type;
            to.rank = 1;
            to.shape = {n, 0, 0, 0};
            to.strides = {2, 0, 0, 0};
            to.data = reinterpret_cast<std::byte*>(half.data());
            convert(contiguous_view(const_cast<float*>(x.data()), {n}), to, pool, isa);
            for (std::size_t i = 0; i < x.size(); ++i) {
                const std::uint16_t expected = type == ND_DTYPE_F16 ? core::f32_to_f16(x[i]) : core::f32_to_bf16(x[i]);
                ASSERT_EQ(half[i], expected) << "element " << i << " bits " << std::bit_cast<std::uint32_t>(x[i]);
            }
            std::vector<float> back(x.size());
            convert(to, contiguous_view(back.data(), {n}), pool, isa);
            for (std::size_t i = 0; i < x.size(); ++i) {
                const float expected = type == ND_DTYPE_F16 ? core::f16_to_f32(half[i]) : core::bf16_to_f32(half[i]);
                ASSERT_EQ(std::bit_cast<std::uint32_t>(back[i]), std::bit_cast<std::uint32_t>(expected)) << "element " << i;
            }
            // Strided both ways against the reference.
            std::vector<float> strided_out(x.size());
            core::TensorView every_other = to;
            every_other.shape[0] = n / 2;
            every_other.strides[0] = 4;
            core::TensorView dst = contiguous_view(strided_out.data(), {n / 2});
            convert(every_other, dst, pool, isa);
            std::vector<float> ref(x.size());
            convert_reference(every_other, contiguous_view(ref.data(), {n / 2}));
            ASSERT_EQ(std::memcmp(strided_out.data(), ref.data(), ref.size() * 4), 0);
        }
    }
    std::vector<float> f(4);
    core::TensorView q = contiguous_view(f.data(), {4});
    q.dtype = ND_DTYPE_Q8_0;
    expect_error([&] { convert(contiguous_view(f.data(), {4}), q, pool); }, {"convert", "Q8_0"});
}

} // namespace
} // namespace nd::backends::cpu::ops
