// Passkeys in the browser: the only script the login page loads, and the account page's
// "Add a passkey". A small module instead of the wasm bundle: the ceremonies are a few calls to
// `navigator.credentials` and the server functions under /api/passkeys/.
//
// The server renders every element this module uses (src/pages/passkeys.rs), hidden until this
// module finds a browser with passkeys: a page without JavaScript shows its <noscript> note and
// signs in with the password. Each part is found by its `data-passkey` attribute:
//
//   sign-in  the login page: the button, and the passkeys offered in the email field's autofill
//   sign-up  "Create account with a passkey" on /register/passkey, with that page's name and email
//   add      the account page's form: starts here, then posts as a plain form, so the page that
//            comes back says what happened (added, or why not) and lists the new passkey
//
// The pages that load it for passkeys (login, account, passkey sign-up) are also where people
// type their password most, so it also brings their password fields' Show button to life
// ([`reveal`]); pages without this module (sign-up, reset) ship no script at all and keep the
// button hidden.

/** Leaves the page for `path` with a full load: the new session's cookies are in place. */
const goTo = (path) => window.location.assign(path);

/** The wait before autofill is offered again after the server refused a passkey; it doubles
 * with each refusal in a row (3, 6, 12, 24 s). */
const AUTOFILL_RETRY_AFTER_MS = 3000;
/** Refusals in a row after which the page stops offering autofill by itself: pressing the
 * button starts again. A copied passkey cannot make the page hammer the server. */
const AUTOFILL_RETRIES = 4;

/** base64url without padding (RFC 4648 §5), as WebAuthn's JSON uses. */
const base64url = {
  decode(text) {
    const base64 = text.replace(/-/g, '+').replace(/_/g, '/');
    const padded = base64 + '='.repeat((4 - (base64.length % 4)) % 4);
    return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
  },
  encode(buffer) {
    let binary = '';
    for (const byte of new Uint8Array(buffer)) binary += String.fromCharCode(byte);
    return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  },
};

/** Why a ceremony produced no answer, as a sentence; `null` when nothing needs saying. */
function failureMessage(err) {
  switch (err && err.name) {
    case 'AbortError':
      return null; // this page stopped it (the autofill request, when the button is pressed)
    case 'NotAllowedError':
      return 'The passkey request was cancelled or timed out. Try again when you are ready.';
    case 'InvalidStateError':
      return 'This device already has a passkey for your account. Use it to sign in, or add a passkey from another device.';
    case 'NotSupportedError':
    case 'SecurityError':
      return 'This browser cannot use passkeys here. Use your password, or open Tasks in a current browser at its usual address.';
    default:
      return `The browser could not use a passkey (${(err && err.message) || err}). Try again, or use your password.`;
  }
}

/** A refusal from the server, said by the server (`message`; a form's field messages joined). */
class Refused extends Error {}

/** Calls a server function with urlencoded arguments; resolves to its JSON answer. */
async function call(endpoint, args = {}) {
  const body = new URLSearchParams();
  for (const [name, value] of Object.entries(args)) {
    if (value !== undefined && value !== null) body.append(name, value);
  }
  let response;
  try {
    response = await fetch(`/api/${endpoint}`, {
      method: 'POST',
      headers: { Accept: 'application/json', 'Content-Type': 'application/x-www-form-urlencoded' },
      body,
      credentials: 'same-origin',
    });
  } catch {
    throw new Refused('Could not reach the server. Check your connection and try again.');
  }
  const answer = await response.json().catch(() => null);
  if (response.ok && answer !== null) return answer;
  if (answer && answer.error === 'validation' && Array.isArray(answer.detail)) {
    throw new Refused(answer.detail.map((d) => d.message).join(' '));
  }
  throw new Refused(
    (answer && answer.message) || `The server could not do that (${response.status}). Try again in a moment.`,
  );
}

/** The `publicKey` part of the server's options, binary members as the browser wants them. */
function publicKey(options) {
  const key = JSON.parse(options).publicKey;
  key.challenge = base64url.decode(key.challenge);
  if (key.user) key.user.id = base64url.decode(key.user.id);
  for (const list of [key.excludeCredentials, key.allowCredentials]) {
    for (const credential of list || []) credential.id = base64url.decode(credential.id);
  }
  return key;
}

/** The browser's answer as the JSON the server reads. */
function answer(credential) {
  const r = credential.response;
  const response = { clientDataJSON: base64url.encode(r.clientDataJSON) };
  if (r.attestationObject) {
    response.attestationObject = base64url.encode(r.attestationObject);
    if (typeof r.getTransports === 'function') response.transports = r.getTransports();
  } else {
    response.authenticatorData = base64url.encode(r.authenticatorData);
    response.signature = base64url.encode(r.signature);
    if (r.userHandle) response.userHandle = base64url.encode(r.userHandle);
  }
  return JSON.stringify({
    id: credential.id,
    rawId: base64url.encode(credential.rawId),
    type: 'public-key',
    response,
    clientExtensionResults: credential.getClientExtensionResults?.() ?? {},
  });
}

/** Makes a passkey with the server's creation options; resolves to the answer's JSON. */
async function create(options) {
  const credential = await navigator.credentials.create({ publicKey: publicKey(options) });
  return answer(credential);
}

/** Sets a part's alert (and the button's busy state). */
function say(part, message) {
  part.querySelector('[role="alert"]').textContent = message || '';
}

function busy(button, waiting, idle) {
  button.setAttribute('aria-busy', String(waiting));
  button.textContent = waiting ? 'Waiting for your passkey…' : idle;
}

