"""Checks the sidecar's OpenAI-compatible API with the official `openai` package (run by RealModelServingTests in
the venv of scripts/openai-venv.sh). Arguments: PORT API_KEY MODEL_ID (- for the first listed) EXPECTED_COMPLETION.
Exits non-zero listing every difference."""
import sys

import openai

port, key, model, expected = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key=key, max_retries=0)
failures = []


def check(condition, message):
    if not condition:
        failures.append(message)


models = [m.id for m in client.models.list()]
model = models[0] if model == "-" and models else model
check(model in models, f"models.list() has no {model}: {models}")

completion = client.completions.create(model=model, prompt="The capital of France is", max_tokens=12, temperature=0)
check(completion.choices[0].text == expected, f"completion {completion.choices[0].text!r} != {expected!r}")
check(completion.usage.completion_tokens == 12 and completion.choices[0].finish_reason == "length",
      f"completion usage/finish: {completion.usage} {completion.choices[0].finish_reason}")

question = [{"role": "user", "content": "What is the capital city of France? Answer in one word."}]
chat = client.chat.completions.create(model=model, messages=question, temperature=0)
reply = chat.choices[0].message.content
check(reply == "The capital city of France is Paris.", f"chat reply {reply!r}")
check(chat.choices[0].finish_reason == "stop" and chat.choices[0].message.role == "assistant",
      f"chat finish/role: {chat.choices[0].finish_reason} {chat.choices[0].message.role}")

pieces, finish, usage = [], None, None
for chunk in client.chat.completions.create(model=model, messages=question, temperature=0, stream=True,
                                            stream_options={"include_usage": True}):
    if chunk.usage is not None:
        usage = chunk.usage
    for choice in chunk.choices:
        pieces.append(choice.delta.content or "")
        finish = choice.finish_reason or finish
check("".join(pieces) == reply, f"streamed chat {''.join(pieces)!r} != {reply!r}")
check(finish == "stop", f"streamed finish {finish}")
check(usage is not None and usage.completion_tokens == chat.usage.completion_tokens, f"streamed usage {usage}")

stopped = client.completions.create(model=model, prompt="The capital of France is", max_tokens=12, temperature=0,
                                    stop=[" Paris", "\n"])
check(" Paris" not in stopped.choices[0].text and expected.startswith(stopped.choices[0].text),
      f"stop: {stopped.choices[0].text!r}")
check(stopped.choices[0].finish_reason == "stop", f"stop finish {stopped.choices[0].finish_reason}")

seeded = [client.completions.create(model=model, prompt="Once upon a time", max_tokens=16, temperature=0.9,
                                    seed=7).choices[0].text for _ in range(2)]
check(seeded[0] == seeded[1], f"seed 7 gave {seeded}")

response = client.responses.create(model=model, input="The capital of France is", max_output_tokens=12,
                                   temperature=0, metadata={"job": "42"})
check(response.status == "completed" and response.output_text == expected,
      f"responses.create: {response.status} {response.output_text!r}")
check(response.metadata == {"job": "42"} and response.usage.output_tokens == 12, f"response metadata/usage {response}")
again = client.responses.retrieve(response.id)
check(again.output_text == expected and again.status == "completed", f"responses.retrieve: {again}")

try:
    client.completions.create(model=model, prompt="x", n=2)
    failures.append("n=2 was accepted")
except openai.BadRequestError as error:
    check(error.body.get("param") == "n", f"n=2 error body {error.body}")
try:
    client.completions.create(model="no-such-model", prompt="x")
    failures.append("an unknown model was accepted")
except openai.NotFoundError as error:
    check(error.body.get("code") == "model_not_found", f"unknown model error body {error.body}")
try:
    openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="wrong", max_retries=0).models.list()
    failures.append("a wrong API key was accepted")
except openai.AuthenticationError:
    pass

if failures:
    sys.exit("\n".join(failures))
print("ok")
