"""`build.py token [--scope S ...] [--audience A]`: an access token from the local JWT issuer, which the local
endpoint's JWT authorizers accept and AWS never does (its issuer, `https://local-issuer.lambdafleet.invalid`,
cannot be resolved)."""

import argparse

from lambdafleet.build.api_config import LOCAL_ISSUER
from lambdafleet.build.paths import cache_root
from lambdafleet.build.project import load_project
from lambdafleet.errors import UserError

MAX_LIFETIME_S = 24 * 3600


def _default_audience(args: argparse.Namespace) -> str:
    """The audience of functions/api.toml's local-issuer authorizers when they all name the same first one."""
    authorizers = load_project(args.root).api["authorizers"].values()
    firsts = {a["audience"][0] for a in authorizers if a["type"] == "jwt" and a["issuer"] == LOCAL_ISSUER}
    if len(firsts) != 1:
        raise UserError(
            "--audience: needed, functions/api.toml has "
            + (
                "no jwt authorizer with issuer = 'local'"
                if not firsts
                else f"several audiences ({', '.join(sorted(firsts))})"
            )
        )
    return str(firsts.pop())


def _run(args: argparse.Namespace) -> int:
    if not 1 <= args.lifetime <= MAX_LIFETIME_S:
        raise UserError(f"--lifetime {args.lifetime}: must be 1 to {MAX_LIFETIME_S} seconds")
    audience = args.audience or _default_audience(args)
    from lambdafleet.endpoint import local_issuer  # imports joserfc: only this command pays for it

    scopes = [scope for text in args.scope for scope in text.split()]
    print(
        local_issuer.mint(
            cache_root(args.root), scopes=scopes, audience=audience, subject=args.subject, lifetime_s=args.lifetime
        )
    )
    return 0


def register(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add the token command."""
    summary = "print an access token from the local JWT issuer (accepted by the local endpoint only, never by AWS)"
    parser = subparsers.add_parser(
        "token",
        help=summary,
        description=f"{summary[0].upper()}{summary[1:]}. Send it as 'Authorization: Bearer <token>' to routes "
        "whose functions/api.toml authorization is a jwt authorizer with issuer = 'local'.",
    )
    parser.add_argument(
        "--scope", action="append", default=[], metavar="SCOPE", help="a scope the token holds (repeatable)"
    )
    parser.add_argument(
        "--audience", help="aud and client_id (default: the audience of api.toml's local jwt authorizer)"
    )
    parser.add_argument("--subject", default="local-user", help="sub claim (default local-user)")
    parser.add_argument("--lifetime", type=int, default=3600, metavar="SECONDS", help="validity (default 3600)")
    parser.set_defaults(run=_run)
