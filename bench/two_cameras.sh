#!/usr/bin/env bash
# Two cameras on real footage, as issue 19 measures them: `semaforo run` with two cameras of
# `auto` on street-a (both `file:...?loop=true`, zones/street-a.toml), for SECONDS (default 60)
# of real time under GNU time, once at the default detection.rate (4) and once with the network
# on every analysed frame (DETECTION_RATE=60, what the daemon did before the rate existed), in
# the same run so that the ratio holds on a shared machine. The clip is 60 fps; the issue asks
# for 15 fps capture, so a 15 fps copy is made first with ffmpeg (H.264, same size).
#
#   bench/two_cameras.sh [SECONDS]    (from the repository, after cargo build --release;
#   RATES="3 4 60" to measure other rates; BIN=path/to/semaforo to measure another build)
#
# Prints, per run: user+system CPU seconds and cores, peak RSS, and each camera's cost line
# from performance.log (network rate, frames read and analysed a second, detector time, its
# thread's share of a core).
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_TO_RUN=${1:-60}
BIN=${BIN:-$PWD/target/release/semaforo}
CLIP=$PWD/../shared/media/street-a.mp4
[ -x "$BIN" ] || { echo "build first: cargo build --release" >&2; exit 1; }
[ -f "$CLIP" ] || { echo "missing $CLIP (the shared footage)" >&2; exit 1; }
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
ffmpeg -loglevel error -i "$CLIP" -r 15 -c:v libx264 -profile:v high -crf 18 -an "$WORK/street-a-15.mp4"
for rate in ${RATES:-4 60}; do
    dir="$WORK/rate-$rate"
    mkdir -p "$dir"
    (
        cd "$dir"
        env CAMERA_A_SOURCE="file:$WORK/street-a-15.mp4?loop=true" \
            CAMERA_B_SOURCE="file:$WORK/street-a-15.mp4?loop=true" \
            CAMERA_A_ZONES="$OLDPWD/zones/street-a.toml" CAMERA_B_ZONES="$OLDPWD/zones/street-a.toml" \
            DETECTION_MODEL="$OLDPWD/models/yolox_nano.onnx" DETECTION_RATE=$rate \
            HTTP_ADDR=off SAVE_FRAMES=false LOG_TO_CONSOLE=false \
            /usr/bin/time -v "$BIN" run --for "${SECONDS_TO_RUN}s" >/dev/null 2>time.txt
    )
    cpu=$(awk -F': ' '/User time|System time/ {s += $2} END {print s}' "$dir/time.txt")
    rss=$(awk -F': ' '/Maximum resident/ {print $2}' "$dir/time.txt")
    cores=$(awk -v c="$cpu" -v s="$SECONDS_TO_RUN" 'BEGIN {printf "%.3f", c / s}')
    echo "detection.rate=$rate: CPU $cpu s in ${SECONDS_TO_RUN} s = $cores cores, peak RSS $((rss / 1024)) MB"
    grep "over=run" "$dir/logs/performance.log" | sed 's/.*camera cost /  /'
done
