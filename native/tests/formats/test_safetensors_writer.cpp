#include "formats/safetensors_writer.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>

#include "core/error.hpp"
#include "formats/safetensors.hpp"
#include "support/temp_dir.hpp"

namespace nd::formats {
namespace {

std::string read_all(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(SafetensorsWriter, Written_file_reads_back_with_names_dtypes_shapes_bytes_and_metadata) {
    testing::TempDir dir;
    SafetensorsWriter writer;
    writer.add_tensor({"a.weight", ND_DTYPE_F16, {3, 5}});
    writer.add_tensor({"b \"quoted\"\n", ND_DTYPE_F32, {7}});
    writer.add_tensor({"scalar", ND_DTYPE_I64, {}});
    writer.add_tensor({"empty", ND_DTYPE_BF16, {0, 4}});
    writer.add_metadata("format", "pt");
    const auto path = (dir.path() / "out.safetensors").string();
    writer.write(path, [](std::size_t index, std::span<std::byte> bytes) {
        for (std::size_t i = 0; i < bytes.size(); ++i) {
            bytes[i] = static_cast<std::byte>(index * 31 + i);
        }
    });

    const SafetensorsFile file = SafetensorsFile::open(path);
    ASSERT_EQ(file.tensors().size(), 4u);
    EXPECT_EQ(file.header().header_size % 8, 0u);
    std::size_t index = 0;
    for (const auto& spec : writer.tensors()) {
        const auto& tensor = file.tensors()[index];
        EXPECT_EQ(tensor.name, spec.name);
        EXPECT_EQ(tensor.dtype, spec.dtype);
        EXPECT_EQ(tensor.shape, spec.shape);
        const auto data = file.tensor_data(tensor);
        for (std::size_t i = 0; i < data.size(); ++i) {
            ASSERT_EQ(data[i], static_cast<std::byte>(index * 31 + i)) << spec.name << " byte " << i;
        }
        ++index;
    }
    ASSERT_EQ(file.metadata().size(), 1u);
    EXPECT_EQ(file.metadata()[0].key, "format");
    EXPECT_EQ(file.metadata()[0].value, "pt");
    EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
}

TEST(SafetensorsWriter, Failure_while_writing_leaves_the_existing_file_untouched_and_no_temp_file) {
    testing::TempDir dir;
    const auto path = dir.write("model.safetensors", "precious");
    SafetensorsWriter writer;
    writer.add_tensor({"a", ND_DTYPE_F32, {4}});
    writer.add_tensor({"b", ND_DTYPE_F32, {4}});
    EXPECT_THROW(writer.write(path.string(),
                              [](std::size_t index, std::span<std::byte>) {
                                  if (index == 1) {
                                      throw std::runtime_error("source went away");
                                  }
                              }),
                 std::runtime_error);
    EXPECT_EQ(read_all(path), "precious");
    EXPECT_FALSE(std::filesystem::exists(path.string() + ".tmp"));
}

TEST(SafetensorsWriter, Unwritable_destination_is_an_io_error_naming_the_path) {
    SafetensorsWriter writer;
    writer.add_tensor({"a", ND_DTYPE_F32, {1}});
    try {
        writer.write("/nonexistent-dir/x.safetensors", [](std::size_t, std::span<std::byte>) {});
        FAIL() << "expected an error";
    } catch (const core::Error& error) {
        EXPECT_EQ(error.status(), ND_STATUS_IO_ERROR);
        EXPECT_NE(std::string(error.message()).find("/nonexistent-dir/x.safetensors"), std::string::npos);
    }
}

TEST(SafetensorsWriter, Duplicate_names_quantized_dtypes_and_negative_extents_are_refused) {
    SafetensorsWriter writer;
    writer.add_tensor({"a", ND_DTYPE_F32, {1}});
    EXPECT_THROW(writer.add_tensor({"a", ND_DTYPE_F32, {1}}), core::Error);
    EXPECT_THROW(writer.add_tensor({"q", ND_DTYPE_Q8_0, {32}}), core::Error);
    EXPECT_THROW(writer.add_tensor({"n", ND_DTYPE_F32, {-1}}), core::Error);
    EXPECT_THROW(writer.add_tensor({"", ND_DTYPE_F32, {1}}), core::Error);
    EXPECT_EQ(writer.tensors().size(), 1u);
}

} // namespace
} // namespace nd::formats
