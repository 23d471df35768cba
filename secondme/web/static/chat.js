// The conversation's composer (chat_ui.py): window.secondme.chat, the scripts of its events. The validator's checks
// the browser makes first take their limits from window.secondmeConfig.chat.
window.secondme = window.secondme || {};
(() => {
  const CONFIG = window.secondmeConfig.chat, CHECKS = window.secondme.mirror.checks(CONFIG);
  // The browser's side of the validator's checks (true when they pass; secondme.mirror's copy of checks.Checks, as
  // the controller makes them): `sending`, a message is sent; else a retry or edit answers the last one again.
  const ok = (sending, message, history, instance, system, temperature, maxTokens, l0, roleId, endpoint) => {
    const settings = CHECKS.settings({instance_id: instance, system_prompt: system, temperature,
      max_tokens: maxTokens, l0, role_id: roleId, endpoint});
    const problems = [...Object.values(settings), sending ? CHECKS.message(message) : null,
      sending ? CHECKS.conversation(history) : CHECKS.rerun(history)];
    return problems.every((p) => p === null);
  };
  window.secondme.chat = {
    ok,  // Compare's sides check themselves with it too (compare.js)
    // When Send is pressed, before anything goes to the server. When the validator's checks pass, the message leaves
    // the box and shows in the conversation at once, while the reply may still wait in the queue (the saved
    // conversation has it too, so a reload finds it), and Stop shows. When they fail it leaves everything as it is;
    // the send follows and the validator's messages appear next to the fields; with no Second Me chosen, the guide to
    // choosing one says so too (layout.js). The message is guarded as the server guards it
    // (conversation.shown_as_written).
    show(message, history, instance, system, temperature, maxTokens, l0, roleId, endpoint) {
      window.secondmeShown = null;
      const same = {__type__: 'update'};  // nothing changes (nor is the conversation drawn again)
      if (!CONFIG.locked && !String(instance ?? '').trim()) window.secondmeLayout?.askForInstance();
      if (document.querySelector('#composer')?.classList.contains('busy')
          || !ok(true, message, history, instance, system, temperature, maxTokens, l0, roleId, endpoint)) {
        return [same, same];
      }
      const shown = {role: 'user', metadata: null, options: null,
        content: [{type: 'text', text: window.secondmeText.shown(message)}]};
      window.secondmePending = message;
      window.secondmeShown = shown.content[0].text;
      document.querySelector('#composer')?.classList.add('busy');
      document.querySelector('#message textarea')?.focus();
      return [[...history, shown], ''];
    },
    // Before a retry or edit goes to the server; passes its inputs on unchanged. When the validator's checks pass it
    // shows Stop. When they fail it leaves everything as it is, and the validator's messages appear next to the fields.
    rerun(history, instance, system, temperature, maxTokens, l0, roleId, endpoint) {
      if (ok(false, undefined, history, instance, system, temperature, maxTokens, l0, roleId, endpoint)) {
        document.querySelector('#composer')?.classList.add('busy');
      }
      return [history, instance, system, temperature, maxTokens, l0, roleId, endpoint];
    },
    // The send itself: the message and the conversation as they were before the message showed in it.
    send(message, ...rest) {
      const shown = window.secondmeShown, history = rest[0];
      window.secondmeShown = null;
      const last = Array.isArray(history) ? history[history.length - 1] : null;
      if (shown === null || shown === undefined || last?.role !== 'user' || last?.content?.[0]?.text !== shown) {
        return [message, ...rest];
      }
      return [window.secondmePending, history.slice(0, -1), ...rest.slice(1)];
    },
    // Send and Stop swap places in the browser alone (a class on the composer row, styled by page.css): a Button
    // update from the server makes Gradio rebuild the Button on every message.
    idle() { window.secondmePending = null; document.querySelector('#composer')?.classList.remove('busy'); },
    // When an event fails before it streams (the queue is full, the server refused it), Send comes back and the
    // message the browser had emptied from the box is put back, unless something new was typed since. A message the
    // conversation has shown, or one stopped, was sent: it never comes back (Gradio runs an event's failure steps
    // when Stop cancels it, too), so `sent` forgets it.
    sent() { window.secondmePending = null; },
    // While the conversation ends with the message Send showed, the send may yet be refused (the validator, the
    // rate limit, a full queue): only what comes after it means the message went.
    replied(history) {
      const last = Array.isArray(history) ? history.at(-1) : null;
      if (last?.role !== 'user') window.secondmePending = null;
    },
    restore(message) {
      document.querySelector('#composer')?.classList.remove('busy');
      const pending = window.secondmePending;
      window.secondmePending = null;
      if (!pending || String(message ?? '').trim()) return message;
      window.secondmeUnsent = pending;  // and it leaves the conversation, where Send showed it (unshow)
      setTimeout(() => document.querySelector('#unsend')?.click(), 0);
      return pending;
    },
    // A send that did not go (restore gave its message back to the box) leaves the conversation, unless its reply
    // had begun: the message is in one place, never in none.
    unshow(history) {
      const unsent = window.secondmeUnsent, last = Array.isArray(history) ? history.at(-1) : null;
      window.secondmeUnsent = null;
      const text = last?.role === 'user' ? window.secondme.mirror.text(last) : null;
      return [unsent != null && text === unsent ? history.slice(0, -1) : history];  // one output: a list of it
    },
    // After Stop, the message box has the focus again (the Stop button that had it is hidden).
    focus() { document.querySelector('#message textarea')?.focus(); },
  };
})();
