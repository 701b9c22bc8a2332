#include "formats/safetensors.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <numeric>
#include <string>
#include <string_view>

#include "core/dtype.hpp"
#include "core/error.hpp"
#include "support/fixtures.hpp"
#include "support/safetensors_bytes.hpp"
#include "support/temp_dir.hpp"

namespace nd::formats {
namespace {

using testing::length_prefix;
using testing::safetensors_bytes;
using testing::TensorSpec;
using testing::valid_safetensors;

std::span<const std::byte> as_bytes(std::string_view text) {
    return {reinterpret_cast<const std::byte*>(text.data()), text.size()};
}

SafetensorsHeader parse(std::string_view file) {
    return parse_safetensors(as_bytes(file));
}

// The message of the error that parsing `file` raises; fails the test if it parses.
std::string rejection(std::string_view file) {
    try {
        (void)parse(file);
    } catch (const core::Error& error) {
        EXPECT_EQ(error.status(), ND_STATUS_INVALID_FORMAT) << error.message();
        return std::string(error.message());
    }
    ADD_FAILURE() << "accepted a malformed file";
    return {};
}

#define EXPECT_REJECTED(file, expected_part)                                                                 \
    do {                                                                                                     \
        const std::string message = rejection(file);                                                         \
        EXPECT_NE(message.find(expected_part), std::string::npos) << "message: " << message;                 \
    } while (false)

// A file whose header is `json` and which has `data_size` data bytes.
std::string file_with(std::string_view json, std::size_t data_size = 0) {
    return safetensors_bytes(json, std::string(data_size, '\x5A'));
}

// One F32 tensor "t" with the given entry body; 16 bytes of data (a [4] F32 tensor).
std::string entry_file(std::string_view entry_body, std::size_t data_size = 16) {
    return file_with("{\"t\":{" + std::string(entry_body) + "}}", data_size);
}

const std::vector<TensorSpec> kTensors = {
    {"weight", "F16", {2, 3}, 2}, {"position_ids", "I64", {1, 4}, 8}, {"scale", "F32", {}, 4},
    {"empty", "BF16", {0, 5}, 2}, {"flags", "BOOL", {3}, 1},
};

TEST(Safetensors, Valid_file_round_trips) {
    const std::string file = valid_safetensors(kTensors, {{"format", "pt"}, {"author", "tests"}});
    const SafetensorsHeader header = parse(file);
    const std::uint64_t header_size = header.header_size;
    EXPECT_EQ(header_size % 8, 0u);
    ASSERT_EQ(header.tensors.size(), kTensors.size());

    std::uint64_t offset = 8 + header_size;
    for (std::size_t i = 0; i < kTensors.size(); ++i) {
        const SafetensorsTensor& tensor = header.tensors[i];
        SCOPED_TRACE(tensor.name);
        EXPECT_EQ(tensor.name, kTensors[i].name);
        EXPECT_STREQ(core::dtype_name(tensor.dtype), kTensors[i].dtype.c_str());
        EXPECT_EQ(tensor.shape, kTensors[i].shape);
        EXPECT_EQ(tensor.data_offset, offset);
        EXPECT_EQ(tensor.data_size, kTensors[i].byte_size());
        offset += tensor.data_size;
    }
    EXPECT_EQ(offset, file.size());
    EXPECT_EQ(header.tensors[0].n_elements, 6u);
    EXPECT_EQ(header.tensors[2].n_elements, 1u) << "a scalar holds one element";
    EXPECT_EQ(header.tensors[3].n_elements, 0u);
    EXPECT_EQ(header.tensors[1].dtype, ND_DTYPE_I64);

    ASSERT_EQ(header.metadata.size(), 2u);
    EXPECT_EQ(header.metadata[0].key, "author") << "metadata is sorted by key";
    EXPECT_EQ(header.metadata[0].value, "tests");
    EXPECT_EQ(header.metadata[1].key, "format");
    EXPECT_EQ(header.metadata[1].value, "pt");
}

TEST(Safetensors, Tensors_are_listed_in_data_order_not_header_order) {
    const std::string file = file_with(R"({"second":{"dtype":"U8","shape":[2],"data_offsets":[3,5]},)"
                                       R"("first":{"dtype":"U8","shape":[3],"data_offsets":[0,3]}})",
                                       5);
    const SafetensorsHeader header = parse(file);
    ASSERT_EQ(header.tensors.size(), 2u);
    EXPECT_EQ(header.tensors[0].name, "first");
    EXPECT_EQ(header.tensors[1].name, "second");
}

TEST(Safetensors, Zero_size_tensors_may_sit_anywhere_on_the_boundaries) {
    const std::string file = file_with(R"({"a":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},)"
                                       R"("b":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},)"
                                       R"("c":{"dtype":"F64","shape":[4,0],"data_offsets":[2,2]},)"
                                       R"("d":{"dtype":"F64","shape":[0,4],"data_offsets":[2,2]}})",
                                       2);
    const SafetensorsHeader header = parse(file);
    ASSERT_EQ(header.tensors.size(), 4u);
    EXPECT_EQ(header.tensors[0].name, "a");
    EXPECT_EQ(header.tensors[1].name, "b");
    EXPECT_EQ(header.tensors[2].name, "c") << "ties keep the header's order";
    EXPECT_EQ(header.tensors[3].name, "d");
}

TEST(Safetensors, Empty_header_object_without_data_is_valid) {
    const SafetensorsHeader header = parse(file_with("{}"));
    EXPECT_TRUE(header.tensors.empty());
    EXPECT_TRUE(header.metadata.empty());
    EXPECT_TRUE(parse(file_with(R"({"__metadata__":{}}   )")).tensors.empty());
}

TEST(Safetensors, Eight_dimensions_are_accepted) {
    const SafetensorsHeader header =
        parse(file_with(R"({"t":{"dtype":"U8","shape":[1,2,1,2,1,2,1,2],"data_offsets":[0,16]}})", 16));
    EXPECT_EQ(header.tensors[0].shape.size(), 8u);
    EXPECT_EQ(header.tensors[0].n_elements, 16u);
}

// ------------------------------------------------------------------ the length prefix

TEST(Safetensors, File_shorter_than_the_length_prefix_is_rejected) {
    EXPECT_REJECTED("", "the file is 0 bytes long, too short for the 8-byte header length");
    EXPECT_REJECTED(std::string(7, '\0'), "the file is 7 bytes long");
}

TEST(Safetensors, Zero_header_length_is_rejected) {
    EXPECT_REJECTED(length_prefix(0) + "{}", "the header length (bytes 0-7) is 0");
}

TEST(Safetensors, Header_length_over_the_limit_is_rejected_before_reading) {
    EXPECT_REJECTED(length_prefix(100'000'001) + "{}",
                    "is 100000001 bytes, over the limit of 100000000 bytes");
    EXPECT_REJECTED(length_prefix(~std::uint64_t{0}) + "{}", "over the limit");
}

TEST(Safetensors, Header_length_past_the_end_of_the_file_is_rejected) {
    EXPECT_REJECTED(length_prefix(3) + "{}", "is 3 bytes, but only 2 bytes follow it in the 10-byte file");
    EXPECT_REJECTED(length_prefix(1000) + "{}", "is 1000 bytes, but only 2 bytes follow it");
}

// ------------------------------------------------------------------ the header text

TEST(Safetensors, Header_that_is_not_utf8_is_rejected_with_its_offset) {
    EXPECT_REJECTED(file_with("{\"t\xC3\":1}"), "the header is not valid UTF-8 (at byte 11)");
    EXPECT_REJECTED(file_with("{\"\xED\xA0\x80\":1}"), "not valid UTF-8 (at byte 10)");
}

TEST(Safetensors, Header_must_start_with_a_brace) {
    EXPECT_REJECTED(file_with(" {}"), "the header must start with '{' (at byte 8), not with ' '");
    EXPECT_REJECTED(file_with("[]"), "must start with '{' (at byte 8), not with '['");
}

TEST(Safetensors, Header_may_be_padded_with_spaces_only) {
    EXPECT_NO_THROW(parse(file_with("{}      ")));
    EXPECT_REJECTED(file_with("{}\n"),
                    "must end with '}' followed only by spaces (0x20), but ends with byte 0x0A "
                    "(at byte 10)");
    EXPECT_REJECTED(file_with(std::string("{} \0", 4)), "ends with byte 0x00 (at byte 11)");
    EXPECT_REJECTED(file_with("{}\t "), "ends with byte 0x09");
    EXPECT_REJECTED(file_with("{} x"), "ends with 'x' (at byte 11)");
}

TEST(Safetensors, Header_that_is_not_json_is_rejected_with_its_offset) {
    EXPECT_REJECTED(file_with("{oops}"),
                    "safetensors: header: JSON: unexpected 'o', expected a key (a string) "
                    "(at byte 9)");
    EXPECT_REJECTED(file_with(R"({"a":1}{"b":2})"), "after the end of the JSON value (at byte 15)");
    EXPECT_REJECTED(file_with("{\"t\":" + std::string(70, '[') + std::string(70, ']') + "}"),
                    "nesting deeper than 64 levels (at byte 76)");
}

TEST(Safetensors, Duplicate_tensor_names_are_rejected) {
    EXPECT_REJECTED(file_with(R"({"t":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},)"
                              R"("t":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})",
                              2),
                    "duplicate key \"t\" (at byte 61; first at byte 9)");
}

// ------------------------------------------------------------------ __metadata__

TEST(Safetensors, Metadata_must_be_an_object) {
    EXPECT_REJECTED(file_with(R"({"__metadata__":[]})"), "\"__metadata__\" (at byte 24) must be an object of "
                                                         "strings, not an array");
}

TEST(Safetensors, Metadata_values_must_be_strings) {
    EXPECT_REJECTED(file_with(R"({"__metadata__":{"a":"x","n":1}})"),
                    "\"__metadata__\" entry \"n\" (at byte 37) must be a string, not a number");
    EXPECT_REJECTED(file_with(R"({"__metadata__":{"o":{}}})"),
                    "entry \"o\" (at byte 29) must be a string, not an "
                    "object");
}

TEST(Safetensors, Metadata_with_nul_characters_is_rejected) {
    EXPECT_REJECTED(file_with(R"({"__metadata__":{"k":"a\u0000b"}})"),
                    "a \"__metadata__\" value (at byte 29) "
                    "contains a NUL character");
}

// ------------------------------------------------------------------ tensor entries

TEST(Safetensors, Tensor_entry_must_be_an_object) {
    EXPECT_REJECTED(file_with(R"({"t":[1]})"), "tensor 't' (at byte 13) must be an object, not an array");
}

TEST(Safetensors, Unknown_field_in_a_tensor_entry_is_rejected) {
    EXPECT_REJECTED(entry_file(R"("dtype":"F32","shape":[4],"data_offsets":[0,16],"extra":1)"),
                    "tensor 't' has an unknown field \"extra\" (at byte 62)");
}

TEST(Safetensors, Missing_fields_are_rejected) {
    EXPECT_REJECTED(entry_file(R"("shape":[4],"data_offsets":[0,16])"),
                    "tensor 't' (at byte 13) has no \"dtype\"");
    EXPECT_REJECTED(entry_file(R"("dtype":"F32","data_offsets":[0,16])"), "has no \"shape\"");
    EXPECT_REJECTED(entry_file(R"("dtype":"F32","shape":[4])"), "has no \"data_offsets\"");
}

TEST(Safetensors, Unknown_dtype_is_rejected) {
    EXPECT_REJECTED(entry_file(R"("dtype":"F17","shape":[4],"data_offsets":[0,16])"),
                    "tensor 't': unknown dtype \"F17\" (at byte 22); known dtypes are F32 F16 BF16");
    EXPECT_REJECTED(entry_file(R"("dtype":"f32","shape":[4],"data_offsets":[0,16])"),
                    "unknown dtype \"f32\"");
    EXPECT_REJECTED(entry_file(R"("dtype":4,"shape":[4],"data_offsets":[0,16])"),
                    "\"dtype\" (at byte 22) must be a string, not a number");
}

TEST(Safetensors, Shape_must_be_an_array_of_non_negative_integers) {
    EXPECT_REJECTED(entry_file(R"("dtype":"F32","shape":4,"data_offsets":[0,16])"),
                    "\"shape\" (at byte 36) must be an array of non-negative integers, not a number");
    EXPECT_REJECTED(entry_file(R"("dtype":"F32","shape":[2,-2],"data_offsets":[0,16])"),
                    "shape[1] (at byte 39) is -2, not a non-negative integer that fits in 64 bits");
    EXPECT_REJECTED(entry_file(R"("dtype":"F32","shape":[4.0],"data_offsets":[0,16])"),
                    "shape[0] (at byte 37) is "
                    "4.0");
    EXPECT_REJECTED(entry_file(R"("dtype":"F32","shape":[1e1],"data_offsets":[0,16])"),
                    "is 1e1, not a "
                    "non-negative integer");
    EXPECT_REJECTED(entry_file(R"("dtype":"F32","shape":["4"],"data_offsets":[0,16])"),
                    "is a string, not a "
                    "non-negative integer");
    EXPECT_REJECTED(entry_file(R"("dtype":"F32","shape":[9223372036854775808],"data_offsets":[0,16])"),
                    "is 9223372036854775808, not a non-negative integer that fits in 64 bits");
}

TEST(Safetensors, More_than_eight_dimensions_are_rejected) {
    EXPECT_REJECTED(entry_file(R"("dtype":"U8","shape":[1,1,1,1,1,1,1,1,1],"data_offsets":[0,1])", 1),
                    "\"shape\" (at byte 35) has 9 dimensions; at most 8 are supported");
}

TEST(Safetensors, Element_count_overflow_is_rejected) {
    EXPECT_REJECTED(entry_file(R"("dtype":"U8","shape":[4294967296,4294967296],"data_offsets":[0,16])"),
                    "shape [4294967296, 4294967296] (at byte 35) has more elements than fit in 64 bits");
}

TEST(Safetensors, Zero_dimension_makes_a_tensor_empty_however_large_the_others) {
    const SafetensorsHeader header =
        parse(entry_file(R"("dtype":"F64","shape":[4294967296,4294967296,0],"data_offsets":[0,0])", 0));
    EXPECT_EQ(header.tensors[0].n_elements, 0u);
    EXPECT_EQ(header.tensors[0].data_size, 0u);
}

TEST(Safetensors, Byte_size_overflow_is_rejected) {
    EXPECT_REJECTED(entry_file(R"("dtype":"F64","shape":[2305843009213693952],"data_offsets":[0,16])"),
                    "2305843009213693952 elements of F64 are more bytes than fit in 64 bits");
}

TEST(Safetensors, Data_offsets_must_be_two_non_negative_integers) {
    EXPECT_REJECTED(entry_file(R"("dtype":"F32","shape":[4],"data_offsets":[0])"),
                    "\"data_offsets\" (at byte 55) must be an array of two integers [begin, end]");
    EXPECT_REJECTED(entry_file(R"("dtype":"F32","shape":[4],"data_offsets":[0,8,16])"),
                    "array of two integers");
    EXPECT_REJECTED(entry_file(R"("dtype":"F32","shape":[4],"data_offsets":{"b":0})"),
                    "array of two integers");
    EXPECT_REJECTED(entry_file(R"("dtype":"F32","shape":[4],"data_offsets":[-1,15])"),
                    "data_offsets begin (at byte 56) is -1, not a non-negative integer");
    EXPECT_REJECTED(entry_file(R"("dtype":"F32","shape":[4],"data_offsets":[0,16.5])"),
                    "data_offsets end (at byte 58) is 16.5");
    EXPECT_REJECTED(entry_file(R"("dtype":"F32","shape":[4],"data_offsets":[0,18446744073709551616])"),
                    "is 18446744073709551616, not a non-negative integer that fits in 64 bits");
}

TEST(Safetensors, Data_offsets_that_end_before_they_begin_are_rejected) {
    EXPECT_REJECTED(entry_file(R"("dtype":"F32","shape":[0],"data_offsets":[16,0])"),
                    "data_offsets [16, 0] (at byte 55) end before they begin");
}

TEST(Safetensors, Byte_size_must_match_the_data_offsets) {
    EXPECT_REJECTED(
        entry_file(R"("dtype":"F32","shape":[2,2],"data_offsets":[0,8])", 8),
        "tensor 't': shape [2, 2] of F32 needs 16 bytes, but data_offsets [0, 8] (at byte 57) span 8 "
        "bytes");
}

TEST(Safetensors, Empty_tensor_name_is_rejected) {
    EXPECT_REJECTED(file_with(R"({"":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}})", 1),
                    "a tensor has an empty name (at byte 9)");
}

TEST(Safetensors, Tensor_name_with_a_nul_character_is_rejected) {
    EXPECT_REJECTED(file_with(R"({"a\u0000":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}})", 1),
                    "a tensor name (at byte 9) contains a NUL character");
}

// ------------------------------------------------------------------ where the data lies

TEST(Safetensors, Overlapping_tensors_are_rejected) {
    EXPECT_REJECTED(file_with(R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},)"
                              R"("b":{"dtype":"U8","shape":[4],"data_offsets":[2,6]}})",
                              6),
                    "tensors 'a' [0, 4) and 'b' [2, 6) overlap (data_offsets at bytes 54 and 106)");
}

