#!/usr/bin/env python3
"""Variants of the shipped YOLOX-Nano model for tract, and their detections against the float
model's (issue 19: what could bring tract within 1.5x of onnxruntime).

Usage (pip install onnx onnxruntime numpy opencv-python-headless):

  bench/yolox_variants.py quantize dynamic OUT.onnx    # ConvInteger, weights uint8
  bench/yolox_variants.py quantize static OUT.onnx     # QLinearConv, calibrated on street-a
      [--per-channel]   # one scale per output channel (int8 weights)
      [--keep-float]    # the stem and the head's prediction convolutions stay float
      [--qdq]           # static only: QuantizeLinear/DequantizeLinear pairs around float
                        # operators instead of QLinearConv (and onnxruntime's QLinearConcat)
  bench/yolox_variants.py compare OUT.onnx             # variant against the shipped model
  bench/yolox_variants.py compare --fit models/yolox_nano.onnx
      # the shipped model on a 416x256 input (the frame's letterbox without its padding
      # rows, rounded up to a multiple of 32) against the same model on 416x416

The frames: every 50th of ../shared/media/street-a.mp4 (`--video`), letterboxed as semaforo does
(scale = min(416/w, 416/h), bilinear, top left, padding 114, BGR 0..255). `compare` runs both
models with onnxruntime on one thread, decodes both outputs the same way (road-user classes,
score = objectness x class score >= 0.3, NMS 0.45 across vehicles), pairs each reference
detection with the variant's best overlap of the same group, and prints one JSON line: frames,
detections of each, unpaired ones (IoU < 0.5), the largest and mean corner difference of the
pairs in frame pixels, the largest score difference. Generated models are for measurement:
the project ships only `models/yolox_nano.onnx`.
"""
import argparse
import json
import sys

SIDE = 416
STRIDES = (8, 16, 32)
VEHICLES = (1, 2, 3, 5, 7)
MIN_SCORE = 0.3
NMS_IOU = 0.45


def frames(np, cv2, video, step):
    capture = cv2.VideoCapture(video)
    index = 0
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        if index % step == 0:
            yield frame
        index += 1


