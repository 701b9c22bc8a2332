// Builds safetensors files in memory, valid or deliberately broken, for the format and C ABI tests.
#pragma once

#include <cstddef>
#include <cstdint>
#include <numeric>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace nd::testing {

// The 8-byte little-endian length prefix, whatever `length` claims.
inline std::string length_prefix(std::uint64_t length) {
    std::string bytes(8, '\0');
    for (std::size_t i = 0; i < 8; ++i) {
        bytes[i] = static_cast<char>((length >> (8 * i)) & 0xFF);
    }
    return bytes;
}

// A file with the given header text (its true length in the prefix) and data bytes.
inline std::string safetensors_bytes(std::string_view header, std::string_view data = {}) {
    std::string bytes = length_prefix(header.size());
    bytes += header;
    bytes += data;
    return bytes;
}

struct TensorSpec {
    std::string name;
    std::string dtype;
    std::vector<std::int64_t> shape;
    std::size_t element_size;

    std::uint64_t byte_size() const {
        return std::accumulate(
            shape.begin(), shape.end(), std::uint64_t{element_size},
            [](std::uint64_t a, std::int64_t b) { return a * static_cast<std::uint64_t>(b); });
    }
};

// A valid file: tensors laid out in the order given, each byte of data set to its offset modulo 251 (a
// prime, so that a tensor read from a wrong offset shows), header padded to a multiple of 8 with spaces.
inline std::string valid_safetensors(const std::vector<TensorSpec>& tensors,
                                     const std::vector<std::pair<std::string, std::string>>& metadata = {}) {
    // Appends only: g++ 12 at -O3 reports a false -Wrestrict on `"literal" + std::string`.
    std::string header = "{";
    const auto quoted = [&header](std::string_view text) {
        header += '"';
        header += text;
        header += '"';
    };
    if (!metadata.empty()) {
        header += "\"__metadata__\":{";
        for (std::size_t i = 0; i < metadata.size(); ++i) {
            header += i == 0 ? "" : ",";
            quoted(metadata[i].first);
            header += ':';
            quoted(metadata[i].second);
        }
        header += '}';
    }
    std::uint64_t offset = 0;
    for (const TensorSpec& tensor : tensors) {
        header += header.size() > 1 ? "," : "";
        quoted(tensor.name);
        header += ":{\"dtype\":";
        quoted(tensor.dtype);
        header += ",\"shape\":[";
        for (std::size_t i = 0; i < tensor.shape.size(); ++i) {
            header += i == 0 ? "" : ",";
            header += std::to_string(tensor.shape[i]);
        }
        const std::uint64_t end = offset + tensor.byte_size();
        header += "],\"data_offsets\":[";
        header += std::to_string(offset);
        header += ',';
        header += std::to_string(end);
        header += "]}";
        offset = end;
    }
    header += '}';
    header.append((8 - header.size() % 8) % 8, ' ');
    std::string data(offset, '\0');
    for (std::size_t i = 0; i < data.size(); ++i) {
        data[i] = static_cast<char>(i % 251);
    }
    return safetensors_bytes(header, data);
}

} // namespace nd::testing
