"""kinto-http's constants, at the module path kinto-http code imports them from
(``from kinto_orm.constants import SERVER_URL``)."""

from __future__ import annotations

import re

from ._version import __version__

#: The User-Agent kinto-orm sends.
USER_AGENT = f"kinto-orm/{__version__}"
#: The permissions each kind of object takes.
OBJECTS_PERMISSIONS: dict[str, list[str]] = {
    "bucket": ["group:create", "collection:create", "write", "read"],
    "group": ["write", "read"],
    "collection": ["write", "read", "record:create"],
    "record": ["read", "write"],
}
ID_FIELD = "id"
#: The headers of a create that must not overwrite.
DO_NOT_OVERWRITE = {"If-None-Match": "*"}
#: Kinto's id rule (what :func:`kinto_orm.utils.slugify` leaves alone).
VALID_SLUG_REGEXP = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_-]*$")
SERVER_URL = "http://localhost:8888/v1"
DEFAULT_AUTH = ("user", "p4ssw0rd")
#: The command-line options of ``cli_utils.add_parser_options``.
ALL_PARAMETERS = [
    ["-h", "--help"],
    ["-s", "--server"],
    ["-a", "--auth"],
    ["-b", "--bucket"],
    ["-c", "--collection"],
    ["--retry"],
    ["--retry-after"],
    ["--ignore-batch-4xx"],
    ["-v", "--verbose"],
    ["-q", "--quiet"],
    ["-D", "--debug"],
]
