#!/usr/bin/env python3
"""Peer benchmark for semaforo's background-model detector (bgsub): OpenCV's MOG2 pipeline.

Decodes the first --frames frames of the clip into memory (not timed), then times what a
typical OpenCV vehicle counter does per frame: BackgroundSubtractorMOG2 (history 500,
varThreshold 16, shadows detected), shadows dropped (threshold at 200), a 3x3 opening and
closing, external contours, their bounding boxes filtered by area. --scale 2 first shrinks
each frame to half size with INTER_AREA (timed too), the same work the Rust side does by
default. cv2.setNumThreads(--threads) (1 = one thread; 0 = OpenCV's default). --warmup
untimed passes first (OpenCV's one-time start-up costs are not the pipeline's), then the best
of --passes timed passes.
Prints one JSON line: {"peer": "opencv-mog2", "version", "frames", "fps", "blobs"}.
"""
import argparse
import json
import sys
import time


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--input", required=True)
    p.add_argument("--frames", type=int, default=300)
    p.add_argument("--scale", type=int, default=1)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--passes", type=int, default=3)
    p.add_argument("--warmup", type=int, default=1)
    args = p.parse_args()
    try:
        import cv2
    except ImportError as e:
        print(json.dumps({"peer": "opencv-mog2", "error": f"cannot import cv2: {e}"}))
        return 2
    if args.threads > 0:
        cv2.setNumThreads(args.threads)
    cap = cv2.VideoCapture(args.input)
    frames = []
    while len(frames) < args.frames:
        ok, f = cap.read()
        if not ok:
            break
        frames.append(f)
    cap.release()
    if not frames:
        print(json.dumps({"peer": "opencv-mog2", "error": f"no frames from {args.input}"}))
        return 1
    h, w = frames[0].shape[:2]
    min_area = 0.0015 * (w // args.scale) * (h // args.scale)
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (3, 3))
    best, blobs = None, 0
    for timed in [False] * args.warmup + [True] * args.passes:
        mog = cv2.createBackgroundSubtractorMOG2(history=500, varThreshold=16, detectShadows=True)
        blobs = 0
        start = time.perf_counter()
        for f in frames:
            if args.scale > 1:
                f = cv2.resize(f, (w // args.scale, h // args.scale), interpolation=cv2.INTER_AREA)
            mask = mog.apply(f)
            _, mask = cv2.threshold(mask, 200, 255, cv2.THRESH_BINARY)
            mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, kernel)
            mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, kernel)
            contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
            for c in contours:
                if cv2.contourArea(c) >= min_area:
                    cv2.boundingRect(c)
                    blobs += 1
        fps = len(frames) / (time.perf_counter() - start)
        if timed:
            best = fps if best is None else max(best, fps)
    print(json.dumps({"peer": "opencv-mog2", "version": cv2.__version__, "frames": len(frames),
                      "fps": best, "blobs": blobs}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
