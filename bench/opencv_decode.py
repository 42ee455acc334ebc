#!/usr/bin/env python3
"""Peer benchmark for semaforo-camera's video-file decoding: OpenCV's cv2.VideoCapture.

Reads every frame of the given file (decoded by OpenCV's bundled FFmpeg and converted to
BGR, the same work as the Rust side's H.264 decode and RGB conversion), on one thread by
default: cv2.setNumThreads(1), FFmpeg's decoder threads set through CAP_PROP_N_THREADS where
this OpenCV has it, and through OPENCV_FFMPEG_CAPTURE_OPTIONS=threads;N in any case
(`--threads N` for FFmpeg's own threading, to compare with the Rust side's frame threads).
The clock runs from the first read to the end, the open excluded (the Rust side times the
same). Prints one JSON line: {"peer": "opencv", "version": ..., "frames": ..., "fps": ...,
"cpu_fps": ..., "process_cpu_fps": ..., "threads_property": true|false}; "fps" is the best of
the passes after a warm-up pass, "cpu_fps" the frames per CPU-second of the reading thread in
that pass (with one decoding thread, the decoder's; a machine's other load does not slow it as
much as the wall clock), "process_cpu_fps" per CPU-second of the whole process (FFmpeg's
decoding threads included).
"""
import argparse
import json
import os
import sys
import time


def one_pass(cv2, path, params):
    cap = cv2.VideoCapture(path, cv2.CAP_FFMPEG, params) if params else cv2.VideoCapture(path, cv2.CAP_FFMPEG)
    if not cap.isOpened():
        raise RuntimeError(f"cannot open {path}")
    frames = 0
    start, cpu_start, process_start = time.perf_counter(), time.thread_time(), time.process_time()
    while True:
        ok, _ = cap.read()
        if not ok:
            break
        frames += 1
    elapsed, cpu = time.perf_counter() - start, time.thread_time() - cpu_start
    process = time.process_time() - process_start
    cap.release()
    return frames, elapsed, cpu, process


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--input", required=True, help="video file")
    p.add_argument("--passes", type=int, default=3)
    p.add_argument("--threads", type=int, default=1, help="FFmpeg decoding threads")
    args = p.parse_args()
    # Must be set before cv2 opens a capture: FFmpeg reads it per open.
    os.environ["OPENCV_FFMPEG_CAPTURE_OPTIONS"] = f"threads;{args.threads}"
    try:
        import cv2
    except ImportError as e:
        print(json.dumps({"peer": "opencv", "error": f"cannot import cv2: {e}"}))
        return 2
    cv2.setNumThreads(1)
    threads_property = hasattr(cv2, "CAP_PROP_N_THREADS")
    params = [cv2.CAP_PROP_N_THREADS, args.threads] if threads_property else None
    try:
        one_pass(cv2, args.input, params)  # warm-up: page cache, library init
        best = None
        for _ in range(args.passes):
            frames, elapsed, cpu, process = one_pass(cv2, args.input, params)
            fps = frames / elapsed
            if best is None or fps > best[1]:
                best = (frames, fps, frames / cpu, frames / process)
    except RuntimeError as e:
        print(json.dumps({"peer": "opencv", "error": str(e)}))
        return 1
    print(json.dumps({
        "peer": "opencv",
        "version": cv2.__version__,
        "frames": best[0],
        "fps": best[1],
        "cpu_fps": best[2],
        "process_cpu_fps": best[3],
        "threads_property": threads_property,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
