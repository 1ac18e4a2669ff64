"""The one resize from a decoded photo of any size to the backbone's input, as built-in Keras layers.

The app (extraction, prediction) and the export bundle run these same layers, so the bundle's answers equal the
app's: the app decodes with Pillow (classifier.images.load_image) and runs `resize_image`; the bundle's model starts
with `resize_layers`. Bilinear resampling to SUPERSAMPLE x the side, then a SUPERSAMPLE x SUPERSAMPLE average: an
anti-aliased squash (aspect ratio not kept, as before) made only of ops that TFLite and ONNX also have (TF's
anti-aliased resize is not one of them). The average is a fixed strided convolution: TF's AvgPool is ~12x slower
on 3 channels.
"""

from functools import lru_cache

import numpy as np

# Part of the feature cache key (FeatureSpec.key): change it whenever the pixels reaching the backbone change.
PREPROCESSING_VERSION = "p2"  # p1: Pillow bilinear resize; p2: these layers
SUPERSAMPLE = 4


def resize_layers(size: int, name_suffix: str = "") -> list:
    """Fresh layers mapping (N, H, W, 3) uint8/float 0-255 of any H, W to float32 (N, size, size, 3) 0-255 (layer
    names end with name_suffix: a model resizing to two sizes holds two sets)."""
    import keras

    average = keras.layers.Conv2D(3, SUPERSAMPLE, strides=SUPERSAMPLE, use_bias=False, trainable=False,
                                  name=f"supersample{name_suffix}")
    average.build((None, None, None, 3))
    kernel = np.zeros((SUPERSAMPLE, SUPERSAMPLE, 3, 3), "float32")
    for channel in range(3):
        kernel[:, :, channel, channel] = 1 / SUPERSAMPLE**2
    average.set_weights([kernel])
    # Rescaling(1) casts to float32 first: on uint8, Resizing called eagerly rounds its output back to uint8.
    return [keras.layers.Rescaling(1.0, name=f"to_float{name_suffix}"),
            keras.layers.Resizing(size * SUPERSAMPLE, size * SUPERSAMPLE, interpolation="bilinear",
                                  antialias=False, name=f"resize{name_suffix}"), average]


@lru_cache(maxsize=None)
def resizer(size: int):
    """A compiled call of `resize_layers(size)` on one image (H, W, 3) -> (size, size, 3), built once per size."""
    import tensorflow as tf

    layers = resize_layers(size)

    @tf.function(input_signature=[tf.TensorSpec((None, None, 3), tf.uint8)], autograph=False)
    def resize(image):
        x = image[None]
        for layer in layers:
            x = layer(x)
        return x[0]

    return resize


def resize_image(image: np.ndarray, size: int) -> np.ndarray:
    """float32 (size, size, 3) from a decoded uint8 (H, W, 3) photo: what the backbone's preprocessing receives."""
    return resizer(size)(image).numpy()
