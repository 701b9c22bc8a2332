import json
import os
import tempfile
import unittest

import _paths
import data
import tokenizer

VOCAB_DIR = os.path.join(_paths.TOOL_DIR, "vocab")


class Vocabulary(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tk = tokenizer.Tokenizer.load(VOCAB_DIR)

    def test_the_committed_vocabulary_is_what_the_script_builds(self):
        with tempfile.TemporaryDirectory() as tmp:
            tokenizer.write(tmp, tokenizer.learn_merges(tokenizer.corpus(4000), 400))
            tokenizer.write_expected(tmp)
            for name in ("vocab.json", "merges.txt", "expected_ids.json"):
                with open(os.path.join(tmp, name), "rb") as a, open(os.path.join(VOCAB_DIR, name), "rb") as b:
                    self.assertEqual(a.read(), b.read(), f"{name} differs: rerun tokenizer.py")

    def test_layout_is_bytes_then_word_end_bytes_then_merges_then_the_two_specials(self):
        vocab = self.tk.vocab
        ids = sorted(vocab.values())
        self.assertEqual(ids, list(range(len(vocab))))
        by_id = {i: t for t, i in vocab.items()}
        self.assertEqual(by_id[0], "!")
        self.assertEqual(by_id[256], "!</w>")
        self.assertEqual(by_id[len(vocab) - 2], "<|startoftext|>")
        self.assertEqual(by_id[len(vocab) - 1], "<|endoftext|>")
        self.assertLess(len(vocab), 1000)
        with open(os.path.join(VOCAB_DIR, "merges.txt"), encoding="utf-8") as f:
            lines = f.read().splitlines()
        self.assertTrue(lines[0].startswith("#version"))
        for line in lines[1:]:
            left, right = line.split(" ")
            self.assertIn(left + right, vocab)

    def test_every_caption_word_is_one_token(self):
        words = set()
        for seed in range(500):
            words.update(data.make_scene("train", seed).caption.split())
        for word in sorted(words):
            self.assertEqual(len(self.tk.encode(word)), 1, word)

    def test_any_text_encodes_through_the_byte_tokens(self):
        ids = self.tk.encode("Zebra! 42 caf\u00e9 \u65e5\u672c")
        self.assertTrue(ids)
        by_id = {i: t for t, i in self.tk.vocab.items()}
        text = "".join(by_id[i].replace("</w>", " ") for i in ids)
        decoded = bytearray(next(b for b, c in tokenizer.BYTE_CHARS.items() if c == ch) if ch != " " else 32
                            for ch in text)
        self.assertEqual(decoded.decode("utf-8").split(), ["zebra", "!", "4", "2", "caf\u00e9", "\u65e5\u672c"])

    def test_padding_is_bos_ids_eos_then_eos(self):
        ids = self.tk.encode_padded("a red circle", 77)
        self.assertEqual(len(ids), 77)
        self.assertEqual(ids[0], self.tk.bos)
        self.assertEqual(ids[1:4], self.tk.encode("a red circle"))
        self.assertEqual(set(ids[4:]), {self.tk.eos})

    def test_expected_ids_for_the_engine_test_match_this_encoder(self):
        with open(os.path.join(VOCAB_DIR, "expected_ids.json"), encoding="utf-8") as f:
            cases = json.load(f)
        self.assertGreaterEqual(len(cases), 4)
        for case in cases:
            self.assertEqual(self.tk.encode(case["text"]), case["ids_no_special"])
            self.assertEqual(self.tk.encode_padded(case["text"]), case["input_ids_77"])


class MergeLearning(unittest.TestCase):
    def test_the_most_frequent_pair_merges_first_and_rare_pairs_never(self):
        merges = tokenizer.learn_merges(["ab ab ab cd"], max_merges=10, min_count=2)
        self.assertEqual(merges[0], ("a", "b</w>"))
        self.assertNotIn(("c", "d</w>"), merges)


if __name__ == "__main__":
    unittest.main()
