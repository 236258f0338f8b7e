"""``scipy.misc`` as the TF1 era's scripts used it (SciPy 1.2 and before): ``imresize``,
``imread``, ``imsave``, ``toimage``, ``bytescale`` (removed in SciPy 1.2-1.3, done with Pillow
as SciPy did them), ``comb``, ``factorial``, ``logsumexp`` (moved to ``scipy.special``). Each use
is noted for ``--report`` with what to write today."""
from __future__ import annotations

import numpy as np

from .migration import MAP, note

TODAY = {
    "imresize": "PIL.Image.fromarray(a).resize((w, h), Image.BILINEAR) (or skimage.transform.resize)",
    "imread": "imageio.v3.imread(path)", "imsave": "imageio.v3.imwrite(path, a)",
    "toimage": "PIL.Image.fromarray(bytescaled a)", "bytescale": "the formula: (a - min) * 255 / (max - min) + 0.5",
    "fromimage": "np.asarray(image)",
    "comb": "scipy.special.comb", "factorial": "scipy.special.factorial", "logsumexp": "scipy.special.logsumexp",
}


def bytescale(data, cmin=None, cmax=None, high=255, low=0):
    data = np.asarray(data)
    if data.dtype == np.uint8:
        return data
    cmin = data.min() if cmin is None else cmin
    cmax = data.max() if cmax is None else cmax
    scale = float(high - low) / ((cmax - cmin) or 1)
    return (((data - cmin) * scale + low).clip(low, high) + 0.5).astype(np.uint8)


def toimage(arr, high=255, low=0, cmin=None, cmax=None, pal=None, mode=None, channel_axis=None):
    from PIL import Image

    data = np.asarray(arr)
    if data.ndim == 2:
        if mode == "F":
            return Image.fromarray(data.astype(np.float32), mode="F")
        return Image.fromarray(bytescale(data, cmin, cmax, high, low), mode="L")
    if data.ndim != 3:
        raise ValueError("'arr' does not have a suitable array shape for any mode.")
    ca = channel_axis if channel_axis is not None else next(
        (i for i in (2, 0, 1) if data.shape[i] in (3, 4)), None)
    if ca is None:
        raise ValueError("Could not find channel dimension.")
    rgb = np.moveaxis(bytescale(data, cmin, cmax, high, low), ca, 2)
    return Image.fromarray(rgb, mode=mode or ("RGB" if rgb.shape[2] == 3 else "RGBA"))


def fromimage(im, flatten=False, mode=None):
    im = im.convert(mode) if mode else im
    a = np.array(im.convert("F") if flatten else im)
    return a


def imresize(arr, size, interp="bilinear", mode=None):
    im = toimage(arr, mode=mode)
    if isinstance(size, (int, np.integer)):
        size = tuple((np.array(im.size) * (size / 100.0)).astype(int))
    elif isinstance(size, (float, np.floating)):
        size = tuple((np.array(im.size) * size).astype(int))
    else:
        size = (size[1], size[0])
    resample = {"nearest": 0, "lanczos": 1, "bilinear": 2, "bicubic": 3, "cubic": 3}[interp]
    return np.array(im.resize(size, resample=resample))


def imread(name, flatten=False, mode=None):
    from PIL import Image

    with Image.open(name) as im:
        return fromimage(im, flatten=flatten, mode=mode)


def imsave(name, arr, format=None):  # noqa: A002 - SciPy's signature
    toimage(arr, channel_axis=2 if np.ndim(arr) == 3 else None).save(name, format)


def _noted(name, fn):
    def wrapper(*args, **kwargs):
        note(f"scipy.misc.{name}", "scipy")
        return fn(*args, **kwargs)

    wrapper.__name__ = wrapper.__qualname__ = name
    wrapper.__doc__ = fn.__doc__
    return wrapper


_DONE: list = []


def install():
    """Put the era's names back on ``scipy.misc`` (once)."""
    if _DONE:
        return
    _DONE.append(True)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            import scipy.misc as misc
            import scipy.special as special
        except ImportError:
            return
    own = {"imresize": imresize, "imread": imread, "imsave": imsave, "toimage": toimage, "bytescale": bytescale,
           "fromimage": fromimage, "comb": special.comb, "factorial": special.factorial,
           "logsumexp": special.logsumexp}
    for name, fn in own.items():
        if not hasattr(misc, name):
            MAP[f"scipy.misc.{name}"] = (f"{TODAY[name]} (SciPy removed scipy.misc.{name})", None)
            setattr(misc, name, _noted(name, fn))
