#!/usr/bin/env python3
"""Generate random small templates from fixed seeds, render them with jinja2 in transformers' environment, and
write Fixtures/reference/jinja-fuzz.json (same format as jinja-snippets.json) for ShardChatTests to compare against.

Two generators: expressions (operators, filters, tests, methods over mixed Python values) and statement soups
(nested if/for/set/comments with every whitespace-control sign), which exercise trim_blocks/lstrip_blocks and
jinja2's scoping. Constructs ShardChat deliberately leaves out are not generated: string `%` formatting and the
filters jinja2 evaluates lazily as generators (`items`, `unique`, `reverse` print as `<generator ...>`).

    /root/.cache/shard/llama-venv/bin/python scripts/reference/make_jinja_fuzz.py
"""
import json
import random
import sys

sys.dont_write_bytecode = True  # importing the sibling script must not leave __pycache__ in the tree
import make_chat_references as reference  # noqa: E402  (the script's folder is on sys.path when run)

OUTPUT = reference.ROOT / "Fixtures" / "reference" / "jinja-fuzz.json"

ATOMS = ["1", "0", "-3", "2.5", "0.0", "'a'", "''", "'Ab c'", "' x '", "none", "true", "false", "items", "d", "name",
         "n", "[]", "[1, 'b']", "{'k': 1}", "nothing", "messages[0]", "messages[1].content", "(1, 2)", "s"]
BINARY = ["+", "-", "*", "/", "//", "~", "==", "!=", "<", ">=", "and", "or", "in", "not in"]
FILTERS = ["trim", "length", "upper", "lower", "title", "first", "last", "string", "int", "list", "tojson",
           "default('D')", "join('-')", "sort", "capitalize", "abs", "float", "count", "wordcount", "e"]
TESTS = ["defined", "none", "string", "number", "mapping", "iterable", "sequence", "odd", "even", "true", "false",
         "boolean", "integer", "float", "lower", "upper"]
METHODS = ["strip()", "upper()", "lower()", "split()", "title()", "startswith('a')", "endswith('c')",
           "replace('a', 'z')", "get('k')", "split(' ')", "lstrip()", "find('b')"]
SPACES = ["", " ", "\n", "  \n", "\n  ", "\t", "\n\n", " x ", "\n    y\n"]


def expression(rng, depth=0):
    r = rng.random()
    if depth > 2 or r < 0.3:
        return rng.choice(ATOMS)
    if r < 0.55:
        return f"({expression(rng, depth + 1)} {rng.choice(BINARY)} {expression(rng, depth + 1)})"
    if r < 0.7:
        return f"({expression(rng, depth + 1)} | {rng.choice(FILTERS)})"
    if r < 0.8:
        return f"({expression(rng, depth + 1)} is {rng.choice(['', 'not '])}{rng.choice(TESTS)})"
    if r < 0.9:
        return f"{rng.choice(ATOMS)}.{rng.choice(METHODS)}"
    return f"({expression(rng, depth + 1)} if {expression(rng, depth + 1)} else {expression(rng, depth + 1)})"


def expression_template(rng):
    if rng.random() < 0.3:
        return "{% for x in " + expression(rng, 1) + " %}[{{ x }}{{ loop.index }}]{% else %}E{% endfor %}"
    return "{{ " + expression(rng) + " }}"


def statements(rng, depth=0):
    def tag(body):
        return "{%" + rng.choice(["", "-", "+"]) + " " + body + " " + rng.choice(["", "-", "+"]) + "%}"

    parts = []
    for _ in range(rng.randint(1, 4)):
        r = rng.random()
        parts.append(rng.choice(SPACES))
        if depth < 3 and r < 0.25:
            condition = rng.choice(["true", "false", "n > 3", "nothing", "items"])
            otherwise = tag("else") + statements(rng, depth + 1) if rng.random() < 0.5 else ""
            parts.append(tag("if " + condition) + statements(rng, depth + 1) + otherwise + tag("endif"))
        elif depth < 3 and r < 0.45:
            iterable = rng.choice(["items", "messages", "[]", "'ab'", "d"])
            otherwise = tag("else") + statements(rng, depth + 1) if rng.random() < 0.3 else ""
            parts.append(tag("for x in " + iterable) + statements(rng, depth + 1) + otherwise + tag("endfor"))
        elif r < 0.55:
            parts.append(tag("set " + rng.choice(["a", "b"]) + " = " + rng.choice(["1", "'q'", "items | length", "x"])))
        elif r < 0.65:
            parts.append("{#" + rng.choice(["", "-"]) + " c " + rng.choice(["", "-"]) + "#}")
        else:
            names = ["x", "a", "b", "loop.index", "name", "x.role", "n ~ x"] if depth else ["name", "a", "n"]
            parts.append("{{" + rng.choice(["", "-"]) + " " + rng.choice(names) + " " + rng.choice(["", "-"]) + "}}")
        parts.append(rng.choice(SPACES))
    return "".join(parts)


def main():
    env = reference.environment()
    cases = []
    for generator, seed, count in [(expression_template, 1, 500), (lambda rng: statements(rng), 2, 500)]:
        rng = random.Random(seed)
        for _ in range(count):
            source = generator(rng)
            try:
                case = {"template": source, "expected": env.from_string(source).render(**reference.SNIPPET_CONTEXT),
                        "error": None}
            except reference.TemplateRaised as error:
                case = {"template": source, "expected": None, "error": {"kind": "raised", "message": str(error)}}
            except Exception as error:  # jinja2 and Python errors alike: the Swift side expects a runtime error
                case = {"template": source, "expected": None,
                        "error": {"kind": "other", "message": f"{type(error).__name__}: {error}"}}
            if case["expected"] is not None and ("dict_" in case["expected"] or "object at 0x" in case["expected"]):
                continue
            cases.append(case)
    OUTPUT.write_text(json.dumps({"context": reference.typed(reference.SNIPPET_CONTEXT), "cases": cases},
                                 ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {len(cases)} cases to {OUTPUT.relative_to(reference.ROOT)}")


if __name__ == "__main__":
    main()
