#!/usr/bin/env python3
"""Catalog traffic at scale: manifest-GET latency while /v2/_catalog is requested continuously.

Writes N repositories (default 50 000) straight into Distribution's filesystem layout (link files,
no HTTP: seconds, not minutes), starts Berth on one core over that directory, and measures:

  first_catalog_s      from the server answering /v2/ to the end of the first /v2/_catalog
  manifest GET p50/p99/max (ms) from berth_loadgen on the other core, for --duration seconds,
                       while one client requests /v2/_catalog back to back (each answer counted)

Every repository gets one manifest revision (the same content, so the blob store holds three
blobs); the first one, which the GETs hit, also its blob links and the tag v1. With --workdir the
seeded tree is kept and reused by the next run (compare two builds on the same data). Runs in a couple of minutes; not part of CTest or run.sh's
suite (run it by hand):

  python3 bench/catalog.py --berth build/berth --loadgen build/bench/berth_loadgen [--repos 50000]

Prints one JSON object; --out also writes it to a file.
"""

import argparse
import hashlib
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

SERVER_CORE = "0"
CLIENT_CORE = "1"


def sha256(b):
    return hashlib.sha256(b).hexdigest()


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def seed(root, count):
    """N repositories in the layout of storage/paths.h; returns (first repo name, seconds)."""
    t0 = time.time()
    v2 = os.path.join(root, "docker/registry/v2")
    config = b'{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}'
    layer = b"catalog-bench-layer"
    blobs = {}
    for data in (config, layer):
        h = sha256(data)
        blobs[h] = data
    manifest = json.dumps({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": "sha256:" + sha256(config), "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": "sha256:" + sha256(layer), "size": len(layer)}],
    }, separators=(",", ":")).encode()
    mh = sha256(manifest)
    blobs[mh] = manifest
    for h, data in blobs.items():
        write(os.path.join(v2, "blobs/sha256", h[:2], h, "data"), data)
    ch, lh = sha256(config), sha256(layer)
    names = [f"org{i // 500:03d}/app{i:05d}" for i in range(count)]
    link = ("sha256:" + mh).encode()
    for i, name in enumerate(names):
        repo = os.path.join(v2, "repositories", name)
        write(os.path.join(repo, "_manifests/revisions/sha256", mh, "link"), link)
        if i == 0:  # the one the GETs hit gets the whole image; the rest only need to be listed
            write(os.path.join(repo, "_layers/sha256", ch, "link"), ("sha256:" + ch).encode())
            write(os.path.join(repo, "_layers/sha256", lh, "link"), ("sha256:" + lh).encode())
            write(os.path.join(repo, "_manifests/tags/v1/current/link"), link)
            write(os.path.join(repo, "_manifests/tags/v1/index/sha256", mh, "link"), link)
    return names[0], time.time() - t0


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(port, path, timeout=120):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request("GET", path)
        r = c.getresponse()
        body = r.read()
        return r.status, body
    finally:
        c.close()


def wait_ready(port, proc, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"berth exited with {proc.returncode}")
        try:
            if get(port, "/v2/", timeout=2)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError("berth did not answer /v2/")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--berth", required=True)
    ap.add_argument("--loadgen", required=True)
    ap.add_argument("--repos", type=int, default=50000)
    ap.add_argument("--duration", type=float, default=30)
    ap.add_argument("--conns", type=int, default=4)
    ap.add_argument("--workdir", default="")
    ap.add_argument("--out", default="")
    args = ap.parse_args()

    work = args.workdir or tempfile.mkdtemp(prefix="catbench.")
    root = os.path.join(work, "data")
    proc = None
    try:
        first = "org000/app00000"
        if not os.path.isdir(root):
            first, seed_s = seed(root, args.repos)
            print(f"seeded {args.repos} repositories in {seed_s:.1f} s", file=sys.stderr)
        port = free_port()
        cfg = os.path.join(work, "config.yml")
        with open(cfg, "w") as f:
            f.write(f"""version: 0.1
log: {{accesslog: {{disabled: true}}, level: warn}}
storage:
  filesystem: {{rootdirectory: {root}}}
http:
  addr: 127.0.0.1:{port}
""")
        # Cold start: drop what seeding left in the page cache is not possible unprivileged; the
        # figure is the warm-cache first catalog.
        proc = subprocess.Popen(["taskset", "-c", SERVER_CORE, args.berth, "serve", cfg],
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=open(os.path.join(work, "berth.log"), "w"),
                                start_new_session=True)
        wait_ready(port, proc)
        t0 = time.time()
        status, body = get(port, "/v2/_catalog?n=100")
        first_catalog_s = time.time() - t0
        if status != 200 or len(json.loads(body)["repositories"]) != 100:
            raise RuntimeError(f"first catalog answered {status}: {body[:200]!r}")

        stop = threading.Event()
        catalog = {"requests": 0, "max_s": 0.0, "errors": 0}

        def catalog_loop():
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            last = ""
            while not stop.is_set():
                t = time.time()
                try:
                    c.request("GET", "/v2/_catalog?n=1000" + (f"&last={last}" if last else ""))
                    r = c.getresponse()
                    data = r.read()
                    if r.status != 200:
                        catalog["errors"] += 1
                        continue
                    repos = json.loads(data)["repositories"]
                    last = repos[-1] if repos and len(repos) == 1000 else ""
                except OSError:
                    catalog["errors"] += 1
                    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                    continue
                catalog["requests"] += 1
                catalog["max_s"] = max(catalog["max_s"], time.time() - t)

        th = threading.Thread(target=catalog_loop)
        os.sched_setaffinity(0, {int(CLIENT_CORE)})
        th.start()
        r = subprocess.run(["taskset", "-c", CLIENT_CORE, args.loadgen, "head", "--port", str(port),
                            "--method", "GET", "--path", f"/v2/{first}/manifests/v1",
                            "--header", "Accept: application/vnd.oci.image.manifest.v1+json",
                            "--conns", str(args.conns), "--duration", str(args.duration)],
                           capture_output=True, text=True, timeout=args.duration + 60)
        stop.set()
        th.join(timeout=120)
        gets = json.loads(r.stdout)
        result = {
            "repos": args.repos,
            "berth": os.path.abspath(args.berth),
            "first_catalog_s": round(first_catalog_s, 3),
            "manifest_get": {k: gets[k] for k in ("requests", "rps", "p50_ms", "p99_ms", "max_ms",
                                                  "non2xx", "errors")},
            "catalog_pages": catalog["requests"],
            "catalog_errors": catalog["errors"],
            "catalog_page_max_s": round(catalog["max_s"], 3),
            "duration_s": args.duration,
        }
        print(json.dumps(result, indent=1))
        if args.out:
            with open(args.out, "w") as f:
                json.dump(result, f, indent=1)
    finally:
        if proc and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if not args.workdir:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
