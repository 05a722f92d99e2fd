/* Web Push in the worker. A classic script loaded by /sw.js.
 *
 * Every push shows a notification: iOS revokes the subscription of an app whose pushes show nothing. The payload
 * holds no personal data (the kind, the dossier code, a link, the app's language). It also carries the declarative
 * Web Push form (`web_push: 8030` and a `notification` with title, body, navigate, lang: server/push/sender.py),
 * whose words are used when present; the table below words older payloads, in Vietnamese and English. A tap
 * focuses a window already on the dossier's page, or opens one.
 *
 * Receipts (receipts.js): once the notification is shown, "shown" goes to the server with the payload's token;
 * a tap sends "opened" (the token is kept in the notification's data for it).
 */

const PUSH_TEXTS = Object.freeze({
  vi: {
    received: ["Hồ sơ đã được tiếp nhận", "Hồ sơ {code} đã được tiếp nhận."],
    supplement_requested: ["Cần bổ sung hồ sơ", "Hồ sơ {code} cần bổ sung giấy tờ. Bấm để xem."],
    extended: ["Hồ sơ được gia hạn", "Hồ sơ {code} được gia hạn. Xin lỗi vì sự chậm trễ; bấm để xem ngày hẹn mới."],
    result_ready: ["Đã có kết quả", "Hồ sơ {code} đã có kết quả."],
    returned: ["Đã trả kết quả", "Kết quả của hồ sơ {code} đã được trả."],
    refused: ["Hồ sơ không được tiếp nhận", "Hồ sơ {code} không được tiếp nhận. Bấm để xem lý do."],
    stopped: ["Hồ sơ dừng giải quyết", "Hồ sơ {code} dừng giải quyết. Bấm để xem lý do."],
    visit_scheduled: ["Lịch tiếp nhận tại nhà", "Cán bộ sẽ đến nhà để tiếp nhận hồ sơ. Bấm để xem lịch."],
    visit_cancelled: ["Hủy lịch đến nhà", "Lịch cán bộ đến nhà đã được hủy. Bấm để xem lý do."],
    passkey_added: ["Đã thêm khóa truy cập", "Tài khoản của bạn có khóa truy cập mới. Nếu không phải bạn, hãy báo ngay cho Bộ phận Một cửa."],
    channel_test: ["Gửi thử thông báo", "Đây là tin thử của Một Cửa Tại Nhà: kênh này báo được cho bạn."],
    other: ["Một Cửa Tại Nhà", "Hồ sơ {code} có thông tin mới."],
  },
  en: {
    received: ["Dossier received", "Dossier {code} has been received."],
    supplement_requested: ["Documents needed", "Dossier {code} needs more documents. Tap to see which."],
    extended: ["Deadline extended", "Dossier {code} was extended. We apologise; tap to see the new date."],
    result_ready: ["Result ready", "The result of dossier {code} is ready."],
    returned: ["Result returned", "The result of dossier {code} has been returned."],
    refused: ["Dossier not accepted", "Dossier {code} was not accepted. Tap to see why."],
    stopped: ["Processing stopped", "Processing of dossier {code} was stopped. Tap to see why."],
    visit_scheduled: ["Home visit scheduled", "An officer will come to your home. Tap to see when."],
    visit_cancelled: ["Home visit cancelled", "The officer's visit to your home was cancelled. Tap to see why."],
    passkey_added: ["Passkey added", "A new passkey was added to your account. If it was not you, tell the one-stop desk at once."],
    channel_test: ["Test notification", "This is a test from Một Cửa Tại Nhà: this channel reaches you."],
    other: ["Một Cửa Tại Nhà", "There is news about dossier {code}."],
  },
});

/** The declarative Web Push marker (W3C Push API): a payload with `web_push: 8030` describes its notification. */
const DECLARATIVE_WEB_PUSH = 8030;

/** A path of this app: a same-origin link from the payload (`navigate` is absolute), else null. */
function ownPath(link) {
  if (typeof link !== "string") return null;
  if (link.startsWith("/") && !link.startsWith("//")) return link;
  try {
    const url = new URL(link);
    return url.origin === self.location.origin ? url.pathname + url.search : null;
  } catch {
    return null;
  }
}

/** The declarative part of a payload, if it is well formed: {title, body, path}; else null. */
function declarativeOf(data) {
  const note = data.web_push === DECLARATIVE_WEB_PUSH && data.notification;
  if (!note || typeof note.title !== "string" || !note.title) return null;
  return { title: note.title, body: typeof note.body === "string" ? note.body : "", path: ownPath(note.navigate) };
}

/** Title and options of the notification for a push payload (anything unreadable still shows something). */
function notificationFor(data) {
  const texts = PUSH_TEXTS[data.lang === "en" ? "en" : "vi"];
  const [fallbackTitle, fallbackBody] = texts[data.kind] || texts.other;
  const declared = declarativeOf(data);
  const title = declared ? declared.title : fallbackTitle;
  const body = declared ? declared.body : fallbackBody.replace("{code}", data.code || "");
  const url = (declared && declared.path) || ownPath(data.url) || "/";
  return [title, {
    body,
    tag: data.code ? `dossier-${data.code}` : "motcua",
    renotify: true,
    lang: data.lang === "en" ? "en" : "vi",
    icon: "/pwa/icons/icon-192.png",
    badge: "/pwa/icons/icon-192.png",
    data: {
      url,
      kind: data.kind || "other",
      code: data.code || null,
      receipt: typeof data.receipt === "string" ? data.receipt : null,
    },
  }];
}

function handlePush(event) {
  let data = {};
  try {
    data = event.data ? event.data.json() : {};
  } catch {
    data = {};
  }
  const [title, options] = notificationFor(data);
  event.waitUntil((async () => {
    await self.registration.showNotification(title, options);
    // Shown: say so, then send what waited (a push just came, so the network is probably back).
    if (options.data.receipt) await reportReceipt(options.data.receipt, "shown").catch(() => false);
    await flushReceiptsQuietly();
  })());
}

function handleNotificationClick(event) {
  event.notification.close();
  const data = event.notification.data || {};
  const target = new URL(data.url || "/", self.location.origin);
  // The window first, while the tap still allows opening one; the receipt alongside.
  const opening = (async () => {
    const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
    const open = windows.find((client) => new URL(client.url).pathname === target.pathname);
    if (open) return open.focus();
    return self.clients.openWindow(target.href);
  })();
  const receipt = data.receipt ? reportReceipt(data.receipt, "opened").catch(() => false) : null;
  event.waitUntil(Promise.all([opening, receipt]));
}
