// A stand-in for Apps Script's `google.script.run`, for the dev page only (`almanac demo --serve`).
// Like the real one, `google.script.run.withSuccessHandler(f).withFailureHandler(g).name(args)`
// calls the server-side function `name` asynchronously and hands its result to `f` (or an Error to
// `g`). The functions are those of appsscript/Code.gs the sidebar calls: `getSelectionContext()`,
// answered from the emulated sheet (`/dev/api/sheet`) and the rows selected in the grid of
// `/dev/sheet` (the parent page), or, when the sidebar is opened alone, from `?rows=START:END` in
// its address (the account's locale from `?locale=`, e.g. `ko`); `writeAccessProof(key, nonce)` and `shareWithServiceAccount()`, which the emulator
// runs as Apps Script would for the pretend user (`/dev/api/script/…`).
(function () {
  'use strict';

  function selectedRowsAlone() {
    const spec = new URLSearchParams(window.location.search).get('rows');
    if (!spec) return [];
    const [a, b] = spec.split(':').map(Number);
    const rows = [];
    for (let n = a; n <= (b || a); n += 1) rows.push(n);
    return rows;
  }

  function selectedRows() {
    try {
      const host = window.parent !== window ? window.parent.almanacDev : null;
      if (host) return host.selectedRows();
    } catch (e) {
      // A parent from another origin: act as if alone.
    }
    return selectedRowsAlone();
  }

  // The Google account's locale, as Apps Script's Session.getActiveUserLocale() reports it: the
  // dev page's `?locale=` (its own, or the sheet page's around it), else the browser's language.
  function locale() {
    const own = new URLSearchParams(window.location.search).get('locale');
    if (own) return own;
    try {
      const parent = window.parent !== window ? window.parent.location.search : '';
      const fromParent = new URLSearchParams(parent).get('locale');
      if (fromParent) return fromParent;
    } catch (e) {
      // A parent from another origin: the browser's language.
    }
    return (navigator.language || 'en').replace('-', '_');
  }

  async function getSelectionContext() {
    const resp = await fetch('/dev/api/sheet');
    if (!resp.ok) throw new Error('The emulated sheet cannot be read (HTTP ' + resp.status + ')');
    const sheet = await resp.json();
    const text = (row, i) => String((row && row[i]) || '');
    return {
      spreadsheetId: sheet.spreadsheetId,
      sheetId: sheet.sheetId,
      sheetTitle: sheet.sheetTitle,
      backendUrl: window.location.origin,
      identityToken: sheet.identityToken,
      serviceAccountEmail: sheet.serviceAccountEmail,
      userEmail: sheet.userEmail,
      locale: locale(),
      rows: selectedRows().map((n) => {
        const row = sheet.rows[n - 1] || [];
        return {
          rowNumber: n,
          id: text(row, 0),
          title: text(row, 1),
          filled: [2, 3, 4, 5].map((i) => text(row, i).trim() !== ''),
        };
      }),
    };
  }

  async function script(name, body) {
    const resp = await fetch('/dev/api/script/' + name, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body || {}),
    });
    if (!resp.ok) throw new Error(await resp.text());
  }

  async function writeAccessProof(key, nonce) {
    await script('writeAccessProof', { key, nonce });
  }

  async function shareWithServiceAccount() {
    await script('shareWithServiceAccount');
  }

  const functions = { getSelectionContext, writeAccessProof, shareWithServiceAccount };

  function runner(onSuccess, onFailure) {
    const run = {
      withSuccessHandler: (f) => runner(f, onFailure),
      withFailureHandler: (f) => runner(onSuccess, f),
      withUserObject: () => run,
    };
    for (const [name, fn] of Object.entries(functions)) {
      run[name] = (...args) => {
        setTimeout(() => {
          Promise.resolve()
            .then(() => fn(...args))
            .then(
              (value) => onSuccess && onSuccess(value),
              (err) => onFailure && onFailure(err instanceof Error ? err : new Error(String(err))),
            );
        }, 0);
      };
    }
    return run;
  }

  window.google = window.google || {};
  window.google.script = window.google.script || {};
  window.google.script.run = runner(null, null);
  window.google.script.host = { close() {}, setHeight() {}, setWidth() {} };
})();
