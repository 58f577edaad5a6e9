#!/usr/bin/env python3
"""Berth vs CNCF Distribution benchmark orchestrator (started by bench/run.sh; see docs/performance.md).

Starts Berth and Distribution with the same Distribution-format config.yml, each on core 0, and the load
generators on core 1; starts nginx (one process, core 0) as the ceiling for the HTTP figures; seeds both
registries through the HTTP API with berth_loadgen; then runs every figure for every side, round after
round (A B A B ...), and reports per-side medians, Berth/Distribution ratios, server CPU per unit of work,
peak RSS, and the targets. Everything listens on 127.0.0.1 only; every loop is bounded; every process it
starts is ended in `finally` (run.sh's trap is the second line of defence, from the pid file).
"""

import argparse
import datetime
import json
import os
import platform
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request

CLK_TCK = os.sysconf("SC_CLK_TCK")
SERVER_CORE = "0"
CLIENT_CORE = "1"
GB = 1e9
GIB = 1 << 30
MIB = 1 << 20
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime (fields 14 and 15)


def status_kib(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


class Procs:
    """Every process the suite starts, recorded in a pid file for run.sh's trap."""

    def __init__(self, pidfile):
        self.pidfile = pidfile
        self.procs = []

    def start(self, name, argv, logpath, cwd=None):
        logf = open(logpath, "w")
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT,
                             cwd=cwd, start_new_session=True)
        p.name, p.logpath = name, logpath
        self.procs.append(p)
        with open(self.pidfile, "a") as f:
            f.write(f"{p.pid}\n")
        return p

    def stop_all(self):
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
        deadline = time.time() + 10
        for p in self.procs:
            try:
                p.wait(timeout=max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=5)


def wait_http(url, proc, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.name} exited with {proc.returncode}; see {proc.logpath}:\n"
                               + open(proc.logpath).read()[-2000:])
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status < 500:
                    return
        except urllib.error.HTTPError as e:
            if e.code < 500:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{proc.name} did not answer {url} within {timeout} s")


def run(argv, timeout, check=True):
    r = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {r.returncode}:\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}")
    return r


def client(argv, timeout):
    return run(["taskset", "-c", CLIENT_CORE] + argv, timeout)


