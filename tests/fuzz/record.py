"""A recording TCP proxy: forwards every connection on 127.0.0.1:<listen>
to 127.0.0.1:<upstream> and writes what each client sent (its HTTP
requests, in order) to <corpus>/<blake2 of the bytes>. scripts/fuzz.sh runs
the test suites' clients through it to seed the http_request target with
real traffic.

The API key and session ids belong to the host recorded against; they are
written as `{api-key}` and `{session}`, which the fuzz target fills with
its own engine's (tests/fuzz/src/lib.rs, `fill`).

Usage: python3 record.py <listen port> <upstream port> <corpus dir>
       python3 record.py --rewrite <corpus dir>   (placeholders into old seeds)
"""

import hashlib
import os
import re
import socket
import sys
import threading

# libFuzzer's default -max_len for this target is set by scripts/fuzz.sh;
# longer connections are cut into seeds of whole requests by the target.
MAX_SEED = 64 * 1024
API_KEY = re.compile(rb"(?im)^(authorization:[ \t]*bearer[ \t]+)smcp_[a-z0-9-]+_[0-9a-f]+")
SESSION = re.compile(rb"(?im)^(mcp-session-id:[ \t]*)[^\r\n]+")


def placeholders(seed):
    """The seed with its recorded key and session ids as placeholders."""
    seed = API_KEY.sub(rb"\1{api-key}", seed)
    return SESSION.sub(rb"\1{session}", seed)


def save(seed):
    name = hashlib.blake2b(seed, digest_size=16).hexdigest()
    with open(os.path.join(CORPUS, name), "wb") as f:
        f.write(seed)


def pipe(source, sink, sent=None):
    try:
        while True:
            data = source.recv(65536)
            if not data:
                break
            if sent is not None:
                sent.extend(data)
            sink.sendall(data)
    except OSError:
        pass
    finally:
        try:
            sink.shutdown(socket.SHUT_WR)
        except OSError:
            pass


def serve(client):
    upstream = socket.create_connection(("127.0.0.1", UPSTREAM))
    sent = bytearray()
    back = threading.Thread(target=pipe, args=(upstream, client))
    back.start()
    pipe(client, upstream, sent)
    back.join()
    client.close()
    upstream.close()
    if sent:
        save(placeholders(bytes(sent[:MAX_SEED])))


def rewrite():
    for name in sorted(os.listdir(CORPUS)):
        path = os.path.join(CORPUS, name)
        with open(path, "rb") as f:
            seed = f.read()
        filled = placeholders(seed)
        if filled != seed:
            os.remove(path)
            save(filled)


def main():
    os.makedirs(CORPUS, exist_ok=True)
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", LISTEN))
    listener.listen(128)
    while True:
        client, _ = listener.accept()
        threading.Thread(target=serve, args=(client,), daemon=True).start()


if sys.argv[1] == "--rewrite":
    CORPUS = sys.argv[2]
    rewrite()
else:
    LISTEN, UPSTREAM, CORPUS = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    main()