def letterbox(np, cv2, frame, fit):
    """The network input of a BGR frame, and the resized picture's size."""
    h, w = frame.shape[:2]
    scale = min(SIDE / w, SIDE / h)
    rw, rh = max(1, int(w * scale)), max(1, int(h * scale))
    iw, ih = (-(-rw // 32) * 32, -(-rh // 32) * 32) if fit else (SIDE, SIDE)
    canvas = np.full((ih, iw, 3), 114.0, dtype=np.float32)
    canvas[:rh, :rw] = cv2.resize(frame, (rw, rh), interpolation=cv2.INTER_LINEAR)
    return canvas.transpose(2, 0, 1)[None].copy(), (w / rw, h / rh)


def iou(np, box, boxes):
    x1 = np.maximum(box[0], boxes[:, 0])
    y1 = np.maximum(box[1], boxes[:, 1])
    x2 = np.minimum(box[2], boxes[:, 2])
    y2 = np.minimum(box[3], boxes[:, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area = lambda b: (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])
    return inter / np.maximum(area(box) + area(boxes) - inter, 1e-9)


def decode(np, output, input_shape, scale):
    """Vehicles (class, score, box in frame pixels) of one raw output, strongest first."""
    ih, iw = input_shape
    gx, gy, st = [], [], []
    for s in STRIDES:
        ys, xs = np.meshgrid(np.arange(ih // s), np.arange(iw // s), indexing="ij")
        gx.append(xs.reshape(-1))
        gy.append(ys.reshape(-1))
        st.append(np.full(xs.size, s))
    gx, gy, st = (np.concatenate(v).astype(np.float32) for v in (gx, gy, st))
    a = output.reshape(-1, 85)
    scores = a[:, 4:5] * a[:, 5:]
    cls = np.array(VEHICLES)[np.argmax(scores[:, VEHICLES], axis=1)]
    best = scores[np.arange(len(a)), cls]
    keep = best >= MIN_SCORE
    cx, cy = (a[:, 0] + gx) * st, (a[:, 1] + gy) * st
    w, h = np.exp(a[:, 2]) * st, np.exp(a[:, 3]) * st
    boxes = np.stack([(cx - w / 2) * scale[0], (cy - h / 2) * scale[1],
                      (cx + w / 2) * scale[0], (cy + h / 2) * scale[1]], axis=1)
    boxes, cls, best = boxes[keep], cls[keep], best[keep]
    order = np.argsort(-best)
    kept = []
    for i in order:
        if not kept or iou(np, boxes[i], boxes[kept]).max() <= NMS_IOU:
            kept.append(i)
    return [(int(cls[i]), float(best[i]), boxes[i]) for i in kept]


def session(ort, model):
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])


def any_shape(onnx, path):
    """The model with its intermediate and output shapes dropped and its input's height and
    width left open, serialised."""
    model = onnx.load(path)
    del model.graph.value_info[:]
    for dim in list(model.graph.input[0].type.tensor_type.shape.dim)[2:]:
        dim.dim_param = "side"
    model.graph.output[0].type.tensor_type.shape.dim[1].dim_param = "anchors"
    return model.SerializeToString()


def compare(np, cv2, onnx, ort, args):
    reference = session(ort, args.reference)
    variant = session(ort, any_shape(onnx, args.model) if args.fit else args.model)
    counts = [0, 0]
    unpaired, corners, scores, frames_seen = 0, [], [], 0
    for frame in frames(np, cv2, args.video, args.step):
        frames_seen += 1
        runs = []
        for s, fit in ((reference, False), (variant, args.fit)):
            tensor, scale = letterbox(np, cv2, frame, fit)
            output = s.run(None, {s.get_inputs()[0].name: tensor})[0]
            runs.append(decode(np, output, tensor.shape[2:], scale))
        ours, theirs = runs
        counts[0] += len(ours)
        counts[1] += len(theirs)
        used = set()
        for _, score, box in ours:
            candidates = [(iou(np, box, b[None])[0], j) for j, (_, _, b) in enumerate(theirs)
                          if j not in used]
            overlap, j = max(candidates, default=(0.0, None))
            if j is None or overlap < 0.5:
                unpaired += 1
                continue
            used.add(j)
            corners.append(float(np.abs(theirs[j][2] - box).max()))
            scores.append(abs(theirs[j][1] - score))
        unpaired += len(theirs) - len(used)
    print(json.dumps({
        "frames": frames_seen,
        "reference_detections": counts[0],
        "variant_detections": counts[1],
        "unpaired": unpaired,
        "max_corner_px": round(max(corners, default=0.0), 2),
        "mean_corner_px": round(sum(corners) / max(len(corners), 1), 3),
        "max_score_difference": round(max(scores, default=0.0), 4),
    }))


def quantize(np, cv2, args):
    from onnxruntime import quantization as q

    import onnx

    convs = [n for n in onnx.load(args.reference).graph.node if n.op_type == "Conv"]
    keep = [convs[0].name] + [n.name for n in convs
                              if n.input[1].startswith("head.") and "_preds" in n.input[1]]
    keep = keep if args.keep_float else []
    weights = q.QuantType.QInt8 if args.per_channel else q.QuantType.QUInt8
    if args.kind == "dynamic":
        q.quantize_dynamic(args.reference, args.out, weight_type=weights,
                           per_channel=args.per_channel, nodes_to_exclude=keep)
        return

    class StreetFrames(q.CalibrationDataReader):
        def __init__(self):
            self.tensors = iter([letterbox(np, cv2, f, False)[0]
                                 for f in frames(np, cv2, args.video, args.step)])

        def get_next(self):
            tensor = next(self.tensors, None)
            return None if tensor is None else {"images": tensor}

    q.quantize_static(args.reference, args.out, StreetFrames(),
                      quant_format=q.QuantFormat.QDQ if args.qdq else q.QuantFormat.QOperator,
                      activation_type=q.QuantType.QUInt8, weight_type=q.QuantType.QInt8,
                      per_channel=args.per_channel, nodes_to_exclude=keep)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--reference", default="models/yolox_nano.onnx")
    p.add_argument("--video", default="../shared/media/street-a.mp4")
    p.add_argument("--step", type=int, default=50, help="every n-th frame")
    sub = p.add_subparsers(dest="command", required=True)
    qp = sub.add_parser("quantize")
    qp.add_argument("kind", choices=["dynamic", "static"])
    qp.add_argument("out")
    qp.add_argument("--per-channel", action="store_true")
    qp.add_argument("--qdq", action="store_true")
    qp.add_argument("--keep-float", action="store_true",
                    help="leave the stem and the head's prediction convolutions in float")
    cp = sub.add_parser("compare")
    cp.add_argument("model")
    cp.add_argument("--fit", action="store_true",
                    help="run the model on the letterbox rounded up to multiples of 32")
    args = p.parse_args()
    try:
        import cv2
        import numpy as np
        import onnx
        import onnxruntime as ort
    except ImportError as e:
        print(f"cannot import {e.name}: pip install onnx onnxruntime numpy opencv-python-headless",
              file=sys.stderr)
        return 2
    if args.command == "quantize":
        quantize(np, cv2, args)
    else:
        compare(np, cv2, onnx, ort, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