/** The login page: the button, and the passkeys offered in the email field's autofill. */
function signIn(part) {
  const button = part.querySelector('button');
  const idle = button.textContent;
  const next = part.dataset.next || '';
  let pressed = false;
  let autofill = null; // the waiting autofill request's AbortController

  /** One sign-in: resolves to 'in', 'refused' or 'stopped' (with the browser's error). */
  async function once(controller) {
    const ceremony = await call('passkeys/sign-in/start');
    let credential;
    try {
      const request = { publicKey: publicKey(ceremony.options) };
      if (controller) Object.assign(request, { mediation: 'conditional', signal: controller.signal });
      credential = await navigator.credentials.get(request);
    } catch (err) {
      return { outcome: 'stopped', err };
    }
    try {
      goTo(await call('passkeys/sign-in/finish', { ticket: ceremony.ticket, credential: answer(credential), next }));
      return { outcome: 'in' };
    } catch (err) {
      say(part, err.message);
      return { outcome: 'refused' };
    }
  }

  async function offerAutofill(refusals) {
    if (pressed || !(await PublicKeyCredential.isConditionalMediationAvailable?.())) return;
    autofill = new AbortController();
    try {
      const { outcome } = await once(autofill);
      if (outcome === 'refused') offerAutofillLater(refusals + 1);
    } catch (err) {
      // Nobody asked for this one: a start the server refused is said only when it says why.
      if (err instanceof Refused) say(part, err.message);
    }
  }

  function offerAutofillLater(refusals) {
    if (refusals > AUTOFILL_RETRIES) return;
    setTimeout(() => offerAutofill(refusals), AUTOFILL_RETRY_AFTER_MS * 2 ** (refusals - 1));
  }

  button.addEventListener('click', async () => {
    if (pressed) return;
    // One request at a time: the autofill one steps aside for the dialog.
    autofill?.abort();
    autofill = null;
    pressed = true;
    busy(button, true, idle);
    say(part, '');
    let result;
    try {
      result = await once(null);
    } catch (err) {
      result = { outcome: 'failed' };
      say(part, err.message);
    }
    if (result.outcome === 'in') return; // the page is leaving; the button stays busy
    pressed = false;
    busy(button, false, idle);
    if (result.outcome === 'refused') {
      offerAutofillLater(1); // the person acted: offered again after the first wait
    } else {
      if (result.err) say(part, failureMessage(result.err));
      offerAutofill(0);
    }
  });
  button.hidden = false;
  offerAutofill(0);
}

/** "Create account with a passkey" (/register/passkey): the name and email of the form whose id
 * is the part's `data-form`, no password. The button or Enter in a field starts it. */
function signUp(part) {
  const form = document.getElementById(part.dataset.form);
  const button = part.querySelector('button');
  const idle = button.textContent;
  async function start() {
    if (button.getAttribute('aria-busy') === 'true' || !form.reportValidity()) return;
    busy(button, true, idle);
    say(part, '');
    try {
      const data = new FormData(form);
      const ceremony = await call('passkeys/sign-up/start', { name: data.get('name'), email: data.get('email') });
      let credential;
      try {
        credential = await create(ceremony.options);
      } catch (err) {
        throw new Refused(failureMessage(err) || '');
      }
      goTo(await call('passkeys/sign-up/finish', { ticket: ceremony.ticket, credential }));
    } catch (err) {
      say(part, err.message);
      busy(button, false, idle);
    }
  }
  button.addEventListener('click', start);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    start();
  });
  button.hidden = false;
}

/** The account page's "Add a passkey": the ceremony here, then a plain form post. */
function add(form) {
  const button = form.querySelector('button[type="submit"]');
  const idle = button.textContent;
  const password = form.querySelector('[data-passkey-password]');
  form.addEventListener('submit', async (event) => {
    if (form.elements.credential.value) return; // the ceremony is done: let the post go
    event.preventDefault();
    if (button.getAttribute('aria-busy') === 'true') return;
    busy(button, true, idle);
    say(form, '');
    try {
      const ceremony = await call('passkeys/add/start', { password: password ? password.value : null });
      try {
        form.elements.credential.value = await create(ceremony.options);
      } catch (err) {
        throw new Refused(failureMessage(err) || '');
      }
      form.elements.ticket.value = ceremony.ticket;
      form.requestSubmit();
    } catch (err) {
      say(form, err.message);
      busy(button, false, idle);
    }
  });
  form.hidden = false;
}

/** A password field's Show button: shows what was typed as plain text, and hides it again. */
function reveal(button) {
  const field = document.getElementById(button.getAttribute('aria-controls'));
  const word = button.firstChild;
  if (!field || !word || word.nodeType !== Node.TEXT_NODE) return;
  button.addEventListener('click', () => {
    const shown = field.type === 'password';
    field.type = shown ? 'text' : 'password';
    word.textContent = shown ? 'Hide' : 'Show';
  });
  button.dataset.ready = 'true';
}

// Each part, once set up, is marked `data-ready` (the stylesheet shows a Show button only then;
// the browser tests wait for it).
for (const button of document.querySelectorAll('.password-field .reveal')) reveal(button);
if (window.PublicKeyCredential) {
  for (const part of document.querySelectorAll('[data-passkey]')) {
    ({ 'sign-in': signIn, 'sign-up': signUp, add })[part.dataset.passkey]?.(part);
    part.dataset.ready = 'true';
  }
}
