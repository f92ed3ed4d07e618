"""``sd app STUDY``: serve the policy simulator of a study on loopback."""

from __future__ import annotations

import argparse
import sys

from sd.errors import ParameterError, optional


def add_command(sub: argparse._SubParsersAction) -> None:
    app = sub.add_parser(
        "app", help="interactive policy simulator of a study in the browser (loopback only)"
    )
    app.add_argument("study", help="study file (forecasts/*.toml)")
    app.add_argument(
        "--port", type=int, default=8050, help="port (default %(default)s; 0 = any free)"
    )
    app.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default %(default)s, this machine only); another address "
        "needs --allow-remote",
    )
    app.add_argument(
        "--allow-remote",
        action="store_true",
        help="let a non-loopback --host through: anyone who reaches it can run the model "
        "and write scenario files beside the study",
    )
    app.set_defaults(func=cmd_app)


def cmd_app(args: argparse.Namespace) -> int:
    optional("tornado", "The policy simulator (sd app)")
    optional("plotly", "The policy simulator (sd app)")
    from sd.app.server import check_host, serve
    from sd.app.session import AppSession

    if not 0 <= args.port <= 65535:
        raise ParameterError(f"--port {args.port}: give a port from 0 to 65535.")
    if not check_host(args.host) and not args.allow_remote:
        raise ParameterError(
            f"--host {args.host} is not a loopback address: the simulator listens on this "
            "machine only unless you add --allow-remote."
        )
    print(f"loading {args.study} ...", file=sys.stderr, flush=True)
    session = AppSession.open(args.study, cache_dir=args.cache_dir)

    def ready(port: int) -> None:
        print(
            f"policy simulator of {session.study.name}: http://{args.host}:{port}/ "
            "(Ctrl-C to stop)",
            flush=True,
        )

    try:
        serve(session, args.host, args.port, on_ready=ready)
    except OSError as err:
        raise ParameterError(
            f"cannot listen on {args.host}:{args.port} ({err.strerror}); choose another --port."
        ) from None
    return 0
