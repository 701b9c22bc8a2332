"""Writes a training checkpoint as an SD 1.x original-layout single-file .safetensors (F16), which the
engine loads as it is, or converts into the self-contained GGUF that ships:

    python3 export.py --run runs/demo --out demo.safetensors
    nd convert demo.safetensors -o demo.gguf --type q8_0 --tokenizer vocab/
    python3 export.py --run runs/demo --out demo.safetensors --gguf demo.gguf   # the same through the C ABI

The UNet and text encoder weights are the EMA (when the unet stage has run), the VAE the trained one.
The safetensors writer is the format itself (an 8-byte little-endian header length, a JSON header, raw
little-endian data), so no package beyond PyTorch is needed.
"""

from __future__ import annotations

import argparse
import json
import os
import struct
import sys
from typing import Dict, Optional, Sequence

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

_DTYPES = {np.dtype(np.float16): "F16", np.dtype(np.float32): "F32"}


def write_safetensors(path: str, tensors: Dict[str, np.ndarray], metadata: Optional[Dict[str, str]] = None) -> None:
    """Tensors in name order, each C-contiguous little-endian; the header is padded with spaces to a
    multiple of 8 bytes, as the format recommends."""
    header: Dict[str, object] = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    offset = 0
    blobs = []
    for name in sorted(tensors):
        array = np.ascontiguousarray(tensors[name])
        if array.dtype not in _DTYPES:
            raise ValueError(f"tensor {name!r}: dtype {array.dtype} is not written")
        blob = array.astype(array.dtype.newbyteorder("<"), copy=False).tobytes()
        header[name] = {"dtype": _DTYPES[array.dtype], "shape": list(array.shape),
                        "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)
    os.replace(tmp, path)


def checkpoint_tensors(state: Dict, use_ema: bool = True) -> Dict[str, np.ndarray]:
    weights = dict(state["weights"])
    if use_ema and state.get("ema") and state.get("unet_step", 0) > 0:
        weights.update(state["ema"])
    out = {}
    for name, tensor in weights.items():
        if not tensor.dtype.is_floating_point:
            continue
        out[name] = tensor.detach().cpu().float().numpy().astype(np.float16)
    return out


def main(argv: Optional[Sequence[str]] = None) -> None:
    import torch

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run", required=True, help="the training folder (its checkpoint.pt)")
    p.add_argument("--out", required=True, help="the .safetensors to write")
    p.add_argument("--no-ema", action="store_true", help="write the raw weights instead of the EMA")
    p.add_argument("--gguf", help="also convert to this self-contained GGUF through the engine's C ABI "
                                  "(what `nd convert` does), with the vocabulary embedded")
    p.add_argument("--type", default="q8_0", choices=["q8_0", "f16"], help="GGUF weight type")
    p.add_argument("--tokenizer", default=os.path.join(HERE, "vocab"))
    p.add_argument("--library", help="libnativediffusion.so; default: the newest under artifacts/cmake/*/native")
    args = p.parse_args(argv)
    state = torch.load(os.path.join(args.run, "checkpoint.pt"), map_location="cpu")
    tensors = checkpoint_tensors(state, not args.no_ema)
    metadata = {
        "prediction_type": "epsilon",
        "modelspec.title": "NativeDiffusion demo model",
        "nd.demo.config": json.dumps(state["config"]),
        "nd.demo.vae_steps": str(state["vae_step"]),
        "nd.demo.unet_steps": str(state["unet_step"]),
    }
    write_safetensors(args.out, tensors, metadata)
    size = os.path.getsize(args.out)
    print(f"{len(tensors)} tensors, {sum(t.size for t in tensors.values())} parameters, "
          f"{size / 1e6:.1f} MB -> {args.out}")
    if args.gguf:
        import engine
        lib = engine.Engine(args.library or engine.find_library(os.path.dirname(os.path.dirname(HERE))))
        with lib.load(args.out, tokenizer=args.tokenizer, for_generation=False) as m:
            m.convert(args.gguf, args.type)
        print(f"{args.type} GGUF, {os.path.getsize(args.gguf) / 1e6:.1f} MB -> {args.gguf}")


if __name__ == "__main__":
    main()
