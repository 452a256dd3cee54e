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
SNIPPET_OUTPUT = ROOT / "Fixtures" / "reference" / "jinja-snippets.json"

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
    "qwen3-0.6b.jinja": ("", "<|im_end|>"),
    "phi-3.5-mini-instruct.jinja": ("<s>", "<|endoftext|>"),
    "mistral-nemo-instruct-2407.jinja": ("<s>", "</s>"),
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
    "thinking": [
        m("user", "Think first."),
        m("assistant", "<think>\nLet me see.\n</think>\n\nThe answer is 4."),
        m("user", "Again?"),
        m("assistant", "<think>Hmm</think>Still 4."),
    ],
    "long": [m("system", "Count.")] + [m("user" if i % 2 == 0 else "assistant", f"turn {i}") for i in range(24)],
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
    ("qwen3-0.6b.jinja", "no-thinking", "multi-turn-system", {"enable_thinking": False}),
    ("qwen3-0.6b.jinja", "thinking-on", "thinking", {"enable_thinking": True}),
    ("qwen3-0.6b.jinja", "tools", "thinking", {"tools": TOOLS}),
    ("mistral-nemo-instruct-2407.jinja", "tools", "multi-turn-system", {"tools": [
        {"type": "function", "function": {"name": "f", "description": "d", "parameters": {"x": 1}, "return": "skip"}},
        {"type": "function", "function": {"name": "g", "strict": True}},
    ]}),
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


