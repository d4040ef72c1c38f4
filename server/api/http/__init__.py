"""The HTTP edge, beside the gRPC one and on the same engine, keys, scopes and limits: the
Optimizely Profile Store's track-event routes (trackevents.py), their OpenAPI document
(openapi.py) and Swagger page, and the events console (static/). Each route parses its request,
makes one engine call in the thread pool and writes the answer (calls.py); errors take their
HTTP status from the one table of server/api/status.py (error_body.py).
"""
