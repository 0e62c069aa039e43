// Live captions: committed words solid, words still being heard greyed, speaker
// labels. A long turn commits in pieces, so one line can be partly of each.

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
    const text = String(caption.text);
    // Committed text never changes, so a late caption must not shorten it.
    const stable = caption.final ? text.length : Math.min(text.length, Number(caption.stable) || 0);
    const fresh = el(
      doc,
      "div",
      { class: `cap ${caption.final ? "final" : "partial"} spk-${speaker}`, "data-id": caption.id },
      el(doc, "span", { class: "who" }, speakerName(speaker)),
      el(doc, "span", { class: "text" },
        el(doc, "span", { class: "stable" }, text.slice(0, stable)),
        el(doc, "span", { class: "heard" }, text.slice(stable)),
      ),
    );
    if (line) line.replaceWith(fresh);
    else this.root.append(fresh);
    line = fresh;
    const lines = this.root.querySelectorAll(".cap");
    for (let i = 0; i < lines.length - MAX_LINES; i += 1) lines[i].remove();
    return line;
  }
}
