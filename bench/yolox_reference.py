#!/usr/bin/env python3
"""Reference for semaforo's `yolox` detector: onnxruntime on the same input tensors.

The Rust test (crates/semaforo-vision/tests/yolox.rs) writes the letterboxed network inputs of
a few frames (raw little-endian float32, N x 3 x 416 x 416) and, per frame, the frame's size
and the letterboxed image's size. This script runs YOLOX-Nano on each input with onnxruntime
(one thread, so the run is repeatable), writes the raw outputs (N x 3549 x 85 float32), and
decodes them independently of the Rust code (numpy): best road-user class per anchor, score =
objectness x class score, threshold, boxes back to frame pixels and clipped, greedy
non-maximum suppression across the vehicle classes and among persons. Detections go to a JSON
file: a list per frame of {"class": COCO index, "score": ..., "box": [x1, y1, x2, y2]}.

Exit codes: 0 done, 2 onnxruntime or numpy cannot be imported (the message says which), 1 any
other failure.
"""
import argparse
import json
import sys

INPUT = 416
ANCHORS = 3549
VALUES = 85
STRIDES = (8, 16, 32)
VEHICLES = (1, 2, 3, 5, 7)  # bicycle, car, motorcycle, bus, truck
PERSON = 0


def grids(np):
    gx, gy, st = [], [], []
    for s in STRIDES:
        side = INPUT // s
        ys, xs = np.meshgrid(np.arange(side), np.arange(side), indexing="ij")
        gx.append(xs.reshape(-1))
        gy.append(ys.reshape(-1))
        st.append(np.full(side * side, s))
    return (np.concatenate(gx).astype(np.float32), np.concatenate(gy).astype(np.float32),
            np.concatenate(st).astype(np.float32))


def iou(np, box, boxes):
    w = np.clip(np.minimum(box[2], boxes[:, 2]) - np.maximum(box[0], boxes[:, 0]), 0, None)
    h = np.clip(np.minimum(box[3], boxes[:, 3]) - np.maximum(box[1], boxes[:, 1]), 0, None)
    inter = w * h
    area = lambda b: np.clip(b[..., 2] - b[..., 0], 0, None) * np.clip(b[..., 3] - b[..., 1], 0, None)
    union = area(box) + area(boxes) - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0)


def decode(np, out, frame_w, frame_h, lw, lh, min_score, nms_iou, include_person):
    classes = np.array(((PERSON,) if include_person else ()) + VEHICLES)
    gx, gy, st = grids(np)
    scores_by_class = out[:, 5 + classes]
    best = scores_by_class.argmax(axis=1)
    score = out[:, 4] * scores_by_class[np.arange(ANCHORS), best]
    keep = score >= min_score
    cx = (out[:, 0] + gx) * st
    cy = (out[:, 1] + gy) * st
    w = np.exp(out[:, 2]) * st
    h = np.exp(out[:, 3]) * st
    sx, sy = np.float32(frame_w) / np.float32(lw), np.float32(frame_h) / np.float32(lh)
    boxes = np.stack([
        np.clip((cx - w * 0.5) * sx, 0, frame_w), np.clip((cy - h * 0.5) * sy, 0, frame_h),
        np.clip((cx + w * 0.5) * sx, 0, frame_w), np.clip((cy + h * 0.5) * sy, 0, frame_h),
    ], axis=1)[keep]
    cls = classes[best][keep]
    score = score[keep]
    order = np.argsort(-score, kind="stable")
    kept = []
    for i in order:
        group = cls[i] == PERSON
        others = [k for k in kept if (cls[k] == PERSON) == group]
        if others and (iou(np, boxes[i], boxes[others]) > nms_iou).any():
            continue
        kept.append(i)
    return [{"class": int(cls[k]), "score": float(score[k]),
             "box": [float(v) for v in boxes[k]]} for k in kept]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--model", required=True)
    p.add_argument("--input", required=True, help="raw float32 N x 3 x 416 x 416")
    p.add_argument("--frames", required=True,
                   help="comma-separated FRAME_WxFRAME_H:LETTERBOX_WxLETTERBOX_H per frame")
    p.add_argument("--raw-output", required=True, help="where to write N x 3549 x 85 float32")
    p.add_argument("--detections", required=True, help="where to write the JSON detections")
    p.add_argument("--min-score", type=float, default=0.3)
    p.add_argument("--nms-iou", type=float, default=0.45)
    p.add_argument("--include-person", action="store_true")
    args = p.parse_args()
    try:
        import numpy as np
        import onnxruntime as ort
    except ImportError as e:
        print(f"cannot import {e.name}: pip install onnxruntime numpy", file=sys.stderr)
        return 2
    frames = []
    for item in args.frames.split(","):
        size, box = item.split(":")
        fw, fh = (int(v) for v in size.split("x"))
        lw, lh = (int(v) for v in box.split("x"))
        frames.append((fw, fh, lw, lh))
    inputs = np.fromfile(args.input, dtype="<f4").reshape(len(frames), 1, 3, INPUT, INPUT)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(args.model, options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    outputs, detections = [], []
    for tensor, (fw, fh, lw, lh) in zip(inputs, frames):
        out = session.run(None, {name: tensor})[0].reshape(ANCHORS, VALUES)
        outputs.append(out)
        detections.append(decode(np, out, fw, fh, lw, lh, np.float32(args.min_score),
                                 args.nms_iou, args.include_person))
    np.stack(outputs).astype("<f4").tofile(args.raw_output)
    with open(args.detections, "w") as f:
        json.dump({"onnxruntime": ort.__version__, "frames": detections}, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
