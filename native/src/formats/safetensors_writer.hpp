// Writes safetensors files, streaming one tensor at a time.
//
// All tensors are declared first (the header holds every offset), then their bytes are produced in
// declaration order by a callback, so a writer never needs more than one tensor in memory. The file is
// written as PATH.tmp and renamed over PATH only when everything succeeded: a failure leaves no half file
// and never destroys an existing one. What we write reads back through parse_safetensors and loads in
// the safetensors library (the header is padded with spaces to a multiple of 8 bytes, as it pads).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "native_diffusion.h"

namespace nd::formats {

struct SafetensorsTensorSpec {
    std::string name;
    nd_dtype dtype = ND_DTYPE_F32; // a plain type (block-quantized types are not safetensors dtypes)
    std::vector<std::int64_t> shape;
};

class SafetensorsWriter {
public:
    // Throws Error(ND_STATUS_INVALID_ARGUMENT) for a duplicate or empty name, a block-quantized dtype or a
    // negative extent.
    void add_tensor(SafetensorsTensorSpec spec);
    // "__metadata__" entries (string to string).
    void add_metadata(std::string key, std::string value);

    [[nodiscard]] std::span<const SafetensorsTensorSpec> tensors() const noexcept { return tensors_; }

    // Fills `bytes` (exactly the tensor's size) with tensor `index`'s data.
    using FillTensor = std::function<void(std::size_t index, std::span<std::byte> bytes)>;
    // Writes the file. Throws Error(ND_STATUS_IO_ERROR) naming the path and the OS reason, or whatever
    // `fill` throws; either way PATH is left as it was.
    void write(const std::string& path, const FillTensor& fill) const;

    // The JSON header as it is written (padding included), for tests.
    [[nodiscard]] std::string header_json() const;

private:
    std::vector<SafetensorsTensorSpec> tensors_;
    std::vector<std::pair<std::string, std::string>> metadata_;
};

} // namespace nd::formats
