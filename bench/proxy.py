#!/usr/bin/env python3
"""Pull-through cache: pull times through Berth's cache against the alternatives.

Starts an upstream registry on loopback (Berth by default, or Debian's docker-registry with
--upstream distribution) holding one image with a --layer-mib layer, then measures (median of
--runs):

  direct_s       pull (manifest + blobs) straight from the upstream
  cold_s         pull through a Berth mirror with an empty cache (a fresh mirror per run)
  warm_s         pull through that mirror once cached (from 0.5 s after the cold pull, when its
                 fetch has committed; three per mirror)
  normal_s       pull from a plain Berth that holds the image (the upstream when it is Berth),
                 paired with each warm pull: after one untimed pull of the plain Berth (the
                 first pull after an idle moment is slower, whichever server answers), the
                 pairs run in alternating order (warm first, normal first, warm first)
  cold_ratio     cold_s / direct_s      (the issue asks for at most 1.2)
  warm_ratio     warm_s / normal_s      (the issue asks for about 1)

  python3 bench/proxy.py --berth build/berth [--upstream distribution] [--layer-mib 256]
                         [--upstream-mbps 1000] [--tagttl 1m]

--upstream-mbps N puts the upstream behind a link of N Mbit/s (a mirror's upstream is remote by
definition): a relay on 127.0.0.1, in a process of its own, paces the bytes of every connection
to the upstream, in both directions, through one shared budget per direction (one link). Both the
direct pull and the mirror's fetches go through it; the normal pull (a local registry) does not.
Without it everything runs on loopback, where a cold pull through any cache that writes and
verifies what it serves is bound by the machine's CPU rather than by the transfer.

--tagttl D sets the mirror's berth.proxy.tagttl: without it the mirror asks the upstream about the
tag (one HEAD, through the link) on every pull as registry:2 does, so a warm pull costs that round
trip more than a normal one.

Prints one JSON object; --out also writes it to a file. Each pull reads every body to the end
(no hashing: only the transfer is timed; the first pull of each kind is verified by digest).
"""

import argparse
import asyncio
import hashlib
import multiprocessing
import http.client
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time


def start(cmd, config_text, workdir, name, fixed_port=0):
    cfg = os.path.join(workdir, name + ".yml")
    with open(cfg, "w") as f:
        f.write(config_text)
    log = open(os.path.join(workdir, name + ".log"), "w+")
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
    p = subprocess.Popen(cmd + ["serve", cfg], stdout=log, stderr=subprocess.STDOUT, env=env)
    deadline = time.time() + 20
    while time.time() < deadline:
        log.seek(0)
        if fixed_port:  # Distribution at warn level does not log where it listens: ask it
            try:
                request(fixed_port, "GET", "/v2/")
                return p, fixed_port
            except OSError:
                pass
        m = re.search(r"listening on 127\.0\.0\.1:(\d+)", log.read())
        if m and m.group(1) != "0":
            return p, int(m.group(1))
        if p.poll() is not None:
            break
        time.sleep(0.05)
    log.seek(0)
    sys.exit(f"{name} did not start:\n{log.read()[-2000:]}")


async def _relay(listen_sock, target_port, rate, ready):
    # One pacing clock per direction: a byte leaves no earlier than the link could have carried
    # it after the bytes before it (serialisation delay at `rate` bytes/s).
    clocks = {"down": 0.0, "up": 0.0}
    loop = asyncio.get_running_loop()

    async def pipe(reader, writer, direction):
        try:
            while True:
                data = await reader.read(256 << 10)
                if not data:
                    break
                now = loop.time()
                clocks[direction] = max(clocks[direction], now) + len(data) / rate
                if clocks[direction] > now:
                    await asyncio.sleep(clocks[direction] - now)
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    async def serve(cr, cw):
        try:
            ur, uw = await asyncio.open_connection("127.0.0.1", target_port)
        except OSError:
            cw.close()
            return
        await asyncio.gather(pipe(cr, uw, "up"), pipe(ur, cw, "down"))

    server = await asyncio.start_server(serve, sock=listen_sock)
    ready.send(True)
    async with server:
        await server.serve_forever()


def _relay_main(listen_sock, target_port, rate, ready):
    asyncio.run(_relay(listen_sock, target_port, rate, ready))


def start_relay(target_port, mbps):
    """A paced TCP relay on 127.0.0.1 in front of target_port: (process, port)."""
    import socket
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    port = sock.getsockname()[1]
    ours, theirs = multiprocessing.Pipe()
    p = multiprocessing.Process(target=_relay_main,
                                args=(sock, target_port, mbps * 1e6 / 8, theirs), daemon=True)
    p.start()
    sock.close()
    if not ours.poll(20):
        sys.exit("the relay did not start")
    return p, port


def free_port():
    """A port nobody listens on now (for Distribution, which does not log the port it got for :0)."""
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def config(root, extra="", port=0):
    return (f"version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\n"
            f"storage:\n  filesystem:\n    rootdirectory: {root}\n"
            f"http:\n  addr: 127.0.0.1:{port}\n{extra}")


