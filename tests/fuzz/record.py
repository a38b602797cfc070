"""A recording TCP proxy: forwards every connection on 127.0.0.1:<listen>
to 127.0.0.1:<upstream> and writes what each client sent (its HTTP
requests, in order) to <corpus>/<blake2 of the bytes>. scripts/fuzz.sh runs
the test suites' clients through it to seed the http_request target with
real traffic.

Usage: python3 record.py <listen port> <upstream port> <corpus dir>
"""

import hashlib
import os
import socket
import sys
import threading

LISTEN, UPSTREAM, CORPUS = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
# libFuzzer's default -max_len for this target is set by scripts/fuzz.sh;
# longer connections are cut into seeds of whole requests by the target.
MAX_SEED = 64 * 1024


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
        seed = bytes(sent[:MAX_SEED])
        name = hashlib.blake2b(seed, digest_size=16).hexdigest()
        with open(os.path.join(CORPUS, name), "wb") as f:
            f.write(seed)


def main():
    os.makedirs(CORPUS, exist_ok=True)
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", LISTEN))
    listener.listen(128)
    while True:
        client, _ = listener.accept()
        threading.Thread(target=serve, args=(client,), daemon=True).start()


main()
