#!/usr/bin/env python3
"""Peer benchmark for semaforo's `yolox` detector: YOLOX-Nano inference with onnxruntime.

Runs the model on the network inputs the Rust benchmark wrote (raw little-endian float32,
N x 3 x 416 x 416, or N x 3 x H x W with `--shape H,W`: street-a frames letterboxed exactly as
semaforo does; another shape than the 416x416 the model declares needs the `onnx` package, to
leave the input's height and width open in a copy held in memory), with all graph
optimisations (or up to `--optimization`, to see what the NCHWc layout brings), on `--threads` intra-op threads (0: onnxruntime's default, one per core).
Times each `session.run` alone (inference only, as the Rust side's figure for the network) after
a warm-up, `--passes` times over the inputs. Prints one JSON line: {"peer": "onnxruntime",
"version": ..., "threads": ..., "runs": ..., "median_ms": ..., "min_ms": ...}, or
{"peer": "onnxruntime", "error": ...}.
"""
import argparse
import json
import sys
import time


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--model", required=True)
    p.add_argument("--input", required=True, help="raw float32 N x 3 x 416 x 416")
    p.add_argument("--shape", default="416,416", help="the inputs' height,width")
    p.add_argument("--threads", type=int, default=1, help="intra-op threads, 0 = default")
    p.add_argument("--passes", type=int, default=3)
    p.add_argument("--optimization", choices=["all", "extended", "basic"], default="all",
                   help="graph optimisation level; `all` adds the NCHWc layout transformation")
    args = p.parse_args()
    try:
        import numpy as np
        import onnxruntime as ort
    except ImportError as e:
        print(json.dumps({"peer": "onnxruntime",
                          "error": f"cannot import {e.name}: pip install onnxruntime numpy"}))
        return 2
    height, width = (int(v) for v in args.shape.split(","))
    inputs = np.fromfile(args.input, dtype="<f4").reshape(-1, 1, 3, height, width)
    model = args.model
    if (height, width) != (416, 416):
        try:
            import onnx
        except ImportError:
            print(json.dumps({"peer": "onnxruntime",
                              "error": "cannot import onnx (for --shape): pip install onnx"}))
            return 2
        proto = onnx.load(args.model)
        del proto.graph.value_info[:]
        for dim in list(proto.graph.input[0].type.tensor_type.shape.dim)[2:]:
            dim.dim_param = "side"
        proto.graph.output[0].type.tensor_type.shape.dim[1].dim_param = "anchors"
        model = proto.SerializeToString()
    options = ort.SessionOptions()
    options.graph_optimization_level = {
        "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
        "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
        "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
    }[args.optimization]
    options.intra_op_num_threads = args.threads
    if args.threads == 1:
        options.inter_op_num_threads = 1
    session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    for tensor in inputs[:3]:  # warm-up: allocations, caches, thread pool
        session.run(None, {name: tensor})
    times = []
    for _ in range(args.passes):
        for tensor in inputs:
            start = time.perf_counter()
            session.run(None, {name: tensor})
            times.append((time.perf_counter() - start) * 1e3)
    times.sort()
    print(json.dumps({
        "peer": "onnxruntime",
        "version": ort.__version__,
        "threads": args.threads,
        "runs": len(times),
        "median_ms": times[len(times) // 2],
        "min_ms": times[0],
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
