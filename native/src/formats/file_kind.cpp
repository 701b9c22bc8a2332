#include "formats/file_kind.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <system_error>
#include <vector>

#include "core/error.hpp"

namespace nd::formats {

namespace {

std::uint64_t read_le(std::span<const std::byte> bytes, std::size_t at, std::size_t count) noexcept {
    std::uint64_t value = 0;
    for (std::size_t i = 0; i < count; ++i) {
        value |= static_cast<std::uint64_t>(bytes[at + i]) << (8 * i);
    }
    return value;
}

bool starts_with(std::span<const std::byte> bytes, std::string_view prefix) noexcept {
    return bytes.size() >= prefix.size() && std::memcmp(bytes.data(), prefix.data(), prefix.size()) == 0;
}

bool ends_with(std::string_view text, std::string_view suffix) noexcept {
    return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

std::string lower_extension(std::string_view file_name) {
    const std::size_t dot = file_name.find_last_of('.');
    const std::size_t slash = file_name.find_last_of("/\\");
    if (dot == std::string_view::npos || (slash != std::string_view::npos && dot < slash)) {
        return {};
    }
    std::string extension(file_name.substr(dot));
    std::transform(extension.begin(), extension.end(), extension.begin(),
                   [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; });
    return extension;
}

// Walks the zip's local file headers that lie in `head` and reports whether one names a pickle
// ("archive/data.pkl", or any "*/data.pkl"; torch.save writes it first). Stops at the first header it
// cannot step over (a streamed entry whose size comes after its data) or that leaves `head`.
bool zip_has_data_pkl(std::span<const std::byte> head) noexcept {
    constexpr std::size_t kLocalHeaderBytes = 30;
    std::size_t at = 0;
    for (int entry = 0; entry < 64; ++entry) {
        if (head.size() - at < kLocalHeaderBytes || !starts_with(head.subspan(at), "PK\x03\x04")) {
            return false;
        }
        const std::uint64_t flags = read_le(head, at + 6, 2);
        const std::uint64_t compressed = read_le(head, at + 18, 4);
        const std::uint64_t name_length = read_le(head, at + 26, 2);
        const std::uint64_t extra_length = read_le(head, at + 28, 2);
        if (head.size() - at - kLocalHeaderBytes < name_length) {
            return false;
        }
        const std::string_view name(reinterpret_cast<const char*>(head.data() + at + kLocalHeaderBytes),
                                    static_cast<std::size_t>(name_length));
        if (name == "data.pkl" || ends_with(name, "/data.pkl")) {
            return true;
        }
        const std::uint64_t step = kLocalHeaderBytes + name_length + extra_length + compressed;
        if ((flags & 0x8) != 0 || step > head.size() - at) {
            return false;
        }
        at += static_cast<std::size_t>(step);
    }
    return false;
}

} // namespace

const char* file_kind_name(FileKind kind) noexcept {
    switch (kind) {
    case FileKind::unknown: return "unknown";
    case FileKind::safetensors: return "safetensors";
    case FileKind::gguf: return "GGUF";
    case FileKind::pytorch_checkpoint: return "PyTorch pickle checkpoint";
    case FileKind::zip_archive: return "zip archive";
    case FileKind::diffusers_folder: return "diffusers folder";
    case FileKind::directory: return "directory";
    }
    return "?";
}

FileKind sniff_file_kind(std::span<const std::byte> head, std::uint64_t file_size,
                         std::string_view file_name) noexcept {
    head = head.first(std::min(head.size(), kFileKindSniffBytes));
    if (starts_with(head, "GGUF")) {
        return FileKind::gguf;
    }
    if (starts_with(head, "PK\x03\x04")) {
        if (zip_has_data_pkl(head)) {
            return FileKind::pytorch_checkpoint;
        }
        const std::string extension = lower_extension(file_name);
        const bool torch_name =
            extension == ".ckpt" || extension == ".pt" || extension == ".pth" || extension == ".bin";
        return torch_name ? FileKind::pytorch_checkpoint : FileKind::zip_archive;
    }
    // A pickle starts with the PROTO opcode (0x80) and its protocol; torch.save used protocol 2 before
    // version 1.6, and Python writes up to 5.
    if (head.size() >= 2 && head[0] == std::byte{0x80} && head[1] >= std::byte{2} && head[1] <= std::byte{5}) {
        return FileKind::pytorch_checkpoint;
    }
    if (head.size() >= 9 && head[8] == std::byte{'{'}) {
        const std::uint64_t header_size = read_le(head, 0, 8);
        if (file_size >= 8 && header_size >= 2 && header_size <= file_size - 8) {
            return FileKind::safetensors;
        }
    }
    return FileKind::unknown;
}

FileKind detect_file_kind(const std::string& path) {
    std::error_code error;
    const std::filesystem::path fs_path(path);
    const auto status = std::filesystem::status(fs_path, error);
    if (error) {
        core::throw_error(ND_STATUS_IO_ERROR, "{}: cannot read: {}", path, error.message());
    }
    if (std::filesystem::is_directory(status)) {
        return std::filesystem::is_regular_file(fs_path / "model_index.json", error) ? FileKind::diffusers_folder
                                                                                      : FileKind::directory;
    }
    std::ifstream stream(fs_path, std::ios::binary);
    if (!stream) {
        core::throw_error(ND_STATUS_IO_ERROR, "{}: cannot open: {}", path,
                          std::generic_category().message(errno));
    }
    std::vector<char> head(kFileKindSniffBytes);
    stream.read(head.data(), static_cast<std::streamsize>(head.size()));
    if (stream.bad()) {
        core::throw_error(ND_STATUS_IO_ERROR, "{}: cannot read its first bytes", path);
    }
    head.resize(static_cast<std::size_t>(stream.gcount()));
    const std::uint64_t size = std::filesystem::file_size(fs_path, error);
    return sniff_file_kind(std::as_bytes(std::span<const char>(head)), error ? head.size() : size, path);
}

void refuse_pickle_checkpoint(const std::string& path) {
    core::throw_error(
        ND_STATUS_UNSUPPORTED,
        "{}: this is a PyTorch pickle checkpoint (.ckpt/.pt/.bin), which NativeDiffusion does not load: loading "
        "a pickle can run arbitrary code hidden in the file. Convert it to safetensors first, on a machine "
        "where running it is acceptable and only if you trust its source: for example with diffusers' "
        "scripts/convert_original_stable_diffusion_to_diffusers.py --checkpoint_path FILE --dump_path OUT "
        "--to_safetensors (it writes a diffusers folder, which loads here), or in Python with "
        "torch.load(FILE, map_location=\"cpu\", weights_only=True) and safetensors.torch.save_file. Many "
        "models are also published as .safetensors already",
        path);
}

FileKind require_loadable_file_kind(const std::string& path) {
    const FileKind kind = detect_file_kind(path);
    switch (kind) {
    case FileKind::safetensors:
    case FileKind::gguf:
    case FileKind::diffusers_folder:
        return kind;
    case FileKind::pytorch_checkpoint:
        refuse_pickle_checkpoint(path);
    case FileKind::zip_archive:
        core::throw_error(ND_STATUS_UNSUPPORTED,
                          "{}: a zip archive that is not a model file this engine knows (no data.pkl entry of a "
                          "PyTorch checkpoint either); expected safetensors, GGUF or a diffusers folder",
                          path);
    case FileKind::directory:
        core::throw_error(ND_STATUS_UNSUPPORTED,
                          "{}: a directory without model_index.json, so not a diffusers folder; pass the folder "
                          "that holds model_index.json, or a single safetensors or GGUF file",
                          path);
    case FileKind::unknown:
        break;
    }
    core::throw_error(ND_STATUS_UNSUPPORTED,
                      "{}: not a model file this engine recognises (its first bytes are neither safetensors, "
                      "GGUF, nor a PyTorch checkpoint); expected safetensors, GGUF or a diffusers folder",
                      path);
}

} // namespace nd::formats
