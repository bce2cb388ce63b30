"""Episode videos: one frame per control step, the agent's view beside a third-person overview,
with the task and the episode's progress written underneath.

A video is how a person checks that a task is what its JSON says and that an agent does what its
returns suggest, so the panel shows exactly what the agent is told (the goal and the visible
rules) and never more: a hidden rule is drawn as "[hidden rule]", decided by the rule's `hidden`
flag alone, so that watching a video cannot leak what the agent has to discover. Text building
(`task_lines`, `status_lines`) is kept apart from drawing so that this guarantee is testable
without looking at pixels.

Only Pillow (with its built-in font) and imageio's ffmpeg are used: no system fonts, no display.
"""

from __future__ import annotations

import functools
import os
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from worlds.task import Goal, Rule, Task

HIDDEN_RULE = "[hidden rule]"
DEFAULT_VIEW_SIZE = 256
FONT_SIZE = 13
MARGIN = 6
LINE_SPACING = 3

BACKGROUND = (24, 24, 28)
COLOURS: dict[str, tuple[int, int, int]] = {
    "goal": (255, 214, 90),
    "rule": (220, 220, 220),
    "hidden": (140, 140, 150),
    "status": (180, 210, 255),
    "reward": (110, 230, 120),
    "caption": (255, 255, 255),
}
REWARD_BORDER = (90, 220, 100)


class TextLine(NamedTuple):
    """One logical line of the panel; `kind` picks its colour (a key of COLOURS)."""

    text: str
    kind: str = "status"


@dataclass(frozen=True)
class StepStatus:
    """What changes from frame to frame. `action`/`reward` are None on the first frame of an
    episode, where no action has been taken yet."""

    step: int
    trial: int  # 0-based
    trials: int
    t_in_trial: int
    trial_steps: int
    trial_returns: tuple[float, ...]
    reward: float | None = None
    action: str | None = None
    goal_holds: bool = False
    episode: int | None = None  # 0-based, shown only when `episodes` is given
    episodes: int | None = None
    shown_by: str | None = None  # the demonstrator playing this trial (prompted episodes)


# ---- text ------------------------------------------------------------------------------------
def rule_text(rule: Rule) -> str:
    """A rule as the agent is told it: its content if visible, only a marker if hidden."""
    return HIDDEN_RULE if rule.hidden else str(rule)


def task_lines(goal: Goal, rules: Sequence[Rule]) -> list[TextLine]:
    """The goal and the rules, numbered; hidden rules never reveal their content."""
    lines = [TextLine(f"goal: {goal}", "goal")]
    if not rules:
        lines.append(TextLine("rules: none", "rule"))
    for i, rule in enumerate(rules):
        lines.append(TextLine(f"rule {i + 1}: {rule_text(rule)}",
                              "hidden" if rule.hidden else "rule"))
    return lines


def _num(x: float) -> str:
    return f"{x:g}"


def status_lines(s: StepStatus) -> list[TextLine]:
    """Progress through the episode: trial, step, last action, step reward, returns per trial."""
    head = f"trial {s.trial + 1}/{s.trials}   step {s.step} ({s.t_in_trial}/{s.trial_steps} " \
           "in trial)"
    if s.episodes is not None and s.episode is not None:
        head = f"episode {s.episode + 1}/{s.episodes}   " + head
    action = s.action if s.action is not None else "-"
    reward = _num(s.reward) if s.reward is not None else "-"
    returns = " ".join(_num(r) for r in s.trial_returns)
    demo = [] if s.shown_by is None else [
        TextLine(f"DEMONSTRATION: {s.shown_by} plays this trial, the agent only watches",
                 "goal")]
    return demo + [
        TextLine(head),
        TextLine(f"action: {action}   reward: {reward}   goal holds: "
                 f"{'yes' if s.goal_holds else 'no'}",
                 "reward" if (s.reward or 0) > 0 else "status"),
        TextLine(f"returns per trial: [{returns}]   total {_num(sum(s.trial_returns))}"),
    ]


def panel_lines(task: Task, status: StepStatus) -> list[TextLine]:
    return task_lines(task.game.goal, task.game.rules) + status_lines(status)