TEST(Safetensors, Identical_ranges_are_an_overlap) {
    EXPECT_REJECTED(file_with(R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},)"
                              R"("b":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}})",
                              4),
                    "overlap");
}

TEST(Safetensors, Zero_size_tensor_inside_another_is_an_overlap) {
    EXPECT_REJECTED(file_with(R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},)"
                              R"("z":{"dtype":"U8","shape":[0],"data_offsets":[2,2]}})",
                              4),
                    "tensors 'a' [0, 4) and 'z' [2, 2) overlap");
}

TEST(Safetensors, Hole_between_tensors_is_rejected) {
    EXPECT_REJECTED(file_with(R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},)"
                              R"("b":{"dtype":"U8","shape":[2],"data_offsets":[3,5]}})",
                              5),
                    "1 bytes between tensors 'a' (ends at data offset 2) and 'b' (begins at 3) belong to no "
                    "tensor");
}

TEST(Safetensors, First_tensor_must_begin_at_the_start_of_the_data) {
    EXPECT_REJECTED(entry_file(R"("dtype":"F32","shape":[4],"data_offsets":[4,20])", 20),
                    "the first one, 't', begins at data offset 4 (data_offsets at byte 55)");
}

TEST(Safetensors, Trailing_bytes_after_the_last_tensor_are_rejected) {
    EXPECT_REJECTED(
        entry_file(R"("dtype":"F32","shape":[4],"data_offsets":[0,16])", 17),
        "the last tensor, 't', ends at data offset 16, but the data region holds 17 bytes: 1 trailing "
        "bytes belong to no tensor");
}

