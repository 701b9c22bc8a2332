import json
import os
import struct
import tempfile
import unittest

import numpy as np

import _paths  # noqa: F401
import export


class SafetensorsWriter(unittest.TestCase):
    def test_header_offsets_and_data_round_trip(self):
        tensors = {"b.weight": np.arange(6, dtype=np.float16).reshape(2, 3),
                   "a.bias": np.array([1.5, -2.0, 3.25], dtype=np.float32)}
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "t.safetensors")
            export.write_safetensors(path, tensors, {"prediction_type": "epsilon"})
            with open(path, "rb") as f:
                blob = f.read()
        n = struct.unpack("<Q", blob[:8])[0]
        self.assertEqual((8 + n) % 8, 0)
        header = json.loads(blob[8:8 + n])
        self.assertEqual(header.pop("__metadata__"), {"prediction_type": "epsilon"})
        self.assertEqual(list(header), ["a.bias", "b.weight"])
        self.assertEqual(header["a.bias"], {"dtype": "F32", "shape": [3], "data_offsets": [0, 12]})
        self.assertEqual(header["b.weight"], {"dtype": "F16", "shape": [2, 3], "data_offsets": [12, 24]})
        data = blob[8 + n:]
        self.assertEqual(len(data), 24)
        np.testing.assert_array_equal(np.frombuffer(data[:12], "<f4"), tensors["a.bias"])
        np.testing.assert_array_equal(np.frombuffer(data[12:], "<f2").reshape(2, 3), tensors["b.weight"])

    def test_other_dtypes_are_refused(self):
        with tempfile.TemporaryDirectory() as tmp:
            with self.assertRaises(ValueError):
                export.write_safetensors(os.path.join(tmp, "t.safetensors"), {"x": np.zeros(2, np.int64)})


if __name__ == "__main__":
    unittest.main()