# ---- drawing ---------------------------------------------------------------------------------
@functools.lru_cache(maxsize=4)
def _font(size: int = FONT_SIZE) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    """Pillow's built-in font: scalable in Pillow >= 10.1, the fixed bitmap one otherwise."""
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1: no size argument
        return ImageFont.load_default()


def _text_width(font: ImageFont.ImageFont | ImageFont.FreeTypeFont, text: str) -> float:
    return float(font.getlength(text))


def _line_height(font: ImageFont.ImageFont | ImageFont.FreeTypeFont) -> int:
    top, bottom = font.getbbox("Ag(|)")[1::2]
    return int(bottom - top) + LINE_SPACING


def wrap_text(text: str, max_width: int, font: ImageFont.ImageFont | None = None) -> list[str]:
    """Greedy word wrap to `max_width` pixels; words longer than a line are split; continuation
    lines are indented so a wrapped rule still reads as one item."""
    font = font or _font()
    indent = "    "
    out: list[str] = []
    line = ""
    for word in text.split(" "):
        candidate = f"{line} {word}" if line else (indent + word if out else word)
        if _text_width(font, candidate) <= max_width:
            line = candidate
            continue
        if line:
            out.append(line)
            line = indent + word
        else:
            line = candidate
        while _text_width(font, line) > max_width and len(line) > len(indent) + 1:
            cut = len(line) - 1
            while cut > len(indent) + 1 and _text_width(font, line[:cut]) > max_width:
                cut -= 1
            out.append(line[:cut])
            line = indent + line[cut:]
    if line or not out:
        out.append(line)
    return out


def _wrapped(lines: Sequence[TextLine], width: int) -> list[TextLine]:
    font = _font()
    return [TextLine(part, ln.kind) for ln in lines
            for part in wrap_text(ln.text, width - 2 * MARGIN, font)]


def panel_height(lines: Sequence[TextLine], width: int) -> int:
    """Pixels needed to show `lines` wrapped to `width`: fix it once per episode so every
    frame of a video has the same size."""
    return 2 * MARGIN + _line_height(_font()) * len(_wrapped(lines, width))


