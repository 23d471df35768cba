// The page's language switch (language_ui.py): window.secondmeLanguage, loaded after window.secondmeLang (page.js),
// and window.secondme.language, the switch's events. The cookie's name and the languages come in
// window.secondmeConfig.language, the tabs' labels in its words (secondme.say).
(() => {
  const {cookie: COOKIE, languages: LANGUAGES} = window.secondmeConfig.language;
  const TABS = {'chat-tab': 'page.chat_tab', 'compare-tab': 'page.compare_tab'};  // a tab's id: its label's key
  const YEAR = 365 * 24 * 3600;
  const chosen = () => {
    const found = document.cookie.split(';').map((c) => c.trim().split('=')).find(([k]) => k === COOKIE);
    return found && LANGUAGES.includes(found[1]) ? found[1] : null;
  };
  // biome-ignore lint/suspicious/noDocumentCookie: the Cookie Store API is not in every browser the page serves
  const remember = (lang) => { document.cookie = `${COOKIE}=${lang}; path=/; max-age=${YEAR}; SameSite=Lax`; };
  let core = null;
  const gradio = async () => {
    if (core) return core;
    const addresses = [...performance.getEntriesByType('resource').map((e) => e.name),
      ...[...document.querySelectorAll('link[rel=modulepreload]')].map((e) => e.href)];
    const address = addresses.map((a) => new URL(a, location.href)).find((a) => a.origin === location.origin
      && /\/assets\/core-[\w-]+\.js$/.test(a.pathname));
    if (!address) return null;
    try {
      const module = await import(address.href);
      core = typeof module.changeLocale === 'function' ? module : null;
    } catch { core = null; }
    return core;
  };
  // Gradio's tab buttons keep the label they had when the page was built: they are given the language's own.
  const tabs = () => {
    for (const [id, key] of Object.entries(TABS)) {
      const label = window.secondme.say(key);
      const text = [...(document.getElementById(id + '-button')?.childNodes ?? [])]
        .find((n) => n.nodeType === Node.TEXT_NODE && n.nodeValue.trim());
      if (text && text.nodeValue.trim() !== label) text.nodeValue = label;
    }
  };
  const show = async (lang) => {
    if (!LANGUAGES.includes(lang)) return;
    remember(lang);
    if (window.secondmeLang() !== lang) (await gradio())?.changeLocale(lang);
  };
  window.secondmeLanguage = {show, chosen};
  // The page comes back in the language chosen before; without a choice, it says which one it shows.
  const before = chosen();
  if (before) show(before); else remember(window.secondmeLang());
  // Whenever the page's language changes: the cookie follows, the tabs are relabelled, and what the server
  // wrote outside the conversation (the instance's status, the directory's count) is asked for again.
  let shown = window.secondmeLang();
  new MutationObserver(() => {
    tabs();
    if (window.secondmeLang() === shown) return;
    shown = window.secondmeLang();
    remember(shown);
    document.querySelector('#language-changed')?.click();
  }).observe(document.documentElement, {attributes: true, attributeFilter: ['lang'], childList: true, subtree: true});
})();

window.secondme = window.secondme || {};
window.secondme.language = {
  shown: () => window.secondmeLanguage?.chosen() ?? window.secondmeLang(),
  pick: (lang) => { window.secondmeLanguage?.show(lang); },
};
