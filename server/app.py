"""Kept only for bench/noop_server.py, which imports `grpc_server` from here: the server and its
entry point are server/api/app.py. Remove once bench/ imports trackstore_server.api.app."""
from .api.app import grpc_server

__all__ = ["grpc_server"]
