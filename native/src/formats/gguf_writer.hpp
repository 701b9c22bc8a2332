// Writes GGUF version 3 files that ggml (and so stable-diffusion.cpp) reads: metadata and every tensor's
// description first, then each tensor's bytes in declaration order, each padded with zeros to the alignment.
//
// Tensor data is streamed, so a conversion holds at most one tensor (or one chunk of one) at a time. The
// file is written to "<path>.tmp" and renamed over <path> only by finish(): a failure, an exception or a
// writer destroyed early leaves no partial file and never touches an existing <path>.
//
// Layout follows ggml's own writer exactly: offsets are the running sum of padded tensor sizes, starting at
// 0; "general.alignment" is written only when it is not the default 32; names are at most 127 bytes (the
// GGML_MAX_NAME of 128 that stable-diffusion.cpp builds ggml with).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "formats/gguf.hpp"
#include "native_diffusion.h"

namespace nd::formats {

inline constexpr std::size_t kGgufWriterMaxNameBytes = 127;

struct GgufWriterOptions {
    std::uint32_t alignment = 32; // a power of two
};

class GgufWriter {
public:
    // Nothing is created until the first tensor bytes or finish(). Throws Error(ND_STATUS_INVALID_ARGUMENT)
    // for an alignment that is not a power of two.
    explicit GgufWriter(std::string path, GgufWriterOptions options = {});
    GgufWriter(const GgufWriter&) = delete;
    GgufWriter& operator=(const GgufWriter&) = delete;
    // Removes "<path>.tmp" unless finish() succeeded.
    ~GgufWriter();

    // Declarations, before any data. Throw Error(ND_STATUS_INVALID_ARGUMENT) naming the key or tensor for a
    // duplicate, an empty or over-long name, a value GGUF cannot hold (arrays nested deeper than
    // kGgufMaxArrayDepth), "general.alignment" (set it through the options), a dtype ggml has no type for,
    // a shape of other than 1-4 positive dimensions, or rows that are not whole quantization blocks.
    void add_metadata(std::string key, GgufValue value);
    // `shape` is outermost first, as everywhere in the engine.
    void add_tensor(std::string name, nd_dtype dtype, std::vector<std::int64_t> shape);

    // The tensors declared so far; data_offset is relative to the data section here (the header's size,
    // and so the absolute offset, is known only once all declarations are in).
    std::span<const GgufTensorInfo> tensors() const noexcept { return tensors_; }
    // The tensor the next bytes belong to; nullptr when all declared tensors are complete.
    const GgufTensorInfo* next_tensor() const noexcept;

    // Appends bytes to the next tensor (in declaration order; several calls may make up one tensor). The
    // first call writes the header. Throws Error(ND_STATUS_INVALID_ARGUMENT) for bytes past the last
    // tensor and Error(ND_STATUS_IO_ERROR) naming the path for a failed write.
    void write_tensor_data(std::span<const std::byte> bytes);
    // Writes a whole tensor: `name` must be the next tensor and `bytes` exactly its size.
    void write_tensor(std::string_view name, std::span<const std::byte> bytes);

    // Checks that every tensor is complete, flushes and syncs the file, and renames it over the path.
    void finish();

private:
    struct FileCloser {
        void operator()(std::FILE* file) const noexcept;
    };

    void require_declaring(std::string_view what) const;
    void start_data();
    void write_bytes(std::span<const std::byte> bytes);
    void write_padding(std::uint64_t count);

    std::string path_;
    std::string temp_path_;
    std::uint32_t alignment_;
    std::vector<GgufKeyValue> metadata_;
    std::vector<GgufTensorInfo> tensors_;
    std::uint64_t data_size_ = 0;          // padded sizes of the tensors declared so far
    std::unique_ptr<std::FILE, FileCloser> file_;
    bool started_ = false;
    bool finished_ = false;
    std::size_t current_ = 0;              // index of the tensor being written
    std::uint64_t current_written_ = 0;    // its bytes written so far
};

// The header bytes of a file with these declarations, from the magic to the zero padding before the data
// section; GgufWriter writes exactly these. Tensor data_offset values are taken as relative to the data
// section and written as given; the declarations are not checked (GgufWriter checks them).
std::string gguf_header_bytes(std::span<const GgufKeyValue> metadata, std::span<const GgufTensorInfo> tensors,
                              std::uint32_t alignment = 32);

} // namespace nd::formats
