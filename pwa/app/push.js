// Web Push on this phone: subscribe only after a tap (with the explanation shown first), send the subscription
// to the server, and check it again at every launch (subscriptions die silently; the server upserts by endpoint).

import { api } from "./api.js";
import { lang } from "./i18n.js";

/** Push is possible here: a worker, the Push API and notifications (iPhone: only once added to the home screen). */
export function pushSupported() {
  return "serviceWorker" in navigator && "PushManager" in window && "Notification" in window;
}

/** iOS outside the home screen: push exists only for installed apps. */
export function needsHomeScreen() {
  const ios = /iphone|ipad|ipod/i.test(navigator.userAgent);
  const standalone = window.matchMedia("(display-mode: standalone)").matches || navigator.standalone === true;
  return ios && !standalone;
}

function keyBytes(base64url) {
  const padded = base64url.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (base64url.length % 4)) % 4);
  return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
}

async function save(subscription) {
  await api("/api/v1/push/subscriptions", { method: "PUT", body: { ...subscription.toJSON(), lang } });
}

/** The server's VAPID public key, as the bytes subscribe() takes. */
async function serverKey() {
  const { public_key: key } = await api("/api/v1/push/key");
  return keyBytes(key);
}

/** Whether a subscription was made with this key (true when the browser does not say: nothing to compare). */
function madeWith(subscription, key) {
  const used = subscription.options && subscription.options.applicationServerKey;
  if (!used) return true;
  const bytes = new Uint8Array(used);
  return bytes.length === key.length && bytes.every((byte, index) => byte === key[index]);
}

// The user turned push off on this phone (disablePush): a launch must not turn it back on behind their back.
const TURNED_OFF = "motcua-push-off";

/** Ask permission (call from a tap), subscribe and tell the server. Returns the permission state. */
export async function enablePush() {
  const permission = await Notification.requestPermission();
  if (permission !== "granted") return permission;
  localStorage.removeItem(TURNED_OFF);
  const registration = await navigator.serviceWorker.ready;
  let subscription = await registration.pushManager.getSubscription();
  if (!subscription) {
    subscription = await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: await serverKey() });
  }
  await save(subscription);
  return permission;
}

/**
 * At launch, with permission granted: make sure this phone has a live subscription and that the server has it, for
 * the signed-in user. Subscriptions die silently (the browser or the push service drops them; the server retires
 * them when the app is not seen for weeks), so: subscribe again when there is none; subscribe anew when the
 * server's VAPID key changed (the push service refuses pushes signed with another key than the subscription's);
 * then PUT it, which upserts it by endpoint, marks it seen and un-retires it.
 * Returns whether this phone is subscribed.
 */
export async function recheckPush() {
  if (!pushSupported() || Notification.permission !== "granted" || localStorage.getItem(TURNED_OFF)) return false;
  const registration = await navigator.serviceWorker.ready;
  let subscription = await registration.pushManager.getSubscription();
  const key = await serverKey();
  if (subscription && !madeWith(subscription, key)) {
    const { endpoint } = subscription;
    await subscription.unsubscribe().catch(() => undefined);
    await api("/api/v1/push/subscriptions", { method: "DELETE", body: { endpoint } }).catch(() => undefined);
    subscription = null;
  }
  if (!subscription) {
    subscription = await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
  }
  await save(subscription);
  return true;
}

// A launch is a new top-level page of the app: sessionStorage starts empty in each, and is kept while one navigates.
const RECHECKED = "motcua-push-rechecked";

/** recheckPush() once per launch (every page calls it, through nav.js); errors are left for the next launch. */
export function recheckPushAtLaunch() {
  if (sessionStorage.getItem(RECHECKED)) return Promise.resolve(false);
  sessionStorage.setItem(RECHECKED, "1");
  return recheckPush().catch(() => {
    sessionStorage.removeItem(RECHECKED);
    return false;
  });
}

/** Signing out: the next account signed in on this page checks its own subscription again. */
export function forgetPushRecheck() {
  sessionStorage.removeItem(RECHECKED);
}

/** Stop push on this phone (the inbox still collects every message). */
export async function disablePush() {
  localStorage.setItem(TURNED_OFF, "1");
  const registration = await navigator.serviceWorker.ready;
  const subscription = await registration.pushManager.getSubscription();
  if (!subscription) return;
  await api("/api/v1/push/subscriptions", { method: "DELETE", body: { endpoint: subscription.endpoint } });
  await subscription.unsubscribe();
}
