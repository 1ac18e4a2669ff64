"""Inference-only rewrites of a backbone that keep its function: BatchNorm folding and bfloat16."""

import numpy as np

_CONV_TYPES = ("Conv2D", "DepthwiseConv2D")


def _foldable_pairs(model) -> dict:
    """{conv layer name: the BatchNorm layer that alone consumes its output}."""
    pairs = {}
    for layer in model.layers:
        if type(layer).__name__ != "BatchNormalization" or len(layer._inbound_nodes) != 1:
            continue
        producer = layer._inbound_nodes[0].input_tensors[0]._keras_history.operation
        if type(producer).__name__ in _CONV_TYPES and len(producer._outbound_nodes) == 1:
            pairs[producer.name] = layer
    return pairs


def _folded_weights(conv, bn) -> list:
    """Kernel and bias of conv followed by bn, as one conv: w * s, (b - mean) * s + beta, s = gamma/sqrt(var+eps)."""
    weights = {v.path.split("/")[-1]: np.asarray(v.numpy(), dtype="float64") for v in bn.weights}
    scale = weights.get("gamma", 1.0) / np.sqrt(weights["moving_variance"] + bn.epsilon)
    shift = weights.get("beta", 0.0) - weights["moving_mean"] * scale
    kernel = np.asarray(conv.kernel.numpy(), dtype="float64")
    bias = np.asarray(conv.bias.numpy(), dtype="float64") if conv.use_bias else 0.0
    if type(conv).__name__ == "DepthwiseConv2D":  # kernel (kh, kw, in, multiplier): output channel = in * mult + m
        kernel = kernel * scale.reshape(kernel.shape[2], kernel.shape[3])
    else:
        kernel = kernel * scale
    return [kernel.astype("float32"), (bias * scale + shift).astype("float32")]


def optimise_for_inference(model, *, fold_batchnorm: bool = True, dtype: str = "float32"):
    """A copy of `model` with BatchNorm folded into its convolutions and every layer in `dtype`."""
    import keras

    pairs = _foldable_pairs(model) if fold_batchnorm else {}
    folded_bns = {bn.name for bn in pairs.values()}

    def clone(layer):
        if layer.name in folded_bns:
            return layer  # never called: `call` below skips it
        config = layer.get_config()
        config["dtype"] = dtype
        if layer.name in pairs:
            config["use_bias"] = True
        return layer.__class__.from_config(config)

    def call(layer, *args, **kwargs):
        return args[0] if layer.name in folded_bns else layer(*args, **kwargs)

    clone_ = keras.models.clone_model(model, clone_function=clone, call_function=call)
    for layer in model.layers:
        if layer.name in folded_bns or not layer.weights:
            continue
        new = clone_.get_layer(layer.name)
        new.set_weights(_folded_weights(layer, pairs[layer.name]) if layer.name in pairs else layer.get_weights())
    return clone_
