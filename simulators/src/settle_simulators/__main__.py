"""`python -m settle_simulators serve`: the outside world in one process, for the local stack.

Runs the credit bureau (HTTP) and the SMTP sink (SMTP plus an HTTP API to read what was sent)
until SIGINT or SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence

from settle_simulators.bureau import BureauSimulator
from settle_simulators.serving import serve_until_signalled
from settle_simulators.smtp_sink import SmtpSink


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m settle_simulators")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the bureau and the SMTP sink")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--bureau-port", type=int, default=8090)
    serve.add_argument("--bureau-api-key", required=True)
    serve.add_argument("--smtp-port", type=int, default=2525)
    serve.add_argument("--mail-api-port", type=int, default=8025)
    serve.add_argument("--maildir", default=None, help="also keep each e-mail as an .eml file")
    args = parser.parse_args(argv)
    bureau = BureauSimulator(args.bureau_api_key, args.host, args.bureau_port)
    sink = SmtpSink(args.host, args.smtp_port, args.mail_api_port, args.maildir)
    banner = [
        f"credit bureau at http://{args.host}:{args.bureau_port}",
        f"SMTP sink on {args.host}:{args.smtp_port}, mail at http://{args.host}:{args.mail_api_port}/messages",
    ]
    asyncio.run(serve_until_signalled([bureau, sink], banner))


if __name__ == "__main__":
    main()
