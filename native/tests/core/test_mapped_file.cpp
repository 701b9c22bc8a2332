#include "core/mapped_file.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <utility>

#include "core/error.hpp"
#include "support/temp_dir.hpp"

namespace nd::core {
namespace {

std::string_view as_text(std::span<const std::byte> bytes) {
    return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

TEST(MappedFile, Maps_the_whole_file) {
    const testing::TempDir dir;
    const std::string contents("binary\0data\xFF", 12);
    const auto path = dir.write("file.bin", contents);
    const MappedFile file = MappedFile::open(path.string());
    EXPECT_EQ(file.size(), contents.size());
    EXPECT_EQ(as_text(file.bytes()), contents);
    EXPECT_EQ(file.path(), path.string());
}

TEST(MappedFile, Empty_file_maps_to_an_empty_span) {
    const testing::TempDir dir;
    const MappedFile file = MappedFile::open(dir.write("empty", "").string());
    EXPECT_EQ(file.size(), 0u);
    EXPECT_TRUE(file.bytes().empty());
}

TEST(MappedFile, Missing_file_is_an_io_error_naming_path_and_reason) {
    const testing::TempDir dir;
    const std::string path = (dir.path() / "absent.safetensors").string();
    try {
        (void)MappedFile::open(path);
        FAIL() << "expected an error";
    } catch (const Error& error) {
        EXPECT_EQ(error.status(), ND_STATUS_IO_ERROR);
        EXPECT_NE(error.message().find(path), std::string_view::npos) << error.message();
        EXPECT_NE(error.message().find("No such file or directory"), std::string_view::npos)
            << error.message();
    }
}

TEST(MappedFile, Directory_is_refused_as_not_a_regular_file) {
    const testing::TempDir dir;
    try {
        (void)MappedFile::open(dir.path().string());
        FAIL() << "expected an error";
    } catch (const Error& error) {
        EXPECT_EQ(error.status(), ND_STATUS_IO_ERROR);
        EXPECT_NE(error.message().find("not a regular file"), std::string_view::npos) << error.message();
    }
}

TEST(MappedFile, Non_ascii_path_maps) {
    const testing::TempDir dir;
    const auto path = dir.write("mod\xC3\xA8le-\xE6\x97\xA5\xE6\x9C\xAC/w.bin", "abc");
    EXPECT_EQ(as_text(MappedFile::open(path.string()).bytes()), "abc");
}

TEST(MappedFile, Moving_transfers_the_mapping) {
    const testing::TempDir dir;
    const auto path = dir.write("a", "first");
    MappedFile source = MappedFile::open(path.string());
    MappedFile moved(std::move(source));
    EXPECT_EQ(as_text(moved.bytes()), "first");
    EXPECT_TRUE(source.bytes().empty()); // NOLINT(bugprone-use-after-move): the moved-from state is specified

    MappedFile other = MappedFile::open(dir.write("b", "second").string());
    other = std::move(moved); // unmaps "second"
    EXPECT_EQ(as_text(other.bytes()), "first");
    EXPECT_TRUE(moved.bytes().empty()); // NOLINT(bugprone-use-after-move)
}

} // namespace
} // namespace nd::core
