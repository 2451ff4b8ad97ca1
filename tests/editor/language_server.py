"""A minimal Language Server Protocol client for the YAML language server that editors run.

The server is the npm package yaml-language-server (pinned in tests/editor/package.json,
installed by scripts/setup.sh into tests/editor/node_modules), the same one VS Code's YAML
extension and other editors start. It speaks JSON-RPC over stdin/stdout with Content-Length
headers; this client sends what an editor sends when an analyst opens a file and asks for
completions, and answers the server's own requests (its settings) as an editor would.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from types import TracebackType
from typing import Any

HERE = Path(__file__).resolve().parent
SERVER = HERE / "node_modules" / "yaml-language-server" / "bin" / "yaml-language-server"
# What an editor with the YAML extension has by default, less the online schema catalogue.
SETTINGS = {"validate": True, "completion": True, "hover": True, "schemaStore": {"enable": False}}


class LanguageServer:
    def __init__(self, root: Path) -> None:
        node = shutil.which("node")
        if node is None or not SERVER.is_file():
            raise RuntimeError(
                f"the YAML language server is not installed ({SERVER}): run scripts/setup.sh"
            )
        self.root = root
        self.process = subprocess.Popen(
            [node, str(SERVER), "--stdio"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        self.next_id = 0
        self.diagnostics: dict[str, list[dict[str, Any]]] = {}

    def __enter__(self) -> LanguageServer:
        self.request(
            "initialize",
            {
                "processId": None,
                "rootUri": self.root.as_uri(),
                "capabilities": {
                    "workspace": {"configuration": True},
                    "textDocument": {"publishDiagnostics": {}, "completion": {}},
                },
            },
        )
        self.notify("initialized", {})
        self.notify("workspace/didChangeConfiguration", {"settings": {"yaml": SETTINGS}})
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.process.kill()
        self.process.wait()

    # --- what an editor does --------------------------------------------------------------

    def problems(self, path: Path, text: str | None = None) -> list[str]:
        """Open ``path`` (its text on disk, or ``text``) and return what the editor underlines."""
        uri = self.open(path, text)
        while uri not in self.diagnostics:
            self.handle(self.read())
        self.close(uri)
        return [d["message"] for d in self.diagnostics.pop(uri)]

    def completions(self, path: Path, text: str, line: int, character: int) -> list[str]:
        """The labels an editor offers at (line, character), both 0-based, in ``text``.

        ``text`` is opened as a new, unsaved file beside ``path`` (so that its relative
        ``$schema`` resolves): the server answers a reopened document from what it had.
        """
        self.next_id += 1
        uri = self.open(path.with_name(f"unsaved-{self.next_id}-{path.name}"), text)
        result = self.request(
            "textDocument/completion",
            {"textDocument": {"uri": uri}, "position": {"line": line, "character": character}},
        )
        self.close(uri)
        items = result.get("items", []) if isinstance(result, dict) else result or []
        return [item["label"] for item in items]

    def open(self, path: Path, text: str | None) -> str:
        uri = path.resolve().as_uri()
        self.diagnostics.pop(uri, None)
        document = {
            "uri": uri,
            "languageId": "yaml",
            "version": 1,
            "text": path.read_text(encoding="utf-8") if text is None else text,
        }
        self.notify("textDocument/didOpen", {"textDocument": document})
        return uri

    def close(self, uri: str) -> None:
        """Close the document, so that opening it again reads it anew, as an editor would."""
        self.notify("textDocument/didClose", {"textDocument": {"uri": uri}})

    # --- JSON-RPC ------------------------------------------------------------------------

    def request(self, method: str, params: dict[str, Any]) -> Any:
        self.next_id += 1
        sent = self.next_id
        self.send({"jsonrpc": "2.0", "id": sent, "method": method, "params": params})
        while True:
            message = self.read()
            if message.get("id") == sent and "method" not in message:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result")
            self.handle(message)

    def notify(self, method: str, params: dict[str, Any]) -> None:
        self.send({"jsonrpc": "2.0", "method": method, "params": params})

    def handle(self, message: dict[str, Any]) -> None:
        method = message.get("method")
        if method == "textDocument/publishDiagnostics":
            params = message["params"]
            self.diagnostics[params["uri"]] = params["diagnostics"]
        elif method is not None and "id" in message:
            # The server's own requests: its settings, and capabilities it registers.
            items = message.get("params", {}).get("items", [])
            result = (
                [SETTINGS if item.get("section") == "yaml" else None for item in items]
                if method == "workspace/configuration"
                else None
            )
            self.send({"jsonrpc": "2.0", "id": message["id"], "result": result})

    def send(self, message: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        body = json.dumps(message).encode()
        self.process.stdin.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        self.process.stdin.flush()

    def read(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        length = None
        while True:
            line = self.process.stdout.readline()
            if not line:
                raise RuntimeError("the YAML language server stopped")
            if not line.strip():
                break
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
        assert length is not None, "a message without Content-Length"
        message: dict[str, Any] = json.loads(self.process.stdout.read(length))
        return message
