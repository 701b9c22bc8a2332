#include "core/tensor.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/mapped_file.hpp"
#include "support/temp_dir.hpp"

namespace nd::core {
namespace {

std::vector<float> iota_values(std::size_t n) {
    std::vector<float> v(n);
    std::iota(v.begin(), v.end(), 0.0f);
    return v;
}

Tensor iota(const Shape& shape) {
    const std::vector<float> v = iota_values(static_cast<std::size_t>(shape.elements()));
    return Tensor::from_f32(shape, v);
}

// The message of the Error that `fn` throws (fails the test if it throws nothing or something else).
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

TEST(Tensor, Packed_strides_are_row_major_bytes_and_storage_is_64_byte_aligned) {
    const Tensor t = Tensor::empty(ND_DTYPE_F32, {2, 3, 4});
    EXPECT_EQ(t.stride(0), 48);
    EXPECT_EQ(t.stride(1), 16);
    EXPECT_EQ(t.stride(2), 4);
    EXPECT_TRUE(t.is_contiguous());
    EXPECT_EQ(t.packed_bytes(), 96u);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(t.data()) % 64, 0u);
    EXPECT_EQ(t.storage()->kind(), Storage::Kind::Owned);
    for (float v : t.to_f32()) {
        EXPECT_EQ(v, 0.0f); // zero-filled
    }
    EXPECT_EQ(Tensor::empty(ND_DTYPE_F16, {5, 7}).stride(0), 14);
}

TEST(Tensor, Shape_refuses_more_than_four_dimensions_and_prints_like_pytorch) {
    EXPECT_NE(error_of([] { Shape s{1, 2, 3, 4, 5}; }).find("at most 4 dimensions"), std::string::npos);
    EXPECT_EQ((Shape{1, 320, 64, 64}).to_string(), "[1, 320, 64, 64]");
    EXPECT_EQ(Shape{}.to_string(), "[]");
}

TEST(Tensor, Reshape_of_a_contiguous_tensor_is_a_view_of_the_same_bytes) {
    const Tensor t = iota({2, 3, 4});
    const Tensor r = t.reshape({6, -1});
    EXPECT_EQ(r.shape(), (Shape{6, 4}));
    EXPECT_EQ(r.data(), t.data());
    EXPECT_EQ(r.storage(), t.storage());
    EXPECT_EQ(r.stride(0), 16);
    EXPECT_EQ(r.to_f32(), t.to_f32());
    EXPECT_EQ(t.reshape({24}).stride(0), 4);
    EXPECT_EQ(t.reshape({1, 2, 12}).shape(), (Shape{1, 2, 12}));
}

TEST(Tensor, Reshape_that_needs_a_copy_is_refused_with_a_message_saying_so) {
    const Tensor t = iota({2, 3, 4}).transpose(1, 2); // [2, 4, 3]
    const std::string message = error_of([&] { (void)t.reshape({2, 12}); });
    EXPECT_NE(message.find("[2, 4, 3] to [2, 12]"), std::string::npos) << message;
    EXPECT_NE(message.find("contiguous copy is needed"), std::string::npos) << message;
    // Splitting or merging only the outer, still-packed dimensions works.
    EXPECT_EQ(t.reshape({1, 2, 4, 3}).stride(1), 48);
    // And after a copy, anything goes.
    EXPECT_EQ(t.contiguous().reshape({2, 12}).to_f32(), t.contiguous().to_f32());
}

TEST(Tensor, Reshape_checks_element_counts_and_the_inferred_extent) {
    const Tensor t = iota({2, 3, 4});
    EXPECT_NE(error_of([&] { (void)t.reshape({5, 5}); }).find("24 elements cannot become 25"), std::string::npos);
    EXPECT_NE(error_of([&] { (void)t.reshape({5, -1}); }).find("-1 extent"), std::string::npos);
    EXPECT_NE(error_of([&] { (void)t.reshape({-1, -1}); }).find("only one extent may be -1"), std::string::npos);
}

TEST(Tensor, Reshape_of_a_narrowed_tensor_merges_only_whole_runs) {
    const Tensor t = iota({2, 3, 4}).narrow(2, 1, 2); // [2, 3, 2], rows of 2 with gaps
    EXPECT_EQ(t.reshape({6, 2}).stride(0), 16);
    EXPECT_NE(error_of([&] { (void)t.reshape({12}); }).find("contiguous copy"), std::string::npos);
}

TEST(Tensor, Permute_and_transpose_swap_strides_and_read_the_right_elements) {
    const Tensor t = iota({2, 3, 4});
    const Tensor p = t.permute({2, 0, 1}); // [4, 2, 3]
    EXPECT_EQ(p.shape(), (Shape{4, 2, 3}));
    EXPECT_EQ(p.stride(0), 4);
    EXPECT_EQ(p.stride(1), 48);
    EXPECT_EQ(p.stride(2), 16);
    EXPECT_FALSE(p.is_contiguous());
    const std::vector<float> values = p.to_f32();
    // p[i][j][k] = t[j][k][i] = 12 j + 4 k + i
    for (int i = 0; i < 4; ++i) {
        for (int j = 0; j < 2; ++j) {
            for (int k = 0; k < 3; ++k) {
                EXPECT_EQ(values[static_cast<std::size_t>(i * 6 + j * 3 + k)], static_cast<float>(12 * j + 4 * k + i));
            }
        }
    }
    EXPECT_EQ(t.transpose(0, -1).shape(), (Shape{4, 3, 2}));
    EXPECT_NE(error_of([&] { (void)t.permute({0, 0, 1}); }).find("named twice"), std::string::npos);
    EXPECT_NE(error_of([&] { (void)t.permute({0, 1}); }).find("needs 3 dimensions"), std::string::npos);
    EXPECT_NE(error_of([&] { (void)t.transpose(0, 3); }).find("out of range"), std::string::npos);
}

TEST(Tensor, Narrow_moves_the_first_element_and_keeps_strides) {
    const Tensor t = iota({4, 5});
    const Tensor n = t.narrow(1, 2, 3);
    EXPECT_EQ(n.shape(), (Shape{4, 3}));
    EXPECT_EQ(n.stride(0), 20);
    EXPECT_EQ(n.data(), t.data() + 8);
    EXPECT_FALSE(n.is_contiguous());
    EXPECT_EQ(n.to_f32()[3], 7.0f); // row 1, column 2
    EXPECT_TRUE(t.narrow(0, 1, 2).is_contiguous());
    EXPECT_NE(error_of([&] { (void)t.narrow(1, 3, 3); }).find("[3, 6) are outside dimension 1 of 5"),
              std::string::npos);
}

TEST(Tensor, Squeeze_and_unsqueeze_add_and_remove_unit_dimensions) {
    const Tensor t = iota({2, 1, 3});
    const Tensor s = t.squeeze(1);
    EXPECT_EQ(s.shape(), (Shape{2, 3}));
    EXPECT_TRUE(s.is_contiguous());
    const Tensor u = s.unsqueeze(0).unsqueeze(-1);
    EXPECT_EQ(u.shape(), (Shape{1, 2, 3, 1}));
    EXPECT_TRUE(u.is_contiguous());
    EXPECT_EQ(u.data(), t.data());
    EXPECT_NE(error_of([&] { (void)t.squeeze(0); }).find("has extent 2, not 1"), std::string::npos);
    EXPECT_NE(error_of([&] { (void)u.unsqueeze(0); }).find("at most 4"), std::string::npos);
}

TEST(Tensor, View_hands_kernels_shape_strides_and_the_first_element) {
    const Tensor t = iota({3, 4}).narrow(0, 1, 2).transpose(0, 1);
    const TensorView v = t.view();
    EXPECT_EQ(v.dtype, ND_DTYPE_F32);
    EXPECT_EQ(v.rank, 2);
    EXPECT_EQ(v.dim(0), 4);
    EXPECT_EQ(v.dim(1), 2);
    EXPECT_EQ(v.stride(0), 4);
    EXPECT_EQ(v.stride(1), 16);
    EXPECT_EQ(v.as<float>()[0], 4.0f);
}

TEST(Tensor, Contiguous_copies_only_when_needed) {
    const Tensor t = iota({3, 4});
    EXPECT_EQ(t.contiguous().storage(), t.storage());
    const Tensor c = t.transpose(0, 1).contiguous();
    EXPECT_NE(c.storage(), t.storage());
    EXPECT_TRUE(c.is_contiguous());
    EXPECT_EQ(c.to_f32(), (std::vector<float>{0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11}));
}

TEST(Tensor, Block_quantized_tensors_only_have_row_wise_views) {
    // Q8_0: 32 elements in 34 bytes.
    const Tensor q = Tensor::empty(ND_DTYPE_Q8_0, {4, 64});
    EXPECT_EQ(q.stride(0), 68);
    EXPECT_EQ(q.stride(1), 34);
    EXPECT_EQ(q.packed_bytes(), 4u * 68u);
    EXPECT_TRUE(q.is_contiguous());
    EXPECT_EQ(q.narrow(0, 1, 2).data(), q.data() + 68);
    EXPECT_EQ(q.narrow(1, 32, 32).data(), q.data() + 34); // a whole block
    EXPECT_EQ(q.reshape({2, 128}).stride(0), 136);
    EXPECT_EQ(q.reshape({8, 32}).stride(0), 34);
    EXPECT_EQ(q.unsqueeze(0).shape(), (Shape{1, 4, 64}));
    EXPECT_NE(error_of([&] { (void)q.narrow(1, 16, 32); }).find("not whole 32-element blocks"), std::string::npos);
    EXPECT_NE(error_of([&] { (void)q.transpose(0, 1); }).find("innermost dimension in place"), std::string::npos);
    EXPECT_NE(error_of([&] { (void)q.reshape({256, 1}); }).find("whole number of 32-element blocks"),
              std::string::npos);
    EXPECT_NE(error_of([&] { (void)Tensor::empty(ND_DTYPE_Q4_K, {2, 100}); }).find("not a whole number"),
              std::string::npos);
    // Row-wise copies move whole blocks.
    std::vector<std::byte> bytes(4 * 68);
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        bytes[i] = static_cast<std::byte>(i * 7);
    }
    const Tensor source = Tensor::copy_of(ND_DTYPE_Q8_0, {4, 64}, bytes);
    const Tensor rows = Tensor::empty(ND_DTYPE_Q8_0, {2, 64});
    rows.copy_from(source.narrow(0, 2, 2));
    EXPECT_EQ(std::memcmp(rows.data(), bytes.data() + 136, 136), 0);
}

