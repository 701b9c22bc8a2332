#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_gguf: small GGUF files, valid and broken, a few hundred bytes each.

Run from the repository root: python3 native/fuzz/make_gguf_seeds.py
The layout follows the GGUF spec (little-endian; strings are a u64 length and bytes; tensor dims innermost
first; data offsets relative to the aligned data section).
"""
import os
import struct

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "fuzz_gguf")

U8, I8, U16, I16, U32, I32, F32, BOOL, STRING, ARRAY, U64, I64, F64 = range(13)
F32_T, F16_T, Q8_0_T, Q4_K_T, BF16_T = 0, 1, 8, 12, 30


def s(text):
    raw = text.encode() if isinstance(text, str) else text
    return struct.pack("<Q", len(raw)) + raw


def header(n_tensors, n_kv, version=3):
    return b"GGUF" + struct.pack("<IQQ", version, n_tensors, n_kv)


def kv(key, vtype, payload):
    return s(key) + struct.pack("<I", vtype) + payload


def tensor(name, ne, gtype, offset):
    return s(name) + struct.pack("<I", len(ne)) + b"".join(struct.pack("<Q", d) for d in ne) + \
        struct.pack("<IQ", gtype, offset)


def pad(blob, alignment=32):
    return blob + b"\0" * ((alignment - len(blob) % alignment) % alignment)


def data(count, seed=0):
    return bytes((i * 7 + seed) % 251 for i in range(count))


def seeds():
    yield "valid_two_tensors", pad(
        header(2, 2) + kv("general.name", STRING, s("tiny")) +
        kv("tokenizer.ggml.tokens", ARRAY, struct.pack("<IQ", STRING, 2) + s("hi") + s("there")) +
        tensor("a", [3, 2], F32_T, 0) + tensor("b", [32, 1], Q8_0_T, 32)) + pad(data(24)) + data(34, 1)
    yield "valid_every_value_type", header(0, 13) + b"".join([
        kv("u8", U8, struct.pack("<B", 200)), kv("i8", I8, struct.pack("<b", -3)),
        kv("u16", U16, struct.pack("<H", 600)), kv("i16", I16, struct.pack("<h", -600)),
        kv("u32", U32, struct.pack("<I", 7)), kv("i32", I32, struct.pack("<i", -7)),
        kv("f32", F32, struct.pack("<f", 0.5)), kv("bool", BOOL, b"\x01"), kv("str", STRING, s("x")),
        kv("arr", ARRAY, struct.pack("<IQ", ARRAY, 1) + struct.pack("<IQ", U16, 2) + struct.pack("<HH", 1, 2)),
        kv("u64", U64, struct.pack("<Q", 1 << 40)), kv("i64", I64, struct.pack("<q", -1)),
        kv("f64", F64, struct.pack("<d", 2.0))])
    yield "valid_align64_v2", pad(
        header(2, 1, version=2) + kv("general.alignment", U32, struct.pack("<I", 64)) +
        tensor("x", [2, 2], F16_T, 0) + tensor("y", [4], BF16_T, 64), 64) + pad(data(8), 64) + data(8, 2)
    yield "valid_q4_k", pad(header(1, 0) + tensor("q", [256], Q4_K_T, 0)) + data(144, 3)
    yield "bad_overlap", pad(header(2, 0) + tensor("a", [16], F32_T, 0) + tensor("b", [4], F32_T, 32)) + data(64)
    yield "bad_misaligned", pad(header(1, 0) + tensor("a", [4], F32_T, 4)) + data(32)
    yield "bad_five_dims", pad(header(1, 0) + tensor("a", [1, 1, 1, 1, 1], F32_T, 0)) + data(4)
    yield "bad_nested_depth", header(0, 1) + kv("k", ARRAY, struct.pack("<IQ", ARRAY, 1) * 9 + struct.pack("<IQ", U8, 0))
    yield "bad_huge_count", header(0, 1) + kv("k", ARRAY, struct.pack("<IQ", STRING, 1 << 60) + s("a"))
    yield "bad_version_1", b"GGUF" + struct.pack("<IIIQ", 1, 0, 0, 0)


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, blob in seeds():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(blob)


if __name__ == "__main__":
    main()
