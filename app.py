#!/usr/bin/env python
"""Draw digits with the mouse and watch the number being read live (Pygame UI only).

The window comes up first; the model loads in a background thread and every reading runs in a
worker thread, so the UI loop never waits on the model. The canvas is kept as strokes
(`recognizer.strokes.Drawing`) and rendered for the recognizer at a fixed logical size, so a
reading does not depend on the window size. `--replay` posts real pygame mouse events through the
same handler a user's mouse goes through.

    python app.py [--model cnn|svc] [--speak]
    python app.py --replay STROKES.json [--headless] [--json]
"""

from __future__ import annotations

import time

START = time.perf_counter()  # before the heavy imports: "window up" is measured from here

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
import traceback  # noqa: E402
from collections import deque  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402

WINDOW_SIZE = (1120, 660)  # fits a 1280x720 screen with the window frame
MIN_WINDOW = (640, 420)  # below this the panels no longer fit
PANEL_MIN_H = 420  # the probability panel's height under the canvas in a tall window: bars and model input
READING_MIN_W = 300  # the reading's width beside the canvas in a wide window
LAYOUT_GAIN = 1.15  # another arrangement is used only for a canvas this much larger than beside the panel
FPS_CAP = 120  # twice the 60 fps target: headroom for slow frames, idle CPU stays low
LIVE_INTERVAL = 0.12  # s between live readings while the pen is down (the worker is ~10-40 ms busy)
LOW_CONFIDENCE = 0.7  # below this a digit is shown as unsure (amber, with "?") instead of as an answer
SMALL_INK = 3.0  # pen widths of box height (ink + ~6 px): a digit less tall is mostly pen, filled in, so
# its reading is a guess (a digit drawn 28 px tall gets a 54 px box, one drawn 40 px tall 66 px)
SPEAK_DELAY = 0.8  # s of calm after pen-up before speaking, so a number is spoken once, not per stroke
PEN_LIFT_S = 0.15  # paced replays: a hand needs ~0.15 s to lift the pen and move to the next stroke
WAIT_YIELD = 0.001  # s slept per frame while waiting on a thread: an uncapped loop (--fps 0) would starve
# the loader and the worker of the GIL (each of their file reads then waits a whole switch interval)
REPLAY_TIMEOUT = 30.0  # s to wait for the model and the reading in --replay before giving up
MARGIN = 14

PAPER = (250, 249, 244)
INK = (22, 26, 48)
BG = (34, 38, 52)
PANEL = (44, 49, 66)
TEXT = (232, 234, 240)
DIM = (150, 156, 175)
GOOD = (110, 210, 140)
UNSURE = (245, 180, 60)
BAD = (240, 100, 90)
ACCENT = (120, 170, 255)

HELP = [
    ("left drag", "draw"),
    ("right drag", "erase"),
    ("E", "pen / eraser for the left button"),
    ("C", "clear the canvas"),
    ("Ctrl+Z", "undo the last stroke or clear; on an image: back"),
    ("Tab / arrows", "select the digit shown on the right"),
    ("M", "switch model: CNN / SVC baseline"),
    ("I", "what the CNN sees: conv1 feature maps"),
    ("S", "save the drawing and its reading as PNG"),
    ("drop a file", "read an image; clears the canvas (undoable)"),
    ("H", "show / hide this help"),
    ("Esc", "close help, else quit"),
]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Draw digits with the mouse; the number is read live.")
    # recognizer.reader.MODEL_NAMES, spelled out: importing the package here would delay the window
    p.add_argument("--model", choices=("cnn", "ensemble", "svc"), default="cnn",
                   help="model to start with (M toggles it with the SVC baseline)")
    p.add_argument("--speak", action="store_true", help="speak each reading (needs espeak-ng or espeak)")
    p.add_argument("--replay", metavar="STROKES.json",
                   help="draw these strokes as mouse events, read, report")
    p.add_argument("--headless", action="store_true",
                   help="with --replay: no display (SDL dummy driver), exit after the replay")
    p.add_argument("--json", action="store_true", help="with --replay: print one JSON line and exit")
    p.add_argument("--save-dir", default=".", help="where S saves PNGs (default: current directory)")
    p.add_argument("--size", type=int, nargs=2, metavar=("W", "H"), default=WINDOW_SIZE,
                   help=f"window size (at least {MIN_WINDOW[0]}x{MIN_WINDOW[1]})")
    p.add_argument("--fps", type=int, default=FPS_CAP, help="frame cap (0: none)")
    p.add_argument("--replay-rate", type=float, default=None,
                   help="mouse events per second for --replay (default: all at once when headless, else 250)")
    p.add_argument("--timings", metavar="PATH", help="write startup/frame/latency timings as JSON at exit")
    return p.parse_args(argv)


@dataclass
class Job:
    """One reading to do: strokes of a drawing version, or an image file."""

    seq: int
    model: str
    rec: object
    version: int = -1
    strokes: tuple = ()
    path: str | None = None


@dataclass
class Result:
    seq: int
    model: str
    version: int
    reading: object = None  # recognizer.Reading
    image: object = None  # the dropped file's gray image (file jobs)
    path: str | None = None
    error: str | None = None
    seconds: float = 0.0


class Worker(threading.Thread):
    """Runs readings off the UI thread. Only the newest request matters: older pending ones are dropped."""

    def __init__(self) -> None:
        super().__init__(name="reader", daemon=True)
        self._cond = threading.Condition()
        self._pending: Job | None = None
        self._stopping = False
        self.busy = False
        self.results: deque[Result] = deque()

    def submit(self, job: Job) -> None:
        with self._cond:
            self._pending = job
            self._cond.notify()

    def idle(self) -> bool:
        with self._cond:
            return self._pending is None and not self.busy

    def stop(self, timeout: float = 10.0) -> None:
        """Let the reading in progress end, then the thread: a program that exits while this thread is
        inside ONNX Runtime aborts ("terminate called without an active exception", exit status 134)."""
        with self._cond:
            self._stopping, self._pending = True, None
            self._cond.notify()
        if self.is_alive():
            self.join(timeout)

    def run(self) -> None:
        while True:
            with self._cond:
                while self._pending is None and not self._stopping:
                    self._cond.wait()
                if self._stopping:
                    return
                job, self._pending = self._pending, None
                self.busy = True
            try:
                self.results.append(self._do(job))
            finally:
                with self._cond:
                    self.busy = False

    @staticmethod
    def _do(job: Job) -> Result:
        t0 = time.perf_counter()
        out = Result(job.seq, job.model, job.version, path=job.path)
        try:
            from recognizer import strokes as st

            if job.path is not None:
                from recognizer.imageio import load_image  # EXIF, alpha, 16-bit: as the CLI reads files

                out.image = load_image(job.path)
                out.reading = job.rec.read(out.image, upright=True)  # a photo may lie sideways
            else:
                image = st.render_for_reading([s.points for s in job.strokes], [s.erase for s in job.strokes])
                out.reading = to_canvas_boxes(job.rec.read(image), 1.0 / st.READ_SCALE)
        except Exception as exc:  # a reading must never take the app down
            out.error = one_line(exc)
        out.seconds = time.perf_counter() - t0
        return out


