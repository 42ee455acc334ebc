#!/usr/bin/env python3
"""The delay no signal timing can remove, per shipped single-intersection scenario.

Each approach's demand runs alone through the intersection with every light green for the
hour (no conflicting traffic, no change of signal), with the seeds and step length that
`semaforo sim` uses. What the vehicles still lose against free flow (SUMO's `timeLoss`: the
drivers' imperfection, turning speeds, following in platoons) is the floor under any
controller's mean delay. The rest of a controller's delay is what its timing causes.

Usage: bench/sim/floor.py [--seeds 5] (needs `sumo` on PATH: apt-get install sumo).
Prints, per scenario, the floor in seconds per vehicle (mean over seeds, vehicles weighted).
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
SCENARIOS = os.path.join(HERE, "..", "..", "scenarios")
SINGLE = {
    "two-approach": ["balanced", "asymmetric", "time-varying", "surge"],
    "four-arm": ["balanced", "asymmetric", "time-varying", "surge"],
}


def links_of(net):
    """The number of links the network's traffic light "C" controls."""
    text = open(net, encoding="utf-8").read()
    m = re.search(r'<tlLogic id="C"[^>]*>\s*<phase[^>]*state="([^"]+)"', text)
    if not m:
        sys.exit(f"{net}: no traffic light 'C' with a phase")
    return len(m.group(1))


def approaches_of(routes_text):
    """The approaches (the first edge of each route), in order of appearance."""
    seen = []
    for edges in re.findall(r'<route id="[^"]*" edges="([^"]+)"', routes_text):
        first = edges.split()[0]
        if first not in seen:
            seen.append(first)
    return seen


def only_approach(routes_text, approach):
    """The demand with only the flows whose route starts on `approach`."""
    routes = dict(re.findall(r'<route id="([^"]*)" edges="([^"]+)"', routes_text))

    def keep(m):
        route = re.search(r'route="([^"]+)"', m.group(0)).group(1)
        return m.group(0) if routes[route].split()[0] == approach else ""

    return re.sub(r"\s*<flow [^>]*/>", keep, routes_text)


def time_loss(workdir, net, routes, additional, seed):
    out = os.path.join(workdir, "tripinfo.xml")
    subprocess.run(
        ["sumo", "-n", net, "-r", routes, "-a", additional, "--tripinfo-output", out,
         "--seed", str(seed), "--step-length", "0.5", "--end", "3600",
         "--no-step-log", "--no-warnings"],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    losses = [float(t.get("timeLoss")) for t in ET.parse(out).getroot().iter("tripinfo")]
    return sum(losses), len(losses)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()
    if shutil.which("sumo") is None:
        sys.exit("floor.py: `sumo` is not on PATH (apt-get install sumo)")
    with tempfile.TemporaryDirectory(prefix="semaforo-floor-") as work:
        for network, demands in SINGLE.items():
            net = os.path.join(SCENARIOS, network, f"{network}.net.xml")
            green = os.path.join(work, "green.add.xml")
            with open(green, "w", encoding="utf-8") as f:
                f.write('<additional><tlLogic id="C" type="static" programID="green" '
                        f'offset="0"><phase duration="3600" state="{"G" * links_of(net)}"/>'
                        "</tlLogic></additional>\n")
            for demand in demands:
                text = open(os.path.join(SCENARIOS, network, f"{demand}.rou.xml"),
                            encoding="utf-8").read()
                total, vehicles = 0.0, 0
                for approach in approaches_of(text):
                    one = os.path.join(work, "one.rou.xml")
                    with open(one, "w", encoding="utf-8") as f:
                        f.write(only_approach(text, approach))
                    for seed in range(1, args.seeds + 1):
                        loss, n = time_loss(work, net, one, green, seed)
                        total += loss
                        vehicles += n
                print(f"{network}-{demand}: {total / vehicles:.2f} s per vehicle "
                      f"({vehicles} vehicles over {args.seeds} seeds)")


if __name__ == "__main__":
    main()
