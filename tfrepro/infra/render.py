"""Animations of one evaluation episode (Géron and Meertens show these), with no display."""
from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np

from ..core.envs import make
from .records import atomic_write_bytes, save_figure


def episode_frames(env_id, policy, seed: int, max_steps: int | None = None):
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")  # pygame renders off-screen
    env = make(env_id, render_mode="rgb_array")
    rng = np.random.default_rng(seed)
    obs, _ = env.reset(seed=seed)
    frames = [env.render()]
    limit = max_steps or env.spec.max_episode_steps
    for _ in range(limit):
        action = int(policy(np.asarray(obs, np.float32)[None], rng)[0])
        obs, _, terminated, truncated, _ = env.step(action)
        frames.append(env.render())
        if terminated or truncated:
            break
    env.close()
    return frames


def save_gif(path, frames, fps: int = 30, scale: float = 0.5) -> int:
    """Write ``frames`` as an animated GIF (atomically); returns the number of frames."""
    from PIL import Image

    images = [Image.fromarray(f) for f in frames]
    if scale != 1:
        w, h = images[0].size
        images = [im.resize((int(w * scale), int(h * scale))) for im in images]
    buf = io.BytesIO()
    images[0].save(buf, format="GIF", save_all=True, append_images=images[1:],
                   duration=int(1000 / fps), loop=0)
    atomic_write_bytes(Path(path), buf.getvalue())
    return len(images)


def save_q_plot(path, q_trace, title="predicted Q(s, a)") -> None:
    """The source's figure: predicted Q of both actions per frame of one test episode."""

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    q = np.asarray(q_trace, float)
    fig, ax = plt.subplots(figsize=(7, 3.5))
    ax.plot(q[:, 0], label="left")
    ax.plot(q[:, 1], label="right")
    ax.set_xlabel("frame")
    ax.set_ylabel("predicted Q(s,a)")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    save_figure(fig, Path(path))