def to_canvas_boxes(reading, factor: float):
    """The reading with its boxes scaled from the recognizer's image to canvas pixels."""
    from dataclasses import replace

    digits = [replace(d, box=tuple(int(round(v * factor)) for v in d.box)) for d in reading.digits]
    return replace(reading, digits=digits)


def one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def confidence_line(d) -> str:
    """How a digit's confidence is made: P(label) over the ten digits (what the bars show) times
    P(one digit) (the CNN's reject class), so the header's number and the bar's can differ."""
    p = float(d.proba[d.label])
    single = d.confidence / p if p > 0 else 0.0
    return f"= {p:.0%} a {d.label} (bars) \u00d7 {single:.0%} one digit"


def find_tts() -> str | None:
    """A local text-to-speech command, or None."""
    for name in ("espeak-ng", "espeak"):
        exe = shutil.which(name)
        if exe:
            return exe
    return None


@dataclass
class Layout:
    canvas: object  # pygame.Rect on screen
    scale: float  # screen px per logical canvas px
    reading: object
    panel: object
    status: object


@dataclass
class Metrics:
    window_up_s: float = 0.0
    model_ready_s: float | None = None
    frame_times_drawing: list = field(default_factory=list)
    pen_up_to_screen_ms: list = field(default_factory=list)
    read_ms: list = field(default_factory=list)


