#!/usr/bin/env python3
"""Render every chat template in Fixtures/chat-templates/ with real jinja2 and write the golden file
Fixtures/reference/chat-renders.json that ShardChatTests compares ShardChat's renderer against.

The environment mimics HuggingFace transformers' `render_jinja_template` (and llama-cpp-python's
Jinja2ChatFormatter): an ImmutableSandboxedEnvironment with trim_blocks, lstrip_blocks and loop controls,
the `tojson` filter as transformers defines it (ensure_ascii=False), `raise_exception` and `strftime_now`.
`strftime_now` reads a FIXED date so the output is reproducible; ShardChat takes the same date through
`ChatTemplate.render(..., now:)`.

Run with the llama venv (it has jinja2):
    /root/.cache/shard/llama-venv/bin/python scripts/reference/make_chat_references.py
"""
import json
import pathlib
from datetime import datetime

import jinja2
from jinja2.ext import loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment

ROOT = pathlib.Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "Fixtures" / "chat-templates"
OUTPUT = ROOT / "Fixtures" / "reference" / "chat-renders.json"

# The date strftime_now sees; ChatTemplateTests passes the same instant (UTC) to the Swift renderer.
FIXED_DATE = datetime(2025, 3, 14, 9, 26, 53)


class TemplateRaised(Exception):
    """What raise_exception throws, so the script can tell it apart from other jinja2 errors."""


def raise_exception(message):
    raise TemplateRaised(message)


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    # Exactly transformers' definition (jinja2's own tojson escapes HTML characters, which chat templates don't want).
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def strftime_now(format):
    return FIXED_DATE.strftime(format)


def environment():
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


# Special tokens each model family's tokenizer defines.
TOKENS = {
    "smollm2-135m-instruct.jinja": ("<|im_start|>", "<|im_end|>"),
    "qwen2.5-instruct.jinja": ("", "<|im_end|>"),
    "llama-3.2-instruct.jinja": ("<|begin_of_text|>", "<|eot_id|>"),
    "gemma-3-it.jinja": ("<bos>", "<eos>"),
    "mistral-7b-instruct-v0.1.jinja": ("<s>", "</s>"),
    "chatml.jinja": ("<s>", "</s>"),
    "llama-2-chat.jinja": ("<s>", "</s>"),
}


def m(role, content):
    return {"role": role, "content": content}


SPECIAL = 'Quotes "double" and \'single\', a backslash \\ and {{ braces }} {% tags %}\nnew line\ttab, café 中文 🙏🏽  '

CONVERSATIONS = {
    "single-user": [m("user", "Hello!")],
    "system-user": [m("system", "You are terse."), m("user", "Hello!")],
    "multi-turn-system": [
        m("system", "  You are a helpful assistant.  "),
        m("user", "What is 2+2?"),
        m("assistant", "  4  "),
        m("user", "And 3+3?"),
    ],
    "multi-turn": [
        m("user", "Hi there"),
        m("assistant", "Hello! How can I help?"),
        m("user", "Tell me a joke."),
        m("assistant", "Why did the chicken cross the road?"),
    ],
    "special-characters": [m("user", SPECIAL), m("assistant", "\n" + SPECIAL + "\n"), m("user", "\u00e9\u0301 \u200b end")],
    "empty-content": [m("user", "")],
    "non-alternating": [m("user", "one"), m("user", "two")],
    "system-only": [m("system", "Only a system message.")],
    "assistant-first": [m("assistant", "I speak first."), m("user", "Ok.")],
}

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Get the weather for a city, e.g. \"Paris\".",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}, "days": {"type": "integer", "maximum": 7}},
                "required": ["city"],
                "strict": True,
                "nothing": None,
            },
        },
    }
]

# Extra keyword arguments for some renders (transformers passes them straight to render()).
EXTRA_CASES = [
    ("llama-3.2-instruct.jinja", "date-string", "system-user", {"date_string": "01 Jan 2030"}),
    ("llama-3.2-instruct.jinja", "tools", "system-user", {"tools": TOOLS}),
    ("llama-3.2-instruct.jinja", "tools-in-system", "system-user", {"tools": TOOLS, "tools_in_user_message": False}),
    ("llama-3.2-instruct.jinja", "tools-no-user", "system-only", {"tools": TOOLS}),
    ("qwen2.5-instruct.jinja", "tools", "multi-turn-system", {"tools": TOOLS}),
    ("qwen2.5-instruct.jinja", "tools-no-system", "single-user", {"tools": TOOLS}),
]


def typed(value):
    """Extra context in a type-tagged form that keeps dict order and bool/int apart for the Swift decoder."""
    if isinstance(value, dict):
        return {"object": [[key, typed(item)] for key, item in value.items()]}
    if isinstance(value, list):
        return {"array": [typed(item) for item in value]}
    if isinstance(value, bool):
        return {"bool": value}
    if isinstance(value, int):
        return {"int": value}
    if isinstance(value, float):
        return {"double": value}
    if isinstance(value, str):
        return {"string": value}
    if value is None:
        return {"none": True}
    raise TypeError(type(value))


def render(env, source, messages, add_generation_prompt, bos, eos, extra):
    template = env.from_string(source)
    context = {"messages": messages, "tools": None, "documents": None,
               "add_generation_prompt": add_generation_prompt, "bos_token": bos, "eos_token": eos}
    context.update(extra)
    try:
        return {"expected": template.render(**context), "error": None}
    except TemplateRaised as error:
        return {"expected": None, "error": {"kind": "raised", "message": str(error)}}
    except jinja2.exceptions.TemplateError as error:
        return {"expected": None, "error": {"kind": "other", "message": f"{type(error).__name__}: {error}"}}


def main():
    env = environment()
    cases = []
    for name in sorted(TOKENS):
        source = (TEMPLATES / name).read_text(encoding="utf-8")
        bos, eos = TOKENS[name]
        runs = [(conv, {}, conv) for conv in CONVERSATIONS]
        runs += [(conv, extra, f"{conv}+{label}") for (t, label, conv, extra) in EXTRA_CASES if t == name]
        for conversation, extra, label in runs:
            for add_generation_prompt in (True, False):
                messages = CONVERSATIONS[conversation]
                case = {
                    "name": f"{name} {label} gen={add_generation_prompt}",
                    "template": name,
                    "messages": messages,
                    "add_generation_prompt": add_generation_prompt,
                    "bos_token": bos,
                    "eos_token": eos,
                    "extra": typed(extra),
                }
                case.update(render(env, source, messages, add_generation_prompt, bos, eos, extra))
                cases.append(case)
    document = {
        "generator": "scripts/reference/make_chat_references.py",
        "jinja2_version": jinja2.__version__,
        "fixed_date": FIXED_DATE.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "cases": cases,
    }
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(json.dumps(document, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    errors = sum(1 for c in cases if c["error"])
    print(f"wrote {len(cases)} cases ({errors} expected errors) to {OUTPUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
