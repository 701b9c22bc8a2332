"""train.py's chunks: a run split in resumed commands ends where an unbroken one does, and export writes
what the engine loads. Needs PyTorch (skipped without it)."""

import contextlib
import io
import os
import tempfile
import unittest

import _paths  # noqa: F401

try:
    import torch
except ImportError:
    torch = None


def train(run, *extra):
    import train as trainer
    with contextlib.redirect_stdout(io.StringIO()):  # the training log
        trainer.main(["--run", run, "--preset", "tiny", "--size", "32", "--batch", "2", "--threads", "1",
                      "--vae-steps", "2", "--log-every", "1", "--save-every", "1", "--warmup", "2", "--resume",
                      *extra])
    return torch.load(os.path.join(run, "checkpoint.pt"), map_location="cpu")


@unittest.skipIf(torch is None, "PyTorch is not installed (Debian: python3-torch)")
class ResumableTraining(unittest.TestCase):
    def test_resumed_chunks_end_where_an_unbroken_run_ends(self):
        with tempfile.TemporaryDirectory() as tmp:
            whole = train(os.path.join(tmp, "whole"), "--unet-steps", "3")
            train(os.path.join(tmp, "parts"), "--stage", "vae")
            train(os.path.join(tmp, "parts"), "--unet-steps", "1")
            parts = train(os.path.join(tmp, "parts"), "--unet-steps", "3")
        self.assertEqual((parts["vae_step"], parts["unet_step"]), (2, 3))
        self.assertAlmostEqual(parts["latent_scale"]["folded_factor"], whole["latent_scale"]["folded_factor"], places=5)
        for name in ("weights", "ema"):
            for key, value in whole[name].items():
                torch.testing.assert_close(parts[name][key], value, rtol=0, atol=0, msg=f"{name} {key}")

    def test_a_run_cannot_restart_over_its_checkpoint_without_resume(self):
        import train as trainer
        with tempfile.TemporaryDirectory() as tmp:
            train(os.path.join(tmp, "run"), "--stage", "vae")
            with self.assertRaises(SystemExit), contextlib.redirect_stdout(io.StringIO()):
                trainer.main(["--run", os.path.join(tmp, "run"), "--preset", "tiny", "--size", "32",
                              "--batch", "2", "--threads", "1"])


if __name__ == "__main__":
    unittest.main()