TEST(Safetensors, Tensor_past_the_end_of_the_file_is_rejected) {
    EXPECT_REJECTED(
        entry_file(R"("dtype":"F32","shape":[4],"data_offsets":[0,16])", 15),
        "tensor 't' ends at data offset 16 (data_offsets at byte 55), past the end of the file: the "
        "data region holds 15 bytes");
    EXPECT_REJECTED(
        entry_file(R"("dtype":"U8","shape":[9223372036854775807],"data_offsets":[0,9223372036854775807])"),
        "ends at data offset 9223372036854775807 (data_offsets at byte 72), past the end of the file");
}

TEST(Safetensors, Data_without_tensors_is_rejected) {
    EXPECT_REJECTED(file_with("{}", 3), "the header lists no tensors, but 3 bytes of data follow it");
}

// ------------------------------------------------------------------ files on disk

TEST(SafetensorsFile, Opens_a_file_and_reads_tensor_bytes) {
    const testing::TempDir dir;
    const std::string bytes = valid_safetensors(kTensors, {{"format", "pt"}});
    const SafetensorsFile file = SafetensorsFile::open(dir.write("model.safetensors", bytes).string());
    EXPECT_EQ(file.file_size(), bytes.size());
    ASSERT_EQ(file.tensors().size(), kTensors.size());
    for (const SafetensorsTensor& tensor : file.tensors()) {
        const auto data = file.tensor_data(tensor);
        ASSERT_EQ(data.size(), tensor.data_size);
        EXPECT_EQ(std::memcmp(data.data(), bytes.data() + tensor.data_offset, data.size()), 0) << tensor.name;
    }
}

