"""Grad-CAM (Selvaraju et al. 2017): where in a photo the evidence for a class lies, from the activations of the
backbone's last convolution block.

Works on a Predictor of either recipe: `article` heads read the backbone's output maps (the last block's
output) or its pooled output (then the activations are taken before the backbone's pooling); `recommended`
heads start with the backbone's last block themselves (maps at its input -> last block -> global average
pooling -> Dense), so there the activations are taken just before that pooling.
"""

import io

import numpy as np
from PIL import Image, ImageOps

from classifier.features import model_input
from classifier.images import _read, _to_rgb, load_image, open_image

OVERLAY_ALPHA = 0.45  # share of the heatmap colour in the overlay
OVERLAY_MAX_SIDE = 1024  # the overlay PNG is at most this wide/high (the heatmap itself is at full size)
# A blue -> cyan -> yellow -> red ramp (like "jet"), positions 0..1 -> RGB.
_RAMP_AT = (0.0, 0.35, 0.65, 1.0)
_RAMP_RGB = ((0, 0, 160), (0, 200, 255), (255, 230, 0), (220, 0, 0))


def _without_pooling(model):
    """A nested backbone or last block (a keras.Model ending in global pooling) cut before that pooling:
    (the cut model, the pooling layer). A last block whose pooled output also carries mid-level taps
    (Backbone.top_taps: Concatenate of their pooled activations and the final pooling) is cut before the final
    pooling; the taps, which do not depend on the last maps, become constants of the returned pooling."""
    import keras

    pool = model.layers[-1]
    if not isinstance(pool, keras.layers.Concatenate):
        return keras.Model(model.input, pool.input, name=f"{model.name}_maps"), pool
    *taps, last = pool.input
    final_pool = next(layer for layer in model.layers if layer.output is last)
    cut = keras.Model(model.input, [final_pool.input, *taps], name=f"{model.name}_maps")
    return cut, _TapsThenPool(final_pool)


class _TapsThenPool:
    """Called on [maps, *pooled taps]: the last block's Concatenate of the taps and the maps' pooling."""

    def __init__(self, pool):
        self.pool = pool

    def __call__(self, inputs, **kwargs):
        import keras

        maps, *taps = inputs
        return keras.ops.concatenate([*taps, self.pool(maps)], axis=-1)


def _split_model(predictor):
    """(trunk: raw image -> last conv activations, rest: activations -> input of the final Dense, final Dense).

    Predictor.model is Input -> feature model -> head (classifier.model_io.build_full_model); the head's last
    layer is the Dense softmax in both recipes. The activations are the last block's output maps: the feature
    model's output (article, maps), the backbone's before its pooling (article, pooled), or those of the last
    block the head carries, before its pooling (recommended)."""
    import keras

    model = predictor.model
    if len(model.inputs) > 1:
        return _split_views(model)
    features, head = model.layers[1], model.layers[2]
    final = head.layers[-1]
    image = keras.Input(model.input.shape[1:], name="image")
    nested = [layer for layer in head.layers if isinstance(layer, keras.Model)]
    if nested:  # recommended: the head starts with the last block
        top_block = nested[0]
        conv, pool = _without_pooling(top_block)
        trunk = keras.Model(image, conv(features(image)), name="gradcam_trunk")
        after = [pool] + head.layers[head.layers.index(top_block) + 1:-1]  # e.g. Dropout (inactive at inference)
    elif len(features.output.shape) == 4:  # article on maps: the backbone's output is the last block's
        trunk = features
        after = None
    else:  # article on pooled features: cut the backbone before its pooling
        x, after = image, []
        for layer in features.layers[1:]:
            if isinstance(layer, keras.Model):
                conv, pool = _without_pooling(layer)
                x = conv(x)
                after.append(pool)
            elif after:
                after.append(layer)  # the float32 "features" cast
            else:
                x = layer(x)
        trunk = keras.Model(image, x, name="gradcam_trunk")
        after += [layer for layer in head.layers[1:-1]]
    if after is None:
        return trunk, keras.Model(head.input, final.input, name="gradcam_rest"), final
    outputs = trunk.output if isinstance(trunk.output, (list, tuple)) else [trunk.output]  # maps, then any taps
    inputs = model_input([keras.Input(o.shape[1:], name=f"activations_{i}") for i, o in enumerate(outputs)])
    x = inputs
    for layer in after:
        x = layer(x)
    return trunk, keras.Model(inputs, x, name="gradcam_rest"), final


