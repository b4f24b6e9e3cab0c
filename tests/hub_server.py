"""A local stand-in for the few Hugging Face Hub endpoints the project uses, on 127.0.0.1.

Enough of the Hub's HTTP API for ``huggingface_hub`` (2.x) to create repos and branches, validate a
card's YAML, commit a folder (regular files inline, large files through the LFS "basic" transfer),
and list / resolve / download files at a branch, tag or commit. Repos, commits and blobs live in
memory. Every request is recorded in :attr:`FakeHub.requests` so a test can assert that nothing
went out (offline mode, mistyped local paths).

:func:`use_fake_hub` (a context manager used by the ``fake_hub`` fixtures) starts one and points
``huggingface_hub`` at it: ``constants.ENDPOINT`` and the resolve-URL template, a fresh
``HF_HUB_CACHE``, Xet off (the stand-in speaks plain HTTP and LFS), online mode, and ``HF_TOKEN``.
No test that uses it touches the internet.
"""
from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import re
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator
from urllib.parse import parse_qs, unquote, urlparse

TOKEN = "hf_fake_write_token"
LFS_SUFFIXES = (".safetensors", ".mp4", ".png", ".bin")


def git_blob_id(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@dataclass
class Repo:
    repo_id: str
    private: bool = False
    commits: dict[str, dict[str, bytes]] = field(default_factory=dict)  # sha → {path: content}
    refs: dict[str, str] = field(default_factory=dict)  # branch/tag → sha
    history: list[str] = field(default_factory=list)

    def commit(self, files: dict[str, bytes], branch: str) -> str:
        sha = uuid.uuid4().hex + uuid.uuid4().hex[:8]  # 40 hex digits
        self.commits[sha] = dict(files)
        self.refs[branch] = sha
        self.history.append(sha)
        return sha

    def resolve(self, revision: str) -> str | None:
        revision = unquote(revision)
        if revision in self.refs:
            return self.refs[revision]
        return revision if revision in self.commits else None


class FakeHub:
    """In-memory Hub: ``repos``, ``lfs`` blobs by sha256, the ``requests`` seen, and the write ``token``."""

    def __init__(self, token: str = TOKEN):
        self.token = token
        self.repos: dict[str, Repo] = {}
        self.lfs: dict[str, bytes] = {}
        self.requests: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.server.daemon_threads = True
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> "FakeHub":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # helpers for tests
    def files(self, repo_id: str, revision: str = "main") -> dict[str, bytes]:
        repo = self.repos[repo_id]
        return repo.commits[repo.resolve(revision)]

    def create(self, repo_id: str, private: bool = False) -> Repo:
        repo = Repo(repo_id, private)
        repo.commit({".gitattributes": b"*.safetensors filter=lfs diff=lfs merge=lfs -text\n"}, "main")
        self.repos[repo_id] = repo
        return repo


def _handler(hub: FakeHub):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):  # quiet
            pass

        # ------------------------------------------------------------ plumbing
        def _body(self) -> bytes:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                out = b""
                while True:
                    size = int(self.rfile.readline().strip().split(b";")[0], 16)
                    if size == 0:
                        self.rfile.readline()
                        return out
                    out += self.rfile.read(size)
                    self.rfile.readline()
            n = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(n) if n else b""

        def _send(self, status: int, body: bytes | dict | list | None = None, headers: dict | None = None,
                  head: bool = False) -> None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode() if body is not None else b""
            self.send_response(status)
            hdrs = {"Content-Type": "application/json" if not isinstance(body, bytes) else "application/octet-stream"}
            hdrs.update(headers or {})
            for k, v in hdrs.items():
                self.send_header(k, str(v))
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if not head:
                self.wfile.write(data)

        def _error(self, status: int, code: str | None, message: str, head: bool = False, extra: dict | None = None):
            headers = {"X-Error-Message": message}
            if code:
                headers["X-Error-Code"] = code
            headers.update(extra or {})
            self._send(status, {"error": message}, headers, head=head)

        def _authorised(self) -> bool:
            return self.headers.get("Authorization", "") == f"Bearer {hub.token}"

        def _repo(self, repo_id: str, head: bool = False) -> Repo | None:
            repo = hub.repos.get(repo_id)
            if repo is None or (repo.private and not self._authorised()):
                self._error(401 if not self._authorised() else 404, "RepoNotFound", "Repository not found", head=head)
                return None
            return repo

        def _record(self):
            hub.requests.append((self.command, self.path))

        # ------------------------------------------------------------ verbs
        def do_HEAD(self):
            self._record()
            self._route(head=True)

        def do_GET(self):
            self._record()
            self._route()

        def do_POST(self):
            self._record()
            body = self._body()
            path = urlparse(self.path).path
            with hub.lock:
                if path == "/api/repos/create":
                    return self._create_repo(json.loads(body))
                if path == "/api/validate-yaml":
                    return self._validate_yaml(json.loads(body))
                m = re.fullmatch(r"/api/models/([^/]+/[^/]+)/preupload/(.+)", path)
                if m:
                    return self._preupload(m.group(1), m.group(2), json.loads(body))
                m = re.fullmatch(r"/api/models/([^/]+/[^/]+)/commit/(.+)", path)
                if m:
                    return self._commit(m.group(1), unquote(m.group(2)), body)
                m = re.fullmatch(r"/api/models/([^/]+/[^/]+)/branch/(.+)", path)
                if m:
                    return self._branch(m.group(1), unquote(m.group(2)), json.loads(body or b"{}"))
                m = re.fullmatch(r"/([^/]+/[^/]+)\.git/info/lfs/objects/batch", path)
                if m:
                    return self._lfs_batch(m.group(1), json.loads(body))
            self._error(404, None, f"no route {path}")

        def do_PUT(self):
            self._record()
            body = self._body()
            m = re.fullmatch(r"/lfs-upload/([0-9a-f]{64})", urlparse(self.path).path)
            if not m:
                return self._error(404, None, "no route")
            if hashlib.sha256(body).hexdigest() != m.group(1):
                return self._error(400, None, "sha256 mismatch")
            hub.lfs[m.group(1)] = body
            self._send(200, {})

        # ------------------------------------------------------------ write endpoints
        def _create_repo(self, payload: dict):
            if not self._authorised():
                return self._error(401, None, "Invalid credentials in Authorization header")
            repo_id = f"{payload['organization']}/{payload['name']}" if payload.get("organization") else payload["name"]
            if repo_id in hub.repos:
                return self._send(409, {"error": "You already created this model repo", "url": f"{hub.endpoint}/{repo_id}"})
            hub.create(repo_id, private=payload.get("visibility") == "private" or bool(payload.get("private")))
            self._send(200, {"url": f"{hub.endpoint}/{repo_id}", "name": repo_id})

        def _validate_yaml(self, payload: dict):
            import yaml

            content = payload.get("content", "")
            m = re.match(r"^---\n(.*?)\n---", content, re.S)
            try:
                meta = yaml.safe_load(m.group(1)) if m else {}
            except yaml.YAMLError as exc:
                return self._send(400, {"errors": [{"message": f"invalid YAML: {exc}"}]})
            if not isinstance(meta, dict):
                return self._send(400, {"errors": [{"message": "metadata must be a mapping"}]})
            self._send(200, {"errors": [], "warnings": []})

        def _preupload(self, repo_id: str, revision: str, payload: dict):
            repo = self._repo(repo_id)
            if repo is None:
                return
            sha = repo.resolve(revision) or repo.refs.get("main")
            current = repo.commits.get(sha, {})
            files = []
            for f in payload.get("files", []):
                lfs = f["path"].endswith(LFS_SUFFIXES)
                old = current.get(f["path"])
                oid = None
                if old is not None:
                    oid = hashlib.sha256(old).hexdigest() if lfs else git_blob_id(old)
                files.append({"path": f["path"], "uploadMode": "lfs" if lfs else "regular", "shouldIgnore": False, "oid": oid})
            self._send(200, {"files": files, "commitOid": sha})

        def _lfs_batch(self, repo_id: str, payload: dict):
            if not self._authorised():
                return self._error(401, None, "Invalid credentials")
            objects = []
            for obj in payload.get("objects", []):
                entry = {"oid": obj["oid"], "size": obj["size"], "authenticated": True}
                if obj["oid"] not in hub.lfs:
                    entry["actions"] = {"upload": {"href": f"{hub.endpoint}/lfs-upload/{obj['oid']}"}}
                objects.append(entry)
            self._send(200, {"transfer": "basic", "objects": objects})

        def _commit(self, repo_id: str, revision: str, body: bytes):
            if not self._authorised():
                return self._error(401, None, "Invalid credentials")
            repo = self._repo(repo_id)
            if repo is None:
                return
            if revision not in repo.refs:
                return self._error(404, "RevisionNotFound", f"Invalid rev id: {revision}")
            files = dict(repo.commits[repo.refs[revision]])
            for line in body.splitlines():
                if not line.strip():
                    continue
                item = json.loads(line)
                key, value = item["key"], item["value"]
                if key == "file":
                    files[value["path"]] = base64.b64decode(value["content"])
                elif key == "lfsFile":
                    if value["oid"] not in hub.lfs:
                        return self._error(400, None, f"LFS object {value['oid']} was never uploaded")
                    files[value["path"]] = hub.lfs[value["oid"]]
                elif key == "deletedFile":
                    files.pop(value["path"], None)
                elif key == "deletedFolder":
                    prefix = value["path"].rstrip("/") + "/"
                    for p in [p for p in files if p.startswith(prefix)]:
                        files.pop(p)
            sha = repo.commit(files, revision)
            self._send(200, {"commitUrl": f"{hub.endpoint}/{repo_id}/commit/{sha}", "commitOid": sha,
                             "pullRequestUrl": None, "success": True})

        def _branch(self, repo_id: str, branch: str, payload: dict):
            if not self._authorised():
                return self._error(401, None, "Invalid credentials")
            repo = self._repo(repo_id)
            if repo is None:
                return
            if branch in repo.refs:
                return self._error(409, None, "Reference already exists")
            start = repo.resolve(payload.get("startingPoint") or "main")
            repo.refs[branch] = start
            self._send(200, {})

        # ------------------------------------------------------------ read endpoints
        def _route(self, head: bool = False):
            url = urlparse(self.path)
            path = unquote(url.path)
            m = re.fullmatch(r"/api/models/([^/]+/[^/]+)(?:/revision/(.+))?", path)
            if m:
                return self._info(m.group(1), m.group(2) or "main", head)
            m = re.fullmatch(r"/api/models/([^/]+/[^/]+)/tree/([^/]+)(/.*)?", path)
            if m:
                recursive = parse_qs(url.query).get("recursive", ["false"])[0].lower() == "true"
                return self._tree(m.group(1), m.group(2), (m.group(3) or "").strip("/"), recursive, head)
            m = re.fullmatch(r"/([^/]+/[^/]+)/resolve/([^/]+)/(.+)", path)
            if m:
                return self._resolve(m.group(1), m.group(2), m.group(3), head)
            self._error(404, None, f"no route {path}", head=head)

        def _info(self, repo_id: str, revision: str, head: bool):
            repo = self._repo(repo_id, head)
            if repo is None:
                return
            sha = repo.resolve(revision)
            if sha is None:
                return self._error(404, "RevisionNotFound", f"Invalid rev id: {revision}", head=head)
            files = repo.commits[sha]
            self._send(200, {"id": repo_id, "modelId": repo_id, "sha": sha, "private": repo.private,
                             "siblings": [{"rfilename": p} for p in sorted(files)]}, head=head)

        def _tree(self, repo_id: str, revision: str, prefix: str, recursive: bool, head: bool):
            repo = self._repo(repo_id, head)
            if repo is None:
                return
            sha = repo.resolve(revision)
            if sha is None:
                return self._error(404, "RevisionNotFound", f"Invalid rev id: {revision}", head=head)
            entries, folders = [], set()
            for p, data in sorted(repo.commits[sha].items()):
                if prefix and not p.startswith(prefix + "/"):
                    continue
                rel = p[len(prefix) + 1:] if prefix else p
                parts = rel.split("/")
                if len(parts) > 1:
                    for i in range(1, len(parts) if recursive else 2):
                        folders.add("/".join(([prefix] if prefix else []) + parts[:i]))
                    if not recursive:
                        continue
                entry = {"type": "file", "path": p, "size": len(data), "oid": git_blob_id(data)}
                if p.endswith(LFS_SUFFIXES):
                    entry["lfs"] = {"oid": hashlib.sha256(data).hexdigest(), "size": len(data), "pointerSize": 134}
                entries.append(entry)
            entries += [{"type": "directory", "path": f, "oid": hashlib.sha1(f.encode()).hexdigest(), "size": 0}
                        for f in sorted(folders)]
            self._send(200, entries, head=head)

        def _resolve(self, repo_id: str, revision: str, filename: str, head: bool):
            repo = self._repo(repo_id, head)
            if repo is None:
                return
            sha = repo.resolve(revision)
            if sha is None:
                return self._error(404, "RevisionNotFound", f"Invalid rev id: {revision}", head=head)
            data = repo.commits[sha].get(filename)
            if data is None:
                return self._error(404, "EntryNotFound", f"{filename} does not exist", head=head,
                                   extra={"X-Repo-Commit": sha})
            headers = {"X-Repo-Commit": sha, "ETag": f'"{git_blob_id(data)}"'}
            if filename.endswith(LFS_SUFFIXES):
                headers.update({"X-Linked-Etag": f'"{hashlib.sha256(data).hexdigest()}"', "X-Linked-Size": len(data)})
            self._send(200, data, headers, head=head)

    return Handler


@contextlib.contextmanager
def use_fake_hub(cache_dir: str | Path, monkeypatch) -> Iterator[FakeHub]:
    """Start a :class:`FakeHub` and point ``huggingface_hub`` at it (see the module docstring)."""
    from huggingface_hub import constants

    hub = FakeHub().start()
    monkeypatch.setattr(constants, "ENDPOINT", hub.endpoint)
    monkeypatch.setattr(constants, "HUGGINGFACE_CO_URL_TEMPLATE", hub.endpoint + "/{repo_id}/resolve/{revision}/{filename}")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", True)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache_dir))
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_TELEMETRY", True)
    monkeypatch.setenv("HF_TOKEN", hub.token)
    monkeypatch.delenv("HF_OIDC_RESOURCE", raising=False)
    try:
        yield hub
    finally:
        hub.stop()


def offline(monkeypatch) -> None:
    """``HF_HUB_OFFLINE=1`` as ``huggingface_hub`` reads it (its constant is read at import time)."""
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
