"""The `trackstore` command: runs the server, and talks to one as a client.

Every failure is one line on stderr and an exit status (`trackstore --help` lists them): 1 with
`STATUS_NAME: message` when the server refused or failed the call, 2 with `FILE:LINE: reason`
or the option at fault for a usage or local input error. Never a traceback.
"""
from __future__ import annotations

import sys

from trackstore.errors import TrackstoreError

from .commands import CommandFailed
from .inputs import InputError
from .parser import build_parser

SERVER_ERROR, USAGE_ERROR, INTERRUPTED = 1, 2, 130


def _fail(message: str, code: int) -> int:
    lines = str(message).strip().splitlines() or ["failed"]
    sys.stderr.write(lines[0] + "\n")
    return code


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)  # usage errors: argparse's one line, status 2
    try:
        return args.run(args)
    except TrackstoreError as error:
        name = error.code.name if error.code is not None else "ERROR"
        return _fail(f"{name}: {error.message}", SERVER_ERROR)
    except InputError as error:
        return _fail(str(error), USAGE_ERROR)
    except CommandFailed as error:
        return _fail(str(error), SERVER_ERROR)
    except KeyboardInterrupt:
        return INTERRUPTED
    except BrokenPipeError:  # `trackstore list ... | head`: the reader left, nothing to say
        sys.stderr.close()
        return 0
    except Exception as error:  # a bug of ours: still one line, never a traceback
        return _fail(f"trackstore: unexpected error: {type(error).__name__}: {error}",
                     SERVER_ERROR)


if __name__ == "__main__":
    sys.exit(main())
