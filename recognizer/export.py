"""Keras CNN -> ONNX graph, so the apps run it with ONNX Runtime and never import TensorFlow.

Importing TensorFlow costs seconds and a Keras call costs milliseconds; ONNX Runtime loads in a
fraction of a second and runs one digit in well under a millisecond. The exporter handles the
layers `cnn.build_model` uses and folds batch norm into the preceding convolution or dense layer.
Graph input: "images" (N, 28, 28) float32 in 0..1. Outputs: "probs" (N, 10) over the digits,
"single" (N,) the probability that the crop is one digit at all (1 - the reject class's share; 1
for a 10-class model) and "logits" (N, K) over all K classes. Two inner tensors keep fixed names
for the views that look inside: "features" (the penultimate activations) and "conv1" (the first
convolution's feature maps); `runtime.OnnxCnn.run` exposes them on request. They are not graph
outputs because ONNX Runtime then must keep them, unfused: that cost 64 digits 1-2 ms (25%).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from .preprocess import ADAPTATIONS

OPSET = 17


class _Graph:
    """Collects nodes and initializers while walking the Keras layers."""

    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self.count = 0

    def name(self, prefix: str) -> str:
        self.count += 1
        return f"{prefix}_{self.count}"

    def const(self, prefix: str, value: np.ndarray) -> str:
        name = self.name(prefix)
        self.inits.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def op(self, op_type: str, inputs: list[str], output: str | None = None, **attrs) -> str:
        out = output or self.name(op_type.lower())
        self.nodes.append(helper.make_node(op_type, inputs, [out], name=out, **attrs))
        return out


def _fold_bn(kernel: np.ndarray, bias: np.ndarray, bn_weights: list[np.ndarray], eps: float):
    """Fold y = gamma * (x - mean) / sqrt(var + eps) + beta into the kernel's last axis."""
    gamma, beta, mean, var = bn_weights
    scale = gamma / np.sqrt(var + eps)
    return kernel * scale, (bias - mean) * scale + beta


def _activation(g: _Graph, x: str, name: str) -> str:
    if name == "relu":
        return g.op("Relu", [x])
    if name in ("linear", None):
        return x
    if name == "softmax":
        return x  # the final softmax is applied once, after temperature scaling
    raise ValueError(f"activation {name!r} is not supported by the exporter")


def _columns(g: _Graph, x: str, start: int, stop: int) -> str:
    """x[:, start:stop]."""
    starts, ends, axes = (g.const("c", np.array([v], np.int64)) for v in (start, stop, 1))
    return g.op("Slice", [x, starts, ends, axes])