TEST(SafetensorsFile, Format_errors_start_with_the_path) {
    const testing::TempDir dir;
    const std::string path = dir.write("broken.safetensors", file_with("{}", 1)).string();
    try {
        (void)SafetensorsFile::open(path);
        FAIL() << "expected an error";
    } catch (const core::Error& error) {
        EXPECT_EQ(error.status(), ND_STATUS_INVALID_FORMAT);
        EXPECT_EQ(error.message().substr(0, path.size() + 2), path + ": ") << error.message();
    }
}

TEST(SafetensorsFile, Missing_file_is_an_io_error_with_the_path) {
    const testing::TempDir dir;
    const std::string path = (dir.path() / "none.safetensors").string();
    try {
        (void)SafetensorsFile::open(path);
        FAIL() << "expected an error";
    } catch (const core::Error& error) {
        EXPECT_EQ(error.status(), ND_STATUS_IO_ERROR);
        EXPECT_NE(error.message().find(path), std::string_view::npos) << error.message();
    }
}

// The shared fixture: a tiny SD 1.x checkpoint in the original single-file layout, F16 but for the I64
// position_ids buffer. Its README counts 11,520,235 parameters: every element except position_ids' 77.
TEST(SafetensorsFile, Tiny_sd1_fixture_opens_with_its_exact_contents) {
    const auto path = testing::fixtures_dir() / "tiny-sd1" / "model.safetensors";
    ND_SKIP_IF_FIXTURE_MISSING(path);
    const SafetensorsFile file = SafetensorsFile::open(path.string());
    const auto tensors = file.tensors();
    EXPECT_EQ(tensors.size(), 981u);
    EXPECT_EQ(file.file_size(), 23169398u);
    EXPECT_EQ(file.header().header_size, 128304u);

    std::uint64_t elements = 0;
    std::uint64_t float_elements = 0;
    std::size_t f16_tensors = 0;
    for (const SafetensorsTensor& tensor : tensors) {
        elements += tensor.n_elements;
        if (tensor.dtype == ND_DTYPE_F16) {
            float_elements += tensor.n_elements;
            ++f16_tensors;
        }
    }
    EXPECT_EQ(elements, 11'520'312u);
    EXPECT_EQ(float_elements, 11'520'235u);
    EXPECT_EQ(f16_tensors, 980u);

    const auto position_ids = std::find_if(tensors.begin(), tensors.end(), [](const SafetensorsTensor& t) {
        return t.name == "cond_stage_model.transformer.text_model.embeddings.position_ids";
    });
    ASSERT_NE(position_ids, tensors.end());
    EXPECT_EQ(position_ids->dtype, ND_DTYPE_I64);
    EXPECT_EQ(position_ids->shape, (std::vector<std::int64_t>{1, 77}));
    EXPECT_EQ(position_ids->data_size, 77u * 8);

    EXPECT_EQ(tensors.front().data_offset, 8 + file.header().header_size);
    EXPECT_EQ(tensors.back().data_offset + tensors.back().data_size, file.file_size());
    ASSERT_EQ(file.metadata().size(), 1u);
    EXPECT_EQ(file.metadata()[0].key, "format");
    EXPECT_EQ(file.metadata()[0].value, "pt");
}

} // namespace
} // namespace nd::formats
