#!/usr/bin/env python3
"""Paired A/B of the Python worker's per-request path, in one process, no sockets: two copies of
gatewire_wsgi (A and B: the package directories of two checkouts) each decode a REQUEST frame,
build the environ, run the app inline and frame the response (into a socket that discards it),
in alternating samples of the same requests. On a shared, noisy machine the paired difference is
what stays stable.

    git archive <commit> worker-runtime/python | tar -x -C /tmp/base
    python3 bench/django/hotpath_ab.py /tmp/base/worker-runtime/python worker-runtime/python [wsgi|django]

`wsgi` is a 13-byte WSGI hello (the worker's own cost); `django` the reference hello project.
"""
import importlib
import os
import shutil
import statistics
import struct
import sys
import tempfile
import threading
import time
a_dir, b_dir = sys.argv[1], sys.argv[2]
app_name = sys.argv[3] if len(sys.argv) > 3 else 'wsgi'
root = os.path.join(tempfile.gettempdir(), f'gatewire-hotpath-ab-{os.getpid()}')
shutil.rmtree(root, ignore_errors=True); os.makedirs(root)
for name, src in (('gw_a', a_dir), ('gw_b', b_dir)):
    shutil.copytree(os.path.join(src, 'gatewire_wsgi'), os.path.join(root, name))
sys.path.insert(0, root)
import msgpack
if app_name == 'wsgi':
    sys.path.insert(0, '/work/shared/reference-stacks/apps'); from wsgi_hello import application as app
else:
    sys.path.insert(0, '/work/shared/reference-stacks/apps/django_hello'); os.environ["DJANGO_SETTINGS_MODULE"]="hellosite.settings"
    from hellosite.wsgi import application as app
H = struct.Struct(">IBBI")
def req(sid):
    p = msgpack.packb({"method":"GET","target":b"/","path":b"/","query":b"","version":"HTTP/1.1",
     "headers":[[b"host",b"127.0.0.1:8080"],[b"x-forwarded-for",b"127.0.0.1"],[b"x-forwarded-proto",b"http"],[b"x-request-id",f"abc-{sid}".encode()]],
     "scheme":"http","client_addr":"127.0.0.1","client_port":40000,"server_addr":"127.0.0.1","server_port":8080,"server_name":"127.0.0.1","request_id":f"abc-{sid}","body_length":0}, use_bin_type=True)
    return H.pack(len(p), 3, 1, sid) + p
class FakeSock:
    def sendall(self, data, *a): pass
    def settimeout(self, t): pass
def setup(pkg):
    C = importlib.import_module(pkg + '.connection')
    E = importlib.import_module(pkg + '.environ')
    R = importlib.import_module(pkg + '.response')
    class Owner(C.ConnectionOwner):
        def __init__(self):
            self.base_environ = E.base_environ(False, True); self.permits = threading.Lock(); self._count_lock = threading.Lock(); self.n = 0
        def submit(self, *a): raise RuntimeError
        def try_run_inline(self, conn, stream, environ):
            if not self.permits.acquire(blocking=False): return False
            try: R.run_request(app, conn, stream, environ)
            finally:
                self.n += 1; self.permits.release()
            return True
    conn = C.Connection(FakeSock(), Owner(), C.ConnectionSettings(max_streams=1, inline=True), "x")
    conn._decoder._state = 1; conn._open(); conn.peer_max_frame_size = 262144; conn.peer_initial_window = 262144
    feed = conn._decoder.feed
    cands = getattr(conn, '_candidates', None)
    def one(frame):
        feed(frame)
        if cands is not None:
            s, e = cands.popleft()
        else:
            s, e = conn._candidate; conn._candidate = None
        conn._run_inline(0, s, e)
    return one
runs = {'A': setup('gw_a'), 'B': setup('gw_b')}
per = 2000 if app_name == 'wsgi' else 400
samples = {'A': [], 'B': []}
sid = {'A': 1, 'B': 1}
def sample(k):
    one = runs[k]; frames = [req(sid[k] + 2*i) for i in range(per)]; sid[k] += 2*per
    t = time.process_time()
    for f in frames: one(f)
    return (time.process_time() - t) / per * 1e6
for k in 'AB': sample(k)
for r in range(40):
    for k in ('AB' if r % 2 == 0 else 'BA'):
        samples[k].append(sample(k))
med = statistics.median
print(f"A {a_dir}: median {med(samples['A']):.2f} min {min(samples['A']):.2f} µs/req")
print(f"B {b_dir}: median {med(samples['B']):.2f} min {min(samples['B']):.2f} µs/req")
d = [a - b for a, b in zip(samples['A'], samples['B'])]
quartiles = ", ".join(f"{q:.2f}" for q in statistics.quantiles(d, n=4))
print(f"paired A-B: median {med(d):.2f} µs/req (B faster when positive); quartiles {quartiles}")
shutil.rmtree(root, ignore_errors=True)
