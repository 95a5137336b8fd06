"""``python3 -m kopnet_client``: keys, balances, payments and events from a shell.

    python3 -m kopnet_client keygen --out me.key
    python3 -m kopnet_client balance --node http://127.0.0.1:7001 --key me.key
    python3 -m kopnet_client pay --node URL --key me.key --to kop… --amount 10000 --wait
    python3 -m kopnet_client events --node URL --count 3

Each prints one JSON object per line; errors go to stderr with exit code 1.
"""

import argparse
import json
import sys

from .client import ApiError, Client, TransportError
from .keys import Key, KeyFileError
from .address import AddressError
from .codec import EncodeError


def _print(value):
    print(json.dumps(value, sort_keys=True), flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="kopnet_client", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    keygen = sub.add_parser("keygen", help="make a key file (mode 0600) and print its address")
    keygen.add_argument("--out", required=True)
    for name, text in (("balance", "an account's balance (signed by --key)"),
                       ("pay", "sign and submit a payment"),
                       ("events", "print the node's block events")):
        p = sub.add_parser(name, help=text)
        p.add_argument("--node", required=True, help="the node's API URL")
        p.add_argument("--key", required=(name != "events"), help="a key file")
    sub.choices["balance"].add_argument("--address", help="default: the key's own account")
    pay = sub.choices["pay"]
    pay.add_argument("--to", required=True)
    pay.add_argument("--amount", required=True, type=int, help="integer rupiah")
    pay.add_argument("--memo", default="")
    pay.add_argument("--nonce", type=int, help="default: the account's next_nonce")
    pay.add_argument("--wait", action="store_true", help="wait until committed")
    pay.add_argument("--timeout", type=float, default=60.0)
    events = sub.choices["events"]
    events.add_argument("--count", type=int, default=1, help="blocks to print (0: until stopped)")
    events.add_argument("--timeout", type=float, default=60.0, help="longest wait for a line")
    args = parser.parse_args(argv)

    try:
        if args.command == "keygen":
            key = Key.generate()
            key.save(args.out)
            _print({"address": key.address, "key_file": args.out})
            return 0
        client = Client(args.node)
        key = Key.load(args.key) if args.key else None
        if args.command == "balance":
            address = args.address or key.address
            _print({"address": address, "balance": client.balance(key, address)})
        elif args.command == "pay":
            answer = client.pay(key, args.to, args.amount, memo=args.memo, nonce=args.nonce)
            if args.wait:
                answer = client.wait_committed(answer["hash"], key=key, timeout_s=args.timeout)
            _print(answer)
        elif args.command == "events":
            stream = client.events(key=key, timeout_s=args.timeout)
            _print({"event": "connected"})
            seen = 0
            for event, data in stream:
                _print({"event": event, "data": data})
                seen += event == "block"
                if seen == args.count or event == "dropped":
                    break
        return 0
    except (ApiError, TransportError, KeyFileError, AddressError, EncodeError,
            TimeoutError) as e:
        print(f"kopnet_client: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
