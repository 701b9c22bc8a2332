"""The demo model's own CLIP-style BPE vocabulary, learnt from the demo captions.

Same conventions and files as CLIP's tokenizer (what native/src/text/clip_tokenizer.hpp reads):
text is lowercased and split into words (runs of letters, single digits, runs of other non-space
characters); each word's UTF-8 bytes are mapped to printable code points (GPT-2's byte map) and the last
symbol carries "</w>"; merges apply lowest rank first. The vocabulary is the 256 byte symbols, the same 256
with "</w>", one token per learnt merge, then "<|startoftext|>" and "<|endoftext|>" last, so any text
encodes, and the caption words become single tokens. Pure Python (stdlib).

    python3 tokenizer.py --out vocab/       # writes vocab/vocab.json and vocab/merges.txt
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
from typing import Dict, Iterable, List, Sequence, Tuple

START = "<|startoftext|>"
END = "<|endoftext|>"
END_OF_WORD = "</w>"

# CLIP's pre-tokenizer for the text the demo uses; Python's \w classes stand in for \p{L}/\p{N}.
_WORDS = re.compile(r"<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[^\W\d_]+|\d|(?:[^\s\w]|_)+")


def bytes_to_unicode() -> Dict[int, str]:
    """GPT-2's reversible byte -> printable character map, in CLIP's vocabulary order: the printable bytes
    first, then the others (which take code points from U+0100)."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAC + 1)) + list(range(0xAE, 0xFF + 1))
    mapping = {b: chr(b) for b in printable}
    extra = 0
    for b in range(256):
        if b not in mapping:
            mapping[b] = chr(256 + extra)
            extra += 1
    return mapping


BYTE_CHARS = bytes_to_unicode()


def words_of(text: str) -> List[str]:
    text = " ".join(text.split()).lower()
    return _WORDS.findall(text)


def symbols_of(word: str) -> Tuple[str, ...]:
    chars = [BYTE_CHARS[b] for b in word.encode("utf-8")]
    chars[-1] += END_OF_WORD
    return tuple(chars)


def learn_merges(texts: Iterable[str], max_merges: int = 400, min_count: int = 2) -> List[Tuple[str, str]]:
    """Greedy BPE: merge the most frequent adjacent pair until none occurs `min_count` times or
    `max_merges` are learnt. Ties go to the lexicographically smallest pair, so the result is
    deterministic."""
    counts: collections.Counter = collections.Counter()
    for text in texts:
        for word in words_of(text):
            if word not in (START, END):
                counts[symbols_of(word)] += 1
    words = dict(counts)
    merges: List[Tuple[str, str]] = []
    while len(merges) < max_merges:
        pairs: collections.Counter = collections.Counter()
        for symbols, count in words.items():
            for pair in zip(symbols, symbols[1:]):
                pairs[pair] += count
        if not pairs:
            break
        best_count = max(pairs.values())
        if best_count < min_count:
            break
        best = min(p for p, c in pairs.items() if c == best_count)
        merges.append(best)
        merged: Dict[Tuple[str, ...], int] = {}
        for symbols, count in words.items():
            out: List[str] = []
            i = 0
            while i < len(symbols):
                if i + 1 < len(symbols) and (symbols[i], symbols[i + 1]) == best:
                    out.append(symbols[i] + symbols[i + 1])
                    i += 2
                else:
                    out.append(symbols[i])
                    i += 1
            merged[tuple(out)] = merged.get(tuple(out), 0) + count
        words = merged
    return merges


def build_vocab(merges: Sequence[Tuple[str, str]]) -> Dict[str, int]:
    tokens = list(BYTE_CHARS.values())
    tokens += [t + END_OF_WORD for t in BYTE_CHARS.values()]
    tokens += ["".join(m) for m in merges]
    tokens += [START, END]
    vocab: Dict[str, int] = {}
    for token in tokens:
        if token in vocab:
            raise ValueError(f"merge result {token!r} is already a token")
        vocab[token] = len(vocab)
    return vocab


