// The page's own behaviour, loaded first after text.js (scripts.FILES): window.secondmeLang; error notices and stats
// lines marked as they appear (a class for page.css, and role="alert" so a screen reader announces a failure: the
// Chatbot gives titled messages no hook of their own, the title's mark is ours: window.secondmeConfig.marks); a
// message the rate limit refused put back; Esc and Enter while a reply streams; copying a reply; the starters.
// Also window.secondme, the namespace the other files fill and the events' scripts call.
window.secondme = window.secondme || {};
(() => {
  const CONFIG = window.secondmeConfig;
  // The language the page shows, as the page's own words have it ('zh-CN' or 'en'; texts.py): Gradio sets
  // <html lang> from the browser, or from its Settings. Traditional Chinese has no words of ours.
  window.secondmeLang = () => {
    const lang = (document.documentElement.lang || 'en').toLowerCase();
    return lang.startsWith('zh') && !/-(tw|hk|mo|hant)/.test(lang) ? 'zh-CN' : 'en';
  };
  const unmarked = '.thought-group:not(.error-notice):not(.stats-line)';
  const mark = (root) => root.querySelectorAll?.(unmarked).forEach((group) => {
    const title = group.querySelector('.title')?.textContent.trim() ?? '';
    if (title.startsWith(CONFIG.marks.error) && group.closest('#conversation, .compare-side')) {
      group.classList.add('error-notice');
      group.setAttribute('role', 'alert');
    } else if (title.startsWith(CONFIG.marks.stats)) {
      group.classList.add('stats-line');
    }
  });
  new MutationObserver(() => mark(document)).observe(document.documentElement, {childList: true, subtree: true});
  // A message refused by a check only the server makes (the rate limit) comes back as a validation
  // message on the message box, after the browser emptied it: Send comes back, and so does the text.
  new MutationObserver((mutations) => {
    const composer = document.querySelector('#composer');
    if (!composer?.classList.contains('busy')) return;
    const refused = mutations.some((m) => [...m.addedNodes].some((node) => node.nodeType === 1 &&
      (node.matches('#message .validation-error') || node.querySelector('.validation-error')?.closest('#message'))));
    if (!refused) return;
    const box = document.querySelector('#message textarea');
    const text = window.secondme.chat.restore(box?.value ?? '');
    if (box && text !== box.value) {
      box.value = text;
      box.dispatchEvent(new Event('input', {bubbles: true}));
    }
  }).observe(document.documentElement, {childList: true, subtree: true});
  // Esc in the message box, the conversation or nowhere in particular stops a streaming reply (elsewhere it is
  // the focused control's: it closes an open list); Enter while one streams says why nothing is sent.
  document.addEventListener('keydown', (e) => {
    const busy = document.querySelector('#composer')?.classList.contains('busy');
    if (!busy) return;
    const where = e.target?.closest?.('#composer, #conversation') || !e.target?.closest || e.target === document.body;
    if (e.key === 'Escape' && where) { document.querySelector('#stop-button')?.click(); e.preventDefault(); }
    else if (e.key === 'Enter' && !e.shiftKey && e.target?.closest?.('#message')) {
      let hint = document.querySelector('#busy-hint');
      if (!hint) {
        hint = Object.assign(document.createElement('p'), {id: 'busy-hint', role: 'status'});
        document.querySelector('#composer')?.after(hint);
      }
      hint.textContent = CONFIG.busyHint[window.secondmeLang()] ?? CONFIG.busyHint.en;
    }
  });
  // Copying a reply copies the reply alone: Gradio's button copies its whole group of messages, with the
  // Thinking block and the stats line; once it has, the clipboard gets the answer's text instead.
  document.addEventListener('click', (e) => {
    const button = e.target?.closest?.('.message-buttons button');
    const row = button?.closest('.message-buttons')?.previousElementSibling;
    if (!row?.matches('.message-row.bot-row') || !/copy/i.test(button.getAttribute('aria-label') ?? '')) return;
    const answer = [...row.querySelectorAll('[data-testid="bot"]')].filter((m) => !m.querySelector('.thought-group'))
      .map((m) => window.secondmeText.seen(m.innerText).trim()).filter(Boolean).join('\n\n');
    if (answer) setTimeout(() => navigator.clipboard?.writeText(answer).catch(() => {}), 100);
  }, true);
  // A suggested first message (i18n.STARTERS, in the empty conversation) is sent as if typed.
  document.addEventListener('click', (e) => {
    const starter = e.target?.closest?.('.starters .starter');
    const box = document.querySelector('#message textarea');
    if (!starter || !box || document.querySelector('#composer')?.classList.contains('busy')) return;
    box.value = starter.textContent.trim();
    box.dispatchEvent(new Event('input', {bubbles: true}));
    setTimeout(() => document.querySelector('#send-button')?.click(), 50);
  });
  new MutationObserver(() => {
    const hint = document.querySelector('#busy-hint');
    if (hint && hint.textContent && !document.querySelector('#composer')?.classList.contains('busy')) {
      hint.textContent = '';
    }
  }).observe(document.documentElement, {attributes: true, subtree: true, attributeFilter: ['class']});
})();
