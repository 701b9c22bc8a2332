"""The engine's C ABI (native/include/native_diffusion.h) through ctypes, just what the demo tools need:
load a model, convert it to GGUF, generate images. Structs mirror the header field by field; each starts
with struct_size and is filled by the library's *_params_init first, so defaults are the library's.

    lib = Engine("artifacts/cmake/dev/native/libnativediffusion.so")
    with lib.load("demo.safetensors", tokenizer="vocab") as m:
        image = m.generate("a red circle on the left on a white background", width=64, height=64)
"""

from __future__ import annotations

import ctypes as C
import glob
import os
from typing import List, Optional

import numpy as np

DTYPES = {"f32": 0, "f16": 1, "q8_0": 15, "q4_0": 16}


class ModelParams(C.Structure):
    _fields_ = [("struct_size", C.c_uint32), ("path", C.c_char_p), ("vae_path", C.c_char_p),
                ("tokenizer_path", C.c_char_p), ("weight_type", C.c_int32), ("prediction", C.c_int),
                ("threads", C.c_uint32), ("backends", C.c_uint32), ("for_generation", C.c_int32)]


class ModelInfo(C.Structure):
    _fields_ = [("struct_size", C.c_uint32), ("family", C.c_int), ("family_name", C.c_char_p),
                ("layout", C.c_char_p), ("prediction", C.c_int), ("prediction_source", C.c_char_p),
                ("components", C.c_uint32), ("tokenizer_source", C.c_char_p), ("tensor_count", C.c_uint64),
                ("weight_bytes", C.c_uint64)]


class ConvertParams(C.Structure):
    _fields_ = [("struct_size", C.c_uint32), ("output_path", C.c_char_p), ("weight_type", C.c_int32),
                ("progress", C.c_void_p), ("progress_user_data", C.c_void_p), ("cancel", C.c_void_p),
                ("portable", C.c_int32)]


class GenerateParams(C.Structure):
    _fields_ = [("struct_size", C.c_uint32), ("prompt", C.c_char_p), ("negative_prompt", C.c_char_p),
                ("width", C.c_uint32), ("height", C.c_uint32), ("steps", C.c_uint32), ("cfg_scale", C.c_float),
                ("sampler", C.c_char_p), ("schedule", C.c_char_p), ("timestep_spacing", C.c_char_p),
                ("seed", C.c_uint64), ("rng", C.c_int), ("batch_count", C.c_uint32), ("clip_skip", C.c_uint32),
                ("init_image", C.c_void_p), ("strength", C.c_float), ("progress", C.c_void_p),
                ("progress_user_data", C.c_void_p), ("preview", C.c_void_p), ("preview_user_data", C.c_void_p),
                ("preview_interval", C.c_uint32), ("cancel", C.c_void_p)]


class Image(C.Structure):
    _fields_ = [("struct_size", C.c_uint32), ("width", C.c_uint32), ("height", C.c_uint32),
                ("channels", C.c_uint32), ("stride", C.c_size_t), ("pixels", C.POINTER(C.c_uint8)),
                ("seed", C.c_uint64)]


class EngineError(RuntimeError):
    pass


def find_library(repo: str) -> str:
    """The most recently built libnativediffusion.so under artifacts/cmake/*/native/."""
    found = glob.glob(os.path.join(repo, "artifacts", "cmake", "*", "native", "libnativediffusion.so"))
    if not found:
        raise FileNotFoundError(f"no libnativediffusion.so under {repo}/artifacts/cmake/*/native: build it first")
    return max(found, key=os.path.getmtime)


class Engine:
    def __init__(self, library: str):
        self.lib = C.CDLL(library)
        L = self.lib
        L.nd_last_error.restype = C.c_char_p
        L.nd_status_name.restype = C.c_char_p
        L.nd_model_load.argtypes = [C.c_void_p, C.POINTER(ModelParams), C.POINTER(C.c_void_p)]
        L.nd_model_free.argtypes = [C.c_void_p]
        L.nd_model_get_info.argtypes = [C.c_void_p, C.POINTER(ModelInfo)]
        L.nd_model_convert.argtypes = [C.c_void_p, C.POINTER(ConvertParams)]
        L.nd_generate.argtypes = [C.c_void_p, C.POINTER(GenerateParams), C.POINTER(C.c_void_p)]
        L.nd_images_count.argtypes = [C.c_void_p]
        L.nd_images_count.restype = C.c_size_t
        L.nd_images_get.argtypes = [C.c_void_p, C.c_size_t, C.POINTER(Image)]
        L.nd_images_free.argtypes = [C.c_void_p]

    def check(self, status: int, what: str) -> None:
        if status != 0:
            name = self.lib.nd_status_name(status).decode()
            raise EngineError(f"{what}: {name}: {self.lib.nd_last_error().decode(errors='replace')}")

    def load(self, path: str, tokenizer: Optional[str] = None, threads: int = 0,
             for_generation: bool = True) -> "Model":
        p = ModelParams()
        p.struct_size = C.sizeof(ModelParams)
        self.check(self.lib.nd_model_params_init(C.byref(p)), "nd_model_params_init")
        path_b = path.encode()
        tok_b = tokenizer.encode() if tokenizer else None
        p.path = path_b
        p.tokenizer_path = tok_b
        p.threads = threads
        p.for_generation = 1 if for_generation else 0
        handle = C.c_void_p()
        self.check(self.lib.nd_model_load(None, C.byref(p), C.byref(handle)), f"nd_model_load({path})")
        return Model(self, handle)


