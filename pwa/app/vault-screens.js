// The vault's two screens in the officer's app (templates/officer/shell.html): setting it up at the officer's first
// use on this phone (the passkey's PRF first, an app PIN otherwise) and unlocking it ("Mở khóa"), plus the idle
// lock. Neither screen shows anything of a citizen; officer.js clears its views before this one shows the lock.
//
// The lock delay and the number of PIN tries come from the server's session answer (`device_policy`) and are
// remembered in localStorage for offline starts: they are settings, not secrets.

import { setBusy, showStatus } from "./dom.js";
import { t } from "./i18n.js";
import { eraseLockedData } from "../lib/locked-store.js";
import {
  DEFAULT_POLICY, METHOD, PrfUnavailable, VaultErased, WrongPin, lock, passkeyVaultPossible, pinAcceptable,
  setUpWithPasskey, setUpWithPin, unlockWithPasskey, unlockWithPin, vaultOf,
} from "../lib/vault.js";

const POLICY_KEY = "motcua.device_policy";
const $ = (id) => document.getElementById(id);

/** The lock delay and PIN tries in force on this phone (the last ones the server gave, or the defaults). */
export function devicePolicy() {
  let saved = null;
  try {
    saved = JSON.parse(localStorage.getItem(POLICY_KEY) || "null");
  } catch {
    saved = null;
  }
  const policy = { ...DEFAULT_POLICY };
  if (saved && Number(saved.lock_after_seconds) > 0) policy.lockAfterMs = Number(saved.lock_after_seconds) * 1000;
  if (saved && Number(saved.pin_tries) > 0) policy.pinTries = Math.floor(Number(saved.pin_tries));
  if (saved && saved.rp_id) policy.rpId = String(saved.rp_id);
  return policy;
}

/** Remember the server's `device_policy` (from GET /api/v1/session). */
export function rememberPolicy(policy) {
  if (policy && typeof policy === "object") localStorage.setItem(POLICY_KEY, JSON.stringify(policy));
}

/**
 * Call `onIdle()` once the officer has done nothing for `delayMs` (taps, keys, typing and scrolling count), or on
 * coming back from the background after that long (timers sleep in the background: the check on "visible" catches
 * it). Returns {stop(), setDelay(ms)}.
 */
function watchIdle(onIdle, delayMs) {
  const EVENTS = ["pointerdown", "keydown", "input", "touchstart", "wheel", "scroll"];
  let delay = delayMs;
  let last = Date.now();
  let timer = null;
  const active = () => {
    last = Date.now();
  };
  const check = () => {
    clearTimeout(timer);
    const left = last + delay - Date.now();
    if (left > 0) {
      timer = setTimeout(check, left);
      return;
    }
    stop();
    onIdle();
  };
  const onVisibility = () => {
    if (document.visibilityState === "visible") check();
  };
  function stop() {
    clearTimeout(timer);
    for (const name of EVENTS) document.removeEventListener(name, active, { capture: true });
    document.removeEventListener("visibilitychange", onVisibility);
  }
  for (const name of EVENTS) document.addEventListener(name, active, { capture: true, passive: true });
  document.addEventListener("visibilitychange", onVisibility);
  timer = setTimeout(check, delay);
  return {
    stop,
    setDelay(ms) {
      delay = ms;
      check();
    },
  };
}

/**
 * The gate between the officer and their locked data.
 * @param options `db`, `showView(name)`, `onUnlocked()` (the app may read locked records now) and
 *   `beforeLock()` (save what is being typed, then clear every view: awaited before the key is forgotten).
 */
export class VaultGate {
  constructor({ db, showView, onUnlocked, beforeLock }) {
    Object.assign(this, { db, showView, onUnlocked, beforeLock });
    this.userId = null;
    this.idle = null;
    this.wire();
  }

