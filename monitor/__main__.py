"""`python -m monitor` is the `sameday` command."""

from monitor.cli import main

main()
