#include "backends/cpu/ops/conv2d.hpp"

#include "backends/cpu/quant/quants.hpp"
#include "core/dtype.hpp"
#include "op_test_support.hpp"

namespace nd::backends::cpu::ops {
namespace {

using namespace testing;

struct ConvCase {
    std::int64_t n, cin, h, w, cout;
    Conv2dParams p;
};

void expect_matches_reference(const ConvCase& c, nd_dtype weight_type, Isa isa, core::ThreadPool& pool,
                              std::mt19937& rng) {
    SCOPED_TRACE(std::string(core::dtype_name(weight_type)) + " " + std::string(isa_name(isa)) + " k=" +
                 std::to_string(c.p.kernel_h) + " stride=" + std::to_string(c.p.stride));
    auto x = random_buffer({c.n, c.cin, c.h, c.w}, rng);
    const std::int64_t k = c.cin * c.p.kernel_h * c.p.kernel_w;
    auto w_f32 = random_buffer({c.cout, k}, rng, -0.5f, 0.5f);
    const auto row_bytes = static_cast<std::int64_t>(core::dtype_row_bytes(weight_type, static_cast<std::uint64_t>(k)));
    std::vector<std::byte> w_bytes(static_cast<std::size_t>(row_bytes * c.cout));
    for (std::int64_t co = 0; co < c.cout; ++co) {
        quant::quantize_row(weight_type, std::span(w_f32.values.data() + co * k, static_cast<std::size_t>(k)),
                            std::span(w_bytes.data() + co * row_bytes, static_cast<std::size_t>(row_bytes)));
    }
    core::TensorView weight;
    weight.dtype = weight_type;
    weight.rank = 2;
    weight.shape = {c.cout, k, 0, 0};
    weight.strides = {row_bytes, 0, 0, 0};
    weight.data = w_bytes.data();
    auto bias = random_buffer({c.cout}, rng);
    const std::int64_t oh = (c.h + 2 * c.p.padding - c.p.kernel_h) / c.p.stride + 1;
    const std::int64_t ow = (c.w + 2 * c.p.padding - c.p.kernel_w) / c.p.stride + 1;
    auto out = zeros({c.n, c.cout, oh, ow});
    auto ref = zeros({c.n, c.cout, oh, ow});
    conv2d(x.view, weight, bias.view, c.p, out.view, pool, isa);
    conv2d_reference(x.view, weight, bias.view, c.p, ref.view);
    expect_close(out.values, ref.values, 2e-4f, 1e-5f);
}

TEST(Conv2d, Matches_direct_convolution_for_3x3_and_1x1_stride_1_and_2) {
    std::mt19937 rng(1);
    core::ThreadPool pool(2);
    const ConvCase cases[] = {
        {1, 4, 9, 7, 5, {3, 3, 1, 1}},   // odd sizes, padding 1
        {2, 3, 8, 8, 6, {3, 3, 2, 1}},   // SD's downsampling conv: stride 2
        {1, 8, 5, 6, 3, {1, 1, 1, 0}},   // 1x1 projection
        {1, 2, 6, 5, 4, {3, 3, 1, 0}},   // no padding
    };
    for (Isa isa : supported_isas()) {
        for (const ConvCase& c : cases) {
            expect_matches_reference(c, ND_DTYPE_F32, isa, pool, rng);
        }
    }
}

TEST(Conv2d, Quantized_and_half_weights_match_the_reference_over_their_values) {
    std::mt19937 rng(2);
    core::ThreadPool pool(2);
    // Cin * 9 = 288 is a multiple of 32 (legacy blocks); 256-element K blocks need Cin * 9 % 256 == 0.
    for (nd_dtype type : {ND_DTYPE_F16, ND_DTYPE_BF16, ND_DTYPE_Q8_0, ND_DTYPE_Q4_0, ND_DTYPE_Q5_1}) {
        expect_matches_reference({1, 32, 6, 6, 7, {3, 3, 1, 1}}, type, best_isa(), pool, rng);
    }
    expect_matches_reference({1, 256, 3, 3, 5, {1, 1, 1, 0}}, ND_DTYPE_Q4_K, best_isa(), pool, rng);
}

TEST(Conv2d, The_patch_buffer_is_bounded_whatever_the_image_size) {
    // SD 1.5's largest convolutions: 320 channels at 64x64 (K = 2880) and 1280 at 8x8 (K = 11520).
    for (std::int64_t k : {2880L, 5760L, 11520L}) {
        EXPECT_LE(conv2d_patch_rows(k) * k * 4, 4 << 20) << k;
        EXPECT_GE(conv2d_patch_rows(k), 32);
    }
}

TEST(Conv2d, Channel_mismatch_is_an_error_naming_the_shapes) {
    std::mt19937 rng(3);
    core::ThreadPool pool(1);
    auto x = random_buffer({1, 4, 5, 5}, rng);
    auto w = random_buffer({2, 3, 3, 3}, rng);
    auto out = zeros({1, 2, 5, 5});
    expect_error([&] { conv2d(x.view, w.view, {}, {}, out.view, pool); },
                 {"conv2d", "[1, 4, 5, 5] has 4 channels", "[2, 3, 3, 3]"});
    auto w_ok = random_buffer({2, 4, 3, 3}, rng);
    auto wrong_out = zeros({1, 2, 4, 4});
    expect_error([&] { conv2d(x.view, w_ok.view, {}, {}, wrong_out.view, pool); },
                 {"out [1, 2, 4, 4] should be [1, 2, 5, 5]"});
}

} // namespace
} // namespace nd::backends::cpu::ops
