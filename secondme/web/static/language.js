// The page's language switch (language_ui.py): window.secondmeLanguage, loaded after window.secondmeLang (page.js),
// and window.secondme.language, the switch's events. The cookie's name, the languages and the tabs' labels come in
// window.secondmeConfig.language.
(() => {
  const {cookie: COOKIE, languages: LANGUAGES, tabs: TABS} = window.secondmeConfig.language;
  const YEAR = 365 * 24 * 3600;
  const chosen = () => {
    const found = document.cookie.split(';').map((c) => c.trim().split('=')).find(([k]) => k === COOKIE);
    return found && LANGUAGES.includes(found[1]) ? found[1] : null;
  };
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
    } catch (e) { core = null; }
    return core;
  };
  // Gradio's tab buttons keep the label they had when the page was built: they are given the language's own.
  const tabs = () => {
    const words = TABS[window.secondmeLang()];
    for (const [id, label] of Object.entries(words)) {
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
