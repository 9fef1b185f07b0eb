"""What a request to the daemon can be refused for; the API maps each to an HTTP status.

    Refused
    ├── BadRequest     malformed (400): the message names the key and what to send
    ├── Unsatisfiable  can never run here (400): Slurm's words, then what exceeds what
    ├── Forbidden      not yours (403)
    ├── NotFound       no such job or node (404)
    └── Conflict       not in a state that allows it (409)
"""

from __future__ import annotations


class Refused(Exception):
    status = 400
    code = "refused"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(Refused):
    code = "bad_request"


class Unsatisfiable(Refused):
    code = "unsatisfiable"


class Forbidden(Refused):
    status = 403
    code = "forbidden"


class NotFound(Refused):
    status = 404
    code = "not_found"


class Conflict(Refused):
    status = 409
    code = "conflict"
