// What kind of model file a path holds, from its first bytes (never from its name alone), and the refusal of
// kinds the engine will not load.
//
// PyTorch checkpoints (.ckpt, .pt, .pth, .bin) are Python pickles, alone or inside a zip archive. Unpickling
// runs whatever code the file names, so the engine never executes or interprets one: it recognises them only
// to say clearly what they are and how to convert them to safetensors.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace nd::formats {

enum class FileKind {
    unknown,
    safetensors,        // 8-byte little-endian header length, then '{'
    gguf,               // "GGUF"
    pytorch_checkpoint, // a zip archive with a data.pkl entry (torch.save since 1.6), or a bare pickle
    zip_archive,        // any other zip archive
    diffusers_folder,   // a directory with model_index.json
    directory,          // any other directory
};

// "safetensors", "GGUF", "PyTorch pickle checkpoint"... Static storage.
const char* file_kind_name(FileKind kind) noexcept;

// How many leading bytes sniff_file_kind looks at, at most.
inline constexpr std::size_t kFileKindSniffBytes = 64 * 1024;

// The kind of a file from its first bytes (`head`, up to kFileKindSniffBytes of it), its total size and its
// name (only its extension is used, and only to tell a PyTorch zip from another zip when the first entries
// do not show it). Never throws; anything unrecognised is FileKind::unknown.
FileKind sniff_file_kind(std::span<const std::byte> head, std::uint64_t file_size,
                         std::string_view file_name = {}) noexcept;

// The kind of what `path` names: a directory (diffusers folder when it holds model_index.json) or a file,
// read up to kFileKindSniffBytes. Throws Error(ND_STATUS_IO_ERROR) naming the path when it cannot be read.
FileKind detect_file_kind(const std::string& path);

// detect_file_kind, then refuses what the engine does not load: a PyTorch checkpoint with
// Error(ND_STATUS_UNSUPPORTED) explaining the pickle risk and how to convert; a zip, an unrecognised file or a
// directory without model_index.json with Error(ND_STATUS_UNSUPPORTED) naming what was found. Returns
// safetensors, gguf or diffusers_folder. Messages start with the path.
FileKind require_loadable_file_kind(const std::string& path);

// The refusal of a pickle checkpoint (the message require_loadable_file_kind uses), for callers that
// recognised one themselves.
[[noreturn]] void refuse_pickle_checkpoint(const std::string& path);

} // namespace nd::formats
