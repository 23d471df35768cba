// window.secondme.mirror: the page's copies of what Python decides, one each, held to it case by case by
// tests/test_browser_parity.py. Loaded right after text.js (it uses window.secondmeText.written).
// - text(m): conversation.message_text, the text of a message as it was written;
// - toUpstream(system, history) and fitContext(messages, limit): conversation.to_upstream and fit_context, the
//   messages a reply is asked with (View code writes the request with them);
// - checks(config): checks.Checks, the validator's checks (chat.js makes them before a send, retry or edit); each
//   returns a problem's catalog code, or null, as Python's Problem.code does.
// Lengths are counted in code points and blanks are Python's (str.strip), not JavaScript's (String.trim).
window.secondme = window.secondme || {};
(() => {
  // Python's whitespace (str.isspace): JavaScript's trim() also takes U+FEFF, and leaves U+001C-U+001F and U+0085.
  const SPACE = '\\t\\n\\x0b\\x0c\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
  const STRIP = new RegExp(`^[${SPACE}]+|[${SPACE}]+$`, 'g');
  const strip = (s) => s.replace(STRIP, '');
  const size = (s) => [...s].length;  // code points, as Python's len (a lone surrogate is one)
  const broken = (s) => /\p{Cs}/u.test(s);  // a lone surrogate, which no UTF-8 request carries
  const mapping = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
  const M = {
    strip, size, broken,
    // conversation.message_text: a string content, or the text parts of a list (a part without a type is text).
    text(m) {
      const content = mapping(m) ? m.content : undefined;
      let text = '';
      if (typeof content === 'string') text = content;
      else if (Array.isArray(content)) {
        text = content.filter((p) => mapping(p) && (p.type === undefined ? 'text' : p.type) === 'text')
          .map((p) => (typeof p.text === 'string' ? p.text : '')).join('');
      }
      return window.secondmeText.written(text);
    },
    // conversation.is_notice: a message with a title (a notice, the Thinking block, a stats line) is never sent.
    isNotice: (m) => mapping(m?.metadata) && Boolean(m.metadata.title),
    toUpstream(system, history) {
      const messages = strip(system).length ? [{role: 'system', content: system}] : [];
      for (const m of history) {
        const text = M.text(m);
        if ((m?.role === 'user' || m?.role === 'assistant') && text && !M.isNotice(m)) {
          messages.push({role: m.role, content: text});
        }
      }
      return messages;
    },
    // conversation.fit_context: [the system prompt and the most recent messages that fit in `limit` characters,
    // starting with one of the user's; how many older ones were left out]. The last message is always sent.
    fitContext(messages, limit) {
      const system = messages.length && messages[0].role === 'system' ? messages.slice(0, 1) : [];
      const turns = messages.slice(system.length);
      let room = limit - system.reduce((n, m) => n + size(m.content), 0);
      const kept = [];
      for (let i = turns.length - 1; i >= 0; i--) {
        if (kept.length && size(turns[i].content) > room) break;
        kept.unshift(turns[i]);
        room -= size(turns[i].content);
      }
      while (kept.length > 1 && kept[0].role !== 'user') kept.shift();
      return [[...system, ...kept], turns.length - kept.length];
    },
    // checks.Checks for a page's config (window.secondmeConfig.chat): its limits, pattern, endpoints, lock.
    checks(config) {
      const INSTANCE = new RegExp(`^(?:${config.instancePattern})$`);
      const textProblem = (value, what, limit, required = false) => {
        if ((value === null || value === undefined) && !required) return null;
        if (typeof value !== 'string') return 'check.must_be_text';
        if (required && !strip(value)) return what === 'message' ? 'check.message.empty' : 'check.required';
        if (size(value) > limit) return 'check.too_long';
        return broken(value) ? 'check.broken' : null;
      };
      const C = {
        message: (value) => textProblem(value, 'message', config.messageChars, true),
        conversation(history) {
          if (!Array.isArray(history)) return 'check.conversation.unreadable';
          let total = 0;
          for (const m of history) {
            if (!mapping(m) || !['user', 'assistant'].includes(m.role)) return 'check.conversation.unreadable';
            const {content, metadata} = m;
            if (!(typeof content === 'string' || Array.isArray(content))
                || !(metadata === null || metadata === undefined || mapping(metadata))) {
              return 'check.conversation.unreadable';
            }
            const text = M.text(m);
            if (broken(text)) return 'check.conversation.broken';
            total += size(text);
          }
          return total > config.conversationChars ? 'check.conversation.too_long' : null;
        },
        rerun(history) {
          return C.conversation(history) ?? (history.some((m) => m.role === 'user') ? null : 'check.rerun.nothing');
        },
        instance(value) {
          if (typeof value !== 'string' || !strip(value)) return 'check.instance.missing';
          return INSTANCE.test(strip(value)) ? null : 'check.instance.invalid';
        },
        temperature: (value) => (typeof value === 'number' && Number.isFinite(value) && value >= 0 && value <= 1
          ? null : 'check.temperature'),
        maxTokens(value) {
          if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) return 'check.max_tokens.invalid';
          return value > config.maxTokens ? 'check.max_tokens.too_big' : null;
        },
        // Checks.settings, by input name, for the inputs the page always sends.
        settings: (v) => ({
          instance_id: config.locked ? null : C.instance(v.instance_id),
          system_prompt: textProblem(v.system_prompt, 'system_prompt', config.systemPromptChars),
          temperature: C.temperature(v.temperature),
          max_tokens: C.maxTokens(v.max_tokens),
          l0: typeof v.l0 === 'boolean' ? null : 'check.l0',
          role_id: textProblem(v.role_id, 'role_id', config.roleIdChars),
          endpoint: config.endpoints.includes(v.endpoint) ? null : 'check.endpoint',
        }),
      };
      return C;
    },
  };
  window.secondme.mirror = M;
})();
