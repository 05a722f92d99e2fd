// Web Push on this phone: subscribe only after a tap (with the explanation shown first), send the subscription
// to the server, and send it again at every launch (subscriptions die silently; the server upserts by endpoint).

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

/** Ask permission (call from a tap), subscribe and tell the server. Returns the permission state. */
export async function enablePush() {
  const permission = await Notification.requestPermission();
  if (permission !== "granted") return permission;
  const registration = await navigator.serviceWorker.ready;
  let subscription = await registration.pushManager.getSubscription();
  if (!subscription) {
    const { public_key: key } = await api("/api/v1/push/key");
    subscription = await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(key) });
  }
  await save(subscription);
  return permission;
}

/** At launch: if this phone has a subscription, make sure the server has it (for the signed-in user). */
export async function recheckPush() {
  if (!pushSupported() || Notification.permission !== "granted") return false;
  const registration = await navigator.serviceWorker.ready;
  const subscription = await registration.pushManager.getSubscription();
  if (!subscription) return false;
  await save(subscription);
  return true;
}

/** Stop push on this phone (the inbox still collects every message). */
export async function disablePush() {
  const registration = await navigator.serviceWorker.ready;
  const subscription = await registration.pushManager.getSubscription();
  if (!subscription) return;
  await api("/api/v1/push/subscriptions", { method: "DELETE", body: { endpoint: subscription.endpoint } });
  await subscription.unsubscribe();
}
