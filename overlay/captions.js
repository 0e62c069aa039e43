// Live captions: finals solid, the utterance in progress greyed, speaker labels.

import { el, speakerName } from "./util.js";

// A few lines are enough to follow the call at a glance; the cards are the point.
const MAX_LINES = 6;

export class Captions {
  constructor(root) {
    this.root = root;
  }

  reset(captions) {
    this.root.replaceChildren();
    for (const caption of captions) this.add(caption);
  }

  /** Add or update a caption line; returns the line's node. */
  add(caption) {
    const doc = this.root.ownerDocument;
    let line = this.root.querySelector(`.cap[data-id="${CSS.escape(caption.id)}"]`);
    if (line?.classList.contains("final") && !caption.final) return line; // late partial
    const speaker = String(caption.speaker);
    const fresh = el(
      doc,
      "div",
      { class: `cap ${caption.final ? "final" : "partial"} spk-${speaker}`, "data-id": caption.id },
      el(doc, "span", { class: "who" }, speakerName(speaker)),
      el(doc, "span", { class: "text" }, caption.text),
    );
    if (line) line.replaceWith(fresh);
    else this.root.append(fresh);
    line = fresh;
    const lines = this.root.querySelectorAll(".cap");
    for (let i = 0; i < lines.length - MAX_LINES; i += 1) lines[i].remove();
    return line;
  }
}