class App:
    """The drawing window. `step()` runs one frame; `run()` loops; `replay()` drives it with mouse events."""

    def __init__(self, args: argparse.Namespace) -> None:
        if args.headless:
            os.environ["SDL_VIDEODRIVER"] = "dummy"
        os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
        import pygame

        self.pg = pygame
        self.args = args
        pygame.display.init()
        if not args.headless and not os.environ.get("SDL_VIDEODRIVER") and \
                pygame.display.get_driver() in ("offscreen", "dummy"):
            raise RuntimeError("no display found")
        pygame.font.init()
        flags = pygame.RESIZABLE
        size = (max(args.size[0], MIN_WINDOW[0]), max(args.size[1], MIN_WINDOW[1]))  # where the panels fit
        self.screen = pygame.display.set_mode(size, flags)
        pygame.display.set_caption("Digit Recognition: draw a number")
        self._fonts: dict[int, object] = {}
        self.screen.fill(BG)
        self._text("Digit Recognition", 34, TEXT, (MARGIN * 2, MARGIN * 2))
        self._text("starting...", 22, DIM, (MARGIN * 2, MARGIN * 2 + 44))
        pygame.display.flip()
        self.metrics = Metrics(window_up_s=time.perf_counter() - START)
        self.window_up_epoch = time.time()

        # heavier imports after the window is up (numpy + OpenCV, ~0.2 s); TensorFlow is never imported
        import numpy as np

        from recognizer import strokes as st

        self.np, self.st = np, st
        self.clock = pygame.time.Clock()
        self.drawing = st.Drawing()
        self.eraser = False
        self.show_help = False
        self.show_maps = False
        self.model_name = args.model
        self.cnn_name = args.model if args.model != "svc" else "cnn"  # what M switches back to
        self.models: dict[str, object] = {}
        self.model_errors: dict[str, str] = {}
        self._loading: set[str] = set()
        self._loaders: list[threading.Thread] = []
        self.status = "loading the model..."
        self.status_color = DIM
        self.worker = Worker()
        self.worker.start()
        self.seq = 0
        self.requested: tuple[int, str] | None = None  # (drawing version, model) last sent to the worker
        self.last_request_t = 0.0
        self.result: Result | None = None
        self.file_result: Result | None = None  # a dropped image being shown instead of the drawing
        self.drop_cleared = False  # the shown image's drop cleared the drawing: Ctrl+Z brings it back
        self.save_pending = False  # S pressed before the reading of the canvas was in: saved once it is
        self.selected: int | None = None  # None: follow the digit under the last stroke
        self.pen_up_pending: list[tuple[int, float]] = []  # (version, time) awaiting a reading on screen
        self.tts = find_tts() if args.speak else None
        self.spoken = ""
        self.speak_due: float | None = None
        self.running = True
        self.replay_events: deque = deque()
        self._base_key = None
        self._base = None
        self._maps_cache: tuple | None = None
        self._press: tuple | None = None  # (pos, button) pressed just outside the canvas: see mouse_down
        self._live: dict | None = None  # the stroke in progress, drawn incrementally (see _live_stroke)
        self._full_frame = True
        self._frame_key: tuple | None = None
        self._panels: dict[str, tuple] = {}  # name -> (key, surface, kept objects): redrawn only on change
        self.layout = self._layout()
        if args.speak and not self.tts:
            self.say_status("speech is off: no espeak-ng/espeak found (apt-get install espeak-ng)", UNSURE)
            print("app: --speak needs espeak-ng or espeak; none found (apt-get install espeak-ng)",
                  file=sys.stderr)
        self.load_model(self.model_name)

    # ------------------------------------------------------------------ models

    def load_model(self, name: str) -> None:
        """Load a model in the background (first use only); the UI keeps running meanwhile."""
        if name in self.models or name in self._loading:
            return
        self._loading.add(name)

        def load() -> None:
            try:
                from recognizer import Recognizer

                rec = self.models[name] = Recognizer.load(name)
                if name == self.args.model:
                    self.metrics.model_ready_s = time.perf_counter() - START
                if hasattr(rec.backend, "inspector") and not self.args.replay:
                    rec.backend.inspector()  # ready for the I view before anyone presses I
            except Exception as exc:  # printed here once, before anyone waiting on model_errors sees it
                print(f"app: cannot load the {name.upper()} model: {one_line(exc)}", file=sys.stderr)
                self.model_errors[name] = one_line(exc)
            finally:
                self._loading.discard(name)

        loader = threading.Thread(target=load, name=f"load-{name}", daemon=True)
        self._loaders.append(loader)
        loader.start()

    def finish_loading(self, timeout: float = 10.0) -> None:
        """Let model loads end before the program does: an interpreter that exits while a thread
        is inside ONNX Runtime's session set-up aborts ("terminate called without an active exception")."""
        for loader in self._loaders:
            loader.join(timeout)

    @property
    def rec(self):
        return self.models.get(self.model_name)

    def toggle_model(self) -> None:
        self.model_name = "svc" if self.model_name != "svc" else self.cnn_name
        self.load_model(self.model_name)
        self.say_status(f"model: {self.model_name.upper()}")
        self.selected = None
        if self.file_result is not None and self.file_result.path:
            self.read_file(self.file_result.path)

    # ------------------------------------------------------------------ events

    def handle(self, event) -> None:
        """Every input goes through here: the user's mouse and keyboard, and --replay's posted events."""
        pg = self.pg
        if event.type == pg.QUIT:
            self.running = False
        elif event.type in (pg.VIDEORESIZE, pg.WINDOWSIZECHANGED):
            self.fit_window()
        elif event.type == pg.MOUSEBUTTONDOWN:
            self.mouse_down(event.pos, event.button)
        elif event.type == pg.MOUSEMOTION:
            if self._press is not None and self.layout.canvas.collidepoint(event.pos):
                self.begin_stroke(*self._press)  # the press just outside moved in: start at the edge
                self._press = None
            if self.drawing.drawing:
                self.drawing.extend(*self.to_canvas(event.pos))
        elif event.type == pg.MOUSEBUTTONUP:
            self._press = None
            if event.button in (1, 3) and self.drawing.drawing:
                if self.drawing.current is not None:
                    self.drawing.extend(*self.to_canvas(event.pos))
                self.drawing.end()
                self.pen_up_pending.append((self.drawing.version, time.perf_counter()))
                self.request_reading()  # at once, even if the next stroke starts in this same frame
        elif event.type == pg.KEYDOWN:
            self.key(event)
        elif event.type == pg.DROPFILE:
            self.read_file(event.file)

    def fit_window(self) -> None:
        """Lay out for the new size; a window made smaller than MIN_WINDOW is set back to it (pygame 2 has
        no minimum window size), as the panels would be clipped."""
        w, h = self.screen.get_size()
        if w < MIN_WINDOW[0] or h < MIN_WINDOW[1]:
            size = (max(w, MIN_WINDOW[0]), max(h, MIN_WINDOW[1]))
            self.screen = self.pg.display.set_mode(size, self.pg.RESIZABLE)
        self.layout = self._layout()

    def mouse_down(self, pos, button: int) -> None:
        """A press on the canvas starts a stroke; one in the margin around it (a stroke begun a little off
        the edge) starts it once the pen moves in; one farther out, on the panels, never draws."""
        canvas = self.layout.canvas
        if canvas.collidepoint(pos) and button in (1, 3):
            self.begin_stroke(pos, button)
        elif canvas.inflate(2 * MARGIN, 2 * MARGIN).collidepoint(pos) and button in (1, 3):
            self._press = (pos, button)
        elif button == 1:
            hit = self._digit_at(pos)
            if hit is not None:
                self.selected = hit

    def begin_stroke(self, pos, button: int) -> None:
        self.dismiss_file()
        self.clear_error()
        self.selected = None
        self.drawing.begin(*self.to_canvas(pos), erase=(button == 3 or self.eraser))

    def key(self, event) -> None:
        pg = self.pg
        k, ctrl = event.key, bool(event.mod & (pg.KMOD_CTRL | pg.KMOD_META))
        if k == pg.K_z and ctrl:
            if self.file_result is not None:  # the image hides the drawing: undo means back to it
                self.dismiss_file(undo=True)
            elif not self.drawing.undo():
                self.say_status("nothing to undo")
        elif k == pg.K_c and not ctrl:  # Ctrl+C is a habit (copy), not a request to wipe the drawing
            self.dismiss_file()
            self.clear_error()
            self.drawing.clear()
            self.selected = None
        elif k == pg.K_e:
            self.eraser = not self.eraser
            self.say_status("left button: eraser" if self.eraser else "left button: pen")
        elif k == pg.K_m:
            self.toggle_model()
        elif k == pg.K_s:
            self.request_save()
        elif k == pg.K_h:
            self.show_help = not self.show_help
        elif k == pg.K_i:
            self.show_maps = not self.show_maps
        elif k in (pg.K_TAB, pg.K_RIGHT, pg.K_LEFT):
            digits = self._digits()
            if digits:
                step = -1 if k == pg.K_LEFT or (k == pg.K_TAB and event.mod & pg.KMOD_SHIFT) else 1
                self.selected = (self._selected_index(digits) + step) % len(digits)
        elif k == pg.K_ESCAPE:
            if self.show_help:
                self.show_help = False
            else:
                self.running = False

    def to_canvas(self, pos) -> tuple[float, float]:
        """Screen px -> logical canvas px (clamped to the canvas, so a stroke may run off the edge)."""
        r, s = self.layout.canvas, self.layout.scale
        cw, ch = self.st.CANVAS_SIZE
        x = min(max((pos[0] - r.x) / s, 0.0), cw - 1.0)
        y = min(max((pos[1] - r.y) / s, 0.0), ch - 1.0)
        return x, y

    def to_screen(self, x: float, y: float) -> tuple[int, int]:
        r, s = self.layout.canvas, self.layout.scale
        return int(round(r.x + x * s)), int(round(r.y + y * s))

    # ------------------------------------------------------------------ reading

    def read_file(self, path: str) -> None:
        """Show and read a file; the same file again (M) keeps its image on screen while it is re-read."""
        old = self.file_result
        image = old.image if old is not None and old.path == path else None
        self.file_result = Result(0, self.model_name, -1, image=image, path=path)  # seq 0: not sent yet
        if self.rec is None:
            self.say_status(f"loading the {self.model_name.upper()}; {Path(path).name} is read then")
        self.send_file()

    def send_file(self) -> None:
        """Send the shown file to the worker once its model is loaded (dropped, or M pressed, before that)."""
        res, rec = self.file_result, self.rec
        if res is None or res.seq or rec is None:
            return
        self.seq += 1
        res.seq = self.seq
        self.say_status(f"reading {Path(res.path).name}...")
        self.worker.submit(Job(self.seq, self.model_name, rec, path=res.path))

    def show_file(self, res: Result) -> None:
        """A file's reading is in: show it in place of the drawing, which a first read clears (undoably)."""
        if res.error:  # back to the drawing and its reading; the error stays in the status bar
            self.dismiss_file()
            return
        if self.file_result.image is None:  # a new drop, not a re-read
            self.drop_cleared = self.drop_cleared or bool(self.drawing.strokes)
            self.drawing.clear()
            self.selected = None
        self.file_result = res
        turned = f", turned {res.reading.turned} degrees" if res.reading and res.reading.turned else ""
        self.say_status(f"read {Path(res.path).name} ({res.model.upper()}{turned})")

    def dismiss_file(self, undo: bool = False) -> None:
        """Back from a dropped image to the canvas; `undo` (Ctrl+Z) also undoes the clear the drop made."""
        if self.file_result is not None and undo and self.drop_cleared:
            self.drawing.undo()
        if self.file_result is not None and self.status_color != BAD:  # "read x.png" is no longer on screen
            self.say_status("")
        self.file_result = None
        self.drop_cleared = False

    def request_reading(self) -> None:
        """Send a changed drawing to the worker: at once after pen-up, every LIVE_INTERVAL while drawing."""
        rec = self.rec
        key = (self.drawing.version, self.model_name)
        self.send_file()
        if rec is None or key == self.requested or self.file_result is not None:
            return
        now = time.perf_counter()
        if self.drawing.drawing and (now - self.last_request_t < LIVE_INTERVAL or not self.worker.idle()):
            return
        self.requested, self.last_request_t = key, now
        if self.drawing.is_empty():  # nothing to read: no prediction, just the prompt
            self.result = Result(0, self.model_name, self.drawing.version)
            return
        self.seq += 1
        self.worker.submit(Job(self.seq, self.model_name, rec, version=self.drawing.version,
                               strokes=tuple(self.drawing.all_strokes())))

    def poll_results(self) -> None:
        while self.worker.results:
            res = self.worker.results.popleft()
            if res.error:
                print(f"app: reading failed: {res.error}", file=sys.stderr)
                self.say_status(f"could not read: {res.error}", BAD)
            else:
                self.metrics.read_ms.append(res.seconds * 1000)
            if res.path is not None:
                if self.file_result is not None and self.file_result.seq == res.seq:
                    self.show_file(res)
                continue
            if self.result is None or res.seq > self.result.seq:
                self.result = res
                if not res.error:
                    self.clear_error()
                if res.model == self.model_name and not self.drawing.drawing and not res.error:
                    self.speak_due = time.perf_counter() + SPEAK_DELAY

    def current_reading(self):
        """The reading shown now: the dropped file's, else the drawing's (None while none is ready)."""
        if self.rec is None:  # the model M switched to is loading: no other model's reading
            return None
        if self.file_result is not None:
            return self.file_result.reading
        if self.drawing.is_empty() or self.result is None or self.result.model != self.model_name:
            return None
        return self.result.reading

    def reading_is_fresh(self) -> bool:
        r = self.result
        return r is not None and r.version == self.drawing.version and r.model == self.model_name

    def _digits(self) -> list:
        reading = self.current_reading()
        return list(reading.digits) if reading is not None else []

    def too_small(self, d) -> bool:
        """A drawn digit under SMALL_INK pen widths tall: the fixed-width pen fills it in (not for files)."""
        return self.file_result is None and d.box[3] < SMALL_INK * self.st.PEN_WIDTH

    def unsure(self, d) -> bool:
        return d.confidence < LOW_CONFIDENCE or self.too_small(d)

    def _selected_index(self, digits: list) -> int:
        if self.selected is not None and self.selected < len(digits):
            return self.selected
        strokes = [s for s in self.drawing.strokes if not s.erase]
        if strokes and self.file_result is None:  # the digit the last stroke belongs to
            x0, y0, x1, y1 = self.st.strokes_bbox([s.points for s in strokes[-1:]])
            best, best_overlap = len(digits) - 1, 0.0
            for i, d in enumerate(digits):
                bx, by, bw, bh = d.box
                ox = max(0.0, min(x1, bx + bw) - max(x0, bx))
                oy = max(0.0, min(y1, by + bh) - max(y0, by))
                if ox * oy > best_overlap:
                    best, best_overlap = i, ox * oy
            return best
        return len(digits) - 1

    # ------------------------------------------------------------------ actions

    def request_save(self) -> None:
        """S: save now if the reading shown is the canvas's, else as soon as it is (while the model loads or
        the worker reads, the caption would be an older reading's, or "(nothing)" under a drawn number)."""
        if self.reading_settled():
            self.save()
        else:
            self.save_pending = True
            self.say_status("saving once the reading is in...")

    def reading_settled(self) -> bool:
        """The reading on screen is of what is shown now, or none will come (the model failed to load)."""
        if self.model_name in self.model_errors:
            return True
        if self.file_result is not None:
            return self.file_result.reading is not None and self.rec is not None
        if self.drawing.is_empty():
            return True
        return self.rec is not None and not self.drawing.drawing and self.reading_is_fresh()

    def save_when_settled(self) -> None:
        if self.save_pending and self.reading_settled():
            self.save_pending = False
            self.save()

    def save(self) -> Path | None:
        """Save the drawing (ink on paper) with its reading written under it."""
        pg = self.pg
        reading = self.current_reading()
        text = reading.text.replace("\n", " / ") if reading is not None else ""
        if self.file_result is not None and self.file_result.image is not None:
            gray = self.file_result.image
        else:
            gray = 255 - self.drawing.render()
        w, h = gray.shape[1], gray.shape[0]
        band = 56
        out = pg.Surface((max(w, 360), h + band))
        out.fill((255, 255, 255))
        rgb = self.np.repeat(gray[:, :, None], 3, axis=2)
        out.blit(pg.surfarray.make_surface(rgb.swapaxes(0, 1)), (0, 0))
        caption = f"read: {text or '(nothing)'}   [{self.model_name.upper()}]"
        lines = [caption]
        if reading is not None and reading.digits:
            lines.append("confidence " + " ".join(f"{d.confidence:.0%}" for d in reading.digits))
        one = "   ".join(lines)
        self._caption(out, [one] if self._font(26).size(one)[0] <= out.get_width() - 20 else lines, h, band)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        safe = "".join(c for c in text if c.isdigit() or c == " ").strip().replace(" ", "_")
        path = Path(self.args.save_dir) / f"digits-{stamp}{'-' + safe if safe else ''}.png"
        n = 1
        while path.exists():
            n += 1
            path = path.with_name(f"digits-{stamp}-{n}{'-' + safe if safe else ''}.png")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            pg.image.save(out, str(path))
        except (OSError, pg.error) as exc:
            self.say_status(f"could not save: {one_line(exc)}", BAD)
            print(f"app: could not save {path}: {one_line(exc)}", file=sys.stderr)
            return None
        self.say_status(f"saved {path}", GOOD)
        return path

    def _caption(self, out, lines: list[str], top: int, band: int) -> None:
        """Write the caption lines into the band under the image, each shrunk to fit the width."""
        size = min(26, band // len(lines) - 4)
        for k, line in enumerate(lines):
            fit = size
            while fit > 10 and self._font(fit).size(line)[0] > out.get_width() - 20:
                fit -= 1
            y = top + (band - len(lines) * size) // 2 + k * size
            out.blit(self._font(fit).render(line, True, (0, 0, 0)), (10, y))

    def say_status(self, text: str, color=DIM) -> None:
        self.status, self.status_color = text, color

    def clear_error(self) -> None:
        """An error in the status bar is about the last action: the next reading, stroke or clear ends it."""
        if self.status_color == BAD:
            self.say_status("")

    def maybe_speak(self) -> None:
        if self.speak_due is None or time.perf_counter() < self.speak_due or self.drawing.drawing:
            return
        self.speak_due = None
        reading = self.current_reading()
        text = reading.text if reading is not None else ""
        if not text or text == self.spoken or not self.tts:
            return
        self.spoken = text
        words = " ".join(text.replace("\n", " ").replace(" ", ", "))  # digit by digit: "4 0 7"
        try:
            subprocess.Popen([self.tts, words], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        except OSError as exc:
            self.say_status(f"speech failed: {one_line(exc)}", UNSURE)

    # ------------------------------------------------------------------ frame

    def step(self) -> None:
        """One frame: events, finished readings, new requests, drawing, flip."""
        t0 = time.perf_counter()
        pg = self.pg
        self._feed_replay()
        for event in pg.event.get():
            try:
                self.handle(event)
            except Exception as exc:  # never crash on one bad event; say what happened
                traceback.print_exc(file=sys.stderr)
                self.say_status(f"error: {one_line(exc)}", BAD)
        if self.rec is None and self.model_name in self.model_errors:
            self.say_status(self.model_errors[self.model_name] + "  (M: try the other model)", BAD)
        elif self.status.startswith("loading the model") and self.rec is not None:
            self.say_status(f"model: {self.model_name.upper()} ready. H for help", DIM)
        self.poll_results()
        self.request_reading()
        self.save_when_settled()
        try:
            self.draw()
        except Exception as exc:
            traceback.print_exc(file=sys.stderr)
            self.say_status(f"error: {one_line(exc)}", BAD)
        if self._full_frame:
            pg.display.flip()
        else:  # only the canvas changed: send just it (and the status line) to the display
            pg.display.update([self.layout.canvas.inflate(2 * MARGIN, 2 * MARGIN), self.layout.status])
        done = time.perf_counter()
        if self.pen_up_pending and self.result is not None and self.result.model == self.model_name:
            ver = self.result.version  # the reading on screen now covers every pen-up up to this version
            keep = []
            for v, t in self.pen_up_pending:
                if v <= ver:
                    self.metrics.pen_up_to_screen_ms.append((done - t) * 1000)
                else:
                    keep.append((v, t))
            self.pen_up_pending = keep
        if self.drawing.drawing:
            self.metrics.frame_times_drawing.append(done - t0)
        self.maybe_speak()
        if self.args.fps:
            self.clock.tick(self.args.fps)
        if self.drawing.drawing and self.metrics.frame_times_drawing:
            self.metrics.frame_times_drawing[-1] = time.perf_counter() - t0  # include the frame cap wait

    def run(self) -> int:
        while self.running:
            self.step()
        return 0

    # ------------------------------------------------------------------ replay

    def post_replay(self, replay, rate: float | None = None) -> None:
        """Queue a replay as real mouse events: button down, motion for each point, button up.

        Points are fitted uniformly onto the logical canvas (`fit_strokes`: aspect kept, centred). With `rate`
        (events per second) they are posted at that pace, as a mouse would send them.
        """
        pg = self.pg
        events = []
        for stroke in self.st.fit_strokes(replay.strokes, replay.canvas, self.st.CANVAS_SIZE):
            pts = [self.to_screen(x, y) for x, y in stroke]
            events.append(pg.event.Event(pg.MOUSEBUTTONDOWN, pos=pts[0], button=1))
            last = pts[0]
            for p in pts[1:]:
                if p != last:
                    events.append(pg.event.Event(pg.MOUSEMOTION, pos=p, rel=(p[0] - last[0], p[1] - last[1]),
                                                 buttons=(1, 0, 0)))
                    last = p
            events.append(pg.event.Event(pg.MOUSEBUTTONUP, pos=last, button=1))
        t = time.perf_counter()
        for e in events:
            self.replay_events.append((t if rate else 0.0, e))
            if rate:
                t += PEN_LIFT_S if e.type == pg.MOUSEBUTTONUP else 1.0 / rate

    def post_key(self, key: int, mod: int = 0) -> None:
        pg = self.pg
        self.replay_events.append((0.0, pg.event.Event(pg.KEYDOWN, key=key, mod=mod, unicode="", scancode=0)))

    def _feed_replay(self) -> None:
        now = time.perf_counter()
        pg = self.pg
        while self.replay_events and self.replay_events[0][0] <= now:
            pg.event.post(self.replay_events.popleft()[1])

    def wait_ready(self, timeout: float = REPLAY_TIMEOUT) -> bool:
        """Run frames until the current model is loaded (False if it failed or timed out)."""
        end = time.perf_counter() + timeout
        while self.running and self.rec is None and time.perf_counter() < end:
            if self.model_name in self.model_errors:
                return False
            self.step()
            time.sleep(WAIT_YIELD)
        return self.rec is not None

    def wait_reading(self, timeout: float = REPLAY_TIMEOUT):
        """Run frames until every queued event is handled and the reading of the result is on screen."""
        end = time.perf_counter() + timeout
        while self.running and time.perf_counter() < end:
            self.step()
            if not self.worker.idle():
                time.sleep(WAIT_YIELD)
            if not self.replay_events and not self.drawing.drawing and (
                self.drawing.is_empty() or (self.reading_is_fresh() and self.result.reading is not None)
                or (self.reading_is_fresh() and self.result.error)
            ):
                return self.current_reading()
        return None

    def replay(self, replay, rate: float | None = None):
        """Clear (the C key), draw `replay` with mouse events, and return the reading shown."""
        self.post_key(self.pg.K_c)
        self.post_replay(replay, rate)
        return self.wait_reading()

    # ------------------------------------------------------------------ drawing the window

    def _font(self, size: int):
        size = max(8, int(size))
        if size not in self._fonts:
            self._fonts[size] = self.pg.font.Font(None, size)
        return self._fonts[size]

    def _text(self, text: str, size: int, color, pos, anchor: str = "topleft"):
        surf = self._font(size).render(text, True, color)
        rect = surf.get_rect(**{anchor: pos})
        self.screen.blit(surf, rect)
        return rect

    def _text_fit(self, text: str, size: int, color, pos, width: int, anchor: str = "topleft"):
        """`_text`, smaller where it would run past `width` px: a narrow panel must not clip a label."""
        while size > 12 and self._font(size).size(text)[0] > width:
            size -= 1
        return self._text(text, size, color, pos, anchor)

    def _layout(self) -> Layout:
        """Canvas, reading, panel and status bar for the window. The canvas keeps its 2:1 aspect; the panel
        sits beside it and the reading under it, unless the window is so tall or so wide that putting both
        under the canvas, or the reading beside it, makes the canvas clearly larger (not a small canvas
        over a reading panel of most of the window)."""
        pg = self.pg
        real_w, real_h = self.screen.get_size()
        w, h = max(real_w, MIN_WINDOW[0]), max(real_h, MIN_WINDOW[1])
        status_h = 28
        bottom = h - status_h - MARGIN  # where the panels end
        panel_w = int(min(max(280, w * 0.3), 420))
        reading_h = max(110, int(h * 0.22))
        cw, ch = self.st.CANVAS_SIZE
        scales = {
            "side": min((w - panel_w - 3 * MARGIN) / cw, (bottom - reading_h - 2 * MARGIN) / ch),
            "tall": min((w - 2 * MARGIN) / cw, (bottom - reading_h - PANEL_MIN_H - 3 * MARGIN) / ch),
            "wide": min((w - panel_w - READING_MIN_W - 4 * MARGIN) / cw, (bottom - MARGIN) / ch),
        }
        best = max(scales, key=scales.get)
        kind = best if scales[best] > LAYOUT_GAIN * scales["side"] else "side"
        scale = max(0.2, scales[kind])
        canvas = pg.Rect(MARGIN, MARGIN, int(cw * scale), int(ch * scale))
        panel = pg.Rect(w - panel_w - MARGIN, MARGIN, panel_w, bottom - MARGIN)
        if kind == "tall":  # canvas, reading, panel: one column
            canvas.centerx = w // 2
            reading = pg.Rect(MARGIN, canvas.bottom + MARGIN, w - 2 * MARGIN, reading_h)
            panel = pg.Rect(MARGIN, reading.bottom + MARGIN, w - 2 * MARGIN, bottom - reading.bottom - MARGIN)
        elif kind == "wide":  # canvas, reading, panel: one row
            reading = pg.Rect(canvas.right + MARGIN, MARGIN, panel.left - canvas.right - 2 * MARGIN,
                              bottom - MARGIN)
        else:
            reading = pg.Rect(MARGIN, canvas.bottom + MARGIN, panel.left - 2 * MARGIN,
                              bottom - canvas.bottom - MARGIN)
        status = pg.Rect(0, real_h - status_h, real_w, status_h)  # on screen in a window below MIN_WINDOW too
        return Layout(canvas, scale, reading, panel, status)

    def _palette_surface(self, gray):
        """A uint8 ink map as an 8-bit surface whose palette runs from paper to ink (no per-pixel work)."""
        pg = self.pg
        h, w = gray.shape
        surf = pg.image.frombuffer(gray.tobytes(), (w, h), "P")
        if not hasattr(self, "_palette"):
            t = self.np.linspace(0.0, 1.0, 256)[:, None]
            pal = (self.np.array(PAPER) * (1 - t) + self.np.array(INK) * t).astype(int)
            self._palette = [tuple(int(v) for v in c) for c in pal]
        surf.set_palette(self._palette)
        return surf

    def draw(self) -> None:
        """Draw the frame into the back buffer; `_full_frame`: more than the canvas changed."""
        pg, L = self.pg, self.layout
        frame_key = (self.screen.get_size(), self.show_help, self.status, self.model_name, self.eraser)
        self._full_frame = frame_key != self._frame_key or self.show_help
        self._frame_key = frame_key
        self.screen.fill(BG)
        self.draw_canvas()
        reading = self.current_reading()
        digits = self._digits()
        sel = self._selected_index(digits) if digits else None
        common = (id(reading), sel, self.model_name, self.rec is None, self.screen.get_size())
        self._cached("reading", L.reading, (*common, self.drawing.is_empty(), self.reading_is_fresh(),
                                            self.file_result is None, self.model_errors.get(self.model_name)),
                     self.draw_reading, reading)
        self._cached("panel", L.panel, (*common, self.show_maps), self.draw_panel, reading)
        pg.draw.rect(self.screen, PANEL, L.status)
        model = f"{self.model_name.upper()}{'' if self.rec else ' (loading)'}"
        tool = "eraser" if self.eraser else "pen"
        right = self._text(f"{model}  |  {tool}  |  H help", 20, DIM,
                           (L.status.right - MARGIN, L.status.centery), "midright")
        status = self.status
        while status and self._font(20).size(status)[0] > right.left - 3 * MARGIN:
            status = status[:-2]
        self._text(status, 20, self.status_color, (MARGIN, L.status.centery), "midleft")
        if self.show_help:
            self.draw_help()

    def _cached(self, name: str, rect, key: tuple, draw, keep) -> None:
        """Draw a panel only when what it shows changed (text rendering costs several ms a frame).

        `keep` holds the objects whose id() is in `key`, so an id cannot be reused meanwhile.
        """
        pg = self.pg
        entry = self._panels.get(name)
        if entry is None or entry[0] != key:
            size = self.screen.get_size()
            surf = entry[1] if entry is not None and entry[1].get_size() == size else pg.Surface(size)
            surf.fill(BG)
            real, self.screen = self.screen, surf
            try:
                draw()
            finally:
                self.screen = real
            self._panels[name] = entry = (key, surf, keep)
            self._full_frame = True
        self.screen.blit(entry[1], rect, rect)

    def draw_canvas(self) -> None:
        pg, L, st = self.pg, self.layout, self.st
        r = L.canvas
        if self.file_result is not None and self.file_result.image is not None:
            self._draw_file(r)
            return
        key = (tuple(self.drawing.strokes), r.size, L.scale)
        if key != self._base_key:
            self._base = self._render_base(key)
            self._base_key = key
        gray = self._base if self.drawing.current is None else self._live_stroke()
        self.screen.blit(self._palette_surface(gray), r)
        pg.draw.rect(self.screen, (90, 96, 120), r, 1)
        if self.drawing.is_empty():
            self._text("Draw a number here", max(22, int(r.height * 0.12)), (185, 185, 195),
                       r.center, "center")
            self._text("left button draws, right button erases", max(16, int(r.height * 0.06)),
                       (200, 200, 208),
                       (r.centerx, r.centery + int(r.height * 0.12)), "center")
        else:
            self._draw_boxes(self._digits(), lambda x, y: self.to_screen(x, y), L.scale, r)
        if self.eraser or self.drawing.current_erase:
            mx, my = pg.mouse.get_pos()
            if r.collidepoint(mx, my):
                pg.draw.circle(self.screen, BAD, (mx, my), int(st.ERASER_WIDTH * L.scale / 2), 1)

    def _render_base(self, key: tuple):
        """The finished strokes at screen scale. A stroke just ended is drawn onto the last raster: drawing
        every stroke again costs ~0.25 ms a stroke, a frame of 80 ms at the pen-up of the 300th."""
        st = self.st
        strokes, size, scale = key
        old = self._base_key
        if strokes and old is not None and old[1:] == key[1:] and strokes[:-1] == old[0]:
            s = strokes[-1]
            width = st.PEN_WIDTH * (st.ERASER_WIDTH / st.PEN_WIDTH if s.erase else 1.0) * scale
            return st.draw_stroke(self._base, st.as_stroke(s.points) * scale, width, 0 if s.erase else 255)
        return st.render_strokes([s.points for s in strokes], size, st.PEN_WIDTH, [s.erase for s in strokes],
                                 scale)

    def _live_stroke(self):
        """The canvas with the stroke in progress, drawn piece by piece: redrawing a long thick
        anti-aliased stroke every frame costs ~5 ms; only its last, still-changing piece is redrawn."""
        st, L, np = self.st, self.layout, self.np
        cur = self.drawing.current
        erase = self.drawing.current_erase
        width = st.PEN_WIDTH * (st.ERASER_WIDTH / st.PEN_WIDTH if erase else 1.0) * L.scale
        value = 0 if erase else 255
        live = self._live
        if live is None or live["stroke"] is not cur or live["base"] != self._base_key:
            live = {"stroke": cur, "base": self._base_key, "raster": self._base.copy(), "done": 0}
            self._live = live
        pts = np.asarray(cur, np.float32) * L.scale
        final = len(pts) - 2  # piece k (point k to k+1) is final once point k+2 exists
        for k in range(live["done"], max(final, 0)):
            st.draw_stroke(live["raster"], st.smooth_segment(pts, k), width, value, smooth=False)
        live["done"] = max(live["done"], final)
        frame = live["raster"].copy()
        start = max(live["done"], 0)
        tail = [st.smooth_segment(pts, k) for k in range(start, len(pts) - 1)] or [pts[-1:]]
        st.draw_stroke(frame, np.vstack(tail), width, value, smooth=False)
        return frame

    def _draw_file(self, r) -> None:
        import cv2

        img = self.file_result.image
        h, w = img.shape
        s = min(r.width / w, r.height / h)
        size = (max(1, int(w * s)), max(1, int(h * s)))
        small = cv2.resize(img, size, interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
        rgb = self.np.repeat(small[:, :, None], 3, axis=2)
        x0, y0 = r.x + (r.width - size[0]) // 2, r.y + (r.height - size[1]) // 2
        self.pg.draw.rect(self.screen, (0, 0, 0), r)
        self.screen.blit(self.pg.surfarray.make_surface(rgb.swapaxes(0, 1)), (x0, y0))
        self._draw_boxes(self._digits(), lambda x, y: (int(x0 + x * s), int(y0 + y * s)), s, r)

    def _draw_boxes(self, digits, to_screen, scale, area) -> None:
        """Boxes around the digits, each labelled where the label is clear of the other boxes (_tag_at)."""
        if not digits:
            return
        sel = self._selected_index(digits)
        rects = []
        for x, y, w, h in (d.box for d in digits):
            rects.append(self.pg.Rect(to_screen(x, y), (max(2, int(w * scale)), max(2, int(h * scale)))))
        placed: list = []
        self._tag_rects = []  # (label, box) on screen
        for i, (d, rect) in enumerate(zip(digits, rects, strict=True)):
            color = ACCENT if i == sel else (UNSURE if self.unsure(d) else GOOD)
            self.pg.draw.rect(self.screen, color, rect.inflate(6, 6), 2 if i == sel else 1, border_radius=4)
            tag = f"{d.label}" + ("?" if self.unsure(d) else "")
            at = self._tag_at(tag, rect, rects[:i] + rects[i + 1 :] + placed, area)
            placed.append(self._text(tag, 22, color, at))
            self._tag_rects.append((placed[-1], rect))

    def _tag_at(self, tag: str, rect, others: list, area) -> tuple[int, int]:
        """Where a box's label goes: above the box, else below it, else inside its corner. Above or below
        must stay in `area` and off the other boxes and labels: on two lines of digits the first line's
        labels would otherwise fall below it, among the second line's."""
        w, h = self._font(22).size(tag)
        for pos in ((rect.left - 3, rect.top - 5 - h), (rect.left - 3, rect.bottom + 5)):
            spot = self.pg.Rect(pos, (w, h))
            if area.contains(spot) and spot.collidelist([o.inflate(2 * w + 8, 6) for o in others]) < 0:
                return pos
        return rect.left + 3, rect.top + 3

    def draw_reading(self) -> None:
        L = self.layout
        r = L.reading
        self.pg.draw.rect(self.screen, PANEL, r, border_radius=8)
        reading = self.current_reading()
        label_y = r.y + 8
        self._text("reading", 20, DIM, (r.x + 12, label_y))
        if self.file_result is None and self.drawing.is_empty():
            self._text("draw a digit or a number", max(24, r.height // 4), DIM, r.center, "center")
            return
        if self.rec is None:
            msg = self.model_errors.get(self.model_name, f"loading the {self.model_name.upper()}...")
            self._text(msg[:90], 22, BAD if self.model_name in self.model_errors else DIM, r.center, "center")
            return
        if reading is None:
            self._text("...", max(30, r.height // 2), DIM, r.center, "center")
            return
        if not reading.digits:
            self._text("no digit found", max(24, r.height // 4), UNSURE, r.center, "center")
            return
        size = max(40, int(r.height * 0.62))
        sel = self._selected_index(reading.digits)
        # lay the digits out as the text reads: a space between numbers, " / " between lines
        parts, prev = [], None
        for i, d in enumerate(reading.digits):
            if prev is not None and (d.line, d.number) != prev:
                parts.append((" / " if d.line != prev[0] else " ", None, i))
            parts.append((str(d.label), d, i))
            prev = (d.line, d.number)
        total = self._parts_width(parts, size)
        while total > r.width - 40 and size > 24:
            size = int(size * 0.85)
            total = self._parts_width(parts, size)
        x = r.centerx - total // 2
        y = r.centery + 8
        self._glyph_rects = []
        for text, d, i in parts:
            if d is None:  # the space between numbers, the " / " between lines
                x = self._text(text, size, DIM, (x, y), "midleft").right
                continue
            unsure = self.unsure(d)
            color = UNSURE if unsure else TEXT
            rect = self._text(text, size, color, (x, y), "midleft")
            x = rect.right
            if unsure:  # after the digit, not over the next one
                x = self._text("?", size // 3, UNSURE, (rect.right, rect.top + 4), "topleft").right
            if i == sel:
                self.pg.draw.line(self.screen, ACCENT, (rect.left, rect.bottom + 2),
                                  (rect.right, rect.bottom + 2), 3)
            self._glyph_rects.append((rect, i))
        low = [d for d in reading.digits if self.unsure(d)]
        if any(self.too_small(d) for d in reading.digits):
            self._text("write bigger: the pen fills in small digits", 20, UNSURE, (r.right - 12, label_y),
                       "topright")
        elif low:
            self._text(f"unsure about {len(low)} digit{'s' if len(low) > 1 else ''} (amber)", 20, UNSURE,
                       (r.right - 12, label_y), "topright")
        elif not self.reading_is_fresh() and self.file_result is None:
            self._text("reading...", 20, DIM, (r.right - 12, label_y), "topright")

    def _parts_width(self, parts: list, size: int) -> int:
        """The reading's width at `size`: digits, separators and the small "?" after unsure digits."""
        font, small = self._font(size), self._font(size // 3)
        return sum(font.size(t)[0] + (small.size("?")[0] if d is not None and self.unsure(d) else 0)
                   for t, d, _ in parts)

    def _digit_at(self, pos) -> int | None:
        for rect, i in getattr(self, "_glyph_rects", []):
            if rect.collidepoint(pos):
                return i
        return None

    def draw_panel(self) -> None:
        pg, np = self.pg, self.np
        r = self.layout.panel
        pg.draw.rect(self.screen, PANEL, r, border_radius=8)
        x, y = r.x + 14, r.y + 10
        digits = self._digits()
        name = self.model_name.upper()
        title = f"model: {name}" + (" (8x8 baseline)" if self.model_name == "svc" else "")
        self._text(title, 22, TEXT, (x, y))
        y += 28
        if not digits:
            waiting = f"loading the {name}..." if self.rec is None else "probabilities appear here"
            self._text(waiting, 20, DIM, (x, y + 6))
            return
        i = self._selected_index(digits)
        d = digits[i]
        verdict = "too small" if self.too_small(d) else "unsure" if self.unsure(d) else "sure"
        color = UNSURE if self.unsure(d) else GOOD
        width = r.width - 28
        header = f"digit {i + 1} of {len(digits)}: {d.label}  {d.confidence:.0%} ({verdict})"
        self._text_fit(header, 22, color, (x, y), width)
        y += 26
        self._text_fit(confidence_line(d), 18, DIM, (x, y), width)
        y += 24
        # bar chart of the 10 class probabilities
        bar_h = max(10, min(22, (r.height - 340) // 11))
        bar_w = r.width - 28 - 80
        proba = np.asarray(d.proba, dtype=float)
        for k in range(10):
            by = y + k * (bar_h + 3)
            self._text(str(k), bar_h + 6, TEXT if k == d.label else DIM, (x + 8, by + bar_h // 2), "center")
            pg.draw.rect(self.screen, (60, 66, 86), (x + 22, by, bar_w, bar_h), border_radius=3)
            fill = int(bar_w * float(proba[k]))
            if fill > 0:
                c = (color if k == d.label else ACCENT)
                pg.draw.rect(self.screen, c, (x + 22, by, fill, bar_h), border_radius=3)
            self._text(f"{proba[k]:.0%}", 18, DIM, (x + 22 + bar_w + 6, by + bar_h // 2), "midleft")
        y += 10 * (bar_h + 3) + 10
        space = r.bottom - y - 36
        side = max(56, min(r.width - 28, space))
        if self.show_maps and self.has_maps():
            self.draw_maps(d, pg.Rect(x, y, r.width - 28, r.bottom - y - 10))
            return
        mi = np.asarray(d.model_input, dtype=np.float32)
        n = mi.shape[0]
        if self.show_maps:  # I on a model without them: say so, above what it does see
            self._text_fit(f"what the model sees ({n}x{n})   feature maps: CNN only (M)", 18, UNSURE, (x, y),
                           r.width - 28)
        else:
            self._text_fit(f"what the model sees ({n}x{n})   I: feature maps", 18, DIM, (x, y), r.width - 28)
        img = np.clip(mi / max(float(mi.max()), 1e-6) * 255.0, 0, 255).astype(np.uint8)
        side = max(n, (side // n) * n)
        surf = pg.transform.scale(self._palette_surface(img), (side, side))
        self.screen.blit(surf, (x + (r.width - 28 - side) // 2, y + 22))

    def has_maps(self) -> bool:
        """The model shown has convolution feature maps (the CNN, the ensemble; not the 8x8 SVC)."""
        return self.rec is not None and hasattr(self.rec.backend, "run")

    def draw_maps(self, d, area) -> None:
        """The CNN's first conv layer responses to the selected digit: which strokes each filter picks up."""
        pg, np = self.pg, self.np
        rec = self.rec
        key = (id(d), rec.name)
        if self._maps_cache is None or self._maps_cache[0] != key:
            try:
                maps = rec.backend.run(np.asarray(d.model_input, np.float32)[None], ("conv1",))[0][0]
            except Exception as exc:
                self._text(f"no feature maps: {one_line(exc)}"[:60], 18, BAD, area.topleft)
                return
            self._maps_cache = (key, maps)
        maps = self._maps_cache[1]
        c = maps.shape[0]
        whose = " of the first member" if rec.name == "ensemble" else ""  # one network's maps, not a mean
        self._text_fit(f"conv1{whose}: {c} feature maps   I: model input", 18, DIM, area.topleft, area.width)
        cols = int(np.ceil(np.sqrt(c * area.width / max(area.height - 22, 1))))
        cols = max(1, min(c, cols))
        rows = int(np.ceil(c / cols))
        cell = max(8, min((area.width - cols) // cols, (area.height - 24 - rows) // rows))
        for k in range(c):
            m = maps[k]
            m = np.clip(m / max(float(m.max()), 1e-6) * 255.0, 0, 255).astype(np.uint8)
            surf = pg.transform.scale(self._palette_surface(m), (cell, cell))
            self.screen.blit(surf, (area.x + (k % cols) * (cell + 1), area.y + 22 + (k // cols) * (cell + 1)))

    def draw_help(self) -> None:
        pg = self.pg
        w, h = self.screen.get_size()
        box = pg.Rect(0, 0, min(560, w - 40), min(40 + 30 * len(HELP), h - 40))
        box.center = (w // 2, h // 2)
        shade = pg.Surface(box.size, pg.SRCALPHA)
        shade.fill((20, 22, 30, 235))
        self.screen.blit(shade, box)
        pg.draw.rect(self.screen, ACCENT, box, 2, border_radius=8)
        self._text("Keys", 28, TEXT, (box.x + 20, box.y + 12))
        for k, (key, what) in enumerate(HELP):
            y = box.y + 46 + k * 28
            if key == "M":  # what M toggles between, as started (--model ensemble: ENSEMBLE / SVC)
                what = f"switch model: {self.cnn_name.upper()} / SVC baseline"
            elif key == "I" and self.cnn_name == "ensemble":
                what = "what the CNN sees: conv1 (first member)"
            self._text(key, 22, ACCENT, (box.x + 24, y))
            self._text(what, 22, TEXT, (box.x + 190, y))


def timings(app: App) -> dict:
    m = app.metrics
    return {
        "window_up_s": round(m.window_up_s, 4),
        "window_up_epoch": app.window_up_epoch,
        "model_ready_s": None if m.model_ready_s is None else round(m.model_ready_s, 4),
        "frame_times_drawing_s": [round(t, 5) for t in m.frame_times_drawing],
        "pen_up_to_screen_ms": [round(t, 2) for t in m.pen_up_to_screen_ms],
        "read_ms": [round(t, 2) for t in m.read_ms],
    }


def run_replay(app: App, args: argparse.Namespace) -> int:
    from recognizer import strokes as st

    try:
        replay = st.read_replay(args.replay)
    except ValueError as exc:
        print(f"app: {exc}", file=sys.stderr)
        return 2
    if not app.wait_ready():
        if app.model_name not in app.model_errors:  # a load error is already printed by the loader
            print("app: cannot replay: the model did not load in time", file=sys.stderr)
        return 2
    rate = args.replay_rate if args.replay_rate is not None else (None if args.headless else 250.0)
    reading = app.replay(replay, rate)
    if reading is None and not app.drawing.is_empty():
        if app.result is None or not app.result.error:  # a reading error is already printed by poll_results
            print("app: replay failed: no reading in time", file=sys.stderr)
        return 2
    data = reading.to_dict() if reading is not None else {"text": "", "digits": []}
    if args.json:
        print(json.dumps(data), flush=True)
        return 0
    print(data["text"], flush=True)
    if args.headless:
        return 0
    return app.run()  # a demo: leave the window open


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    for flag in ("json", "headless"):  # without a replay there is nothing to print, nothing ever ends
        if getattr(args, flag) and not args.replay:
            print(f"app: --{flag} needs --replay STROKES.json", file=sys.stderr)
            return 2
    try:
        app = App(args)
    except ImportError as exc:  # run outside the venv: a missing package, not a display problem
        print(f"app: a package is missing ({one_line(exc)}): run `make run` "
              "(or `make install`, then .venv/bin/python app.py)", file=sys.stderr)
        return 2
    except Exception as exc:  # no display, no video driver...
        hint = "" if args.headless else " (without a display: --replay STROKES.json --headless)"
        print(f"app: cannot open the window: {one_line(exc)}{hint}", file=sys.stderr)
        return 2
    try:
        code = run_replay(app, args) if args.replay else app.run()
    except KeyboardInterrupt:
        code = 0
    if args.timings:
        Path(args.timings).write_text(json.dumps(timings(app)))
    app.pg.display.quit()  # the window closes now: a model still loading (the SVC's fit) may take seconds
    app.finish_loading()
    app.worker.stop()  # closed during a reading: it ends first
    app.pg.quit()
    return code


if __name__ == "__main__":
    sys.exit(main())
