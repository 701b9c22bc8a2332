"""Tests that need PyTorch (skipped without it) and, for the engine comparison, the built library
(ND_LIBRARY, or the newest artifacts/cmake/*/native/libnativediffusion.so; skipped when there is none)."""

import json
import os
import re
import tempfile
import unittest

import numpy as np

import _paths

try:
    import torch
except ImportError:
    torch = None

FIXTURE_SHAPES = os.path.join(os.path.dirname(_paths.REPO), "shared", "fixtures", "sd15_original_tensor_shapes.json")


def pattern(name: str) -> str:
    return re.sub(r"\.\d+(?=\.)", ".N", name)


@unittest.skipIf(torch is None, "PyTorch is not installed (Debian: python3-torch)")
class ModelNames(unittest.TestCase):
    def test_every_weight_has_an_sd15_original_name_pattern_and_rank(self):
        if not os.path.exists(FIXTURE_SHAPES):
            self.skipTest(f"{FIXTURE_SHAPES} is missing")
        import model as demo
        with open(FIXTURE_SHAPES, encoding="utf-8") as f:
            reference = json.load(f)
        ranks = {}
        for name, shape in reference.items():
            ranks.setdefault(pattern(name), set()).add(len(shape))
        weights = demo.DemoModel(demo.DemoConfig()).state_dict()
        for name, tensor in weights.items():
            self.assertIn(pattern(name), ranks, name)
            self.assertIn(tensor.dim(), ranks[pattern(name)], name)
        for prefix in ("model.diffusion_model.", "first_stage_model.", "cond_stage_model.transformer.text_model."):
            self.assertTrue(any(n.startswith(prefix) for n in weights), prefix)

    def test_the_default_model_fits_in_20_mb_as_q8_0_and_channels_suit_the_engine(self):
        import model as demo
        c = demo.DemoConfig()
        net = demo.DemoModel(c)
        self.assertLess(demo.count_parameters(net) * 34 / 32, 20e6)
        self.assertEqual(c.text_width % 64, 0)
        for width in [c.unet_channels * m for m in c.unet_mult] + [c.vae_channels * m for m in c.vae_mult]:
            self.assertEqual(width % 32, 0)
            self.assertEqual(width % 8, 0)
        self.assertEqual(2 ** (len(c.vae_mult) - 1), 8)

    def test_folding_the_latent_scale_scales_latents_and_keeps_decoding(self):
        import model as demo
        torch.manual_seed(0)
        vae = demo.AutoencoderKL(demo.DemoConfig()).eval()
        x = torch.rand(1, 3, 32, 32) * 2 - 1
        with torch.no_grad():
            mean, logvar = vae.encode(x)
            image = vae.decode(mean)
            vae.fold_latent_scale(4.0)
            mean2, logvar2 = vae.encode(x)
            image2 = vae.decode(mean2)
        torch.testing.assert_close(mean2, mean * 4.0, rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(logvar2, logvar + 2 * np.log(4.0), rtol=1e-4, atol=1e-4)
        torch.testing.assert_close(image2, image, rtol=1e-4, atol=1e-4)


def find_library():
    if os.environ.get("ND_LIBRARY"):
        return os.environ["ND_LIBRARY"]
    import engine
    try:
        return engine.find_library(_paths.REPO)
    except FileNotFoundError:
        return None


@unittest.skipIf(torch is None, "PyTorch is not installed (Debian: python3-torch)")
class EngineAgreement(unittest.TestCase):
    """A random demo model exported to safetensors: the engine's image of one Euler step (text encoder,
    UNet, VAE decoder) equals PyTorch's within one level, and a deliberately wrong PyTorch GEGLU does
    not (so the comparison can fail)."""

    def test_engine_generates_what_pytorch_computes_from_the_exported_file(self):
        library = find_library()
        if library is None:
            self.skipTest("no built libnativediffusion.so (set ND_LIBRARY)")
        import check_engine
        import engine
        import export
        import model as demo
        from tokenizer import Tokenizer
        torch.manual_seed(3)
        config = demo.DemoConfig()
        state = {"weights": demo.DemoModel(config).state_dict(), "config": config.to_dict(), "unet_step": 0}
        tensors = export.checkpoint_tensors(state)
        net = demo.DemoModel(config).eval()
        net.load_state_dict({k: torch.from_numpy(v.astype(np.float32)) for k, v in tensors.items()})
        tokenizer = Tokenizer.load(os.path.join(_paths.TOOL_DIR, "vocab"))
        prompt = "a blue star at the top on a white background"
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "random.safetensors")
            export.write_safetensors(path, tensors, {"prediction_type": "epsilon"})
            with engine.Engine(library).load(path, tokenizer=os.path.join(_paths.TOOL_DIR, "vocab"), threads=1) as m:
                self.assertEqual(m.info()["family"], "SD 1.x")
                got = m.generate(prompt, width=64, height=64, steps=1, cfg=1.0, seed=7, sampler="euler",
                                 timestep_spacing="trailing")[0]
        ref = check_engine.reference_image(net, tokenizer, prompt, 64, 7)
        self.assertGreater(ref.std(), 10.0)  # a structured image, not a flat one that anything would match
        self.assertLessEqual(int(np.abs(got.astype(int) - ref.astype(int)).max()), 1)

        original = demo.GEGLU.forward
        try:
            demo.GEGLU.forward = lambda self, x: (lambda v, g: g * torch.nn.functional.gelu(v))(*self.proj(x).chunk(2, -1))
            wrong = check_engine.reference_image(net, tokenizer, prompt, 64, 7)
        finally:
            demo.GEGLU.forward = original
        self.assertGreater(int(np.abs(got.astype(int) - wrong.astype(int)).max()), 4)


if __name__ == "__main__":
    unittest.main()
