#include "formats/gguf_writer.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>

#include "core/dtype.hpp"
#include "core/error.hpp"
#include "formats/ggml_type.hpp"
#include "support/gguf_bytes.hpp"
#include "support/temp_dir.hpp"

namespace nd::formats {
namespace {

using namespace nd::testing;

std::string read_file(const std::filesystem::path& path) {
    std::ifstream stream(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(stream), std::istreambuf_iterator<char>()};
}

// `count` bytes that differ from tensor to tensor and from offset to offset.
std::vector<std::byte> pattern(std::size_t count, std::size_t seed) {
    std::vector<std::byte> bytes(count);
    for (std::size_t i = 0; i < count; ++i) {
        bytes[i] = static_cast<std::byte>((i * 7 + seed * 13) % 253);
    }
    return bytes;
}

nd_status status_of(const std::function<void()>& action, std::string* message = nullptr) {
    try {
        action();
    } catch (const core::Error& error) {
        if (message != nullptr) {
            *message = std::string(error.message());
        }
        return error.status();
    }
    return ND_STATUS_OK;
}

#define EXPECT_WRITER_REFUSES(action, part)                                                                  \
    do {                                                                                                     \
        std::string message;                                                                                 \
        EXPECT_EQ(status_of([&] { action; }, &message), ND_STATUS_INVALID_ARGUMENT);                         \
        EXPECT_NE(message.find(part), std::string::npos) << "message: " << message;                          \
    } while (false)

constexpr nd_dtype kAllGgmlDtypes[] = {
    ND_DTYPE_F32,  ND_DTYPE_F16,  ND_DTYPE_BF16, ND_DTYPE_F64,  ND_DTYPE_I8,   ND_DTYPE_I16,  ND_DTYPE_I32,
    ND_DTYPE_I64,  ND_DTYPE_Q4_0, ND_DTYPE_Q4_1, ND_DTYPE_Q5_0, ND_DTYPE_Q5_1, ND_DTYPE_Q8_0, ND_DTYPE_Q2_K,
    ND_DTYPE_Q3_K, ND_DTYPE_Q4_K, ND_DTYPE_Q5_K, ND_DTYPE_Q6_K, ND_DTYPE_Q8_K,
};

TEST(GgufWriter, Tensors_of_every_dtype_round_trip_through_the_reader) {
    const TempDir dir;
    const std::string path = (dir.path() / "all.gguf").string();
    std::vector<std::vector<std::byte>> contents;
    {
        GgufWriter writer(path);
        for (std::size_t i = 0; i < std::size(kAllGgmlDtypes); ++i) {
            const nd_dtype dtype = kAllGgmlDtypes[i];
            const auto row = static_cast<std::int64_t>(core::dtype_block_elements(dtype) * 2);
            // Alternate 1 to 4 dimensions, outermost first.
            std::vector<std::int64_t> shape{row};
            for (std::size_t d = 0; d < i % 4; ++d) {
                shape.insert(shape.begin(), static_cast<std::int64_t>(d + 2));
            }
            writer.add_tensor(std::string("t.") + core::dtype_name(dtype), dtype, shape);
        }
        for (std::size_t i = 0; i < writer.tensors().size(); ++i) {
            contents.push_back(pattern(writer.tensors()[i].data_size, i));
            writer.write_tensor(writer.tensors()[i].name, contents.back());
        }
        writer.finish();
    }
    const GgufFile file = GgufFile::open(path);
    ASSERT_EQ(file.tensors().size(), std::size(kAllGgmlDtypes));
    for (std::size_t i = 0; i < file.tensors().size(); ++i) {
        const GgufTensorInfo& tensor = file.tensors()[i];
        SCOPED_TRACE(tensor.name);
        const nd_dtype dtype = kAllGgmlDtypes[i];
        EXPECT_EQ(tensor.name, std::string("t.") + core::dtype_name(dtype));
        EXPECT_EQ(tensor.dtype, dtype);
        EXPECT_EQ(tensor.shape.size(), i % 4 + 1);
        EXPECT_EQ(tensor.shape.back(), static_cast<std::int64_t>(core::dtype_block_elements(dtype) * 2));
        EXPECT_EQ(tensor.data_offset % 32, 0u);
        const auto bytes = file.tensor_data(tensor);
        ASSERT_EQ(bytes.size(), contents[i].size());
        EXPECT_EQ(std::memcmp(bytes.data(), contents[i].data(), bytes.size()), 0);
    }
    EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
}

TEST(GgufWriter, Output_matches_the_spec_byte_for_byte_as_ggml_lays_it_out) {
    // Built independently by hand: header, the metadata, descriptions with ne innermost first and offsets
    // as the running sum of sizes padded to 32, zero padding to 32 before the data and after each tensor.
    GgufBytes expected;
    expected.header(2, 1).kv_string("general.name", "x");
    expected.tensor("w", {32, 2}, 8, 0).tensor("b", {3}, 0, 96).pad();
    const std::size_t data_start = expected.size();
    const std::vector<std::byte> w = pattern(68, 1);
    const std::vector<std::byte> b = pattern(12, 2);
    expected.raw(std::string(reinterpret_cast<const char*>(w.data()), w.size())).pad();
    expected.raw(std::string(reinterpret_cast<const char*>(b.data()), b.size())).pad();

    const TempDir dir;
    const std::string path = (dir.path() / "m.gguf").string();
    GgufWriter writer(path);
    writer.add_metadata("general.name", std::string("x"));
    writer.add_tensor("w", ND_DTYPE_Q8_0, {2, 32});
    writer.add_tensor("b", ND_DTYPE_F32, {3});
    writer.write_tensor("w", w);
    writer.write_tensor("b", b);
    writer.finish();
    const std::string written = read_file(path);
    EXPECT_EQ(written, expected.str());
    EXPECT_EQ(GgufFile::open(path).header().data_start, data_start);
}

TEST(GgufWriter, Metadata_of_every_type_round_trips_including_a_49408_token_vocabulary) {
    std::vector<std::string> vocab;
    for (std::size_t i = 0; i < 49408; ++i) {
        vocab.push_back("tok" + std::to_string(i) + (i % 3 == 0 ? "</w>" : ""));
    }
    const TempDir dir;
    const std::string path = (dir.path() / "meta.gguf").string();
    {
        GgufWriter writer(path);
        writer.add_metadata("u8", std::uint8_t{250});
        writer.add_metadata("i8", std::int8_t{-100});
        writer.add_metadata("u16", std::uint16_t{65535});
        writer.add_metadata("i16", std::int16_t{-32768});
        writer.add_metadata("u32", std::uint32_t{123456789});
        writer.add_metadata("i32", std::int32_t{-123456789});
        writer.add_metadata("f32", 3.25f);
        writer.add_metadata("bool", false);
        writer.add_metadata("string", std::string("caf\xC3\xA9"));
        writer.add_metadata("u64", std::uint64_t{1} << 63);
        writer.add_metadata("i64", std::int64_t{-1} << 62);
        writer.add_metadata("f64", 1e300);
        writer.add_metadata("tokenizer.ggml.tokens", gguf_array(vocab));
        writer.add_metadata("i32s", gguf_array(std::vector<std::int32_t>{-1, 0, 1}));
        writer.add_metadata("bools", gguf_array(std::vector<bool>{true, false}));
        writer.add_metadata("f64s", gguf_array(std::vector<double>{0.125}));
        writer.add_metadata("nested", gguf_array(std::vector<GgufArray>{
                                          GgufArray{std::vector<std::uint16_t>{7, 8}},
                                          GgufArray{std::vector<std::string>{"x"}}}));
        writer.finish();
    }
    const GgufFile file = GgufFile::open(path);
    EXPECT_EQ(file.metadata().size(), 17u);
    EXPECT_EQ(file.find_u32("u8"), 250u);
    EXPECT_EQ(file.find_i64("i8"), -100);
    EXPECT_EQ(file.find_u32("u16"), 65535u);
    EXPECT_EQ(file.find_i64("i16"), -32768);
    EXPECT_EQ(file.find_u32("u32"), 123456789u);
    EXPECT_EQ(file.find_i64("i32"), -123456789);
    EXPECT_EQ(file.find_float("f32"), 3.25);
    EXPECT_EQ(file.find_bool("bool"), false);
    EXPECT_EQ(file.find_string("string"), "caf\xC3\xA9");
    EXPECT_EQ(file.find_u64("u64"), std::uint64_t{1} << 63);
    EXPECT_EQ(file.find_i64("i64"), std::int64_t{-1} << 62);
    EXPECT_EQ(file.find_float("f64"), 1e300);
    const auto* tokens = file.find_string_array("tokenizer.ggml.tokens");
    ASSERT_NE(tokens, nullptr);
    EXPECT_EQ(*tokens, vocab);
    EXPECT_EQ(std::get<std::vector<std::int32_t>>(file.find_array("i32s")->items),
              (std::vector<std::int32_t>{-1, 0, 1}));
    EXPECT_EQ(std::get<std::vector<bool>>(file.find_array("bools")->items), (std::vector<bool>{true, false}));
    EXPECT_EQ(std::get<std::vector<double>>(file.find_array("f64s")->items), (std::vector<double>{0.125}));
    const auto& nested = std::get<std::vector<GgufArray>>(file.find_array("nested")->items);
    ASSERT_EQ(nested.size(), 2u);
    EXPECT_EQ(std::get<std::vector<std::uint16_t>>(nested[0].items), (std::vector<std::uint16_t>{7, 8}));
    EXPECT_EQ(std::get<std::vector<std::string>>(nested[1].items), (std::vector<std::string>{"x"}));
    EXPECT_TRUE(file.tensors().empty());
}

TEST(GgufWriter, Custom_alignment_is_written_as_general_alignment_and_applied) {
    const TempDir dir;
    const std::string path = (dir.path() / "a.gguf").string();
    GgufWriter writer(path, {.alignment = 256});
    writer.add_tensor("a", ND_DTYPE_F16, {3});
    writer.add_tensor("b", ND_DTYPE_F16, {3});
    writer.write_tensor_data(pattern(12, 0));
    writer.finish();
    const GgufFile file = GgufFile::open(path);
    EXPECT_EQ(file.find_u32("general.alignment"), 256u);
    EXPECT_EQ(file.header().alignment, 256u);
    EXPECT_EQ(file.tensors()[1].data_offset - file.tensors()[0].data_offset, 256u);
    EXPECT_EQ(file.file_size() % 256, 0u);
    // The default alignment is left implicit, as ggml does.
    GgufWriter plain((dir.path() / "p.gguf").string());
    plain.finish();
    EXPECT_EQ(GgufFile::open((dir.path() / "p.gguf").string()).find("general.alignment"), nullptr);
}

TEST(GgufWriter, Chunked_writes_produce_the_same_file_as_whole_tensors) {
    const TempDir dir;
    const std::vector<std::byte> a = pattern(4 * 34, 1);
    const std::vector<std::byte> b = pattern(40, 2);
    const auto write = [&](const std::string& name, std::size_t chunk) {
        const std::string path = (dir.path() / name).string();
        GgufWriter writer(path);
        writer.add_tensor("a", ND_DTYPE_Q8_0, {4, 32});
        writer.add_tensor("b", ND_DTYPE_I8, {40});
        std::vector<std::byte> all(a);
        all.insert(all.end(), b.begin(), b.end());
        for (std::size_t at = 0; at < all.size(); at += chunk) {
            writer.write_tensor_data(std::span<const std::byte>(all).subspan(at, std::min(chunk, all.size() - at)));
        }
        writer.finish();
        return read_file(path);
    };
    const std::string whole = write("whole.gguf", 1 << 20);
    EXPECT_EQ(write("bytes.gguf", 1), whole);
    EXPECT_EQ(write("odd.gguf", 33), whole);
}

TEST(GgufWriter, An_unfinished_writer_leaves_no_file_and_keeps_the_existing_one) {
    const TempDir dir;
    const std::filesystem::path path = dir.write("model.gguf", "old contents");
    {
        GgufWriter writer(path.string());
        writer.add_tensor("a", ND_DTYPE_F32, {8});
        writer.write_tensor_data(pattern(16, 0)); // half of it
        EXPECT_TRUE(std::filesystem::exists(path.string() + ".tmp"));
        std::string message;
        EXPECT_EQ(status_of([&] { writer.finish(); }, &message), ND_STATUS_INVALID_ARGUMENT);
        EXPECT_NE(message.find("tensor 'a' has 16 of its 32 bytes"), std::string::npos) << message;
    }
    EXPECT_FALSE(std::filesystem::exists(path.string() + ".tmp"));
    EXPECT_EQ(read_file(path), "old contents");
}

TEST(GgufWriter, Finishing_replaces_an_existing_file) {
    const TempDir dir;
    const std::filesystem::path path = dir.write("model.gguf", "old contents");
    GgufWriter writer(path.string());
    writer.finish();
    EXPECT_EQ(read_file(path).substr(0, 4), "GGUF");
    EXPECT_EQ(status_of([&] { writer.finish(); }), ND_STATUS_INVALID_ARGUMENT);
    EXPECT_EQ(status_of([&] { writer.write_tensor_data(pattern(1, 0)); }), ND_STATUS_INVALID_ARGUMENT);
}

TEST(GgufWriter, An_unwritable_path_is_an_io_error_naming_it) {
    const TempDir dir;
    GgufWriter writer((dir.path() / "no" / "such" / "dir.gguf").string());
    std::string message;
    EXPECT_EQ(status_of([&] { writer.finish(); }, &message), ND_STATUS_IO_ERROR);
    EXPECT_NE(message.find("dir.gguf.tmp: cannot create the file"), std::string::npos) << message;
}

TEST(GgufWriter, Writes_out_of_order_or_of_the_wrong_size_are_refused) {
    const TempDir dir;
    GgufWriter writer((dir.path() / "m.gguf").string());
    writer.add_tensor("a", ND_DTYPE_F32, {2});
    writer.add_tensor("b", ND_DTYPE_F32, {2});
    EXPECT_WRITER_REFUSES(writer.write_tensor("b", pattern(8, 0)), "the next declared tensor is 'a'");
    EXPECT_WRITER_REFUSES(writer.write_tensor("a", pattern(4, 0)), "needs 8 bytes, not 4");
    writer.write_tensor("a", pattern(8, 0));
    EXPECT_WRITER_REFUSES(writer.add_tensor("c", ND_DTYPE_F32, {2}), "tensor data is already being written");
    EXPECT_WRITER_REFUSES(writer.add_metadata("k", true), "tensor data is already being written");
    writer.write_tensor("b", pattern(8, 0));
    EXPECT_WRITER_REFUSES(writer.write_tensor_data(pattern(1, 0)), "1 bytes written");
    writer.finish();
}

TEST(GgufWriter, Declarations_ggml_cannot_hold_are_refused) {
    const TempDir dir;
    GgufWriter writer((dir.path() / "m.gguf").string());
    writer.add_tensor("a", ND_DTYPE_F32, {2});
    writer.add_metadata("k", std::uint8_t{1});
    EXPECT_WRITER_REFUSES(writer.add_tensor("a", ND_DTYPE_F32, {2}), "tensor 'a' is added twice");
    EXPECT_WRITER_REFUSES(writer.add_metadata("k", std::uint8_t{1}), "metadata key 'k' is added twice");
    EXPECT_WRITER_REFUSES(writer.add_tensor(std::string(128, 'n'), ND_DTYPE_F32, {2}), "at most 127");
    writer.add_tensor(std::string(127, 'n'), ND_DTYPE_F32, {2});
    EXPECT_WRITER_REFUSES(writer.add_tensor("", ND_DTYPE_F32, {2}), "is empty");
    EXPECT_WRITER_REFUSES(writer.add_tensor("u", ND_DTYPE_U8, {2}), "dtype U8 has no GGML type");
    EXPECT_WRITER_REFUSES(writer.add_tensor("s", ND_DTYPE_F32, {}), "has 0 dimensions");
    EXPECT_WRITER_REFUSES(writer.add_tensor("s", ND_DTYPE_F32, {1, 1, 1, 1, 1}), "has 5 dimensions");
    EXPECT_WRITER_REFUSES(writer.add_tensor("z", ND_DTYPE_F32, {0, 4}), "a dimension of 0");
    EXPECT_WRITER_REFUSES(writer.add_tensor("q", ND_DTYPE_Q4_K, {2, 32}), "rows of 32 elements are not whole Q4_K");
    EXPECT_WRITER_REFUSES(writer.add_metadata("general.alignment", std::uint32_t{64}), "GgufWriterOptions");
    GgufArray deep{std::vector<std::uint8_t>{}};
    for (std::size_t i = 0; i < kGgufMaxArrayDepth; ++i) {
        deep = GgufArray{std::vector<GgufArray>{deep}};
    }
    EXPECT_WRITER_REFUSES(writer.add_metadata("deep", GgufValue(deep)), "nests arrays more than 8 deep");
    EXPECT_WRITER_REFUSES(GgufWriter("x", {.alignment = 24}), "alignment 24 is not a power of two");
}

} // namespace
} // namespace nd::formats
