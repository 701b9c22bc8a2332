// The safetensors format: an 8-byte little-endian header length, a JSON header, then the tensor data.
//
// parse_safetensors validates everything a later reader relies on: after it returns, every tensor's bytes
// lie inside the file, no two tensors overlap, no byte belongs to no tensor, and sizes agree with dtypes
// and shapes. Each refusal names the tensor or field and the byte offset in the file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/mapped_file.hpp"
#include "native_diffusion.h"

namespace nd::formats {

inline constexpr std::uint64_t kSafetensorsMaxHeaderSize = 100'000'000;
inline constexpr std::size_t kSafetensorsMaxDims = 8;

struct SafetensorsTensor {
    std::string name;
    nd_dtype dtype = ND_DTYPE_F32;
    std::vector<std::int64_t> shape; // outermost first; empty for a scalar
    std::uint64_t n_elements = 0;
    std::uint64_t data_offset = 0; // absolute, from the start of the file
    std::uint64_t data_size = 0;   // bytes
};

struct SafetensorsMetadataEntry {
    std::string key;
    std::string value;
};

struct SafetensorsHeader {
    std::uint64_t header_size = 0;                  // the JSON text, padding included
    std::vector<SafetensorsTensor> tensors;         // in the order their data lies in the file
    std::vector<SafetensorsMetadataEntry> metadata; // "__metadata__", sorted by key
};

// Validates and describes a whole file held in memory. Throws Error(ND_STATUS_INVALID_FORMAT).
SafetensorsHeader parse_safetensors(std::span<const std::byte> whole_file);

// An open file: the mapping and its validated header, which together guarantee valid tensor_data().
class SafetensorsFile {
public:
    // Throws Error(ND_STATUS_IO_ERROR) or Error(ND_STATUS_INVALID_FORMAT); messages start with the path.
    static SafetensorsFile open(const std::string& path);

    const std::string& path() const noexcept { return file_.path(); }
    std::uint64_t file_size() const noexcept { return file_.size(); }
    const SafetensorsHeader& header() const noexcept { return header_; }
    std::span<const SafetensorsTensor> tensors() const noexcept { return header_.tensors; }
    std::span<const SafetensorsMetadataEntry> metadata() const noexcept { return header_.metadata; }

    // The bytes of a tensor of this file.
    std::span<const std::byte> tensor_data(const SafetensorsTensor& tensor) const noexcept {
        return file_.bytes().subspan(tensor.data_offset, tensor.data_size);
    }

private:
    SafetensorsFile(core::MappedFile file, SafetensorsHeader header) noexcept
        : file_(std::move(file)), header_(std::move(header)) {}

    core::MappedFile file_;
    SafetensorsHeader header_;
};

} // namespace nd::formats
