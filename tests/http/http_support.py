"""What the HTTP tests share: a real `trackstore serve` with its HTTP port, and a small HTTP
client (the standard library's http.client: the calls are made as any client makes them)."""
from __future__ import annotations

import http.client
import json
import pathlib
from dataclasses import dataclass

from helpers import free_port
from trackstore_client.local import LocalServer

# name -> (key, scopes) of the keyed server's keys file
KEY_SCOPES = {"web": ("web-secret", ["default", "shop"]), "admin": ("admin-secret", ["*"])}
KEYS = "".join(f"[keys.{name}]\nkey = {json.dumps(key)}\nscopes = {json.dumps(scopes)}\n"
               for name, (key, scopes) in KEY_SCOPES.items())


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def json(self):
        return json.loads(self.body)

    @property
    def error(self) -> dict:
        return self.json["error"]


class HttpApi:
    """Calls to one server's HTTP port, with an API key if given."""

    def __init__(self, port: int, key: str | None = None):
        self.port = port
        self.key = key

    def call(self, method: str, path: str, body=None, *, raw: bytes | None = None,
             headers: dict | None = None, key: str | None = None) -> Answer:
        headers = dict(headers or {})
        key = key or self.key
        if key:
            headers.setdefault("Authorization", f"epi-single {key}")
        if body is not None:
            raw = json.dumps(body).encode()
            headers.setdefault("Content-Type", "application/json")
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        try:
            connection.request(method, path, body=raw, headers=headers)
            response = connection.getresponse()
            return Answer(response.status, {k.lower(): v for k, v in response.getheaders()},
                          response.read())
        finally:
            connection.close()

    def track(self, events, **kwargs) -> Answer:
        return self.call("POST", "/api/v2.0/TrackEvents/track", events, **kwargs)

    def preview(self, query: str, scope: str | None = None, **kwargs) -> Answer:
        body = {"Query": query} | ({"Scope": scope} if scope is not None else {})
        return self.call("POST", "/api/v2.0/TrackEvents/preview", body, **kwargs)

    def list(self, scope: str | None = None, **options) -> Answer:
        from urllib.parse import urlencode

        query = {f"${k}": v for k, v in options.items()} | ({"scope": scope} if scope else {})
        return self.call("GET", f"/api/v2.0/TrackEvents?{urlencode(query)}")

    def delete(self, scope: str, track_id: str, **kwargs) -> Answer:
        return self.call("DELETE", f"/api/v2.0/TrackEvents/{scope}/{track_id}", **kwargs)


@dataclass
class HttpServer:
    server: LocalServer
    api: HttpApi

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.api.port}"


def start_http_server(data_dir: pathlib.Path, *flags: str) -> HttpServer:
    port = free_port()
    server = LocalServer(data_dir, "--http-port", str(port), *flags).start()
    return HttpServer(server, HttpApi(port))
