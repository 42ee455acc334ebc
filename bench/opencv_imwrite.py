#!/usr/bin/env python3
"""Peer benchmark for semaforo-resources' frame store: OpenCV's cv2.imwrite (libjpeg-turbo).

Reads the same frame the Rust benchmark saves (a binary PPM, so both sides get identical
pixels), writes it as JPEG at the given quality N times, and prints one JSON line:
{"peer": "opencv", "version": ..., "fps": ..., "ms_per_frame": ..., "bytes": ...,
"encode_ms_per_frame": ...} (the last is cv2.imencode alone, without the file).

OpenCV's default JPEG settings are baseline, 4:2:0 chroma subsampling, standard Huffman
tables: the same work the Rust side does.
"""
import argparse
import json
import os
import sys
import time


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--input", required=True, help="binary PPM (P6) frame")
    p.add_argument("--quality", type=int, default=85)
    p.add_argument("--iterations", type=int, default=300)
    p.add_argument("--out-dir", required=True, help="directory to write JPEGs into")
    args = p.parse_args()
    try:
        import cv2
    except ImportError as e:
        print(json.dumps({"peer": "opencv", "error": f"cannot import cv2: {e}"}))
        return 2
    frame = cv2.imread(args.input, cv2.IMREAD_COLOR)
    if frame is None:
        print(json.dumps({"peer": "opencv", "error": f"cannot read {args.input}"}))
        return 2
    params = [cv2.IMWRITE_JPEG_QUALITY, args.quality]
    # Like the original FrameBuffer: a new file per frame, the last 100 names reused.
    paths = [os.path.join(args.out_dir, f"frame_{i:03d}.jpg") for i in range(100)]
    for i in range(20):  # warm-up: page cache, allocator, library init
        cv2.imwrite(paths[i % 100], frame, params)
    start = time.perf_counter()
    for i in range(args.iterations):
        if not cv2.imwrite(paths[i % 100], frame, params):
            print(json.dumps({"peer": "opencv", "error": f"imwrite failed on {paths[i % 100]}"}))
            return 1
    elapsed = time.perf_counter() - start
    # The encoder alone, for the record: imwrite's time minus this is its file I/O.
    start = time.perf_counter()
    for _ in range(args.iterations):
        ok, encoded = cv2.imencode(".jpg", frame, params)
    encode_elapsed = time.perf_counter() - start
    print(json.dumps({
        "peer": "opencv",
        "version": cv2.__version__,
        "fps": args.iterations / elapsed,
        "ms_per_frame": elapsed * 1000 / args.iterations,
        "bytes": os.path.getsize(paths[0]),
        "encode_ms_per_frame": encode_elapsed * 1000 / args.iterations,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
