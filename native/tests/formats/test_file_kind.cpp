#include "formats/file_kind.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "support/gguf_bytes.hpp"
#include "support/safetensors_bytes.hpp"
#include "support/temp_dir.hpp"

namespace nd::formats {
namespace {

FileKind sniff(std::string_view bytes, std::string_view name = {}) {
    return sniff_file_kind({reinterpret_cast<const std::byte*>(bytes.data()), bytes.size()}, bytes.size(), name);
}

// A zip local file header for a stored entry named `name` holding `contents`.
std::string zip_entry(std::string_view name, std::string_view contents) {
    testing::GgufBytes entry; // only its little-endian writers
    entry.raw("PK\x03\x04").put<std::uint16_t>(20).put<std::uint16_t>(0).put<std::uint16_t>(0);
    entry.put<std::uint16_t>(0).put<std::uint16_t>(0).u32(0);
    entry.u32(static_cast<std::uint32_t>(contents.size())).u32(static_cast<std::uint32_t>(contents.size()));
    entry.put<std::uint16_t>(static_cast<std::uint16_t>(name.size())).put<std::uint16_t>(0);
    entry.raw(name).raw(contents);
    return entry.str();
}

std::string status_message(const std::function<void()>& action, nd_status expected) {
    try {
        action();
    } catch (const core::Error& error) {
        EXPECT_EQ(error.status(), expected) << error.message();
        return std::string(error.message());
    }
    ADD_FAILURE() << "did not throw";
    return {};
}

TEST(FileKind, Safetensors_and_gguf_are_recognised_from_their_first_bytes) {
    EXPECT_EQ(sniff(testing::valid_safetensors({{"w", "F32", {2}, 4}})), FileKind::safetensors);
    EXPECT_EQ(sniff(testing::safetensors_bytes("{}")), FileKind::safetensors);
    EXPECT_EQ(sniff(testing::small_valid_gguf()), FileKind::gguf);
    // A length prefix that claims more than the file holds is not safetensors.
    EXPECT_EQ(sniff(testing::length_prefix(1000) + "{}"), FileKind::unknown);
    EXPECT_EQ(sniff(testing::length_prefix(2) + "[]"), FileKind::unknown);
}

TEST(FileKind, Pytorch_zip_with_data_pkl_is_a_checkpoint_whatever_its_name) {
    const std::string torch_zip =
        zip_entry("archive/data.pkl", "\x80\x02}q\x00.") + zip_entry("archive/data/0", std::string(16, '\0'));
    EXPECT_EQ(sniff(torch_zip, "model.weights"), FileKind::pytorch_checkpoint);
    // torch.save writes data.pkl first, but a later entry is found too.
    const std::string later = zip_entry("archive/version", "3\n") + zip_entry("archive/data.pkl", "\x80\x02.");
    EXPECT_EQ(sniff(later), FileKind::pytorch_checkpoint);
}

TEST(FileKind, Other_zips_are_checkpoints_only_by_a_torch_extension) {
    const std::string zip = zip_entry("readme.txt", "hello");
    EXPECT_EQ(sniff(zip, "notes.zip"), FileKind::zip_archive);
    EXPECT_EQ(sniff(zip, "model.CKPT"), FileKind::pytorch_checkpoint);
    EXPECT_EQ(sniff(zip, "dir/model.pt"), FileKind::pytorch_checkpoint);
    EXPECT_EQ(sniff(zip, "dir.ckpt/model"), FileKind::zip_archive);
    // A truncated or lying header does not send the walk outside the bytes.
    std::string lying = zip_entry("a", "x");
    lying[26] = '\xFF';
    lying[27] = '\xFF';
    EXPECT_EQ(sniff(lying), FileKind::zip_archive);
}

TEST(FileKind, Bare_pickles_of_protocol_2_to_5_are_checkpoints) {
    for (const char protocol : {'\x02', '\x03', '\x04', '\x05'}) {
        EXPECT_EQ(sniff(std::string("\x80") + protocol + "\x8a\x0a"), FileKind::pytorch_checkpoint);
    }
    EXPECT_EQ(sniff(std::string("\x80\x01\x00", 3)), FileKind::unknown);
    EXPECT_EQ(sniff(std::string("\x80\x06", 2)), FileKind::unknown);
}

TEST(FileKind, Empty_and_unrecognised_bytes_are_unknown) {
    EXPECT_EQ(sniff(""), FileKind::unknown);
    EXPECT_EQ(sniff("GGU"), FileKind::unknown);
    EXPECT_EQ(sniff("\x89PNG\r\n\x1a\n"), FileKind::unknown);
}

TEST(FileKind, Directories_are_diffusers_folders_when_they_hold_model_index_json) {
    const testing::TempDir dir;
    dir.write("sd/model_index.json", "{}");
    dir.write("other/unet/x.safetensors", "");
    EXPECT_EQ(detect_file_kind((dir.path() / "sd").string()), FileKind::diffusers_folder);
    EXPECT_EQ(detect_file_kind((dir.path() / "other").string()), FileKind::directory);
    EXPECT_EQ(require_loadable_file_kind((dir.path() / "sd").string()), FileKind::diffusers_folder);
    const std::string message = status_message(
        [&] { (void)require_loadable_file_kind((dir.path() / "other").string()); }, ND_STATUS_UNSUPPORTED);
    EXPECT_NE(message.find("without model_index.json"), std::string::npos) << message;
}

TEST(FileKind, Files_are_detected_from_disk_and_missing_ones_are_io_errors) {
    const testing::TempDir dir;
    EXPECT_EQ(detect_file_kind(dir.write("m.gguf", testing::small_valid_gguf()).string()), FileKind::gguf);
    EXPECT_EQ(require_loadable_file_kind(dir.write("m.bin", testing::safetensors_bytes("{}")).string()),
              FileKind::safetensors);
    const std::string missing = (dir.path() / "missing.safetensors").string();
    const std::string message = status_message([&] { (void)detect_file_kind(missing); }, ND_STATUS_IO_ERROR);
    EXPECT_EQ(message.rfind(missing + ": ", 0), 0u) << message;
}

TEST(FileKind, A_pickle_checkpoint_is_refused_with_the_risk_and_how_to_convert) {
    const testing::TempDir dir;
    const std::string path =
        dir.write("v1-5.ckpt", zip_entry("archive/data.pkl", "\x80\x02}q\x00.")).string();
    const std::string message =
        status_message([&] { (void)require_loadable_file_kind(path); }, ND_STATUS_UNSUPPORTED);
    EXPECT_EQ(message.rfind(path + ": this is a PyTorch pickle checkpoint", 0), 0u) << message;
    EXPECT_NE(message.find("can run arbitrary code"), std::string::npos) << message;
    EXPECT_NE(message.find("safetensors"), std::string::npos) << message;
    EXPECT_NE(message.find("convert_original_stable_diffusion_to_diffusers.py"), std::string::npos) << message;
}

TEST(FileKind, Unknown_files_and_other_zips_are_refused_naming_what_was_expected) {
    const testing::TempDir dir;
    const std::string text = dir.write("notes.txt", "hello").string();
    EXPECT_NE(status_message([&] { (void)require_loadable_file_kind(text); }, ND_STATUS_UNSUPPORTED)
                  .find("expected safetensors, GGUF or a diffusers folder"),
              std::string::npos);
    const std::string zip = dir.write("a.zip", zip_entry("x", "y")).string();
    EXPECT_NE(status_message([&] { (void)require_loadable_file_kind(zip); }, ND_STATUS_UNSUPPORTED)
                  .find("a zip archive"),
              std::string::npos);
}

} // namespace
} // namespace nd::formats
