"""Filter definitions and segments (issue 22): the domain layer the gRPC servicers
(server/api/segments.py) and any other edge call, in the engine's terms and errors.

A filter definition is a KQL template with typed parameters (querylang/templates.py); a segment
binds one to values and holds the DeviceIds of the events that match, as a materialisation: a
generation of rows in the lake table `segment_members`, refreshed on a schedule by one server at
a time (refresh.py, scheduler.py), and in every server's memory as sorted 128-bit hashes
(membership.py), which IsInSegment and SegmentsOf search without a query.

Modules: model.py (the resources and their rules), tables.py (the lake tables, a store-format
step), catalog.py (their rows and the writes, one server at a time per scope), definitions.py
and stored_segments.py (the standard methods), evaluation.py (pages of DeviceIds), paging.py
(page sizes and tokens), service.py (the facade the engine owns, `engine.segments`).
"""