class Tokenizer:
    """Reference encoder for vocab.json + merges.txt (what the engine must reproduce)."""

    def __init__(self, vocab: Dict[str, int], merges: Sequence[Tuple[str, str]]):
        self.vocab = vocab
        self.ranks = {tuple(m): i for i, m in enumerate(merges)}
        self.pairs = [tuple(m) for m in merges]
        self.cache: Dict[str, List[str]] = {}
        self.bos = vocab[START]
        self.eos = vocab[END]

    @classmethod
    def load(cls, directory: str) -> "Tokenizer":
        with open(os.path.join(directory, "vocab.json"), encoding="utf-8") as f:
            vocab = json.load(f)
        merges = []
        with open(os.path.join(directory, "merges.txt"), encoding="utf-8") as f:
            for n, line in enumerate(f):
                line = line.rstrip("\n")
                if (n == 0 and line.startswith("#version")) or not line:
                    continue
                left, right = line.split(" ")
                merges.append((left, right))
        return cls(vocab, merges)

    def _bpe(self, word: str) -> List[str]:
        if word not in self.cache:
            self.cache[word] = self._merge(word)
        return self.cache[word]

    def _merge(self, word: str) -> List[str]:
        symbols = list(symbols_of(word))
        while len(symbols) > 1:
            ranked = [(self.ranks.get((a, b), None), i) for i, (a, b) in enumerate(zip(symbols, symbols[1:]))]
            ranked = [(r, i) for r, i in ranked if r is not None]
            if not ranked:
                break
            pair = self.pairs[min(r for r, _ in ranked)]
            out: List[str] = []
            i = 0
            while i < len(symbols):
                if i + 1 < len(symbols) and (symbols[i], symbols[i + 1]) == pair:
                    out.append(symbols[i] + symbols[i + 1])
                    i += 2
                else:
                    out.append(symbols[i])
                    i += 1
            symbols = out
        return symbols

    def encode(self, text: str) -> List[int]:
        """Ids without BOS/EOS."""
        ids: List[int] = []
        for word in words_of(text):
            if word in (START, END):
                ids.append(self.vocab[word])
            else:
                ids.extend(self.vocab[s] for s in self._bpe(word))
        return ids

    def encode_padded(self, text: str, length: int = 77) -> List[int]:
        """What SD 1.x feeds its text encoder: BOS, ids (truncated), EOS, EOS padding."""
        ids = [self.bos] + self.encode(text)[: length - 2] + [self.eos]
        return ids + [self.eos] * (length - len(ids))


def corpus(count: int = 4000) -> List[str]:
    """Captions from both splits: the vocabulary must cover held-out captions too (they use the same
    words, only in new combinations)."""
    import data  # the scene generator; imported here so the encoder above stays dependency-free
    texts = [data.make_scene("train", s).caption for s in range(count)]
    texts += [data.make_scene("heldout", s).caption for s in range(count // 4)]
    return texts


def write(directory: str, merges: Sequence[Tuple[str, str]]) -> Dict[str, int]:
    os.makedirs(directory, exist_ok=True)
    vocab = build_vocab(merges)
    with open(os.path.join(directory, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump(vocab, f, ensure_ascii=False, separators=(",", ":"))
    with open(os.path.join(directory, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n")
        for left, right in merges:
            f.write(f"{left} {right}\n")
    return vocab


# Texts whose reference ids the engine's tokenizer test compares with: demo captions, one held-out, and
# text outside the captions' words (capitals, punctuation, a digit, non-ASCII) that falls back to bytes.
CHECK_TEXTS = [
    "a red circle left of a blue square on a white background",
    "a small orange star in the top left corner on a cyan to black gradient background",
    "a large purple ring at the bottom",
    "A  Photo, of 3 cats! na\u00efve \u65e5\u672c",
    "",
]


def write_expected(directory: str) -> None:
    tk = Tokenizer.load(directory)
    cases = [{"text": t, "ids_no_special": tk.encode(t), "input_ids_77": tk.encode_padded(t)} for t in CHECK_TEXTS]
    with open(os.path.join(directory, "expected_ids.json"), "w", encoding="utf-8") as f:
        f.write("[\n" + ",\n".join(json.dumps(c, ensure_ascii=False) for c in cases) + "\n]\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "vocab"))
    parser.add_argument("--captions", type=int, default=4000)
    parser.add_argument("--max-merges", type=int, default=400)
    args = parser.parse_args()
    merges = learn_merges(corpus(args.captions), args.max_merges)
    vocab = write(args.out, merges)
    write_expected(args.out)
    print(f"{len(vocab)} tokens, {len(merges)} merges -> {args.out} (and the reference ids, expected_ids.json)")


if __name__ == "__main__":
    main()
