"""View code: the exact request the next message would make, for the current settings and conversation,
as cURL, Python (``requests`` + ``sseclient-py``) and the OpenAI Python SDK, each with a copy button.

The snippets are written in the browser (``CODE_JS``), so keeping them in step with every keystroke
costs the server nothing; while the panel is closed they are not written at all. They build the body
the way the server does (conversation.to_upstream and fit_context: the system prompt, then the text of
each message that is not a notice, then the new message; older messages left out past the context
limit), and tests/test_browser_code.py runs each one, as shown, against the local instance and checks
that it sent what Send sends. The base URL is shown without any user name or password.
"""

from __future__ import annotations

import json
from typing import Any

import gradio as gr

from ..errors import redact_url
from .controller import SEND
from .i18n import t
from .page import Page

__all__ = ["CODE_JS", "create", "wire", "EXAMPLE_MESSAGE"]

EXAMPLE_MESSAGE = "Hello"  # what the snippets send while the message box is empty

CODE_JS = """(message, history, instance, system, temperature, maxTokens, l0, roleId, endpoint) => {
  const SKIP = {__type__: 'update'};
  if (!document.querySelector('#view-code .label-wrap')?.classList.contains('open')) return [SKIP, SKIP, SKIP];
  const BASE = (BASE_JSON), LIMIT = (LIMIT_JSON), EXAMPLE = (EXAMPLE_JSON);
  const said = (m) => window.secondmeText.written(Array.isArray(m?.content)
    ? m.content.map(p => p?.type === 'text' || !p?.type ? p?.text ?? '' : '').join('')
    : typeof m?.content === 'string' ? m.content : '');
  const size = (s) => [...s].length;
  const turns = [];
  for (const m of Array.isArray(history) ? history : []) {
    const text = said(m);
    const shown = m?.role === 'user' || m?.role === 'assistant';
    if (shown && text && !m?.metadata?.title) turns.push({role: m.role, content: text});
  }
  turns.push({role: 'user', content: String(message ?? '').trim() ? String(message) : EXAMPLE});
  const head = String(system ?? '').trim() ? [{role: 'system', content: String(system)}] : [];
  let room = LIMIT - head.reduce((n, m) => n + size(m.content), 0);
  const kept = [];
  for (let i = turns.length - 1; i >= 0; i--) {
    if (kept.length && size(turns[i].content) > room) break;
    kept.unshift(turns[i]); room -= size(turns[i].content);
  }
  while (kept.length > 1 && kept[0].role !== 'user') kept.shift();
  const metadata = {};
  if (l0 === true) metadata.enable_l0_retrieval = true;
  if (String(roleId ?? '').trim()) metadata.role_id = String(roleId).trim();
  const body = {messages: [...head, ...kept], temperature: Number(temperature), max_tokens: Number(maxTokens),
                stream: true};
  if (Object.keys(metadata).length) body.metadata = metadata;
  const id = String(instance ?? '').trim() || 'INSTANCE_ID';
  const base = `${BASE}/api/chat/${encodeURIComponent(id)}`;
  const url = endpoint === 'chat/completions' ? `${base}/chat/completions` : base;
  const py = (v, pad = '') => {
    const inner = pad + '    ';
    if (v === null || v === undefined) return 'None';
    if (v === true) return 'True';
    if (v === false) return 'False';
    if (typeof v === 'number' || typeof v === 'string') return JSON.stringify(v);
    if (Array.isArray(v)) return v.length ? `[\\n${v.map(x => inner + py(x, inner)).join(',\\n')},\\n${pad}]` : '[]';
    const items = Object.entries(v).map(([k, x]) => `${inner}${JSON.stringify(k)}: ${py(x, inner)}`);
    return items.length ? `{\\n${items.join(',\\n')},\\n${pad}}` : '{}';
  };
  const quote = (text) => "'" + text.replaceAll("'", "'\\\\''") + "'";
  const curl = `curl -N ${quote(url)} \\\\\\n  -H 'Content-Type: application/json' \\\\\\n` +
    `  -d ${quote(JSON.stringify(body, null, 2))}\\n`;
  const python = `import json

import requests
import sseclient  # pip install sseclient-py

url = ${JSON.stringify(url)}
body = ${py(body)}

response = requests.post(url, json=body, stream=True, timeout=60)
response.raise_for_status()
for event in sseclient.SSEClient(response).events():
    if event.data == "[DONE]":
        break
    chunk = json.loads(event.data)
    if "error" in chunk:
        raise RuntimeError(chunk["error"])
    for choice in chunk.get("choices", []):
        print(choice["delta"].get("content") or "", end="", flush=True)
print()
`;
  const extra = body.metadata ? `\\n    extra_body={"metadata": ${py(body.metadata, '    ')}},` : '';
  const openai = `from openai import OpenAI

# A Second Me needs no API key; the SDK wants one, so any text will do.
client = OpenAI(base_url=${JSON.stringify(base)}, api_key="not-needed")
stream = client.chat.completions.create(
    model="second-me",  # the Second Me answers with its own model
    messages=${py(body.messages, '    ')},
    temperature=${JSON.stringify(body.temperature)},
    max_tokens=${JSON.stringify(body.max_tokens)},
    stream=True,${extra}
)
for chunk in stream:
    if chunk.choices:
        print(chunk.choices[0].delta.content or "", end="", flush=True)
print()
`;
  return [curl, python, openai];
}"""


def create(page: Page) -> None:
    with gr.Accordion(t("view_code"), open=False, elem_id="view-code") as panel:
        gr.Markdown(t("view_code_info"), elem_classes=["code-info"])
        with gr.Tabs():
            with gr.Tab("cURL"):
                page.add("code_curl", gr.Code(language="shell", show_label=False, interactive=False,
                                              elem_id="code-curl", buttons=["copy"]))
            with gr.Tab("Python"):
                page.add("code_python", gr.Code(language="python", show_label=False, interactive=False,
                                                elem_id="code-python", buttons=["copy"]))
            with gr.Tab("OpenAI SDK"):
                page.add("code_openai", gr.Code(language="python", show_label=False, interactive=False,
                                                elem_id="code-openai", buttons=["copy"]))
    page.add("view_code", panel)


def code_js(base_url: str, context_limit: int) -> str:
    return (CODE_JS.replace("BASE_JSON", json.dumps(redact_url(base_url).rstrip("/")))
            .replace("LIMIT_JSON", json.dumps(context_limit)).replace("EXAMPLE_JSON", json.dumps(EXAMPLE_MESSAGE)))


def wire(page: Page) -> None:
    """Written when the panel opens, and again whenever what the next message would send changes
    (a keystroke, a setting, the conversation); skipped in the browser while the panel is closed."""
    inputs = page.get(*SEND)
    outputs = page.get("code_curl", "code_python", "code_openai")
    js = code_js(page.settings.base_url, page.settings.max_context_chars)
    triggers: list[Any] = [page["view_code"].expand, page["message"].change, page["history"].change]
    triggers += [page[name].change for name in SEND[2:]]
    gr.on(triggers, None, inputs, outputs, js=js, queue=False, api_visibility="undocumented",
          show_progress="hidden", trigger_mode="multiple")
