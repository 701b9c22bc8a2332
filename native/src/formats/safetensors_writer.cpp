#include "formats/safetensors_writer.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <set>

#include "core/dtype.hpp"
#include "core/error.hpp"

namespace nd::formats {
namespace {

std::uint64_t tensor_bytes(const SafetensorsTensorSpec& spec) {
    std::uint64_t elements = 1;
    for (std::int64_t extent : spec.shape) {
        if (extent != 0 && elements > UINT64_MAX / static_cast<std::uint64_t>(extent)) {
            core::throw_error(ND_STATUS_INVALID_ARGUMENT, "tensor '{}' is too large", spec.name);
        }
        elements *= static_cast<std::uint64_t>(extent);
    }
    return elements * core::dtype_size(spec.dtype);
}

void append_json_string(std::string& out, std::string_view text) {
    out += '"';
    for (char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (byte < 0x20) {
            char escaped[8];
            std::snprintf(escaped, sizeof escaped, "\\u%04x", byte);
            out += escaped;
        } else {
            out += c;
        }
    }
    out += '"';
}

struct FileCloser {
    void operator()(std::FILE* file) const noexcept { std::fclose(file); }
};

[[noreturn]] void throw_io(const std::string& path, const char* what) {
    core::throw_error(ND_STATUS_IO_ERROR, "{}: {}: {}", path, what, std::strerror(errno));
}

} // namespace

void SafetensorsWriter::add_tensor(SafetensorsTensorSpec spec) {
    if (spec.name.empty()) {
        core::throw_error(ND_STATUS_INVALID_ARGUMENT, "a safetensors tensor needs a name");
    }
    if (core::dtype_is_quantized(spec.dtype) || core::dtype_size(spec.dtype) == 0) {
        core::throw_error(ND_STATUS_INVALID_ARGUMENT, "tensor '{}': {} is not a safetensors dtype", spec.name,
                          core::dtype_name(spec.dtype));
    }
    if (std::any_of(spec.shape.begin(), spec.shape.end(), [](std::int64_t e) { return e < 0; })) {
        core::throw_error(ND_STATUS_INVALID_ARGUMENT, "tensor '{}' has a negative extent", spec.name);
    }
    if (std::any_of(tensors_.begin(), tensors_.end(), [&](const auto& t) { return t.name == spec.name; })) {
        core::throw_error(ND_STATUS_INVALID_ARGUMENT, "tensor '{}' is declared twice", spec.name);
    }
    tensor_bytes(spec); // overflow check
    tensors_.push_back(std::move(spec));
}

void SafetensorsWriter::add_metadata(std::string key, std::string value) {
    metadata_.emplace_back(std::move(key), std::move(value));
}

std::string SafetensorsWriter::header_json() const {
    std::string json = "{";
    bool first = true;
    if (!metadata_.empty()) {
        json += "\"__metadata__\":{";
        for (std::size_t i = 0; i < metadata_.size(); ++i) {
            if (i > 0) {
                json += ',';
            }
            append_json_string(json, metadata_[i].first);
            json += ':';
            append_json_string(json, metadata_[i].second);
        }
        json += '}';
        first = false;
    }
    std::uint64_t offset = 0;
    for (const SafetensorsTensorSpec& spec : tensors_) {
        if (!first) {
            json += ',';
        }
        first = false;
        const std::uint64_t bytes = tensor_bytes(spec);
        append_json_string(json, spec.name);
        json += ":{\"dtype\":";
        append_json_string(json, core::dtype_name(spec.dtype));
        json += ",\"shape\":[";
        for (std::size_t d = 0; d < spec.shape.size(); ++d) {
            if (d > 0) {
                json += ',';
            }
            json += std::to_string(spec.shape[d]);
        }
        json += "],\"data_offsets\":[";
        json += std::to_string(offset);
        json += ',';
        json += std::to_string(offset + bytes);
        json += "]}";
        offset += bytes;
    }
    json += '}';
    json.append((8 - json.size() % 8) % 8, ' ');
    return json;
}

void SafetensorsWriter::write(const std::string& path, const FillTensor& fill) const {
    const std::string temp = path + ".tmp";
    try {
        std::unique_ptr<std::FILE, FileCloser> file(std::fopen(temp.c_str(), "wb"));
        if (!file) {
            throw_io(temp, "cannot create");
        }
        const std::string header = header_json();
        unsigned char length[8];
        for (int i = 0; i < 8; ++i) {
            length[i] = static_cast<unsigned char>(static_cast<std::uint64_t>(header.size()) >> (8 * i));
        }
        if (std::fwrite(length, 1, 8, file.get()) != 8 ||
            std::fwrite(header.data(), 1, header.size(), file.get()) != header.size()) {
            throw_io(temp, "write failed");
        }
        std::vector<std::byte> buffer;
        for (std::size_t i = 0; i < tensors_.size(); ++i) {
            buffer.assign(tensor_bytes(tensors_[i]), std::byte{0});
            fill(i, buffer);
            if (!buffer.empty() && std::fwrite(buffer.data(), 1, buffer.size(), file.get()) != buffer.size()) {
                throw_io(temp, "write failed");
            }
        }
        if (std::fflush(file.get()) != 0) {
            throw_io(temp, "write failed");
        }
        file.reset();
        std::error_code error;
        std::filesystem::rename(temp, path, error);
        if (error) {
            core::throw_error(ND_STATUS_IO_ERROR, "{}: cannot rename to {}: {}", temp, path, error.message());
        }
    } catch (...) {
        std::error_code ignored;
        std::filesystem::remove(temp, ignored);
        throw;
    }
}

} // namespace nd::formats
