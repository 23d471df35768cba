// The chat-first page (layout.css): the two drawers (Gradio's Sidebar) and the header's buttons that open them,
// the conversation's height, the dropdowns' placeholders, and the guide to choosing a Second Me.
// Loaded once in the page's <head>; window.secondmeLayout.
(() => {
  const PHONE = window.matchMedia('(max-width: 768px)');
  const DRAWERS = {chats: {id: 'chats-drawer', button: 'open-chats'}, settings: {id: 'settings-drawer', button: 'open-settings'}};
  // The drawers' and dropdowns' words, from the catalog (js.layout.*, words.json).
  const words = () => Object.fromEntries(['chats', 'settings', 'browse', 'preset'].map((n) => [n, window.secondme.say(`js.layout.${n}`)]));
  const drawer = (name) => document.getElementById(DRAWERS[name].id);
  const isOpen = (name) => Boolean(drawer(name)?.classList.contains('open'));
  const FOCUSABLE = 'textarea, input:not([type=hidden]), button, select, a[href], [tabindex]:not([tabindex="-1"])';
  let opener = null;  // the control that opened a drawer on a phone: the focus goes back there when it closes

  // Opens or closes a drawer by its own toggle (Gradio keeps its state, and its expand/collapse events).
  const set = (name, open) => {
    const el = drawer(name);
    if (!el || el.classList.contains('open') === open) return;
    el.querySelector(':scope > .toggle-button')?.click();
  };
  // Once the drawer is open and has stopped sliding (a list opened while it slides would open where it was).
  const whenOpen = (name, then) => {
    let tries = 0, last = null;
    const look = () => {
      const el = drawer(name);
      const x = el?.getBoundingClientRect().x;
      if (el?.classList.contains('open') && !el.querySelector('.sidebar-content')?.inert && x === last) then(el);
      else if (tries++ < 240) { last = x; requestAnimationFrame(look); }
    };
    look();
  };
  const open = (name, focus) => {
    if (PHONE.matches) {
      opener = document.activeElement;
      for (const other of Object.keys(DRAWERS)) if (other !== name) set(other, false);  // one at a time
    }
    set(name, true);
    whenOpen(name, (el) => {
      const content = el.querySelector(':scope > .sidebar-content');
      const first = () => [...(content?.querySelectorAll(FOCUSABLE) ?? [])].find((x) => x.offsetParent !== null && !x.disabled);
      // On a phone the drawer covers the page: the focus goes into it, on its close button (not into a field,
      // which would bring up the phone's keyboard).
      const target = focus ? el.querySelector(focus) : PHONE.matches ? el.querySelector(':scope > .toggle-button') ?? first()
        : null;
      target?.focus();
    });
  };
  const close = (name) => set(name, false);  // the focus goes back where it was (mark)
  // Where the focus goes when a drawer it was in closes: the control that opened it, else the header's button.
  const refocus = (name) => {
    const back = opener && document.contains(opener) && !opener.closest('.sidebar') ? opener
      : document.querySelector(`#${DRAWERS[name].button}`);
    (back?.matches('button') ? back : back?.querySelector('button') ?? back)?.focus();
    opener = null;
  };
  const toggle = (name) => (isOpen(name) ? close(name) : open(name));

  // A closed drawer is off screen: its controls leave the keyboard's path and screen readers' reach.
  const was = {};
  const PAGE = ['header-row', 'assistant-card', 'chat-column'];  // what an open drawer covers on a phone
  const mark = () => {
    const w = words();
    const closed = [];
    for (const [name, {id}] of Object.entries(DRAWERS)) {
      const el = document.getElementById(id);
      if (!el) continue;
      const shut = !el.classList.contains('open');
      const content = el.querySelector(':scope > .sidebar-content');
      if (content && content.inert !== shut) {
        if (shut && was[name] === true && el.contains(document.activeElement)) closed.push(name);
        content.inert = shut;
      }
      was[name] = !shut;
    }
    // On a phone an open drawer covers the page, which then leaves the keyboard's path until it closes.
    const covered = PHONE.matches && Object.keys(DRAWERS).some(isOpen);
    for (const id of PAGE) {
      const el = document.getElementById(id);
      if (el && el.inert !== covered) el.inert = covered;
    }
    if (document.documentElement.classList.contains('secondme-layout-ready')) closed.forEach(refocus);
    for (const [name, {id, button}] of Object.entries(DRAWERS)) {
      const el = document.getElementById(id);
      if (!el) continue;
      const shut = !el.classList.contains('open');
      const toggleButton = el.querySelector(':scope > .toggle-button');
      if (toggleButton) {
        // A closed drawer's own button is hidden (layout.css): the header's buttons open it.
        if (shut && toggleButton.getAttribute('tabindex') !== '-1') toggleButton.setAttribute('tabindex', '-1');
        else if (!shut && toggleButton.hasAttribute('tabindex')) toggleButton.removeAttribute('tabindex');
        toggleButton.setAttribute('aria-label', w[name]);
        toggleButton.setAttribute('aria-expanded', String(!shut));
        toggleButton.setAttribute('aria-controls', id);
      }
      const b = document.getElementById(button);
      const head = b?.matches('button') ? b : b?.querySelector('button');
      if (head) {
        head.setAttribute('aria-label', w[name]);
        head.setAttribute('title', w[name]);
        head.setAttribute('aria-expanded', String(!shut));
        head.setAttribute('aria-controls', id);
      }
    }
    // With no Second Me chosen, the check's "Enter the instance ID…" is the guide's word, not an error: said quietly.
    const instance = document.getElementById('instance-id');
    if (instance) {
      const empty = !String(instance.querySelector('input, textarea')?.value ?? '').trim();
      instance.classList.toggle('secondme-gentle', empty && Boolean(instance.querySelector('div.validation-error')));
    }
    const status = document.getElementById('instance-status');
    if (status) status.classList.toggle('online', status.textContent.trim().startsWith('●'));
    for (const [field, word] of [['#browse input', w.browse], ['#preset input', w.preset]]) {
      const input = document.querySelector(field);
      if (input && input.getAttribute('placeholder') !== word) input.setAttribute('placeholder', word);
    }
  };

  // The conversation takes the window's height but what is above it and the composer below it.
  const measure = () => {
    const conversation = document.getElementById('conversation');
    const composer = document.getElementById('composer');
    if (!conversation || !composer || !conversation.offsetParent) return;
    const above = Math.round(conversation.getBoundingClientRect().top + window.scrollY);
    const below = Math.round(composer.getBoundingClientRect().height + 16);
    const root = document.documentElement.style;
    if (root.getPropertyValue('--secondme-above') !== `${above}px`) root.setProperty('--secondme-above', `${above}px`);
    if (root.getPropertyValue('--secondme-below') !== `${below}px`) root.setProperty('--secondme-below', `${below}px`);
  };

  // On a phone both drawers start closed (layout.css hides them until then), without sliding.
  let ready = false;
  const start = () => {
    if (ready || !drawer('chats') || !drawer('settings')) return;
    ready = true;
    if (PHONE.matches) {
      for (const name of Object.keys(DRAWERS)) {
        drawer(name).classList.add('secondme-still');
        set(name, false);
      }
      whenClosed(() => {
        mark();  // before the page counts as ready: closing them now moves no focus
        document.documentElement.classList.add('secondme-layout-ready');
        requestAnimationFrame(() => { for (const el of document.querySelectorAll('.secondme-still')) el.classList.remove('secondme-still'); });
      });
    } else {
      document.documentElement.classList.add('secondme-layout-ready');
    }
  };
  const whenClosed = (then) => {
    let tries = 0;
    const look = () => (!isOpen('chats') && !isOpen('settings')) || tries++ > 120 ? then() : requestAnimationFrame(look);
    look();
  };

  let looking = false;
  new MutationObserver(() => {
    if (looking) return;
    looking = true;
    requestAnimationFrame(() => { looking = false; start(); mark(); measure(); });
  }).observe(document.documentElement, {childList: true, subtree: true, attributes: true, attributeFilter: ['class']});
  window.addEventListener('resize', measure);

  document.addEventListener('click', (e) => {
    const target = e.target;
    if (!(target instanceof Element)) return;
    for (const [name, {button}] of Object.entries(DRAWERS)) {
      if (target.closest(`#${button}`)) { toggle(name); return; }
    }
    if (target.closest('.browse-start')) { browse(); return; }
  }, true);

  // Esc closes an open drawer on a phone (where it covers the page), unless it is meant for an open list.
  window.addEventListener('keydown', (e) => {
    if (e.key !== 'Escape' || !PHONE.matches) return;
    const name = Object.keys(DRAWERS).find(isOpen);
    if (!name) return;
    if (e.target instanceof Element && e.target.closest('[aria-expanded="true"]:not(.toggle-button):not(button)')) return;
    e.preventDefault();
    e.stopPropagation();
    close(name);
  }, true);

  // Browse: the settings drawer opens on the directory, its list open.
  const browse = () => {
    open('settings');
    whenOpen('settings', () => {
      const input = document.querySelector('#browse input');
      if (!input) return;
      input.focus();
      input.click();
    });
  };

  // Send with no Second Me chosen: nothing is sent (chat_ui.show_js); the guide says what to do, and where the
  // settings are on screen the Instance ID field has the focus.
  const askForInstance = () => {
    const card = document.getElementById('assistant-card');
    card?.classList.remove('asked');
    void card?.offsetWidth;
    card?.classList.add('asked');
    if (!PHONE.matches && isOpen('settings')) document.querySelector('#instance-id textarea, #instance-id input')?.focus();
  };

  window.secondmeLayout = {open, close, toggle, isOpen, browse, askForInstance};
})();
