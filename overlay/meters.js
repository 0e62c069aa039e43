// Talk-ratio meter, silence timer and monologue chip, from "metrics" messages.

import { el, speakerName } from "./util.js";

// Silence colours: a few seconds of thinking is healthy; past 5 s after a question
// (and 10 s otherwise) the detectors call it dead air.
const SILENCE_WARN_S = 5;
const SILENCE_ALERT_S = 10;
// Below this a run of talk is just a turn, not worth a chip.
const MONOLOGUE_SHOW_S = 30;
const SPEAKER_ORDER = ["rep", "manager", "customer", "unknown"];

export class Meters {
  constructor({ talk, silence, monologue }) {
    this.talk = talk;
    this.silence = silence;
    this.monologue = monologue;
    this.silenceS = 0;
    this.silenceAt = performance.now();
    this.running = false; // listening: the silence timer may count on between messages
  }

  update(m) {
    if (!m) return;
    this.silenceS = Number(m.silence_s) || 0;
    this.silenceAt = performance.now();
    this.renderTalk(m.talk_s || {});
    this.renderMonologue(m.monologue);
    this.tick();
  }

  setRunning(running) {
    this.running = running;
    this.tick();
  }

  /** Called a few times a second: the timer moves smoothly between messages. */
  tick() {
    let s = this.silenceS;
    if (this.running && s > 0) s += (performance.now() - this.silenceAt) / 1000;
    const shown = Math.floor(s);
    this.silence.querySelector("b").textContent = String(shown);
    this.silence.dataset.level = s >= SILENCE_ALERT_S ? "alert" : s >= SILENCE_WARN_S ? "warn" : "";
    this.silence.classList.toggle("idle", s < 1);
  }

  renderTalk(talk) {
    const doc = this.talk.ownerDocument;
    const speakers = Object.keys(talk)
      .filter((sp) => talk[sp] > 0)
      .sort((a, b) => SPEAKER_ORDER.indexOf(a) - SPEAKER_ORDER.indexOf(b));
    const total = speakers.reduce((sum, sp) => sum + talk[sp], 0);
    const bar = this.talk.querySelector(".talk-bar");
    const legend = this.talk.querySelector(".talk-legend");
    if (!total) {
      bar.replaceChildren();
      legend.textContent = "No speech yet";
      return;
    }
    bar.replaceChildren(
      ...speakers.map((sp) => {
        const seg = el(doc, "span", { class: `seg spk-${sp}` });
        seg.style.flexGrow = String(talk[sp]);
        return seg;
      }),
    );
    legend.replaceChildren(
      ...speakers.map((sp) =>
        el(
          doc,
          "span",
          { class: `share spk-${sp}` },
          `${speakerName(sp)} ${Math.round((100 * talk[sp]) / total)}%`,
        ),
      ),
    );
  }

  renderMonologue(mono) {
    const show = mono && mono.duration_s >= MONOLOGUE_SHOW_S;
    this.monologue.hidden = !show;
    if (!show) return;
    this.monologue.textContent = `${speakerName(mono.speaker)} talking ${Math.round(mono.duration_s)}s`;
    this.monologue.dataset.level = mono.duration_s >= mono.warn_s ? "warn" : "";
  }
}
