#!/usr/bin/env python
"""Responsiveness of the drawing app: window-up time, frames per second while drawing, pen-up to reading.

- window up: `app.py` is launched as a fresh process (`--headless --replay --json --timings`); the
  time from launching it to the first frame on screen, interpreter start-up included.
- fps while drawing: UNIPEN numbers are replayed as mouse events at a mouse's pace (`--rate` events
  per second) into a running app with its normal frame cap; every frame while the pen is down counts.
- pen-up to reading: from handling the button-up event to the end of the flip that first shows the
  reading of the finished drawing (the worker thread reads; the UI loop only polls).

Runs under the dummy SDL driver by default; with a DISPLAY (e.g. `xvfb-run -a`) it uses that.

    python scripts/benchmark_ui.py [--launches 5] [--numbers 20] [--rate 250] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from recognizer.reader import MODEL_NAMES  # noqa: E402

TARGET_FPS = 60  # issue 4
TARGET_LATENCY_MS = 50
TARGET_WINDOW_S = 1.0


def window_up(launches: int, replay_path: Path, model: str) -> dict:
    """Launch the app `launches` times; seconds from the launch to its first frame."""
    ups, readies = [], []
    for _ in range(launches):
        with tempfile.TemporaryDirectory() as tmp:
            timings = Path(tmp) / "t.json"
            t0 = time.time()
            command = [sys.executable, str(ROOT / "app.py"), "--headless", "--model", model,
                       "--replay", str(replay_path), "--json", "--timings", str(timings)]
            out = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=ROOT)
            if out.returncode != 0:
                raise SystemExit(f"benchmark_ui: app.py failed: {out.stderr.strip()[-300:]}")
            t = json.loads(timings.read_text())
            ups.append(t["window_up_epoch"] - t0)
            readies.append(t["model_ready_s"])
    return {"window_up_s": ups, "model_ready_after_start_s": readies}


def drawing_session(numbers: int, rate: float, model: str, fps_cap: int) -> dict:
    """Replay numbers at mouse pace into one app; frame times while drawing and pen-up latencies."""
    if not os.environ.get("DISPLAY"):
        os.environ["SDL_VIDEODRIVER"] = "dummy"
    import app as appmod
    from recognizer import strokes as st

    u = st.load_unipen()
    rng = np.random.default_rng(7)
    args = ["--model", model, "--fps", str(fps_cap)] + ([] if os.environ.get("DISPLAY") else ["--headless"])
    a = appmod.App(appmod.parse_args(args))
    if not a.wait_ready():
        raise SystemExit(f"benchmark_ui: cannot load {model}: {a.model_errors.get(model)}")
    for _, picks in st.sample_numbers(u, numbers, rng):
        strokes, canvas = st.compose_number([u.strokes(j) for j in picks], rng)
        a.replay(st.Replay(canvas, strokes), rate)
    m = a.metrics
    driver = a.pg.display.get_driver()
    a.pg.quit()
    return {"frame_s": m.frame_times_drawing, "latency_ms": m.pen_up_to_screen_ms, "read_ms": m.read_ms,
            "driver": driver}


def summary(up: dict, session: dict) -> dict:
    frames = np.asarray(session["frame_s"])
    lat = np.asarray(session["latency_ms"])
    ups = np.asarray(up["window_up_s"])
    return {
        "window_up_s_median": float(np.median(ups)), "window_up_s_max": float(ups.max()),
        "model_ready_s_median": float(np.median(up["model_ready_after_start_s"])),
        "fps_drawing_mean": float(1.0 / frames.mean()),
        "fps_drawing_p5": float(1.0 / np.percentile(frames, 95)),
        "frames_drawing": int(len(frames)),
        "pen_up_to_reading_ms_median": float(np.median(lat)),
        "pen_up_to_reading_ms_p95": float(np.percentile(lat, 95)),
        "pen_up_to_reading_ms_max": float(lat.max()),
        "pen_ups": int(len(lat)),
        "read_ms_median": float(np.median(session["read_ms"])),
        "video_driver": session["driver"],
    }


def table(s: dict) -> str:
    rows = [
        ("window up after launch, median (max) s",
         f"{s['window_up_s_median']:.2f} ({s['window_up_s_max']:.2f})", f"<= {TARGET_WINDOW_S:g} s"),
        ("model ready after start, median s", f"{s['model_ready_s_median']:.2f}", ""),
        (f"fps while drawing, mean (5th pct), {s['frames_drawing']} frames",
         f"{s['fps_drawing_mean']:.0f} ({s['fps_drawing_p5']:.0f})", f">= {TARGET_FPS}"),
        (f"pen-up to reading on screen, median ms ({s['pen_ups']} pen-ups)",
         f"{s['pen_up_to_reading_ms_median']:.1f}", f"<= {TARGET_LATENCY_MS}"),
        ("pen-up to reading, p95 (max) ms",
         f"{s['pen_up_to_reading_ms_p95']:.1f} ({s['pen_up_to_reading_ms_max']:.1f})", ""),
        ("worker read time, median ms", f"{s['read_ms_median']:.1f}", ""),
    ]
    title = f"app.py responsiveness ({s['video_driver']} video driver)"
    lines = [f"{title:58s}{'measured':>16s}   target",
             "-" * 86]
    lines += [f"{a:58s}{b:>16s}   {c}" for a, b, c in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--launches", type=int, default=5, help="fresh app processes for the window-up time")
    p.add_argument("--numbers", type=int, default=20, help="UNIPEN numbers drawn at mouse pace")
    p.add_argument("--rate", type=float, default=250.0, help="mouse events per second while drawing")
    p.add_argument("--model", default="cnn", choices=MODEL_NAMES)
    p.add_argument("--fps-cap", type=int, default=120, help="the app's frame cap (its default)")
    p.add_argument("--json", metavar="PATH")
    args = p.parse_args(argv)
    from recognizer import strokes as st

    with tempfile.TemporaryDirectory() as tmp:
        replay = Path(tmp) / "one.json"
        st.write_replay(replay, st.Replay((560, 280), [np.float32([[280, 60], [282, 140], [285, 225]])]))
        up = window_up(args.launches, replay, args.model)
    session = drawing_session(args.numbers, args.rate, args.model, args.fps_cap)
    s = summary(up, session)
    print(table(s))
    if args.json:
        Path(args.json).write_text(json.dumps({"summary": s, "window": up, "args": vars(args)}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