class Bench:
    def __init__(self, args):
        self.a = args
        self.work = args.workdir
        self.procs = Procs(os.path.join(self.work, "pids"))
        self.quick = args.quick
        self.rounds = args.rounds or (2 if self.quick else 3)
        self.dur = 2 if self.quick else 5  # seconds per request/second figure
        self.results = {}  # figure -> side -> list of sample dicts
        self.servers = {}  # side -> {"port", "proc"}
        self.meta = {}
        self.ceil = {}
        self.ceil_samples = []

    # ---- setup ---------------------------------------------------------------------------------

    def machine_facts(self):
        model = ""
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
        ver = lambda argv: run(argv, 10, check=False)
        self.meta = {
            "date": datetime.datetime.now().isoformat(timespec="seconds"),
            "command": "bash bench/run.sh" + (" --quick" if self.quick else "") +
                       (f" --rounds {self.a.rounds}" if self.a.rounds else ""),
            "nproc": os.cpu_count(),
            "cpu_model": model,
            "kernel": platform.release(),
            "mem_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / GIB, 1),
            "loadavg_start": open("/proc/loadavg").read().split()[:3],
            "rounds": self.rounds,
            "seconds_per_rate_figure": self.dur,
            "berth_binary": self.a.berth,
            "distribution": ver(["docker-registry", "--version"]).stdout.strip(),
            "nginx": ver(["nginx", "-v"]).stderr.strip(),
            "wrk": ver(["wrk", "-v"]).stdout.splitlines()[0] if ver(["wrk", "-v"]).stdout else "",
        }
        log(f"machine: {self.meta['nproc']} cores, {model}; load {self.meta['loadavg_start']}")
        if float(self.meta["loadavg_start"][0]) > 1.0:
            log("WARNING: the machine is busy (load average > 1); figures will be noisy")

    def measure_ceilings(self, rnd):
        """One-core ceilings for pushes, measured every round like the servers (the machine's speed
        drifts with its neighbours' load): SHA-256 (openssl speed, CPU time) and dd of 1 GiB."""
        r = run(["taskset", "-c", SERVER_CORE, "openssl", "speed", "-evp", "sha256", "-bytes",
                 str(MIB), "-seconds", "1" if self.quick else "2"], 60)
        m = re.search(r"^sha256\s+([\d.]+)k", r.stdout, re.M)
        c = {"sha256_gbps": float(m.group(1)) * 1000 / GB if m else None}
        for name, extra in (("dd_fdatasync_gbps", ["conv=fdatasync"]), ("dd_nosync_gbps", [])):
            path = os.path.join(self.work, "dd.bin")
            self.settle()
            t0 = time.time()
            run(["taskset", "-c", SERVER_CORE, "dd", "if=/dev/zero", f"of={path}", "bs=1M",
                 "count=1024"] + extra, 120)
            c[name] = GIB / (time.time() - t0) / GB
            os.remove(path)
        c["loadavg"] = float(open("/proc/loadavg").read().split()[0])
        self.ceil_samples.append(c)
        keys = ("sha256_gbps", "dd_fdatasync_gbps", "dd_nosync_gbps", "loadavg")
        self.ceil = {k: statistics.median([x[k] for x in self.ceil_samples]) for k in keys}
        sha, wr = self.ceil["sha256_gbps"], self.ceil["dd_nosync_gbps"]
        self.ceil["push_one_core_gbps"] = 1 / (1 / sha + 1 / wr)
        self.ceil["sha256_cpu_s_per_gb"] = 1 / sha
        log(f"ceilings: {json.dumps({k: round(v, 3) for k, v in c.items()})}")

    def write_config(self, side, port, root):
        path = os.path.join(self.work, f"{side}.yml")
        with open(path, "w") as f:
            f.write(f"""version: 0.1
log: {{accesslog: {{disabled: true}}, level: error}}
storage:
  filesystem: {{rootdirectory: {root}}}
  delete: {{enabled: true}}
  cache: {{blobdescriptor: inmemory}}
http:
  addr: 127.0.0.1:{port}
""")
        return path

    def start_registry(self, side, argv0):
        port = free_port()
        root = os.path.join(self.work, side, "data")
        os.makedirs(root)
        cfg = self.write_config(side, port, root)
        p = self.procs.start(side, ["taskset", "-c", SERVER_CORE, argv0, "serve", cfg],
                             os.path.join(self.work, f"{side}.log"))
        wait_http(f"http://127.0.0.1:{port}/v2/", p)
        self.servers[side] = {"port": port, "proc": p, "root": root}
        log(f"{side}: pid {p.pid}, 127.0.0.1:{port}")

    def start_nginx(self):
        prefix = os.path.join(self.work, "nginx")
        www = os.path.join(prefix, "www")
        for d in ("www/dav", "tmp", "logs"):
            os.makedirs(os.path.join(prefix, d), exist_ok=True)
        on, off = free_port(), free_port()
        # One process (no master), like the registries under test; default file handling (no
        # open_file_cache). keepalive_requests is raised so nginx does not close every 1000 requests.
        conf = f"""daemon off;
master_process off;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/logs/error.log error;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  keepalive_requests 10000000;
  keepalive_timeout 120s;
  default_type application/octet-stream;
  types {{ }}
  client_body_temp_path {prefix}/tmp;
  client_body_buffer_size 1m;
  proxy_temp_path {prefix}/tmp;
  fastcgi_temp_path {prefix}/tmp;
  uwsgi_temp_path {prefix}/tmp;
  scgi_temp_path {prefix}/tmp;
  server {{
    listen 127.0.0.1:{on};
    root {www};
    sendfile on;
    tcp_nopush on;
    location /dav/ {{ dav_methods PUT; client_max_body_size 0; }}
  }}
  server {{
    listen 127.0.0.1:{off};
    root {www};
    sendfile off;
    output_buffers 1 1m;
    location /dav/ {{ dav_methods PUT; client_max_body_size 0; }}
  }}
}}
"""
        cfg = os.path.join(prefix, "nginx.conf")
        with open(cfg, "w") as f:
            f.write(conf)
        p = self.procs.start("nginx", ["taskset", "-c", SERVER_CORE, "nginx", "-p", prefix, "-c", cfg,
                                       "-e", os.path.join(prefix, "logs", "error.log")],
                             os.path.join(self.work, "nginx.log"))
        wait_http(f"http://127.0.0.1:{on}/", p)
        wait_http(f"http://127.0.0.1:{off}/", p)
        self.servers["nginx_sendfile"] = {"port": on, "proc": p, "root": www}
        self.servers["nginx_copy"] = {"port": off, "proc": p, "root": www}
        self.www = www
        log(f"nginx: pid {p.pid}, sendfile on 127.0.0.1:{on}, off 127.0.0.1:{off}")

    def loadgen(self, mode, *opts, timeout=600):
        r = client([self.a.loadgen, mode] + [str(o) for o in opts], timeout)
        return json.loads(r.stdout.strip().splitlines()[-1])

    def seed(self):
        lg = self.a.loadgen
        # Files for nginx: the same bytes as the registries' blobs and manifest.
        self.big = json.loads(run([lg, "gen-file", "--size", str(GIB), "--seed", "7", "--out",
                                   os.path.join(self.www, "big.bin")], 300).stdout)["digest"]
        self.mid = json.loads(run([lg, "gen-file", "--size", str(64 * MIB), "--seed", "9", "--out",
                                   os.path.join(self.www, "mid.bin")], 60).stdout)["digest"]
        for side in ("berth", "distribution"):
            port = self.servers[side]["port"]
            t0 = time.time()
            tags = self.loadgen("seed-tags", "--port", port, "--repo", "bench/tags", "--tags", 1000,
                                "--parallel", 8, "--manifest-out", os.path.join(self.www, "manifest.json"))
            repos = self.loadgen("seed-repos", "--port", port, "--prefix", "cat", "--count", 1000,
                                 "--parallel", 8)
            for size, seed, want in ((GIB, 7, self.big), (64 * MIB, 9, self.mid)):
                r = self.loadgen("push-big", "--port", port, "--repo", "bench/big", "--size", size,
                                 "--seed", seed)
                if r["digest"] != want or r["error"]:
                    raise RuntimeError(f"seeding {side}: {r}")
            for r in (tags, repos):
                if r.get("error"):
                    raise RuntimeError(f"seeding {side}: {r}")
            self.manifest_digest = tags["manifest_digest"]
            log(f"seeded {side} in {time.time() - t0:.1f} s (1001 tags, 1000 repositories, 1 GiB + 64 MiB)")

    # ---- figures -------------------------------------------------------------------------------

    def record(self, figure, side, sample):
        self.results.setdefault(figure, {}).setdefault(side, []).append(sample)

    def timed(self, side, fn):
        """Runs fn() and adds the server's CPU seconds over it to the sample fn returns."""
        pid = self.servers[side]["proc"].pid
        c0 = cpu_seconds(pid)
        sample = fn()
        sample["cpu_s"] = cpu_seconds(pid) - c0
        if self.servers[side]["proc"].poll() is not None:
            raise RuntimeError(f"{side} died during a figure; see {self.servers[side]['proc'].logpath}")
        return sample

    def wrk(self, side, path, headers=()):
        port = self.servers[side]["port"]
        argv = ["wrk", "-t1", "-c64", f"-d{self.dur}s", "--latency", "--timeout", "10s"]
        for h in headers:
            argv += ["-H", h]
        argv.append(f"http://127.0.0.1:{port}{path}")

        def go():
            out = client(argv, self.dur + 60).stdout
            reqs = int(re.search(r"(\d+) requests in", out).group(1))
            rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
            m = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", out)
            p99 = float(m.group(1)) * {"us": 1e-3, "ms": 1, "s": 1e3}[m.group(2)] if m else None
            bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
            errs = re.search(r"Socket errors: (.*)", out)
            return {"requests": reqs, "rps": rps, "p99_ms": p99,
                    "non2xx": int(bad.group(1)) if bad else 0, "socket_errors": errs.group(1) if errs else ""}

        s = self.timed(side, go)
        s["cpu_us_per_req"] = s["cpu_s"] / max(1, s["requests"]) * 1e6
        return s

    def head(self, side, path):
        port = self.servers[side]["port"]

        def go():
            r = self.loadgen("head", "--port", port, "--path", path, "--conns", 64, "--duration",
                             self.dur, timeout=self.dur + 60)
            return {"requests": r["requests"], "rps": r["rps"], "p99_ms": r["p99_ms"],
                    "non2xx": r["non2xx"], "errors": r["errors"]}

        s = self.timed(side, go)
        s["cpu_us_per_req"] = s["cpu_s"] / max(1, s["requests"]) * 1e6
        return s

    def backing_file(self, side, digest, name):
        """Where a side keeps the blob: the registry's blob data file (Distribution's layout), or
        nginx's copy `name`."""
        if side.startswith("nginx"):
            return os.path.join(self.www, name)
        hexd = digest.split(":", 1)[1]
        return os.path.join(self.servers[side]["root"], "docker/registry/v2/blobs/sha256", hexd[:2], hexd,
                            "data")

    def get(self, side, path, clients, repeat, backing=None):
        port = self.servers[side]["port"]
        # Untimed, for every side alike: write back what earlier figures left dirty, and read the file
        # once so that each side starts from the page cache. (The VM reclaims page cache: without
        # this, whichever side ran first after the push figures read from disk, at 2-3x the CPU/GB.)
        self.settle()
        if backing:
            with open(backing, "rb", buffering=0) as f:
                while f.read(8 << 20):
                    pass

        def go():
            r = self.loadgen("get", "--port", port, "--path", path, "--clients", clients, "--repeat",
                             repeat, "--duration", 120, timeout=200)
            if r["errors"]:
                raise RuntimeError(f"GET {path} on {side}: {r}")
            return {"bytes": r["bytes"], "gbps": r["gbps"], "seconds": r["seconds"]}

        s = self.timed(side, go)
        s["cpu_s_per_gb"] = s["cpu_s"] / (s["bytes"] / GB)
        return s

    def idle(self, side):
        """1000 keep-alive connections, one GET each, then idle for 3 s: the server's RSS and open
        descriptors while they are held, and whether every one still answers afterwards."""
        r = self.loadgen("idle", "--port", self.servers[side]["port"], "--path", "/v2/", "--conns", 1000,
                         "--pid", self.servers[side]["proc"].pid, "--duration", 3, timeout=120)
        r["fds_per_conn"] = (r["fds_held"] - r["fds_before"]) / max(1, r["conns"])
        r["rss_kib_per_conn"] = r["rss_bytes_per_conn"] / 1024
        return r

    def settle(self):
        """Writes back dirty pages before a write figure, so no figure pays for an earlier one's
        writeback (the kernel throttles writers once dirty data passes vm.dirty_ratio)."""
        run(["sync"], 300)

    def push_big(self, side, seed, chunk):
        port = self.servers[side]["port"]
        self.settle()
        opts = ["--port", port, "--size", GIB, "--seed", seed]

        def go():
            if side.startswith("nginx"):
                r = self.loadgen("put-raw", *opts, "--path", f"/dav/put-{seed}-{chunk}.bin", timeout=300)
            else:
                r = self.loadgen("push-big", *opts, "--repo", "bench/push", "--chunk", chunk, timeout=300)
            if r["error"]:
                raise RuntimeError(f"push on {side}: {r}")
            return {"bytes": r["bytes"], "gbps": r["gbps"], "seconds": r["seconds"],
                    "digest": r.get("digest")}

        s = self.timed(side, go)
        s["cpu_s_per_gb"] = s["cpu_s"] / (s["bytes"] / GB)
        # Free the pushed GiB once measured (untimed): it keeps the work dir small and spares the next
        # figure the writeback. bench/push is never read again. Both use Distribution's layout.
        if side.startswith("nginx"):
            os.remove(os.path.join(self.www, "dav", f"put-{seed}-{chunk}.bin"))
        else:
            data = self.backing_file(side, s.pop("digest"), None)
            if os.path.exists(data):
                os.remove(data)
        return s

    def push_small(self, side, seed):
        port = self.servers[side]["port"]
        self.settle()

        def go():
            r = self.loadgen("push-small", "--port", port, "--repo", "bench/small", "--count", 2000,
                             "--parallel", 16, "--seed", seed, "--duration", 120, timeout=200)
            if r["errors"]:
                raise RuntimeError(f"push-small on {side}: {r}")
            return {"ops": r["ops"], "count": r["ok"], "seconds": r["seconds"]}

        s = self.timed(side, go)
        s["cpu_ms_per_op"] = s["cpu_s"] / max(1, s["count"]) * 1e3
        return s

    def run_round(self, rnd):
        # Who goes first alternates from round to round (A B, then B A), so that neither registry always
        # runs straight after the other's figure.
        regs = ["berth", "distribution"] if rnd % 2 == 0 else ["distribution", "berth"]
        ngx = ["nginx_sendfile", "nginx_copy"]
        blob = f"/v2/bench/big/blobs/{self.big}"
        mid = f"/v2/bench/big/blobs/{self.mid}"
        accept = f"Accept: {OCI_MANIFEST}"
        get_big_repeat = 1 if self.quick else 3
        get_mid_repeat = 2 if self.quick else 4

        for side in regs:
            self.record("manifest_get", side, self.wrk(side, "/v2/bench/tags/manifests/latest", [accept]))
        for side in ngx:
            self.record("manifest_get", side, self.wrk(side, "/manifest.json", [accept]))

        for side in regs:
            self.record("blob_head", side, self.head(side, blob))
        for side in ngx:
            self.record("blob_head", side, self.head(side, "/manifest.json"))

        for side in regs + ngx:
            path = "/big.bin" if side in ngx else blob
            self.record("blob_get_1g", side, self.get(side, path, 1, get_big_repeat,
                                                      self.backing_file(side, self.big, "big.bin")))
        for side in regs + ngx:
            path = "/mid.bin" if side in ngx else mid
            self.record("blob_get_64m_x8", side, self.get(side, path, 8, get_mid_repeat,
                                                          self.backing_file(side, self.mid, "mid.bin")))

        for i, side in enumerate(regs + ["nginx_sendfile"]):
            seed = 1000 + rnd * 10 + i
            self.record("push_1g_monolithic", side, self.push_big(side, seed, 0))
        for i, side in enumerate(regs):
            seed = 2000 + rnd * 10 + i
            self.record("push_1g_chunked_8m", side, self.push_big(side, seed, 8 * MIB))

        for i, side in enumerate(regs):
            self.record("push_small_4k", side, self.push_small(side, 3000 + rnd * 10 + i))

        for side in regs:
            self.record("tags_list_n100", side, self.wrk(side, "/v2/bench/tags/tags/list?n=100"))
        for side in regs:
            self.record("catalog_n100", side, self.wrk(side, "/v2/_catalog?n=100"))

    def micro(self):
        if not self.a.micro or not os.path.exists(self.a.micro):
            return None
        log("micro benchmarks (berth_micro_bench)")
        r = client([self.a.micro, "--benchmark_format=json",
                    f"--benchmark_min_time={0.05 if self.quick else 0.2}"], 300)
        data = json.loads(r.stdout)
        return {b["name"]: round(b["cpu_time"], 1) for b in data["benchmarks"]}

    # ---- report --------------------------------------------------------------------------------

    def med(self, figure, side, key):
        vals = [s[key] for s in self.results.get(figure, {}).get(side, []) if s.get(key) is not None]
        return statistics.median(vals) if vals else None

    def summarize(self):
        rows = []  # (label, berth, dist, ratio, reference, target, ok)
        med = self.med
        B, D = "berth", "distribution"

        def best_ngx(fig, key, high=True):
            vals = {s: med(fig, s, key) for s in ("nginx_sendfile", "nginx_copy")}
            vals = {k: v for k, v in vals.items() if v is not None}
            if not vals:
                return None, None
            side = (max if high else min)(vals, key=vals.get)
            return side, vals[side]

        def row(label, fig, key, unit, ref=None, ref_label="", target="", ok=None, fmt="{:.3g}"):
            b, d = med(fig, B, key), med(fig, D, key)
            ratio = (b / d) if (b is not None and d) else None
            rows.append({"figure": label, "unit": unit, "berth": b, "distribution": d, "ratio": ratio,
                         "reference": ref, "reference_label": ref_label, "target": target,
                         "result": None if ok is None else ("PASS" if ok else "MISS")})
            return b, d

        def ge(x, y):
            return x is not None and y is not None and x >= y

        def le(x, y):
            return x is not None and y is not None and x <= y

        for fig, label in (("manifest_get", "manifest GET by tag, 64 conns"),
                           ("blob_head", "blob HEAD, 64 conns")):
            ns, nr = best_ngx(fig, "rps")
            b = med(fig, B, "rps")
            row(f"{label}: req/s", fig, "rps", "req/s", nr, f"{ns} (1 KiB file)", "≥ 50 % of nginx",
                ge(b, 0.5 * nr) if nr else None)
            ncpu = med(fig, ns, "cpu_us_per_req") if ns else None
            row(f"{label}: server CPU µs/req", fig, "cpu_us_per_req", "µs", ncpu, ns,
                "≤ 2× nginx", le(med(fig, B, "cpu_us_per_req"), 2 * ncpu) if ncpu else None)
            row(f"{label}: p99 latency", fig, "p99_ms", "ms", med(fig, ns, "p99_ms") if ns else None, ns,
                "≤ 5 ms", le(med(fig, B, "p99_ms"), 5.0))

        for fig, label in (("blob_get_1g", "blob GET 1 GiB, 1 client"),
                           ("blob_get_64m_x8", "blob GET 64 MiB, 8 clients")):
            ns, nr = best_ngx(fig, "gbps")
            row(f"{label}: GB/s", fig, "gbps", "GB/s", nr, ns, "≥ 90 % of nginx",
                ge(med(fig, B, "gbps"), 0.9 * nr) if nr else None)
            row(f"{label}: server CPU s/GB", fig, "cpu_s_per_gb", "s/GB",
                med(fig, ns, "cpu_s_per_gb") if ns else None, ns, "", None)

        ceil = self.ceil.get("push_one_core_gbps")
        sha_cpu = self.ceil.get("sha256_cpu_s_per_gb")
        for fig, label in (("push_1g_monolithic", "push 1 GiB monolithic"),
                           ("push_1g_chunked_8m", "push 1 GiB in 8 MiB chunks")):
            b, d = med(fig, B, "gbps"), med(fig, D, "gbps")
            ok = ge(b, 0.8 * ceil) and ge(b, 3 * d) if ceil else None
            row(f"{label}: GB/s", fig, "gbps", "GB/s", ceil, "SHA-256 + write, one core",
                "≥ 80 % of ceiling and ≥ 3× Distribution", ok)
            row(f"{label}: server CPU s/GB", fig, "cpu_s_per_gb", "s/GB", sha_cpu, "SHA-256 alone",
                "≤ 2× SHA-256", le(med(fig, B, "cpu_s_per_gb"), 2 * sha_cpu) if sha_cpu else None)
        nd = med("push_1g_monolithic", "nginx_sendfile", "gbps")
        if nd is not None:
            rows.append({"figure": "(nginx WebDAV PUT 1 GiB: GB/s)", "unit": "GB/s", "berth": None,
                         "distribution": None, "ratio": None, "reference": nd, "reference_label": "nginx",
                         "target": "", "result": None})

        b, d = med("push_small_4k", B, "ops"), med("push_small_4k", D, "ops")
        row("2000 × 4 KiB blob pushes, 16 parallel: ops/s", "push_small_4k", "ops", "ops/s", None, "",
            "≥ 10× Distribution", ge(b, 10 * d) if d else None)
        row("  server CPU ms/op", "push_small_4k", "cpu_ms_per_op", "ms", None, "", "", None)

        for fig, label in (("tags_list_n100", "tags/list n=100 (1001 tags)"),
                           ("catalog_n100", "_catalog n=100 (1003 repositories)")):
            b, d = med(fig, B, "rps"), med(fig, D, "rps")
            row(f"{label}: req/s", fig, "rps", "req/s", None, "", "≥ 20× Distribution",
                ge(b, 20 * d) if d else None)
            row(f"{label}: p99 latency", fig, "p99_ms", "ms", None, "", "", None)

        idle = {s: (self.results.get("idle_1000", {}).get(s) or [None])[-1] for s in (B, D)}
        if idle[B]:
            ib, idd = idle[B], idle[D] or {}
            ok = (ib["errors"] == 0 and ib["survived"] == ib["conns"] == 1000 and
                  ib["fds_per_conn"] <= 1.0 and ib["rss_kib_per_conn"] <= 16)
            rows.append({"figure": "1000 idle keep-alive connections: RSS per connection", "unit": "KiB",
                         "berth": ib["rss_kib_per_conn"], "distribution": idd.get("rss_kib_per_conn"),
                         "ratio": (ib["rss_kib_per_conn"] / idd["rss_kib_per_conn"]
                                   if idd.get("rss_kib_per_conn") else None),
                         "reference": None, "reference_label": "",
                         "target": "≤ 16 KiB and 1 fd per connection, all 1000 answer after 3 s idle",
                         "result": "PASS" if ok else "MISS"})
            rows.append({"figure": "  descriptors held / still answering", "unit": "",
                         "berth": f"{ib['fds_held'] - ib['fds_before']} / {ib['survived']}",
                         "distribution": (f"{idd['fds_held'] - idd['fds_before']} / {idd['survived']}"
                                          if idd else None),
                         "ratio": None, "reference": None, "reference_label": "", "target": "",
                         "result": None})
        rb, rd = self.peak.get(B), self.peak.get(D)
        rows.append({"figure": "peak RSS (VmHWM) over the run", "unit": "MiB", "berth": rb, "distribution": rd,
                     "ratio": rb / rd if rb and rd else None, "reference": self.peak.get("nginx"),
                     "reference_label": "nginx", "target": "≤ ⅓ of Distribution",
                     "result": ("PASS" if rb is not None and rd and rb <= rd / 3 else "MISS")})
        cb, cd = self.total_cpu.get(B), self.total_cpu.get(D)
        rows.append({"figure": "server CPU seconds over the whole run", "unit": "s", "berth": cb,
                     "distribution": cd, "ratio": cb / cd if cb and cd else None,
                     "reference": self.total_cpu.get("nginx"), "reference_label": "nginx", "target": "",
                     "result": None})
        return rows

    def markdown(self, rows):
        def f(v):
            if v is None:
                return "–"
            if isinstance(v, str):
                return v
            if abs(v) >= 100:
                return f"{v:,.0f}"
            return f"{v:.3g}"

        out = ["| figure | Berth | Distribution | Berth/Dist | reference | target | result |",
               "| --- | ---: | ---: | ---: | --- | --- | --- |"]
        for r in rows:
            ref = f(r["reference"]) + (f" ({r['reference_label']})" if r["reference_label"] and
                                       r["reference"] is not None else "")
            ratio = f"{r['ratio']:.2f}×" if r["ratio"] is not None else "–"
            out.append(f"| {r['figure']} | {f(r['berth'])} | {f(r['distribution'])} | {ratio} | {ref} | "
                       f"{r['target'] or ''} | {r['result'] or ''} |")
        c = self.ceil
        out.append("")
        out.append(f"Ceilings (core {SERVER_CORE}): SHA-256 {c.get('sha256_gbps', 0):.2f} GB/s; "
                   f"dd 1 GiB {c.get('dd_nosync_gbps', 0):.2f} GB/s (page cache), "
                   f"{c.get('dd_fdatasync_gbps', 0):.2f} GB/s (conv=fdatasync); one-core push ceiling "
                   f"1/(1/sha + 1/dd) = {c.get('push_one_core_gbps', 0):.2f} GB/s (medians over rounds; "
                   f"load average during the rounds {c.get('loadavg', 0):.1f}).")
        return "\n".join(out)

    # ---- main ----------------------------------------------------------------------------------

    def main(self):
        t_start = time.time()
        self.machine_facts()
        self.start_nginx()
        self.start_registry("berth", self.a.berth)
        self.start_registry("distribution", "docker-registry")
        self.seed()
        for rnd in range(self.rounds):
            log(f"round {rnd + 1}/{self.rounds}")
            self.measure_ceilings(rnd)
            self.run_round(rnd)
            for fig, sides in self.results.items():
                brief = {s: round(v[-1].get("rps") or v[-1].get("gbps") or v[-1].get("ops") or 0, 3)
                         for s, v in sides.items()}
                log(f"  {fig}: {brief}")
        self.peak, self.total_cpu = {}, {}
        for side in ("berth", "distribution", "nginx_sendfile"):
            pid = self.servers[side]["proc"].pid
            name = "nginx" if side.startswith("nginx") else side
            self.peak[name] = status_kib(pid, "VmHWM") / 1024
            self.total_cpu[name] = cpu_seconds(pid)
        # After the peaks are taken: the idle figure is about bounds, not about the peak.
        for side in ("berth", "distribution"):
            self.record("idle_1000", side, self.idle(side))
        logs = {}
        for side in ("berth", "distribution"):
            with open(self.servers[side]["proc"].logpath, errors="replace") as f:
                lines = f.read().splitlines()
            logs[side] = {"lines": len(lines), "tail": lines[-20:]}
            if lines:
                log(f"{side} logged {len(lines)} line(s) at level error; last: {lines[-1][:300]}")
        micro = self.micro()
        rows = self.summarize()
        table = self.markdown(rows)
        self.meta["seconds_total"] = round(time.time() - t_start, 1)
        self.meta["loadavg_end"] = open("/proc/loadavg").read().split()[:3]
        doc = {"meta": self.meta, "ceilings": self.ceil, "ceiling_samples": self.ceil_samples, "summary": rows, "samples": self.results,
               "peak_rss_mib": self.peak, "cpu_seconds_total": self.total_cpu, "micro_ns": micro,
               "server_logs": logs}
        os.makedirs(os.path.dirname(self.a.out), exist_ok=True)
        with open(self.a.out, "w") as f:
            json.dump(doc, f, indent=1)
        with open(os.path.splitext(self.a.out)[0] + ".md", "w") as f:
            f.write(f"Command: `{self.meta['command']}` — {self.meta['date']}, {self.meta['nproc']} cores "
                    f"({self.meta['cpu_model']}), load average at start {' '.join(self.meta['loadavg_start'])}, "
                    f"{self.rounds} rounds, medians.\n\n{table}\n")
        print(table)
        if micro:
            print("\nberth_micro_bench (CPU ns/op): " + ", ".join(f"{k} {v}" for k, v in micro.items()))
        log(f"wrote {self.a.out} in {self.meta['seconds_total']} s")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--rounds", type=int, default=0)
    ap.add_argument("--berth", required=True)
    ap.add_argument("--loadgen", required=True)
    ap.add_argument("--micro", default="")
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    b = Bench(args)
    try:
        b.main()
    finally:
        b.procs.stop_all()


if __name__ == "__main__":
    main()
