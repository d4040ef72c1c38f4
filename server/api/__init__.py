"""The gRPC edge: the server and its entry point (app.py), grpc.aio's server on its own event
loop (loop_server.py), where each call runs and how it ends (rpc.py), the servicers
(servicer.py), the handler table built from the contract (registration.py), API keys (auth.py),
and the one table from domain errors to status codes (status.py). Nothing here touches the
database: each RPC is one call to the engine (server/engine.py).
"""
