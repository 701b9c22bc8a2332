#include "formats/gguf.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <functional>
#include <limits>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "support/gguf_bytes.hpp"
#include "support/temp_dir.hpp"

namespace nd::formats {
namespace {

using testing::GgufBytes;
using testing::small_valid_gguf;
using namespace nd::testing; // type ids

std::span<const std::byte> as_bytes(std::string_view text) {
    return {reinterpret_cast<const std::byte*>(text.data()), text.size()};
}

GgufHeader parse(std::string_view file) { return parse_gguf(as_bytes(file)); }

// The error that parsing `file` raises; fails the test if it parses.
core::Error refusal(std::string_view file, nd_status status = ND_STATUS_INVALID_FORMAT) {
    try {
        (void)parse(file);
    } catch (const core::Error& error) {
        EXPECT_EQ(error.status(), status) << error.message();
        EXPECT_EQ(error.message().rfind("gguf: ", 0), 0u) << error.message();
        return error;
    }
    ADD_FAILURE() << "accepted a malformed file";
    return core::Error(ND_STATUS_OK, "");
}

#define EXPECT_REJECTED(file, expected_part)                                                                 \
    do {                                                                                                     \
        const std::string message(refusal(file).message());                                                 \
        EXPECT_NE(message.find(expected_part), std::string::npos) << "message: " << message;                 \
    } while (false)

// A file with no metadata and the given tensor descriptions, padded, followed by `data_bytes` of data.
std::string tensors_file(std::uint64_t count, const std::function<void(GgufBytes&)>& describe,
                         std::size_t data_bytes) {
    GgufBytes file;
    file.header(count, 0);
    describe(file);
    file.pad().data(data_bytes);
    return file.str();
}

// A file with one key/value pair whose type and value bytes `value` writes, and no tensors.
std::string kv_file(std::uint32_t type, const std::function<void(GgufBytes&)>& value) {
    GgufBytes file;
    file.header(0, 1).key("k", type);
    value(file);
    return file.str();
}

TEST(Gguf, Valid_file_lists_tensors_outermost_first_with_absolute_offsets) {
    const std::string file = small_valid_gguf();
    const GgufHeader header = parse(file);
    EXPECT_EQ(header.version, 3u);
    EXPECT_EQ(header.alignment, 32u);
    EXPECT_EQ(header.data_start % 32, 0u);
    ASSERT_EQ(header.tensors.size(), 2u);

    const GgufTensorInfo& a = header.tensors[0];
    EXPECT_EQ(a.name, "a");
    EXPECT_EQ(a.dtype, ND_DTYPE_F32);
    EXPECT_EQ(a.shape, (std::vector<std::int64_t>{2, 3}));
    EXPECT_EQ(a.n_elements, 6u);
    EXPECT_EQ(a.data_offset, header.data_start);
    EXPECT_EQ(a.data_size, 24u);

    const GgufTensorInfo& b = header.tensors[1];
    EXPECT_EQ(b.dtype, ND_DTYPE_Q8_0);
    EXPECT_EQ(b.ggml_type, 8u);
    EXPECT_EQ(b.shape, (std::vector<std::int64_t>{1, 32}));
    EXPECT_EQ(b.data_offset, header.data_start + 32);
    EXPECT_EQ(b.data_size, 34u);
    EXPECT_EQ(b.data_offset + b.data_size, file.size());
    EXPECT_EQ(header.find_tensor("b"), &header.tensors[1]);
    EXPECT_EQ(header.find_tensor("c"), nullptr);
}

TEST(Gguf, Open_maps_the_file_and_tensor_data_spans_the_tensor_bytes) {
    const testing::TempDir dir;
    const std::string file = small_valid_gguf();
    const GgufFile gguf = GgufFile::open(dir.write("m.gguf", file).string());
    const GgufTensorInfo* b = gguf.find_tensor("b");
    ASSERT_NE(b, nullptr);
    const auto bytes = gguf.tensor_data(*b);
    ASSERT_EQ(bytes.size(), 34u);
    EXPECT_EQ(std::memcmp(bytes.data(), file.data() + b->data_offset, 34), 0);
    EXPECT_EQ(static_cast<unsigned char>(bytes[0]), b->data_offset % 251);
    EXPECT_EQ(gguf.find_string("general.name"), "tiny");
    const auto* tokens = gguf.find_string_array("tokenizer.tokens");
    ASSERT_NE(tokens, nullptr);
    EXPECT_EQ(*tokens, (std::vector<std::string>{"hi", "there"}));
}

TEST(Gguf, Open_errors_start_with_the_path) {
    const testing::TempDir dir;
    const std::string path = dir.write("bad.gguf", "GGUF\x01\0\0\0").string();
    try {
        (void)GgufFile::open(path);
        FAIL() << "opened a broken file";
    } catch (const core::Error& error) {
        EXPECT_EQ(error.status(), ND_STATUS_INVALID_FORMAT);
        EXPECT_EQ(error.message().rfind(path + ": gguf: ", 0), 0u) << error.message();
    }
    try {
        (void)GgufFile::open((dir.path() / "missing.gguf").string());
        FAIL() << "opened a missing file";
    } catch (const core::Error& error) {
        EXPECT_EQ(error.status(), ND_STATUS_IO_ERROR);
    }
}

TEST(Gguf, Metadata_of_every_type_is_read) {
    GgufBytes file;
    file.header(0, 15)
        .key("u8", kGgufU8).u8(200)
        .key("i8", kGgufI8).put<std::int8_t>(-5)
        .key("u16", kGgufU16).put<std::uint16_t>(60000)
        .key("i16", kGgufI16).put<std::int16_t>(-30000)
        .key("u32", kGgufU32).u32(4000000000u)
        .key("i32", kGgufI32).put<std::int32_t>(-7)
        .key("f32", kGgufF32).put<float>(1.5f)
        .key("bool", kGgufBool).u8(1)
        .key("string", kGgufString).str("h\xC3\xA9")
        .key("u64", kGgufU64).u64(1ull << 40)
        .key("i64", kGgufI64).put<std::int64_t>(std::numeric_limits<std::int64_t>::min())
        .key("f64", kGgufF64).put<double>(-2.25)
        .key("floats", kGgufArray).u32(kGgufF32).u64(2).put<float>(0.5f).put<float>(4.0f)
        .key("bools", kGgufArray).u32(kGgufBool).u64(3).u8(1).u8(0).u8(1)
        .key("nested", kGgufArray).u32(kGgufArray).u64(2)
            .u32(kGgufI16).u64(1).put<std::int16_t>(-1)
            .u32(kGgufString).u64(0);
    const GgufHeader header = parse(file.str());
    ASSERT_EQ(header.metadata.size(), 15u);
    for (std::uint32_t type = 0; type < 13; ++type) {
        // Written in type order, but with the arrays last.
        const std::size_t index = type < 9 ? type : type == 9 ? 12 : type - 1;
        EXPECT_EQ(static_cast<std::uint32_t>(gguf_type_of(header.metadata[index].value)), type);
    }
    EXPECT_EQ(std::get<std::uint8_t>(header.find("u8")->value), 200);
    EXPECT_EQ(header.find_i64("i8"), -5);
    EXPECT_EQ(header.find_u32("u16"), 60000u);
    EXPECT_EQ(header.find_i64("i16"), -30000);
    EXPECT_EQ(header.find_u32("u32"), 4000000000u);
    EXPECT_EQ(header.find_i64("i32"), -7);
    EXPECT_EQ(header.find_float("f32"), 1.5);
    EXPECT_EQ(header.find_bool("bool"), true);
    EXPECT_EQ(header.find_string("string"), "h\xC3\xA9");
    EXPECT_EQ(header.find_u64("u64"), 1ull << 40);
    EXPECT_EQ(header.find_i64("i64"), std::numeric_limits<std::int64_t>::min());
    EXPECT_EQ(header.find_float("f64"), -2.25);
    EXPECT_EQ(std::get<std::vector<float>>(header.find_array("floats")->items), (std::vector<float>{0.5f, 4.0f}));
    EXPECT_EQ(std::get<std::vector<bool>>(header.find_array("bools")->items),
              (std::vector<bool>{true, false, true}));
    const auto& nested = std::get<std::vector<GgufArray>>(header.find_array("nested")->items);
    ASSERT_EQ(nested.size(), 2u);
    EXPECT_EQ(std::get<std::vector<std::int16_t>>(nested[0].items), (std::vector<std::int16_t>{-1}));
    EXPECT_EQ(nested[1].element_type(), GgufType::string);
    EXPECT_EQ(nested[1].size(), 0u);
}

TEST(Gguf, Typed_getters_refuse_a_value_of_another_type_naming_key_and_types) {
    GgufBytes file;
    file.header(0, 3).kv_string("name", "x").key("neg", kGgufI32).put<std::int32_t>(-1).kv_u32("n", 5);
    const GgufHeader header = parse(file.str());
    EXPECT_EQ(header.find_u32("absent"), std::nullopt);
    EXPECT_EQ(header.find_string_array("absent"), nullptr);
    EXPECT_EQ(header.find_u64("n"), 5u);
    const auto expect_refused = [](auto lookup, std::string_view part) {
        try {
            lookup();
            ADD_FAILURE() << "accepted";
        } catch (const core::Error& error) {
            EXPECT_EQ(error.status(), ND_STATUS_INVALID_FORMAT);
            EXPECT_NE(error.message().find(part), std::string::npos) << error.message();
        }
    };
    expect_refused([&] { (void)header.find_u32("name"); }, "key 'name' (at byte 24) is string, not an unsigned");
    expect_refused([&] { (void)header.find_u32("neg"); }, "'neg'");
    expect_refused([&] { (void)header.find_string("n"); }, "is uint32, not a string");
    expect_refused([&] { (void)header.find_string_array("n"); }, "not an array");
    expect_refused([&] { (void)header.find_bool("n"); }, "not a bool");
    expect_refused([&] { (void)header.find_float("n"); }, "not a float32 or float64");
}

TEST(Gguf, Version_2_is_accepted_and_version_1_refused_clearly) {
    std::string v2 = small_valid_gguf();
    v2[4] = 2;
    EXPECT_EQ(parse(v2).version, 2u);
    std::string v1 = small_valid_gguf();
    v1[4] = 1;
    EXPECT_REJECTED(v1, "version 1 (bytes 4-7) is not supported");
    std::string v9 = small_valid_gguf();
    v9[4] = 9;
    EXPECT_REJECTED(v9, "unsupported version 9");
}

TEST(Gguf, Big_endian_file_is_refused_as_such) {
    GgufBytes file;
    file.raw("GGUF").raw(std::string("\0\0\0\3", 4)).u64(0).u64(0);
    EXPECT_REJECTED(file.str(), "big-endian GGUF files are not supported");
}

TEST(Gguf, Wrong_magic_is_refused) {
    EXPECT_REJECTED(std::string("GGML\3\0\0\0", 8), "magic");
    EXPECT_REJECTED(std::string("GG"), "magic");
    EXPECT_REJECTED(std::string(), "magic");
}

TEST(Gguf, Truncation_at_every_offset_is_refused) {
    const std::string file = small_valid_gguf();
    for (std::size_t size = 0; size < file.size(); ++size) {
        SCOPED_TRACE(size);
        const core::Error error = refusal(std::string_view(file).substr(0, size));
        EXPECT_EQ(error.status(), ND_STATUS_INVALID_FORMAT);
    }
}

TEST(Gguf, Truncated_string_names_what_was_read_and_the_offset) {
    GgufBytes file;
    file.header(0, 1).kv_string("general.name", "a name long enough for the counts to be plausible");
    // The header is 24 bytes; the key's length is bytes 24-31, "general.name" 32-43, its type 44-47, the
    // value's length 48-55.
    EXPECT_REJECTED(file.str().substr(0, 40), "key 0 of 1 (at byte 24) claims 12 bytes, but only 8 bytes are left");
    EXPECT_REJECTED(file.str().substr(0, 52), "the file ends inside the value of 'general.name' (at byte 48)");
}

TEST(Gguf, Huge_counts_are_refused_before_any_allocation) {
    GgufBytes tensors;
    tensors.header(std::numeric_limits<std::uint64_t>::max(), 0);
    EXPECT_REJECTED(tensors.str(), "the tensor count (bytes 8-15) is 18446744073709551615");
    GgufBytes kvs;
    kvs.header(0, 1ull << 60).data(100);
    EXPECT_REJECTED(kvs.str(), "the metadata count (bytes 16-23) is 1152921504606846976");
    EXPECT_REJECTED(kv_file(kGgufArray, [](GgufBytes& f) { f.u32(kGgufU64).u64(1ull << 61); }),
                    "array 'k' (at byte 37) claims 2305843009213693952 elements of uint64");
    EXPECT_REJECTED(kv_file(kGgufArray, [](GgufBytes& f) { f.u32(kGgufString).u64(1000).str("a"); }),
                    "claims 1000 elements of string");
    EXPECT_REJECTED(kv_file(kGgufArray, [](GgufBytes& f) { f.u32(kGgufArray).u64(3).data(30); }),
                    "claims 3 elements of array");
}

TEST(Gguf, Counts_over_the_limits_are_refused_even_when_the_bytes_could_hold_them) {
    GgufBytes tensors;
    tensors.header(kGgufMaxTensors + 1, 0);
    EXPECT_REJECTED(tensors.str(), "the tensor count (bytes 8-15) is 1048577, over the limit of 1048576");
    GgufBytes kvs;
    kvs.header(0, kGgufMaxKeyValues + 1);
    EXPECT_REJECTED(kvs.str(), "the metadata count (bytes 16-23) is 1048577, over the limit of 1048576");
    EXPECT_REJECTED(kv_file(kGgufArray, [](GgufBytes& f) { f.u32(kGgufString).u64(kGgufMaxArrayItems + 1); }),
                    "claims 4194305 elements of string, over the limit of 4194304 strings and arrays");

    // The limit holds for all arrays of a file together: two arrays of half the limit plus one.
    const std::uint64_t half = kGgufMaxArrayItems / 2;
    GgufBytes two;
    two.header(0, 2).key("first", kGgufArray).u32(kGgufString).u64(half);
    two.raw(std::string(half * 8, '\0')); // empty strings
    two.key("second", kGgufArray).u32(kGgufArray).u64(half + 1);
    EXPECT_REJECTED(two.str(), "array 'second' (at byte 16777287) claims 2097153 elements of array, over the limit "
                               "of 4194304 strings and arrays inside the arrays of one file (2097152 used before it)");
}

TEST(Gguf, Huge_string_lengths_are_refused) {
    GgufBytes key;
    key.header(0, 1).u64(std::numeric_limits<std::uint64_t>::max()).data(20);
    EXPECT_REJECTED(key.str(), "key 0 of 1 (at byte 24) claims 18446744073709551615 bytes");
    EXPECT_REJECTED(kv_file(kGgufString, [](GgufBytes& f) { f.u64(1ull << 62).raw("abc"); }),
                    "the value of 'k' (at byte 37) claims 4611686018427387904 bytes");
    EXPECT_REJECTED(kv_file(kGgufArray, [](GgufBytes& f) { f.u32(kGgufString).u64(1).u64(1ull << 50); }),
                    "a string of array 'k'");
}

TEST(Gguf, Unknown_value_types_and_bad_bools_are_refused) {
    EXPECT_REJECTED(kv_file(13, [](GgufBytes& f) { f.u64(0); }),
                    "the type of 'k' (at byte 33) is 13, not a GGUF value type");
    EXPECT_REJECTED(kv_file(kGgufArray, [](GgufBytes& f) { f.u32(0xFFFFFFFF).u64(0); }),
                    "the element type of array 'k' (at byte 37) is 4294967295");
    EXPECT_REJECTED(kv_file(kGgufBool, [](GgufBytes& f) { f.u8(2); }), "bool value of 'k' (at byte 37) is 2");
}

TEST(Gguf, Nested_array_depth_bomb_is_refused_and_the_limit_accepted) {
    const auto nested = [](std::size_t depth) {
        return kv_file(kGgufArray, [depth](GgufBytes& f) {
            for (std::size_t i = 1; i < depth; ++i) {
                f.u32(kGgufArray).u64(1);
            }
            f.u32(kGgufU8).u64(0);
        });
    };
    const GgufHeader header = parse(nested(kGgufMaxArrayDepth));
    EXPECT_EQ(header.find_array("k")->element_type(), GgufType::array);
    EXPECT_REJECTED(nested(kGgufMaxArrayDepth + 1), "nests arrays more than 8 deep");
    EXPECT_REJECTED(nested(100000), "nests arrays more than 8 deep");
}

TEST(Gguf, Duplicate_keys_and_bad_key_names_are_refused) {
    GgufBytes duplicate;
    duplicate.header(0, 2).kv_u32("a", 1).kv_u32("a", 2);
    EXPECT_REJECTED(duplicate.str(), "key 'a' (at byte 41) appears twice");
    GgufBytes empty;
    empty.header(0, 1).kv_u32("", 1);
    EXPECT_REJECTED(empty.str(), "key 0 (at byte 24) is empty");
    GgufBytes nul;
    nul.header(0, 1).kv_u32(std::string_view("a\0b", 3), 1);
    EXPECT_REJECTED(nul.str(), "contains a NUL character");
    GgufBytes utf8;
    utf8.header(0, 1).kv_u32("a\xFF", 1);
    EXPECT_REJECTED(utf8.str(), "is not valid UTF-8 (at byte 33)");
}

TEST(Gguf, Alignment_must_be_a_uint32_power_of_two_and_is_applied) {
    for (const std::uint32_t bad : {0u, 3u, 48u}) {
        GgufBytes file;
        file.header(0, 1).kv_u32("general.alignment", bad);
        EXPECT_REJECTED(file.str(), "'general.alignment' (at byte 24) is " + std::to_string(bad) +
                                        ", not a power of two");
    }
    GgufBytes wide;
    wide.header(0, 1).key("general.alignment", kGgufU64).u64(64);
    EXPECT_REJECTED(wide.str(), "must be a uint32, not uint64");

    GgufBytes file;
    file.header(2, 1).kv_u32("general.alignment", 64);
    file.tensor("a", {4}, kGgmlF32, 0).tensor("b", {4}, kGgmlF32, 64).pad(64).data(80);
    const GgufHeader header = parse(file.str());
    EXPECT_EQ(header.alignment, 64u);
    EXPECT_EQ(header.data_start % 64, 0u);
    EXPECT_EQ(header.tensors[1].data_offset, header.data_start + 64);

    GgufBytes misaligned;
    misaligned.header(1, 1).kv_u32("general.alignment", 64).tensor("a", {4}, kGgmlF32, 32).pad(64).data(80);
    EXPECT_REJECTED(misaligned.str(), "data offset 32 (at byte 82) is not a multiple of the alignment 64");
}

TEST(Gguf, Misaligned_tensor_offsets_are_refused) {
    const std::string file = tensors_file(1, [](GgufBytes& f) { f.tensor("t", {4}, kGgmlF32, 4); }, 32);
    EXPECT_REJECTED(file, "tensor 't': data offset 4 (at byte 49) is not a multiple of the alignment 32");
}

TEST(Gguf, Overlapping_tensors_are_refused) {
    const std::string file = tensors_file(
        2, [](GgufBytes& f) { f.tensor("a", {16}, kGgmlF32, 0).tensor("b", {4}, kGgmlF32, 32); }, 64);
    EXPECT_REJECTED(file, "tensors 'a' [96, 160) and 'b' [128, 144) overlap");
    // Order in the file does not matter, only the bytes.
    const std::string reordered = tensors_file(
        2, [](GgufBytes& f) { f.tensor("b", {4}, kGgmlF32, 32).tensor("a", {16}, kGgmlF32, 0); }, 64);
    EXPECT_REJECTED(reordered, "overlap");
    const std::string disjoint = tensors_file(
        2, [](GgufBytes& f) { f.tensor("b", {4}, kGgmlF32, 64).tensor("a", {16}, kGgmlF32, 0); }, 80);
    EXPECT_EQ(parse(disjoint).tensors.size(), 2u);
}

TEST(Gguf, Tensor_data_past_the_end_is_refused) {
    const std::string short_data = tensors_file(1, [](GgufBytes& f) { f.tensor("t", {8}, kGgmlF32, 0); }, 31);
    EXPECT_REJECTED(short_data, "tensor 't' (described at byte 24) needs 32 bytes at data offset 0, past the end");
    const std::string far = tensors_file(
        1, [](GgufBytes& f) { f.tensor("t", {8}, kGgmlF32, 0xFFFFFFFFFFFFFFE0ull); }, 32);
    EXPECT_REJECTED(far, "at data offset 18446744073709551584, past the end");
    // Descriptions ending in the last bytes of the file: the padded data start lies past its end.
    GgufBytes unpadded;
    unpadded.header(1, 0).tensor("t", {1}, kGgmlF32, 0);
    EXPECT_REJECTED(unpadded.str(), "the data section would start at byte 64");
}

TEST(Gguf, Dimension_counts_outside_1_to_4_are_refused) {
    EXPECT_REJECTED(tensors_file(1, [](GgufBytes& f) { f.tensor("t", {}, kGgmlF32, 0).data(8); }, 32),
                    "tensor 't' has 0 dimensions (at byte 33); 1 to 4 are allowed");
    EXPECT_REJECTED(tensors_file(1, [](GgufBytes& f) { f.tensor("t", {1, 1, 1, 1, 1}, kGgmlF32, 0); }, 32),
                    "tensor 't' has 5 dimensions");
    const GgufHeader four = parse(tensors_file(1, [](GgufBytes& f) { f.tensor("t", {2, 1, 3, 1}, kGgmlF32, 0); }, 32));
    EXPECT_EQ(four.tensors[0].shape, (std::vector<std::int64_t>{1, 3, 1, 2}));
}

TEST(Gguf, Zero_negative_and_overflowing_dimensions_are_refused) {
    EXPECT_REJECTED(tensors_file(1, [](GgufBytes& f) { f.tensor("t", {4, 0}, kGgmlF32, 0); }, 32),
                    "tensor 't': ne[1] (at byte 45) is 0");
    EXPECT_REJECTED(tensors_file(1, [](GgufBytes& f) { f.tensor("t", {1ull << 63}, kGgmlF32, 0); }, 32),
                    "ne[0] (at byte 37) is 9223372036854775808");
    EXPECT_REJECTED(tensors_file(1, [](GgufBytes& f) { f.tensor("t", {1ull << 40, 1ull << 40}, kGgmlF32, 0); }, 32),
                    "has more elements than fit in 64 bits");
    EXPECT_REJECTED(tensors_file(1, [](GgufBytes& f) { f.tensor("t", {1ull << 31, 1ull << 31}, kGgmlF32, 0); }, 32),
                    "is more bytes than fit in 64 bits");
}

TEST(Gguf, Unknown_and_unsupported_tensor_types_are_refused_by_name) {
    EXPECT_REJECTED(tensors_file(1, [](GgufBytes& f) { f.tensor("t", {32}, 4, 0); }, 64),
                    "tensor 't' has unknown ggml type 4 (at byte 45)");
    EXPECT_REJECTED(tensors_file(1, [](GgufBytes& f) { f.tensor("t", {32}, 1000, 0); }, 64),
                    "unknown ggml type 1000");
    const core::Error error =
        refusal(tensors_file(1, [](GgufBytes& f) { f.tensor("t", {32}, kGgmlQ8_1, 0); }, 64), ND_STATUS_UNSUPPORTED);
    EXPECT_NE(error.message().find("unsupported tensor type 9 (q8_1) in tensor 't'"), std::string::npos)
        << error.message();
}

TEST(Gguf, Rows_that_are_not_whole_blocks_are_refused) {
    EXPECT_REJECTED(tensors_file(1, [](GgufBytes& f) { f.tensor("t", {16, 2}, kGgmlQ8_0, 0); }, 64),
                    "tensor 't': rows of 16 elements (ne[0], at byte 37) are not whole Q8_0 blocks of 32");
}

TEST(Gguf, Duplicate_and_empty_tensor_names_are_refused) {
    EXPECT_REJECTED(tensors_file(
                        2, [](GgufBytes& f) { f.tensor("t", {4}, kGgmlF32, 0).tensor("t", {4}, kGgmlF32, 32); }, 64),
                    "tensor 't' (at byte 57) appears twice");
    EXPECT_REJECTED(tensors_file(1, [](GgufBytes& f) { f.tensor("", {4}, kGgmlF32, 0); }, 32),
                    "the name of tensor 0 (at byte 24) is empty");
}

TEST(Gguf, Every_single_byte_corruption_of_a_valid_file_is_refused_or_parsed_safely) {
    // Not every flip is invalid (a data byte, a character of a name), but none may crash or throw anything
    // but Error; what parses must still keep the promises.
    const std::string file = small_valid_gguf();
    for (std::size_t i = 0; i < file.size(); ++i) {
        for (const unsigned char value : {0x00, 0x01, 0x7F, 0x80, 0xFF}) {
            std::string corrupt = file;
            corrupt[i] = static_cast<char>(value);
            try {
                const GgufHeader header = parse(corrupt);
                for (const GgufTensorInfo& tensor : header.tensors) {
                    EXPECT_LE(tensor.data_offset + tensor.data_size, corrupt.size());
                    EXPECT_EQ(tensor.data_offset % header.alignment, 0u);
                }
            } catch (const core::Error& error) {
                EXPECT_TRUE(error.status() == ND_STATUS_INVALID_FORMAT || error.status() == ND_STATUS_UNSUPPORTED)
                    << error.message();
            }
        }
    }
}

TEST(Gguf, Fuzz_seeds_named_valid_parse_and_those_named_bad_are_refused) {
    // native/fuzz/make_gguf_seeds.py writes them, independently of the engine's writer.
    const std::filesystem::path corpus = std::filesystem::path(ND_SOURCE_DIR) / "native/fuzz/corpus/fuzz_gguf";
    std::size_t valid = 0;
    std::size_t bad = 0;
    for (const auto& entry : std::filesystem::directory_iterator(corpus)) {
        const std::string name = entry.path().filename().string();
        SCOPED_TRACE(name);
        std::ifstream stream(entry.path(), std::ios::binary);
        const std::string bytes{std::istreambuf_iterator<char>(stream), std::istreambuf_iterator<char>()};
        if (name.rfind("valid_", 0) == 0) {
            EXPECT_NO_THROW((void)parse(bytes));
            ++valid;
        } else if (name.rfind("bad_", 0) == 0) {
            (void)refusal(bytes);
            ++bad;
        }
    }
    EXPECT_GE(valid, 4u);
    EXPECT_GE(bad, 5u);
}

} // namespace
} // namespace nd::formats
