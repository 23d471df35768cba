// window.secondmeText: the page's side of conversation.shown_as_written and as_written (the same patterns, handed
// over in window.secondmeConfig.text and held together by tests/test_browser_hostile.py), and every way text leaves
// the conversation undoing the guard: the copy buttons (a message's, the conversation's, a code block's: all write
// through the Clipboard API, or copy a helper field's selection), a selection copied by hand, and the box a message
// is edited in.
(() => {
  const PATTERNS = window.secondmeConfig.text, GUARD = '\u200b';
  const SHOWN = new RegExp(PATTERNS.shown, 'g'), WRITTEN = new RegExp(PATTERNS.written, 'g');
  const T = {
    shown: (text) => String(text ?? '').replace(SHOWN, (m) => m + GUARD),
    written: (text) => String(text ?? '').replace(WRITTEN, (m) => m[0]),
    // Text read off the page, where the Markdown is rendered and an opener's context may be gone.
    seen: (text) => String(text ?? '').replace(/([<!])\u200b|\u200b(?=mermaid)/g, '$1'),
    said: (m) => T.written(Array.isArray(m?.content) ? m.content.map((p) => p?.text ?? '').join('')
      : String(m?.content ?? '')),
    // A kept conversation (saved by an older version too) as the page must hold it: each text and title
    // guarded exactly once.
    guarded: (messages) => (Array.isArray(messages) ? messages : []).map((m) => {
      const again = (v) => T.shown(T.written(v));
      const content = Array.isArray(m?.content)
        ? m.content.map((p) => (p && typeof p.text === 'string' ? {...p, text: again(p.text)} : p))
        : typeof m?.content === 'string' ? again(m.content) : m?.content;
      const metadata = m?.metadata?.title ? {...m.metadata, title: again(m.metadata.title)} : m?.metadata;
      return {...m, content, metadata};
    }),
    // Text from outside for a Markdown block that is never copied or edited (conversation.markdown_literal).
    literal: (text) => String(text ?? '').replace(/[!-\/:-@\[-`{-~]/g, (c) => `&#${c.charCodeAt(0)};`),
  };
  window.secondmeText = T;
  const CHAT = '#conversation, .compare-side';
  let fromChat = false;  // the last click was in a conversation (its copy buttons copy after an await)
  document.addEventListener('click', (e) => { fromChat = Boolean(e.target?.closest?.(CHAT)); }, true);
  const write = window.Clipboard?.prototype.writeText;  // only in a secure context (HTTPS, localhost)
  if (write) {
    Clipboard.prototype.writeText = function (text) {
      return write.call(this, fromChat && typeof text === 'string' ? T.written(text) : text);
    };
  }
  document.addEventListener('copy', (e) => {
    const field = document.activeElement;
    let text = null;
    if (field instanceof HTMLTextAreaElement && fromChat && !field.closest('.gradio-container')) {
      text = T.written(field.value.slice(field.selectionStart, field.selectionEnd));  // a copy button's helper
    } else if (!(field instanceof HTMLTextAreaElement || field instanceof HTMLInputElement)) {
      const selection = document.getSelection();
      const node = selection?.rangeCount ? selection.getRangeAt(0).commonAncestorContainer : null;
      const element = node?.nodeType === 1 ? node : node?.parentElement;
      if (element?.closest(CHAT) || element?.querySelector?.(CHAT)) text = T.seen(selection.toString());
    }
    if (text !== null && e.clipboardData) { e.clipboardData.setData('text/plain', text); e.preventDefault(); }
  });
  const unguard = (box) => {
    if (box.dataset.written) return;
    box.dataset.written = '1';
    const text = T.written(box.value);
    if (text !== box.value) { box.value = text; box.dispatchEvent(new Event('input', {bubbles: true})); }
  };
  let looking = false;  // one look a frame, however many updates a streaming reply makes
  new MutationObserver(() => {
    if (looking) return;
    looking = true;
    requestAnimationFrame(() => {
      looking = false;
      document.querySelectorAll('textarea.edit-textarea:not([data-written])').forEach(unguard);
    });
  }).observe(document.documentElement, {childList: true, subtree: true});
  document.addEventListener('focusin', (e) => {
    if (e.target?.matches?.('textarea.edit-textarea')) unguard(e.target);
  });
})();
