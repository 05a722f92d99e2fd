// "Đọc to" (read aloud, issue 11 point 10): for people who cannot read small text, or cannot read, the citizen's
// dossier page, the follow page and the officer's receipt read the status, the due date and what to do next with
// the Web Speech API. Only in a voice of the page's language (vi-VN on a Vietnamese page): a phone without one
// gets no button at all, rather than a button that is silent or reads Vietnamese with an English voice.
//
// On the server's pages a button[data-read-aloud] carries its text in data-speech (server/web/officer_messages.py
// read_aloud_text); the officer's app calls setUpReadAloud() with a function that builds the receipt's text.

import { lang } from "./i18n.js";

/** The first voice of `language` ("vi" matches "vi-VN", "vi_VN" and "vi"), or null. */
export function voiceFor(voices, language) {
  const wanted = language.toLowerCase();
  return voices.find((voice) => (voice.lang || "").toLowerCase().replace("_", "-").split("-")[0] === wanted) || null;
}

/**
 * Show `button` while the phone has a voice for the page's language, and speak `textOf()` when it is pressed.
 * Voices often arrive after the page loads (Chrome fires "voiceschanged"), so the button may appear a little later.
 */
export function setUpReadAloud(button, textOf) {
  const synth = window.speechSynthesis;
  if (!synth || typeof window.SpeechSynthesisUtterance !== "function") {
    button.hidden = true;
    return;
  }
  const voice = () => voiceFor(synth.getVoices(), lang);
  const update = () => {
    button.hidden = voice() === null;
  };
  update();
  synth.addEventListener("voiceschanged", update);
  button.addEventListener("click", () => {
    const chosen = voice();
    if (!chosen) return update();
    synth.cancel(); // a second press starts again instead of queueing the same text twice
    const utterance = new window.SpeechSynthesisUtterance(textOf());
    utterance.voice = chosen;
    utterance.lang = chosen.lang;
    utterance.rate = 0.9; // a little slower than the default: older listeners
    synth.speak(utterance);
    return undefined;
  });
}

for (const button of document.querySelectorAll("button[data-read-aloud]")) {
  setUpReadAloud(button, () => button.dataset.speech || "");
}