def request(port, method, path, body=None, headers=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    c.request(method, path, body=body, headers=headers or {})
    r = c.getresponse()
    data = r.read()
    c.close()
    return r, data


def push(port, repo, layer_mib):
    config_blob = b'{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}'
    layer = os.urandom(1 << 20) * layer_mib  # repeated random MiB: cheap to make
    descs = []
    for blob, mt in ((config_blob, "application/vnd.oci.image.config.v1+json"),
                     (layer, "application/vnd.oci.image.layer.v1.tar")):
        d = "sha256:" + hashlib.sha256(blob).hexdigest()
        r, _ = request(port, "POST", f"/v2/{repo}/blobs/uploads/")
        loc = r.getheader("Location")
        loc = re.sub(r"^https?://[^/]+", "", loc)
        sep = "&" if "?" in loc else "?"
        r, body = request(port, "PUT", f"{loc}{sep}digest={d}", body=blob,
                          headers={"Content-Type": "application/octet-stream"})
        assert r.status == 201, (r.status, body)
        descs.append({"mediaType": mt, "digest": d, "size": len(blob)})
    manifest = json.dumps({"schemaVersion": 2,
                           "mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "config": descs[0], "layers": [descs[1]]}).encode()
    r, body = request(port, "PUT", f"/v2/{repo}/manifests/latest", body=manifest,
                      headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"})
    assert r.status == 201, (r.status, body)
    return [d["digest"] for d in descs]


def pull(port, repo, verify=False):
    t0 = time.perf_counter()
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    c.request("GET", f"/v2/{repo}/manifests/latest",
              headers={"Accept": "application/vnd.oci.image.manifest.v1+json"})
    r = c.getresponse()
    m = json.loads(r.read())
    assert r.status == 200, r.status
    for desc in [m["config"]] + m["layers"]:
        c.request("GET", f"/v2/{repo}/blobs/{desc['digest']}")
        r = c.getresponse()
        assert r.status == 200, (r.status, desc)
        h = hashlib.sha256() if verify else None
        n = 0
        while True:
            chunk = r.read(1 << 20)
            if not chunk:
                break
            n += len(chunk)
            if h:
                h.update(chunk)
        assert n == desc["size"], (n, desc)
        if h:
            assert "sha256:" + h.hexdigest() == desc["digest"], desc
    c.close()
    return time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--berth", default="build/berth")
    ap.add_argument("--upstream", choices=["berth", "distribution"], default="berth")
    ap.add_argument("--distribution", default="/usr/bin/docker-registry")
    ap.add_argument("--layer-mib", type=int, default=256)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--upstream-mbps", type=float, default=0,
                    help="put the upstream behind a link of this many Mbit/s (0: loopback)")
    ap.add_argument("--tagttl", default="",
                    help="berth.proxy.tagttl of the mirror (default: none, a HEAD upstream per pull "
                         "as registry:2 does)")
    ap.add_argument("--out")
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="berth-proxy-bench-")
    procs = []
    try:
        up_cmd = [a.berth] if a.upstream == "berth" else [a.distribution]
        fixed = 0 if a.upstream == "berth" else free_port()
        up, up_port = start(up_cmd, config(os.path.join(work, "up"), port=fixed), work, "upstream",
                            fixed_port=fixed)
        procs.append(up)
        push(up_port, "library/bench", a.layer_mib)
        plain = up_port
        if a.upstream != "berth":
            p, plain = start([a.berth], config(os.path.join(work, "plain")), work, "plain")
            procs.append(p)
            push(plain, "library/bench", a.layer_mib)
        remote = up_port
        if a.upstream_mbps > 0:
            relay, remote = start_relay(up_port, a.upstream_mbps)
            procs.append(relay)
        pull(remote, "library/bench", verify=True)
        direct = [pull(remote, "library/bench") for _ in range(a.runs)]
        normal = []
        cold, warm = [], []
        for i in range(a.runs):
            root = os.path.join(work, f"mirror{i}")
            p, port = start([a.berth],
                            config(root, f"proxy:\n  remoteurl: http://127.0.0.1:{remote}\n" +
                                   (f"berth:\n  proxy:\n    tagttl: {a.tagttl}\n"
                                    if a.tagttl else "")),
                            work, f"mirror{i}")
            cold.append(pull(port, "library/bench", verify=(i == 0)))
            # The cache holds the image once the fetch has committed, a moment after the cold
            # pull's last byte. The first pull after that idle moment is slower whichever server
            # answers it (about +10 ms on 64 MiB here, a normal pull as much as a warm one), so
            # an untimed pull of the plain registry (not the mirror: any cost of a fresh mirror
            # stays in warm_s) takes it, and each pair's order alternates (W N, N W, W N) so that
            # neither side always runs first or always follows the other.
            time.sleep(0.5)
            pull(plain, "library/bench")
            for k in range(3):
                pair = [(warm, port), (normal, plain)]
                for times, target in (reversed(pair) if k % 2 else pair):
                    times.append(pull(target, "library/bench"))
            p.terminate()
            p.wait(timeout=30)
            shutil.rmtree(root, ignore_errors=True)
        med = statistics.median
        out = {
            "upstream": a.upstream,
            "layer_mib": a.layer_mib,
            "upstream_mbps": a.upstream_mbps or None,
            "tagttl": a.tagttl or None,
            "runs": a.runs,
            "direct_s": round(med(direct), 4),
            "cold_s": round(med(cold), 4),
            "warm_s": round(med(warm), 4),
            "normal_s": round(med(normal), 4),
        }
        out["cold_ratio"] = round(out["cold_s"] / out["direct_s"], 3)
        out["warm_ratio"] = round(out["warm_s"] / out["normal_s"], 3)
        print(json.dumps(out))
        if a.out:
            with open(a.out, "w") as f:
                json.dump(out, f)
    finally:
        for p in procs:
            p.terminate()
            if isinstance(p, multiprocessing.Process):
                p.join(timeout=30)
                continue
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
