"""`hep staff add|list|unlock|password`: local staff accounts for the web pages (docs/web.md)."""
from __future__ import annotations

from . import CliError
from ._common import add_store_args, engine_from


def register(sub) -> None:
    p = sub.add_parser("staff", help="staff accounts for the web pages (social workers, supervisors, analysts, operators)")
    s = p.add_subparsers(dest="staff_command", required=True, metavar="ACTION")
    a = s.add_parser("add", help="create an account; prints its generated password ONCE")
    a.add_argument("username")
    a.add_argument("--role", required=True, choices=["social_worker", "supervisor", "analyst", "operator"])
    a.add_argument("--person", metavar="ID", help="the worker's CWS person id (e.g. SW00001): links their caseload")
    a.add_argument("--name", help="display name (default: the username)")
    add_store_args(a)
    a.set_defaults(func=add)
    ls = s.add_parser("list", help="list accounts")
    add_store_args(ls)
    ls.set_defaults(func=list_)
    pw = s.add_parser("password", help="set a new generated password (prints it once) and end the user's sessions")
    pw.add_argument("username")
    add_store_args(pw)
    pw.set_defaults(func=password)


def add(args) -> int:
    from ..web.accounts import AccountError, add_user
    try:
        user, pw = add_user(engine_from(args), args.tenant, args.username, args.role, display_name=args.name,
                            person_id=args.person)
    except AccountError as e:
        raise CliError(str(e)) from None
    print(f"created {user.username} ({user.role}{', CWS ' + user.cws_person_id if user.cws_person_id else ''})")
    print(f"password (shown once): {pw}")
    return 0


def list_(args) -> int:
    from ..web.accounts import list_users
    for u in list_users(engine_from(args), args.tenant):
        print(f"{u['username']:<24} {u['role']:<14} {u['cws_person_id'] or '-':<10} {u['display_name']}"
              f"{'  (locked until ' + str(u['locked_until']) + ')' if u['locked_until'] else ''}")
    return 0


def password(args) -> int:
    from ..web.accounts import AccountError, set_password
    try:
        pw = set_password(engine_from(args), args.tenant, args.username)
    except AccountError as e:
        raise CliError(str(e)) from None
    print(f"new password for {args.username} (shown once): {pw}")
    return 0
