"""Puts generated figures into docs/reliability.md, between `<!-- NAME figures -->` and `<!-- end NAME figures -->`."""
import datetime
import os
import platform

DOC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "docs", "reliability.md")


def replace_section(name, table):
    with open(DOC) as handle:
        text = handle.read()
    start, end = f"<!-- {name} figures -->", f"<!-- end {name} figures -->"
    before, rest = text.split(start, 1)
    _, after = rest.split(end, 1)
    stamp = f"Last run: {datetime.date.today().isoformat()}, {os.cpu_count()} cores, {platform.machine()}."
    with open(DOC, "w") as handle:
        handle.write(f"{before}{start}\n{stamp}\n\n{table}\n{end}{after}")