TEST(Tensor, Borrowed_file_bytes_are_used_in_place_and_keep_the_mapping_alive) {
    testing::TempDir dir;
    const std::vector<float> values{1.5f, -2.0f, 3.25f, 4.0f, 5.0f, 6.0f};
    std::string contents(16, 'h'); // a header-like prefix, so the tensor sits at an offset
    contents.append(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float));
    const std::filesystem::path path = dir.write("weights.bin", contents);

    auto file = std::make_shared<const MappedFile>(MappedFile::open(path.string()));
    const std::byte* mapping = file->bytes().data();
    Tensor w = Tensor::borrow(file, 16, ND_DTYPE_F32, {2, 3});
    file.reset(); // the tensor alone keeps the mapping now
    EXPECT_EQ(w.data(), mapping + 16);
    EXPECT_EQ(w.storage()->kind(), Storage::Kind::Borrowed);
    EXPECT_FALSE(w.storage()->writable());
    EXPECT_EQ(w.to_f32(), values);
    EXPECT_EQ(w.transpose(0, 1).to_f32(), (std::vector<float>{1.5f, 4.0f, -2.0f, 5.0f, 3.25f, 6.0f}));
    EXPECT_NE(error_of([&] { (void)w.mutable_view(); }).find("read-only"), std::string::npos);

    auto again = std::make_shared<const MappedFile>(MappedFile::open(path.string()));
    EXPECT_NE(error_of([&] { (void)Tensor::borrow(again, 20, ND_DTYPE_F32, {2, 3}); }).find("ends past the file"),
              std::string::npos);
}