  wire() {
    $("vault-use-passkey").addEventListener("click", () => this.setUp(() =>
      setUpWithPasskey(this.db, this.userId, { rpId: devicePolicy().rpId || null }), $("vault-use-passkey")));
    $("vault-pin-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const pin = $("vault-new-pin").value;
      if (!pinAcceptable(pin)) return this.say("vault-setup-status", t("vault_pin_too_short"), $("vault-new-pin"));
      if (pin !== $("vault-new-pin-again").value) {
        return this.say("vault-setup-status", t("vault_pin_mismatch"), $("vault-new-pin-again"));
      }
      return this.setUp(() => setUpWithPin(this.db, this.userId, pin), $("vault-set-pin"));
    });
    $("unlock-passkey").addEventListener("click", () => this.unlock(() => unlockWithPasskey(this.db, this.userId),
      $("unlock-passkey")));
    $("unlock-pin-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const pin = $("unlock-pin").value;
      $("unlock-pin").value = "";
      this.unlock(() => unlockWithPin(this.db, this.userId, pin,
        { pinTries: devicePolicy().pinTries, erase: eraseLockedData }), $("unlock-with-pin"));
    });
  }

  say(statusId, message, focus = null) {
    showStatus($(statusId), message, "error");
    if (focus) focus.focus();
  }

  /** Show the screen `userId`'s vault calls for: set-up (none on this phone yet) or the lock. */
  async ask(userId, message = "") {
    this.userId = userId;
    const vault = await vaultOf(this.db, userId);
    document.body.dataset.vault = vault ? "locked" : "setup";
    if (!vault) {
      $("vault-passkey-choice").hidden = !passkeyVaultPossible();
      for (const input of $("vault-pin-form").querySelectorAll("input")) input.value = "";
      showStatus($("vault-setup-status"), message, message ? "error" : "info");
      this.showView("vault-setup");
      return;
    }
    const withPin = vault.method === METHOD.PIN;
    $("unlock-passkey").hidden = withPin;
    $("unlock-pin-form").hidden = !withPin;
    showStatus($("unlock-status"), message, "info");
    this.showView("locked");
    if (withPin) $("unlock-pin").focus();
  }

  async setUp(work, button) {
    setBusy(button, true);
    showStatus($("vault-setup-status"), "", "info");
    try {
      await work();
    } catch (error) {
      if (error instanceof PrfUnavailable) this.say("vault-setup-status", t("vault_prf_unavailable"), $("vault-new-pin"));
      else if (error && (error.name === "NotAllowedError" || error.name === "AbortError")) {
        this.say("vault-setup-status", t("vault_passkey_cancelled"));
      } else throw error;
      return;
    } finally {
      setBusy(button, false);
    }
    await this.opened();
  }

  async unlock(work, button) {
    setBusy(button, true);
    showStatus($("unlock-status"), t("vault_working"), "info");
    try {
      await work();
    } catch (error) {
      if (error instanceof WrongPin) this.say("unlock-status", t("vault_pin_wrong", { n: error.triesLeft }), $("unlock-pin"));
      else if (error instanceof VaultErased) await this.ask(this.userId, t("vault_erased"));
      else if (error && (error.name === "NotAllowedError" || error.name === "AbortError")) {
        this.say("unlock-status", t("vault_passkey_cancelled"));
      } else throw error;
      return;
    } finally {
      setBusy(button, false);
    }
    await this.opened();
  }

  async opened() {
    document.body.dataset.vault = "open";
    showStatus($("unlock-status"), "", "info");
    this.idle = watchIdle(() => this.lock(t("vault_locked_idle")), devicePolicy().lockAfterMs);
    await this.onUnlocked();
  }

  /** A new lock delay from the server (the session answer). */
  policyChanged() {
    if (this.idle) this.idle.setDelay(devicePolicy().lockAfterMs);
  }

  /** Lock now: what is being typed is saved, the views are cleared, then the key is forgotten. */
  async lock(message = "") {
    if (this.idle) this.idle.stop();
    this.idle = null;
    await this.beforeLock();
    lock();
    if (this.userId !== null) await this.ask(this.userId, message);
  }
}