def _walk(g: _Graph, layers: list, x: str) -> tuple[str, str | None, str | None, str]:
    """Translate Keras layers onto `x` (NCHW): the output, the first convolution's maps, the
    input of the first dense layer (the penultimate features) and the layout at the end."""
    layout = "NCHW"
    conv1 = None
    features = None
    i = 0
    while i < len(layers):
        layer = layers[i]
        kind = layer.__class__.__name__
        nxt = layers[i + 1] if i + 1 < len(layers) else None
        bn = nxt if nxt is not None and nxt.__class__.__name__ == "BatchNormalization" else None
        if kind in ("Conv2D", "Dense"):
            weights = layer.get_weights()
            kernel = weights[0].astype(np.float32)
            bias = weights[1] if layer.use_bias else np.zeros(kernel.shape[-1], np.float32)
            if bn is not None:
                kernel, bias = _fold_bn(kernel, bias, bn.get_weights(), bn.epsilon)
                i += 1
            activation = layer.activation.__name__
            if kind == "Conv2D":
                w = g.const("W", np.transpose(kernel, (3, 2, 0, 1)).astype(np.float32))
                b = g.const("B", bias.astype(np.float32))
                kh, kw = kernel.shape[:2]
                pads = [kh // 2, kw // 2, kh // 2, kw // 2] if layer.padding == "same" else [0, 0, 0, 0]
                x = g.op("Conv", [x, w, b], kernel_shape=[kh, kw], pads=pads,
                         strides=list(layer.strides))
            else:
                if layout == "NCHW":
                    raise ValueError("Dense after a convolution needs Flatten or global pooling first")
                features = x
                w = g.const("W", kernel.astype(np.float32))
                b = g.const("B", bias.astype(np.float32))
                x = g.op("Gemm", [x, w, b])
            x = _activation(g, x, activation)
            if kind == "Conv2D" and conv1 is None:
                conv1 = x
        elif kind in ("Activation", "ReLU"):
            act = "relu" if kind == "ReLU" else layer.activation.__name__
            x = _activation(g, x, act)
        elif kind == "MaxPooling2D":
            pool, strides = list(layer.pool_size), list(layer.strides)
            x = g.op("MaxPool", [x], kernel_shape=pool, strides=strides)
        elif kind == "GlobalAveragePooling2D":
            x = g.op("GlobalAveragePool", [x])
            x = g.op("Flatten", [x], axis=1)
            layout = "flat"
        elif kind == "Flatten":
            x = g.op("Transpose", [x], perm=[0, 2, 3, 1])  # Keras flattens channels-last
            x = g.op("Flatten", [x], axis=1)
            layout = "flat"
        elif kind in ("Dropout", "SpatialDropout2D", "GaussianNoise"):
            pass  # inference-time identity
        elif kind == "Reshape" and layout == "NCHW":  # (N, C, 1, T) -> (N, T, C): a string's time steps
            x = g.op("Squeeze", [x, g.const("axes", np.array([2], np.int64))])
            x = g.op("Transpose", [x], perm=[0, 2, 1])
            layout = "steps"
        else:
            raise ValueError(f"layer {kind} is not supported by the exporter")
        i += 1
    return x, conv1, features, layout


def _model(g: _Graph, name: str, inputs: list, outputs: list, props: dict[str, str]) -> onnx.ModelProto:
    graph = helper.make_graph(g.nodes, name, inputs, outputs, g.inits)
    onnx_model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    onnx_model.ir_version = 8
    helper.set_model_props(onnx_model, props)
    onnx.checker.check_model(onnx_model)
    return onnx_model


def keras_to_onnx(model, temperature: float = 1.0, convention: Sequence[str] = ()) -> onnx.ModelProto:
    """Translate a Sequential Keras CNN (see cnn.build_model) to an ONNX model."""
    layers = [layer for layer in model.layers if layer.__class__.__name__ != "InputLayer"]
    g = _Graph()
    x = g.op("Unsqueeze", ["images", g.const("axes", np.array([1], np.int64))])
    x, conv1, features, _ = _walk(g, layers, x)
    logits = g.op("Div", [x, g.const("T", np.array(temperature, np.float32))], "logits")
    digits = _columns(g, logits, 0, 10)
    g.op("Softmax", [digits], "probs", axis=1)
    everything = g.op("Softmax", [logits], axis=1)
    g.op("ReduceSum", [_columns(g, everything, 0, 10), g.const("axes", np.array([1], np.int64))],
         "single", keepdims=0)
    g.op("Identity", [features], "features")
    g.op("Identity", [conv1], "conv1")
    return _model(
        g,
        "digit_cnn",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, ["N", 28, 28])],
        [
            helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["N", 10]),
            helper.make_tensor_value_info("single", TensorProto.FLOAT, ["N"]),
            helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", "K"]),
        ],
        {name: "1" if name in convention else "0" for name in ADAPTATIONS},  # the input convention
    )


def crnn_to_onnx(model) -> onnx.ModelProto:
    """Translate the string reader (see crnn.build_crnn) to ONNX: "strips" (N, H, W) float32 in
    0..1 -> "probs" (N, W / 4, 11), each time step's distribution over the digits and the blank."""
    layers = [layer for layer in model.layers if layer.__class__.__name__ != "InputLayer"]
    g = _Graph()
    x = g.op("Unsqueeze", ["strips", g.const("axes", np.array([1], np.int64))])
    x, _, _, layout = _walk(g, layers, x)
    if layout != "steps":
        raise ValueError("the string reader must end in a Reshape to (time steps, classes)")
    g.op("Softmax", [x], "probs", axis=2)
    height = int(model.input_shape[1])
    return _model(
        g,
        "digit_strings",
        [helper.make_tensor_value_info("strips", TensorProto.FLOAT, ["N", height, "W"])],
        [helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["N", "T", 11])],
        {},
    )


def save_onnx(model, path: str | Path, temperature: float = 1.0, convention: Sequence[str] = ()) -> Path:
    """Export `model` to `path` and return the path; `convention`: the steps of
    `preprocess.ADAPTATIONS` its training inputs went through (its inputs must be made so too)."""
    path = Path(path)
    onnx.save(keras_to_onnx(model, temperature, convention), str(path))
    return path