def _split_views(model):
    """_split_model for a recommended head of several views (the same photo at several input sizes, pooled
    features side by side): the evidence is mapped on the main view. The trunk also returns the other views'
    pooled features, which the rest takes as constants."""
    import keras

    head = model.layers[-1]
    final = head.layers[-1]
    features = {layer.input.shape[1]: layer for layer in model.layers[:-1] if isinstance(layer, keras.Model)}
    blocks = [layer for layer in head.layers if isinstance(layer, keras.Model)]  # one last block per view
    images = [keras.Input(i.shape[1:], name=f"image_{n}") for n, i in enumerate(model.inputs)]
    conv, pool = _without_pooling(blocks[0])
    main = conv(features[images[0].shape[1]](images[0]))
    main = main if isinstance(main, (list, tuple)) else [main]  # maps, then any taps
    others = [block(features[image.shape[1]](image)) for block, image in zip(blocks[1:], images[1:])]
    trunk = keras.Model(images, [*main, *others], name="gradcam_trunk")

    inputs = [keras.Input(o.shape[1:], name=f"activations_{i}") for i, o in enumerate(trunk.outputs)]
    pooled = pool(model_input(inputs[:len(main)]))
    x = keras.layers.Concatenate()([pooled, *inputs[len(main):]])
    for layer in head.layers[head.layers.index(head.get_layer("views")) + 1:-1]:  # e.g. Dropout
        x = layer(x)
    return trunk, keras.Model(inputs, x, name="gradcam_rest"), final


def _gradcam_parts(predictor):
    """Built once per Predictor (the worker keeps its predictors warm) and kept on it."""
    parts = getattr(predictor, "_gradcam_parts", None)
    if parts is None:
        parts = predictor._gradcam_parts = _split_model(predictor)
    return parts


def class_activation_map(predictor, image: np.ndarray | list[np.ndarray],
                         class_index: int | None = None) -> tuple[np.ndarray, int, np.ndarray]:
    """Grad-CAM on one model-sized image (S, S, 3) 0-255, or for a model of several views the list of the photo's
    views (Predictor.resized; the map is of the first): (map on the activation grid, float32 0..1; the class
    explained, by default the predicted one; the class probabilities). Gradients are of the class's logit (the
    score before softmax), so a confident prediction does not saturate them."""
    import tensorflow as tf

    trunk, rest, final = _gradcam_parts(predictor)
    views = [v[None].astype("float32") for v in (image if isinstance(image, list) else [image])]
    outputs = trunk(model_input(views), training=False)
    activations, *taps = outputs if isinstance(outputs, (list, tuple)) else [outputs]  # taps: constants here
    activations = tf.convert_to_tensor(activations)
    with tf.GradientTape() as tape:
        tape.watch(activations)
        logits = tf.matmul(rest([activations, *taps] if taps else activations, training=False),
                           final.kernel) + final.bias
        probabilities = tf.nn.softmax(logits)
        if class_index is None:
            class_index = int(tf.argmax(probabilities[0]))
        score = logits[0, class_index]
    gradients = tape.gradient(score, activations)[0]
    channel_weights = tf.reduce_mean(gradients, axis=(0, 1))  # one weight per channel: mean gradient
    cam = tf.nn.relu(tf.reduce_sum(activations[0] * channel_weights, axis=-1)).numpy().astype("float32")
    peak = float(cam.max())
    cam = cam / peak if peak > 0 else np.zeros_like(cam)
    return cam, class_index, probabilities[0].numpy()


def _photo(source) -> Image.Image:
    """The photo as people see it: decoded, EXIF-oriented, RGB, original size."""
    data, name = _read(source, None)
    with open_image(data, name) as image:
        image.load()
        return _to_rgb(ImageOps.exif_transpose(image))


def colorize(heatmap: np.ndarray) -> np.ndarray:
    """uint8 (H, W, 3) colours of a 0..1 map."""
    return np.stack([np.interp(heatmap, _RAMP_AT, [c[i] for c in _RAMP_RGB]) for i in range(3)],
                    axis=-1).astype("uint8")


def overlay_png(photo: Image.Image, heatmap: np.ndarray, *, alpha: float = OVERLAY_ALPHA,
                max_side: int = OVERLAY_MAX_SIDE) -> bytes:
    """PNG of the heatmap's colours blended over the photo (shrunk to at most max_side)."""
    colours = Image.fromarray(colorize(heatmap))
    blended = Image.blend(photo, colours, alpha)
    blended.thumbnail((max_side, max_side), Image.BILINEAR)
    out = io.BytesIO()
    blended.save(out, "PNG")
    return out.getvalue()


def gradcam(predictor, source, class_index: int | None = None) -> dict:
    """Grad-CAM of one photo (path or bytes): `heatmap` float32 (H, W) 0..1 at the photo's original (EXIF-
    oriented) size, `overlay_png` (bytes), the explained class's `class_index`, `label` and `probability`.
    ImageError for a photo that cannot be read."""
    photo = _photo(source)
    views = predictor.resized(load_image(source))  # the pixels the model sees, as in Predictor
    cam, class_index, probabilities = class_activation_map(predictor, views, class_index)
    heatmap = np.asarray(Image.fromarray(cam).resize(photo.size, Image.BILINEAR), dtype="float32")
    heatmap = np.clip(heatmap, 0.0, 1.0)
    return {"heatmap": heatmap, "overlay_png": overlay_png(photo, heatmap), "class_index": class_index,
            "label": predictor.class_names[class_index], "probability": float(probabilities[class_index])}
