// View code (code_ui.py): the exact request the next message would make, as cURL, Python and the OpenAI SDK, written
// in the browser. The base URL (without credentials), the context limit and the example message come in
// window.secondmeConfig.code.
window.secondme = window.secondme || {};
window.secondme.code = {};
window.secondme.code.snippets = (message, history, instance, system, temperature, maxTokens, l0, roleId, endpoint) => {
  const SKIP = {__type__: 'update'};
  if (!document.querySelector('#view-code .label-wrap')?.classList.contains('open')) return [SKIP, SKIP, SKIP];
  const {base: BASE, contextLimit: LIMIT, example: EXAMPLE} = window.secondmeConfig.code;
  // What the controller sends (conversation.to_upstream and fit_context, as secondme.mirror has them): the
  // conversation with the message (or an example) as the server shows it, fit in the context limit.
  const M = window.secondme.mirror, typed = String(message ?? '');
  const asked = {role: 'user', content: window.secondmeText.shown(M.strip(typed) ? typed : EXAMPLE)};
  const [messages] = M.fitContext(M.toUpstream(String(system ?? ''), [...(Array.isArray(history) ? history : []),
    asked]), LIMIT);
  const metadata = {};
  if (l0 === true) metadata.enable_l0_retrieval = true;
  if (String(roleId ?? '').trim()) metadata.role_id = String(roleId).trim();
  const body = {messages, temperature: Number(temperature), max_tokens: Number(maxTokens),
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
    if (Array.isArray(v)) return v.length ? `[\n${v.map(x => inner + py(x, inner)).join(',\n')},\n${pad}]` : '[]';
    const items = Object.entries(v).map(([k, x]) => `${inner}${JSON.stringify(k)}: ${py(x, inner)}`);
    return items.length ? `{\n${items.join(',\n')},\n${pad}}` : '{}';
  };
  const quote = (text) => "'" + text.replaceAll("'", "'\\''") + "'";
  const curl = `curl -N ${quote(url)} \\\n  -H 'Content-Type: application/json' \\\n` +
    `  -d ${quote(JSON.stringify(body, null, 2))}\n`;
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
  const extra = body.metadata ? `\n    extra_body={"metadata": ${py(body.metadata, '    ')}},` : '';
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
};
// The snippet picked (code_ui: a row of choices, not tabs) is the one pane shown (layout.css).
window.secondme.code.show = (name) => {
  const key = {cURL: 'curl', Python: 'python', 'OpenAI SDK': 'openai'}[name] ?? 'curl';
  const panel = document.querySelector('#view-code');
  if (panel) panel.dataset.kind = key;
};
