#!/usr/bin/env python3
"""A TCP forwarder for tests: listens on 127.0.0.1:0, writes its port to PORTFILE, and forwards each
new connection to 127.0.0.1:<the port in TARGETFILE, read per connection>. A test points it at a
registry that it restarts on a new port, so a client configured with the forwarder's address
reaches the registry again. A connection whose target is down is closed at once.
Usage: forward.py PORTFILE TARGETFILE"""
import socket
import sys
import threading


def pipe(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def handle(client, target_file):
    try:
        with open(target_file) as f:
            port = int(f.read().strip())
        upstream = socket.create_connection(("127.0.0.1", port), timeout=5)
        upstream.settimeout(None)
    except (OSError, ValueError):
        client.close()
        return
    threading.Thread(target=pipe, args=(client, upstream), daemon=True).start()
    pipe(upstream, client)
    client.close()
    upstream.close()


def main():
    port_file, target_file = sys.argv[1], sys.argv[2]
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.bind(("127.0.0.1", 0))
    srv.listen(64)
    with open(port_file + ".tmp", "w") as f:
        f.write(str(srv.getsockname()[1]))
    import os
    os.rename(port_file + ".tmp", port_file)
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=handle, args=(conn, target_file), daemon=True).start()


if __name__ == "__main__":
    main()