def _upscale(img: np.ndarray, size: int) -> np.ndarray:
    """Nearest-neighbour resize to size x size: keeps the agent's pixels visibly pixels."""
    h, w = img.shape[:2]
    if (h, w) == (size, size):
        return img
    if size % h == 0 and size % w == 0:
        return np.repeat(np.repeat(img, size // h, axis=0), size // w, axis=1)
    return np.asarray(Image.fromarray(img).resize((size, size), Image.NEAREST))


def _caption(draw: ImageDraw.ImageDraw, xy: tuple[int, int], text: str) -> None:
    font = _font()
    w = int(_text_width(font, text)) + 6
    h = _line_height(font) + 2
    draw.rectangle((xy[0], xy[1], xy[0] + w, xy[1] + h), fill=(0, 0, 0))
    draw.text((xy[0] + 3, xy[1] + 1), text, font=font, fill=COLOURS["caption"])


def compose_frame(rgb: np.ndarray, overview: np.ndarray | None, lines: Sequence[TextLine], *,
                  view_size: int | None = None, height_of_panel: int | None = None,
                  rewarded: bool = False) -> np.ndarray:
    """One video frame (H, W, 3) uint8: the first-person view (upscaled, nearest) left, the
    overview right (if any), and `lines` wrapped into a panel below.

    `height_of_panel` fixes the panel's height (lines that do not fit are clipped); None sizes
    it to the text. `rewarded` draws a green border round the agent's view, so rewarded steps
    stand out while scrubbing.
    """
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"rgb: expected (H, W, 3), got {rgb.shape}")
    if view_size is None:
        view_size = overview.shape[0] if overview is not None else DEFAULT_VIEW_SIZE
    views = [_upscale(np.asarray(rgb, np.uint8), view_size)]
    if overview is not None:
        views.append(_upscale(np.asarray(overview, np.uint8), view_size))
    top = np.concatenate(views, axis=1)
    width = top.shape[1]
    wrapped = _wrapped(lines, width)
    ph = height_of_panel if height_of_panel is not None else panel_height(lines, width)
    img = Image.new("RGB", (width, view_size + ph), BACKGROUND)
    img.paste(Image.fromarray(top), (0, 0))
    draw = ImageDraw.Draw(img)
    if rewarded:
        draw.rectangle((0, 0, view_size - 1, view_size - 1), outline=REWARD_BORDER, width=3)
    _caption(draw, (4, 4), "agent view")
    if overview is not None:
        _caption(draw, (view_size + 4, 4), "overview")
    font, lh = _font(), _line_height(_font())
    y = view_size + MARGIN
    for ln in wrapped:
        draw.text((MARGIN, y), ln.text, font=font, fill=COLOURS.get(ln.kind, COLOURS["status"]))
        y += lh
    return np.asarray(img, np.uint8)


# ---- writing ---------------------------------------------------------------------------------
def _even(frame: np.ndarray) -> np.ndarray:
    """Pads to even height and width with black: yuv420p subsamples chroma 2x2, so x264 rejects
    odd sizes, and padding (unlike imageio's rescale) leaves every pixel where it was."""
    h, w = frame.shape[:2]
    if h % 2 == 0 and w % 2 == 0:
        return frame
    return np.pad(frame, ((0, h % 2), (0, w % 2), (0, 0)))


class Mp4Writer:
    """Streams frames into an H.264 MP4 (yuv420p, plays everywhere), atomically: frames go to
    a temporary file in the target's directory that replaces `path` only when the `with` block
    ends cleanly, so a crash or Ctrl-C never leaves a truncated video where a good one is
    expected. Streaming keeps memory flat for long episodes (a frame is ~0.7 MB)."""

    def __init__(self, path: str | os.PathLike[str], fps: float) -> None:
        if not fps > 0:
            raise ValueError(f"fps: {fps!r} must be > 0")
        self.path = Path(path)
        self.fps = fps
        self.frames = 0
        self._shape: tuple[int, ...] | None = None
        self._tmp: Path | None = None
        self._writer = None

    def __enter__(self) -> Mp4Writer:
        import imageio.v2 as imageio  # deferred: ffmpeg discovery is only needed here

        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.stem}.", suffix=".mp4",
                                   dir=self.path.parent)
        os.close(fd)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; a video should be readable as usual
        self._tmp = Path(tmp)
        # macro_block_size=2: frames are padded to even sizes, so imageio never rescales them
        self._writer = imageio.get_writer(tmp, format="FFMPEG", mode="I", fps=self.fps,
                                          codec="libx264", pixelformat="yuv420p",
                                          macro_block_size=2, ffmpeg_log_level="error")
        return self

    def append(self, frame: np.ndarray) -> None:
        if self._writer is None:
            raise RuntimeError("Mp4Writer.append: use the writer inside a `with` block")
        frame = np.asarray(frame)
        if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
            raise ValueError(f"frames[{self.frames}]: expected (H, W, 3) uint8, got "
                             f"{frame.shape} {frame.dtype}")
        if self._shape is None:
            self._shape = frame.shape
        elif frame.shape != self._shape:
            raise ValueError(f"frames[{self.frames}]: shape {frame.shape} differs from the "
                             f"first frame's {self._shape}; a video has one frame size")
        self._writer.append_data(_even(frame))
        self.frames += 1

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        assert self._tmp is not None and self._writer is not None
        try:
            self._writer.close()
            if exc_type is None and self.frames == 0:
                raise ValueError("frames: no frames to write")
            if exc_type is None:
                os.replace(self._tmp, self.path)
        finally:
            self._tmp.unlink(missing_ok=True)
            self._writer = None


def write_mp4(path: str | os.PathLike[str], frames: Iterable[np.ndarray], fps: float) -> int:
    """Writes `frames` to `path` as H.264 MP4, atomically (see `Mp4Writer`); returns the frame
    count. Odd frame sizes are padded by one black row/column."""
    with Mp4Writer(path, fps) as writer:
        for frame in frames:
            writer.append(frame)
    return writer.frames