# Small templates that exercise one interpreter feature each; rendered with the context {"messages": MESSAGES,
# "name": "World", "n": 7, "items": [3, 1, 2], "d": {"b": 1, "a": [1, 2]}, "s": "  Hello, World  "}.
SNIPPET_CONTEXT = {
    "messages": [m("system", "sys"), m("user", "hi"), m("assistant", "yo")],
    "name": "World", "n": 7, "items": [3, 1, 2], "d": {"b": 1, "a": [1, 2]}, "s": "  Hello, World  ",
}
SNIPPETS = [
    # literals and output of Python values
    "{{ 'a' }}{{ \"b\" }}{{ 1 }}{{ 1.5 }}{{ 2.0 }}{{ true }}{{ True }}{{ none }}{{ None }}{{ false }}",
    "{{ [1, 'two', none, true, 2.5, {'k': \"it's\"}] }}|{{ {'a': 1, 'b': [2]} }}|{{ (1, 2) }}|{{ [] }}|{{ {} }}",
    "{{ 'a\\nb\\tc\\\\d\\'e\\\"f\\x41\\u00e9\\U0001F600' }}",
    "{{ 'adjacent' 'strings' }}|{{ 1_000 }}|{{ 1e3 }}|{{ 12.5e-1 }}",
    # arithmetic and operators
    "{{ 1 + 2 }} {{ 7 - 10 }} {{ 3 * 4 }} {{ 7 / 2 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 2 ** 10 }}",
    "{{ 1 + 2.5 }} {{ 0.1 + 0.2 }} {{ 1 / 3 }} {{ 6 / 3 }} {{ 7.5 // 2 }} {{ -7.5 % 2 }} {{ true + 1 }}",
    "{{ 'ab' * 3 }}|{{ [1] * 3 }}|{{ [1, 2] + [3] }}|{{ 'x' ~ 1 ~ none ~ true }}|{{ name ~ '!' }}",
    "{{ 1 == 1.0 }} {{ 1 != 2 }} {{ 'a' < 'b' }} {{ 2 >= 3 }} {{ [1, 2] == [1, 2] }} {{ true == 1 }} {{ 'a' == 1 }}",
    "{{ 'b' in 'abc' }} {{ 2 in items }} {{ 'a' in d }} {{ 'z' not in d }} {{ 5 not in items }} {{ 'x' in undefined_thing }}",
    "{{ not true }} {{ true and 'yes' }} {{ false or 'fallback' }} {{ 0 or '' or 'last' }} {{ 1 and 0 }} {{ not (1 and 0) }}",
    "{{ -n }} {{ +n }} {{ -(n + 1) }} {{ n - -1 }} {{ 2 * 3 + 4 }} {{ 2 * (3 + 4) }} {{ 2 ** 3 ** 2 }}",
    "{{ 'yes' if n > 5 else 'no' }}|{{ 'yes' if n > 50 }}|{{ 'a' if false else 'b' if false else 'c' }}",
    # indexing, attributes, slicing
    "{{ messages[0]['role'] }} {{ messages[1].content }} {{ messages[-1].role }} {{ messages.0.role }} {{ d.a[1] }} {{ d['a'][0] }}",
    "{{ items[1:] }} {{ items[:1] }} {{ items[::-1] }} {{ items[-2:] }} {{ 'abcdef'[1:4] }} {{ 'abcdef'[::2] }} {{ name[-1] }} {{ items[5:9] }}",
    "{{ messages[1:] | length }} {{ messages[10] is defined }} {{ d.missing is defined }} {{ d.missing is undefined }}",
    # tests
    "{{ none is none }} {{ 1 is none }} {{ name is string }} {{ 1 is string }} {{ 1 is number }} {{ 1.5 is float }} {{ 1 is integer }}",
    "{{ d is mapping }} {{ items is mapping }} {{ items is iterable }} {{ name is iterable }} {{ 1 is iterable }} {{ nothing is iterable }}",
    "{{ n is odd }} {{ n is even }} {{ 9 is divisibleby 3 }} {{ 9 is divisibleby(4) }} {{ n is not none }} {{ true is boolean }} {{ n is defined }} {{ nothing is defined }}",
    "{{ 3 is eq 3 }} {{ 3 is lt 4 }} {{ 3 is gt(4) }} {{ 'a' is in 'abc' }} {{ none is sameas none }} {{ 'a' is lower }} {{ 'A' is upper }}",
    # filters
    "[{{ s | trim }}] [{{ s | length }}] [{{ name | upper }}] [{{ name | lower }}] [{{ 'hello wORLD-x (y' | title }}] [{{ 'hELLO' | capitalize }}]",
    "{{ items | first }} {{ items | last }} {{ items | length }} {{ d | length }} {{ items | join(', ') }} {{ items | join }} {{ messages | map(attribute='role') | join('/') }}",
    "{{ nothing | default('dflt') }} {{ '' | default('empty') }} {{ '' | default('empty', true) }} {{ none | default('x') }} {{ nothing | d('d') }}",
    "{{ 'a-b-c' | replace('-', '+') }} {{ 'aaa' | replace('a', 'b', 2) }} {{ 42 | string }} {{ '42' | int + 1 }} {{ 'x' | int }} {{ '3.7' | int }} {{ 3.7 | int }} {{ '2.5' | float }}",
    "{{ d | items | list }} {{ items | sort }} {{ items | sort(reverse=true) }} {{ ['b', 'A', 'c'] | sort }} {{ items | reverse | list }} {{ [1, 2, 1] | unique | list }}",
    "{{ items | min }} {{ items | max }} {{ items | sum }} {{ -3 | abs }} {{ messages | selectattr('role', 'equalto', 'user') | list | length }} {{ messages | rejectattr('role', 'eq', 'user') | map(attribute='role') | list }}",
    "{{ [0, 1, '', 'a'] | select | list }} {{ [1, 2, 3, 4] | select('odd') | list }} {{ [1, 2, 3] | reject('odd') | list }} {{ ['a', 'b'] | map('upper') | list }}",
    "{{ d | tojson }}|{{ items | tojson }}|{{ 'qu\"ote é \\n' | tojson }}|{{ none | tojson }}|{{ true | tojson }}|{{ 1.5 | tojson }}",
    "{{ {'é': ['ü', '🙏', '\\u0001']} | tojson(ensure_ascii=true) }}|{{ d | tojson(separators=(',', ':')) }}|{{ d | tojson(indent=1, separators=[';', '=']) }}",
    "{{ d | tojson(indent=2) }}|{{ {'z': 1, 'a': {'y': [], 'x': {}}} | tojson(indent=4) }}|{{ {'b': 1, 'a': 2} | tojson(sort_keys=true) }}",
    "{{ 'line1\\nline2\\n\\nline4' | indent(2) }}|{{ 'a\\nb' | indent(2, true) }}|{{ '<a href=\"x\">&</a>' | e }}|{{ 'one two  three' | wordcount }}",
    "{{ d | dictsort }} {{ 'abc' | list }} {{ messages | map(attribute='nope', default='n/a') | list }} {{ d | attr('b') }}",
    # string and dict methods
    "[{{ s.strip() }}] [{{ s.lstrip() }}] [{{ s.rstrip() }}] [{{ 'xxhixx'.strip('x') }}] {{ name.startswith('Wo') }} {{ name.endswith(('x', 'ld')) }}",
    "{{ 'a,b,,c'.split(',') }} {{ '  a  b '.split() }} {{ 'a b c'.split(' ', 1) }} {{ 'Ab'.lower() }} {{ 'Ab'.upper() }} {{ \"they're bill's\".title() }}",
    "{{ 'hello'.replace('l', 'L') }} {{ 'hello'.find('l') }} {{ 'hello'.count('l') }} {{ '-'.join(['a', 'b']) }} {{ 'a\\nb\\n'.splitlines() }} {{ 'hello'.capitalize() }}",
    "{{ d.get('b') }} {{ d.get('zz') }} {{ d.get('zz', 'dflt') }} {{ d.keys() | list }} {{ d.values() | list }} {{ d.items() | list }}",
    "{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}",
    # loops
    "{% for x in items %}{{ loop.index }}/{{ loop.index0 }}/{{ loop.revindex }}/{{ loop.revindex0 }}/{{ loop.first }}/{{ loop.last }}/{{ loop.length }} {% endfor %}",
    "{% for x in items %}{{ loop.previtem | default('-') }}{{ x }}{{ loop.nextitem | default('-') }} {% endfor %}{% for x in items %}{{ loop.cycle('a', 'b') }}{% endfor %}",
    "{% for x in items if x > 1 %}{{ x }}{{ loop.length }}{% else %}none{% endfor %}|{% for x in [] %}{{ x }}{% else %}empty{% endfor %}",
    "{% for x in range(10) %}{% if x == 2 %}{% continue %}{% endif %}{% if x == 5 %}{% break %}{% endif %}{{ x }}{% endfor %}",
    "{% for x in range(2, 10, 3) %}{{ x }}{% endfor %}|{% for x in range(5, 0, -2) %}{{ x }}{% endfor %}|{% for c in 'abc' %}{{ c }}.{% endfor %}",
    "{% for x in [[1, 2], [3, 4]] %}{% for y in x %}{{ loop.index }}{{ y }}{% endfor %}-{{ loop.index }};{% endfor %}",
    "{% for message in messages | selectattr('role', 'ne', 'system') %}{{ message.role }}{% endfor %}",
    "{% for k in d %}{{ k }}{% endfor %}|{% for x in nothing %}x{% endfor %}",
    # assignment and scoping
    "{% set x = 1 %}{% set y, z = [2, 3] %}{{ x }}{{ y }}{{ z }}{% set x = x + 10 %}{{ x }}",
    "{% set x = 'outer' %}{% for i in items %}{% set x = i %}{{ x }}{% endfor %}{{ x }}",
    "{% set ns = namespace(found=false, count=0) %}{% for i in items %}{% if i > 1 %}{% set ns.found = true %}{% set ns.count = ns.count + 1 %}{% endif %}{% endfor %}{{ ns.found }}{{ ns.count }}",
    "{% set block %}inside {{ name }}{% endset %}[{{ block }}]",
    "{% set messages = messages[1:] %}{{ messages | length }}{% if true %}{% set inner = 'visible' %}{% endif %}{{ inner }}",
    # macros
    "{% macro greet(who, punct='!') %}Hello {{ who }}{{ punct }}{% endmacro %}{{ greet(name) }} {{ greet('you', punct='?') }} {{ greet('x', '.') }}",
    "{% macro fact(k) %}{% if k <= 1 %}1{% else %}{{ k * fact(k - 1) | int }}{% endif %}{% endmacro %}{{ fact(5) }}",
    # whitespace control
    "a  {{- ' b ' -}}  c\n  {%- if true -%}  d  {%- endif -%}  \n e",
    "line1\n    {% if true %}\n    kept\n    {% endif %}\nline2\n",
    "x {% if true %}y{% endif %} z\n{% for i in items %}\n  {{ i }}\n{% endfor %}\nend",
    "a\n  {%+ if true %}b{% endif +%}\nc{# comment #}\n  {# indented comment #}\nd {#- trim -#}  e",
    "{{ name }}\n{{ name }}\n\n",
    "  {{ name }}  \n\t{% set x = 1 %}\t\n{{ x }}",
    "{% if false %}no{% elif n == 7 %}seven{% else %}other{% endif %}|{% if nothing %}a{% elif none %}b{% endif %}",
    "{{ strftime_now('%d %b %Y %H:%M:%S %A %B %j %y %m %p %I %e %%') }}",
    "{{ raise_exception('stop: ' ~ name) }}",
    # numbers and unicode as Python prints them
    "{{ 1e20 }} {{ 1e16 }} {{ 1e15 }} {{ 123456789.0 }} {{ 0.000123 }} {{ 1.0e-5 }} {{ 10 / 4 }} {{ 2 ** -1 }} {{ -0.0 }} {{ 3 // 2.0 }}",
    "{{ 'straße' | upper }} {{ 'ÀÉÎ' | lower }} {{ 'e\u0301' | length }} {{ 'e\u0301' == '\u00e9' }} {{ '日本語'[1] }} {{ '🙏🏽'|length }} {{ 'ǆemal' | capitalize }}",
    "{{ ['\u200b', 'tab\there', \"quote'\", 'both\\'\"', 'nl\\n'] }}",
    # more whitespace control
    "{% for m in messages -%}\n  [{{ m.role }}]\n{%- endfor %}\n{#- a comment -#}\n  done",
    "\t{% if true %}\ttab-indented\n\t{% endif %}\n  {%- if true %} inline {% endif -%}  \n  after",
    "{% if true %}\r\nwindows\r\n{% endif %}\r\nend\r\n",
    "{{ \"}}\" }} {{ {'a': {'b': 1}} }} {# {{ not output }} #}{{ '{%' }}",
    "{% for x in items | sort if x != 2 %}{{ x }}{% if not loop.last %}, {% endif %}{% endfor %}",
    "{% set a = [1, 2, 3] %}{{ a[::-2] }} {{ a[-1:0:-1] }} {{ a[10:] }} {{ (a | length) - 1 }} {{ a | length - 1 }}",
    "{{ x is sequence }} {{ items is sequence }} {{ 'a' is sequence }} {{ true + true }} {{ 'a' ~ 1.0 }} {{ [1, [2, [3]]] | tojson }}",
    # found by differential fuzzing against jinja2
    "{% for i in [] %}{% else %}{% set b = 1 %}{% endfor %}[{{ b }}]{% for i in [1, 2] %}{% if i == 1 %}{% set a = 3 %}{% endif %}[{{ a }}]{% endfor %}",
    "{% for i in [1,2,3] %}[{{ b }}]{% set b = i %}{% endfor %}{% for i in [1, 2] %}{% set b = 5 %}{% for j in [1] %}[{{ b }}]{% set b = 7 %}[{{ b }}]{% endfor %}[{{ b }}]{% endfor %}",
    "{{ 1.0 is odd }} {{ 2.5 is even }} {{ true is odd }} {{ [1] * true }} {{ {'k': 1} is lower }} {{ 2.5 | wordcount }} {{ 'a_b c-d' | wordcount }}",
    "{{ nothing | int }}",
    "{{ [1] in d }}",
    # errors jinja2 raises at render time
    "{{ nothing.attribute }}",
    "{{ nothing + 1 }}",
    "{{ 'a' + 1 }}",
    "{{ 1 / 0 }}",
    "{{ messages[0].missing.deeper }}",
    "{{ items.append(4) }}",
]


def render_snippets(env):
    cases = []
    for source in SNIPPETS:
        try:
            cases.append({"template": source, "expected": env.from_string(source).render(**SNIPPET_CONTEXT),
                          "error": None})
        except TemplateRaised as error:
            cases.append({"template": source, "expected": None, "error": {"kind": "raised", "message": str(error)}})
        except jinja2.exceptions.TemplateError as error:
            cases.append({"template": source, "expected": None,
                          "error": {"kind": "other", "message": f"{type(error).__name__}: {error}"}})
        except (TypeError, ZeroDivisionError) as error:
            cases.append({"template": source, "expected": None,
                          "error": {"kind": "other", "message": f"{type(error).__name__}: {error}"}})
    return {"context": typed(SNIPPET_CONTEXT), "cases": cases}


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
    snippets = render_snippets(env)
    SNIPPET_OUTPUT.write_text(json.dumps(snippets, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {len(snippets['cases'])} snippets to {SNIPPET_OUTPUT.relative_to(ROOT)}")
    errors = sum(1 for c in cases if c["error"])
    print(f"wrote {len(cases)} cases ({errors} expected errors) to {OUTPUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