TEST(Tensor, A_layout_outside_its_storage_is_refused) {
    const auto storage = Storage::allocate(64);
    Layout layout = Layout::packed(ND_DTYPE_F32, {4, 4});
    EXPECT_NO_THROW(Tensor(storage, layout));
    layout.offset = 4;
    EXPECT_NE(error_of([&] { Tensor t(storage, layout); }).find("does not lie inside"), std::string::npos);
}

TEST(Tensor, An_allocation_the_machine_cannot_give_is_out_of_memory_naming_the_size) {
    for (const std::uint64_t bytes : {std::uint64_t{1} << 60, std::numeric_limits<std::uint64_t>::max()}) {
        try {
            (void)Storage::allocate(bytes);
            FAIL() << "allocating " << bytes << " bytes succeeded";
        } catch (const Error& error) {
            EXPECT_EQ(error.status(), ND_STATUS_OUT_OF_MEMORY);
            EXPECT_NE(std::string(error.message()).find(std::to_string(bytes)), std::string::npos) << error.message();
        }
    }
}

TEST(Tensor, Copy_elements_checks_dtype_and_shape) {
    const Tensor a = iota({2, 3});
    const Tensor b = Tensor::empty(ND_DTYPE_F32, {3, 2});
    EXPECT_NE(error_of([&] { b.copy_from(a); }).find("must match"), std::string::npos);
    b.copy_from(a.transpose(0, 1));
    EXPECT_EQ(b.to_f32(), (std::vector<float>{0, 3, 1, 4, 2, 5}));
}

} // namespace
} // namespace nd::core