class Model:
    def __init__(self, engine: Engine, handle: C.c_void_p):
        self.engine = engine
        self.handle = handle

    def __enter__(self) -> "Model":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self.handle:
            self.engine.lib.nd_model_free(self.handle)
            self.handle = C.c_void_p()

    def info(self) -> dict:
        i = ModelInfo()
        i.struct_size = C.sizeof(ModelInfo)
        self.engine.check(self.engine.lib.nd_model_get_info(self.handle, C.byref(i)), "nd_model_get_info")
        return {"family": i.family_name.decode(), "layout": i.layout.decode(),
                "tokenizer": i.tokenizer_source.decode(), "tensors": i.tensor_count, "weight_bytes": i.weight_bytes}

    def convert(self, out: str, weight_type: str = "q8_0") -> None:
        p = ConvertParams()
        p.struct_size = C.sizeof(ConvertParams)
        self.engine.check(self.engine.lib.nd_convert_params_init(C.byref(p)), "nd_convert_params_init")
        out_b = out.encode()
        p.output_path = out_b
        p.weight_type = DTYPES[weight_type]
        self.engine.check(self.engine.lib.nd_model_convert(self.handle, C.byref(p)), f"nd_model_convert({out})")

    def generate(self, prompt: str, width: int = 64, height: int = 64, steps: int = 20, cfg: float = 5.0,
                 seed: int = 1, sampler: str = "euler_a", batch: int = 1,
                 timestep_spacing: Optional[str] = None) -> List[np.ndarray]:
        p = GenerateParams()
        p.struct_size = C.sizeof(GenerateParams)
        self.engine.check(self.engine.lib.nd_generate_params_init(C.byref(p)), "nd_generate_params_init")
        prompt_b, sampler_b = prompt.encode(), sampler.encode()
        p.prompt = prompt_b
        p.width, p.height, p.steps, p.cfg_scale, p.seed = width, height, steps, cfg, seed
        p.sampler = sampler_b
        spacing_b = timestep_spacing.encode() if timestep_spacing else None
        p.timestep_spacing = spacing_b
        p.batch_count = batch
        images = C.c_void_p()
        self.engine.check(self.engine.lib.nd_generate(self.handle, C.byref(p), C.byref(images)), "nd_generate")
        try:
            out = []
            for k in range(self.engine.lib.nd_images_count(images)):
                img = Image()
                img.struct_size = C.sizeof(Image)
                self.engine.check(self.engine.lib.nd_images_get(images, k, C.byref(img)), "nd_images_get")
                raw = np.ctypeslib.as_array(img.pixels, shape=(img.height * img.stride,))
                rows = raw.reshape(img.height, img.stride)[:, : img.width * 3]
                out.append(rows.reshape(img.height, img.width, 3).copy())
            return out
        finally:
            self.engine.lib.nd_images_free(images)


def main() -> None:
    import argparse
    here = os.path.dirname(os.path.abspath(__file__))
    p = argparse.ArgumentParser(description="Convert a model to a self-contained GGUF, or generate one image, "
                                            "through the engine's C ABI.")
    p.add_argument("--library", help="default: the newest artifacts/cmake/*/native/libnativediffusion.so")
    sub = p.add_subparsers(dest="command", required=True)
    c = sub.add_parser("convert")
    c.add_argument("model")
    c.add_argument("out")
    c.add_argument("--type", default="q8_0", choices=sorted(DTYPES))
    c.add_argument("--tokenizer", default=os.path.join(here, "vocab"))
    g = sub.add_parser("generate")
    g.add_argument("model")
    g.add_argument("prompt")
    g.add_argument("--out", default="out.png")
    g.add_argument("--tokenizer", default=None, help="vocab folder (a GGUF carries its own)")
    g.add_argument("--size", type=int, default=64)
    g.add_argument("--steps", type=int, default=20)
    g.add_argument("--cfg", type=float, default=5.0)
    g.add_argument("--seed", type=int, default=1)
    g.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    lib = Engine(args.library or find_library(os.path.dirname(os.path.dirname(here))))
    if args.command == "convert":
        with lib.load(args.model, tokenizer=args.tokenizer, for_generation=False) as m:
            m.convert(args.out, args.type)
        print(f"{args.type}: {os.path.getsize(args.out) / 1e6:.1f} MB -> {args.out}")
    else:
        import time
        from PIL import Image as PilImage
        with lib.load(args.model, tokenizer=args.tokenizer, threads=args.threads) as m:
            t0 = time.time()
            image = m.generate(args.prompt, width=args.size, height=args.size, steps=args.steps, cfg=args.cfg,
                               seed=args.seed)[0]
            seconds = time.time() - t0
        PilImage.fromarray(image).save(args.out)
        print(f"{seconds:.2f} s -> {args.out}")


if __name__ == "__main__":
    main()
